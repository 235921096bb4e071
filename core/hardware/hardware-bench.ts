/** `seedship bench`: runs the codec and drive timings and turns them into a recommendation. */
import type { NativeDeps } from '../../native/interfaces.js';
import { SeedshipError } from '../errors/errors.js';
import { sampleEncodeTask } from '../plan/samples.js';
import { formatBytes } from '../util/size.js';
import { BENCH_CHUNK_BYTES, stagingDataset, syntheticDatasets, type BenchDataset } from './bench-data.js';
import { measurePerCore, measurePipeline, type PerCoreRate, type PipelineRate } from './codec-bench.js';
import { BENCH_WRITE_BYTES, checkBenchDrive, measureDriveWrite, type DriveWriteResult } from './drive-write.js';
import {
  estimateJob,
  mbps,
  recommendSettings,
  threadsText,
  type JobEstimate,
  type Recommendation,
} from './recommend.js';
import type { ProgressBoard, ProgressTrack } from '../util/progress.js';
import { boardFor } from '../util/step-board.js';

/** zstd levels timed: the default (3), the fastest, and one step up for fast machines. */
export const BENCH_LEVELS = [1, 3, 6] as const;

export interface HardwareBenchOptions {
  /** Sample this staging tree instead of the built-in data, and estimate its job duration. */
  readonly staging: string | undefined;
  readonly drives: readonly string[];
  /** Bytes of each drive's write test (--size); undefined: 2 GiB, or less where less is free. */
  readonly sizeBytes: number | undefined;
  /** The most pool threads to time (also timed with 1). */
  readonly threads: number;
  /** Where the built-in data is written for the pool workers to read (a new dir, removed after). */
  readonly scratchDir: string;
  readonly signal: AbortSignal;
  /**
   * Progress: a phase per measurement (`sampling` or `writing samples`, `timing one core`,
   * `timing the pool`, `timing drive writes`, each with what it times); the total counts the
   * measurements as items and the drives' test bytes written; a track per drive.
   */
  readonly board?: ProgressBoard | undefined;
}

export interface HardwareBenchResult {
  readonly cores: number;
  readonly threads: number;
  readonly levels: readonly number[];
  readonly chunkBytes: number;
  readonly data: {
    readonly source: 'synthetic' | 'staging';
    readonly datasets: readonly { readonly name: string; readonly chunks: number; readonly bytes: number }[];
    /** The staging tree sampled; null with the built-in data. */
    readonly staging: { readonly path: string; readonly files: number; readonly bytes: number } | null;
  };
  readonly perCore: readonly PerCoreRate[];
  readonly pipeline: readonly PipelineRate[];
  readonly drives: readonly DriveWriteResult[];
  readonly recommendation: Recommendation;
  /** With --staging only; null otherwise. */
  readonly estimate: JobEstimate | null;
  readonly warnings: readonly string[];
}

type BenchDeps = Pick<NativeDeps, 'fs' | 'clock' | 'createChunkProcessor' | 'createCodecKit' | 'cores' | 'randomBytes'>;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * `seedship bench`: time zstd, XXH64 and MD5 on one core, the worker pool's encode work with 1 and
 * `threads` threads, and each drive's sustained write rate; recommend a level and thread count,
 * and with a staging tree estimate the job's duration. Every drive is checked before anything
 * runs; every file it writes (test files, built-in samples) is removed on every path out. On abort
 * it throws E_INTERRUPTED after cleaning up.
 */
export async function runHardwareBench(deps: BenchDeps, opts: HardwareBenchOptions): Promise<HardwareBenchResult> {
  const sizes: number[] = [];
  for (const d of opts.drives) sizes.push(await checkBenchDrive(deps.fs, d, opts.sizeBytes));
  const board = boardFor('bench', opts.board);
  const measured = () => board.total.setItems((board.total.items ?? 0) + 1);
  const driveTracks = driveTracksOf(board, opts.drives, sizes);
  let cleanup: () => Promise<void> = async () => undefined;
  try {
    const data = await benchData(deps, opts, board);
    cleanup = data.cleanup;
    const { datasets, staging } = data;
    // Measurements: each data set on one core, each (threads, data set, level) in the pool, each drive.
    const perDataset = 1 + threadsToTime(opts.threads).length * BENCH_LEVELS.length;
    board.total.setItems(0, datasets.length * perDataset + opts.drives.length);
    const timing: BenchTiming = { deps, datasets, opts, board, measured };
    const perCore = await timePerCore(timing);
    const pipeline = await timePipeline(timing);
    await cleanup();
    cleanup = async () => undefined;
    const { drives, warnings } = await timeDriveWrites(timing, sizes, driveTracks);
    // prepare writes every drive given at once: the pool must keep up with their combined rate.
    const driveRate = drives.length ? drives.reduce((a, d) => a + d.sustainedRate, 0) : undefined;
    const threadCounts = threadsToTime(opts.threads);
    const recommendation = recommendSettings(pipeline, BENCH_LEVELS, threadCounts[threadCounts.length - 1]!, driveRate);
    let estimate: JobEstimate | undefined;
    if (staging) {
      const at = pipeline.find((p) => p.level === recommendation.level && p.threads === recommendation.threads);
      const sampled = datasets[0]!.chunks.reduce((a, c) => a + c.length, 0);
      estimate = estimateJob({
        bytes: staging.bytes,
        ratio: at?.ratio ?? 1,
        pipelineRate: recommendation.pipelineRate,
        driveRate,
        samples: { count: datasets[0]!.chunks.length, bytes: sampled },
      });
    }
    return {
      cores: deps.cores,
      threads: opts.threads,
      levels: BENCH_LEVELS,
      chunkBytes: BENCH_CHUNK_BYTES,
      data: {
        source: staging ? 'staging' : 'synthetic',
        datasets: datasets.map((d) => ({
          name: d.name,
          chunks: d.chunks.length,
          bytes: d.chunks.reduce((a, c) => a + c.length, 0),
        })),
        staging: staging ?? null,
      },
      perCore,
      pipeline,
      drives,
      recommendation,
      estimate: estimate ?? null,
      warnings,
    };
  } catch (err) {
    if (opts.signal.aborted)
      throw new SeedshipError('E_INTERRUPTED', 'bench interrupted; its temporary files were removed', { cause: err });
    throw err;
  } finally {
    await cleanup();
  }
}

/** A progress track per drive, waiting, its total the bytes its write test writes. */
function driveTracksOf(board: ProgressBoard, drives: readonly string[], sizes: readonly number[]): ProgressTrack[] {
  const tracks = drives.map((drive, i) => {
    const testBytes = Math.floor(sizes[i]! / BENCH_WRITE_BYTES) * BENCH_WRITE_BYTES;
    const t = board.track({ key: drive, label: drive, unit: 'bytes', total: testBytes });
    t.setState('waiting');
    return t;
  });
  board.total.setTotal(tracks.reduce((a, t) => a + t.total!, 0));
  return tracks;
}

/**
 * The data sets to time: samples of --staging, else the built-in samples written to the scratch
 * dir (`cleanup` removes them; a no-op for staging samples).
 */
async function benchData(
  deps: BenchDeps,
  opts: HardwareBenchOptions,
  board: ProgressBoard,
): Promise<{
  datasets: BenchDataset[];
  staging: { path: string; files: number; bytes: number } | undefined;
  cleanup: () => Promise<void>;
}> {
  if (opts.staging !== undefined) {
    board.setPhase('sampling', `sampling ${opts.staging}`);
    const s = await stagingDataset(deps.fs, opts.staging, opts.signal);
    if (s.dataset.ranges.length === 0)
      throw new SeedshipError('E_STAGING', `staging ${opts.staging} holds no data to sample`, { path: opts.staging });
    const staging = { path: opts.staging, files: s.files, bytes: s.bytes };
    return { datasets: [s.dataset], staging, cleanup: async () => undefined };
  }
  board.setPhase('writing samples', 'writing the built-in samples');
  const made = await syntheticDatasets(
    deps.fs,
    `${opts.scratchDir.replace(/\/+$/, '')}/seedship-bench-${hex(deps.randomBytes(6))}`,
  );
  return { datasets: made.datasets, staging: undefined, cleanup: made.cleanup };
}

/** Each drive's write test, one after the other; a warning for each drive whose rate fell off a cliff. */
async function timeDriveWrites(
  { deps, opts, board, measured }: BenchTiming,
  sizes: readonly number[],
  driveTracks: readonly ProgressTrack[],
): Promise<{ drives: DriveWriteResult[]; warnings: string[] }> {
  const drives: DriveWriteResult[] = [];
  const warnings: string[] = [];
  for (const [i, drive] of opts.drives.entries()) {
    board.setPhase('timing drive writes', `writing ${formatBytes(sizes[i]!)} to ${drive}`);
    const track = driveTracks[i]!;
    track.setState('measuring');
    const onWrite = (n: number) => {
      track.add(n);
      board.total.add(n);
    };
    const tempName = `.seedship-bench-${hex(deps.randomBytes(6))}.tmp`;
    const test = { drive, sizeBytes: sizes[i]!, tempName, signal: opts.signal, onWrite };
    const r = await measureDriveWrite(deps.fs, deps.clock, test).catch((err: unknown) => {
      track.setState('failed');
      throw err;
    });
    track.setState('done');
    measured();
    drives.push(r);
    if (r.cliff) {
      warnings.push(
        `${drive}: write rate fell from ${mbps(r.cliff.fromRate)} to ${mbps(r.cliff.toRate)} ` +
          `after ${formatBytes(r.cliff.afterBytes)}: ` +
          `an SMR drive or an SSD whose cache filled; plan with the lower rate`,
      );
    }
  }
  return { drives, warnings };
}

/** 1 and the most threads asked for (just 1 when that is all). */
function threadsToTime(threads: number): number[] {
  return threads > 1 ? [1, threads] : [1];
}

/** What the timing steps of `bench` share: the deps, the data sets, the options and the progress. */
interface BenchTiming {
  readonly deps: BenchDeps;
  readonly datasets: readonly BenchDataset[];
  readonly opts: HardwareBenchOptions;
  readonly board: ProgressBoard;
  /** Called after each measurement (counts it on the board). */
  readonly measured: () => void;
}

async function timePerCore({ deps, datasets, opts, board, measured }: BenchTiming): Promise<PerCoreRate[]> {
  const kit = await deps.createCodecKit();
  const out: PerCoreRate[] = [];
  for (const d of datasets) {
    board.setPhase('timing one core', `timing zstd, XXH64 and MD5 on one core (${d.name} data)`);
    out.push(
      ...measurePerCore(kit, deps.clock, {
        dataset: d.name,
        chunks: d.chunks,
        levels: BENCH_LEVELS,
        signal: opts.signal,
      }),
    );
    measured();
  }
  return out;
}

async function timePipeline({ deps, datasets, opts, board, measured }: BenchTiming): Promise<PipelineRate[]> {
  const out: PipelineRate[] = [];
  for (const threads of threadsToTime(opts.threads)) {
    const pool = deps.createChunkProcessor(threads);
    try {
      for (const d of datasets) {
        for (const level of BENCH_LEVELS) {
          const what = `timing the worker pool with ${threadsText(threads)} (${d.name} data, zstd level ${level})`;
          board.setPhase('timing the pool', what);
          out.push(
            await measurePipeline(pool, deps.clock, {
              dataset: d.name,
              level,
              samples: d.ranges.length,
              taskFor: (i, l) => sampleEncodeTask(d.ranges[i]!, 'zstd', l),
              signal: opts.signal,
            }),
          );
          measured();
        }
      }
    } finally {
      await pool.close();
    }
  }
  return out;
}
