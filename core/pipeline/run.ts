import type { NativeDeps } from '../../native/interfaces.js';
import { SeedshipError, usageError } from '../errors/errors.js';
import type { BlobNaming } from '../journal/drive-blobs.js';
import { JrnWriter } from '../manifest/jrn-writer.js';
import { RecordType } from '../journal/record-codec.js';
import { SESSION_ROOT_NAME, sessionFiles } from '../session/session-layout.js';
import type { RequestedSettings } from '../session/session-settings.js';
import { CatchUp, type CatchUpFindings } from './catch-up.js';
import { CopyLoop } from './copy-loop.js';
import { DriveCoordinator, type InspectedDrive } from './drive-coordinator.js';
import { discoverJob, openSession, resolveStaging, type OpenSession } from './open-session.js';
import type { DriveSummary, PrepareIO, PrepareOptions, PrepareResult } from './prepare-types.js';
import { prescan, type PathProblem } from './prescan.js';
import type { StagedFile } from '../staging/scan.js';
import { ProgressBoard } from '../util/progress.js';
import type { NamingRules } from '../staging/naming-rules.js';
import { blobSuffix } from '../manifest/naming.js';

export const SEEDSHIP_VERSION = '0.1.0';
const SHOWN_PROBLEMS = 10;

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
        `the journal's last record was torn by a crash (${session.tornTail}); it was cut off and that work will be redone`,
      );
    return await prepareInSession(opts, deps, io, rules, signal, session, pool, started);
  } finally {
    await pool.close();
    await session.journal.close().catch(() => undefined);
    await session.lock.release();
  }
}

function requestedSettings(opts: PrepareOptions, job: string, rules: NamingRules): RequestedSettings {
  if (opts.encrypt && opts.bitlockerKeys?.length)
    throw usageError(
      '--encrypt and --bitlocker-key exclude each other: the first encrypts with seedship, the second records a BitLocker volume encrypted elsewhere',
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

async function prepareInSession(
  opts: PrepareOptions,
  deps: NativeDeps,
  io: PrepareIO,
  rules: NamingRules,
  signal: AbortSignal,
  session: OpenSession,
  pool: ReturnType<NativeDeps['createChunkProcessor']>,
  started: number,
): Promise<PrepareResult> {
  const { fs } = deps;
  const s = session.settings;
  const keys = opts.bitlockerKeys ?? [];
  if (keys.length > 0 && keys.length !== opts.drives.length)
    throw usageError(`give one --bitlocker-key per --drive (${opts.drives.length} drives, ${keys.length} keys)`);
  for (const k of keys) {
    const p = rules.bitlockerKey(k);
    if (p) throw usageError(`--bitlocker-key: ${p}`);
  }

  // Every check before the first byte is written.
  const board = io.board ?? new ProgressBoard('prepare', deps.clock);
  const all = board.total;
  board.setPhase('scan', 'scanning staging');
  const suffix = blobSuffix(s.codec);
  const exclude = (rel: string) => rel === SESSION_ROOT_NAME || `${session.staging}/${rel}` === session.dir;
  // What earlier runs left off the drives in the part of staging they visited, judged in the
  // pre-scan's walk (read before this run appends to the journal).
  const catchUp = await CatchUp.read(fs, session.journalPath, session.staging, session.state.frontier);
  const judge = catchUp?.judge();
  // While scanning, the total track counts what was found; then what is copied of it.
  let seen = 0;
  const onEntry = async (f: StagedFile) => {
    all.add(f.size);
    all.setItems(++seen);
    if (judge) await judge.see(f);
  };
  let scan;
  try {
    const pages = s.blobType === 'page';
    scan = await prescan(fs, session.staging, { chunkBytes: s.chunkBytes, pages, suffix, exclude, onEntry, signal });
  } finally {
    await judge?.close();
  }
  all.set(session.state.rawDone);
  all.setTotal(scan.bytes);
  all.setItems(session.state.filesDone, scan.files);
  const found = judge?.findings;
  const errors = scan.problems.filter((p) => p.severity === 'error');
  for (const w of scan.problems.filter((p) => p.severity === 'warning').slice(0, SHOWN_PROBLEMS))
    io.notice('warning', `${w.path}: ${w.message}`);
  if (errors.length > 0) await refuseFiles(deps, session, scan.problems, scan.problemCount);
  const namesFile = await writeRenamed(deps, session, scan);
  if (found) noticeFindings(io, found);
  const coordinator = new DriveCoordinator(deps, session, {
    driveLimit: opts.driveLimit,
    allowStagingVolume: opts.allowStagingVolume ?? false,
    notice: io.notice,
  });
  const inspected: InspectedDrive[] = [];
  for (let i = 0; i < opts.drives.length; i++) inspected.push(await coordinator.inspect(opts.drives[i]!, keys[i]));
  await coordinator.setDrives(inspected);

  const jrn = new JrnWriter(fs, sessionFiles.jrn(session.dir, s.job));
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

  const naming: BlobNaming = {
    container: s.container,
    suffix: blobSuffix(s.codec),
    codec: s.codec,
    kind: s.blobType,
    disposition: s.disposition,
  };
  const kit = await deps.createCodecKit();
  const loop = new CopyLoop(deps, session, coordinator, pool, kit, io, {
    threads: pool.threads,
    naming,
    sealBase: {
      fs,
      sessionDir: session.dir,
      journalPath: session.journalPath,
      jrn,
      naming,
      creator: `seedship ${SEEDSHIP_VERSION}`,
      containerSas: s.containerSas,
    },
    rawTotal: scan.bytes,
    filesTotal: scan.files,
    readBack: opts.verify !== false,
    board,
    catchUp: catchUp && found && found.missing > 0 ? catchUp.entries({ exclude, suffix }) : undefined,
    signal,
  });

  await loop.failUnreadable(coordinator.unreadable);
  // Drives a crash left unsealed come first: finish sealing full ones, continue the open one.
  for (const u of coordinator.unsealed()) {
    if (!u.drive) {
      if (u.state.segments > 0) {
        throw usageError(
          `drive ${u.state.driveId} (last at ${u.state.path}) holds this job's unsealed data; attach it and pass it with --drive to continue`,
        );
      }
      continue;
    }
    const cur = await coordinator.reopen(u.state, u.drive);
    if (u.state.status === 'full') {
      await cur.writer.close('seal');
      coordinator.forget(u.state.seq);
      await loop.seal(u.state, u.drive.root);
    } else io.notice('info', `continuing on drive ${u.state.driveId} (${u.drive.input})`);
  }

  // Every drive is written at once; each is sealed and read back as soon as it is full, and the
  // rest at the end.
  // Drives read back by the copy itself: what one that failed held was copied again in this run.
  let readInLoop = new Set<number>();
  try {
    await loop.run();
    if (!loop.needsDrive) {
      session.journal.append({ type: RecordType.SessionDone, at: deps.clock.now() });
      session.state.apply({ type: RecordType.SessionDone, at: deps.clock.now() });
      await session.journal.commit();
    }
    readInLoop = new Set(loop.readBacks.keys());
    await readBackLeft(opts, loop, session, inspected);
  } finally {
    await loop.close();
  }
  all.set(session.state.rawDone);
  all.setItems(session.state.filesDone);
  board.setPhase('done', loop.needsDrive ? 'needs another drive' : undefined);

  const verified = new Map<number, boolean>();
  for (const [seq, out] of loop.readBacks) if (out.kind !== 'absent') verified.set(seq, out.kind === 'ok');
  // A drive sealed by an earlier run that fails its read-back now: its files are copied again by
  // the next run (the journal counts them as on no drive), onto the drive given then.
  const failed = [...loop.readBacks.entries()].filter(([seq, out]) => out.kind === 'failed' && !readInLoop.has(seq));
  if (failed.length > 0) {
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

  // Entries still on no drive that this run set out to catch up (it stopped for want of a drive).
  const missing =
    loop.needsDrive && catchUp && found && found.missing > 0 ? await catchUp.left(found) : { count: 0, paths: [] };
  const skipped = [...scan.skipped, ...loop.skipped, ...(found?.stuckEntries ?? [])];
  let skippedFile: string | undefined;
  if (skipped.length > 0) {
    skippedFile = sessionFiles.skipped(session.dir);
    await fs.writeFileAtomic(skippedFile, `${skipped.map((e) => `${e.path}\t${e.reason}`).join('\n')}\n`);
  }
  const st = session.state;
  const drives: DriveSummary[] = st.drives.filter(Boolean).map((d) => ({
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
  return {
    status: loop.needsDrive ? 'needs-drive' : 'done',
    job: s.job,
    sessionDir: session.dir,
    container: s.container,
    drives,
    // Skipped: this run's skips and earlier skips it could not retry (it retries every other one).
    files: { total: scan.files, done: st.filesDone, skipped: loop.skipped.length + (found?.stuck ?? 0) },
    missing,
    entries: scan.kinds,
    names: { mapped: scan.mappedNames, escaped: scan.escapedNames, file: namesFile },
    bytes: { raw: st.rawDone, stored: st.storedDone, rawTotal: scan.bytes },
    skipped,
    skippedFile,
    elapsedMs: deps.clock.monotonic() - started,
    resumed: session.resumed,
    rawRemaining: Math.max(0, scan.bytes - st.rawDone, missing.count > 0 ? found!.missingBytes : 0),
  };
}

/** Warn of entries changed since their copy, and say which earlier skips and additions will be copied now. */
function noticeFindings(io: PrepareIO, found: CatchUpFindings): void {
  const list = (paths: readonly string[], count: number) =>
    `${paths
      .slice(0, SHOWN_PROBLEMS)
      .map((p) => JSON.stringify(p))
      .join(', ')}${count > SHOWN_PROBLEMS ? ` and ${count - SHOWN_PROBLEMS} more` : ''}`;
  if (found.missing > 0) {
    io.notice(
      'info',
      `${found.missing} staged entries in the part of staging earlier runs visited are on no drive (skipped then, or added since); copying them now: ${list(found.missingPaths, found.missing)}`,
    );
  }
  if (found.changed > 0) {
    io.notice(
      'warning',
      `${found.changed} staged entries changed after they were copied (size, time, inode or kind differ); the drives keep the version copied then, which this session does not replace — upload the new one with seedship sync after the import: ${list(found.changedPaths, found.changed)}`,
    );
  }
}

/**
 * Invariant 7: every sealed drive at hand is read back before it is reported ready, including one
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

/**
 * List the entries whose drive name was mapped or whose blob name was escaped, one per line:
 * `mapped|escaped|mapped,escaped <TAB> staged path <TAB> drive path <TAB> blob name` (paths as
 * JSON strings, so any byte is shown). Undefined when there are none.
 */
async function writeRenamed(
  deps: NativeDeps,
  session: OpenSession,
  scan: Awaited<ReturnType<typeof prescan>>,
): Promise<string | undefined> {
  const path = sessionFiles.names(session.dir);
  if (scan.renamed.length === 0) {
    await deps.fs.unlink(path);
    return undefined;
  }
  const lines = scan.renamed.map((r) => {
    const what = [r.drivePath !== undefined ? 'mapped' : '', r.blobName !== undefined ? 'escaped' : '']
      .filter(Boolean)
      .join(',');
    return `${what}\t${JSON.stringify(r.path)}\t${JSON.stringify(r.drivePath ?? '')}\t${JSON.stringify(r.blobName ?? '')}`;
  });
  const more =
    scan.mappedNames + scan.escapedNames > scan.renamed.length
      ? [`# … and more: ${scan.mappedNames} mapped and ${scan.escapedNames} escaped in all`]
      : [];
  await deps.fs.writeFileAtomic(
    path,
    `${['# what\tstaged path\tdrive path (below the container)\tblob name', ...lines, ...more].join('\n')}\n`,
  );
  return path;
}

async function refuseFiles(
  deps: NativeDeps,
  session: OpenSession,
  problems: PathProblem[],
  count: number,
): Promise<never> {
  const path = sessionFiles.problems(session.dir);
  await deps.fs.writeFileAtomic(
    path,
    `${problems.map((p) => `${p.severity}\t${p.rule}\t${p.path}\t${p.message}`).join('\n')}\n`,
  );
  const errors = problems.filter((p) => p.severity === 'error');
  const shown = errors.slice(0, SHOWN_PROBLEMS).map((p) => `  ${JSON.stringify(p.path)}: ${p.message} [${p.rule}]`);
  throw new SeedshipError(
    'E_UNSTORABLE',
    `${count} staged file(s) cannot be stored with this session's settings; nothing was copied. Change the settings (as each line says) or move the files out of staging, and run again:\n${shown.join('\n')}${errors.length > SHOWN_PROBLEMS ? `\n  … full list in ${path}` : ''}`,
    { path },
  );
}
