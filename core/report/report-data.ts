/** Gathers everything the session report shows from one session dir. */
import { join } from 'node:path';
import type { Clock, FileSystem } from '../../native/interfaces.js';
import { usageError } from '../errors/errors.js';
import { JOB_FILE, SHIPPING_FILE, type JobRecord, type ShippingRecord } from '../job/job-session.js';
import type { DriveState } from '../journal/journal-state.js';
import { driveRoom } from '../drives/drive-space.js';
import { sessionFiles } from '../session/session-layout.js';
import { readSettings, type SessionSettings } from '../session/session-settings.js';
import { openSessionView } from '../session/session-view.js';
import { readListed, type Listed, type NameRow, type ProblemRow, type SkipRow } from './session-lists.js';
import { readRunLogs, type DriveSample, type ReportRun, type ReportWarning } from './run-logs.js';
import { throughputOf, type Throughput } from './throughput.js';

/** What `seedship verify` last said of a drive, from the run logs. */
export interface VerifyOutcome {
  readonly at: number | undefined;
  /** undefined: that verify run has no end record. */
  readonly exitCode: number | undefined;
}

export interface ReportDrive {
  readonly seq: number;
  readonly driveId: string;
  readonly path: string;
  readonly status: DriveState['status'];
  /** Bytes the drive's files take (allocation-rounded) and the bytes it may take. */
  readonly usedBytes: number;
  readonly budgetBytes: number;
  /** Room left for data, after the manifest's reserve. */
  readonly roomBytes: number;
  readonly storedBytes: number;
  readonly rawBytes: number;
  readonly blobs: number;
  readonly manifestHash: string | undefined;
  /** Read back after sealing: ok, failed (do not ship), not yet, or not applicable (never sealed). */
  readonly readBack: 'ok' | 'failed' | 'not read back' | 'not sealed';
  /** The last `seedship verify` run that named this drive's path. */
  readonly verify: VerifyOutcome | undefined;
}

export interface ReportJob {
  readonly record: JobRecord | undefined;
  /** Carrier and tracking number from `job ship` (no address: the page may be handed over). */
  readonly shipping: { readonly carrier: string; readonly trackingNumber: string; readonly sentAt: number } | undefined;
}

/** Everything the report page shows, gathered from one session dir. */
export interface ReportData {
  readonly sessionDir: string;
  readonly generatedAt: number;
  readonly version: string;
  readonly settings: SessionSettings;
  /** Replayed journal; undefined when it cannot be read (see notes). */
  readonly state:
    | {
        readonly runs: number;
        readonly done: boolean;
        readonly filesDone: number;
        readonly filesSkipped: number;
        readonly rawBytes: number;
        readonly storedBytes: number;
      }
    | undefined;
  readonly job: ReportJob;
  readonly drives: ReportDrive[];
  readonly throughput: Throughput;
  readonly skipped: Listed<SkipRow>;
  readonly renamed: Listed<NameRow>;
  readonly problems: Listed<ProblemRow>;
  readonly warnings: ReportWarning[];
  readonly runs: ReportRun[];
  /** What could not be read, said on the page instead of failing. */
  readonly notes: string[];
}

export interface GatherOptions {
  /** The version of seedship writing the report. */
  readonly version: string;
  /**
   * The run writing the report (prepare's own): its log file and exit code, which its log does not
   * hold yet because the run ends after the report.
   */
  readonly current?: { readonly file: string | undefined; readonly exitCode: number } | undefined;
}

/** Where the report goes by default. */
export function defaultReportFile(sessionDir: string): string {
  return join(sessionDir, 'report.html');
}

/** The folder of the session's run logs. */
export function logsDir(sessionDir: string): string {
  return join(sessionDir, 'logs');
}

/**
 * Gather a report of the session in `dir`: settings, journal state, job, drives, throughput from
 * the run logs, skipped and renamed entries, warnings, runs. Only a dir that is no session at all
 * is an error; anything else that cannot be read (a damaged journal or log, a missing list) becomes
 * a note on the page, so a report can be made of a session in any state.
 */
export async function gatherReport(
  fs: FileSystem,
  clock: Clock,
  dir: string,
  opts: GatherOptions,
): Promise<ReportData> {
  const notes: string[] = [];
  const settings = await readSettings(fs, dir);
  if (!settings) {
    throw usageError(`${dir} is not a seedship session dir (no session.json); pass the --session of the prepare run`);
  }
  let driveStates: DriveState[] = [];
  let state: ReportData['state'];
  try {
    const view = await openSessionView(fs, dir);
    const st = view.state;
    driveStates = st.drives.filter((d): d is DriveState => d !== undefined);
    state = {
      runs: st.runs,
      done: st.sessionDone,
      filesDone: st.filesDone,
      filesSkipped: st.filesSkipped,
      rawBytes: st.rawDone,
      storedBytes: st.storedDone,
    };
  } catch (err) {
    notes.push(`the journal cannot be read (${(err as Error).message}): drives and counts are not shown`);
  }
  const logs = await readRunLogs(fs, logsDir(dir));
  notes.push(...logs.notes);
  const runs = applyCurrentRun(logs.runs, opts.current);
  const drives = driveStates.map((d) => reportDrive(d, runs));
  const ids = drives.map((d) => d.driveId);
  // One line per drive, in drive order: tracks are keyed by drive id; a key or label naming one counts too.
  const samples = new Map<string, DriveSample[]>(ids.map((id) => [id, []]));
  for (const [key, list] of logs.samples) {
    const id = samples.has(key) ? key : ids.find((i) => key.includes(i) || (logs.labels.get(key) ?? '').includes(i));
    if (id !== undefined) samples.get(id)!.push(...list);
  }
  // Samples of two keys of one drive (another step's track) go back in log order; the sort is stable.
  for (const list of samples.values()) list.sort((a, b) => a.board - b.board);
  const labels = new Map(ids.map((id) => [id, id]));
  return {
    sessionDir: dir,
    generatedAt: clock.now(),
    version: opts.version,
    settings,
    state,
    job: await readJob(fs, dir, notes),
    drives,
    throughput: throughputOf(samples, labels),
    skipped: await readListed(fs, sessionFiles.skipped(dir), 'skipped', notes),
    renamed: await readListed(fs, sessionFiles.names(dir), 'names', notes),
    problems: await readListed(fs, sessionFiles.problems(dir), 'problems', notes),
    warnings: logs.warnings,
    runs,
    notes,
  };
}

function applyCurrentRun(runs: ReportRun[], current: GatherOptions['current']): ReportRun[] {
  if (!current?.file) return runs;
  const name = current.file.slice(current.file.lastIndexOf('/') + 1);
  return runs.map((r) => (r.file === name && r.exitCode === undefined ? { ...r, exitCode: current.exitCode } : r));
}

function reportDrive(d: DriveState, runs: readonly ReportRun[]): ReportDrive {
  // A drive that failed after its sealing (it has a manifest hash) failed its read-back.
  const readBack =
    d.status === 'sealed'
      ? d.verified
        ? 'ok'
        : 'not read back'
      : d.status === 'failed' && d.manifestHash !== undefined
        ? 'failed'
        : 'not sealed';
  let verify: VerifyOutcome | undefined;
  for (const r of runs) {
    if (r.command !== 'verify' || !drivesOf(r.argv).some((p) => samePath(p, d.path))) continue;
    verify = { at: r.startedAt, exitCode: r.exitCode };
  }
  return {
    seq: d.seq,
    driveId: d.driveId,
    path: d.path,
    status: d.status,
    usedBytes: d.usedBytes,
    budgetBytes: d.budget,
    roomBytes: Math.max(0, driveRoom(d)),
    storedBytes: d.storedBytes,
    rawBytes: d.rawBytes,
    blobs: d.segments,
    manifestHash: d.manifestHash,
    readBack,
    verify,
  };
}

/** The `--drive` paths of a logged command line. */
function drivesOf(argv: readonly string[]): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (a === '--drive' && argv[i + 1] !== undefined) out.push(argv[i + 1]!);
    else if (a.startsWith('--drive=')) out.push(a.slice('--drive='.length));
  });
  return out;
}

function samePath(a: string, b: string): boolean {
  const trim = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p);
  return trim(a) === trim(b);
}

async function readJob(fs: FileSystem, dir: string, notes: string[]): Promise<ReportJob> {
  const json = async <T>(name: string): Promise<T | undefined> => {
    const b = await fs.readFileIfExists(join(dir, name)).catch(() => undefined);
    if (!b) return undefined;
    try {
      return JSON.parse(b.toString('utf8')) as T;
    } catch {
      notes.push(`${name} is damaged and is left out`);
      return undefined;
    }
  };
  const record = await json<JobRecord>(JOB_FILE);
  const ship = await json<ShippingRecord>(SHIPPING_FILE);
  const pkg = ship?.deliveryPackage;
  return {
    record,
    shipping:
      pkg && typeof pkg.trackingNumber === 'string'
        ? { carrier: String(pkg.carrierName), trackingNumber: pkg.trackingNumber, sentAt: ship.sentAt }
        : undefined,
  };
}
