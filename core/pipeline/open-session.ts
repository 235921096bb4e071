import type { NativeDeps } from '../../native/interfaces.js';
import { errnoCode, SeedshipError, usageError } from '../errors/errors.js';
import { JournalReader } from '../journal/journal-reader.js';
import { JournalState } from '../journal/journal-state.js';
import { JournalWriter } from '../journal/journal-writer.js';
import { rawChunkBytes } from '../manifest/chunking.js';
import { defaultSessionDir, SESSION_ROOT_NAME, sessionFiles } from '../session/session-layout.js';
import { SessionLock } from '../session/session-lock.js';
import {
  checkAgainstSession,
  readSettings,
  writeSettings,
  type RequestedSettings,
  type SessionSettings,
} from '../session/session-settings.js';
import { blobSuffix } from '../manifest/naming.js';

/** An open session: settings, the replayed state and the journal writer, under the session lock. */
export interface OpenSession {
  readonly dir: string;
  readonly staging: string;
  readonly settings: SessionSettings;
  readonly state: JournalState;
  readonly journal: JournalWriter;
  readonly journalPath: string;
  readonly lock: SessionLock;
  readonly resumed: boolean;
  readonly tornTail: string | undefined;
  readonly staleLock: boolean;
}

/** Resolve and check the staging directory. */
export async function resolveStaging(deps: NativeDeps, staging: string): Promise<string> {
  let real: string;
  try {
    real = await deps.fs.realpath(staging);
  } catch (err) {
    const code = errnoCode(err);
    throw new SeedshipError(
      'E_STAGING',
      code === 'ENOENT'
        ? `staging ${staging} does not exist; check the path (--staging)`
        : `staging ${staging} cannot be opened (${code ?? (err as Error).message})`,
      { path: staging, cause: err },
    );
  }
  const st = await deps.fs.stat(real);
  if (st.kind !== 'dir')
    throw new SeedshipError('E_STAGING', `staging ${staging} is not a directory (--staging)`, { path: staging });
  try {
    await deps.fs.readdir(real);
  } catch (err) {
    throw new SeedshipError(
      'E_STAGING',
      `staging ${staging} is unreadable (${errnoCode(err) ?? (err as Error).message}); run as a user who can read it`,
      { path: staging, cause: err },
    );
  }
  return real;
}

/** The job of a staging location when only one session exists there (DiskPrep's `s:` flow). */
export async function discoverJob(deps: NativeDeps, staging: string): Promise<string> {
  const root = `${staging}/${SESSION_ROOT_NAME}`;
  const names = (await deps.fs.exists(root))
    ? (await deps.fs.readdir(root)).filter((e) => e.kind === 'dir').map((e) => e.name)
    : [];
  if (names.length === 1) return names[0]!;
  if (names.length === 0) throw usageError(`no job is associated with staging ${staging}; name one with --job NAME`);
  throw usageError(`staging ${staging} has several jobs (${names.join(', ')}); choose one with --job NAME`);
}

/** The session dir of a staging location's only job. */
export async function discoverJobSession(deps: NativeDeps, staging: string): Promise<string> {
  const real = await resolveStaging(deps, staging);
  return defaultSessionDir(real, await discoverJob(deps, real));
}

/** What opening a session needs. */
export interface SessionRequest {
  readonly staging: string;
  readonly job: string;
  readonly sessionDir: string | undefined;
  readonly requested: RequestedSettings;
  readonly version: string;
}

/**
 * Open (or start) the session of `job`: take the lock, read or write the settings, replay the
 * journal (cutting a torn tail) and append a SessionStarted record.
 */
export async function openSession(deps: NativeDeps, p: SessionRequest): Promise<OpenSession> {
  const { fs } = deps;
  const dir = p.sessionDir ?? defaultSessionDir(p.staging, p.job);
  await fs.mkdir(dir, 0o700);
  const { lock, staleTakenOver } = await SessionLock.acquire(fs, deps.proc, sessionFiles.lock(dir), deps.clock.now());
  try {
    const found = await readSettings(fs, dir);
    const journalPath = sessionFiles.journal(dir);
    const haveJournal = await fs.exists(journalPath);
    const settings = found ? checkSettings(dir, found, p) : await createSettings(deps, dir, p, haveJournal);
    const { state, journal, tornTail } = await openJournal(fs, journalPath, settings, haveJournal);
    return {
      dir,
      staging: p.staging,
      settings,
      state,
      journal,
      journalPath,
      lock,
      resumed: haveJournal,
      tornTail,
      staleLock: staleTakenOver,
    };
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/**
 * The settings of an existing session, checked against the job and what this run asks.
 * Settings without a journal: a run stopped between the two. Nothing can have reached a drive
 * (attaching one needs the journal), so the journal is simply created now; a drive that holds
 * data the journal does not know is refused when it is attached.
 */
function checkSettings(dir: string, settings: SessionSettings, p: SessionRequest): SessionSettings {
  if (settings.job !== p.job)
    throw usageError(
      `session dir ${dir} belongs to job ${settings.job}, not ${p.job}; ` +
        `pass --job ${settings.job} or another --session`,
    );
  checkAgainstSession(settings, p.requested);
  return settings;
}

/** The settings of a new session, written to its dir (refused when a journal is there without them). */
async function createSettings(
  deps: NativeDeps,
  dir: string,
  p: SessionRequest,
  haveJournal: boolean,
): Promise<SessionSettings> {
  if (haveJournal)
    throw new SeedshipError(
      'E_JOURNAL_CORRUPT',
      `session ${dir} has a journal but no settings (${sessionFiles.settings(dir)}); ` +
        'restore the file or start a new --session dir',
      { path: dir },
    );
  const settings = newSettings(deps, p);
  await writeSettings(deps.fs, dir, settings);
  return settings;
}

/** A session's journal replayed into its state (cutting a torn tail), or created, open for appending. */
async function openJournal(
  fs: NativeDeps['fs'],
  journalPath: string,
  settings: SessionSettings,
  haveJournal: boolean,
): Promise<{ state: JournalState; journal: JournalWriter; tornTail: string | undefined }> {
  const state = new JournalState(settings.container, blobSuffix(settings.codec));
  if (!haveJournal) {
    const journal = await JournalWriter.create(fs, journalPath, Buffer.from(settings.jobId, 'hex'));
    state.setJournalVersion(journal.version);
    return { state, journal, tornTail: undefined };
  }
  const reader = new JournalReader(fs, journalPath);
  for await (const r of reader.records()) {
    if (reader.version !== undefined) state.setJournalVersion(reader.version);
    state.apply(r);
  }
  if (reader.jobId?.toString('hex') !== settings.jobId) {
    throw new SeedshipError(
      'E_JOURNAL_CORRUPT',
      `journal ${journalPath} belongs to another job (id ${reader.jobId?.toString('hex')}); ` +
        'start a new --session dir',
      { path: journalPath },
    );
  }
  const journal = await JournalWriter.openAt(fs, journalPath, {
    validEnd: reader.tail.validEnd,
    fileSize: reader.tail.fileSize,
    version: reader.version ?? 1,
  });
  return { state, journal, tornTail: reader.tail.tornReason };
}

function newSettings(
  deps: NativeDeps,
  p: { staging: string; job: string; requested: RequestedSettings },
): SessionSettings {
  const r = p.requested;
  const codec = r.codec ?? 'zstd';
  const blobType = r.blobType ?? 'block';
  if (blobType === 'page' && codec !== 'none') {
    throw usageError('--blob-type page stores files as the service imports them, uncompressed: add --codec none');
  }
  return {
    format: 1,
    job: p.job,
    jobId: Buffer.from(deps.randomBytes(16)).toString('hex'),
    container: r.container ?? p.job,
    staging: p.staging,
    codec,
    level: r.level ?? 3,
    blobType,
    encrypt: r.encrypt ?? false,
    disposition: r.disposition ?? 'rename',
    serviceStrict: r.serviceStrict ?? false,
    chunkBytes: rawChunkBytes(codec),
    containerSas: r.containerSas,
    createdAt: deps.clock.now(),
  };
}
