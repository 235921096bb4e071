/**
 * The end of a drive's filling: a full drive is sealed (its manifest written, journaled sealed)
 * and read back; a drive that met a fault (EIO, gone) is journaled failed, never sealed, and its
 * files go on elsewhere; drives that cannot be read before the copy starts are failed too.
 */
import { errnoCode } from '../errors/errors.js';
import type { DriveState } from '../journal/journal-state.js';
import { RecordType } from '../journal/record-codec.js';
import { formatBytes } from '../util/size.js';
import type { CurrentDrive } from './drive-coordinator.js';
import { isDriveFault } from './drive-faults.js';
import { sealDrive } from './seal-drive.js';
import type { CopyRun } from './copy-run.js';
import type { CopyProgress } from './copy-progress.js';
import type { DriveReadBacks } from './drive-read-backs.js';
import type { FileOutcomes } from './file-outcomes.js';
import type { Prewrites } from './prewrites.js';

/** What closing drives needs besides the run. */
export interface ClosingParts {
  readonly outcomes: FileOutcomes;
  readonly prewrites: Prewrites;
  readonly readBacks: DriveReadBacks;
  readonly progress: CopyProgress;
}

/** A drive of this job found unreadable before the copy starts. */
export interface UnreadableDrive {
  readonly state: DriveState;
  readonly input: string;
  readonly code: string;
}

export class DriveClosing {
  readonly #run: CopyRun;
  readonly #p: ClosingParts;

  constructor(run: CopyRun, parts: ClosingParts) {
    this.#run = run;
    this.#p = parts;
  }

  /** Fail every drive that met a fault: its unfinished files go on elsewhere. */
  async dealWithFaults(): Promise<void> {
    const run = this.#run;
    for (const [seq, err] of [...run.faults]) {
      run.faults.delete(seq);
      const cur = run.drives.open.get(seq);
      if (cur) await this.#failDrive(cur, err);
    }
  }

  /**
   * A drive failed before it was sealed (EIO on a write or a sync, or it went away): it is
   * journaled failed and never sealed; its unfinished files start again on the other drives, and
   * the files it held finished are caught up once the copy is through (`lostFinished`).
   */
  async #failDrive(cur: CurrentDrive, err: unknown): Promise<void> {
    const run = this.#run;
    const seq = cur.state.seq;
    const reason = `${errnoCode(err) ?? 'error'}: ${(err as Error).message ?? String(err)}`;
    run.drives.forget(seq);
    run.feed?.unpin(seq);
    await cur.writer.abandon();
    for (const a of [...run.s.state.active.values()]) {
      if (!a.segments.some((g) => g.drive === seq)) continue;
      const f = run.live.get(a.file);
      if (!f) continue;
      await this.#p.outcomes.restartAfterDriveFailed(
        cur,
        f,
        a.segments.some((g) => g.drive !== seq),
      );
    }
    if (cur.state.filesWith > 0) run.lostFinished = true;
    run.record({ type: RecordType.DriveFailed, drive: seq, reason });
    await run.commit();
    run.failedNow.push({ seq, driveId: cur.state.driveId, reason });
    this.#p.progress.track(cur.state, cur.writer.root).setState('failed');
    run.io.notice(
      'warning',
      `drive ${cur.state.driveId} (${cur.writer.root}) failed (${reason}); do not ship it — ` +
        'what it holds is copied onto the other drives, or onto the next one given',
    );
  }

  /** Seal every drive still being filled that took data (the end of the copy), all at once. */
  async closeAll(): Promise<void> {
    const open = [...this.#run.drives.open.values()];
    const results = await Promise.allSettled(open.map((c) => this.closeDrive(c)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /** Seal a drive that takes no more data, and read it back. */
  async closeDrive(cur: CurrentDrive): Promise<void> {
    const run = this.#run;
    if (run.faults.has(cur.state.seq)) return;
    // Workers may still be writing files ahead onto this drive: let them finish and remove what
    // they wrote (none of it is recorded), so nothing takes the room or the inodes the seal
    // needs, and nothing stray stays on the sealed drive.
    await this.#p.prewrites.settle();
    await this.#p.prewrites.removeUnhandled(cur.writer.root, false);
    const empty = cur.state.segments === 0;
    // A drive that received nothing stays open in the journal: a later run of this job fills it.
    if (cur.state.status === 'open' && !empty) run.record({ type: RecordType.DriveFull, drive: cur.state.seq });
    await run.commit();
    if (run.faults.has(cur.state.seq)) return; // its last sync failed: it is failed, not sealed
    try {
      await cur.writer.close(empty ? 'unused' : 'seal');
    } catch (err) {
      if (!isDriveFault(err)) throw err;
      run.noteFault(cur, err);
      return;
    }
    run.drives.forget(cur.state.seq);
    run.feed?.unpin(cur.state.seq);
    if (empty) {
      this.#p.progress.track(cur.state, cur.writer.root).setState('waiting');
      run.io.notice(
        'info',
        `drive ${cur.state.driveId} (${cur.writer.root}) received no data and is not sealed; ` +
          'a later run of this job can fill it',
      );
      return;
    }
    await this.seal(cur.state, cur.writer.root);
    if (run.o.readBack) await this.#p.readBacks.readBack(cur.state, cur.writer.root);
  }

  /** Write the manifest of a full drive and record it sealed. */
  async seal(d: DriveState, root: string): Promise<void> {
    const run = this.#run;
    const t = this.#p.progress.track(d, root);
    t.setState('sealing');
    t.setTotal(d.storedBytes); // no time left to fill it
    // The step is sealing once no drive is being filled any more (a drive filled while others go
    // on shows it in its state).
    const board = run.o.board;
    if (run.lanes.size === 0 && board.phase !== 'seal') board.setPhase('seal', `sealing drive ${d.driveId}`);
    const r = await sealDrive(
      { ...run.o.sealBase, now: run.deps.clock.now(), bitLockerKey: await run.drives.bitlockerKeyOf(d) },
      d,
      root,
    );
    run.record({
      type: RecordType.DriveSealed,
      drive: d.seq,
      manifestHash: r.manifestHash,
      manifestBytes: r.manifestBytes,
    });
    await run.commit();
    run.sealedNow.push(d.seq);
    if (!run.o.readBack) t.setState('done');
    run.io.notice(
      'info',
      `drive ${d.driveId} sealed: ${r.blobs} blobs, ${formatBytes(d.storedBytes)}; drive info in ${r.driveInfoFile}`,
    );
  }

  /**
   * Drives of this job that are failing before the copy starts (they cannot be read): journaled
   * failed; what they hold is copied again once the copy is through.
   */
  async failUnreadable(drives: readonly UnreadableDrive[]): Promise<void> {
    const run = this.#run;
    for (const u of drives) {
      const reason = `${u.code}: ${u.input} cannot be read`;
      run.record({ type: RecordType.DriveFailed, drive: u.state.seq, reason });
      run.lostFinished = true;
      run.readBacks.set(u.state.seq, {
        kind: 'failed',
        problems: [],
        message: `drive ${u.state.driveId} (${u.input}) cannot be read (${u.code})`,
      });
      this.#p.progress.track(u.state, u.input).setState('failed');
      run.io.notice(
        'warning',
        `drive ${u.state.driveId} (${u.input}) cannot be read (${u.code}): it is failing; do not ship it — ` +
          'what it holds is copied again onto the other drives, or the next one given',
      );
    }
    if (drives.length > 0) await run.syncs.commitJournal();
  }
}
