import type { ProgressEvent } from '../core/index.js';
import { formatBytes, formatDuration } from '../core/index.js';
import type { CliContext } from './context.js';

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

  constructor(ctx: CliContext, json: boolean) {
    this.#ctx = ctx;
    this.#json = json;
    this.#live = !json && Boolean((ctx.stderr as { isTTY?: boolean }).isTTY);
  }

  update(e: ProgressEvent): void {
    const now = this.#ctx.deps.clock.monotonic();
    const phaseChanged = e.phase !== this.#lastPhase || e.message !== undefined;
    if (!phaseChanged && now - this.#lastAt < 250) return;
    this.#lastAt = now;
    this.#lastPhase = e.phase;
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
