/**
 * The copy's progress: each drive's track on the board (its bytes, fill and state) and the
 * totals, updated after each chunk written; a viewer reads them on its own cadence.
 */
import type { DriveState, JournalState } from '../journal/journal-state.js';
import { driveRoom } from '../drives/drive-space.js';
import type { ProgressBoard, ProgressTrack } from '../util/progress.js';

export class CopyProgress {
  readonly #board: ProgressBoard;
  readonly #state: JournalState;
  /** Each drive's progress track, by sequence number. */
  readonly #tracks = new Map<number, ProgressTrack>();

  constructor(board: ProgressBoard, state: JournalState) {
    this.#board = board;
    this.#state = state;
  }

  /** A drive's track on the board, made when the drive is first seen. */
  track(d: DriveState, root: string): ProgressTrack {
    let t = this.#tracks.get(d.seq);
    if (!t) {
      t = this.#board.track({ key: d.driveId, label: `${d.driveId} ${root}`, unit: 'bytes', capacity: d.budget });
      t.setFill(d.usedBytes, d.budget);
      this.#tracks.set(d.seq, t);
    }
    return t;
  }

  /** After each chunk written: counters only (a viewer reads them on its own cadence). */
  bump(d: DriveState, root: string): void {
    const st = this.#state;
    const all = this.#board.total;
    all.set(st.rawDone);
    all.setItems(st.filesDone);
    const t = this.track(d, root);
    t.set(d.storedBytes);
    // Its ETA is the time until it is full at the rate it is written now.
    t.setTotal(d.storedBytes + Math.max(0, driveRoom(d)));
    t.setFill(d.usedBytes, d.budget);
    // Back to copying after a seal or read-back while no drive was being filled.
    if (this.#board.phase !== 'copy') this.#board.setPhase('copy');
  }
}
