/** `seedship check`'s inputs: gathers the facts of each drive and of the session, then judges them. */
import type { FileSystem, NativeDeps, StorageFacts } from '../../native/interfaces.js';
import { errnoCode, SeedshipError } from '../errors/errors.js';
import { parseDriveInfo } from '../manifest/drive-info.js';
import { sessionFiles } from '../session/session-layout.js';
import { readSettings, type SessionSettings } from '../session/session-settings.js';
import { openSessionView } from '../session/session-view.js';
import { readDriveJson, type DriveJson } from '../drives/drive-identity.js';
import {
  judgeServiceReadiness,
  type DriveFacts,
  type JobFacts,
  type ServiceCheckResult,
  type StoreSettings,
} from './service-check.js';

/** A drive to check: its path, the BitLocker key given for it, the session's drive expected there. */
export interface DriveToCheck {
  readonly path: string;
  readonly bitlockerKey?: string | undefined;
  readonly expectDriveId?: string | undefined;
}

export interface ServiceCheckRequest {
  readonly drives: readonly DriveToCheck[];
  /** The session dir (it need not exist yet: prepare checks before starting one). */
  readonly session?: string | undefined;
  readonly staging?: string | undefined;
  /** What this run asks for; unset fields come from the session, or a new session's defaults. */
  readonly requested?: Partial<StoreSettings> | undefined;
  /** The run starts the session if it does not exist (prepare): judge a new session's defaults. */
  readonly startsSession?: boolean | undefined;
}

/** A new session's defaults (core/pipeline/open-session.ts newSettings). */
const NEW_SESSION: StoreSettings = { codec: 'zstd', encrypt: false, blobType: 'block', serviceStrict: false };

type CheckDeps = Pick<NativeDeps, 'fs' | 'drives'>;

/** Gather the facts (file system, mount table, sysfs, session) and judge them. Reads only. */
export async function runServiceCheck(deps: CheckDeps, req: ServiceCheckRequest): Promise<ServiceCheckResult> {
  const { fs } = deps;
  const settings = req.session ? await readSettings(fs, req.session) : undefined;
  const sealed = req.session && settings ? await sealedDrives(fs, req.session) : new Map<string, string>();
  const store = storeSettings(settings, req);
  const sessionReal = req.session ? await nearestRealPath(fs, req.session) : undefined;
  const sessionStorage = sessionReal
    ? await deps.drives.storageOf(sessionReal.existing).catch(() => undefined)
    : undefined;
  const stagingPath = req.staging ?? settings?.staging;
  const staging = stagingPath ? await fs.realpath(stagingPath).catch(() => stagingPath) : undefined;
  const job: JobFacts = {
    sessionDir: req.session,
    sessionReal: sessionReal?.path,
    sessionStorage,
    staging,
    job: settings?.job,
    jobId: settings?.jobId,
    settings: store,
    sessionDriveIds: [...sealed.keys()],
  };
  const drives: DriveFacts[] = [];
  for (const d of req.drives) drives.push(await driveFacts(deps, d, req.session, sealed));
  return judgeServiceReadiness(drives, job);
}

function storeSettings(s: SessionSettings | undefined, req: ServiceCheckRequest): StoreSettings | undefined {
  const base = s ?? (req.startsSession ? NEW_SESSION : undefined);
  if (!base) return undefined;
  const r = req.requested ?? {};
  return {
    codec: r.codec ?? base.codec,
    encrypt: r.encrypt ?? base.encrypt,
    blobType: r.blobType ?? base.blobType,
    serviceStrict: r.serviceStrict ?? base.serviceStrict,
  };
}

/** The session's sealed drives (a drive-info file each): drive id → BitLocker key ('' if none). */
async function sealedDrives(fs: FileSystem, dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const entries = await fs.readdir(dir).catch(() => []);
  for (const e of entries.filter((x) => x.kind === 'file' && /^[^.].*\.xml$/.test(x.name))) {
    const path = `${dir}/${e.name}`;
    const info = parseDriveInfo((await fs.readFile(path)).toString('utf8'), path);
    out.set(info.driveId, info.bitLockerKey);
  }
  return out;
}

/** Real path of `path`, through its nearest existing parent when it does not exist yet. */
async function nearestRealPath(fs: FileSystem, path: string): Promise<{ path: string; existing: string }> {
  let head = path.replace(/\/+$/, '') || '/';
  let rest = '';
  for (;;) {
    try {
      const real = await fs.realpath(head);
      return { path: real + rest, existing: real };
    } catch {
      const cut = head.lastIndexOf('/');
      if (cut <= 0) return { path, existing: '/' };
      rest = head.slice(cut) + rest;
      head = head.slice(0, cut);
    }
  }
}

async function driveFacts(
  deps: CheckDeps,
  d: DriveToCheck,
  session: string | undefined,
  sealed: Map<string, string>,
): Promise<DriveFacts> {
  const { fs } = deps;
  let root: string | undefined;
  try {
    root = await fs.realpath(d.path);
    if ((await fs.stat(root)).kind !== 'dir') root = undefined;
  } catch {
    root = undefined;
  }
  const keyOf = async (id: string | undefined) =>
    d.bitlockerKey || (id !== undefined && session ? await recordedKey(fs, session, id, sealed) : undefined);
  if (root === undefined) {
    const none = { storage: undefined, storageError: undefined, names: undefined };
    const bitlockerKey = await keyOf(d.expectDriveId);
    const noJson = { driveJson: undefined, driveJsonError: undefined };
    return { path: d.path, root, ...none, ...noJson, bitlockerKey, expectDriveId: d.expectDriveId };
  }
  let driveJson: DriveJson | undefined;
  let driveJsonError: string | undefined;
  try {
    driveJson = await readDriveJson(fs, root);
  } catch (err) {
    driveJsonError = err instanceof SeedshipError ? err.message : (errnoCode(err) ?? String(err));
  }
  const names = await fs.readdir(root).then(
    (es) => es.map((e) => e.name),
    () => undefined,
  );
  let storage: StorageFacts | undefined;
  let storageError: string | undefined;
  try {
    storage = await deps.drives.storageOf(root);
  } catch (err) {
    storageError = err instanceof Error ? err.message : String(err);
  }
  const bitlockerKey = await keyOf(d.expectDriveId ?? driveJson?.driveId);
  const { expectDriveId } = d;
  return { path: d.path, root, storage, storageError, names, driveJson, driveJsonError, bitlockerKey, expectDriveId };
}

/** The key prepare recorded for a drive (keys/<id>.bitlocker), else the one in its drive-info file. */
async function recordedKey(
  fs: FileSystem,
  session: string,
  driveId: string,
  sealed: Map<string, string>,
): Promise<string | undefined> {
  const b = await fs.readFileIfExists(`${sessionFiles.keysDir(session)}/${driveId}.bitlocker`).catch(() => undefined);
  return b?.toString('utf8').trim() || sealed.get(driveId) || undefined;
}

/**
 * The session's drives to check where they last were (job create, `check --session` without
 * --drive): every drive the journal attached that did not fail.
 */
export async function sessionDrivesToCheck(fs: FileSystem, session: string): Promise<DriveToCheck[]> {
  if (!(await fs.exists(sessionFiles.journal(session)))) return [];
  const view = await openSessionView(fs, session);
  const kept = view.state.drives.filter((d) => d && d.status !== 'failed');
  return kept.map((d) => ({ path: d.path, expectDriveId: d.driveId }));
}
