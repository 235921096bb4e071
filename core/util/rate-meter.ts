/**
 * Observed throughput over a sliding window (default 15 s), so an ETA follows what the drive does
 * now — inner tracks, an SSD's cache running out, an SMR drive — rather than a constant.
 */
export class RateMeter {
  readonly #samples: { t: number; v: number }[] = [];
  readonly #windowMs: number;

  constructor(windowMs = 15_000) {
    this.#windowMs = windowMs;
  }

  /** Record the running total `value` at time `t` (ms). */
  add(t: number, value: number): void {
    const last = this.#samples[this.#samples.length - 1];
    // A counter that went back started over (a drive's read-back after its copy): so does its rate.
    if (last && value < last.v) {
      this.#samples.length = 0;
      this.#samples.push({ t, v: value });
      return;
    }
    if (last && t - last.t < 200) {
      last.v = value;
      return;
    }
    this.#samples.push({ t, v: value });
    while (this.#samples.length > 2 && t - this.#samples[0]!.t > this.#windowMs) this.#samples.shift();
  }

  /** Units per second, 0 until two samples a second apart exist. */
  rate(): number {
    const a = this.#samples[0];
    const b = this.#samples[this.#samples.length - 1];
    if (!a || !b || b.t - a.t < 1000) return 0;
    return ((b.v - a.v) * 1000) / (b.t - a.t);
  }
}
