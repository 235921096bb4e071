import type { Clock } from '../../native/interfaces.js';
import { isDriveFault } from './drive-faults.js';
import type { JournalWriter } from '../journal/journal-writer.js';
import type { CurrentDrive } from './drive-coordinator.js';

/**
 * Group commit, per drive: each drive being filled is synced on its own, and the journal is
 * committed as far as every drive is synced (docs/architecture.md, journal rules 1 and 2).
 */

/** Each drive is synced (then the journal committed) every this many bytes written to it… */
export const COMMIT_EVERY_BYTES = 64 * 1024 * 1024;
/**
 * …or this often. A crash undoes at most about two intervals (one being synced, one being
 * written). 1 s, not 2 s: since the commit runs beside the copy, committing more often costs no
 * throughput, and a resume after kill -9 redoes less (many small files never reach 64 MiB).
 */
export const COMMIT_EVERY_MS = 1000;
/** …or when this many of its data files are open (many small files), to stay far below fd limits. */
export const COMMIT_MAX_OPEN_FILES = 512;

/** Sync state of a drive being filled. */
interface DriveSync {
  /** Bytes written to it and not synced yet. */
  unsynced: number;
  /** Written since its last sync began (that sync does not cover everything journaled). */
  wroteSince: boolean;
  /** Records appended (JournalWriter.appended) before its last completed sync began. */
  coveredTo: number;
  flushing: Promise<void> | undefined;
  /** Monotonic ms of its last sync's start. */
  lastFlush: number;
}

/** What the syncs need from the copy. */
export interface SyncHooks {
  /** The drives being filled. */
  readonly open: () => Iterable<CurrentDrive>;
  /** Whether a drive met a fault that is not journaled yet (then nothing is committed). */
  readonly faulted: (seq: number) => boolean;
  readonly anyFault: () => boolean;
  /** A sync of `cur` failed with a drive fault: the copy fails the drive. */
  readonly onFault: (cur: CurrentDrive, err: unknown) => void;
  /** Called before each journal commit (to append records that ride along: the frontier). */
  readonly beforeCommit: () => void;
}

/**
 * The syncs of the drives being filled and the journal's commits. A pump reports each write
 * (`wrote`) and then calls `afterWrite`, which starts its drive's sync at a threshold and makes
 * the pump wait when its drive has two intervals unsynced: so each pump runs at its own drive's
 * pace and a slow drive holds up no other. After any sync the journal is committed through the
 * last record whose data every drive has synced. Journal commits run one at a time.
 */
export class DriveSyncs {
  readonly #journal: JournalWriter;
  readonly #clock: Clock;
  readonly #hooks: SyncHooks;
  readonly #syncs = new Map<number, DriveSync>();
  /** The last journal commit queued (settled): they run one after another. */
  #commitTail: Promise<void> = Promise.resolve();

  constructor(journal: JournalWriter, clock: Clock, hooks: SyncHooks) {
    this.#journal = journal;
    this.#clock = clock;
    this.#hooks = hooks;
  }

  /** A write of `bytes` to `cur` completed; its records are appended now or were just appended. */
  wrote(cur: CurrentDrive, bytes: number): void {
    const d = this.#syncOf(cur);
    d.unsynced += bytes;
    d.wroteSince = true;
  }

  /** After a pump's write: start its drive's sync at a threshold; wait for it past two intervals. */
  async afterWrite(cur: CurrentDrive): Promise<void> {
    const d = this.#syncOf(cur);
    const open = cur.writer.openFiles;
    if (
      d.unsynced < COMMIT_EVERY_BYTES &&
      this.#clock.monotonic() - d.lastFlush < COMMIT_EVERY_MS &&
      open < COMMIT_MAX_OPEN_FILES
    )
      return;
    const p = this.flush(cur);
    if (d.unsynced >= 2 * COMMIT_EVERY_BYTES || open >= 2 * COMMIT_MAX_OPEN_FILES) await p;
  }

  /**
   * Make the data written so far on every healthy drive durable, then commit the journal through
   * the point where this began (records appended meanwhile wait: invariant 1, docs/invariants.md).
   */
  async commitAll(): Promise<void> {
    const healthy = [...this.#hooks.open()].filter((c) => !this.#hooks.faulted(c.state.seq));
    await Promise.all(healthy.map((c) => this.flush(c, true)));
    await this.commitJournal();
  }

  /**
   * Sync one drive, then commit the journal as far as every drive is synced. `fresh`: a sync that
   * starts now, after one in flight. A drive fault goes to `onFault`, it is not thrown.
   */
  flush(cur: CurrentDrive, fresh = false): Promise<void> {
    const d = this.#syncOf(cur);
    if (d.flushing && !fresh) return d.flushing;
    const run = async () => {
      const at = this.#journal.appended;
      const bytes = d.unsynced;
      d.wroteSince = false;
      d.lastFlush = this.#clock.monotonic();
      try {
        await cur.writer.flush();
      } catch (err) {
        if (!isDriveFault(err)) throw err;
        this.#hooks.onFault(cur, err);
        return;
      }
      d.unsynced -= bytes;
      d.coveredTo = at;
      await this.commitJournal();
    };
    const p = (d.flushing ?? Promise.resolve()).catch(() => undefined).then(run);
    d.flushing = p;
    void p
      .finally(() => {
        if (d.flushing === p) d.flushing = undefined;
      })
      .catch(() => undefined);
    return p;
  }

  /**
   * Commit the journal through the last record whose data every open drive has synced: a drive
   * written since its last sync began holds the commit at that sync's start; a drive not written
   * since holds nothing. While a drive that failed is not journaled failed yet, nothing is
   * committed (the records may name its lost data).
   */
  commitJournal(): Promise<void> {
    const run = async () => {
      if (this.#hooks.anyFault()) return;
      this.#hooks.beforeCommit();
      const j = this.#journal;
      let through = j.appended;
      for (const c of this.#hooks.open()) {
        const d = this.#syncs.get(c.state.seq);
        if (d?.wroteSince) through = Math.min(through, d.coveredTo);
      }
      if (through > j.committed) await j.commit(through - j.committed);
    };
    const p = this.#commitTail.then(run);
    this.#commitTail = p.catch(() => undefined);
    return p;
  }

  #syncOf(cur: CurrentDrive): DriveSync {
    let d = this.#syncs.get(cur.state.seq);
    if (!d) {
      d = { unsynced: 0, wroteSince: false, coveredTo: 0, flushing: undefined, lastFlush: this.#clock.monotonic() };
      this.#syncs.set(cur.state.seq, d);
    }
    return d;
  }
}
