/** Helpers for a step's progress board. */
import { ProgressBoard, type ProgressTrack } from './progress.js';

/**
 * A clock that never moves, for a board nobody watches: a step called without a board (the
 * demo, a test, prepare's read-back) still counts into one, so its code has no branch for "no
 * progress wanted", and no time is read for it.
 */
const STILL = { now: () => 0, monotonic: () => 0 };

/** The board a step counts on: the caller's, or one of its own that nobody reads. */
export function boardFor(step: string, board: ProgressBoard | undefined): ProgressBoard {
  return board ?? new ProgressBoard(step, STILL);
}

/** The sum of the tracks' totals; undefined while any of them is unknown. */
export function sumOfTotals(tracks: readonly ProgressTrack[]): number | undefined {
  let sum = 0;
  for (const t of tracks) {
    if (t.total === undefined) return undefined;
    sum += t.total;
  }
  return sum;
}
