/**
 * `verify`: every given drive read back at once, each against its manifest and, with a session,
 * against the journal; with progress per drive.
 */
import type { ChunkProcessor, FileSystem } from '../../native/interfaces.js';
import { SeedshipError } from '../errors/errors.js';
import { manifestTotals } from '../manifest/manifest-totals.js';
import { blobTweakSeed } from '../chunks/chunk-task.js';
import { matchDrives, openSessionView, type SessionView } from '../session/session-view.js';
import type { ProgressBoard, ProgressTrack } from '../util/progress.js';
import { boardFor, sumOfTotals } from '../util/step-board.js';
import { verifyDrive, type DriveVerifyResult, type VerifySessionView } from './verify-drive.js';

/** What `runVerify` works on. */
export interface RunVerifyOptions {
  readonly drives: readonly string[];
  /** The session dir: drives are checked against its journal, and must be of its job. */
  readonly session: string | undefined;
  readonly signal: AbortSignal;
  readonly onBytes?: (n: number) => void;
  readonly board?: ProgressBoard | undefined;
}

/**
 * `verify`: read every given drive back against its manifest, all at once; with a session, also
 * against the journal (decrypt, decompress, XXH64). Returns one result per drive; problems are in
 * the results. With a session, every drive must be one of the session's job (E_DRIVE_FOREIGN, or
 * E_USAGE for a path that is no seedship drive, before anything is read back).
 *
 * Progress on `board`: phase `reading drive manifests` (each manifest counted: the bytes to read
 * back), then `reading back`; a track per drive (bytes read of its manifest's total), and the
 * board's total the sum of them.
 */
export async function runVerify(
  fs: FileSystem,
  pool: ChunkProcessor,
  opts: RunVerifyOptions,
): Promise<DriveVerifyResult[]> {
  const board = boardFor('verify', opts.board);
  // The session's journal and each drive's identity are read in this phase too.
  board.setPhase('reading drive manifests', `${opts.drives.length} drive(s)`);
  const view = opts.session ? await openSessionView(fs, opts.session) : undefined;
  const seqs = view ? await matchDrives(fs, view, opts.drives) : undefined;
  // Every drive's identity and session view first (cheap), then all drives read back at once:
  // each is bound by its own disk, and a few reads in flight per drive keep every one busy.
  const jobs: DriveJob[] = [];
  for (const input of opts.drives) jobs.push(await driveJob(fs, input, view, seqs));
  const totals = await Promise.all(jobs.map((j) => manifestTotals(fs, j.root, opts.signal)));
  const tracks = jobs.map((j, i) => {
    const id = j.expect?.expectDriveId ?? totals[i]?.driveId;
    const label = id ? `${id} ${j.input}` : j.input;
    const t = board.track({ key: j.root, label, unit: 'bytes', total: totals[i]?.bytes });
    t.setState('waiting');
    return t;
  });
  board.total.setTotal(sumOfTotals(tracks));
  board.setPhase('reading back', `${jobs.length} drive(s)`);
  const inFlight = jobs.length > 1 ? READS_IN_FLIGHT_PER_DRIVE : undefined;
  const run = { fs, pool, opts, board, tracks, inFlight };
  const settled = await Promise.allSettled(jobs.map((j, i) => verifyJob(run, j, tracks[i]!)));
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((r) => (r as PromiseFulfilledResult<DriveVerifyResult>).value);
}

/** One drive to read back: the path given, its mount path, and with a session what it must be. */
interface DriveJob {
  readonly input: string;
  readonly root: string;
  readonly session: VerifySessionView | undefined;
  readonly expect: { expectDriveId: string; expectJobId: string } | undefined;
}

/** The drive given as `input`, with the session's view of it (`seqs`: matchDrives' drives by seq). */
async function driveJob(
  fs: FileSystem,
  input: string,
  view: SessionView | undefined,
  seqs: ReadonlyMap<number, string> | undefined,
): Promise<DriveJob> {
  const root = await fs.realpath(input).catch((err: unknown) => {
    throw new SeedshipError('E_USAGE', `drive ${input} does not exist; pass the mount path of a prepared drive`, {
      path: input,
      cause: err,
    });
  });
  if (!view || !seqs) return { input, root, session: undefined, expect: undefined };
  const seq = [...seqs.entries()].find(([, r]) => r === root)![0];
  const d = view.state.drive(seq);
  const session: VerifySessionView = {
    journalPath: view.journalPath,
    naming: view.naming,
    seq,
    key: await view.keyOf(d.driveId),
    tweakSeed: (p: string) => blobTweakSeed(view.settings.jobId, p),
    manifestHash: d.manifestHash,
  };
  return { input, root, session, expect: { expectDriveId: d.driveId, expectJobId: view.settings.jobId } };
}

/** What reading each drive back shares. */
interface VerifyRun {
  readonly fs: FileSystem;
  readonly pool: ChunkProcessor;
  readonly opts: RunVerifyOptions;
  readonly board: ProgressBoard;
  /** Every drive's track: the board's total is their sum. */
  readonly tracks: readonly ProgressTrack[];
  readonly inFlight: number | undefined;
}

/** Read one drive back on its track; a drive that is not the session's one it should be is E_DRIVE_FOREIGN. */
async function verifyJob(run: VerifyRun, j: DriveJob, track: ProgressTrack): Promise<DriveVerifyResult> {
  const { board, opts, inFlight } = run;
  const onBytes = (n: number) => {
    track.add(n);
    board.total.add(n);
    opts.onBytes?.(n);
  };
  track.setState('verifying');
  const o = { session: j.session, signal: opts.signal, ...j.expect, ...(inFlight ? { inFlight } : {}), onBytes };
  const res = await verifyDrive(run.fs, run.pool, j.root, o).catch((err: unknown) => {
    track.setState('failed');
    throw err;
  });
  // The manifest's ranges are what is read, but for a page blob read whole with --session
  // (holes too) or a blob verify refuses to read: the drive is done at what it read.
  track.setTotal(track.done);
  board.total.setTotal(sumOfTotals(run.tracks));
  track.setState(res.problems.length > 0 || res.absent ? 'failed' : 'done');
  if (res.absent) {
    // matchDrives read this drive's drive.json a moment ago; it was swapped or changed since.
    throw new SeedshipError(
      'E_DRIVE_FOREIGN',
      `drive ${j.input}: ${res.absent.reason}; ` +
        `pass the mount path of drive ${j.expect?.expectDriveId} of this session`,
      { path: j.input },
    );
  }
  return res;
}

/**
 * Chunks (up to 4 MiB) read at once from each drive when several are read back together (verify,
 * and prepare's read-backs): one being read, two queued, so one drive's reads queued ahead of the
 * others' in the shared pool never leave those idle.
 */
export const READS_IN_FLIGHT_PER_DRIVE = 3;

/**
 * Worker threads for reading `drives` drives back at once: a worker per drive besides `threads`
 * (a worker waits for each of its reads; reading is bound by the disks), at most 16.
 */
export function verifyThreads(threads: number, drives: number): number {
  return drives > 1 ? Math.max(threads, Math.min(16, threads + drives)) : threads;
}
