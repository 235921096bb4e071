#!/usr/bin/env node
/**
 * Benchmarks `seedship prepare` against the tools a user would pick instead, on the same data and
 * the same target disk in one run, and writes bench/RESULTS.md: command lines, medians, peak
 * memory, ratios against each baseline of the same run, and the targets met or missed.
 * Never part of the tests.
 *
 *   npm run bench            # 512 MiB sets + 20,000 small files, 3 runs each (~7 min on 2 cores)
 *   npm run bench:full       # 2 GiB sets + 100,000 small files, 5 runs, memory at 1 vs 8 GiB (~35 min)
 *   node dist/bench/prepare-bench.js [--size 512M] [--small 20000] [--runs 3] [--memory 1G,3G]
 *        [--only mixed,random,sparse-vhd,small-files] [--target DIR] [--out bench/RESULTS.md]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { generateStaging, type Shape } from '../fixtures/generate.js';
import { openTarget, type BenchTarget } from './bench-target.js';
import { killAndResume, median, timed, type Sample } from './bench-run.js';
import { writeReport, type MemoryRow, type ResumeRow, type Row } from './bench-report.js';
import { SeedshipError } from '../core/errors/errors.js';

const MiB = 1024 * 1024;
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
/** Mean file size of the small-files shape, to turn a file count into a size for the generator. */
const SMALL_FILE_MEAN_BYTES = 7700;

export interface Args {
  readonly size: number;
  readonly small: number;
  readonly runs: number;
  readonly memory: number[];
  readonly only: Shape[];
  readonly target: string | undefined;
  readonly out: string;
}

function parseArgs(argv: string[]): Args {
  const get = (k: string, d: string) => {
    const i = argv.indexOf(k);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : d;
  };
  const full = argv.includes('--full');
  const size = (s: string) => {
    const m = /^(\d+)([MG])$/i.exec(s);
    if (!m) throw new SeedshipError('E_USAGE', `size ${s}: write e.g. 512M or 4G`);
    return Number(m[1]) * (m[2]!.toUpperCase() === 'G' ? 1024 : 1) * MiB;
  };
  return {
    size: size(get('--size', full ? '2G' : '512M')),
    small: Number(get('--small', full ? '100000' : '20000')),
    runs: Number(get('--runs', full ? '5' : '3')),
    memory: get('--memory', full ? '1G,8G' : '1G,3G')
      .split(',')
      .map(size),
    only: get('--only', 'mixed,random,sparse-vhd,small-files').split(',') as Shape[],
    target: argv.includes('--target') ? get('--target', '') : undefined,
    out: get('--out', 'bench/RESULTS.md'),
  };
}

/** Install what the baselines need, saying so when it cannot. */
function ensureTools(): { zstd: boolean; restic: boolean } {
  const have = (c: string) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;
  const missing = ['zstd', 'restic'].filter((c) => !have(c));
  if (!have('/usr/bin/time')) missing.push('time');
  if (missing.length && process.getuid?.() === 0) {
    const r = spawnSync(
      'sh',
      ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing.join(' ')}`],
      { stdio: 'ignore' },
    );
    if (r.status !== 0)
      process.stderr.write(`bench: could not apt-get install ${missing.join(' ')}; those baselines are skipped\n`);
  } else if (missing.length)
    process.stderr.write(`bench: ${missing.join(', ')} not installed and not root; those baselines are skipped\n`);
  if (!have('/usr/bin/time'))
    throw new SeedshipError(
      'E_USAGE',
      'bench needs GNU time (/usr/bin/time, Debian package "time") to measure peak memory',
    );
  return { zstd: have('zstd'), restic: have('restic') };
}

interface Cmd {
  readonly name: string;
  readonly cmd: string;
  readonly kind: Row['kind'];
  readonly level?: number;
  readonly threads?: number;
}

function commandsFor(
  shape: Shape,
  dir: string,
  bytes: number,
  t: string,
  session: string,
  tools: { zstd: boolean; restic: boolean },
): Cmd[] {
  const prep = (extra: string) =>
    `rm -rf ${session} && node ${CLI} prepare --staging ${dir} --job bench --session ${session} --drive ${t} ` +
    `--allow-staging-volume --yes ${extra} > /dev/null`;
  const blocks = Math.max(1, Math.ceil(bytes / (4 * MiB)));
  const tz = (l: number) =>
    `tar -cf - -C ${dir} . | zstd -q -T0 -${l} > ${t}/x.tar.zst && md5sum ${t}/x.tar.zst > /dev/null && sync -f ${t}`;
  const cmds: (Cmd | false)[] = [
    {
      name: 'dd, same bytes, conv=fdatasync',
      kind: 'dd',
      cmd: `dd if=/dev/zero of=${t}/dd.bin bs=4M count=${blocks} conv=fdatasync status=none`,
    },
    {
      name: 'dd, same bytes, oflag=direct',
      kind: 'info',
      cmd: `dd if=/dev/zero of=${t}/dd.bin bs=4M count=${blocks} oflag=direct conv=fdatasync status=none`,
    },
    { name: 'cp -r + sync', kind: 'cp', cmd: `cp -r ${dir} ${t}/cp && sync -f ${t}` },
    tools.zstd && { name: 'tar | zstd -T0 -1 + md5sum', kind: 'tar-zstd', level: 1, cmd: tz(1) },
    tools.zstd && { name: 'tar | zstd -T0 -3 + md5sum', kind: 'tar-zstd', level: 3, cmd: tz(3) },
    tools.restic && {
      name: 'restic backup (compression auto)',
      kind: 'restic',
      cmd:
        `export RESTIC_PASSWORD=bench && restic init -q --repo ${t}/restic && restic backup -q --repo ` +
        `${t}/restic --compression auto ${dir} && sync -f ${t}`,
    },
    { name: 'seedship --codec none', kind: 'seedship', level: 0, cmd: prep('--no-verify --codec none') },
    shape === 'sparse-vhd' && {
      name: 'seedship --codec none --blob-type page',
      kind: 'seedship',
      level: 0,
      cmd: prep('--no-verify --codec none --blob-type page'),
    },
    {
      name: 'seedship zstd -1, 1 thread',
      kind: 'seedship',
      level: 1,
      threads: 1,
      cmd: prep('--no-verify --level 1 --threads 1'),
    },
    { name: 'seedship zstd -1', kind: 'seedship', level: 1, cmd: prep('--no-verify --level 1') },
    {
      name: 'seedship zstd -3, 1 thread',
      kind: 'seedship',
      level: 3,
      threads: 1,
      cmd: prep('--no-verify --level 3 --threads 1'),
    },
    { name: 'seedship zstd -3 (default level)', kind: 'seedship', level: 3, cmd: prep('--no-verify --level 3') },
    shape === 'mixed' && {
      name: 'seedship zstd -3 + read-back of the drive (all defaults)',
      kind: 'seedship-verify',
      level: 3,
      cmd: prep(''),
    },
  ];
  return cmds.filter((c): c is Cmd => c !== false);
}

function runSet(
  args: Args,
  target: BenchTarget,
  shape: Shape,
  work: string,
  tools: { zstd: boolean; restic: boolean },
): Row[] {
  const dir = `${work}/${shape}`;
  const sizeBytes = shape === 'small-files' ? args.small * SMALL_FILE_MEAN_BYTES : args.size;
  const g = generateStaging(dir, { sizeBytes, shape, seed: 5 });
  // The generated bytes are still being written back to the staging disk: let that finish, or
  // it lands in the first timed runs.
  spawnSync('sync');
  const set =
    shape === 'small-files'
      ? `${g.files} small files (${(g.bytes / MiB).toFixed(0)} MiB)`
      : `${shape} ${(g.bytes / MiB).toFixed(0)} MiB (${g.files} files)`;
  process.stderr.write(`bench: ${set}\n`);
  const session = `${work}/session`;
  const rows: Row[] = [];
  for (const c of commandsFor(shape, dir, g.bytes, target.dir, session, tools)) {
    const samples: Sample[] = [];
    for (let i = 0; i < args.runs; i++) {
      target.clean();
      rmSync(session, { recursive: true, force: true });
      samples.push(timed(c.cmd));
    }
    const secs = median(samples.map((s) => s.secs));
    const rssMiB = median(samples.map((s) => s.rssKiB)) / 1024;
    rows.push({
      set,
      shape,
      name: c.name,
      cmd: c.cmd,
      kind: c.kind,
      level: c.level,
      threads: c.threads,
      secs,
      all: samples.map((s) => s.secs),
      rssMiB,
      bytes: g.bytes,
      files: g.files,
    });
    process.stderr.write(
      `bench:   ${c.name}: ${secs.toFixed(2)} s (${samples.map((s) => s.secs.toFixed(2)).join(', ')}), ` +
        `${(g.bytes / MiB / secs).toFixed(0)} MiB/s, ${rssMiB.toFixed(0)} MiB peak\n`,
    );
  }
  target.clean();
  return rows;
}

/**
 * Peak memory of the default prepare at each staging size (invariant 5, docs/invariants.md: flat whatever the size);
 * on the largest, also kill -9 half-way and resume, where the fixed cost of a restart weighs less.
 */
async function runMemory(
  args: Args,
  target: BenchTarget,
  work: string,
): Promise<{ memory: MemoryRow[]; resume: ResumeRow | undefined }> {
  const out: MemoryRow[] = [];
  let resume: ResumeRow | undefined;
  const largest = Math.max(...args.memory);
  for (const size of args.memory) {
    const dir = `${work}/memory`;
    rmSync(dir, { recursive: true, force: true });
    const g = generateStaging(dir, { sizeBytes: size, shape: 'mixed', seed: 9 });
    spawnSync('sync');
    target.clean();
    const session = `${work}/session`;
    rmSync(session, { recursive: true, force: true });
    const prepArgs = [
      'prepare',
      '--staging',
      dir,
      '--job',
      'bench',
      '--session',
      session,
      '--drive',
      target.dir,
      '--allow-staging-volume',
      '--yes',
      '--no-verify',
    ];
    const cmd = `node ${CLI} ${prepArgs.join(' ')} > /dev/null`;
    const s = timed(cmd);
    out.push({ bytes: g.bytes, files: g.files, secs: s.secs, rssMiB: s.rssKiB / 1024, cmd });
    process.stderr.write(
      `bench: memory at ${(g.bytes / MiB).toFixed(0)} MiB (${g.files} files): ${(s.rssKiB / 1024).toFixed(0)} ` +
        `MiB peak, ${s.secs.toFixed(1)} s\n`,
    );
    if (size === largest && args.memory.length > 1) {
      const uninterrupted = [s.secs];
      for (let i = 1; i < args.runs; i++) {
        target.clean();
        rmSync(session, { recursive: true, force: true });
        uninterrupted.push(timed(cmd).secs);
      }
      const set = `mixed ${(g.bytes / MiB).toFixed(0)} MiB (${g.files} files)`;
      resume = {
        set,
        uninterruptedSecs: median(uninterrupted),
        uninterruptedRuns: uninterrupted,
        runs: await killResumeRuns(args, target, session, [CLI, ...prepArgs]),
      };
    }
    rmSync(dir, { recursive: true, force: true });
  }
  target.clean();
  return { memory: out, resume };
}

/** Kill -9 half-way through the default prepare of the mixed set, resume, compare with uninterrupted runs. */
async function runResume(args: Args, target: BenchTarget, work: string, rows: Row[]): Promise<ResumeRow | undefined> {
  const base = rows.find((r) => r.shape === 'mixed' && r.name.startsWith('seedship zstd -3 (default'));
  if (!base) return undefined;
  const session = `${work}/session`;
  const runs = await killResumeRuns(args, target, session, [
    CLI,
    'prepare',
    '--staging',
    `${work}/mixed`,
    '--job',
    'bench',
    '--session',
    session,
    '--drive',
    target.dir,
    '--allow-staging-volume',
    '--yes',
    '--no-verify',
    '--level',
    '3',
  ]);
  target.clean();
  return { runs, uninterruptedSecs: base.secs, uninterruptedRuns: base.all, set: base.set };
}

async function killResumeRuns(
  args: Args,
  target: BenchTarget,
  session: string,
  argv: string[],
): Promise<ResumeRow['runs']> {
  const runs: ResumeRow['runs'] = [];
  for (let i = 0; i < args.runs; i++) {
    target.clean();
    rmSync(session, { recursive: true, force: true });
    const r = await killAndResume('node', argv, 0.5);
    runs.push(r);
    process.stderr.write(
      `bench: kill -9 at ${(r.killedAt * 100).toFixed(0)} %: ${r.killedSecs.toFixed(2)} s + resume ` +
        `${r.resumeSecs.toFixed(2)} s\n`,
    );
  }
  return runs;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const tools = ensureTools();
  const work = `${tmpdir()}/seedship-bench-data`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const largest = Math.max(args.size, ...args.memory);
  const target = openTarget({
    imageDir: '/var/tmp/seedship-bench',
    sizeGiB: Math.max(4, Math.ceil((largest * 2) / 1024 ** 3) + 1),
    fallbackDir: args.target ?? `${tmpdir()}/seedship-bench-target`,
    useLoop: args.target === undefined,
  });
  process.stderr.write(`bench: target ${target.describe}\n`);
  try {
    const rows: Row[] = [];
    for (const shape of args.only) rows.push(...runSet(args, target, shape, work, tools));
    const resume = await runResume(args, target, work, rows);
    const mem = args.memory.length > 0 ? await runMemory(args, target, work) : { memory: [], resume: undefined };
    writeReport(args.out, {
      argv: process.argv.slice(2),
      runs: args.runs,
      target: target.describe,
      rows,
      memory: mem.memory,
      resume: [resume, mem.resume].filter((r): r is ResumeRow => r !== undefined),
      restic: tools.restic,
    });
    process.stderr.write(`bench: wrote ${args.out}\n`);
  } finally {
    target.close();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
