import type { NativeDeps } from '../../native/interfaces.js';
import { SeedshipError, usageError } from '../errors.js';
import type { BlobNaming } from '../manifest/drive-blobs.js';
import { JrnWriter } from '../manifest/jrn-writer.js';
import { RecordType } from '../journal/record-codec.js';
import { sessionFiles } from '../session/session-layout.js';
import type { RequestedSettings } from '../session/session-settings.js';
import { verifyDrive } from '../verify/verify-drive.js';
import { blobTweakSeed } from '../restore/chunk-task.js';
import { CopyLoop } from './copy-loop.js';
import { DriveCoordinator, type InspectedDrive } from './drive-coordinator.js';
import { discoverJob, openSession, resolveStaging, type OpenSession } from './open-session.js';
import type { DriveSummary, PrepareIO, PrepareOptions, PrepareResult } from './prepare-types.js';
import { prescan, type PathProblem } from './prescan.js';
import type { NamingRules } from './naming-rules.js';

export const SEEDSHIP_VERSION = '0.1.0';
const SHOWN_PROBLEMS = 10;

/**
 * `prepare`: copy a staging tree onto drives in the Import/Export format, resumable after any
 * crash, and seal and verify each drive. Reaches the OS only through `deps`.
 */
export async function runPrepare(opts: PrepareOptions, deps: NativeDeps, io: PrepareIO, rules: NamingRules, signal: AbortSignal): Promise<PrepareResult> {
  const started = deps.clock.monotonic();
  const staging = await resolveStaging(deps, opts.staging);
  const job = opts.job ?? (await discoverJob(deps, staging));
  const jobProblem = rules.jobName(job);
  if (jobProblem) throw usageError(`job name ${JSON.stringify(job)}: ${jobProblem} (--job)`);
  const requested = requestedSettings(opts, job, rules);
  const session = await openSession(deps, { staging, job, sessionDir: opts.session, requested, version: SEEDSHIP_VERSION });
  const pool = deps.createChunkProcessor(opts.threads ?? deps.cores);
  try {
    if (session.staleLock) io.notice('warning', 'a previous run was killed; its session lock was stale and has been taken over');
    if (session.tornTail) io.notice('warning', `the journal's last record was torn by a crash (${session.tornTail}); it was cut off and that work will be redone`);
    return await prepareInSession(opts, deps, io, rules, signal, session, pool, started);
  } finally {
    await pool.close();
    await session.journal.close().catch(() => undefined);
    await session.lock.release();
  }
}

function requestedSettings(opts: PrepareOptions, job: string, rules: NamingRules): RequestedSettings {
  if (opts.encrypt && opts.bitlockerKeys?.length) throw usageError('--encrypt and --bitlocker-key exclude each other: the first encrypts with seedship, the second records a BitLocker volume encrypted elsewhere');
  if (opts.level !== undefined && (!Number.isInteger(opts.level) || opts.level < 1 || opts.level > 19)) throw usageError(`--level ${opts.level} is out of range; use 1 (fastest) to 19 (smallest)`);
  const container = opts.container;
  const problem = rules.containerName(container ?? job);
  if (problem) throw usageError(container ? `container ${JSON.stringify(container)}: ${problem} (--container)` : `the job name ${JSON.stringify(job)} is not a valid container name (${problem}); pass --container NAME`);
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
  if (keys.length > 0 && keys.length !== opts.drives.length) throw usageError(`give one --bitlocker-key per --drive (${opts.drives.length} drives, ${keys.length} keys)`);
  for (const k of keys) {
    const p = rules.bitlockerKey(k);
    if (p) throw usageError(`--bitlocker-key: ${p}`);
  }

  // Every check before the first byte is written.
  io.progress({ phase: 'scan', filesDone: 0, filesTotal: 0, rawDone: 0, rawTotal: 0, storedDone: 0, rate: 0, etaSeconds: undefined, message: 'scanning staging' });
  const scan = await prescan(fs, session.staging, { chunkBytes: s.chunkBytes, pages: s.blobType === 'page', suffix: s.codec === 'zstd' ? '.zst' : '', frontier: session.state.frontier, signal });
  const errors = scan.problems.filter((p) => p.severity === 'error');
  for (const w of scan.problems.filter((p) => p.severity === 'warning').slice(0, SHOWN_PROBLEMS)) io.notice('warning', `${w.path}: ${w.message}`);
  if (errors.length > 0) await refuseFiles(deps, session, scan.problems, scan.problemCount);
  const namesFile = await writeRenamed(deps, session, scan);
  const visited = session.state.filesDone + session.state.filesSkipped + session.state.active.size;
  if (session.state.frontier !== undefined && scan.filesUpToFrontier > visited) {
    // The walk order lets a resume skip what was visited without a file list; files added since,
    // in the part already visited, are not seen by it. Say so rather than ship without them.
    io.notice('warning', `${scan.filesUpToFrontier - visited} staged file(s) were added after this session copied their part of the tree; prepare will not copy them — upload them with seedship sync after the import, or start a new session`);
  }
  const coordinator = new DriveCoordinator(deps, session, { driveLimit: opts.driveLimit, allowStagingVolume: opts.allowStagingVolume ?? false, notice: io.notice });
  const inspected: InspectedDrive[] = [];
  for (let i = 0; i < opts.drives.length; i++) inspected.push(await coordinator.inspect(opts.drives[i]!, keys[i]));
  await coordinator.setDrives(inspected);

  const jrn = new JrnWriter(fs, sessionFiles.jrn(session.dir, s.job));
  if (await jrn.ensureCreated(deps.clock.now())) {
    await jrn.append(JrnWriter.formatRecord(deps.clock.now(), 'ActivityRecord', [['ActivityId', 'PrepImportDriveCommandContext'], ['LogDirectory', session.dir], ['StorageAccountKey', '*******'], ['ContainerName', s.container]]));
  }
  const run = session.state.runs + 1;
  session.journal.append({ type: RecordType.SessionStarted, run, at: deps.clock.now(), version: SEEDSHIP_VERSION });
  session.state.apply({ type: RecordType.SessionStarted, run, at: deps.clock.now(), version: SEEDSHIP_VERSION });
  await session.journal.commit();

  const naming: BlobNaming = { container: s.container, suffix: s.codec === 'zstd' ? '.zst' : '', codec: s.codec, kind: s.blobType, disposition: s.disposition };
  const kit = await deps.createCodecKit();
  const loop = new CopyLoop(deps, session, coordinator, pool, kit, io, {
    threads: pool.threads,
    naming,
    sealBase: { fs, sessionDir: session.dir, journalPath: session.journalPath, jrn, naming, creator: `seedship ${SEEDSHIP_VERSION}`, containerSas: s.containerSas },
    rawTotal: scan.bytes,
    filesTotal: scan.files,
    signal,
  });

  // Drives a crash left unsealed come first: finish sealing full ones, continue the open one.
  for (const u of coordinator.unsealed()) {
    if (!u.drive) {
      if (u.state.segments > 0) {
        throw usageError(`drive ${u.state.driveId} (last at ${u.state.path}) holds this job's unsealed data; attach it and pass it with --drive to continue`);
      }
      continue;
    }
    const cur = await coordinator.reopen(u.state, u.drive);
    if (u.state.status === 'full') {
      await cur.writer.close('seal');
      coordinator.current = undefined;
      await loop.seal(u.state, u.drive.root);
    } else io.notice('info', `continuing on drive ${u.state.driveId} (${u.drive.input})`);
  }

  await loop.run();
  if (!loop.needsDrive) {
    await loop.closeCurrent();
    session.journal.append({ type: RecordType.SessionDone, at: deps.clock.now() });
    session.state.apply({ type: RecordType.SessionDone, at: deps.clock.now() });
    await session.journal.commit();
  }

  // Invariant 7: every sealed drive at hand is read back before it is reported ready, including
  // one sealed by a run that was killed before it could read it back.
  const verified = new Map<number, boolean>();
  if (opts.verify !== false) {
    const atHand = new Map(inspected.filter((d) => d.json).map((d) => [d.json!.driveId, d.root]));
    const toVerify = session.state.drives.filter((d) => d && d.status === 'sealed' && (loop.sealedNow.includes(d.seq) || (!d.verified && atHand.has(d.driveId))));
    for (const d of toVerify) {
      const root = loop.sealedNow.includes(d.seq) ? d.path : atHand.get(d.driveId)!;
      io.progress({ phase: 'verify', filesDone: session.state.filesDone, filesTotal: scan.files, rawDone: session.state.rawDone, rawTotal: scan.bytes, storedDone: session.state.storedDone, rate: 0, etaSeconds: undefined, message: `reading back drive ${d.driveId}` });
      const key = await coordinator.keyOf(d);
      const res = await verifyDrive(fs, pool, root, { session: { journalPath: session.journalPath, naming, seq: d.seq, key, tweakSeed: (p) => blobTweakSeed(s.jobId, p) }, signal });
      verified.set(d.seq, res.problems.length === 0);
      if (res.problems.length > 0) {
        const first = res.problems[0]!;
        throw new SeedshipError('E_INTEGRITY', `drive ${d.driveId} failed its read-back: ${first.blobPath} block ${first.block}: ${first.message} (${res.problems.length} problem(s)); do not ship it — run seedship verify for the full list`, { path: root });
      }
      session.journal.append({ type: RecordType.DriveVerified, drive: d.seq });
      session.state.apply({ type: RecordType.DriveVerified, drive: d.seq });
      await session.journal.commit();
    }
  }

  const skipped = [...scan.skipped, ...loop.skipped];
  let skippedFile: string | undefined;
  if (skipped.length > 0) {
    skippedFile = sessionFiles.skipped(session.dir);
    await fs.writeFileAtomic(skippedFile, skipped.map((e) => `${e.path}\t${e.reason}`).join('\n') + '\n');
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
    files: { total: scan.files, done: st.filesDone, skipped: st.filesSkipped },
    entries: scan.kinds,
    names: { mapped: scan.mappedNames, escaped: scan.escapedNames, file: namesFile },
    bytes: { raw: st.rawDone, stored: st.storedDone, rawTotal: scan.bytes },
    skipped,
    skippedFile,
    elapsedMs: deps.clock.monotonic() - started,
    resumed: session.resumed,
    rawRemaining: Math.max(0, scan.bytes - st.rawDone),
  };
}

/**
 * List the entries whose drive name was mapped or whose blob name was escaped, one per line:
 * `mapped|escaped|mapped,escaped <TAB> staged path <TAB> drive path <TAB> blob name` (paths as
 * JSON strings, so any byte is shown). Undefined when there are none.
 */
async function writeRenamed(deps: NativeDeps, session: OpenSession, scan: Awaited<ReturnType<typeof prescan>>): Promise<string | undefined> {
  const path = sessionFiles.names(session.dir);
  if (scan.renamed.length === 0) {
    await deps.fs.unlink(path);
    return undefined;
  }
  const lines = scan.renamed.map((r) => {
    const what = [r.drivePath !== undefined ? 'mapped' : '', r.blobName !== undefined ? 'escaped' : ''].filter(Boolean).join(',');
    return `${what}\t${JSON.stringify(r.path)}\t${JSON.stringify(r.drivePath ?? '')}\t${JSON.stringify(r.blobName ?? '')}`;
  });
  const more = scan.mappedNames + scan.escapedNames > scan.renamed.length ? [`# … and more: ${scan.mappedNames} mapped and ${scan.escapedNames} escaped in all`] : [];
  await deps.fs.writeFileAtomic(path, ['# what\tstaged path\tdrive path (below the container)\tblob name', ...lines, ...more].join('\n') + '\n');
  return path;
}

async function refuseFiles(deps: NativeDeps, session: OpenSession, problems: PathProblem[], count: number): Promise<never> {
  const path = sessionFiles.problems(session.dir);
  await deps.fs.writeFileAtomic(path, problems.map((p) => `${p.severity}\t${p.rule}\t${p.path}\t${p.message}`).join('\n') + '\n');
  const errors = problems.filter((p) => p.severity === 'error');
  const shown = errors.slice(0, SHOWN_PROBLEMS).map((p) => `  ${JSON.stringify(p.path)}: ${p.message} [${p.rule}]`);
  throw new SeedshipError(
    'E_UNSTORABLE',
    `${count} staged file(s) cannot be stored with this session's settings; nothing was copied. Change the settings (as each line says) or move the files out of staging, and run again:\n${shown.join('\n')}${errors.length > SHOWN_PROBLEMS ? `\n  … full list in ${path}` : ''}`,
    { path },
  );
}

