/**
 * bench/RESULTS.md from one benchmark run: the machine, the targets (met or missed, from
 * this run's numbers only), a table per data set with ratios against the baselines of the same
 * run, the command lines, peak memory by staging size, kill -9 and resume, and the hand-kept
 * analysis (bench/NOTES.md), binding microbenchmarks (bench/MICRO.md), and the last runs of the
 * restore (bench/RESTORE.md), metadata-cost (bench/METADATA.md) and drive-bound (bench/DRIVES.md)
 * benchmarks when present.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

const MiB = 1024 * 1024;

export interface Row {
  readonly set: string;
  readonly shape: string;
  readonly name: string;
  readonly cmd: string;
  readonly kind: 'dd' | 'info' | 'cp' | 'tar-zstd' | 'restic' | 'seedship' | 'seedship-verify';
  /** zstd level; 0 for --codec none. */
  readonly level: number | undefined;
  readonly threads: number | undefined;
  readonly secs: number;
  readonly all: number[];
  readonly rssMiB: number;
  readonly bytes: number;
  readonly files: number;
}

export interface MemoryRow {
  readonly bytes: number;
  readonly files: number;
  readonly secs: number;
  readonly rssMiB: number;
  readonly cmd: string;
}

export interface ResumeRow {
  readonly set: string;
  /** Median of the uninterrupted runs of the same command on the same set. */
  readonly uninterruptedSecs: number;
  readonly uninterruptedRuns: number[];
  readonly runs: { killedSecs: number; resumeSecs: number; killedAt: number }[];
}

interface Report {
  readonly argv: string[];
  readonly runs: number;
  readonly target: string;
  readonly rows: Row[];
  readonly memory: MemoryRow[];
  readonly resume: ResumeRow[];
  readonly restic: boolean;
}

function version(cmd: string): string {
  try {
    return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')[0]!
      .trim();
  } catch {
    return 'not installed';
  }
}

const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
const esc = (s: string) => s.replaceAll('|', '\\|');

/** Speed ratio: baseline time / seedship time (above 1: seedship is faster). */
const ratio = (r: Row, b: Row | undefined) => (b ? b.secs / r.secs : NaN);

interface Target {
  readonly what: string;
  readonly goal: number;
  readonly values: { label: string; value: number }[];
  /** Lower is better (memory, resume); else higher is better. */
  readonly lowerIsBetter?: boolean;
}

function targets(rep: Report): Target[] {
  const sets = [...new Set(rep.rows.map((r) => r.set))];
  const find = (set: string, pred: (r: Row) => boolean) => rep.rows.find((r) => r.set === set && pred(r));
  const seed = (set: string, level: number, threads?: number) =>
    find(set, (r) => r.kind === 'seedship' && r.level === level && r.threads === threads && !r.name.includes('page'));
  const per = (fn: (set: string) => number) =>
    sets.map((s) => ({ label: s, value: fn(s) })).filter((v) => Number.isFinite(v.value));
  const out: Target[] = [
    {
      what: 'codec none vs dd (conv=fdatasync) of the same bytes',
      goal: 0.9,
      values: per((s) =>
        ratio(
          seed(s, 0)!,
          find(s, (r) => r.kind === 'dd'),
        ),
      ),
    },
    {
      what: 'zstd -1 vs tar | zstd -T0 -1 + md5sum',
      goal: 0.9,
      values: per((s) =>
        ratio(
          seed(s, 1)!,
          find(s, (r) => r.kind === 'tar-zstd' && r.level === 1),
        ),
      ),
    },
    {
      what: 'zstd -3 vs tar | zstd -T0 -3 + md5sum',
      goal: 0.9,
      values: per((s) =>
        ratio(
          seed(s, 3)!,
          find(s, (r) => r.kind === 'tar-zstd' && r.level === 3),
        ),
      ),
    },
    {
      what: 'zstd -3 vs restic backup',
      goal: 2,
      values: per((s) =>
        ratio(
          seed(s, 3)!,
          find(s, (r) => r.kind === 'restic'),
        ),
      ),
    },
    {
      what: 'small files: files/s vs tar | zstd -T0 -3',
      goal: 1,
      values: per((s) =>
        s.includes('small files')
          ? ratio(
              seed(s, 3)!,
              find(s, (r) => r.kind === 'tar-zstd' && r.level === 3),
            )
          : NaN,
      ),
    },
    { what: 'threads 1 -> all cores, zstd -3', goal: 1.8, values: per((s) => ratio(seed(s, 3)!, seed(s, 3, 1))) },
    { what: 'threads 1 -> all cores, zstd -1', goal: 1.8, values: per((s) => ratio(seed(s, 1)!, seed(s, 1, 1))) },
  ];
  if (rep.memory.length >= 2) {
    const rss = rep.memory.map((m) => m.rssMiB);
    out.push({
      what: 'peak memory, largest / smallest staging',
      goal: 1.1,
      lowerIsBetter: true,
      values: [
        {
          label: rep.memory.map((m) => `${(m.bytes / MiB / 1024).toFixed(0)} GiB`).join(' vs '),
          value: Math.max(...rss) / Math.min(...rss),
        },
      ],
    });
  }
  const peak = Math.max(
    ...rep.rows.filter((r) => r.kind.startsWith('seedship')).map((r) => r.rssMiB),
    ...rep.memory.map((m) => m.rssMiB),
  );
  out.push({
    what: 'peak memory of any seedship run, MiB',
    goal: 300,
    lowerIsBetter: true,
    values: [{ label: 'all runs', value: peak }],
  });
  if (rep.resume.length > 0) {
    const values = rep.resume.map((res) => {
      const totals = res.runs.map((r) => (r.killedSecs + r.resumeSecs) / res.uninterruptedSecs).sort((a, b) => a - b);
      return { label: res.set, value: totals[Math.floor(totals.length / 2)]! };
    });
    out.push({ what: 'kill -9 at half-way + resume vs uninterrupted', goal: 1.1, lowerIsBetter: true, values });
  }
  return out;
}

function targetLines(rep: Report): string[] {
  const lines = ['## Targets (issue 5), from this run', '', '| target | goal | measured | met |', '|---|---|---|---|'];
  for (const t of targets(rep)) {
    const ok = (v: number) => (t.lowerIsBetter ? v <= t.goal : v >= t.goal);
    const shown = t.values
      .map((v) => `${esc(v.label)}: ${t.goal >= 10 ? v.value.toFixed(0) : f2(v.value)}`)
      .join('<br>');
    const met =
      t.values.length === 0
        ? 'not measured'
        : t.values.every((v) => ok(v.value))
          ? 'yes'
          : t.values.some((v) => ok(v.value))
            ? 'partly'
            : 'no';
    lines.push(`| ${esc(t.what)} | ${t.lowerIsBetter ? '≤' : '≥'} ${t.goal} | ${shown || '–'} | ${met} |`);
  }
  lines.push('', 'Ratios are speed ratios (baseline time / seedship time): above 1 means seedship is faster.', '');
  return lines;
}

function setLines(rep: Report): string[] {
  const lines: string[] = [];
  for (const set of [...new Set(rep.rows.map((r) => r.set))]) {
    const rs = rep.rows.filter((r) => r.set === set);
    const by = (k: Row['kind'], level?: number) =>
      rs.find((r) => r.kind === k && (level === undefined || r.level === level));
    lines.push(
      `## ${set}`,
      '',
      '| command | median s (runs) | MiB/s | files/s | peak RSS MiB | × dd | × tar\\|zstd same level | × restic |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const r of rs) {
      const s = r.kind.startsWith('seedship');
      const tz = r.level ? by('tar-zstd', r.level) : undefined;
      const runs = r.all.map((x) => x.toFixed(2)).join(', ');
      lines.push(
        `| ${esc(r.name)} | ${f2(r.secs)} (${runs}) | ${(r.bytes / MiB / r.secs).toFixed(0)} | ` +
          `${(r.files / r.secs).toFixed(0)} | ${r.rssMiB.toFixed(0)} | ${s ? f2(ratio(r, by('dd'))) : '–'} | ` +
          `${s && tz ? f2(ratio(r, tz)) : '–'} | ${s ? f2(ratio(r, by('restic'))) : '–'} |`,
      );
    }
    lines.push(
      '',
      '<details><summary>command lines</summary>',
      '',
      ...rs.map((r) => `- ${esc(r.name)}: \`${esc(r.cmd)}\``),
      '',
      '</details>',
      '',
    );
  }
  return lines;
}

function extraLines(rep: Report): string[] {
  const lines: string[] = [];
  if (rep.memory.length > 0) {
    lines.push(
      '## Peak memory by staging size (seedship prepare, all defaults but --no-verify, mixed shape)',
      '',
      '| staging | files | time s | peak RSS MiB |',
      '|---|---|---|---|',
    );
    for (const m of rep.memory)
      lines.push(`| ${(m.bytes / MiB).toFixed(0)} MiB | ${m.files} | ${f2(m.secs)} | ${m.rssMiB.toFixed(0)} |`);
    lines.push('', `Command: \`${esc(rep.memory[0]!.cmd)}\``, '');
  }
  for (const res of rep.resume) {
    lines.push(
      `## kill -9 half-way, then resume (${res.set}, zstd -3)`,
      '',
      `Uninterrupted: median ${f2(res.uninterruptedSecs)} s (${res.uninterruptedRuns.map(f2).join(', ')}).`,
      '',
      '| killed at | killed run s | resume s | total / uninterrupted |',
      '|---|---|---|---|',
    );
    for (const r of res.runs)
      lines.push(
        `| ${(r.killedAt * 100).toFixed(0)} % | ${f2(r.killedSecs)} | ${f2(r.resumeSecs)} | ` +
          `${f2((r.killedSecs + r.resumeSecs) / res.uninterruptedSecs)} |`,
      );
    lines.push('');
  }
  return lines;
}

function readIfAny(u: URL): string | undefined {
  try {
    return readFileSync(u, 'utf8');
  } catch {
    return undefined;
  }
}

/** Write the report to `out`. */
export function writeReport(out: string, rep: Report): void {
  const rev = version('git rev-parse --short HEAD');
  const lines = [
    '# Benchmark results',
    '',
    `Run ${new Date().toISOString().slice(0, 16)} UTC at commit ${rev} with \`node dist/bench/prepare-bench.js ` +
      `${rep.argv.join(' ')}\` (median of ${rep.runs} runs each; wall clock and peak RSS of the largest process ` +
      `from \`/usr/bin/time -v\`; the target is emptied and synced before every run).`,
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM. ` +
      `Target: ${rep.target}. Staging: ${version('df --output=source,fstype / | tail -1')} (each set is ` +
      'generated just before it is timed, so it is read from the page cache).',
    '',
    `Versions: Node ${process.version}; ${version('zstd --version')}; ${version('restic version')}; ` +
      `${version('tar --version')}; ${version('dd --version')}.`,
    '',
    ...targetLines(rep),
    ...setLines(rep),
    ...extraLines(rep),
  ];
  if (!rep.restic) lines.push('restic was not installed: its column is empty.', '');
  const micro = readIfAny(new URL('../../bench/MICRO.md', import.meta.url));
  // Its headings one level down, under this report's title.
  if (micro) lines.push(micro.replace(/^(#+) /gm, '#$1 '));
  // Benchmarks with scripts of their own (npm run bench:restore, bench:metadata, bench:drives), their last run.
  for (const other of ['RESTORE.md', 'METADATA.md', 'DRIVES.md', 'CPU.md']) {
    const text = readIfAny(new URL(`../../bench/${other}`, import.meta.url));
    if (text) lines.push(text.replace(/^(#+) /gm, '#$1 '));
  }
  const notes = readIfAny(new URL('../../bench/NOTES.md', import.meta.url));
  if (notes) lines.push(notes);
  writeFileSync(out, `${lines.join('\n')}\n`);
}
