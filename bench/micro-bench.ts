#!/usr/bin/env node
/**
 * Microbenchmarks between the bindings seedship could use for zstd, XXH64 and MD5: single thread,
 * one 4 MiB chunk per call (and 64 KiB for hashes, the small-file case). Writes bench/MICRO.md with
 * a table and a choice per operation. Never part of the tests.
 *
 *   npm run bench:micro                  # about 3 minutes
 *   node dist/bench/micro-bench.js [--quick] [--out bench/MICRO.md]
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import Benchmark from 'benchmark';
import xxhash from 'xxhash-wasm';
import { Compressor, Decompressor, compress, decompress } from 'zstd-napi';
import { generateStaging, type Shape } from '../fixtures/generate.js';

const MiB = 1024 * 1024;
const CHUNK = 4 * MiB;
const SMALL = 64 * 1024;

type Op = 'zstd compress' | 'zstd decompress' | 'XXH64' | 'MD5';
type Out = Uint8Array | string;

/** What seedship uses today (native/chunk-worker.ts, native/chunk-crypto.ts). */
const CURRENT: Record<Op, string> = {
  'zstd compress': 'zstd-napi Compressor (reused)',
  'zstd decompress': 'zstd-napi decompress()',
  XXH64: 'xxhash-wasm h64Raw',
  MD5: 'node:crypto md5',
};

interface Impl {
  binding: string;
  run: (data: Buffer) => Out;
}

interface Case {
  op: Op;
  data: string;
  input: Buffer;
  /** Uncompressed bytes per call: MiB/s is always of raw data, as zstd itself reports it. */
  bytes: number;
  impls: Impl[];
  /** Throws unless `out` is right for `input`; returns the extra column (the ratio for zstd). */
  verify: (out: Out) => string;
}

interface Row {
  op: Op;
  binding: string;
  data: string;
  extra: string;
  bench?: Benchmark;
  mibs?: number;
  error?: string;
}

function parseArgs(): { quick: boolean; out: string } {
  const a = process.argv.slice(2);
  const i = a.indexOf('--out');
  const out = i >= 0 ? a.splice(i, 2)[1] : 'bench/MICRO.md';
  if (!out || out.startsWith('-') || a.some((x) => x !== '--quick')) {
    process.stderr.write('usage: micro-bench.js [--quick] [--out bench/MICRO.md]\n');
    process.exit(2);
  }
  return { quick: a.includes('--quick'), out };
}

/** 4 MiB of one fixture shape: the generator's files, concatenated in name order. */
function fixtureChunk(shape: Shape): Buffer {
  const dir = mkdtempSync(join(tmpdir(), `seedship-micro-${shape}-`));
  try {
    generateStaging(dir, { sizeBytes: 3 * CHUNK, shape, seed: 1 });
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((f) => join(dir, f));
    return Buffer.concat(files.filter((f) => statSync(f).isFile()).map((f) => readFileSync(f))).subarray(0, CHUNK);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const unavailable: string[] = [];

/** Alternatives load lazily so one that does not install or load on a machine is reported, not fatal. */
function optional<T>(label: string, load: Promise<T>): Promise<T | undefined> {
  return load.catch((err: unknown) => {
    unavailable.push(`${label}: ${String(err instanceof Error ? err.message : err).split('\n')[0]}`);
    return undefined;
  });
}

function fail(why: string): never {
  throw new Error(why);
}

/** Read from the file, not by import: not every package exports its package.json. */
function version(pkg: string): string {
  try {
    const url = new URL(`../../node_modules/${pkg}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return 'not installed';
  }
}

type ZstdFns = { compress: (d: Buffer, level: number) => Uint8Array; decompress: (d: Buffer) => Uint8Array };

async function buildCases(compressible: Buffer, random: Buffer): Promise<Case[]> {
  const alts: [string, ZstdFns][] = [];
  const add = (binding: string, m: ZstdFns | undefined) => m && alts.push([binding, m]);
  // By subpath, so a missing prebuild is reported instead of silently measuring the WASM build.
  add('@cloudpss/zstd napi', await optional('@cloudpss/zstd/napi', import('@cloudpss/zstd/napi')));
  add('@cloudpss/zstd wasm', await optional('@cloudpss/zstd/wasm', import('@cloudpss/zstd/wasm')));
  const boku = import('@bokuweb/zstd-wasm').then((m) => m.init().then(() => m));
  add('@bokuweb/zstd-wasm', await optional('@bokuweb/zstd-wasm', boku));
  const nodeRs = await optional('@node-rs/xxhash', import('@node-rs/xxhash'));
  const hw = await optional('hash-wasm', import('hash-wasm').then(async (m) => ({ xxh64: await m.createXXHash64(), md5: await m.createMD5() })));
  const xx = await xxhash();
  const hex64 = (h: bigint) => h.toString(16).padStart(16, '0');
  const chunkCompressor = (level: number) => {
    const c = new Compressor();
    // The parameters of native/chunk-worker.ts, so these are the frames seedship writes.
    c.setParameters({ compressionLevel: level, contentSizeFlag: true, checksumFlag: false });
    return c;
  };
  const compressCase = (input: Buffer, data: string, level: number): Case => {
    const reused = chunkCompressor(level);
    const impls: Impl[] = [
      { binding: CURRENT['zstd compress'], run: (d) => reused.compress(d) },
      { binding: 'zstd-napi compress()', run: (d) => compress(d, { compressionLevel: level }) },
      ...alts.map(([binding, m]): Impl => ({ binding, run: (d) => m.compress(d, level) })),
    ];
    const verify = (out: Out) => (typeof out !== 'string' && decompress(out).equals(input) ? (out.length / input.length).toFixed(3) : fail('no round trip'));
    return { op: 'zstd compress', data: `${data}, level ${level}`, input, bytes: input.length, impls, verify };
  };
  const reusedD = new Decompressor();
  const decompressCase = (raw: Buffer, data: string, level: number): Case => {
    const impls: Impl[] = [
      { binding: CURRENT['zstd decompress'], run: (d) => decompress(d) },
      { binding: 'zstd-napi Decompressor (reused)', run: (d) => reusedD.decompress(d) },
      ...alts.map(([binding, m]): Impl => ({ binding, run: (d) => m.decompress(d) })),
    ];
    const verify = (out: Out) => (typeof out !== 'string' && Buffer.compare(out, raw) === 0 ? '' : fail('wrong bytes'));
    const input = chunkCompressor(level).compress(raw);
    return { op: 'zstd decompress', data: `${data} (level ${level} frame)`, input, bytes: raw.length, impls, verify };
  };
  // Every hash returns the hex string seedship stores, so the conversion is part of the cost.
  const hashCase = (op: 'XXH64' | 'MD5', input: Buffer, impls: Impl[]): Case => {
    const want = impls[0]?.run(input);
    const data = input.length >= MiB ? `${input.length / MiB} MiB random` : `${input.length / 1024} KiB random`;
    return { op, data, input, bytes: input.length, impls, verify: (out) => (out === want ? '' : fail(`digest ${String(out)}, not ${String(want)}`)) };
  };
  const xxhImpls: Impl[] = [
    { binding: CURRENT.XXH64, run: (d) => hex64(xx.h64Raw(d)) },
    { binding: 'xxhash-wasm create64 (streaming)', run: (d) => hex64(xx.create64().update(d).digest()) },
    ...(nodeRs ? [{ binding: '@node-rs/xxhash xxh64', run: (d: Buffer) => hex64(nodeRs.xxh64(d)) }] : []),
    ...(hw ? [{ binding: 'hash-wasm xxhash64 (reused)', run: (d: Buffer) => hw.xxh64.init().update(d).digest('hex') }] : []),
  ];
  const md5Impls: Impl[] = [
    { binding: CURRENT.MD5, run: (d) => createHash('md5').update(d).digest('hex') },
    ...(hw ? [{ binding: 'hash-wasm md5 (reused)', run: (d: Buffer) => hw.md5.init().update(d).digest('hex') }] : []),
  ];
  const small = random.subarray(0, SMALL);
  return [
    compressCase(compressible, 'compressible 4 MiB', 1),
    compressCase(compressible, 'compressible 4 MiB', 3),
    compressCase(random, 'random 4 MiB', 1),
    decompressCase(compressible, 'compressible 4 MiB', 3),
    decompressCase(random, 'random 4 MiB', 1),
    hashCase('XXH64', random, xxhImpls),
    hashCase('XXH64', small, xxhImpls),
    hashCase('MD5', random, md5Impls),
    hashCase('MD5', small, md5Impls),
  ];
}

function runCase(c: Case, options: Benchmark.Options): Row[] {
  const rows: Row[] = [];
  const runnable: [Row, Impl][] = [];
  for (const impl of c.impls) {
    const row: Row = { op: c.op, binding: impl.binding, data: c.data, extra: '' };
    rows.push(row);
    try {
      row.extra = c.verify(impl.run(c.input));
      runnable.push([row, impl]);
    } catch (err) {
      row.error = `wrong output: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  // Two passes, the second in reverse order, keeping each binding's faster one: whatever runs first
  // pays for the garbage the checks and the previous case left, and other load on the machine comes
  // and goes.
  for (const order of [runnable, [...runnable].reverse()]) {
    const suite = new Benchmark.Suite(`${c.op}, ${c.data}`);
    // The result is dropped: native and WASM calls cannot be optimised away.
    const benches = order.map(([row, impl]) => [row, new Benchmark(impl.binding, () => impl.run(c.input), options)] as const);
    for (const [, b] of benches) suite.push(b);
    suite.on('cycle', (e: Benchmark.Event) => process.stderr.write(`${c.op}, ${c.data}: ${String(e.target)}\n`));
    suite.run({ async: false });
    for (const [row, b] of benches) {
      // benchmark.js records a throwing test in `error` (typed as always set) and goes on.
      const err = b.error as Error | undefined;
      if (err) row.error = err.message;
      else if (!row.bench || b.hz > row.bench.hz) row.bench = b;
    }
  }
  for (const r of rows) if (r.bench && !r.error) r.mibs = (r.bench.hz * c.bytes) / MiB;
  return rows;
}

function table(op: Op, rows: Row[]): string[] {
  const ratio = op === 'zstd compress';
  const out = [`| binding | data | MiB/s | ± rme % | samples |${ratio ? ' ratio |' : ''}`, `|---|---|--:|--:|--:|${ratio ? '--:|' : ''}`];
  for (const r of rows) {
    const name = r.binding === CURRENT[op] ? `**${r.binding}**` : r.binding;
    const cells = r.mibs !== undefined && r.bench
      ? [r.mibs.toFixed(0), r.bench.stats.rme.toFixed(1), String(r.bench.stats.sample.length)]
      : [`failed: ${r.error ?? '?'}`, '', ''];
    out.push(`| ${name} | ${r.data} | ${cells.join(' | ')} |${ratio ? ` ${r.extra} |` : ''}`);
  }
  return out;
}

/** The binding with the best geometric mean over the operation's cases, and how the current one compares. */
function choice(op: Op, rows: Row[]): string {
  const cases = [...new Set(rows.map((r) => r.data))];
  const at = (b: string, d: string) => rows.find((r) => r.binding === b && r.data === d && r.mibs !== undefined);
  const ranked = [...new Set(rows.map((r) => r.binding))]
    .filter((b) => cases.every((d) => at(b, d)))
    .map((b) => ({ b, g: Math.exp(cases.reduce((s, d) => s + Math.log(at(b, d)?.mibs ?? 1), 0) / cases.length) }))
    .sort((x, y) => y.g - x.g);
  const best = ranked[0];
  if (!best) return '**Choice:** none: no binding ran every case.';
  const cur = ranked.find((r) => r.b === CURRENT[op]);
  let slower = 0;
  const perCase = cases.map((d) => {
    const f = rows.filter((r) => r.data === d && r.mibs !== undefined).sort((x, y) => (y.mibs ?? 0) - (x.mibs ?? 0))[0];
    const c = at(CURRENT[op], d);
    if (f?.bench && c?.bench && f !== c && c.bench.compare(f.bench) < 0) slower++;
    return `${d}: ${f?.binding ?? '–'}`;
  });
  const pct = cur ? `${((100 * cur.g) / best.g).toFixed(0)} % of its throughput` : '';
  const verdict = !cur ? 'did not run every case' : cur === best ? 'is it' : slower ? `is not: ${pct}` : `is not, but is within noise of it (${pct})`;
  return (
    `**Choice: \`${best.b}\`** (best geometric mean over ${cases.length} cases, ${best.g.toFixed(0)} MiB/s); seedship's current \`${CURRENT[op]}\` ${verdict},` +
    ` significantly slower than the fastest in ${slower} of ${cases.length} cases. Fastest per case: ${perCase.join('; ')}.`
  );
}

async function main(): Promise<void> {
  const args = parseArgs();
  const options: Benchmark.Options = args.quick ? { maxTime: 0.2, minSamples: 5 } : { maxTime: 1.25, minSamples: 10 };
  const load = [loadavg()[0] ?? 0];
  const t0 = performance.now();
  const cases = await buildCases(fixtureChunk('compressible'), fixtureChunk('random'));
  const rows = cases.flatMap((c) => runCase(c, options));
  load.push(loadavg()[0] ?? 0);
  const cpu = cpus();
  const pkgs = ['zstd-napi', 'xxhash-wasm', '@cloudpss/zstd', '@bokuweb/zstd-wasm', '@node-rs/xxhash', 'hash-wasm', 'benchmark'];
  const md = [
    '# Binding microbenchmarks',
    '',
    `Run ${new Date().toISOString().slice(0, 16)} UTC with \`node ${relative(process.cwd(), process.argv[1] ?? '')} ${process.argv.slice(2).join(' ')}\`` +
      ` (${((performance.now() - t0) / 1000).toFixed(0)} s; benchmark.js, maxTime ${options.maxTime} s, at least ${options.minSamples} samples per test;` +
      ' two passes per case, the second in reverse order, each row the faster of its two).',
    '',
    `Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? '?'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM; load average ${load.map((l) => l.toFixed(2)).join(' at start, ')} at end.`,
    `Node ${process.version}; ${pkgs.map((p) => `${p} ${version(p)}`).join(', ')}.`,
    '',
    'Single thread, the same buffer on every call. MiB/s counts uncompressed bytes (for decompression too);',
    'ratio is compressed / raw size; ± rme is the relative margin of error (95 %); "significantly" is',
    "benchmark.js's Mann–Whitney U test. Bold: what seedship uses today. Data: 4 MiB of the `compressible`",
    'and `random` fixture shapes (seed 1); 64 KiB is the first 64 KiB of the random one.',
    "zstd-napi's compress()/decompress() reuse one module-level context, so they do the same work as the",
    'reused Compressor/Decompressor: a gap between those rows is noise.',
    ...(unavailable.length ? ['', `Not measured (did not load): ${unavailable.join('; ')}.`] : []),
  ];
  for (const op of Object.keys(CURRENT) as Op[]) {
    const mine = rows.filter((r) => r.op === op);
    md.push('', `## ${op}`, '', ...table(op, mine), '', choice(op, mine));
  }
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${md.join('\n')}\n`);
  process.stderr.write(`wrote ${args.out}\n`);
}

await main();
