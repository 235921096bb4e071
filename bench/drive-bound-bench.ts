#!/usr/bin/env node
/**
 * Drive-bound prepare (issue 12): N slow drives (ext4 on loop devices held to R bytes/s read and
 * write by the blkio cgroup v1 throttle, bench/throttled-drives.ts) and a staging tree in tmpfs,
 * so the drives and nothing else set the pace. Times `seedship prepare --codec none` (copy, seal,
 * read-back) against what the drives allow: ideal = bytes on the drives / (N × R), once for
 * writing and once for reading back. Also times a baseline in the same session: the staging data
 * split over the N drives and copied with `cp` + `sync -f` per drive in parallel, the drives remounted, and
 * every file read back with `cat` in parallel. Per device, the bytes read and written
 * (blkio.throttle.io_service_bytes) show where the data went and that the read-back reached the
 * device. Writes bench/DRIVES.md; never part of the tests. Root and blkio cgroup v1 only: skips
 * (exit 0) with the reason otherwise.
 *
 *   npm run bench:drives                                  # 3 and 6 drives, 180 MiB per drive, 25 MB/s
 *   node dist/bench/drive-bound-bench.js --drives 3 --mib 300 --rate 25000000 [--runs 1]
 *        [--drive-mib 400] [--cli dist/cli/main.js] [--label TEXT] [--out bench/DRIVES.md] [--json FILE]
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { timed } from './bench-run.js';
import { ThrottledDrives, whyNoThrottledDrives, type IoBytes } from './throttled-drives.js';
import { SeedshipError } from '../core/errors/errors.js';

const MiB = 1024 * 1024;
const DEFAULT_CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
/** The issue's goal: prepare within 80 % of what the drives allow. */
const GOAL_RATIO = 0.8;
/** Default staging per drive: 540 MiB for 3 drives, as the issue's example. */
const DEFAULT_MIB_PER_DRIVE = 180;
/**
 * How far below its data a drive's read bytes may be and still count as read back from the drive:
 * the small files written last (manifest, drive.json) may come from the page cache.
 */
const READ_SLACK_BYTES = MiB;
/** Share of the staging bytes in small files (4–256 KiB); the rest is 1–64 MiB files. */
const SMALL_SHARE = 0.05;

interface Args {
  readonly drives: number[];
  /** Staging MiB per drive (the total scales with N). */
  readonly mibPerDrive: number;
  readonly rate: number;
  readonly runs: number;
  /** Drive size; 0 = sized from the staging (at least 400 MiB, 1.5 × an even share). */
  readonly driveMiB: number;
  readonly cli: string;
  readonly label: string;
  readonly out: string;
  /** Also write the measurements as JSON here. */
  readonly json: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const get = (k: string): string | undefined => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const drives = (get('--drives') ?? '3,6').split(',').map(Number);
  const first = drives[0] ?? 3;
  // --mib is the staging size for the first drive count; other counts scale it per drive.
  const mib = get('--mib');
  const args: Args = {
    drives,
    mibPerDrive: mib === undefined ? DEFAULT_MIB_PER_DRIVE : Number(mib) / first,
    rate: Number(get('--rate') ?? 25_000_000),
    runs: Number(get('--runs') ?? 1),
    driveMiB: Number(get('--drive-mib') ?? 0),
    cli: resolve(get('--cli') ?? DEFAULT_CLI),
    label: get('--label') ?? '',
    json: get('--json'),
    out: get('--out') ?? fileURLToPath(new URL('../../bench/DRIVES.md', import.meta.url)),
  };
  const bad = drives.some((n) => !Number.isInteger(n) || n < 1 || n > 16)
    ? '--drives'
    : !(args.mibPerDrive > 0)
      ? '--mib'
      : !(args.rate >= 1_000_000)
        ? '--rate'
        : !(args.runs >= 1)
          ? '--runs'
          : undefined;
  if (bad) {
    process.stderr.write(
      `drive-bound-bench: bad ${bad}\nusage: drive-bound-bench.js [--drives 3,6] [--mib MIB_FOR_FIRST_COUNT] ` +
        '[--rate BYTES_PER_S] [--runs 1] [--drive-mib MIB] [--cli PATH] [--label TEXT] [--out FILE] [--json ' +
        `FILE]\n`,
    );
    process.exit(2);
  }
  return args;
}

function sh(cmd: string): string {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', maxBuffer: 64 * MiB });
  if (r.status !== 0) throw new SeedshipError('E_INTERNAL', `failed (${r.status}): ${cmd}\n${r.stderr}`);
  return r.stdout.trim();
}

/** Small deterministic sizes (LCG), so two runs of the bench stage the same shape. */
function sizes(totalBytes: number, seed: number): { rel: string; size: number }[] {
  let x = seed >>> 0;
  const next = () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
  const out: { rel: string; size: number }[] = [];
  const small = Math.floor(totalBytes * SMALL_SHARE);
  for (let left = totalBytes - small, i = 0; left > 0; i++) {
    const size = Math.min(left, Math.floor((1 + next() * 63) * MiB));
    out.push({ rel: `large/d${i % 4}/f${i}.bin`, size });
    left -= size;
  }
  for (let left = small, i = 0; left > 0; i++) {
    const size = Math.min(left, Math.floor((4 + next() * 252) * 1024));
    out.push({ rel: `small/s${Math.floor(i / 50)}/f${i}.dat`, size });
    left -= size;
  }
  return out;
}

/** Write the staging tree: incompressible bytes (the run uses --codec none anyway). */
function makeStaging(
  dir: string,
  totalBytes: number,
): { files: { rel: string; size: number }[]; large: number; small: number } {
  const files = sizes(totalBytes, 12);
  const buf = Buffer.allocUnsafe(4 * MiB);
  for (const f of files) {
    const p = join(dir, f.rel);
    mkdirSync(p.slice(0, p.lastIndexOf('/')), { recursive: true });
    const fd = openSync(p, 'w');
    try {
      for (let off = 0; off < f.size; off += buf.length) {
        const n = Math.min(buf.length, f.size - off);
        randomFillSync(buf, 0, n);
        writeSync(fd, buf, 0, n, off);
      }
    } finally {
      closeSync(fd);
    }
  }
  const large = files.filter((f) => f.rel.startsWith('large/')).length;
  return { files, large, small: files.length - large };
}

/** Largest first onto the least-filled drive: the even split a parallel copy would aim for. */
function split(files: { rel: string; size: number }[], n: number): { rel: string; size: number }[][] {
  const parts = Array.from({ length: n }, () => ({ bytes: 0, files: [] as { rel: string; size: number }[] }));
  for (const f of [...files].sort((a, b) => b.size - a.size)) {
    const p = parts.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    p.files.push(f);
    p.bytes += f.size;
  }
  return parts.map((p) => p.files);
}

/** A shell line running `cmds` in parallel that fails when any of them fails. */
function parallel(cmds: string[]): string {
  return (
    `${cmds.map((c, i) => `(${c}) & p${i}=$!;`).join(' ')} s=0; for p in ` +
    `${cmds.map((_, i) => `$p${i}`).join(' ')}; do wait $p || s=1; done; [ $s = 0 ]`
  );
}

/** Sum of the sizes of the regular files under `dir`. */
function fileBytes(dir: string): number {
  return Number(sh(`find ${dir} -type f -printf '%s\\n' | awk '{s+=$1} END {printf "%d", s}'`));
}

interface DriveResult {
  readonly bytes: number;
  readonly io: IoBytes;
}

interface Measured {
  readonly n: number;
  readonly run: number;
  readonly what: 'baseline' | 'seedship';
  readonly secs: number;
  /** Baseline only: the two phases. */
  readonly phases?: { write: number; read: number };
  readonly rssMiB: number;
  readonly drives: DriveResult[];
  readonly cmd: string;
}

function delta(before: Map<string, IoBytes>, after: Map<string, IoBytes>, mm: string): IoBytes {
  const b = before.get(mm) ?? { read: 0, write: 0 };
  const a = after.get(mm) ?? { read: 0, write: 0 };
  return { read: a.read - b.read, write: a.write - b.write };
}

/** Active drive set, closed by the signal handler's unwinding or at exit. */
let open: ThrottledDrives | undefined;

function withDrives<T>(root: string, n: number, sizeMiB: number, rate: number, fn: (d: ThrottledDrives) => T): T {
  const d = ThrottledDrives.create(root, n, sizeMiB, rate);
  open = d;
  try {
    return fn(d);
  } finally {
    open = undefined;
    d.close();
  }
}

function runBaseline(
  a: Args,
  work: string,
  staging: string,
  files: { rel: string; size: number }[],
  n: number,
  driveMiB: number,
  run: number,
): Measured {
  const parts = split(files, n);
  return withDrives(join(work, 'drives'), n, driveMiB, a.rate, (set) => {
    const lists = parts.map((p, i) => {
      const list = join(work, `list-${i}`);
      writeFileSync(list, p.map((f) => f.rel).join('\0'));
      return list;
    });
    const dirs = set.drives.map((d) => d.dir);
    const before = set.ioBytes();
    const writeCmd =
      `cd ${staging} || exit 1; ` +
      `${parallel(lists.map((l, i) => `xargs -0 -a ${l} cp --parents -t ${dirs[i]} && sync -f ${dirs[i]}`))}`;
    const w = timed(writeCmd);
    set.remount(); // their page cache is gone: the reads below reach the devices
    const readCmd = parallel(dirs.map((d) => `find ${d} -type f -print0 | xargs -0 cat > /dev/null`));
    const r = timed(readCmd);
    const after = set.ioBytes();
    return {
      n,
      run,
      what: 'baseline',
      secs: w.secs + r.secs,
      phases: { write: w.secs, read: r.secs },
      rssMiB: Math.max(w.rssKiB, r.rssKiB) / 1024,
      drives: set.drives.map((d) => ({ bytes: fileBytes(d.dir), io: delta(before, after, d.majMin) })),
      cmd: `${writeCmd}; (remount); ${readCmd}`,
    };
  });
}

function runSeedship(a: Args, work: string, staging: string, n: number, driveMiB: number, run: number): Measured {
  return withDrives(join(work, 'drives'), n, driveMiB, a.rate, (set) => {
    const session = mkdtempSync(join(work, 'ram', 'session-'));
    try {
      const drives = set.drives.map((d) => `--drive ${d.dir}`).join(' ');
      const cmd =
        `node ${a.cli} prepare --staging ${staging} --job bench --session ${session} ${drives} --codec none ` +
        `--yes --json > ${work}/prepare.json 2> ${work}/prepare.log`;
      const before = set.ioBytes();
      const s = timed(cmd);
      const after = set.ioBytes();
      const res = JSON.parse(readFileSync(`${work}/prepare.json`, 'utf8')) as {
        status: string;
        files: { skipped: number };
      };
      if (res.status !== 'done' || res.files.skipped !== 0)
        throw new SeedshipError('E_INTERNAL', `prepare did not finish cleanly: ${JSON.stringify(res).slice(0, 500)}`);
      return {
        n,
        run,
        what: 'seedship',
        secs: s.secs,
        rssMiB: s.rssKiB / 1024,
        drives: set.drives.map((d) => ({ bytes: fileBytes(d.dir), io: delta(before, after, d.majMin) })),
        cmd: cmd.replace(` > ${work}/prepare.json 2> ${work}/prepare.log`, ''),
      };
    } finally {
      rmSync(session, { recursive: true, force: true });
    }
  });
}

const f2 = (x: number) => x.toFixed(2);
const mib = (x: number) => (x / MiB).toFixed(0);

function report(
  a: Args,
  rev: string,
  ms: Measured[],
  staged: Map<number, { bytes: number; files: number; large: number; small: number; driveMiB: number }>,
  loads: number[],
): string {
  const argv = process.argv
    .slice(2)
    .map((x) => (/^[\w./:,=-]+$/.test(x) ? x : `'${x.replaceAll("'", "'\\''")}'`))
    .join(' ');
  const lines = [
    '# Drive-bound prepare: N throttled drives (issue 12)',
    '',
    `Run ${new Date().toISOString().slice(0, 16)} UTC at commit ${rev}${a.label ? ` (${a.label})` : ''} with ` +
      `\`node dist/bench/drive-bound-bench.js${argv ? ` ${argv}` : ''}\` (${a.runs} run${a.runs > 1 ? 's' : ''} ` +
      `per case, baseline and seedship alternating; wall clock and peak RSS from \`/usr/bin/time -v\`).`,
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, ` +
      `Linux ${release()}, Node ${process.version}. 1-minute load average around the runs: ` +
      `${loads.map(f2).join(' → ')} (a shared machine).`,
    '',
    'Drives: ext4 on loop devices over sparse image files under /tmp (direct I/O, formatted in full, mounted ' +
      `nodiscard), each throttled to ${a.rate.toLocaleString('en-US')} bytes/s read and ` +
      `${a.rate.toLocaleString('en-US')} bytes/s write through the root blkio cgroup v1 (every process and the ` +
      `kernel's flusher are in it, so buffered write-back is held too); a fresh set for every run. Staging: ` +
      `incompressible files in a tmpfs (${SMALL_SHARE * 100} % of the bytes in 4–256 KiB files, the rest in ` +
      '1–64 MiB files); session dir in the same tmpfs.',
    '',
    '**Ideal** = bytes on the drives / (N × R), once for writing and once for reading back: what N drives of ' +
      'R bytes/s allow when every one is busy the whole time. **Ratio** = ideal / measured (goal ≥ ' +
      `${GOAL_RATIO}). **Spread bound** = 2 × the most bytes on one drive / R: the best time possible with the ` +
      'data spread the way it was. **One drive at a time** = 2 × bytes on the drives / R: the time of writing ' +
      `and reading the drives one after another. **Read back ≥ data** compares each drive's bytes read during ` +
      'the run with the bytes on it (1 MiB of slack): short means part of the read-back was served from the page ' +
      'cache, not the drive. The baseline copies the staging split evenly over the drives (largest file first ' +
      `onto the least-filled drive) with one \`cp\` + \`sync -f\` per drive, all drives in parallel (one \`sync ` +
      `-f\` of several drives would sync them one after another), remounts the drives and reads every file back ` +
      `with one \`cat\` per drive in parallel.`,
    '',
    '| drives | staging | run | command | wall s | ideal s | ratio (ideal / wall) | spread bound s | one drive ' +
      'at a time s | × baseline (baseline s / this s) | MiB on each drive | read back ≥ data on every drive |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const m of ms) {
    const st = staged.get(m.n)!;
    const onDrives = m.drives.reduce((s, d) => s + d.bytes, 0);
    const ideal = (2 * onDrives) / (m.n * a.rate);
    const bound = (2 * Math.max(...m.drives.map((d) => d.bytes))) / a.rate;
    const base = ms.find((x) => x.n === m.n && x.run === m.run && x.what === 'baseline');
    const serial = (2 * onDrives) / a.rate;
    const short = m.drives.map((d, i) => ({ i, d })).filter(({ d }) => d.bytes - d.io.read > READ_SLACK_BYTES);
    const shortText = ({ i, d }: (typeof short)[number]) =>
      `d${i + 1} ${mib(d.bytes - d.io.read)} MiB short (read ${f2(d.io.read / d.bytes)} of its data)`;
    const readOk = short.length === 0 ? 'yes' : `**no**: ${short.map(shortText).join(', ')}`;
    const half = ideal / 2;
    const what =
      m.what === 'baseline'
        ? `baseline (cp + sync -f) ∥, cat ∥ (write ${f2(m.phases!.write)} s = ${f2(half / m.phases!.write)} ` +
          `of ideal; read ${f2(m.phases!.read)} s = ${f2(half / m.phases!.read)})`
        : 'seedship prepare --codec none';
    lines.push(
      `| ${m.n} | ${mib(st.bytes)} MiB, ${st.files} files (${st.large} of 1–64 MiB) | ${m.run + 1} | ${what} ` +
        `| ${f2(m.secs)} | ${f2(ideal)} | **${f2(ideal / m.secs)}** | ${f2(bound)} | ${f2(serial)} | ` +
        `${m.what === 'seedship' && base ? f2(base.secs / m.secs) : '–'} | ` +
        `${m.drives.map((d) => mib(d.bytes)).join(' / ')} | ${readOk} |`,
    );
  }
  const seeds = ms.filter((m) => m.what === 'seedship');
  const ratios = seeds.map((m) => (2 * m.drives.reduce((s, d) => s + d.bytes, 0)) / (m.n * a.rate) / m.secs);
  const goalMet = (r: number) => r >= GOAL_RATIO;
  const verdict = ratios.every(goalMet) ? 'met' : ratios.some(goalMet) ? 'partly met' : 'missed';
  lines.push('', `Goal ratio ≥ ${GOAL_RATIO}: ${verdict} (seedship: ${ratios.map(f2).join(', ')}).`, '');
  lines.push(
    'Per device, from blkio.throttle.io_service_bytes before and after each run (MiB; writes include the file ' +
      "system's own metadata and journal):",
    '',
    '| drives | run | command | drive | data on it | written | read | read / data |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const m of ms)
    for (const [i, d] of m.drives.entries())
      lines.push(
        `| ${m.n} | ${m.run + 1} | ${m.what} | d${i + 1} | ${mib(d.bytes)} | ${mib(d.io.write)} | ` +
          `${mib(d.io.read)} | ${d.bytes > 0 ? f2(d.io.read / d.bytes) : '–'} |`,
      );
  lines.push('', '<details><summary>command lines</summary>', '');
  for (const m of ms) lines.push(`- ${m.n} drives, run ${m.run + 1}, ${m.what}: \`${m.cmd.replaceAll('|', '\\|')}\``);
  lines.push(
    '',
    `Drive size: ${[...staged].map(([n, s]) => `${s.driveMiB} MiB each for ${n} drives`).join(', ')}. Peak RSS ` +
      `of seedship: ${seeds.map((m) => m.rssMiB.toFixed(0)).join(', ')} MiB.`,
    '',
    '</details>',
    '',
  );
  return lines.join('\n');
}

function main(): void {
  const a = parseArgs(process.argv.slice(2));
  const why = whyNoThrottledDrives();
  if (why) {
    process.stdout.write(`drive-bound-bench: skipped: ${why}\n`);
    return;
  }
  // Ctrl-C (or a signal to the process group) ends the running child; with a handler this process
  // does not die at once but sees the child fail and unwinds, so `finally` resets the throttles.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => (process.exitCode = 130));
  process.on('exit', () => open?.close());

  // The commit of the code measured: taken before the runs, which may outlast a later commit.
  const rev =
    sh(`git -C ${fileURLToPath(new URL('../..', import.meta.url))} rev-parse --short HEAD`) +
    (sh(`git -C ${fileURLToPath(new URL('../..', import.meta.url))} status --porcelain -uno`)
      ? ' (with uncommitted changes)'
      : '');
  const work = mkdtempSync('/tmp/benchdrives-');
  const ram = join(work, 'ram');
  const ms: Measured[] = [];
  const staged = new Map<number, { bytes: number; files: number; large: number; small: number; driveMiB: number }>();
  const loads = [loadavg()[0]!];
  try {
    for (const n of a.drives) {
      const bytes = Math.round(a.mibPerDrive * n * MiB);
      const driveMiB = a.driveMiB || Math.max(400, Math.ceil((1.5 * bytes) / n / MiB));
      mkdirSync(ram, { recursive: true });
      sh(`mount -t tmpfs -o size=${Math.ceil(bytes / MiB) + 256}m tmpfs ${ram}`);
      try {
        const staging = join(ram, 'staging');
        const g = makeStaging(staging, bytes);
        staged.set(n, { bytes, files: g.files.length, large: g.large, small: g.small, driveMiB });
        process.stderr.write(
          `drive-bound-bench: ${n} drives of ${driveMiB} MiB at ${a.rate} B/s; staging ${mib(bytes)} MiB in ` +
            `${g.files.length} files under ${relative('/', staging)}\n`,
        );
        for (let run = 0; run < a.runs; run++) {
          for (const what of ['baseline', 'seedship'] as const) {
            const m =
              what === 'baseline'
                ? runBaseline(a, work, staging, g.files, n, driveMiB, run)
                : runSeedship(a, work, staging, n, driveMiB, run);
            ms.push(m);
            process.stderr.write(
              `drive-bound-bench: ${n} drives, run ${run + 1}, ${what}: ${f2(m.secs)} s; MiB on drives ` +
                `${m.drives.map((d) => mib(d.bytes)).join('/')}\n`,
            );
            loads.push(loadavg()[0]!);
          }
        }
      } finally {
        sh(`umount ${ram}`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const md = report(a, rev, ms, staged, loads);
  writeFileSync(a.out, md);
  if (a.json) writeFileSync(a.json, JSON.stringify({ args: a, rev, staged: [...staged], loads, runs: ms }, null, 2));
  process.stdout.write(md);
}

main();
