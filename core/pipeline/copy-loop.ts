/**
 * The copy: every drive being filled has a pump that pulls files from one feed (files a crash
 * left unfinished first, then the walk), encodes their chunks in the shared worker pool with a
 * bounded window, and writes them in order to its drive; so all drives are written at once, each
 * at its own pace. A full drive is sealed and read back while the others go on; when every drive
 * is full the next one is asked for. Journal records are appended only after the bytes they name
 * were written, and committed only after the data of every drive is fdatasync'd.
 *
 * This file wires the parts and runs the loop over drives; each part has one job:
 * - copy-run.ts: the state the parts share (files of this run, pumps, faults, feed, syncs);
 * - file-source.ts: where files come from (resumed, walked, caught up) and their chunks;
 * - drive-lanes.ts: each drive's pump; chunk-window.ts: its window and the encoding;
 * - prewrites.ts: small files workers write onto a drive ahead of the main thread;
 * - chunk-placement.ts: placing one encoded chunk; chunk-writes.ts: writing it;
 * - segment-records.ts: its journal records; hard-links.ts: names that share a drive file;
 * - file-outcomes.ts: files restarted or skipped; drive-closing.ts: drives sealed or failed;
 * - drive-read-backs.ts: sealed drives read back; copy-progress.ts: the progress board.
 */
import type { DriveState } from '../journal/journal-state.js';
import type { SkippedEntry } from '../staging/scan.js';
import type { CurrentDrive } from './drive-coordinator.js';
import { FileFeed } from './placement.js';
import { CatchUp } from './catch-up.js';
import type { ReadBackOutcome } from './read-back.js';
import { CopyRun, type CopyRunParts, type FailedDrive, type LiveFile } from './copy-run.js';
import { CopyProgress } from './copy-progress.js';
import { FileOutcomes } from './file-outcomes.js';
import { FileSource } from './file-source.js';
import { Prewrites } from './prewrites.js';
import { ChunkWindow } from './chunk-window.js';
import { HardLinks } from './hard-links.js';
import { ChunkWrites } from './chunk-writes.js';
import { ChunkPlacement } from './chunk-placement.js';
import { DriveReadBacks } from './drive-read-backs.js';
import { DriveClosing, type UnreadableDrive } from './drive-closing.js';
import { DriveLanes } from './drive-lanes.js';

export { MAX_COPY_ATTEMPTS, WINDOW_CHUNKS_PER_THREAD, type CopyLoopOptions } from './copy-run.js';

/** What the copy is given. */
export type CopyLoopParts = CopyRunParts;

/** The copy (see the header): the loop over drives, and what prepare asks of it. */
export class CopyLoop {
  needsDrive = false;
  readonly #run: CopyRun;
  readonly #source: FileSource;
  readonly #lanes: DriveLanes;
  readonly #closing: DriveClosing;
  readonly #readBacks: DriveReadBacks;
  readonly #progress: CopyProgress;

  constructor(p: CopyLoopParts) {
    const run = new CopyRun(p);
    this.#run = run;
    const progress = new CopyProgress(p.options.board, p.session.state);
    const outcomes = new FileOutcomes(run);
    const prewrites = new Prewrites(p.deps.fs);
    const links = new HardLinks(run);
    const writes = new ChunkWrites(run, outcomes, links);
    const placement = new ChunkPlacement(run, { outcomes, writes, links, prewrites, progress });
    const readBacks = new DriveReadBacks(run, progress);
    const closing = new DriveClosing(run, { outcomes, prewrites, readBacks, progress });
    const source = new FileSource(run, outcomes);
    const window = new ChunkWindow(run, prewrites);
    this.#lanes = new DriveLanes(run, { source, window, placement, prewrites, closing, progress });
    this.#source = source;
    this.#closing = closing;
    this.#readBacks = readBacks;
    this.#progress = progress;
  }

  get skipped(): readonly SkippedEntry[] {
    return this.#run.skipped;
  }

  get sealedNow(): readonly number[] {
    return this.#run.sealedNow;
  }

  /** Read-backs done this run, by drive sequence number. */
  get readBacks(): ReadonlyMap<number, ReadBackOutcome> {
    return this.#run.readBacks;
  }

  /** Drives that failed in this run. */
  get failedNow(): readonly FailedDrive[] {
    return this.#run.failedNow;
  }

  /**
   * Copy everything left, then seal the drives that took data and read them back; returns when
   * done or when drives ran out (`needsDrive`, the drives being filled stay open), or throws.
   */
  async run(): Promise<void> {
    const run = this.#run;
    const feed = new FileFeed<LiveFile>(this.#source.walkFiles());
    run.feed = feed;
    try {
      await this.#start(feed);
      await this.#copy();
    } catch (err) {
      // What is on the drives is still made durable and journaled, so a rerun does not redo it.
      await this.commit().catch(() => undefined);
      throw err;
    } finally {
      await feed.close();
      await run.feed?.close();
    }
    await this.commit();
  }

  /** Resume what a crash left unfinished, and attach the drives given when there is work. */
  async #start(feed: FileFeed<LiveFile>): Promise<void> {
    const run = this.#run;
    await this.#source.resumeUnfinished(feed);
    // Every new drive given is filled at once; none is touched when nothing is left to copy.
    if (await feed.anyWork()) await run.drives.attachGiven();
    for (const c of run.drives.open.values()) this.#progress.track(c.state, c.writer.root).setState('waiting');
    run.o.board.setPhase('copy');
  }

  /** Run the pumps of every drive that has work, until nothing is left or no drive is. */
  async #copy(): Promise<void> {
    const run = this.#run;
    for (;;) {
      await this.#closing.dealWithFaults();
      const ready = [...run.drives.open.values()].filter((c) => run.feed!.hasWorkFor(c.state.seq));
      if (ready.length === 0) {
        if (await run.feed!.anyWork()) {
          if (!(await this.#nextDrive())) break;
          continue;
        }
        // Nothing left: seal the drives that took data; a drive failing at its seal sends its
        // files round again.
        await this.#closing.closeAll();
        if (run.faults.size > 0) continue;
        if (run.lostFinished && (await this.#catchUpLost())) continue;
        break;
      }
      const results = await Promise.allSettled(ready.map((c) => this.#lanes.runLane(c)));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
  }

  /** After a drive failed: copy what it held finished again, as a rerun's catch-up would. */
  async #catchUpLost(): Promise<boolean> {
    const run = this.#run;
    run.lostFinished = false;
    await this.commit();
    const cu = await CatchUp.read(run.deps.fs, run.s.journalPath, run.s.staging, run.s.state.frontier);
    if (!cu) return false;
    const entries = cu.entries({ exclude: this.#source.exclude, suffix: run.o.naming.suffix });
    const feed = new FileFeed<LiveFile>(this.#source.liveFilesOf(entries));
    await run.feed?.close();
    run.feed = feed;
    return feed.anyWork();
  }

  /** Attach the next drive given, or ask for one; sets `needsDrive` when there is none. */
  async #nextDrive(): Promise<CurrentDrive | undefined> {
    const run = this.#run;
    const st = run.s.state;
    const ask = run.io.askNextDrive;
    const sealed = [...run.sealedNow].pop();
    // Attaching commits the journal: everything written before must be durable first.
    await this.commit();
    const cur = await run.drives.next(
      ask
        ? () =>
            ask({
              sealedDriveId: sealed !== undefined ? st.drive(sealed).driveId : '',
              rawRemaining: Math.max(0, run.o.rawTotal - st.rawDone),
              filesRemaining: Math.max(0, run.o.filesTotal - st.filesDone - run.skipped.length),
            })
        : undefined,
    );
    if (!cur) this.needsDrive = true;
    return cur;
  }

  /** Write the manifest of a full drive and record it sealed. */
  seal(d: DriveState, root: string): Promise<void> {
    return this.#closing.seal(d, root);
  }

  /**
   * Drives of this job that are failing before the copy starts (they cannot be read): journaled
   * failed; what they hold is copied again once the copy is through.
   */
  failUnreadable(drives: readonly UnreadableDrive[]): Promise<void> {
    return this.#closing.failUnreadable(drives);
  }

  /** Read a sealed drive back from its media (invariant 7, docs/invariants.md), beside the copy onto other drives. */
  readBack(d: DriveState, root: string): Promise<ReadBackOutcome> {
    return this.#readBacks.readBack(d, root);
  }

  /** Close what the copy opened beyond what it was given (the read-back pool). */
  close(): Promise<void> {
    return this.#readBacks.close();
  }

  /**
   * Make the data written so far on every drive durable, then commit the journal's records
   * through the point where this began (records appended meanwhile wait: invariant 1, docs/invariants.md).
   */
  commit(): Promise<void> {
    return this.#run.commit();
  }
}
