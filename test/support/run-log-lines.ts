import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Run-log files as the pino-backed run log writes them (one JSON object a line, pino's `level`,
 * `time`, `pid`, `hostname`, `msg`), written by the tests themselves so the report's tests do not
 * depend on the log writer's code.
 */

export interface SyntheticDrive {
  readonly id: string;
  readonly label: string;
  /** Bytes a second at a fraction (0..1) of the run. */
  readonly rate: (fraction: number) => number;
}

export interface SyntheticRun {
  readonly command: string;
  readonly argv: readonly string[];
  /** ms since the epoch. */
  readonly start: number;
  readonly drives: readonly SyntheticDrive[];
  readonly samples: number;
  readonly intervalMs: number;
  readonly exitCode?: number | undefined;
  readonly warnings?: readonly string[];
}

function line(level: number, time: number, msg: string, extra: object = {}): string {
  return JSON.stringify({ level, time, pid: process.pid, hostname: hostname(), ...extra, msg });
}

/** The lines of one run: start, phases, progress samples every `intervalMs`, warnings, end. */
export function runLogLines(run: SyntheticRun): string[] {
  const out = [line(30, run.start, 'start', { command: run.command, argv: run.argv, version: '0.1.0' })];
  out.push(line(30, run.start + 5, 'phase', { step: run.command, phase: 'copy', message: 'copying', elapsedMs: 5 }));
  const done = run.drives.map(() => 0);
  for (let i = 0; i <= run.samples; i++) {
    const elapsedMs = i * run.intervalMs;
    if (i > 0)
      run.drives.forEach((d, k) => {
        done[k]! += Math.round((d.rate(i / run.samples) * run.intervalMs) / 1000);
      });
    const tracks = run.drives.map((d, k) => ({
      key: d.id,
      label: d.label,
      unit: 'bytes',
      done: done[k],
      total: undefined,
      rate: d.rate(i / run.samples),
      etaSeconds: undefined,
      state: 'writing',
      used: done[k],
      capacity: 1e12,
      items: i,
      itemsTotal: undefined,
    }));
    const total = {
      key: 'total',
      label: run.command,
      unit: 'bytes',
      done: done.reduce((a, b) => a + b, 0),
      rate: 0,
      state: 'writing',
    };
    out.push(
      line(30, run.start + elapsedMs, 'progress', {
        progress: { step: run.command, phase: 'copy', message: undefined, elapsedMs, total, tracks },
      }),
    );
    if (i === Math.floor(run.samples / 2))
      for (const w of run.warnings ?? []) out.push(line(40, run.start + elapsedMs, w));
  }
  if (run.exitCode !== undefined)
    out.push(line(30, run.start + run.samples * run.intervalMs + 10, 'end', { exitCode: run.exitCode }));
  return out;
}

/** Write a run's log as `<sessionDir>/logs/<start>-<command>.jsonl`; returns its path. */
export function writeRunLog(sessionDir: string, run: SyntheticRun, tail = ''): string {
  mkdirSync(`${sessionDir}/logs`, { recursive: true });
  const stamp = new Date(run.start).toISOString().replace(/[:.]/g, '-');
  const path = `${sessionDir}/logs/${stamp}-${run.command}.jsonl`;
  writeFileSync(path, `${runLogLines(run).join('\n')}\n${tail}`);
  return path;
}
