/** Turns `bench`'s measurements into a recommended zstd level, thread count and job duration. */
import { formatDuration } from '../util/size.js';
import type { PipelineRate } from './codec-bench.js';

/** Sustained write rates to compare with when no drive was measured (bytes per second). */
export const TYPICAL_DRIVES = [
  { name: 'HDD', rate: 200e6 },
  { name: 'SSD', rate: 500e6 },
] as const;

/** Below this speed-up from 1 to N threads, more threads are not worth it (noise, memory bound). */
const MIN_THREAD_GAIN = 1.1;

/** Megabytes (10^6, as drive makers count) per second, for messages. */
export function mbps(rate: number): string {
  return `${(rate / 1e6).toFixed(0)} MB/s`;
}

/** "1 thread", "4 threads". */
export function threadsText(n: number): string {
  return `${n} thread${n === 1 ? '' : 's'}`;
}

export interface Recommendation {
  readonly level: number;
  readonly threads: number;
  /** What the level was chosen against: the measured drives written at once, or a typical HDD. */
  readonly basis: 'drive' | 'typical-hdd';
  /** The write rate the level must keep up with (bytes per second). */
  readonly targetRate: number;
  /** The pool's raw rate at `level` with `threads` (slowest data set). */
  readonly pipelineRate: number;
  /** False when even the lowest level is slower than `targetRate`: the CPU bounds the copy. */
  readonly keepsUp: boolean;
  /** Rate with the most threads / rate with one, at `level`; null when only one count was run. */
  readonly threadGain: number | null;
  /** Highest level keeping up with each typical drive (null: none does). */
  readonly typical: readonly { readonly name: string; readonly rate: number; readonly level: number | null }[];
  readonly reasons: readonly string[];
}

/** The slowest data set's rate at `level` with `threads`, or 0 if not measured. */
export function rateAt(pipeline: readonly PipelineRate[], level: number, threads: number): number {
  const rates = pipeline.filter((p) => p.level === level && p.threads === threads).map((p) => p.rate);
  return rates.length ? Math.min(...rates) : 0;
}

function highestKeepingUp(
  pipeline: readonly PipelineRate[],
  levels: readonly number[],
  threads: number,
  target: number,
): number | undefined {
  return [...levels].sort((a, b) => b - a).find((l) => rateAt(pipeline, l, threads) >= target);
}

/**
 * The zstd level and thread count to use: the highest level whose pipeline rate with all threads
 * still reaches the drives' combined sustained write rate (prepare writes every drive given at
 * once; so the copy runs at least as fast as an
 * uncompressed one would, and stores less), else a typical HDD's; all threads unless they gave
 * less than a 10 % gain over one.
 */
export function recommendSettings(
  pipeline: readonly PipelineRate[],
  levels: readonly number[],
  maxThreads: number,
  driveRate: number | undefined,
): Recommendation {
  const hdd = TYPICAL_DRIVES[0];
  const target = driveRate ?? hdd.rate;
  const basis = driveRate === undefined ? 'typical-hdd' : 'drive';
  const lowest = Math.min(...levels);
  const found = highestKeepingUp(pipeline, levels, maxThreads, target);
  const level = found ?? lowest;
  const reasons: string[] = [];
  const against =
    basis === 'drive'
      ? `the drives' combined ${mbps(target)} (all written at once)`
      : `a typical ${hdd.name}'s ${mbps(target)} (no --drive measured)`;
  if (found !== undefined)
    reasons.push(
      `level ${level} is the highest measured level ` +
        `whose rate (${mbps(rateAt(pipeline, level, maxThreads))} with ${threadsText(maxThreads)}) ` +
        `reaches ${against}`,
    );
  else
    reasons.push(
      `even level ${lowest} (${mbps(rateAt(pipeline, lowest, maxThreads))} with ${threadsText(maxThreads)}) ` +
        `is slower than ${against}: ` +
        `the CPU bounds the copy; --codec none would write at the drive's rate but fill more drives`,
    );
  const one = rateAt(pipeline, level, 1);
  const many = rateAt(pipeline, level, maxThreads);
  const threadGain = maxThreads > 1 && one > 0 ? many / one : null;
  let threads = maxThreads;
  if (threadGain !== null && threadGain < MIN_THREAD_GAIN) {
    threads = 1;
    reasons.push(
      `${maxThreads} threads were only ${threadGain.toFixed(2)}× as fast as 1 at level ${level} ` +
        `(other load on the machine?): 1 thread leaves the cores to others`,
    );
  } else if (threadGain !== null) {
    reasons.push(`${maxThreads} threads were ${threadGain.toFixed(2)}× as fast as 1 at level ${level}`);
  }
  const typical = TYPICAL_DRIVES.map((d) => ({
    name: d.name,
    rate: d.rate,
    level: highestKeepingUp(pipeline, levels, maxThreads, d.rate) ?? null,
  }));
  return {
    level,
    threads,
    basis,
    targetRate: target,
    pipelineRate: rateAt(pipeline, level, threads),
    keepsUp: found !== undefined,
    threadGain,
    typical,
    reasons,
  };
}

export interface JobEstimate {
  readonly bytes: number;
  /** Stored / raw at the recommended level, from the staging samples. */
  readonly ratio: number;
  readonly storedBytes: number;
  readonly pipelineRate: number;
  /** The measured drives' combined sustained rate (prepare writes them at once); null without --drive. */
  readonly driveRate: number | null;
  /** Raw bytes per second of the whole job: min(pipeline, drive / ratio). */
  readonly rate: number;
  readonly bottleneck: 'cpu' | 'drive';
  readonly seconds: number;
  readonly assumptions: readonly string[];
}

/**
 * Job duration = staged bytes / min(pipeline rate, drive rate / ratio): the drive writes stored
 * bytes, so at ratio 0.4 a 200 MB/s drive absorbs 500 MB/s of staged data.
 */
export function estimateJob(opts: {
  /** Staged bytes. */
  readonly bytes: number;
  /** Stored bytes per raw byte at the recommended level. */
  readonly ratio: number;
  /** Raw bytes per second the worker pool reaches. */
  readonly pipelineRate: number;
  /** Sum of the drives' sustained write rates; undefined without --drive. */
  readonly driveRate: number | undefined;
  readonly samples: { readonly count: number; readonly bytes: number };
}): JobEstimate {
  const { bytes, ratio, pipelineRate, driveRate, samples } = opts;
  const driveRaw = driveRate === undefined ? Infinity : driveRate / Math.max(ratio, 1e-6);
  const rate = Math.min(pipelineRate, driveRaw);
  const seconds = rate > 0 ? bytes / rate : Infinity;
  const hdd = TYPICAL_DRIVES[0];
  const hddSeconds = bytes / Math.min(pipelineRate, hdd.rate / Math.max(ratio, 1e-6));
  const assumptions = [
    `the compression ratio of ${samples.count} samples (${(samples.bytes / 2 ** 20).toFixed(0)} MiB) ` +
      `holds for all the data`,
    'the staging disk reads at least as fast as the pipeline: ' +
      'source reads are not measured (the samples come from the page cache after their first read)',
    driveRate === undefined
      ? "no --drive: the drive's write rate is left out, so this is a lower bound " +
        `(a ${mbps(hdd.rate)} HDD would take ${formatDuration(hddSeconds)})`
      : 'the drives measured are written at once (as prepare does), together at the sum of their sustained rates; ' +
        'more drives of the same kind would add to it',
    'not included: swapping drives, the read-back check of each sealed drive, ' +
      'the per-file cost of many small files, other load on this machine',
  ];
  return {
    bytes,
    ratio,
    storedBytes: Math.ceil(bytes * ratio),
    pipelineRate,
    driveRate: driveRate ?? null,
    rate,
    bottleneck: rate < driveRaw ? 'cpu' : 'drive',
    seconds,
    assumptions,
  };
}
