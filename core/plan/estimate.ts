/** `seedship plan`: estimates the bytes to store and the drives needed, from samples of staging. */
import type { ChunkProcessor, Codec, FileSystem } from '../../native/interfaces.js';
import { usageError } from '../errors/errors.js';
import { formatBytes } from '../util/size.js';
import { ALLOC_UNIT_BYTES, DRIVE_FIXED_RESERVE_BYTES, SEGMENT_START_BYTES } from '../drives/drive-space.js';
import { reserveBytesFor } from '../drives/drive-space.js';
import { blobNameOf, blobSuffix } from '../manifest/naming.js';
import { RANGE_ELEMENT_MAX_BYTES } from '../manifest/drive-manifest.js';
import { SESSION_ROOT_NAME } from '../session/session-layout.js';
import { chunkCount, rawChunkBytes } from '../manifest/chunking.js';
import { pickSamples, sampleEncodeTask } from './samples.js';
import { walkStaging, type SkippedEntry } from '../staging/scan.js';
import type { ProgressBoard } from '../util/progress.js';
import { boardFor } from '../util/step-board.js';

/** Samples read and compressed to estimate the ratio and the rate. */
const SAMPLE_COUNT = 48;
const SAMPLE_BYTES = 1024 * 1024;
/** Average manifest bytes per blob element beyond its ranges. */
const MANIFEST_BYTES_PER_BLOB = 500;
const MiB = 1024 * 1024;
/**
 * The smallest drive (or --drive-limit) that holds one entry: the manifest reserve prepare keeps,
 * one segment's files and one block of data, rounded up to whole MiB. A smaller drive holds
 * nothing at all, so counting drives of that size never ends.
 */
export const MIN_DRIVE_BYTES = Math.ceil((reserveBytesFor(0) + SEGMENT_START_BYTES + ALLOC_UNIT_BYTES) / MiB) * MiB;

export interface PlanResult {
  /** Staged entries of every kind (files, directories, symlinks, special files). */
  readonly files: number;
  /** Names given another drive name (NTFS would not keep them), and blob names escaped. */
  readonly names: { readonly mapped: number; readonly escaped: number };
  readonly bytes: number;
  readonly skipped: readonly SkippedEntry[];
  readonly codec: Codec;
  readonly level: number;
  /** Stored/raw of the sampled bytes (1 for --codec none). */
  readonly ratio: number;
  readonly sampledBytes: number;
  readonly estimatedStoredBytes: number;
  /** Stored bytes plus file-system and manifest overhead: what the drives must hold. */
  readonly estimatedDriveBytes: number;
  readonly driveBytes: readonly number[];
  readonly drivesNeeded: number;
  readonly drivesShort: number;
  /** Raw bytes per second the pipeline reached on the samples (read, compress, hash) with `threads`. */
  readonly measuredRate: number;
  readonly threads: number;
  readonly estimatedSeconds: number;
}

/**
 * `plan`: how much the drives must hold and how many are needed, estimated from zstd on a
 * spread of samples; writes nothing. Drive write speed is not measured here.
 *
 * Progress on `board`: phase `scanning` (the total counts staged bytes, its items the entries;
 * neither is known ahead), then `sampling` (the scan's bytes become the total's; a `samples`
 * track counts the sampled bytes of their known total).
 */
export async function runPlan(
  fs: FileSystem,
  pool: ChunkProcessor,
  clock: { monotonic(): number },
  opts: PlanOptions,
): Promise<PlanResult> {
  const board = boardFor('plan', opts.board);
  const scan = await scanForPlan(fs, opts, board);
  const { files, bytes, overhead } = scan;
  board.setPhase('sampling', `compressing samples to estimate the ratio (${opts.codec})`);
  const { sampledBytes, sampledStored, seconds } = await compressSamples({ fs, pool, clock, opts, board }, bytes);
  const ratio = opts.codec === 'none' || sampledBytes === 0 ? 1 : sampledStored / sampledBytes;
  const estimatedStoredBytes = Math.ceil(bytes * ratio);
  const estimatedDriveBytes = estimatedStoredBytes + overhead;
  const { needed, short } = countDrives(estimatedDriveBytes, opts.driveBytes, opts.repeatLastDrive);
  const measuredRate = seconds > 0 ? sampledBytes / seconds : 0;
  return {
    files,
    names: { mapped: scan.mapped, escaped: scan.escaped },
    bytes,
    skipped: scan.skipped,
    codec: opts.codec,
    level: opts.level,
    ratio,
    sampledBytes,
    estimatedStoredBytes,
    estimatedDriveBytes,
    driveBytes: opts.driveBytes,
    drivesNeeded: needed,
    drivesShort: short,
    measuredRate,
    threads: pool.threads,
    estimatedSeconds: measuredRate > 0 ? bytes / measuredRate : 0,
  };
}

interface PlanOptions {
  staging: string;
  codec: Codec;
  level: number;
  driveBytes: readonly number[];
  repeatLastDrive: boolean;
  signal: AbortSignal;
  board?: ProgressBoard | undefined;
}

/** The session dir inside staging is never staged data. */
const excludeSessionRoot = (rel: string) => rel === SESSION_ROOT_NAME;

/** What the scan of staging found: entries, bytes, names, and the drive bytes beyond the data. */
interface PlanScan {
  files: number;
  bytes: number;
  overhead: number;
  mapped: number;
  escaped: number;
  skipped: SkippedEntry[];
}

/** Walk staging, counting what a prepare would store (phase `scanning` on the board's total). */
async function scanForPlan(fs: FileSystem, opts: PlanOptions, board: ProgressBoard): Promise<PlanScan> {
  const scanned = board.total;
  scanned.setState('scanning');
  board.setPhase('scanning', opts.staging);
  const scan: PlanScan = { files: 0, bytes: 0, overhead: 0, mapped: 0, escaped: 0, skipped: [] };
  const cb = rawChunkBytes(opts.codec);
  const suffix = blobSuffix(opts.codec);
  for await (const f of walkStaging(fs, opts.staging, {
    exclude: excludeSessionRoot,
    onSkip: (e) => scan.skipped.push(e),
    entries: true,
    suffix,
  })) {
    opts.signal.throwIfAborted();
    scan.files++;
    scan.bytes += f.size;
    scanned.set(scan.bytes);
    scanned.setItems(scan.files);
    if (f.mapped) scan.mapped++;
    if (blobNameOf(f.path, f.kind === 'file' ? suffix : '').escaped) scan.escaped++;
    scan.overhead += SEGMENT_START_BYTES + MANIFEST_BYTES_PER_BLOB + chunkCount(f.size, cb) * RANGE_ELEMENT_MAX_BYTES;
  }
  scanned.setTotal(scan.bytes);
  scanned.setItems(scan.files, scan.files);
  scanned.setState('done');
  return scan;
}

/** Compress samples spread over `bytes` of staging in the pool (a `samples` track), and time it. */
async function compressSamples(
  run: {
    readonly fs: FileSystem;
    readonly pool: ChunkProcessor;
    readonly clock: { monotonic(): number };
    readonly opts: PlanOptions;
    readonly board: ProgressBoard;
  },
  bytes: number,
): Promise<{ sampledBytes: number; sampledStored: number; seconds: number }> {
  const { fs, pool, clock, opts, board } = run;
  const ranges = await pickSamples(fs, opts.staging, {
    totalBytes: bytes,
    count: SAMPLE_COUNT,
    sampleBytes: SAMPLE_BYTES,
    exclude: excludeSessionRoot,
  });
  const sampleBytes = ranges.reduce((a, s) => a + s.length, 0);
  const sampling = board.track({ key: 'samples', label: 'compression samples', unit: 'bytes', total: sampleBytes });
  sampling.setItems(0, ranges.length);
  sampling.setState('measuring');
  const started = clock.monotonic();
  const tasks = ranges.map((s) =>
    pool.encode(sampleEncodeTask(s, opts.codec, opts.level), opts.signal).then((r) => {
      // A sample that changed under the read is left out, so the total shrinks by it.
      if (r.ok) sampling.add(s.length);
      else sampling.setTotal((sampling.total ?? 0) - s.length);
      sampling.setItems((sampling.items ?? 0) + 1);
      return r.ok ? { raw: r.rawLength, stored: r.stored.length } : { raw: 0, stored: 0 };
    }),
  );
  const samples = await Promise.all(tasks);
  sampling.setState('done');
  const seconds = (clock.monotonic() - started) / 1000;
  const sampledBytes = samples.reduce((a, s) => a + s.raw, 0);
  const sampledStored = samples.reduce((a, s) => a + s.stored, 0);
  return { sampledBytes, sampledStored, seconds };
}

/**
 * How many drives of the given sizes (the last one repeated, with --drive-size) hold `need` bytes.
 * A drive smaller than MIN_DRIVE_BYTES holds nothing and is counted as not there; the drives still
 * needed are counted in drives the size of the last one that holds something. Throws E_USAGE when
 * bytes are left and no drive given holds anything.
 */
export function countDrives(
  need: number,
  sizes: readonly number[],
  repeatLast: boolean,
): { needed: number; short: number } {
  const room = (s: number) => (s >= MIN_DRIVE_BYTES ? s - DRIVE_FIXED_RESERVE_BYTES : 0);
  let left = need;
  let n = 0;
  for (const s of sizes) {
    if (left <= 0) break;
    if (room(s) === 0) continue;
    left -= room(s);
    n++;
  }
  if (left <= 0) return { needed: Math.max(1, n), short: 0 };
  const usable = sizes.filter((s) => room(s) > 0);
  const last = usable[usable.length - 1];
  if (last === undefined) {
    if (sizes.length === 0) return { needed: 0, short: 0 };
    const least = formatBytes(MIN_DRIVE_BYTES);
    throw usageError(`no drive given can hold anything: each needs at least ${least} (its manifest and one entry)`);
  }
  const more = Math.ceil(left / room(last));
  return repeatLast ? { needed: n + more, short: 0 } : { needed: n + more, short: more };
}
