// Progress of a long step: live lines on a terminal, plain lines or JSON events otherwise, samples in the run log.
import cliProgress from 'cli-progress';
import { clearScreenDown } from 'node:readline';
import { ProgressBoard, usageError, type PhaseChange, type TrackInit } from '../../core/index.js';
import type { CliContext } from './context.js';
import { printNotice } from './output.js';
import { fitWidth, liveStepLine, liveTrackLine, plainLine } from './progress-format.js';

/** Seconds between plain lines (and `--json` progress events) when nothing else is said. */
export const DEFAULT_PROGRESS_INTERVAL_S = 10;
/** The run log keeps a sample this often: the report draws its throughput chart from them. */
const LOG_SAMPLE_MS = 5_000;
/** The live display's refresh, four times a second: smooth enough, cheap enough. */
const LIVE_FPS = 4;

const intervals = new WeakMap<CliContext, number>();

/** Parse a number of seconds for `--progress-interval` / SEEDSHIP_PROGRESS_INTERVAL; undefined when it is not one. */
export function parseIntervalSeconds(value: string): number | undefined {
  const n = Number(value.trim());
  return value.trim() !== '' && Number.isFinite(n) && n >= 0.1 && n <= 86_400 ? n : undefined;
}

/** `--progress-interval` of this run (the global option), which wins over the environment. */
export function setProgressInterval(ctx: CliContext, seconds: number): void {
  intervals.set(ctx, seconds);
}

/** Milliseconds between plain lines: `--progress-interval`, else SEEDSHIP_PROGRESS_INTERVAL, else 10 s. */
export function progressIntervalMs(ctx: CliContext): number {
  const given = intervals.get(ctx);
  if (given !== undefined) return given * 1000;
  const env = ctx.env.SEEDSHIP_PROGRESS_INTERVAL;
  if (env === undefined || env === '') return DEFAULT_PROGRESS_INTERVAL_S * 1000;
  const s = parseIntervalSeconds(env);
  if (s === undefined) {
    const what = `SEEDSHIP_PROGRESS_INTERVAL=${JSON.stringify(env)}`;
    throw usageError(`${what} is not a number of seconds (0.1 to 86400); set it to e.g. 10, or unset it`);
  }
  return s * 1000;
}

/**
 * What a command holds while its long step runs: the board core counts on, a way to show a
 * message without breaking the live display, and `done` to end the display.
 */
export interface StepView {
  readonly board: ProgressBoard;
  note(level: 'info' | 'warning', message: string): void;
  /** Take the live lines off the terminal (before a prompt); `resume` draws them again. No-op without a terminal. */
  pause(): void;
  resume(): void;
  /** End the display (clears the live lines) and write a last sample to the run log. */
  done(): void;
}

/**
 * Start showing the progress of `step`, read from its board on the viewer's own cadence:
 * - on a terminal (stderr is a TTY, no --json): a live display, one line for the step and one per
 *   track, redrawn 4 times a second by cli-progress; notes are printed above it;
 * - without one: a plain line at every phase change and every interval (10 s; `--progress-interval`,
 *   SEEDSHIP_PROGRESS_INTERVAL);
 * - with --json: the same as JSON lines on stderr (`phase` and `progress` events, docs/progress.md).
 * The run log gets every phase change and a sample every 5 s, at each phase change and at the end.
 * Timers are unref'd: a view never keeps the process alive.
 */
export function startProgress(
  ctx: CliContext,
  step: string,
  opts: { json: boolean; total?: Omit<TrackInit, 'key'> },
): StepView {
  const board = new ProgressBoard(step, ctx.deps.clock, opts.total);
  const intervalMs = progressIntervalMs(ctx);
  const tty = !opts.json && (ctx.stderr as { isTTY?: boolean }).isTTY === true;
  const live = tty ? new LiveDisplay(ctx, board) : undefined;
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, f: () => void) => {
    const t = setInterval(f, ms);
    t.unref();
    timers.push(t);
  };
  const sampleToLog = () => ctx.log.progress(board.snapshot());
  every(LOG_SAMPLE_MS, sampleToLog);
  const progressEvent = () => `${JSON.stringify({ type: 'progress', ...board.snapshot() })}\n`;
  if (opts.json) every(intervalMs, () => ctx.stderr.write(progressEvent()));
  else if (!tty) every(intervalMs, () => ctx.stderr.write(`${plainLine(board.snapshot())}\n`));

  board.onPhase((change: PhaseChange) => {
    ctx.log.phase(change);
    const snap = board.snapshot();
    ctx.log.progress(snap);
    if (opts.json) ctx.stderr.write(`${JSON.stringify({ type: 'phase', ...change })}\n`);
    else if (!tty) ctx.stderr.write(`${plainLine(snap)}\n`);
  });
  live?.start();
  let ended = false;
  return {
    board,
    note(level, message) {
      // printNotice keeps the message in the run log itself; the live path has to say it there too.
      if (!live?.running) return printNotice(ctx, opts.json, level, message);
      ctx.log[level === 'warning' ? 'warn' : 'info'](message);
      live.log(`seedship: ${level === 'warning' ? 'warning: ' : ''}${message}`);
    },
    pause() {
      live?.stop();
    },
    resume() {
      if (!ended) live?.start();
    },
    done() {
      if (ended) return;
      ended = true;
      for (const t of timers) clearInterval(t);
      live?.stop();
      const snap = board.snapshot();
      ctx.log.progress(snap);
      if (opts.json) ctx.stderr.write(`${JSON.stringify({ type: 'progress', ...snap })}\n`);
    },
  };
}

/**
 * The live lines on a terminal: cli-progress's MultiBar draws them and keeps messages above them
 * (its log buffer); each of its redraws first reads the board, so one timer (cli-progress's own,
 * unref'd here) does both. The lines are cut to the terminal's width, so none wraps.
 */
class LiveDisplay {
  readonly #ctx: CliContext;
  readonly #board: ProgressBoard;
  #multi: cliProgress.MultiBar | undefined;
  readonly #bars = new Map<string, cliProgress.SingleBar>();
  /** Messages wait in cli-progress's buffer for the next redraw. */
  #logged = false;
  /** A process that exits with the lines up (a second Ctrl-C) still takes them off and shows the cursor. */
  readonly #onExit = () => this.stop();

  constructor(ctx: CliContext, board: ProgressBoard) {
    this.#ctx = ctx;
    this.#board = board;
  }

  get running(): boolean {
    return this.#multi !== undefined;
  }

  start(): void {
    if (this.#multi) return;
    const multi = new cliProgress.MultiBar({
      stream: this.#ctx.stderr,
      fps: LIVE_FPS,
      format: (_o: unknown, _p: unknown, payload: { line?: string }) => payload.line ?? '',
      hideCursor: true,
      clearOnComplete: true,
      // Every line again at each redraw: a message printed above shifts them all down one line.
      forceRedraw: true,
      // Leave the terminal's wrapping alone (a killed run must not leave it off); lines are cut instead.
      linewrap: true,
      // Ctrl-C is the command's to handle (it stops cleanly and calls done()).
      gracefulExit: false,
    });
    const unref = () => (multi as unknown as { timer?: NodeJS.Timeout | null }).timer?.unref();
    multi.on('update-pre', () => this.#refresh());
    // cli-progress prints buffered messages from the first live line down, clearing only that one
    // line: clear them all first, or a second message line lands on what is left of a live line.
    multi.on('redraw-pre', () => {
      if (!this.#logged) return;
      this.#logged = false;
      clearScreenDown(this.#ctx.stderr);
    });
    multi.on('update-post', unref);
    this.#multi = multi;
    process.once('exit', this.#onExit);
    this.#refresh();
    multi.update(); // drawn at once, not a quarter second later (after a prompt, say)
    unref();
  }

  /** Print a message above the live lines (at the next redraw, a quarter second at most). */
  log(line: string): void {
    if (!this.#multi) return;
    this.#logged = true;
    this.#multi.log(`${line}\n`);
  }

  /** Take the lines off the terminal; messages still buffered are printed first. */
  stop(): void {
    const multi = this.#multi;
    if (!multi) return;
    process.removeListener('exit', this.#onExit);
    multi.update();
    multi.stop();
    this.#multi = undefined;
    this.#bars.clear();
  }

  #refresh(): void {
    const multi = this.#multi;
    if (!multi) return;
    const snap = this.#board.snapshot();
    // A pseudo-terminal without a size says 0 columns: take 80, as cli-progress does.
    const width = Math.max(20, ((this.#ctx.stderr as { columns?: number }).columns || 80) - 1);
    const lines = new Map<string, string>([['\0step', liveStepLine(snap)]]);
    for (const t of snap.tracks) lines.set(t.key, liveTrackLine(t));
    for (const [key, bar] of this.#bars) {
      if (lines.has(key)) continue;
      this.#bars.delete(key);
      // Not inside this redraw: removing redraws at once.
      queueMicrotask(() => {
        if (this.#multi === multi) multi.remove(bar);
      });
    }
    for (const [key, line] of lines) {
      const payload = { line: fitWidth(line, width) };
      const bar = this.#bars.get(key);
      if (bar) bar.update(0, payload);
      else this.#bars.set(key, multi.create(1, 0, payload));
    }
  }
}
