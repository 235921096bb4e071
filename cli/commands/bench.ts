// `seedship bench`: measure this machine (codecs, hashes, worker pool, drive writes) and recommend settings.
import { tmpdir } from 'node:os';
import type { Command } from 'commander';
import {
  threadsText,
  BENCH_LEVELS,
  BENCH_MIN_SIZE_BYTES,
  formatBytes,
  formatDuration,
  mbps,
  resolveStaging,
  runHardwareBench,
  type HardwareBenchResult,
} from '../../core/index.js';
import type { CliContext } from '../shared/context.js';
import { EXIT } from '../shared/exit-codes.js';
import { collect, intOption, sizeOption } from '../shared/options.js';
import { printResult } from '../shared/output.js';
import type { SetExit } from '../shared/types.js';
import { startProgress } from '../shared/progress.js';

interface BenchFlags {
  drive?: string[];
  staging?: string;
  size?: number;
  threads?: number;
  json?: boolean;
}

export function registerBench(program: Command, ctx: CliContext, setExit: SetExit): void {
  program
    .command('bench')
    .description(
      `measure this machine: zstd (levels ${BENCH_LEVELS.join(', ')}), XXH64 and MD5 per core, ` +
        'the worker pool with 1 and N threads, ' +
        "and each drive's sustained write rate; recommend a zstd level and thread count (see docs/bench.md)",
    )
    .option(
      '--drive <path>',
      'time writing a temporary file in this directory (repeat for more); the file is removed afterwards',
      collect,
    )
    .option('--staging <dir>', "sample this staging tree instead of built-in data, and estimate the job's duration")
    .option(
      '--size <size>',
      'bytes written per drive, e.g. 8G (default 2GiB, or less if less is free)',
      sizeOption('--size', BENCH_MIN_SIZE_BYTES),
    )
    .option(
      '--threads <n>',
      'most worker threads to time (default: the number of cores)',
      intOption('--threads', 1, 256),
    )
    .option('--json', 'the result as one JSON object on stdout')
    .addHelpText(
      'after',
      `
Writes only a new temporary file .seedship-bench-*.tmp in each --drive directory (fdatasync every
256 MiB at most; removed afterwards, also on error or Ctrl-C) and, without --staging, 32 MiB of
built-in samples in a new directory under $TMPDIR (removed too). Existing files are never touched.

Example: seedship bench --drive /mnt/d1 --staging /backup/staging --size 8G
Exit codes: 0 done, 2 usage error (a missing drive, --size larger than its free space), 130 interrupted.`,
    )
    .action(async (flags: BenchFlags) => setExit(await benchAction(ctx, flags)));
}

async function benchAction(ctx: CliContext, flags: BenchFlags): Promise<number> {
  const json = flags.json === true;
  const staging = flags.staging === undefined ? undefined : await resolveStaging(ctx.deps, flags.staging);
  const view = startProgress(ctx, 'bench', { json, total: { label: 'measurements; drive test bytes', unit: 'bytes' } });
  let r: HardwareBenchResult;
  try {
    r = await runHardwareBench(ctx.deps, {
      staging,
      drives: flags.drive ?? [],
      sizeBytes: flags.size,
      threads: flags.threads ?? ctx.deps.cores,
      scratchDir: tmpdir(),
      signal: ctx.signal,
      board: view.board,
    });
    for (const w of r.warnings) view.note('warning', w);
  } finally {
    view.done();
  }
  printResult(ctx, json, r, () => humanReport(r));
  return EXIT.OK;
}

const rate = (n: number) => mbps(n).padStart(10);

/** The whole human report: data, per-core rates, worker pool, drives, recommendation, estimate. */
function humanReport(r: HardwareBenchResult): string {
  const names = r.data.datasets.map((d) => d.name);
  const out: string[] = [];
  const src = r.data.staging
    ? `${r.data.datasets[0]!.chunks} samples of ${r.data.staging.path} ` +
      `(${r.data.staging.files} files, ${formatBytes(r.data.staging.bytes)})`
    : 'built-in data: log-like text and random bytes';
  out.push(`machine: ${r.cores} cores; data: ${src}; chunks of ${formatBytes(r.chunkBytes)}`, '');
  out.push(...perCoreLines(r, names), ...poolLines(r, names));
  for (const d of r.drives) out.push(...driveLines(d));
  out.push(...recommendationLines(r.recommendation));
  if (r.estimate) out.push(...estimateLines(r.estimate));
  if (r.data.source === 'synthetic')
    out.push(
      '',
      'built-in data is not yours: run with --staging DIR for your compression ratio, rates and a job estimate',
    );
  out.push('');
  return out.join('\n');
}

/** A table row of rates, one column per dataset (or thread count). */
function rateCells<T>(columns: readonly T[], rateOf: (c: T) => number | undefined): string {
  return columns.map((c) => rate(rateOf(c) ?? 0).padStart(12)).join('');
}

function perCoreLines(r: HardwareBenchResult, names: string[]): string[] {
  const out = [`per core (one thread, in memory)${names.map((n) => n.padStart(12)).join('')}`];
  const algos = [...new Set(r.perCore.map((p) => p.algorithm))];
  for (const a of algos) {
    const cells = rateCells(names, (n) => r.perCore.find((p) => p.algorithm === a && p.dataset === n)?.rate);
    out.push(`  ${a.replace('zstd-', 'zstd level ').padEnd(31)}${cells}`);
  }
  return out;
}

function poolLines(r: HardwareBenchResult, names: string[]): string[] {
  const threads = [...new Set(r.pipeline.map((p) => p.threads))];
  const heads = threads.map((t) => threadsText(t).padStart(12)).join('');
  const out = [
    '',
    'worker pool (read + XXH64 + zstd + MD5 per chunk, as prepare does), raw MB/s',
    `  ${'data'.padEnd(9)}${'level'.padEnd(7)}${'ratio'.padEnd(7)}${heads}`,
  ];
  for (const n of names) {
    for (const l of r.levels) {
      const row = r.pipeline.filter((p) => p.dataset === n && p.level === l);
      const ratio = (row[0]?.ratio ?? 1).toFixed(2);
      const cells = rateCells(threads, (t) => row.find((p) => p.threads === t)?.rate);
      out.push(`  ${n.padEnd(9)}${String(l).padEnd(7)}${ratio.padEnd(7)}${cells}`);
    }
  }
  return out;
}

function driveLines(d: HardwareBenchResult['drives'][number]): string[] {
  const out = [
    '',
    `drive ${d.drive}: ${formatBytes(d.bytes)} in ${d.windows.length} windows of ${formatBytes(d.windowBytes)}, ` +
      'each ending in fdatasync',
    `  mean ${mbps(d.meanRate)}; first third ${mbps(d.firstRate)}, last third ${mbps(d.lastRate)}; ` +
      `plan with ${mbps(d.sustainedRate)}`,
  ];
  if (d.cliff)
    out.push(
      `  CLIFF: fell from ${mbps(d.cliff.fromRate)} to ${mbps(d.cliff.toRate)} ` +
        `after ${formatBytes(d.cliff.afterBytes)} (an SMR drive or an SSD whose cache filled)`,
    );
  return out;
}

function recommendationLines(rec: HardwareBenchResult['recommendation']): string[] {
  const typical = rec.typical.map(
    (t) => `a ${mbps(t.rate)} ${t.name}: ${t.level === null ? 'no level' : `level ${t.level}`}`,
  );
  return [
    '',
    `recommended: --level ${rec.level} --threads ${rec.threads}`,
    ...rec.reasons.map((why) => `  ${why}`),
    `  keeps up with: ${typical.join('; ')}`,
  ];
}

function estimateLines(e: NonNullable<HardwareBenchResult['estimate']>): string[] {
  const bound = e.bottleneck === 'cpu' ? 'CPU (compression)' : 'drive';
  return [
    '',
    `estimate: about ${formatDuration(e.seconds)} for ${formatBytes(e.bytes)} ` +
      `(about ${formatBytes(e.storedBytes)} stored at ratio ${e.ratio.toFixed(2)}), ` +
      `at ${mbps(e.rate)} of staged data, bound by the ${bound}`,
    '  assumes:',
    ...e.assumptions.map((a) => `  - ${a}`),
  ];
}
