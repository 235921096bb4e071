/**
 * The state one copy shares between its parts (copy-loop.ts wires them): the session, the drives,
 * the files of this run, the pumps, the drive faults not dealt with yet, the feed, the per-drive
 * syncs, and what the run reports. Also the few steps every part takes: appending a journal
 * record, committing, noting a drive fault.
 */
import type { ChunkProcessor, CodecKit, EncodeResult, EntryKind, NativeDeps } from '../../native/interfaces.js';
import type { ActiveFile, SegmentState } from '../journal/journal-state.js';
import { RecordType, type JournalRecord } from '../journal/record-codec.js';
import type { PosixMetaJson } from '../manifest/blob-metadata.js';
import { drivePathOf, type BlobNaming, type SegmentNaming } from '../journal/drive-blobs.js';
import type { SkippedEntry, StagedFile } from '../staging/scan.js';
import type { ProgressBoard } from '../util/progress.js';
import type { CurrentDrive, DriveCoordinator } from './drive-coordinator.js';
import type { OpenSession } from './open-session.js';
import type { PrepareIO } from './prepare-types.js';
import type { SealContext } from './seal-drive.js';
import type { FileFeed } from './placement.js';
import type { ReadBackOutcome } from './read-back.js';
import { DriveSyncs } from './drive-syncs.js';

/** Chunks in flight per worker thread: one being encoded, the next queued, one waiting to be written. */
export const WINDOW_CHUNKS_PER_THREAD = 3;
/** A file that keeps changing while being read is copied again at most this many times. */
export const MAX_COPY_ATTEMPTS = 3;

/** A staged entry being copied in this run (a regular file, or a directory, symlink or special file). */
export interface LiveFile {
  readonly id: number;
  gen: number;
  readonly path: string;
  readonly abs: string;
  readonly kind: EntryKind;
  /** Drive path below the container (undefined: journals before version 3, `path` + suffix). */
  readonly dpath: string | undefined;
  meta: PosixMetaJson | undefined;
  size: number;
  mtimeMs: number;
  ino: number;
  readonly mode: number;
  attempts: number;
  /** Encryption tweak seed of the blob; only computed (SHA-256) when the session encrypts. */
  readonly tweakSeed: Uint8Array | undefined;
  /** The pump copying it; chunks of it in any other pump's window are dropped. */
  owner: Lane | undefined;
}

/** A file a worker was asked to write whole itself: on which drive, where, and its metadata file. */
export interface Prewrite {
  readonly drive: number;
  readonly path: string;
  readonly meta: string | undefined;
}

export interface ChunkJob {
  readonly f: LiveFile;
  readonly gen: number;
  readonly index: number;
  readonly rawOffset: number;
  readonly rawLength: number;
  readonly last: boolean;
  /** Drive whose key encrypted the chunk in the worker, if any. */
  keySeq: number | undefined;
  /** A small whole file the worker was asked to write itself. */
  prewrite?: Prewrite;
}

/** A chunk the worker pool encoded. */
export type EncodedChunk = Extract<EncodeResult, { ok: true }>;

/** The pump of one drive being filled: it pulls files from the feed and writes them in its order. */
export interface Lane {
  readonly cur: CurrentDrive;
  /** Why it stopped pulling: its drive is full, or failed. */
  stopped: 'full' | 'failed' | undefined;
  /** Files it pulled and has not finished. */
  readonly held: Set<LiveFile>;
}

/** Where a chunk goes in its file's parts on the drive being filled. */
export interface ChunkPlace {
  /** The file's open part on this drive, when it has one. */
  readonly seg: SegmentState | undefined;
  /** The file's journal state, when a part of it was recorded. */
  readonly active: ActiveFile | undefined;
}

/** An encoded chunk on its way onto the drive being filled, and where it goes there. */
export interface ChunkToWrite {
  readonly cur: CurrentDrive;
  readonly job: ChunkJob;
  readonly res: EncodedChunk;
  readonly at: ChunkPlace;
}

export interface CopyLoopOptions {
  readonly threads: number;
  readonly naming: BlobNaming;
  readonly sealBase: Omit<SealContext, 'bitLockerKey' | 'now'>;
  readonly rawTotal: number;
  readonly filesTotal: number;
  /** Read every drive back as soon as it is sealed. */
  readonly readBack: boolean;
  /** Counters for whoever shows progress: raw bytes and files in all, each drive's bytes, fill and state. */
  readonly board: ProgressBoard;
  /**
   * Entries before the frontier that earlier runs left off the drives (catch-up.ts), copied
   * after the first pass; absent when there are none.
   */
  readonly catchUp?: AsyncIterable<StagedFile> | undefined;
  readonly signal: AbortSignal;
}

/** What a CopyRun is made of: what the copy is given. */
export interface CopyRunParts {
  readonly deps: NativeDeps;
  readonly session: OpenSession;
  readonly drives: DriveCoordinator;
  readonly pool: ChunkProcessor;
  readonly kit: CodecKit;
  readonly io: PrepareIO;
  readonly options: CopyLoopOptions;
}

/** A drive that failed in this run. */
export interface FailedDrive {
  readonly seq: number;
  readonly driveId: string;
  readonly reason: string;
}

/** The shared state of one copy; see the header. */
export class CopyRun {
  readonly deps: NativeDeps;
  readonly s: OpenSession;
  readonly drives: DriveCoordinator;
  readonly pool: ChunkProcessor;
  readonly kit: CodecKit;
  readonly io: PrepareIO;
  readonly o: CopyLoopOptions;
  /** The files of this run not finished yet, by id. */
  readonly live = new Map<number, LiveFile>();
  /** The pumps running, by drive sequence number. */
  readonly lanes = new Map<number, Lane>();
  /** Drives that failed (EIO, gone) and are not dealt with yet, with the error. */
  readonly faults = new Map<number, unknown>();
  /** Where the pumps take their files from (replaced for the catch-up after a drive failed). */
  feed: FileFeed<LiveFile> | undefined;
  /** Each drive being filled: what is not synced yet, and the sync in flight. */
  readonly syncs: DriveSyncs;
  readonly skipped: SkippedEntry[] = [];
  readonly sealedNow: number[] = [];
  /** Drives that failed in this run. */
  readonly failedNow: FailedDrive[] = [];
  /** Read-backs done this run, by drive sequence number. */
  readonly readBacks = new Map<number, ReadBackOutcome>();
  /** A failed drive held finished files: staging is caught up once the copy is through. */
  lostFinished = false;

  constructor(p: CopyRunParts) {
    this.deps = p.deps;
    this.s = p.session;
    this.drives = p.drives;
    this.pool = p.pool;
    this.kit = p.kit;
    this.io = p.io;
    this.o = p.options;
    this.syncs = new DriveSyncs(p.session.journal, p.deps.clock, {
      open: () => this.drives.open.values(),
      faulted: (seq) => this.faults.has(seq),
      anyFault: () => this.faults.size > 0,
      onFault: (cur, err) => this.noteFault(cur, err),
      beforeCommit: () => this.#noteFrontier(),
    });
  }

  /** Append a record to the journal and apply it to the state. */
  record(r: JournalRecord): void {
    this.s.journal.append(r);
    this.s.state.apply(r);
  }

  /**
   * Make the data written so far on every drive durable, then commit the journal's records
   * through the point where this began (records appended meanwhile wait: invariant 1, docs/invariants.md).
   */
  commit(): Promise<void> {
    return this.syncs.commitAll();
  }

  /** A drive met a fault outside its pump (at a sync): its pump stops, the loop fails it. */
  noteFault(cur: CurrentDrive, err: unknown): void {
    if (!this.faults.has(cur.state.seq)) this.faults.set(cur.state.seq, err);
    const lane = this.lanes.get(cur.state.seq);
    if (lane) lane.stopped = 'failed';
  }

  /** Journal the walk's safe frontier when it moved (before a commit, which then covers it). */
  #noteFrontier(): void {
    const path = this.feed?.takeFrontier();
    if (path !== undefined) this.record({ type: RecordType.FrontierAdvanced, path });
  }

  /** What naming a blob part of `f` needs. */
  naming(f: LiveFile): SegmentNaming {
    return { file: f.id, path: f.path, kind: f.kind, dpath: f.dpath, meta: f.meta };
  }

  /** Drive path of `f`'s data file (the shared empty file for directories and special files). */
  driveRel(f: LiveFile): string {
    return drivePathOf(this.o.naming, this.naming(f));
  }

  /** The drive being filled that holds the open (last) part of a file, if any. */
  openPartDrive(active: ActiveFile | undefined): CurrentDrive | undefined {
    const last = active?.segments[active.segments.length - 1];
    return last ? this.drives.open.get(last.drive) : undefined;
  }

  /** `f` is no longer held by any pump (it goes back to the feed, or is done with). */
  release(f: LiveFile): void {
    for (const l of this.lanes.values()) l.held.delete(f);
    f.owner = undefined;
  }
}
