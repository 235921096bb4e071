/** `bench`'s drive write test: checks the drive, then measures its sustained write rate and any cliff. */
import type { Clock, FileHandle, FileSystem } from '../../native/interfaces.js';
import { errnoCode, SeedshipError, usageError } from '../errors/errors.js';
import { formatBytes } from '../util/size.js';
import { SampleRng } from './sample-data.js';
import { detectWriteCliff, type WriteCliff, type WriteWindow } from './write-cliff.js';

/** One write, the size of a stored chunk at most, as the drive writer issues them. */
export const BENCH_WRITE_BYTES = 4 * 1024 * 1024;
/** The longest window between fdatasyncs: long enough for a drive to reach its sustained rate. */
export const BENCH_SYNC_EVERY_BYTES = 256 * 1024 * 1024;
/** At least this many windows, so thirds of the test can be compared. */
const MIN_WINDOWS = 8;
/** The smallest test: MIN_WINDOWS windows of one write. */
export const BENCH_MIN_SIZE_BYTES = MIN_WINDOWS * BENCH_WRITE_BYTES;
/** Free space the test leaves on a drive, for its file system and anyone else writing there. */
export const BENCH_FREE_MARGIN_BYTES = 256 * 1024 * 1024;

export interface DriveWriteResult {
  readonly drive: string;
  readonly bytes: number;
  readonly seconds: number;
  /** bytes / seconds over the whole test, every fdatasync included. */
  readonly meanRate: number;
  readonly windowBytes: number;
  readonly windows: readonly (WriteWindow & { readonly rate: number })[];
  readonly firstRate: number;
  readonly lastRate: number;
  /** The rate to plan with: the last third's on a cliff, else the mean. */
  readonly sustainedRate: number;
  readonly cliff: WriteCliff | null;
}

/** The write test's size when --size is not given, if the drive has room for it. */
export const BENCH_DEFAULT_SIZE_BYTES = 2 * 1024 ** 3;

/**
 * Check that `drive` is a writable directory with room for the test file and the margin, and
 * return the test size: `sizeBytes` (--size) if given, else 2 GiB or what fits. E_USAGE naming the
 * flag otherwise. Run for every drive before any test starts.
 */
export async function checkBenchDrive(fs: FileSystem, drive: string, sizeBytes: number | undefined): Promise<number> {
  if (sizeBytes !== undefined && sizeBytes < BENCH_MIN_SIZE_BYTES)
    throw usageError(`--size must be at least ${formatBytes(BENCH_MIN_SIZE_BYTES)}`);
  const st = await fs.stat(drive).catch(() => undefined);
  if (!st) throw usageError(`--drive ${drive} does not exist`);
  if (st.kind !== 'dir') throw usageError(`--drive ${drive} is not a directory`);
  if (!(await fs.canWrite(drive))) throw usageError(`--drive ${drive} is not writable by this user`);
  const room = (await fs.statfs(drive)).freeBytes - BENCH_FREE_MARGIN_BYTES;
  const size = sizeBytes ?? Math.min(BENCH_DEFAULT_SIZE_BYTES, room);
  if (size > room || size < BENCH_MIN_SIZE_BYTES) {
    const free = formatBytes(room + BENCH_FREE_MARGIN_BYTES);
    throw usageError(
      `--size ${formatBytes(Math.max(size, BENCH_MIN_SIZE_BYTES))} does not fit on --drive ${drive}: ${free} free, ` +
        `and bench leaves ${formatBytes(BENCH_FREE_MARGIN_BYTES)} free; give a smaller --size or another drive`,
    );
  }
  return size;
}

/** Window length for a test of `sizeBytes`: about an eighth of it, whole writes, at most 256 MiB. */
export function benchWindowBytes(sizeBytes: number): number {
  const writes = Math.floor(sizeBytes / MIN_WINDOWS / BENCH_WRITE_BYTES);
  return Math.min(BENCH_SYNC_EVERY_BYTES, Math.max(1, writes) * BENCH_WRITE_BYTES);
}

/**
 * Write a new temporary file `tempName` of `sizeBytes` (rounded down to whole writes) in the
 * directory `drive`, in 4 MiB writes with an fdatasync closing each window, and time each window.
 * The file is created exclusively (never an existing one) and removed on every path out: done,
 * failure or abort. Checks `signal` before each write.
 */
export async function measureDriveWrite(
  fs: FileSystem,
  clock: Clock,
  opts: {
    drive: string;
    tempName: string;
    sizeBytes: number;
    signal: AbortSignal;
    onWindow?: (doneBytes: number, rate: number) => void;
    /** Bytes of each write, once it is written (before the window's fdatasync). */
    onWrite?: (bytes: number) => void;
  },
): Promise<DriveWriteResult> {
  const total = Math.floor(opts.sizeBytes / BENCH_WRITE_BYTES) * BENCH_WRITE_BYTES;
  const windowBytes = benchWindowBytes(total);
  const path = `${opts.drive.replace(/\/+$/, '')}/${opts.tempName}`;
  // Random bytes, so a compressing file system or SSD controller cannot shrink what it writes.
  const buf = Buffer.allocUnsafe(BENCH_WRITE_BYTES);
  new SampleRng(0x5eed).fill(buf);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const windows: (WriteWindow & { rate: number })[] = [];
  let fh: FileHandle | undefined;
  try {
    fh = await fs.open(path, 'wx', 0o600);
    const started = clock.monotonic();
    let windowStart = started;
    let windowDone = 0;
    for (let pos = 0; pos < total; pos += BENCH_WRITE_BYTES) {
      opts.signal.throwIfAborted();
      // A different stamp in every 4 KiB page of each write, so nothing deduplicates it either.
      for (let p = 0; p < BENCH_WRITE_BYTES; p += 4096) view.setFloat64(p, pos);
      await fh.write(buf, pos);
      opts.onWrite?.(BENCH_WRITE_BYTES);
      windowDone += BENCH_WRITE_BYTES;
      if (windowDone >= windowBytes || pos + BENCH_WRITE_BYTES >= total) {
        await fh.datasync();
        const now = clock.monotonic();
        const seconds = (now - windowStart) / 1000;
        windows.push({ bytes: windowDone, seconds, rate: seconds > 0 ? windowDone / seconds : 0 });
        opts.onWindow?.(pos + BENCH_WRITE_BYTES, windows[windows.length - 1]!.rate);
        windowStart = now;
        windowDone = 0;
      }
    }
    const seconds = (clock.monotonic() - started) / 1000;
    const { firstRate, lastRate, cliff } = detectWriteCliff(windows);
    const meanRate = seconds > 0 ? total / seconds : 0;
    return {
      drive: opts.drive,
      bytes: total,
      seconds,
      meanRate,
      windowBytes,
      windows,
      firstRate,
      lastRate,
      sustainedRate: cliff ? lastRate : meanRate,
      cliff: cliff ?? null,
    };
  } catch (err) {
    if (opts.signal.aborted || err instanceof SeedshipError) throw err;
    throw new SeedshipError(
      'E_DRIVE_UNSUITABLE',
      `the write test on ${opts.drive} failed (${errnoCode(err) ?? 'error'}); ` +
        `check the drive, or give a smaller --size`,
      { path: opts.drive, cause: err },
    );
  } finally {
    if (fh) {
      await fh.close().catch(() => undefined);
      await fs.unlink(path);
    }
  }
}
