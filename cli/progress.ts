import type { ProgressEvent } from '../core/index.js';
import { formatBytes, formatDuration } from '../core/index.js';
import { ProgressBoard, type TrackInit } from '../core/index.js';
import type { CliContext } from './context.js';
import { printNotice } from './output.js';

/**
 * Progress for people (one live line on a TTY, rewritten in place) or machines (`--json`: JSON
 * lines on stderr, at most 4 a second plus every phase change). Silent when neither applies.
 */
export class ProgressView {
  readonly #ctx: CliContext;
  readonly #json: boolean;
  readonly #live: boolean;
  #lastAt = 0;
  #lastPhase = '';
  #lineOpen = false;
  readonly #startedAt: number;

  constructor(ctx: CliContext, json: boolean) {
    this.#ctx = ctx;
    this.#startedAt = ctx.deps.clock.monotonic();
    this.#json = json;
    this.#live = !json && Boolean((ctx.stderr as { isTTY?: boolean }).isTTY);
  }

  update(e: ProgressEvent): void {
    const now = this.#ctx.deps.clock.monotonic();
    const phaseChanged = e.phase !== this.#lastPhase || e.message !== undefined;
    const elapsedMs = Math.round(now - this.#startedAt);
    if (phaseChanged) this.#ctx.log.phase({ step: 'prepare', phase: e.phase, message: e.message, elapsedMs });
    if (!phaseChanged && now - this.#lastAt < 250) return;
    this.#lastAt = now;
    this.#lastPhase = e.phase;
    this.#ctx.log.debug('sample', { sample: e });
    if (this.#json) {
      this.#ctx.stderr.write(JSON.stringify({ type: 'progress', ...e }) + '\n');
      return;
    }
    if (!this.#live) {
      if (e.message) this.note(e.message);
      return;
    }
    this.#ctx.stderr.write('\r\x1b[2K' + ProgressView.line(e));
    this.#lineOpen = true;
  }

  /** A message between progress lines. */
  note(text: string): void {
    if (this.#lineOpen) this.#ctx.stderr.write('\r\x1b[2K');
    this.#lineOpen = false;
    this.#ctx.stderr.write(text + '\n');
  }

  done(): void {
    if (this.#lineOpen) this.#ctx.stderr.write('\r\x1b[2K');
    this.#lineOpen = false;
  }

  static line(e: ProgressEvent): string {
    if (e.phase !== 'copy') return e.message ?? e.phase;
    const pct = e.rawTotal > 0 ? Math.min(100, (100 * e.rawDone) / e.rawTotal) : 100;
    const d = e.drive;
    const fill = d && d.budget > 0 ? ` | ${d.driveId} ${formatBytes(d.written)} (${Math.min(100, (100 * (d.budget - d.room)) / d.budget).toFixed(0)}% full)` : '';
    const rate = e.rate > 0 ? `${formatBytes(e.rate)}/s` : '…';
    const eta = e.etaSeconds !== undefined ? ` ETA ${formatDuration(e.etaSeconds)}` : '';
    return `${pct.toFixed(1)}% ${formatBytes(e.rawDone)}/${formatBytes(e.rawTotal)} files ${e.filesDone}/${e.filesTotal} ${rate}${eta}${fill}`;
  }
}

/**
 * What a command holds while its long step runs: the board core counts on, a way to show a
 * message without breaking the live display, and `done` to end the display.
 */
export interface StepView {
  readonly board: ProgressBoard;
  note(level: 'info' | 'warning', message: string): void;
  /** End the display (clears the live lines) and write a last sample to the run log. */
  done(): void;
}

/**
 * Start showing the progress of `step`. First implementation (the contract): phase changes as
 * lines (or JSON events with --json), notes as notices, phases and a last sample into the run log.
 * The live multi-line display and the periodic plain lines replace it.
 */
export function startProgress(ctx: CliContext, step: string, opts: { json: boolean; total?: Omit<TrackInit, 'key'> }): StepView {
  const board = new ProgressBoard(step, ctx.deps.clock, opts.total);
  board.onPhase((change) => {
    ctx.log.phase(change);
    if (opts.json) ctx.stderr.write(JSON.stringify({ type: 'phase', ...change }) + '\n');
  });
  return {
    board,
    note(level, message) {
      // printNotice keeps it in the run log as well.
      printNotice(ctx, opts.json, level, message);
    },
    done() {
      ctx.log.progress(board.snapshot());
    },
  };
}
