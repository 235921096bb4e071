/**
 * What becomes of a file that cannot be copied as it is: its part on the drive being filled is
 * discarded, and it is copied again from its start (it changed, or its drive failed) or skipped
 * (unreadable, vanished, kept changing), each journaled.
 */
import type { FileStat } from '../../native/interfaces.js';
import { errnoCode } from '../errors/errors.js';
import { EMPTY_FILE, metadataFileOf } from '../journal/drive-blobs.js';
import { RecordType } from '../journal/record-codec.js';
import { metaToJson, posixMetaOf } from '../manifest/blob-metadata.js';
import type { CurrentDrive } from './drive-coordinator.js';
import { MAX_COPY_ATTEMPTS, type CopyRun, type LiveFile } from './copy-run.js';

export class FileOutcomes {
  readonly #run: CopyRun;

  constructor(run: CopyRun) {
    this.#run = run;
  }

  /**
   * Remove `f`'s part from the drive being filled: its data file (never the shared empty one) and
   * its metadata file.
   */
  async discard(cur: CurrentDrive, f: LiveFile): Promise<void> {
    const rel = this.#run.driveRel(f);
    if (rel !== EMPTY_FILE) await cur.writer.discard(f.id, rel);
    const meta = metadataFileOf(this.#run.o.naming, this.#run.naming(f));
    if (meta) await cur.writer.discardSmall(meta.path);
  }

  /** Copy a changed file again from its start, or skip it when that is not possible. */
  async restart(f: LiveFile, why: string): Promise<boolean> {
    const run = this.#run;
    const active = run.s.state.active.get(f.id);
    const cur = run.openPartDrive(active);
    const elsewhere = active?.segments.some((g) => g.drive !== cur?.state.seq);
    if (elsewhere) {
      await this.skip(f, `changed while being copied (${why}) after part of it was sealed on another drive`);
      return false;
    }
    if (f.attempts + 1 >= MAX_COPY_ATTEMPTS) {
      await this.skip(f, `kept changing while being copied (${why}); copy it when it is stable`);
      return false;
    }
    let s: FileStat;
    try {
      s = await run.deps.fs.lstat(f.abs);
    } catch (err) {
      await this.skip(f, `vanished while being copied (${errnoCode(err) ?? 'error'})`);
      return false;
    }
    f.attempts++;
    f.gen++;
    f.size = entrySize(s);
    f.mtimeMs = s.mtimeMs;
    f.ino = s.ino;
    f.meta = metaToJson(posixMetaOf(s));
    if (cur && active && active.segments.length > 0) await this.discard(cur, f);
    // Journaled even when no part of it was recorded yet: readers take a part's generation as
    // final only when the journal says so (a restart before the first record left the next
    // copy's parts out of the manifest, and restore one file short).
    run.record({
      type: RecordType.FileRestarted,
      file: f.id,
      gen: f.gen,
      reason: why,
      size: f.size,
      mtimeMs: f.mtimeMs,
      ino: f.ino,
    });
    run.io.notice('warning', `${f.path} changed while being copied; copying it again`);
    run.release(f);
    run.feed?.giveBack({ f, from: 0 });
    return true;
  }

  /**
   * `f` had parts on the drive `cur`, which failed: it starts again on the other drives, or is
   * skipped when a part of it is on another drive too.
   */
  async restartAfterDriveFailed(cur: CurrentDrive, f: LiveFile, partsElsewhere: boolean): Promise<void> {
    const run = this.#run;
    if (partsElsewhere) {
      await this.skip(
        f,
        `part of it was on drive ${cur.state.driveId}, which failed, and part on another drive; ` +
          'copy it with seedship sync after the import',
      );
      return;
    }
    f.gen++;
    run.record({
      type: RecordType.FileRestarted,
      file: f.id,
      gen: f.gen,
      reason: `drive ${cur.state.driveId} failed`,
      size: f.size,
      mtimeMs: f.mtimeMs,
      ino: f.ino,
    });
    run.release(f);
    run.feed?.giveBack({ f, from: 0 });
  }

  async skip(f: LiveFile, reason: string): Promise<void> {
    const run = this.#run;
    const active = run.s.state.active.get(f.id);
    const cur = run.openPartDrive(active);
    if (active && cur) await this.discard(cur, f);
    run.record({ type: RecordType.FileSkipped, file: f.id, path: f.path, reason });
    run.feed?.settle(f);
    run.live.delete(f.id);
    for (const l of run.lanes.values()) l.held.delete(f);
    run.skipped.push({ path: f.path, reason });
    run.io.notice('warning', `skipped ${f.path}: ${reason}`);
  }
}

/** The size an entry's blob holds: a file's bytes, a symlink's target, nothing for the others. */
export function entrySize(st: FileStat): number {
  return st.kind === 'file' || st.kind === 'symlink' ? st.size : 0;
}
