#!/usr/bin/env node
/**
 * Benchmarks seedship prepare against the tools a user would pick instead, on the same data and
 * the same target disk in one run, and writes bench/RESULTS.md (command lines, medians, peak
 * memory, ratios against each baseline of the same run). Never part of the tests.
 *
 *   npm run bench            # quick: 1 GiB mixed + 20,000 small files, 3 runs each
 *   npm run bench:full       # 4 GiB mixed + 100,000 small files, 5 runs each
 *   node dist/bench/prepare-bench.js [--size 1G] [--small 20000] [--runs 3] [--target DIR] [--out bench/RESULTS.md]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { generateStaging } from '../fixtures/generate.js';

const MiB = 1024 * 1024;
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

interface Args {
  size: number;
  small: number;
  runs: number;
  target: string;
  out: string;
}

function parseArgs(): Args {
  const a = process.argv.slice(2);
  const get = (k: string, d: string) => {
    const i = a.indexOf(k);
    return i >= 0 ? a[i + 1]! : d;
  };
  const full = a.includes('--full');
  const size = get('--size', full ? '4G' : '1G');
  const m = /^(\d+)([MG])$/i.exec(size);
  if (!m) throw new Error(`--size ${size}: write e.g. 512M or 4G`);
  return {
    size: Number(m[1]) * (m[2]!.toUpperCase() === 'G' ? 1024 : 1) * MiB,
    small: Number(get('--small', full ? '100000' : '20000')),
    runs: Number(get('--runs', full ? '5' : '3')),
    target: get('--target', `${tmpdir()}/seedship-bench-target`),
    out: get('--out', 'bench/RESULTS.md'),
  };
}

/** Install what the baselines need, saying so when it cannot. */
function ensureTools(): Record<string, boolean> {
  const have = (c: string) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;
  const missing = ['zstd', 'restic'].filter((c) => !have(c));
  if (missing.length && process.getuid?.() === 0) {
    const r = spawnSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing.join(' ')}`], { stdio: 'ignore' });
    if (r.status !== 0) process.stderr.write(`bench: could not apt-get install ${missing.join(' ')}; those baselines are skipped\n`);
  } else if (missing.length) process.stderr.write(`bench: ${missing.join(', ')} not installed and not root; those baselines are skipped\n`);
  return { zstd: have('zstd'), restic: have('restic'), time: have('/usr/bin/time') || spawnSync('/usr/bin/time', ['true']).status === 0 };
}

interface Sample {
  secs: number;
  rssKiB: number;
}

/** Run a shell command under /usr/bin/time -v; returns wall seconds and peak RSS. */
function timed(cmd: string, env: NodeJS.ProcessEnv = {}): Sample {
  const r = spawnSync('/usr/bin/time', ['-v', 'sh', '-c', cmd], { env: { ...process.env, CI: 'true', ...env }, encoding: 'utf8', maxBuffer: 64 * MiB });
  if (r.status !== 0 && r.status !== 3) throw new Error(`failed (${r.status}): ${cmd}\n${r.stderr.slice(-2000)}`);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const secs = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
  return { secs, rssKiB: rss ? Number(rss[1]) : NaN };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Row {
  data: string;
  name: string;
  cmd: string;
  secs: number;
  rssMiB: number;
  mibps: number;
  filesPerSec: number;
}

function main(): void {
  const args = parseArgs();
  const tools = ensureTools();
  const work = `${tmpdir()}/seedship-bench-data`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(args.target, { recursive: true });
  const sets = [
    { name: `mixed ${args.size / MiB} MiB`, dir: `${work}/mixed`, gen: () => generateStaging(`${work}/mixed`, { sizeBytes: args.size, shape: 'mixed', seed: 5 }) },
    { name: `${args.small} small files`, dir: `${work}/small`, gen: () => generateStaging(`${work}/small`, { sizeBytes: args.small * 5 * 1024, shape: 'small-files', seed: 6 }) },
  ];
  const rows: Row[] = [];
  const t = args.target;
  const clean = () => spawnSync('sh', ['-c', `rm -rf ${t}/* ${t}/.seedship 2>/dev/null; sync`]);
  for (const set of sets) {
    const g = set.gen();
    process.stderr.write(`bench: ${set.name}: ${g.files} files, ${(g.bytes / MiB).toFixed(0)} MiB\n`);
    const sess = `${t}/../seedship-bench-session`;
    const prep = (extra: string) => `rm -rf ${sess} && node ${CLI} prepare --staging ${set.dir} --job bench --session ${sess} --drive ${t} --allow-staging-volume --yes --no-verify ${extra} > /dev/null`;
    const cmds: { name: string; cmd: string; skip?: boolean }[] = [
      { name: 'dd (same bytes, conv=fdatasync)', cmd: `cat $(find ${set.dir} -type f | head -1000) /dev/null > /dev/null; dd if=/dev/zero of=${t}/dd.bin bs=4M count=${Math.ceil(g.bytes / (4 * MiB))} conv=fdatasync status=none` },
      { name: 'cp -r + sync', cmd: `cp -r ${set.dir} ${t}/cp && sync -f ${t}` },
      { name: 'tar | zstd -T0 -3 + md5sum', cmd: `tar -cf - -C ${set.dir} . | zstd -q -T0 -3 > ${t}/x.tar.zst && md5sum ${t}/x.tar.zst > /dev/null && sync -f ${t}`, skip: !tools.zstd },
      { name: 'tar | zstd -T0 -1 + md5sum', cmd: `tar -cf - -C ${set.dir} . | zstd -q -T0 -1 > ${t}/x.tar.zst && md5sum ${t}/x.tar.zst > /dev/null && sync -f ${t}`, skip: !tools.zstd },
      { name: 'restic backup (compression auto)', cmd: `RESTIC_PASSWORD=bench restic init -q --repo ${t}/restic && RESTIC_PASSWORD=bench restic backup -q --repo ${t}/restic --compression auto ${set.dir} && sync -f ${t}`, skip: !tools.restic },
      { name: 'seedship --codec none', cmd: prep('--codec none') },
      { name: 'seedship zstd -1, 1 thread', cmd: prep('--level 1 --threads 1') },
      { name: 'seedship zstd -1', cmd: prep('--level 1') },
      { name: 'seedship zstd -3 (default)', cmd: prep('--level 3') },
      { name: 'seedship zstd -3, 1 thread', cmd: prep('--level 3 --threads 1') },
    ];
    for (const c of cmds) {
      if (c.skip) continue;
      const samples: Sample[] = [];
      for (let i = 0; i < args.runs; i++) {
        clean();
        samples.push(timed(c.cmd));
      }
      const secs = median(samples.map((s) => s.secs));
      const rssMiB = median(samples.map((s) => s.rssKiB)) / 1024;
      rows.push({ data: set.name, name: c.name, cmd: c.cmd, secs, rssMiB, mibps: g.bytes / MiB / secs, filesPerSec: g.files / secs });
      process.stderr.write(`bench:   ${c.name}: ${secs.toFixed(2)} s, ${(g.bytes / MiB / secs).toFixed(0)} MiB/s, ${rssMiB.toFixed(0)} MiB peak\n`);
    }
  }
  clean();
  rmSync(work, { recursive: true, force: true });
  writeFileSync(args.out, report(args, rows, tools));
  process.stderr.write(`bench: wrote ${args.out}\n`);
}

function report(args: Args, rows: Row[], tools: Record<string, boolean>): string {
  const v = (c: string) => {
    try {
      return execFileSync('sh', ['-c', c], { encoding: 'utf8' }).split('\n')[0]!.trim();
    } catch {
      return 'not installed';
    }
  };
  const fsType = v(`stat -f -c %T ${args.target}`);
  const free = statfsSync(args.target);
  const lines = [
    '# Benchmark results',
    '',
    `Run ${new Date().toISOString().slice(0, 16)} UTC with \`node dist/bench/prepare-bench.js ${process.argv.slice(2).join(' ')}\` (median of ${args.runs} runs each, wall clock and peak RSS from \`/usr/bin/time -v\`).`,
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM; target ${args.target} (${fsType}, ${(free.blocks * free.bsize / 1024 ** 3).toFixed(0)} GiB); Node ${process.version}, ${v('zstd --version')}, ${v('restic version')}, ${v('tar --version')}.`,
    '',
  ];
  for (const data of [...new Set(rows.map((r) => r.data))]) {
    const rs = rows.filter((r) => r.data === data);
    const base = (n: string) => rs.find((r) => r.name.startsWith(n));
    const dd = base('dd');
    const tz3 = base('tar | zstd -T0 -3');
    const tz1 = base('tar | zstd -T0 -1');
    const restic = base('restic');
    const ratio = (r: Row, b: Row | undefined) => (b ? (b.secs / r.secs).toFixed(2) : '–');
    lines.push(`## ${data}`, '', '| command | time (s) | MiB/s | files/s | peak RSS (MiB) | × dd | × tar\\|zstd same level | × restic |', '|---|---|---|---|---|---|---|---|');
    for (const r of rs) {
      const sameLevel = /-1/.test(r.name) ? tz1 : /none/.test(r.name) ? undefined : tz3;
      lines.push(`| ${r.name.replaceAll('|', '\\|')} | ${r.secs.toFixed(2)} | ${r.mibps.toFixed(0)} | ${r.filesPerSec.toFixed(0)} | ${r.rssMiB.toFixed(0)} | ${ratio(r, dd)} | ${r.name.startsWith('seedship') ? ratio(r, sameLevel) : '–'} | ${r.name.startsWith('seedship') ? ratio(r, restic) : '–'} |`);
    }
    lines.push('', 'Ratios are speed ratios (baseline time / seedship time): above 1 means seedship is faster.', '');
    lines.push('<details><summary>command lines</summary>', '', ...rs.map((r) => `- ${r.name}: \`${r.cmd.replaceAll('|', '\\|')}\``), '', '</details>', '');
  }
  if (!tools.restic) lines.push('restic was not installed: its column is empty.', '');
  // Hand-written analysis (what bounds each number) is kept in bench/NOTES.md and carried over.
  const notes = readFileIfAny(new URL('../../bench/NOTES.md', import.meta.url));
  if (notes) lines.push(notes);
  return lines.join('\n') + '\n';
}

function readFileIfAny(u: URL): string | undefined {
  try {
    return readFileSync(u, 'utf8');
  } catch {
    return undefined;
  }
}

main();
