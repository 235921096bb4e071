/**
 * Placing one encoded chunk on a pump's drive: a chunk superseded (its file restarted, skipped or
 * handed to another pump) is dropped; a chunk that failed to encode restarts or skips its file; a
 * chunk that does not fit stops the drive as full, or hands an unsplittable file to another
 * drive; the rest is written (or linked to a name already there), counted, and its drive synced
 * at its pace (group commit per drive).
 */
import type { EncodeResult } from '../../native/interfaces.js';
import { errnoCode, SeedshipError } from '../errors/errors.js';
import { metadataFileOf } from '../journal/drive-blobs.js';
import { driveRoom } from '../drives/drive-space.js';
import { formatBytes } from '../util/size.js';
import type { CurrentDrive } from './drive-coordinator.js';
import type {
  ChunkJob,
  ChunkPlace,
  ChunkToWrite,
  CopyRun,
  EncodedChunk,
  Lane,
  LiveFile,
  Prewrite,
} from './copy-run.js';
import type { CopyProgress } from './copy-progress.js';
import type { ChunkWrites } from './chunk-writes.js';
import type { FileOutcomes } from './file-outcomes.js';
import type { HardLinks } from './hard-links.js';
import type { Prewrites } from './prewrites.js';

/**
 * A drive with at least this much room goes on taking files after one that the documented format
 * cannot split did not fit (another drive takes that one); with less it counts as full.
 */
const HAND_OFF_MIN_ROOM_BYTES = 64 * 1024 * 1024;

/** What placing a chunk needs besides the run. */
export interface PlacementParts {
  readonly outcomes: FileOutcomes;
  readonly writes: ChunkWrites;
  readonly links: HardLinks;
  readonly prewrites: Prewrites;
  readonly progress: CopyProgress;
}

export class ChunkPlacement {
  readonly #run: CopyRun;
  readonly #p: PlacementParts;

  constructor(run: CopyRun, parts: PlacementParts) {
    this.#run = run;
    this.#p = parts;
  }

  /**
   * Place and write one chunk on `lane`'s drive; `onlyWritten`: only a whole file a worker already
   * wrote there.
   */
  async handle(lane: Lane, job: ChunkJob, res: EncodeResult, onlyWritten = false): Promise<void> {
    const f = job.f;
    // A file the worker wrote is this loop's to record or to remove from here on.
    const pre = this.#p.prewrites.claim(job, res);
    // Superseded by a restart or skip, or handed to another drive's pump.
    if (this.#superseded(lane, job)) return this.#p.prewrites.remove(pre);
    if (onlyWritten && !this.#recordsAsWritten(lane, f, pre)) return this.#p.prewrites.remove(pre);
    if (!res.ok) {
      if (res.reason === 'unreadable') await this.#p.outcomes.skip(f, `unreadable (${res.errno ?? res.message})`);
      else await this.#p.outcomes.restart(f, res.message);
      return;
    }
    const cur = lane.cur;
    const at = this.#placeOf(cur, f);
    const fit = this.#p.writes.fits(cur.state, job, res, at);
    if (fit !== 'yes') {
      await this.#p.prewrites.remove(pre); // it would stay on a drive about to be sealed
      this.#noRoom(lane, job, res, fit);
      return;
    }
    if (!(await this.#writeChunk(lane, { cur, job, res, at }, pre, onlyWritten))) return;
    if (job.last) lane.held.delete(f);
    this.#p.progress.bump(cur.state, cur.writer.root);
    // Group commit per drive, beside the copy; a drive with two intervals unsynced makes its pump
    // wait, so the pump takes files at the pace its drive writes them, the other drives the rest.
    await this.#run.syncs.afterWrite(cur);
  }

  /** The chunk's file was restarted or skipped since, or handed to another drive's pump. */
  #superseded(lane: Lane, job: ChunkJob): boolean {
    const f = job.f;
    return this.#run.live.get(f.id) !== f || f.gen !== job.gen || f.owner !== lane;
  }

  /**
   * On a full drive: whether `f` was written ahead there as the whole file it is, metadata file
   * included, so that recording it needs no more room or inodes.
   */
  #recordsAsWritten(lane: Lane, f: LiveFile, pre: Prewrite | undefined): boolean {
    const run = this.#run;
    if (pre === undefined || pre.drive !== lane.cur.state.seq || run.s.state.active.has(f.id)) return false;
    return pre.meta !== undefined || metadataFileOf(run.o.naming, run.naming(f)) === undefined;
  }

  /** Where a chunk of `f` goes on `cur`: the part it continues there, if any. */
  #placeOf(cur: CurrentDrive, f: LiveFile): ChunkPlace {
    const active = this.#run.s.state.active.get(f.id);
    const last = active?.segments[active.segments.length - 1];
    const seg = last && last.drive === cur.state.seq ? last : undefined;
    return { seg, active };
  }

  /**
   * A chunk that does not fit on its pump's drive: an unsplittable file goes to another drive
   * while this one has room; else the drive is full (or, being the only one and empty, unsuitable).
   */
  #noRoom(lane: Lane, job: ChunkJob, res: EncodedChunk, fit: 'no' | 'not-whole'): void {
    const f = job.f;
    const cur = lane.cur;
    if (fit === 'not-whole' && driveRoom(cur.state) >= HAND_OFF_MIN_ROOM_BYTES) {
      // A block blob the documented format cannot split, larger than this drive's room: another
      // drive takes it, this one goes on with smaller files.
      f.owner = undefined;
      lane.held.delete(f);
      this.#run.feed!.giveBack({ f, from: job.index, notOn: new Set([cur.state.seq]) });
      return;
    }
    if (cur.state.segments === 0 && this.#run.drives.open.size <= 1) throw unsuitable(cur, f, res, fit);
    lane.stopped = 'full';
  }

  /**
   * Write the chunk (or link it to a name already on the drive). False when the drive turned out
   * full (ENOSPC): the chunk is rolled back and the drive stops as full.
   */
  async #writeChunk(lane: Lane, c: ChunkToWrite, pre: Prewrite | undefined, onlyWritten: boolean): Promise<boolean> {
    const { cur, job, at } = c;
    const primary = onlyWritten ? undefined : this.#p.links.targetOf(c);
    // Written ahead on this drive as the whole file it is: nothing left to write.
    const written = !primary && pre !== undefined && pre.drive === cur.state.seq && !at.seg;
    if (!written) await this.#p.prewrites.remove(pre);
    try {
      if (primary) await this.#p.links.writeLink(c, primary);
      else await this.#p.writes.write(c, written);
    } catch (err) {
      // The rollback removes the drive file, written ahead or not.
      if (errnoCode(err) !== 'ENOSPC') throw err;
      // A drive fuller than its accounting (someone else wrote to it): roll back this chunk and
      // let the other drives go on; the reserve file keeps room for this drive's manifest.
      await this.#p.writes.rollback(cur, job.f, at.seg);
      this.#run.io.notice(
        'warning',
        `drive ${cur.state.driveId} ran out of space before seedship expected (ENOSPC); sealing it and going on`,
      );
      lane.stopped = 'full';
      return false;
    }
    return true;
  }
}

/** The error for a chunk that fits on no drive of this size: the only drive, and empty. */
function unsuitable(cur: CurrentDrive, f: LiveFile, res: EncodedChunk, fit: 'no' | 'not-whole'): SeedshipError {
  if (fit === 'not-whole') {
    return new SeedshipError(
      'E_DRIVE_UNSUITABLE',
      `${f.path} (${formatBytes(f.size)}) is larger than drive ${cur.state.driveId} can hold, and ` +
        '--service-strict does not split block blobs; use a larger drive or leave out --service-strict',
      { path: f.path },
    );
  }
  return new SeedshipError(
    'E_DRIVE_UNSUITABLE',
    `drive ${cur.state.driveId} (${cur.writer.root}) is too small to hold one ` +
      `${formatBytes(res.stored.length)} block of ${f.path} with its manifest; ` +
      'use a larger drive (or a larger --drive-limit)',
    { path: cur.writer.root },
  );
}
