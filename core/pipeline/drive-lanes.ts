/**
 * The pump of each drive being filled (its lane): it pulls files from the feed, has their chunks
 * encoded in its window and places them on its drive in order; when its drive is full or failed,
 * what it pulled and did not finish goes back to the feed, and a full drive is closed.
 */
import type { EncodeResult } from '../../native/interfaces.js';
import { RecordType } from '../journal/record-codec.js';
import type { CurrentDrive } from './drive-coordinator.js';
import { isDriveFault } from './drive-faults.js';
import type { ChunkJob, CopyRun, Lane } from './copy-run.js';
import type { ChunkWindow } from './chunk-window.js';
import type { ChunkPlacement } from './chunk-placement.js';
import type { CopyProgress } from './copy-progress.js';
import type { DriveClosing } from './drive-closing.js';
import type { FileSource } from './file-source.js';
import type { Prewrites } from './prewrites.js';

/** What the lanes need besides the run. */
export interface LaneParts {
  readonly source: FileSource;
  readonly window: ChunkWindow;
  readonly placement: ChunkPlacement;
  readonly prewrites: Prewrites;
  readonly closing: DriveClosing;
  readonly progress: CopyProgress;
}

export class DriveLanes {
  readonly #run: CopyRun;
  readonly #p: LaneParts;

  constructor(run: CopyRun, parts: LaneParts) {
    this.#run = run;
    this.#p = parts;
  }

  /** One drive's pump, then, when its drive is full, its seal and read-back. */
  async runLane(cur: CurrentDrive): Promise<void> {
    const run = this.#run;
    const lane: Lane = { cur, stopped: undefined, held: new Set() };
    run.lanes.set(cur.state.seq, lane);
    this.#p.progress.track(cur.state, cur.writer.root).setState('writing');
    try {
      await this.#pump(lane);
    } catch (err) {
      if (!isDriveFault(err, cur.writer.root)) throw err;
      lane.stopped = 'failed';
      run.faults.set(cur.state.seq, err);
    } finally {
      run.lanes.delete(cur.state.seq);
      // Recorded before its unfinished files go on elsewhere: their later parts follow it in the
      // journal, and restore and import read drives in the order they were closed.
      if (lane.stopped === 'full' && cur.state.segments > 0)
        run.record({ type: RecordType.DriveFull, drive: cur.state.seq });
      this.#giveBackHeld(lane);
    }
    if (lane.stopped === 'full') await this.#p.closing.closeDrive(cur);
  }

  /** What a stopped pump pulled and did not finish goes back to the feed, to be continued on another drive. */
  #giveBackHeld(lane: Lane): void {
    const run = this.#run;
    const seq = lane.cur.state.seq;
    for (const f of lane.held) {
      if (f.owner !== lane) continue;
      f.owner = undefined;
      if (run.live.get(f.id) !== f) continue;
      const active = run.s.state.active.get(f.id);
      // Parts on a drive that failed: failing the drive starts the file again.
      if (lane.stopped === 'failed' && active?.segments.some((g) => g.drive === seq)) continue;
      run.feed!.giveBack({
        f,
        from: active?.nextIndex ?? 0,
        ...(lane.stopped ? { notOn: new Set([seq]) } : {}),
      });
    }
  }

  async #pump(lane: Lane): Promise<void> {
    const window = this.#p.window.open(this.#laneSource(lane), lane);
    try {
      for await (const { item: batch, result } of window) {
        for (let i = 0; i < batch.length; i++) await this.#placeOne(lane, batch[i]!, result[i]!);
        if (lane.stopped === 'failed') break;
      }
    } finally {
      // Files written ahead onto this drive whose results were never handled (the drive filled,
      // or an error): nothing records them, so they must not stay on the drive.
      await this.#p.prewrites.removeUnhandled(lane.cur.writer.root, true);
    }
  }

  /** Place one encoded chunk as far as its pump's drive still takes chunks. */
  async #placeOne(lane: Lane, job: ChunkJob, r: EncodeResult): Promise<void> {
    try {
      if (!lane.stopped) await this.#p.placement.handle(lane, job, r);
      // A full drive still records the files workers already wrote whole onto it (they
      // need no more room or inodes); a failed one keeps nothing.
      else if (lane.stopped === 'full') await this.#p.placement.handle(lane, job, r, true);
      else await this.#p.prewrites.drop(job, r);
    } finally {
      // Every write of the chunk has completed (they are awaited): its buffer can go again.
      this.#p.window.release(r);
    }
  }

  /** The chunks a pump copies: files from the feed, each from where it is to go on. */
  async *#laneSource(lane: Lane): AsyncGenerator<ChunkJob> {
    const run = this.#run;
    while (!lane.stopped) {
      const w = await run.feed!.next(lane.cur.state.seq);
      if (!w) return;
      if (run.live.get(w.f.id) !== w.f) continue;
      w.f.owner = lane;
      lane.held.add(w.f);
      yield* this.#p.source.chunksOf(w.f, w.from, lane);
    }
  }
}
