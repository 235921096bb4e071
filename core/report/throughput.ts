/** Turns the run logs' samples into throughput lines per drive for the report's chart. */
import type { DriveSample } from './run-logs.js';

/** One point of a drive's throughput line. */
export interface ThroughputPoint {
  /** Elapsed working time (ms): the time of every logged step, end to end, without the gaps between runs. */
  readonly t: number;
  /** Bytes a second between this sample and the one before it. */
  readonly bytesPerSecond: number;
}

/** Series come in the order of `samples` (the report gives them in drive order). */
export interface ThroughputSeries {
  /** The track's key (a drive id). */
  readonly key: string;
  readonly label: string;
  /** Runs of consecutive samples; the line breaks between them (another run, another step). */
  readonly segments: ThroughputPoint[][];
}

export interface Throughput {
  readonly series: ThroughputSeries[];
  /** Where each step after the first begins on the time axis (ms), with its step name. */
  readonly boundaries: { readonly t: number; readonly step: string }[];
  /** Length of the time axis (ms). */
  readonly spanMs: number;
}

/**
 * Per-drive throughput from progress samples: bytes written between two consecutive samples of
 * the same step over the time between them (the board's own elapsed time, which no clock change
 * can bend). The steps are laid end to end so that a night's copy and the next morning's resume
 * share one axis without the idle hours between them.
 */
export function throughputOf(
  samples: ReadonlyMap<string, readonly DriveSample[]>,
  labels: ReadonlyMap<string, string>,
): Throughput {
  const boards = new Map<number, { min: number; max: number; step: string }>();
  for (const list of samples.values()) {
    for (const s of list) {
      const b = boards.get(s.board);
      if (!b) boards.set(s.board, { min: s.elapsedMs, max: s.elapsedMs, step: s.step });
      else {
        b.min = Math.min(b.min, s.elapsedMs);
        b.max = Math.max(b.max, s.elapsedMs);
      }
    }
  }
  const offset = new Map<number, number>();
  const boundaries: { t: number; step: string }[] = [];
  let at = 0;
  for (const [id, b] of [...boards.entries()].sort((x, y) => x[0] - y[0])) {
    if (offset.size > 0) boundaries.push({ t: at, step: b.step });
    offset.set(id, at - b.min);
    at += b.max - b.min;
  }
  const series: ThroughputSeries[] = [];
  for (const [key, list] of samples) {
    const segments: ThroughputPoint[][] = [];
    let current: ThroughputPoint[] = [];
    let prev: DriveSample | undefined;
    for (const s of list) {
      const dt = prev && prev.board === s.board ? s.elapsedMs - prev.elapsedMs : -1;
      if (prev && dt > 0 && s.done >= prev.done) {
        const t = s.elapsedMs + (offset.get(s.board) ?? 0);
        current.push({ t, bytesPerSecond: ((s.done - prev.done) * 1000) / dt });
      } else if (!prev || dt < 0 || s.done < prev.done) {
        // Another step, or a counter that started again: the line breaks here.
        if (current.length > 0) segments.push(current);
        current = [];
      }
      // dt === 0 (two samples at once): keep the earlier one as the base.
      if (!prev || dt !== 0) prev = s;
    }
    if (current.length > 0) segments.push(current);
    series.push({ key, label: labels.get(key) ?? key, segments });
  }
  return { series, boundaries, spanMs: at };
}
