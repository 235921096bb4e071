import type { ChunkProcessor, NativeDeps } from '../../native/interfaces.js';
import { SeedshipError, usageError } from '../errors/errors.js';
import type { BlobNaming } from '../journal/drive-blobs.js';
import { JrnWriter } from '../manifest/jrn-writer.js';
import { RecordType } from '../journal/record-codec.js';
import { sessionFiles } from '../session/session-layout.js';
import type { RequestedSettings } from '../session/session-settings.js';
import { CopyLoop } from './copy-loop.js';
import { DriveCoordinator, type InspectedDrive } from './drive-coordinator.js';
import { discoverJob, openSession, resolveStaging, type OpenSession } from './open-session.js';
import type { DriveSummary, PrepareIO, PrepareOptions, PrepareResult } from './prepare-types.js';
import { scanStaging, type StagingScan } from './prepare-scan.js';
import { ProgressBoard } from '../util/progress.js';
import type { NamingRules } from '../staging/naming-rules.js';
import { blobSuffix } from '../manifest/naming.js';

export const SEEDSHIP_VERSION = '0.1.0';

/**
 * `prepare`: copy a staging tree onto drives in the Import/Export format, resumable after any
 * crash, and seal and verify each drive. Reaches the OS only through `deps`.
 */
export async function runPrepare(
  opts: PrepareOptions,
  deps: NativeDeps,
  io: PrepareIO,
  rules: NamingRules,
  signal: AbortSignal,
): Promise<PrepareResult> {
  const started = deps.clock.monotonic();
  const staging = await resolveStaging(deps, opts.staging);
  const job = opts.job ?? (await discoverJob(deps, staging));
  const jobProblem = rules.jobName(job);
  if (jobProblem) throw usageError(`job name ${JSON.stringify(job)}: ${jobProblem} (--job)`);
  const requested = requestedSettings(opts, job, rules);
  const session = await openSession(deps, {
    staging,
    job,
    sessionDir: opts.session,
    requested,
    version: SEEDSHIP_VERSION,
  });
  io.sessionReady?.(session.dir);
  const pool = deps.createChunkProcessor(opts.threads ?? deps.cores);
  try {
    if (session.staleLock)
      io.notice('warning', 'a previous run was killed; its session lock was stale and has been taken over');
    if (session.tornTail)
      io.notice(
        'warning',
        `the journal's last record was torn by a crash (${session.tornTail}); ` +
          'it was cut off and that work will be redone',
      );
    return await prepareInSession({ opts, deps, io, rules, signal, session, pool, started });
  } finally {
    await pool.close();
    await session.journal.close().catch(() => undefined);
    await session.lock.release();
  }
}

function requestedSettings(opts: PrepareOptions, job: string, rules: NamingRules): RequestedSettings {
  if (opts.encrypt && opts.bitlockerKeys?.length)
    throw usageError(
      '--encrypt and --bitlocker-key exclude each other: the first encrypts with seedship, ' +
        'the second records a BitLocker volume encrypted elsewhere',
    );
  if (opts.level !== undefined && (!Number.isInteger(opts.level) || opts.level < 1 || opts.level > 19))
    throw usageError(`--level ${opts.level} is out of range; use 1 (fastest) to 19 (smallest)`);
  const container = opts.container;
  const problem = rules.containerName(container ?? job);
  if (problem)
    throw usageError(
      container
        ? `container ${JSON.stringify(container)}: ${problem} (--container)`
        : `the job name ${JSON.stringify(job)} is not a valid container name (${problem}); pass --container NAME`,
    );
  const r: { -readonly [K in keyof RequestedSettings]: RequestedSettings[K] } = {};
  if (container !== undefined) r.container = container;
  if (opts.codec !== undefined) r.codec = opts.codec;
  if (opts.level !== undefined) r.level = opts.level;
  if (opts.blobType !== undefined) r.blobType = opts.blobType;
  if (opts.encrypt !== undefined) r.encrypt = opts.encrypt;
  if (opts.disposition !== undefined) r.disposition = opts.disposition;
  if (opts.serviceStrict !== undefined) r.serviceStrict = opts.serviceStrict;
  if (opts.containerSas !== undefined) r.containerSas = opts.containerSas;
  return r;
}

/** A prepare run inside its open session: what it was asked, and what it has. */
interface PrepareRun {
  readonly opts: PrepareOptions;
  readonly deps: NativeDeps;
  readonly io: PrepareIO;
  readonly rules: NamingRules;
  readonly signal: AbortSignal;
  readonly session: OpenSession;
  readonly pool: ChunkProcessor;
  /** Monotonic ms when the run started. */
  readonly started: number;
}

/** The drives of a run: the coordinator, and the drives given as inspected. */
interface RunDrives {
  readonly coordinator: DriveCoordinator;
  readonly inspected: readonly InspectedDrive[];
}

async function prepareInSession(r: PrepareRun): Promise<PrepareResult> {
  checkBitlockerKeys(r.opts, r.rules);
  // Every check before the first byte is written.
  const board = r.io.board ?? new ProgressBoard('prepare', r.deps.clock);
  const staged = await scanStaging({ deps: r.deps, session: r.session, io: r.io, board, signal: r.signal });
  const drives = await takeDrives(r);
  const jrn = await startRun(r);
  const loop = await makeCopyLoop(r, { coordinator: drives.coordinator, jrn, board, staged });
  await loop.failUnreadable(drives.coordinator.unreadable);
  await finishUnsealed(r, drives.coordinator, loop);
  const readInLoop = await copyAll(r, loop, drives.inspected);
  const all = board.total;
  all.set(r.session.state.rawDone);
  all.setItems(r.session.state.filesDone);
  board.setPhase('done', loop.needsDrive ? 'needs another drive' : undefined);
  throwOnFailedReadBacks(r.session, loop, readInLoop);
  return summarize(r, loop, staged);
}

/** One --bitlocker-key per --drive, each well-formed. */
function checkBitlockerKeys(opts: PrepareOptions, rules: NamingRules): void {
  const keys = opts.bitlockerKeys ?? [];
  if (keys.length > 0 && keys.length !== opts.drives.length)
    throw usageError(`give one --bitlocker-key per --drive (${opts.drives.length} drives, ${keys.length} keys)`);
  for (const k of keys) {
    const p = rules.bitlockerKey(k);
    if (p) throw usageError(`--bitlocker-key: ${p}`);
  }
}

/** Check every drive given, in order, and take them for this run. */
async function takeDrives(r: PrepareRun): Promise<RunDrives> {
  const { opts } = r;
  const keys = opts.bitlockerKeys ?? [];
  const coordinator = new DriveCoordinator(r.deps, r.session, {
    driveLimit: opts.driveLimit,
    allowStagingVolume: opts.allowStagingVolume ?? false,
    notice: r.io.notice,
  });
  const inspected: InspectedDrive[] = [];
  for (let i = 0; i < opts.drives.length; i++) inspected.push(await coordinator.inspect(opts.drives[i]!, keys[i]));
  await coordinator.setDrives(inspected);
  return { coordinator, inspected };
}

/** Create the `.jrn` on the first run, then journal this run's start and its frontier, committed. */
async function startRun(r: PrepareRun): Promise<JrnWriter> {
  const { deps, session } = r;
  const s = session.settings;
  const jrn = new JrnWriter(deps.fs, sessionFiles.jrn(session.dir, s.job));
  if (await jrn.ensureCreated(deps.clock.now())) {
    await jrn.append(
      JrnWriter.formatRecord(deps.clock.now(), 'ActivityRecord', [
        ['ActivityId', 'PrepImportDriveCommandContext'],
        ['LogDirectory', session.dir],
        ['StorageAccountKey', '*******'],
        ['ContainerName', s.container],
      ]),
    );
  }
  const run = session.state.runs + 1;
  session.journal.append({ type: RecordType.SessionStarted, run, at: deps.clock.now(), version: SEEDSHIP_VERSION });
  session.state.apply({ type: RecordType.SessionStarted, run, at: deps.clock.now(), version: SEEDSHIP_VERSION });
  // From here on the frontier comes only from these records (a journal an older engine began has
  // its files started in walk order, so its largest started path is a safe frontier to go on from).
  const frontier = { type: RecordType.FrontierAdvanced, path: session.state.frontier ?? null } as const;
  session.journal.append(frontier);
  session.state.apply(frontier);
  await session.journal.commit();
  return jrn;
}

/** What the copy is made with besides the run. */
interface LoopParts {
  readonly coordinator: DriveCoordinator;
  readonly jrn: JrnWriter;
  readonly board: ProgressBoard;
  readonly staged: StagingScan;
}

async function makeCopyLoop(r: PrepareRun, p: LoopParts): Promise<CopyLoop> {
  const { deps, session } = r;
  const s = session.settings;
  const { scan, catchUp, found, exclude, suffix } = p.staged;
  const naming: BlobNaming = {
    container: s.container,
    suffix: blobSuffix(s.codec),
    codec: s.codec,
    kind: s.blobType,
    disposition: s.disposition,
  };
  const kit = await deps.createCodecKit();
  return new CopyLoop({
    deps,
    session,
    drives: p.coordinator,
    pool: r.pool,
    kit,
    io: r.io,
    options: {
      threads: r.pool.threads,
      naming,
      sealBase: {
        fs: deps.fs,
        sessionDir: session.dir,
        journalPath: session.journalPath,
        jrn: p.jrn,
        naming,
        creator: `seedship ${SEEDSHIP_VERSION}`,
        containerSas: s.containerSas,
      },
      rawTotal: scan.bytes,
      filesTotal: scan.files,
      readBack: r.opts.verify !== false,
      board: p.board,
      catchUp: catchUp && found && found.missing > 0 ? catchUp.entries({ exclude, suffix }) : undefined,
      signal: r.signal,
    },
  });
}

/** Drives a crash left unsealed come first: finish sealing full ones, continue the open one. */
async function finishUnsealed(r: PrepareRun, coordinator: DriveCoordinator, loop: CopyLoop): Promise<void> {
  for (const u of coordinator.unsealed()) {
    if (!u.drive) {
      if (u.state.segments > 0) {
        throw usageError(
          `drive ${u.state.driveId} (last at ${u.state.path}) holds this job's unsealed data; ` +
            'attach it and pass it with --drive to continue',
        );
      }
      continue;
    }
    const cur = await coordinator.reopen(u.state, u.drive);
    if (u.state.status === 'full') {
      await cur.writer.close('seal');
      coordinator.forget(u.state.seq);
      await loop.seal(u.state, u.drive.root);
    } else r.io.notice('info', `continuing on drive ${u.state.driveId} (${u.drive.input})`);
  }
}

/**
 * Every drive is written at once; each is sealed and read back as soon as it is full, and the
 * rest at the end. Returns the drives read back by the copy itself: what one that failed held was
 * copied again in this run.
 */
async function copyAll(r: PrepareRun, loop: CopyLoop, inspected: readonly InspectedDrive[]): Promise<Set<number>> {
  const { deps, session } = r;
  let readInLoop = new Set<number>();
  try {
    await loop.run();
    if (!loop.needsDrive) {
      session.journal.append({ type: RecordType.SessionDone, at: deps.clock.now() });
      session.state.apply({ type: RecordType.SessionDone, at: deps.clock.now() });
      await session.journal.commit();
    }
    readInLoop = new Set(loop.readBacks.keys());
    await readBackLeft(r.opts, loop, session, inspected);
  } finally {
    await loop.close();
  }
  return readInLoop;
}

/**
 * A drive sealed by an earlier run that fails its read-back now: its files are copied again by
 * the next run (the journal counts them as on no drive), onto the drive given then.
 */
function throwOnFailedReadBacks(session: OpenSession, loop: CopyLoop, readInLoop: ReadonlySet<number>): void {
  const failed = [...loop.readBacks.entries()].filter(([seq, out]) => out.kind === 'failed' && !readInLoop.has(seq));
  if (failed.length === 0) return;
  const [seq, out] = failed[0]!;
  const d = session.state.drive(seq);
  const what =
    failed.length === 1
      ? (out as { message: string }).message
      : `${failed.length} drives failed their read-back, first: ${(out as { message: string }).message}`;
  throw new SeedshipError(
    'E_INTEGRITY',
    `${what}. Run the same command again with another --drive: what it holds is copied there`,
    { path: d.path },
  );
}

/** The run's result, with the skipped entries written to the session dir. */
async function summarize(r: PrepareRun, loop: CopyLoop, staged: StagingScan): Promise<PrepareResult> {
  const { deps, session } = r;
  const { scan, catchUp, found } = staged;
  // Entries still on no drive that this run set out to catch up (it stopped for want of a drive).
  const missing =
    loop.needsDrive && catchUp && found && found.missing > 0 ? await catchUp.left(found) : { count: 0, paths: [] };
  const skipped = [...scan.skipped, ...loop.skipped, ...(found?.stuckEntries ?? [])];
  let skippedFile: string | undefined;
  if (skipped.length > 0) {
    skippedFile = sessionFiles.skipped(session.dir);
    await deps.fs.writeFileAtomic(skippedFile, `${skipped.map((e) => `${e.path}\t${e.reason}`).join('\n')}\n`);
  }
  const st = session.state;
  return {
    status: loop.needsDrive ? 'needs-drive' : 'done',
    job: session.settings.job,
    sessionDir: session.dir,
    container: session.settings.container,
    drives: driveSummaries(session, loop),
    // Skipped: this run's skips and earlier skips it could not retry (it retries every other one).
    files: { total: scan.files, done: st.filesDone, skipped: loop.skipped.length + (found?.stuck ?? 0) },
    missing,
    entries: scan.kinds,
    names: { mapped: scan.mappedNames, escaped: scan.escapedNames, file: staged.namesFile },
    bytes: { raw: st.rawDone, stored: st.storedDone, rawTotal: scan.bytes },
    skipped,
    skippedFile,
    elapsedMs: deps.clock.monotonic() - r.started,
    resumed: session.resumed,
    rawRemaining: Math.max(0, scan.bytes - st.rawDone, missing.count > 0 ? found!.missingBytes : 0),
  };
}

/** Every drive of the session, with whether it read back (this run, or an earlier one). */
function driveSummaries(session: OpenSession, loop: CopyLoop): DriveSummary[] {
  const verified = new Map<number, boolean>();
  for (const [seq, out] of loop.readBacks) if (out.kind !== 'absent') verified.set(seq, out.kind === 'ok');
  return session.state.drives.filter(Boolean).map((d) => ({
    seq: d.seq,
    driveId: d.driveId,
    path: d.path,
    status: d.status,
    storedBytes: d.storedBytes,
    rawBytes: d.rawBytes,
    blobs: d.segments,
    manifestHash: d.manifestHash,
    driveInfoFile: d.status === 'sealed' ? sessionFiles.driveInfo(session.dir, d.driveId) : undefined,
    verified: verified.get(d.seq) ?? (d.verified ? true : undefined),
  }));
}

/**
 * Invariant 7, docs/invariants.md: every sealed drive at hand is read back before it is reported ready, including one
 * sealed by a run that was killed before it could read it back; all at once. A drive given whose
 * identity does not match is "not read back yet", never failed.
 */
async function readBackLeft(
  opts: PrepareOptions,
  loop: CopyLoop,
  session: OpenSession,
  inspected: readonly InspectedDrive[],
): Promise<void> {
  if (opts.verify === false) return;
  const atHand = new Map(inspected.filter((d) => d.json).map((d) => [d.json!.driveId, d.root]));
  const toVerify = session.state.drives.filter(
    (d) =>
      d &&
      d.status === 'sealed' &&
      !d.verified &&
      !loop.readBacks.has(d.seq) &&
      (loop.sealedNow.includes(d.seq) || atHand.has(d.driveId)),
  );
  await Promise.all(toVerify.map((d) => loop.readBack(d, atHand.get(d.driveId) ?? d.path)));
  await loop.commit();
}
