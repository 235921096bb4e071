/** `bench`'s codec timings: per-core zstd, XXH64 and MD5, and the worker pool's encode rate. */
import type { ChunkProcessor, Clock, CodecKit, EncodeTask } from '../../native/interfaces.js';

/** What `bench` times on one core, in memory. */
export type PerCoreAlgorithm = `zstd-${number}` | 'xxh64' | 'md5';

/** Bytes per second of one algorithm on one core, over one data set's samples. */
export interface PerCoreRate {
  readonly dataset: string;
  readonly algorithm: PerCoreAlgorithm;
  readonly rate: number;
}

/** The worker pool's rate on one data set: read + XXH64 + zstd + MD5 per chunk, as in `prepare`. */
export interface PipelineRate {
  readonly dataset: string;
  readonly level: number;
  readonly threads: number;
  /** Raw bytes per second. */
  readonly rate: number;
  /** Stored / raw bytes. */
  readonly ratio: number;
}

/** Each per-core measurement runs at least this long (and over every sample once). */
const PER_CORE_MIN_MS = 250;
/** Raw bytes each pool thread handles per measurement: 8 chunks. */
const PIPELINE_BYTES_PER_THREAD = 32 * 1024 * 1024;
/** Tasks in flight per thread: enough to keep each worker busy while results travel back. */
const INFLIGHT_PER_THREAD = 2;
/** Bound on tasks per measurement when samples are tiny (a staging tree of small files). */
const PIPELINE_MAX_TASKS = 4096;

/**
 * Time zstd at each level, XXH64 and MD5 on the calling thread over `chunks` (looping until at
 * least 250 ms passed). Blocks the thread while it runs; checks `signal` between algorithms.
 */
export function measurePerCore(
  kit: CodecKit,
  clock: Clock,
  opts: {
    readonly dataset: string;
    readonly chunks: readonly Uint8Array[];
    readonly levels: readonly number[];
    readonly signal: AbortSignal;
  },
): PerCoreRate[] {
  const { dataset, chunks, levels, signal } = opts;
  const algorithms: [PerCoreAlgorithm, (c: Uint8Array) => unknown][] = [
    ...levels.map((l): [PerCoreAlgorithm, (c: Uint8Array) => unknown] => [`zstd-${l}`, (c) => kit.compress(c, l)]),
    ['xxh64', (c) => kit.xxh64(c)],
    ['md5', (c) => kit.md5(c)],
  ];
  const out: PerCoreRate[] = [];
  for (const [algorithm, run] of algorithms) {
    signal.throwIfAborted();
    const started = clock.monotonic();
    let bytes = 0;
    let passes = 0;
    let elapsed = 0;
    do {
      for (const c of chunks) {
        run(c);
        bytes += c.length;
      }
      passes++;
      elapsed = clock.monotonic() - started;
    } while (elapsed < PER_CORE_MIN_MS && bytes > 0 && passes < 1000);
    out.push({ dataset, algorithm, rate: elapsed > 0 ? (bytes * 1000) / elapsed : 0 });
  }
  return out;
}

/**
 * Run encode tasks made by `taskFor(i)` (cycling over the samples) through `pool` until each thread
 * handled about 32 MiB, keeping two tasks per thread in flight, and time them. One round of tasks
 * runs first untimed, so worker start-up and the first read of each sample are not counted.
 * Samples that changed or could not be read are left out.
 */
export async function measurePipeline(
  pool: ChunkProcessor,
  clock: Clock,
  opts: {
    dataset: string;
    level: number;
    samples: number;
    taskFor: (i: number, level: number) => EncodeTask;
    signal: AbortSignal;
  },
): Promise<PipelineRate> {
  const run = async (i: number) => {
    const r = await pool.encode(opts.taskFor(i % opts.samples, opts.level), opts.signal);
    return r.ok ? { raw: r.rawLength, stored: r.stored.length } : { raw: 0, stored: 0 };
  };
  await Promise.all(Array.from({ length: Math.max(pool.threads, opts.samples) }, (_, i) => run(i)));
  const target = PIPELINE_BYTES_PER_THREAD * pool.threads;
  let raw = 0;
  let stored = 0;
  let issued = 0;
  const started = clock.monotonic();
  const worker = async () => {
    while (raw < target && issued < PIPELINE_MAX_TASKS) {
      const r = await run(issued++);
      raw += r.raw;
      stored += r.stored;
      if (r.raw === 0 && issued >= opts.samples && raw === 0) return;
    }
  };
  await Promise.all(Array.from({ length: pool.threads * INFLIGHT_PER_THREAD }, worker));
  const seconds = (clock.monotonic() - started) / 1000;
  return {
    dataset: opts.dataset,
    level: opts.level,
    threads: pool.threads,
    rate: seconds > 0 ? raw / seconds : 0,
    ratio: raw > 0 ? stored / raw : 1,
  };
}
