/**
 * Reading sealed drives back from their media (invariant 7, docs/invariants.md), beside the copy onto the other
 * drives, through a worker pool of their own; a drive that does not read back is journaled failed
 * and what it holds is copied again.
 */
import type { ChunkProcessor } from '../../native/interfaces.js';
import type { DriveState } from '../journal/journal-state.js';
import { RecordType } from '../journal/record-codec.js';
import { verifyThreads } from '../verify/verify-drives.js';
import type { CopyRun } from './copy-run.js';
import type { CopyProgress } from './copy-progress.js';
import { readBackDrive, type ReadBackOutcome } from './read-back.js';

export class DriveReadBacks {
  readonly #run: CopyRun;
  readonly #progress: CopyProgress;
  #reads: ChunkProcessor | undefined;

  constructor(run: CopyRun, progress: CopyProgress) {
    this.#run = run;
    this.#progress = progress;
  }

  /** Read a sealed drive back from its media (invariant 7, docs/invariants.md), beside the copy onto other drives. */
  async readBack(d: DriveState, root: string): Promise<ReadBackOutcome> {
    const run = this.#run;
    const t = this.#progress.track(d, root);
    t.setState('reading back');
    t.set(0);
    t.setTotal(d.storedBytes);
    const board = run.o.board;
    if (run.lanes.size === 0 && board.phase !== 'read-back') {
      board.setPhase('read-back', `reading back drive ${d.driveId}`);
    }
    const key = await run.drives.keyOf(d);
    const out = await readBackDrive({
      deps: run.deps,
      pool: this.#readPool(),
      session: run.s,
      naming: run.o.naming,
      drive: d,
      root,
      key,
      signal: run.o.signal,
      onBytes: (n: number) => t.add(n),
    });
    run.readBacks.set(d.seq, out);
    t.setState(out.kind === 'ok' ? 'done' : out.kind === 'failed' ? 'failed' : 'waiting');
    await this.#report(d, root, out);
    return out;
  }

  /** Journal and tell how a drive's read-back went. */
  async #report(d: DriveState, root: string, out: ReadBackOutcome): Promise<void> {
    const run = this.#run;
    if (out.kind === 'ok') {
      await run.syncs.commitJournal(); // DriveVerified names no data: no drive needs a sync for it
      run.io.notice('info', `drive ${d.driveId} read back from its media: every block matches`);
    } else if (out.kind === 'absent') {
      run.io.notice(
        'warning',
        `drive ${d.driveId} is no longer at ${root} (found ${out.found ?? 'no seedship drive'}); ` +
          'it was not read back — attach it and run seedship verify',
      );
    } else {
      // What a drive that does not read back holds is copied again, as for a drive that died:
      // in this run when drives have room (the catch-up once the copy is through), else by the next.
      run.record({ type: RecordType.DriveFailed, drive: d.seq, reason: out.message });
      run.lostFinished = true;
      await run.syncs.commitJournal();
      run.io.notice(
        'warning',
        `${out.message} — what it holds is copied again onto the other drives, or the next one given`,
      );
    }
  }

  /**
   * The pool read-backs use: reading a drive is bound by the drive, not the CPU, and a worker
   * waits for each read, so every drive read back at once needs workers of its own (with the
   * copy's 2 workers, 3 drives read back at 37 MB/s of the 75 they allow). Made at the first
   * read-back, sized as verify sizes its pool (verifyThreads: a worker per drive besides the copy's).
   */
  #readPool(): ChunkProcessor {
    if (!this.#reads) {
      const run = this.#run;
      const drives = run.s.state.drives.filter((d) => d && d.status !== 'failed').length;
      this.#reads = run.deps.createChunkProcessor(verifyThreads(run.o.threads, drives));
    }
    return this.#reads;
  }

  /** Close the read-back pool, if one was made. */
  async close(): Promise<void> {
    await this.#reads?.close();
    this.#reads = undefined;
  }
}
