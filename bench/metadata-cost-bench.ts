#!/usr/bin/env node
/**
 * What per-entry POSIX metadata costs (issue 11): two builds of seedship, the same small-files
 * staging tree, `prepare` run alternately with each build (ABAB… so drift on a busy machine hits
 * both alike), each run on a fresh loop-mounted ext4 target and a fresh session dir, for
 * `--codec none` and `--level 3`. Reports the median wall clock and peak RSS of each, the ratio
 * new / baseline, the number of files each build leaves on the drive, and one `verify` of each
 * (read-back, the drive remounted first so it is read from the disk). Never part of the tests.
 *
 *   node dist/bench/metadata-cost-bench.js --baseline-cli /work/wt-baseline/dist/cli/main.js \
 *        --cli dist/cli/main.js [--files 20000] [--runs 5] [--json FILE]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { generateStaging } from '../fixtures/generate.js';
import { openTarget, type BenchTarget } from './bench-target.js';
import { median, timed, type Sample } from './bench-run.js';
import { SeedshipError } from '../core/errors/errors.js';

const MiB = 1024 * 1024;
/** Mean file size of the small-files shape (as in prepare-bench.ts), to turn a file count into a size. */
const SMALL_FILE_MEAN_BYTES = 7700;
const IMAGE_DIR = '/var/tmp/seedship-metadata-cost-bench';

interface Args {
  readonly baselineCli: string;
  readonly cli: string;
  readonly files: number;
  readonly runs: number;
  readonly json: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const get = (k: string): string | undefined => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const baselineCli = get('--baseline-cli');
  const cli = get('--cli');
  if (!baselineCli || !cli) {
    process.stderr.write(
      'usage: metadata-cost-bench.js --baseline-cli PATH --cli PATH [--files 20000] [--runs 5] [--json FILE]\n',
    );
    process.exit(2);
  }
  return {
    baselineCli: resolve(baselineCli),
    cli: resolve(cli),
    files: Number(get('--files') ?? 20000),
    runs: Number(get('--runs') ?? 5),
    json: get('--json'),
  };
}

function sh(cmd: string): string {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new SeedshipError('E_INTERNAL', `failed (${r.status}): ${cmd}\n${r.stderr}`);
  return r.stdout.trim();
}

function ensureTime(): void {
  const have = () => spawnSync('sh', ['-c', 'test -x /usr/bin/time']).status === 0;
  if (!have() && process.getuid?.() === 0)
    spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time'], {
      stdio: 'ignore',
    });
  if (!have())
    throw new SeedshipError('E_USAGE', 'needs GNU time (/usr/bin/time, Debian package "time") for peak memory');
}

const SETTINGS = [
  { name: '--codec none', flags: '--codec none' },
  { name: '--level 3', flags: '--level 3' },
] as const;
type Build = 'baseline' | 'new';

interface Run {
  readonly setting: string;
  readonly build: Build;
  readonly run: number;
  readonly secs: number;
  readonly rssKiB: number;
  readonly filesOnDrive: number;
  readonly load1Before: number;
  readonly load1After: number;
  readonly verify?: Sample;
}

/** A fresh ext4 (new image, mkfs, mount) for one timed run: no run inherits another's file system. */
function freshTarget(files: number): BenchTarget {
  const t = openTarget({
    imageDir: IMAGE_DIR,
    sizeGiB: Math.max(4, Math.ceil((files * SMALL_FILE_MEAN_BYTES * 3) / 1024 ** 3)),
    fallbackDir: `${tmpdir()}/seedship-metadata-cost-target`,
    useLoop: true,
  });
  // The image was just written and formatted: let that reach the disk before the clock starts.
  spawnSync('sync');
  return t;
}

/** Unmount and mount the target again on the same loop device: its page cache is gone, so verify reads the disk. */
function remount(dir: string): void {
  const dev = sh(`findmnt -n -o SOURCE ${dir}`);
  sh(`umount ${dir} && mount -o nodiscard ${dev} ${dir}`);
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  ensureTime();
  const work = mkdtempSync(`${tmpdir()}/seedship-metadata-cost-`);
  const staging = `${work}/staging`;
  const g = generateStaging(staging, { sizeBytes: args.files * SMALL_FILE_MEAN_BYTES, shape: 'small-files', seed: 5 });
  spawnSync('sync');
  const dirs = Number(sh(`find ${staging} -type d | wc -l`));
  process.stderr.write(
    `metadata-cost: ${g.files} small files in ${dirs} directories (${(g.bytes / MiB).toFixed(0)} MiB) under ` +
      `${staging}\n`,
  );
  const cli: Record<Build, string> = { baseline: args.baselineCli, new: args.cli };
  const runs: Run[] = [];
  let targetDescribe = '';
  try {
    for (let i = 0; i < args.runs; i++) {
      for (const s of SETTINGS) {
        for (const build of ['baseline', 'new'] as const) {
          const target = freshTarget(args.files);
          targetDescribe = target.describe;
          const session = mkdtempSync(`${work}/session-`);
          try {
            const cmd =
              `node ${cli[build]} prepare --staging ${staging} --job bench --session ${session} --drive ` +
              `${target.dir} --allow-staging-volume --yes --no-verify ${s.flags} > /dev/null`;
            const load1Before = loadavg()[0]!;
            const sample = timed(cmd);
            const load1After = loadavg()[0]!;
            const filesOnDrive = Number(sh(`find ${target.dir} -type f | wc -l`));
            let verify: Sample | undefined;
            if (i === 0) {
              remount(target.dir);
              verify = timed(`node ${cli[build]} verify --drive ${target.dir} --session ${session} > /dev/null`);
            }
            const r: Run = {
              setting: s.name,
              build,
              run: i,
              secs: sample.secs,
              rssKiB: sample.rssKiB,
              filesOnDrive,
              load1Before,
              load1After,
              ...(verify ? { verify } : {}),
            };
            runs.push(r);
            process.stderr.write(
              `metadata-cost: run ${i + 1}/${args.runs} ${s.name} ${build}: ${sample.secs.toFixed(2)} s, ` +
                `${(sample.rssKiB / 1024).toFixed(0)} MiB peak, ${filesOnDrive} files on the drive, load ` +
                `${load1Before.toFixed(2)} -> ${load1After.toFixed(2)}` +
                (verify ? `; verify ${verify.secs.toFixed(2)} s, ${(verify.rssKiB / 1024).toFixed(0)} MiB peak` : '') +
                '\n',
            );
          } finally {
            target.close();
            rmSync(session, { recursive: true, force: true });
          }
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const loads = runs.flatMap((r) => [r.load1Before, r.load1After]);
  const out: string[] = [
    `${g.files} small files in ${dirs} directories (${(g.bytes / MiB).toFixed(0)} MiB), ${args.runs} runs per ` +
      `build and setting, alternating baseline/new; each run on a fresh target: ${targetDescribe}.`,
    `1-minute load average around the timed runs: min ${Math.min(...loads).toFixed(2)}, median ` +
      `${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}.`,
    '',
    '| setting | baseline median s (runs) | new median s (runs) | new / baseline | files on drive, baseline ' +
      '→ new | peak RSS MiB, baseline → new | verify s (1 run), baseline → new | verify peak RSS MiB, ' +
      'baseline → new |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const s of SETTINGS) {
    const of = (b: Build) => runs.filter((r) => r.setting === s.name && r.build === b);
    const secs = (b: Build) => median(of(b).map((r) => r.secs));
    const all = (b: Build) =>
      of(b)
        .map((r) => r.secs.toFixed(2))
        .join(', ');
    const rss = (b: Build) => (median(of(b).map((r) => r.rssKiB)) / 1024).toFixed(0);
    const files = (b: Build) => [...new Set(of(b).map((r) => r.filesOnDrive))].join('/');
    const v = (b: Build) => of(b).find((r) => r.verify)?.verify;
    out.push(
      `| ${s.name} | ${secs('baseline').toFixed(2)} (${all('baseline')}) | ${secs('new').toFixed(2)} ` +
        `(${all('new')}) | ${(secs('new') / secs('baseline')).toFixed(3)} | ${files('baseline')} → ` +
        `${files('new')} | ${rss('baseline')} → ${rss('new')} | ${v('baseline')?.secs.toFixed(2)} → ` +
        `${v('new')?.secs.toFixed(2)} | ${((v('baseline')?.rssKiB ?? NaN) / 1024).toFixed(0)} → ` +
        `${((v('new')?.rssKiB ?? NaN) / 1024).toFixed(0)} |`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
  if (args.json)
    writeFileSync(
      args.json,
      JSON.stringify({ args, files: g.files, dirs, bytes: g.bytes, target: targetDescribe, runs }, null, 2),
    );
}

main();
