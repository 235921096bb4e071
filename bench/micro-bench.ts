#!/usr/bin/env node
/**
 * Microbenchmarks between the bindings seedship could use for zstd, XXH64 and MD5: single thread,
 * one 4 MiB chunk per call (and 64 KiB for hashes, the small-file case), and MD5 of 8 buffers per
 * call (a worker task of several chunks, hashed side by side by the addon's md5Many). Writes
 * bench/MICRO.md with a table and a choice per operation. Never part of the tests.
 *
 *   npm run bench:micro                  # about 5 minutes
 *   node dist/bench/micro-bench.js [--quick] [--out bench/MICRO.md]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';
import xxhash from 'xxhash-wasm';
import { Compressor, Decompressor, compress, decompress } from 'zstd-napi';
import { generateStaging, type Shape } from '../fixtures/generate.js';
import { DEFAULT_ADDON_URL } from '../native/os-extras.js';
import { SeedshipError } from '../core/errors/errors.js';

const MiB = 1024 * 1024;
const CHUNK = 4 * MiB;
const SMALL = 64 * 1024;
/** Buffers per md5Many call: the lanes of an AVX2 kernel, and a batch of large chunks. */
const MANY = 8;

type Op = 'zstd compress' | 'zstd decompress' | 'XXH64' | 'MD5' | 'MD5, 8 buffers per call';
type Out = Uint8Array | string;

/**
 * What seedship uses today (native/chunk-worker.ts, native/md5-many.ts, native/xxh64.ts: the addon's
 * hashes, when it is built).
 */
const CURRENT: Record<Op, string> = {
  'zstd compress': 'zstd-napi Compressor (reused)',
  'zstd decompress': 'zstd-napi decompress()',
  XXH64: 'addon xxh64Hex',
  MD5: 'node:crypto md5',
  'MD5, 8 buffers per call': 'addon md5Many (default kernel)',
};

/** The addon's MD5 face (native/md5-many.ts), loaded directly to pick a kernel per row. */
interface Md5Addon {
  md5Many(buffers: readonly Uint8Array[], isa?: string): Uint8Array[];
  xxh64Hex(data: Uint8Array): string;
  readonly md5Isa: string;
  readonly md5Isas: readonly string[];
}

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
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .sort()
      .map((f) => join(dir, f));
    return Buffer.concat(files.filter((f) => statSync(f).isFile()).map((f) => readFileSync(f))).subarray(0, CHUNK);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What follows this line in the output file is kept when the file is written again. */
const KEEP_BELOW = '<!-- Hand-written below this line; micro-bench.js keeps it when it rewrites the file. -->';

/** The hand-written tail of an earlier output file, marker included, or nothing. */
function handWritten(out: string): string[] {
  if (!existsSync(out)) return [];
  const text = readFileSync(out, 'utf8');
  const at = text.indexOf(KEEP_BELOW);
  return at < 0 ? [] : ['', text.slice(at).trimEnd()];
}

/**
 * OpenSSL's own MD5 on this machine, the usual yardstick: `openssl speed -evp md5`, whose rates are
 * bytes per second of user CPU time, in its 16384-byte column. Undefined without openssl.
 */
function opensslMd5(): string | undefined {
  const args = ['speed', '-seconds', '2', '-evp', 'md5'];
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  const cols = (r.stdout ?? '')
    .split('\n')
    .find((l) => /^md5\s/.test(l))
    ?.trim()
    .split(/\s+/);
  const k = cols?.[6]?.endsWith('k') ? Number(cols[6].slice(0, -1)) : NaN;
  if (r.status !== 0 || !Number.isFinite(k)) return undefined;
  const v = spawnSync('openssl', ['version'], { encoding: 'utf8' }).stdout.trim();
  return (
    `\`openssl ${args.join(' ')}\` (${v}), 16384-byte column: ${((k * 1000) / MiB).toFixed(0)} MiB/s of one ` +
    `core's user time.`
  );
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
  throw new SeedshipError('E_INTEGRITY', why);
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
  const hw = await optional(
    'hash-wasm',
    import('hash-wasm').then(async (m) => ({ xxh64: await m.createXXHash64(), md5: await m.createMD5() })),
  );
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
    const verify = (out: Out) =>
      typeof out !== 'string' && decompress(out).equals(input)
        ? (out.length / input.length).toFixed(3)
        : fail('no round trip');
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
    return {
      op,
      data,
      input,
      bytes: input.length,
      impls,
      verify: (out) => (out === want ? '' : fail(`digest ${String(out)}, not ${String(want)}`)),
    };
  };
  const addon = await optional(
    'seedship addon',
    Promise.resolve().then(() => {
      const b = createRequire(import.meta.url)(fileURLToPath(DEFAULT_ADDON_URL)) as Partial<Md5Addon>;
      if (typeof b.md5Many !== 'function' || typeof b.xxh64Hex !== 'function')
        throw new SeedshipError('E_USAGE', 'no md5Many/xxh64Hex: run `npm run build:native`');
      return b as Md5Addon;
    }),
  );
  const xxhImpls: Impl[] = [
    ...(addon ? [{ binding: CURRENT.XXH64, run: (d: Buffer) => addon.xxh64Hex(d) }] : []),
    { binding: 'xxhash-wasm h64Raw', run: (d) => hex64(xx.h64Raw(d)) },
    { binding: 'xxhash-wasm create64 (streaming)', run: (d) => hex64(xx.create64().update(d).digest()) },
    ...(nodeRs ? [{ binding: '@node-rs/xxhash xxh64', run: (d: Buffer) => hex64(nodeRs.xxh64(d)) }] : []),
    ...(hw
      ? [{ binding: 'hash-wasm xxhash64 (reused)', run: (d: Buffer) => hw.xxh64.init().update(d).digest('hex') }]
      : []),
  ];
  const hexOf = (d: Uint8Array) => Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('hex');
  const md5Impls: Impl[] = [
    { binding: CURRENT.MD5, run: (d) => createHash('md5').update(d).digest('hex') },
    ...(hw ? [{ binding: 'hash-wasm md5 (reused)', run: (d: Buffer) => hw.md5.init().update(d).digest('hex') }] : []),
    // One buffer fills one lane of a SIMD kernel: only the scalar one is worth a row here.
    ...(addon
      ? [{ binding: 'addon md5Many scalar, 1 buffer', run: (d: Buffer) => hexOf(addon.md5Many([d], 'scalar')[0]!) }]
      : []),
  ];
  // 8 buffers per call: the input is cut into 8 equal views; the output is their digests joined.
  const split = (d: Buffer) =>
    Array.from({ length: MANY }, (_, i) => d.subarray((i * d.length) / MANY, ((i + 1) * d.length) / MANY));
  const manyImpls: Impl[] = [
    ...(addon
      ? [{ binding: CURRENT['MD5, 8 buffers per call'], run: (d: Buffer) => addon.md5Many(split(d)).map(hexOf).join() }]
      : []),
    {
      binding: 'node:crypto md5, one after another',
      run: (d) =>
        split(d)
          .map((x) => createHash('md5').update(x).digest('hex'))
          .join(),
    },
    ...(addon?.md5Isas ?? []).map(
      (isa): Impl => ({ binding: `addon md5Many ${isa}`, run: (d) => addon!.md5Many(split(d), isa).map(hexOf).join() }),
    ),
  ];
  if (addon)
    process.stderr.write(`md5Many kernels on this CPU: ${addon.md5Isas.join(', ')}; default ${addon.md5Isa}\n`);
  const manyCase = (bytesEach: number): Case => {
    const input = Buffer.concat(Array.from({ length: MANY }, () => random.subarray(0, bytesEach)));
    const c = hashCase('MD5', input, manyImpls);
    const each = bytesEach >= MiB ? `${bytesEach / MiB} MiB` : `${bytesEach / 1024} KiB`;
    return { ...c, op: 'MD5, 8 buffers per call', data: `${MANY} × ${each} random` };
  };
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
    manyCase(CHUNK),
    manyCase(SMALL),
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
    const benches = order.map(
      ([row, impl]) => [row, new Benchmark(impl.binding, () => impl.run(c.input), options)] as const,
    );
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

/**
 * MiB hashed per second of this process's CPU time (user + system, process.cpuUsage), median of
 * `rounds` rounds of at least `minCpuS` each: unlike benchmark.js's wall clock, it does not count
 * time the CPU spent on other processes, so it holds on a loaded machine.
 */
function cpuRate(run: () => unknown, bytes: number, rounds: number, minCpuS: number): number {
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.cpuUsage();
    let n = 0;
    let used = 0;
    do {
      run();
      n++;
      const d = process.cpuUsage(t0);
      used = (d.user + d.system) / 1e6;
    } while (used < minCpuS);
    rates.push((n * bytes) / MiB / used);
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

/** The hash cases on 4 MiB buffers, each binding's rate per CPU second. */
function cpuTable(cases: Case[], quick: boolean): string[] {
  const out = ['| operation | binding | data | MiB per CPU second |', '|---|---|---|--:|'];
  for (const c of cases.filter(
    (x) => (x.op === 'MD5' || x.op === 'MD5, 8 buffers per call' || x.op === 'XXH64') && x.data.includes('4 MiB'),
  )) {
    for (const impl of c.impls) {
      const rate = cpuRate(() => impl.run(c.input), c.bytes, quick ? 3 : 5, quick ? 0.2 : 0.5);
      process.stderr.write(`cpu time: ${c.op}, ${c.data}: ${impl.binding}: ${rate.toFixed(0)} MiB/s\n`);
      out.push(
        `| ${c.op} | ${impl.binding === CURRENT[c.op] ? `**${impl.binding}**` : impl.binding} | ${c.data} | ` +
          `${rate.toFixed(0)} |`,
      );
    }
  }
  return out;
}

function table(op: Op, rows: Row[]): string[] {
  const ratio = op === 'zstd compress';
  const out = [
    `| binding | data | MiB/s | ± rme % | samples |${ratio ? ' ratio |' : ''}`,
    `|---|---|--:|--:|--:|${ratio ? '--:|' : ''}`,
  ];
  for (const r of rows) {
    const name = r.binding === CURRENT[op] ? `**${r.binding}**` : r.binding;
    const cells =
      r.mibs !== undefined && r.bench
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
  const verdict = !cur
    ? 'did not run every case'
    : cur === best
      ? 'is it'
      : slower
        ? `is not: ${pct}`
        : `is not, but is within noise of it (${pct})`;
  return (
    `**Choice: \`${best.b}\`** (best geometric mean over ${cases.length} cases, ${best.g.toFixed(0)} MiB/s); ` +
    `seedship's current \`${CURRENT[op]}\` ${verdict},` +
    ` significantly slower than the fastest in ${slower} of ${cases.length} cases. Fastest per case: ` +
    `${perCase.join('; ')}.`
  );
}

async function main(): Promise<void> {
  const args = parseArgs();
  const options: Benchmark.Options = args.quick ? { maxTime: 0.2, minSamples: 5 } : { maxTime: 1.25, minSamples: 10 };
  const load = [loadavg()[0] ?? 0];
  const t0 = performance.now();
  const cases = await buildCases(fixtureChunk('compressible'), fixtureChunk('random'));
  const rows = cases.flatMap((c) => runCase(c, options));
  const openssl = opensslMd5();
  const perCpu = cpuTable(cases, args.quick);
  load.push(loadavg()[0] ?? 0);
  const cpu = cpus();
  const pkgs = [
    'zstd-napi',
    'xxhash-wasm',
    '@cloudpss/zstd',
    '@bokuweb/zstd-wasm',
    '@node-rs/xxhash',
    'hash-wasm',
    'benchmark',
  ];
  const md = [
    '# Binding microbenchmarks',
    '',
    `Run ${new Date().toISOString().slice(0, 16)} UTC with \`node ` +
      `${relative(process.cwd(), process.argv[1] ?? '')} ${process.argv.slice(2).join(' ')}\`` +
      ` (${((performance.now() - t0) / 1000).toFixed(0)} s; benchmark.js, maxTime ${options.maxTime} s, at ` +
      `least ${options.minSamples} samples per test;` +
      ' two passes per case, the second in reverse order, each row the faster of its two).',
    '',
    `Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? '?'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM; ` +
      `load average ${load.map((l) => l.toFixed(2)).join(' at start, ')} at end.`,
    `Node ${process.version}; ${pkgs.map((p) => `${p} ${version(p)}`).join(', ')}.`,
    '',
    'Single thread, the same buffer on every call. MiB/s counts uncompressed bytes (for decompression too);',
    'ratio is compressed / raw size; ± rme is the relative margin of error (95 %); "significantly" is',
    "benchmark.js's Mann–Whitney U test. Bold: what seedship uses today. Data: 4 MiB of the `compressible`",
    'and `random` fixture shapes (seed 1); 64 KiB is the first 64 KiB of the random one.',
    "zstd-napi's compress()/decompress() reuse one module-level context, so they do the same work as the",
    'reused Compressor/Decompressor: a gap between those rows is noise.',
    `MD5, ${MANY} buffers per call: MiB/s counts all ${MANY} buffers; "addon md5Many" is native/addon/md5_many.cc, its`,
    'kernel named (scalar, avx2: 8 lanes, avx512: 16 lanes) or the one it picks for this CPU.',
    ...(unavailable.length ? ['', `Not measured (did not load): ${unavailable.join('; ')}.`] : []),
  ];
  for (const op of Object.keys(CURRENT) as Op[]) {
    const mine = rows.filter((r) => r.op === op);
    md.push('', `## ${op}`, '', ...table(op, mine), '', choice(op, mine));
    if (op === 'MD5' && openssl) md.push('', `For comparison, ${openssl}`);
  }
  md.push(
    '',
    '## Hashes per CPU second',
    '',
    "The same hash cases on 4 MiB buffers, timed by this process's CPU time instead of the wall clock",
    '(median of 5 rounds of at least 0.5 s; single thread), so other load on the machine does not',
    'lower them: the MiB/s one core gives. `openssl speed` above is timed the same way.',
    '',
    ...perCpu,
  );
  md.push(...handWritten(args.out));
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${md.join('\n')}\n`);
  process.stderr.write(`wrote ${args.out}\n`);
}

await main();
