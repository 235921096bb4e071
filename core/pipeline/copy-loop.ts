import type {
  ChunkProcessor,
  CodecKit,
  EncodeResult,
  EncodeTask,
  EntryKind,
  FileStat,
  NativeDeps,
} from '../../native/interfaces.js';
import { errnoCode, SeedshipError } from '../errors/errors.js';
import type { ActiveFile, DriveState, SegmentState } from '../journal/journal-state.js';
import { driveRoom, reserveBytesFor, SEGMENT_START_BYTES, segmentAllocBytes } from '../drives/drive-space.js';
import {
  RecordType,
  type ChunkRec,
  type FileDoneRec,
  type JournalRecord,
  type SegmentStartedRec,
} from '../journal/record-codec.js';
import { metaToJson, posixMetaOf, type PosixMetaJson } from '../manifest/blob-metadata.js';
import {
  drivePathOf,
  EMPTY_FILE,
  metadataFileOf,
  type BlobNaming,
  type SegmentNaming,
} from '../journal/drive-blobs.js';
import { encodeBytes } from '../../native/raw-names.js';
import { RANGE_ELEMENT_MAX_BYTES } from '../manifest/drive-manifest.js';
import { chunkCount, MAX_BLOCK_BYTES, worstStoredBytes } from '../manifest/chunking.js';
import { BufferPool } from '../util/buffer-pool.js';
import { walkStaging, type SkippedEntry, type StagedFile } from '../staging/scan.js';
import { SESSION_ROOT_NAME } from '../session/session-layout.js';
import { mapBounded } from '../util/bounded-map.js';
import { blobTweakSeed } from '../chunks/chunk-task.js';
import { formatBytes } from '../util/size.js';
import type { ProgressBoard, ProgressTrack } from '../util/progress.js';
import type { CurrentDrive, DriveCoordinator } from './drive-coordinator.js';
import type { OpenSession } from './open-session.js';
import type { PrepareIO } from './prepare-types.js';
import { sealDrive, type SealContext } from './seal-drive.js';
import { FileFeed } from './placement.js';
import { CatchUp } from './catch-up.js';
import { readBackDrive, type ReadBackOutcome } from './read-back.js';
import { batchChunks, SMALL_CHUNK_BATCH } from './chunk-batches.js';
import { DriveSyncs } from './drive-syncs.js';
import { isDriveFault } from './drive-faults.js';
import { verifyThreads } from '../verify/verify-drives.js';

/** Chunks in flight per worker thread: one being encoded, the next queued, one waiting to be written. */
export const WINDOW_CHUNKS_PER_THREAD = 3;
/**
 * Workers write small whole files themselves only while the drive has at least this much room
 * beyond its accounting: far more than a window of chunks can take, so a file written ahead is
 * never placed on a drive that then turns out to be full.
 */
const PREWRITE_MIN_ROOM_BYTES = 256 * 1024 * 1024;
/**
 * A drive with at least this much room goes on taking files after one that the documented format
 * cannot split did not fit (another drive takes that one); with less it counts as full.
 */
const HAND_OFF_MIN_ROOM_BYTES = 64 * 1024 * 1024;
/** Chunks at least this large get a pooled buffer (see BufferPool). */
const POOLED_CHUNK_MIN_BYTES = 1024 * 1024;
/** A file that keeps changing while being read is copied again at most this many times. */
export const MAX_COPY_ATTEMPTS = 3;

/** A staged entry being copied in this run (a regular file, or a directory, symlink or special file). */
interface LiveFile {
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

interface ChunkJob {
  readonly f: LiveFile;
  readonly gen: number;
  readonly index: number;
  readonly rawOffset: number;
  readonly rawLength: number;
  readonly last: boolean;
  /** Drive whose key encrypted the chunk in the worker, if any. */
  keySeq: number | undefined;
  /** A small whole file the worker was asked to write itself: on which drive, where, and its metadata file. */
  prewrite?: { readonly drive: number; readonly path: string; readonly meta: string | undefined };
}

/** The pump of one drive being filled: it pulls files from the feed and writes them in its order. */
interface Lane {
  readonly cur: CurrentDrive;
  /** Why it stopped pulling: its drive is full, or failed. */
  stopped: 'full' | 'failed' | undefined;
  /** Files it pulled and has not finished. */
  readonly held: Set<LiveFile>;
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

/**
 * The copy: every drive being filled has a pump that pulls files from one feed (files a crash
 * left unfinished first, then the walk), encodes their chunks in the shared worker pool with a
 * bounded window, and writes them in order to its drive; so all drives are written at once, each
 * at its own pace. A full drive is sealed and read back while the others go on; when every drive
 * is full the next one is asked for. Journal records are appended only after the bytes they name
 * were written, and committed only after the data of every drive is fdatasync'd.
 */
export class CopyLoop {
  needsDrive = false;
  readonly skipped: SkippedEntry[] = [];
  readonly sealedNow: number[] = [];
  /** Read-backs done this run, by drive sequence number. */
  readonly readBacks = new Map<number, ReadBackOutcome>();
  readonly #deps: NativeDeps;
  readonly #s: OpenSession;
  readonly #drives: DriveCoordinator;
  readonly #pool: ChunkProcessor;
  readonly #kit: CodecKit;
  readonly #io: PrepareIO;
  readonly #o: CopyLoopOptions;
  readonly #live = new Map<number, LiveFile>();
  /** Each drive's progress track, by sequence number. */
  readonly #tracks = new Map<number, ProgressTrack>();
  readonly #buffers: BufferPool;
  readonly #lanes = new Map<number, Lane>();
  /** Drives that failed (EIO, gone) and are not dealt with yet, with the error. */
  readonly #faults = new Map<number, unknown>();
  /** Drives that failed in this run. */
  readonly failedNow: { readonly seq: number; readonly driveId: string; readonly reason: string }[] = [];
  /** A failed drive held finished files: staging is caught up once the copy is through. */
  #lostFinished = false;
  #feed: FileFeed<LiveFile> | undefined;
  /** Each drive being filled: what is not synced yet, and the sync in flight. */
  readonly #syncs: DriveSyncs;
  #reads: ChunkProcessor | undefined;
  /** Files written by workers whose results were not handled yet (removed if never handled). */
  readonly #prewritten = new Set<string>();
  /** Encodes of files in flight: each may write whole files ahead to the drive it started on. */
  readonly #prewriting = new Set<Promise<unknown>>();
  /**
   * Small files with more than one name, recorded whole this run, by device and inode: a later
   * name of the same inode on the same drive is a blob of its own that reads the same drive file
   * (a hard link stored once). Bounded; an inode no longer here is simply stored again.
   */
  readonly #linkable = new Map<string, LinkTarget>();

  constructor(
    deps: NativeDeps,
    s: OpenSession,
    drives: DriveCoordinator,
    pool: ChunkProcessor,
    kit: CodecKit,
    io: PrepareIO,
    o: CopyLoopOptions,
  ) {
    this.#deps = deps;
    this.#s = s;
    this.#drives = drives;
    this.#pool = pool;
    this.#kit = kit;
    this.#io = io;
    this.#o = o;
    this.#syncs = new DriveSyncs(s.journal, deps.clock, {
      open: () => this.#drives.open.values(),
      faulted: (seq) => this.#faults.has(seq),
      anyFault: () => this.#faults.size > 0,
      onFault: (cur, err) => this.#noteFault(cur, err),
      beforeCommit: () => this.#noteFrontier(),
    });
    // One buffer per chunk a window can hold, plus the one being written; more are made on demand.
    this.#buffers = new BufferPool(MAX_BLOCK_BYTES, o.threads * WINDOW_CHUNKS_PER_THREAD + 2);
  }

  /**
   * Copy everything left, then seal the drives that took data and read them back; returns when
   * done or when drives ran out (`needsDrive`, the drives being filled stay open), or throws.
   */
  async run(): Promise<void> {
    const feed = new FileFeed<LiveFile>(this.#walkFiles());
    this.#feed = feed;
    try {
      for (const a of [...this.#s.state.active.values()].sort((x, y) => x.file - y.file)) {
        const r = await this.#resumeFile(a);
        // Its open part goes on on the drive it is on; a part on a sealed drive is followed by a new one anywhere.
        const last = a.segments[a.segments.length - 1];
        const on = last && this.#drives.open.has(last.drive) && r?.from !== 0 ? last.drive : undefined;
        if (r) feed.giveBack({ f: r.f, from: r.from, on });
      }
      // Every new drive given is filled at once; none is touched when nothing is left to copy.
      if (await feed.anyWork()) await this.#drives.attachGiven();
      for (const c of this.#drives.open.values()) this.#track(c.state, c.writer.root).setState('waiting');
      this.#o.board.setPhase('copy');
      for (;;) {
        await this.#dealWithFaults();
        const ready = [...this.#drives.open.values()].filter((c) => this.#feed!.hasWorkFor(c.state.seq));
        if (ready.length === 0) {
          if (await this.#feed!.anyWork()) {
            if (!(await this.#nextDrive())) break;
            continue;
          }
          // Nothing left: seal the drives that took data; a drive failing at its seal sends its
          // files round again.
          await this.#closeAll();
          if (this.#faults.size > 0) continue;
          if (this.#lostFinished && (await this.#catchUpLost())) continue;
          break;
        }
        const results = await Promise.allSettled(ready.map((c) => this.#runLane(c)));
        const failed = results.find((r) => r.status === 'rejected');
        if (failed) throw (failed as PromiseRejectedResult).reason;
      }
    } catch (err) {
      // What is on the drives is still made durable and journaled, so a rerun does not redo it.
      await this.commit().catch(() => undefined);
      throw err;
    } finally {
      await feed.close();
      await this.#feed?.close();
    }
    await this.commit();
  }

  /** Fail every drive that met a fault: its unfinished files go on elsewhere. */
  async #dealWithFaults(): Promise<void> {
    for (const [seq, err] of [...this.#faults]) {
      this.#faults.delete(seq);
      const cur = this.#drives.open.get(seq);
      if (cur) await this.#failDrive(cur, err);
    }
  }

  /**
   * A drive failed before it was sealed (EIO on a write or a sync, or it went away): it is
   * journaled failed and never sealed; its unfinished files start again on the other drives, and
   * the files it held finished are caught up once the copy is through (`#catchUpLost`).
   */
  async #failDrive(cur: CurrentDrive, err: unknown): Promise<void> {
    const seq = cur.state.seq;
    const reason = `${errnoCode(err) ?? 'error'}: ${(err as Error).message ?? String(err)}`;
    this.#drives.forget(seq);
    this.#feed?.unpin(seq);
    await cur.writer.abandon();
    for (const a of [...this.#s.state.active.values()]) {
      if (!a.segments.some((g) => g.drive === seq)) continue;
      const f = this.#live.get(a.file);
      if (!f) continue;
      if (a.segments.some((g) => g.drive !== seq)) {
        await this.#skip(
          f,
          `part of it was on drive ${cur.state.driveId}, which failed, and part on another drive; copy it with seedship sync after the import`,
        );
        continue;
      }
      f.gen++;
      this.#record({
        type: RecordType.FileRestarted,
        file: f.id,
        gen: f.gen,
        reason: `drive ${cur.state.driveId} failed`,
        size: f.size,
        mtimeMs: f.mtimeMs,
        ino: f.ino,
      });
      for (const l of this.#lanes.values()) l.held.delete(f);
      f.owner = undefined;
      this.#feed?.giveBack({ f, from: 0 });
    }
    if (cur.state.filesWith > 0) this.#lostFinished = true;
    this.#record({ type: RecordType.DriveFailed, drive: seq, reason });
    await this.commit();
    this.failedNow.push({ seq, driveId: cur.state.driveId, reason });
    this.#track(cur.state, cur.writer.root).setState('failed');
    this.#io.notice(
      'warning',
      `drive ${cur.state.driveId} (${cur.writer.root}) failed (${reason}); do not ship it — what it held is copied onto the other drives, or onto the next one given`,
    );
  }

  /** After a drive failed: copy what it held finished again, as a rerun's catch-up would. */
  async #catchUpLost(): Promise<boolean> {
    this.#lostFinished = false;
    await this.commit();
    const cu = await CatchUp.read(this.#deps.fs, this.#s.journalPath, this.#s.staging, this.#s.state.frontier);
    if (!cu) return false;
    const entries = cu.entries({ exclude: this.#exclude, suffix: this.#o.naming.suffix });
    const self = this;
    const feed = new FileFeed<LiveFile>(
      (async function* () {
        for await (const sf of entries) yield self.#liveFileOf(sf);
      })(),
    );
    await this.#feed?.close();
    this.#feed = feed;
    return feed.anyWork();
  }

  /** What the copy leaves out of staging: the session dir. */
  readonly #exclude = (rel: string): boolean =>
    rel === SESSION_ROOT_NAME || `${this.#s.staging}/${rel}` === this.#s.dir;

  /** One drive's pump, then, when its drive is full, its seal and read-back. */
  async #runLane(cur: CurrentDrive): Promise<void> {
    const lane: Lane = { cur, stopped: undefined, held: new Set() };
    this.#lanes.set(cur.state.seq, lane);
    this.#track(cur.state, cur.writer.root).setState('writing');
    try {
      await this.#pump(lane);
    } catch (err) {
      if (!isDriveFault(err, cur.writer.root)) throw err;
      lane.stopped = 'failed';
      this.#faults.set(cur.state.seq, err);
    } finally {
      this.#lanes.delete(cur.state.seq);
      // Recorded before its unfinished files go on elsewhere: their later parts follow it in the
      // journal, and restore and import read drives in the order they were closed.
      if (lane.stopped === 'full' && cur.state.segments > 0)
        this.#record({ type: RecordType.DriveFull, drive: cur.state.seq });
      // What it pulled and did not finish goes back to the feed, to be continued on another drive.
      for (const f of lane.held) {
        if (f.owner !== lane) continue;
        f.owner = undefined;
        if (this.#live.get(f.id) !== f) continue;
        const active = this.#s.state.active.get(f.id);
        // Parts on a drive that failed: #failDrive starts the file again.
        if (lane.stopped === 'failed' && active?.segments.some((g) => g.drive === cur.state.seq)) continue;
        this.#feed!.giveBack({
          f,
          from: active?.nextIndex ?? 0,
          ...(lane.stopped ? { notOn: new Set([cur.state.seq]) } : {}),
        });
      }
    }
    if (lane.stopped === 'full') await this.#closeDrive(cur);
  }

  /** A drive met a fault outside its pump (at a sync): its pump stops, the loop fails it. */
  #noteFault(cur: CurrentDrive, err: unknown): void {
    if (!this.#faults.has(cur.state.seq)) this.#faults.set(cur.state.seq, err);
    const lane = this.#lanes.get(cur.state.seq);
    if (lane) lane.stopped = 'failed';
  }

  /** Seal every drive still being filled that took data (the end of the copy), all at once. */
  async #closeAll(): Promise<void> {
    const open = [...this.#drives.open.values()];
    const results = await Promise.allSettled(open.map((c) => this.#closeDrive(c)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /** Seal a drive that takes no more data, and read it back. */
  async #closeDrive(cur: CurrentDrive): Promise<void> {
    if (this.#faults.has(cur.state.seq)) return;
    // Workers may still be writing files ahead onto this drive: let them finish and remove what
    // they wrote (none of it is recorded), so nothing takes the room or the inodes the seal
    // needs, and nothing stray stays on the sealed drive.
    await Promise.allSettled([...this.#prewriting]);
    for (const path of this.#prewritten) {
      if (!path.startsWith(`${cur.writer.root}/`)) continue;
      this.#prewritten.delete(path);
      await this.#deps.fs.unlink(path);
    }
    const empty = cur.state.segments === 0;
    // A drive that received nothing stays open in the journal: a later run of this job fills it.
    if (cur.state.status === 'open' && !empty) this.#record({ type: RecordType.DriveFull, drive: cur.state.seq });
    await this.commit();
    if (this.#faults.has(cur.state.seq)) return; // its last sync failed: it is failed, not sealed
    try {
      await cur.writer.close(empty ? 'unused' : 'seal');
    } catch (err) {
      if (!isDriveFault(err)) throw err;
      this.#noteFault(cur, err);
      return;
    }
    this.#drives.forget(cur.state.seq);
    this.#feed?.unpin(cur.state.seq);
    if (empty) {
      this.#track(cur.state, cur.writer.root).setState('waiting');
      this.#io.notice(
        'info',
        `drive ${cur.state.driveId} (${cur.writer.root}) received no data and is not sealed; a later run of this job can fill it`,
      );
      return;
    }
    await this.seal(cur.state, cur.writer.root);
    if (this.#o.readBack) await this.readBack(cur.state, cur.writer.root);
  }

  /** Write the manifest of a full drive and record it sealed. */
  async seal(d: DriveState, root: string): Promise<void> {
    const t = this.#track(d, root);
    t.setState('sealing');
    t.setTotal(d.storedBytes); // no time left to fill it
    // The step is sealing once no drive is being filled any more (a drive filled while others go
    // on shows it in its state).
    const board = this.#o.board;
    if (this.#lanes.size === 0 && board.phase !== 'seal') board.setPhase('seal', `sealing drive ${d.driveId}`);
    const r = await sealDrive(
      { ...this.#o.sealBase, now: this.#deps.clock.now(), bitLockerKey: await this.#drives.bitlockerKeyOf(d) },
      d,
      root,
    );
    this.#record({
      type: RecordType.DriveSealed,
      drive: d.seq,
      manifestHash: r.manifestHash,
      manifestBytes: r.manifestBytes,
    });
    await this.commit();
    this.sealedNow.push(d.seq);
    if (!this.#o.readBack) t.setState('done');
    this.#io.notice(
      'info',
      `drive ${d.driveId} sealed: ${r.blobs} blobs, ${formatBytes(d.storedBytes)}; drive info in ${r.driveInfoFile}`,
    );
  }

  /**
   * The pool read-backs use: reading a drive is bound by the drive, not the CPU, and a worker
   * waits for each read, so every drive read back at once needs workers of its own (with the
   * copy's 2 workers, 3 drives read back at 37 MB/s of the 75 they allow). Made at the first
   * read-back, sized as verify sizes its pool (verifyThreads: a worker per drive besides the copy's).
   */
  #readPool(): ChunkProcessor {
    if (!this.#reads) {
      const drives = this.#s.state.drives.filter((d) => d && d.status !== 'failed').length;
      this.#reads = this.#deps.createChunkProcessor(verifyThreads(this.#o.threads, drives));
    }
    return this.#reads;
  }

  /**
   * Drives of this job that are failing before the copy starts (they cannot be read): journaled
   * failed; what they hold is copied again once the copy is through.
   */
  async failUnreadable(
    drives: readonly { readonly state: DriveState; readonly input: string; readonly code: string }[],
  ): Promise<void> {
    for (const u of drives) {
      const reason = `${u.code}: ${u.input} cannot be read`;
      this.#record({ type: RecordType.DriveFailed, drive: u.state.seq, reason });
      this.#lostFinished = true;
      this.readBacks.set(u.state.seq, {
        kind: 'failed',
        problems: [],
        message: `drive ${u.state.driveId} (${u.input}) cannot be read (${u.code})`,
      });
      this.#track(u.state, u.input).setState('failed');
      this.#io.notice(
        'warning',
        `drive ${u.state.driveId} (${u.input}) cannot be read (${u.code}): it is failing; do not ship it — what it holds is copied again onto the other drives, or the next one given`,
      );
    }
    if (drives.length > 0) await this.#syncs.commitJournal();
  }

  /** Close what the copy opened beyond what it was given (the read-back pool). */
  async close(): Promise<void> {
    await this.#reads?.close();
    this.#reads = undefined;
  }

  /** Read a sealed drive back from its media (invariant 7), beside the copy onto the other drives. */
  async readBack(d: DriveState, root: string): Promise<ReadBackOutcome> {
    const t = this.#track(d, root);
    t.setState('reading back');
    t.set(0);
    t.setTotal(d.storedBytes);
    const board = this.#o.board;
    if (this.#lanes.size === 0 && board.phase !== 'read-back') {
      board.setPhase('read-back', `reading back drive ${d.driveId}`);
    }
    const key = await this.#drives.keyOf(d);
    const pool = this.#readPool();
    const onBytes = (n: number) => t.add(n);
    const out = await readBackDrive(this.#deps, pool, this.#s, this.#o.naming, d, root, key, this.#o.signal, onBytes);
    this.readBacks.set(d.seq, out);
    t.setState(out.kind === 'ok' ? 'done' : out.kind === 'failed' ? 'failed' : 'waiting');
    if (out.kind === 'ok') {
      await this.#syncs.commitJournal(); // DriveVerified names no data: no drive needs a sync for it
      this.#io.notice('info', `drive ${d.driveId} read back from its media: every block matches`);
    } else if (out.kind === 'absent') {
      this.#io.notice(
        'warning',
        `drive ${d.driveId} is no longer at ${root} (found ${out.found ?? 'no seedship drive'}); it was not read back — attach it and run seedship verify`,
      );
    } else {
      // What a drive that does not read back holds is copied again, as for a drive that died:
      // in this run when drives have room (the catch-up once the copy is through), else by the next.
      this.#record({ type: RecordType.DriveFailed, drive: d.seq, reason: out.message });
      this.#lostFinished = true;
      await this.#syncs.commitJournal();
      this.#io.notice(
        'warning',
        `${out.message} — what it holds is copied again onto the other drives, or the next one given`,
      );
    }
    return out;
  }

  /**
   * Make the data written so far on every drive durable, then commit the journal's records
   * through the point where this began (records appended meanwhile wait: invariant 1).
   */
  commit(): Promise<void> {
    return this.#syncs.commitAll();
  }

  /** Journal the walk's safe frontier when it moved (before a commit, which then covers it). */
  #noteFrontier(): void {
    const path = this.#feed?.takeFrontier();
    if (path !== undefined) this.#record({ type: RecordType.FrontierAdvanced, path });
  }

  async #pump(lane: Lane): Promise<void> {
    const maxInFlight = this.#o.threads * WINDOW_CHUNKS_PER_THREAD;
    const weight = (j: ChunkJob) => Math.max(j.rawLength, 64 * 1024);
    const window = mapBounded(
      batchChunks(this.#laneSource(lane), SMALL_CHUNK_BATCH),
      {
        maxItems: Math.max(16, maxInFlight * 8),
        maxWeight: maxInFlight * this.#s.settings.chunkBytes,
        weight: (b) => b.reduce((a, j) => a + weight(j), 0),
        signal: this.#o.signal,
      },
      (batch) => this.#encode(batch, lane),
    );
    const root = `${lane.cur.writer.root}/`;
    try {
      for await (const { item: batch, result } of window) {
        for (let i = 0; i < batch.length; i++) {
          const r = result[i]!;
          try {
            if (!lane.stopped) await this.#handle(lane, batch[i]!, r);
            // A full drive still records the files workers already wrote whole onto it (they
            // need no more room or inodes); a failed one keeps nothing.
            else if (lane.stopped === 'full') await this.#handle(lane, batch[i]!, r, true);
            else await this.#dropPrewrite(batch[i]!, r);
          } finally {
            // Every write of the chunk has completed (they are awaited): its buffer can go again.
            if (r.ok) this.#buffers.give(r.stored.buffer);
          }
        }
        if (lane.stopped === 'failed') break;
      }
    } finally {
      // Files written ahead onto this drive whose results were never handled (the drive filled,
      // or an error): nothing records them, so they must not stay on the drive.
      for (const path of this.#prewritten) {
        if (!path.startsWith(root)) continue;
        this.#prewritten.delete(path);
        await this.#deps.fs.unlink(path).catch(() => undefined);
      }
    }
  }

  /** The chunks a pump copies: files from the feed, each from where it is to go on. */
  async *#laneSource(lane: Lane): AsyncGenerator<ChunkJob> {
    while (!lane.stopped) {
      const w = await this.#feed!.next(lane.cur.state.seq);
      if (!w) return;
      if (this.#live.get(w.f.id) !== w.f) continue;
      w.f.owner = lane;
      lane.held.add(w.f);
      yield* this.#chunksOf(w.f, w.from, lane);
    }
  }

  /** What naming a blob part of `f` needs. */
  #naming(f: LiveFile): SegmentNaming {
    return { file: f.id, path: f.path, kind: f.kind, dpath: f.dpath, meta: f.meta };
  }

  /** Drive path of `f`'s data file (the shared empty file for directories and special files). */
  #driveRel(f: LiveFile): string {
    return drivePathOf(this.#o.naming, this.#naming(f));
  }

  /** The staged entries not visited yet, in walk order (after the safe frontier, leaving out those started beyond it). */
  async *#walkFiles(): AsyncGenerator<LiveFile> {
    const st = this.#s.state;
    const sessionDir = this.#s.dir;
    const walk = walkStaging(this.#deps.fs, this.#s.staging, {
      exclude: (rel) => rel === SESSION_ROOT_NAME || `${this.#s.staging}/${rel}` === sessionDir,
      onSkip: () => undefined, // listed by the pre-scan
      entries: true,
      suffix: this.#o.naming.suffix,
      ...(st.frontier !== undefined ? { after: st.frontier } : {}),
    });
    for await (const sf of walk) if (!st.beyond.has(sf.path)) yield this.#liveFileOf(sf);
    // Then what earlier runs left off the drives before the frontier (catch-up.ts).
    if (this.#o.catchUp) for await (const sf of this.#o.catchUp) yield this.#liveFileOf(sf);
  }

  /** A walked entry becomes a file of this run, with the next id. */
  #liveFileOf(sf: StagedFile): LiveFile {
    const f: LiveFile = {
      id: this.#s.state.nextFile++,
      gen: 0,
      path: sf.path,
      abs: sf.abs,
      kind: sf.kind,
      dpath: sf.dpath,
      meta: metaToJson(posixMetaOf(sf.stat)),
      size: sf.size,
      mtimeMs: sf.mtimeMs,
      ino: sf.ino,
      mode: sf.mode,
      attempts: 0,
      tweakSeed: this.#tweakSeed(sf.path),
      owner: undefined,
    };
    this.#live.set(f.id, f);
    return f;
  }

  /** The chunks of `f` from block `from`, while `lane` owns it and it is not restarted. */
  *#chunksOf(f: LiveFile, from: number, lane: Lane): Generator<ChunkJob> {
    const cb = this.#s.settings.chunkBytes;
    const n = chunkCount(f.size, cb);
    const gen = f.gen;
    for (let i = from; i < n; i++) {
      if (f.gen !== gen || f.owner !== lane || this.#live.get(f.id) !== f || lane.stopped) return;
      const rawOffset = i * cb;
      yield {
        f,
        gen,
        index: i,
        rawOffset,
        rawLength: Math.min(cb, f.size - rawOffset),
        last: i === n - 1,
        keySeq: undefined,
      };
    }
  }

  #tweakSeed(path: string): Uint8Array | undefined {
    if (!this.#s.settings.encrypt) return undefined;
    return blobTweakSeed(this.#s.settings.jobId, path);
  }

  /** A file a crash left unfinished: continue it where its journal ends, unless it changed. */
  async #resumeFile(a: ActiveFile): Promise<{ f: LiveFile; from: number } | undefined> {
    const abs = `${this.#s.staging}/${a.path}`;
    const f: LiveFile = {
      id: a.file,
      gen: a.gen,
      path: a.path,
      abs,
      kind: a.kind,
      dpath: a.dpath,
      meta: a.meta,
      size: a.size,
      mtimeMs: a.mtimeMs,
      ino: a.ino,
      mode: a.mode,
      attempts: 0,
      tweakSeed: this.#tweakSeed(a.path),
      owner: undefined,
    };
    this.#live.set(f.id, f);
    let st;
    try {
      st = await this.#deps.fs.lstat(abs);
    } catch (err) {
      await this.#skip(f, `vanished before the copy resumed (${errnoCode(err) ?? 'error'})`);
      return undefined;
    }
    if (entrySize(st) === a.size && st.mtimeMs === a.mtimeMs && st.ino === a.ino && st.kind === a.kind)
      return { f, from: a.nextIndex };
    const ok = await this.#restart(f, 'changed between runs');
    return ok ? { f, from: 0 } : undefined;
  }

  /**
   * Encode a batch: one chunk (a pooled buffer for a large one), or many small ones in one task,
   * whose whole files the worker also writes to the drive while there is room to spare.
   */
  async #encode(batch: ChunkJob[], lane: Lane): Promise<EncodeResult[]> {
    if (batch.every((j) => j.f.kind === 'file')) return this.#encodeFiles(batch, lane);
    // Directories, symlinks and special files are encoded here: their content is nothing, or the
    // link's target, a few bytes that need no worker.
    const files = batch.filter((j) => j.f.kind === 'file');
    const encoded = files.length > 0 ? await this.#encodeFiles(files, lane) : [];
    let next = 0;
    const out: EncodeResult[] = [];
    for (const j of batch) out.push(j.f.kind === 'file' ? encoded[next++]! : await this.#encodeEntry(j, lane));
    return out;
  }

  /** The stored bytes of a non-regular entry: a symlink's target (encrypted with the drive's key), else nothing. */
  async #encodeEntry(job: ChunkJob, lane: Lane): Promise<EncodeResult> {
    const f = job.f;
    let raw: Uint8Array = new Uint8Array(0);
    if (f.kind === 'symlink') {
      try {
        raw = encodeBytes(await this.#deps.fs.readlink(f.abs));
      } catch (err) {
        return { ok: false, reason: 'unreadable', message: (err as Error).message, errno: errnoCode(err) ?? 'EIO' };
      }
      if (raw.length !== f.size) return { ok: false, reason: 'changed', message: 'the link was changed' };
    }
    const cur = lane.cur;
    job.keySeq = cur.key ? cur.state.seq : undefined;
    const stored = cur.key && raw.length > 0 ? this.#kit.encryptUnit(cur.key, f.tweakSeed!, 0, raw) : raw;
    return {
      ok: true,
      stored,
      rawLength: raw.length,
      xxh64: this.#kit.xxh64(raw),
      extents: raw.length > 0 ? [{ at: 0, length: stored.length, md5: this.#kit.md5(stored) }] : [],
    };
  }

  /**
   * Tracked from its start, not from when its task is posted: it makes its files' directories
   * first, and a drive's seal must wait for every batch that may still write onto it.
   */
  #encodeFiles(batch: ChunkJob[], lane: Lane): Promise<EncodeResult[]> {
    const p = this.#encodeFilesAhead(batch, lane);
    this.#prewriting.add(p);
    void p.finally(() => this.#prewriting.delete(p)).catch(() => undefined);
    return p;
  }

  async #encodeFilesAhead(batch: ChunkJob[], lane: Lane): Promise<EncodeResult[]> {
    const cur = lane.cur;
    const s = this.#s.settings;
    const also = new Map<ChunkJob, { path: string; data: Uint8Array }>();
    const prewrite =
      batch.length > 1 &&
      !lane.stopped &&
      cur.writer.canWriteWhole &&
      s.blobType === 'block' &&
      driveRoom(cur.state) >= PREWRITE_MIN_ROOM_BYTES;
    const tasks: EncodeTask[] = [];
    for (const job of batch) {
      job.keySeq = cur.key ? cur.state.seq : undefined;
      const f = job.f;
      // New whole files only: a file restarted or continued keeps the main thread's path.
      if (prewrite && job.index === 0 && job.last && f.attempts === 0 && !this.#s.state.active.has(f.id)) {
        // A directory that cannot be made (out of inodes: ENOSPC) is the main thread's to meet,
        // where a full drive is sealed and the next one taken.
        const path = await cur.writer.prepareWhole(this.#driveRel(f)).catch(() => undefined);
        // Its metadata file too (the same bytes #write would write): off the main thread.
        const meta = metadataFileOf(this.#o.naming, this.#naming(f));
        const metaPath = meta ? await cur.writer.prepareWhole(meta.path).catch(() => undefined) : undefined;
        if (path !== undefined && (!meta || metaPath !== undefined)) {
          job.prewrite = { drive: cur.state.seq, path, meta: metaPath };
          if (meta && metaPath) also.set(job, { path: metaPath, data: meta.bytes });
        }
      }
      tasks.push({
        kind: 'encode',
        path: f.abs,
        offset: job.rawOffset,
        length: job.rawLength,
        expect: { size: f.size, mtimeMs: f.mtimeMs, ino: f.ino },
        codec: s.codec,
        level: s.level,
        pages: s.blobType === 'page',
        cipher: cur.key ? { key: cur.key } : undefined,
        tweakSeed: f.tweakSeed,
        unitOffset: job.rawOffset,
        // Small chunks allocate their own few bytes; pooling 4 MiB for each would waste memory.
        ...(job.rawLength >= POOLED_CHUNK_MIN_BYTES ? { into: this.#buffers.take() } : {}),
        ...(job.prewrite ? { writeTo: job.prewrite.path } : {}),
        ...(also.has(job) ? { writeAlso: also.get(job)! } : {}),
      });
    }
    const pending = tasks.length === 1 ? this.#pool.encode(tasks[0]!).then((r) => [r]) : this.#pool.encodeMany(tasks);
    const results = await pending;
    results.forEach((r, i) => {
      const pre = batch[i]!.prewrite;
      if (pre && r.ok && r.written === true) {
        this.#prewritten.add(pre.path);
        if (pre.meta) this.#prewritten.add(pre.meta);
      }
    });
    return results;
  }

  /** A chunk its pump will not write (its drive stopped): remove what a worker wrote ahead for it. */
  async #dropPrewrite(job: ChunkJob, res: EncodeResult): Promise<void> {
    const pre = job.prewrite && res.ok && res.written === true ? job.prewrite : undefined;
    if (!pre) return;
    this.#prewritten.delete(pre.path);
    await this.#deps.fs.unlink(pre.path);
    if (pre.meta) {
      this.#prewritten.delete(pre.meta);
      await this.#deps.fs.unlink(pre.meta);
    }
  }

  /** Place and write one chunk on `lane`'s drive; `onlyWritten`: only a whole file a worker already wrote there. */
  async #handle(lane: Lane, job: ChunkJob, res: EncodeResult, onlyWritten = false): Promise<void> {
    const f = job.f;
    // A file the worker wrote is this loop's to record or to remove from here on.
    let pre = job.prewrite && res.ok && res.written === true ? job.prewrite : undefined;
    if (pre) {
      this.#prewritten.delete(pre.path);
      if (pre.meta) this.#prewritten.delete(pre.meta);
    }
    const dropPre = async () => {
      if (pre) await this.#deps.fs.unlink(pre.path);
      if (pre?.meta) await this.#deps.fs.unlink(pre.meta);
      pre = undefined;
    };
    // Superseded by a restart or skip, or handed to another drive's pump.
    if (this.#live.get(f.id) !== f || f.gen !== job.gen || f.owner !== lane) return dropPre();
    if (onlyWritten) {
      const whole = pre !== undefined && pre.drive === lane.cur.state.seq && !this.#s.state.active.has(f.id);
      if (!whole || (pre!.meta === undefined && metadataFileOf(this.#o.naming, this.#naming(f)) !== undefined))
        return dropPre();
    }
    if (!res.ok) {
      if (res.reason === 'unreadable') await this.#skip(f, `unreadable (${res.errno ?? res.message})`);
      else await this.#restart(f, res.message);
      return;
    }
    const cur = lane.cur;
    const active = this.#s.state.active.get(f.id);
    const last = active?.segments[active.segments.length - 1];
    const seg = last && last.drive === cur.state.seq ? last : undefined;
    const fit = this.#fits(cur.state, f, job, res, seg, active);
    if (fit !== 'yes') {
      await dropPre(); // it would stay on a drive about to be sealed
      if (fit === 'not-whole' && driveRoom(cur.state) >= HAND_OFF_MIN_ROOM_BYTES) {
        // A block blob the documented format cannot split, larger than this drive's room: another
        // drive takes it, this one goes on with smaller files.
        f.owner = undefined;
        lane.held.delete(f);
        this.#feed!.giveBack({ f, from: job.index, notOn: new Set([cur.state.seq]) });
        return;
      }
      if (cur.state.segments === 0 && this.#drives.open.size <= 1) {
        if (fit === 'not-whole') {
          throw new SeedshipError(
            'E_DRIVE_UNSUITABLE',
            `${f.path} (${formatBytes(f.size)}) is larger than drive ${cur.state.driveId} can hold, and --service-strict does not split block blobs; use a larger drive or leave out --service-strict`,
            { path: f.path },
          );
        }
        throw new SeedshipError(
          'E_DRIVE_UNSUITABLE',
          `drive ${cur.state.driveId} (${cur.writer.root}) is too small to hold one ${formatBytes(res.stored.length)} block of ${f.path} with its manifest; use a larger drive (or a larger --drive-limit)`,
          { path: cur.writer.root },
        );
      }
      lane.stopped = 'full';
      return;
    }
    const primary = onlyWritten ? undefined : this.#linkTargetOf(job, res, cur, seg, active);
    // Written ahead on this drive as the whole file it is: nothing left to write.
    const written = !primary && pre !== undefined && pre.drive === cur.state.seq && !seg;
    if (!written) await dropPre();
    try {
      if (primary) await this.#writeLink(cur, job, res, primary);
      else await this.#write(cur, job, res, seg, active, written);
    } catch (err) {
      pre = undefined; // the rollback removes the drive file, written ahead or not
      if (errnoCode(err) !== 'ENOSPC') throw err;
      // A drive fuller than its accounting (someone else wrote to it): roll back this chunk and
      // let the other drives go on; the reserve file keeps room for this drive's manifest.
      await this.#rollback(cur, f, seg);
      this.#io.notice(
        'warning',
        `drive ${cur.state.driveId} ran out of space before seedship expected (ENOSPC); sealing it and going on`,
      );
      lane.stopped = 'full';
      return;
    }
    if (job.last) lane.held.delete(f);
    this.#bump(cur.state, cur.writer.root);
    // Group commit per drive, beside the copy; a drive with two intervals unsynced makes its pump
    // wait, so the pump takes files at the pace its drive writes them, the other drives the rest.
    await this.#syncs.afterWrite(cur);
  }

  /** Whether a chunk fits on a drive: yes, no (the drive is full), or not the whole unsplittable file. */
  #fits(
    d: DriveState,
    f: LiveFile,
    job: ChunkJob,
    res: Extract<EncodeResult, { ok: true }>,
    seg: SegmentState | undefined,
    active: ActiveFile | undefined,
  ): 'yes' | 'no' | 'not-whole' {
    const st = this.#s.state;
    const data = res.extents.reduce((a, e) => a + e.length, 0);
    let used = d.usedBytes;
    let manifest = d.manifestBytes + res.extents.length * RANGE_ELEMENT_MAX_BYTES;
    const prev = seg?.dataBytes ?? 0;
    if (!seg) {
      used += SEGMENT_START_BYTES;
      manifest += st.blobManifestBytes(f.path);
    }
    used += segmentAllocBytes(prev + data) - segmentAllocBytes(prev);
    const s = this.#s.settings;
    if (s.serviceStrict && s.blobType === 'block' && f.kind === 'file' && job.index === 0 && !active) {
      // The documented format cannot split a block blob: place the whole file or move on.
      const whole = worstStoredBytes(f.size, s.codec, s.chunkBytes);
      const fitsWhole =
        used - data + whole + reserveBytesFor(manifest + chunkCount(f.size, s.chunkBytes) * RANGE_ELEMENT_MAX_BYTES) <=
        d.budget;
      return fitsWhole ? 'yes' : 'not-whole';
    }
    return used + reserveBytesFor(manifest) <= d.budget ? 'yes' : 'no';
  }

  async #write(
    cur: CurrentDrive,
    job: ChunkJob,
    res: Extract<EncodeResult, { ok: true }>,
    seg: SegmentState | undefined,
    active: ActiveFile | undefined,
    written: boolean,
  ): Promise<void> {
    const f = job.f;
    const st = this.#s.state;
    const pages = this.#s.settings.blobType === 'page' && f.kind === 'file';
    const rel = this.#driveRel(f);
    const w = cur.writer;
    const stored = written ? res.stored : await this.#recrypt(job, res, cur);
    // Directories and special files have no data file of their own (their blobs are empty).
    const noData = rel === EMPTY_FILE;
    // A file that is one chunk is written whole and closed at once (the common small-file case).
    const whole = noData || written || (!seg && !pages && job.index === 0 && job.last && w.canWriteWhole);
    const h = whole
      ? undefined
      : seg
        ? await w.openPart(f.id, rel, pages ? { create: false } : { create: false, resumeLength: seg.storedLength })
        : await w.openPart(f.id, rel, pages ? { create: true, sparseLength: f.size } : { create: true });
    const chunkStoredOffset = active?.storedDone ?? 0;
    const partStart = seg ? seg.storedOffset : chunkStoredOffset;
    // Block blob parts are files of their own; page blob parts keep blob offsets (sparse files).
    const base = pages ? job.rawOffset : chunkStoredOffset - partStart;
    const data = res.extents.reduce((a, e) => a + e.length, 0);
    const manifestAfter =
      cur.state.manifestBytes + res.extents.length * RANGE_ELEMENT_MAX_BYTES + (seg ? 0 : st.blobManifestBytes(f.path));
    await w.ensureReserve(manifestAfter);
    if (h) for (const e of res.extents) await w.write(h, stored.subarray(e.at, e.at + e.length), base + e.at);
    else if (written) w.noteWritten();
    else if (!noData) await w.writeWhole(rel, stored);
    const segRec: SegmentStartedRec | undefined = seg
      ? undefined
      : this.#segmentRecord(f, cur, {
          part: (active?.segments.length ?? 0) + 1,
          rawOffset: job.rawOffset,
          storedOffset: chunkStoredOffset,
          firstBlock: job.index,
          dpath: f.dpath ?? `${f.path}${this.#o.naming.suffix}`,
        });
    // Each part's metadata file goes beside its data, before the record that names it (invariant 1).
    // A worker that wrote the file ahead wrote its metadata file too (the same bytes).
    const metaFile = segRec && !(written && job.prewrite?.meta) ? metadataFileOf(this.#o.naming, segRec) : undefined;
    if (metaFile) await w.writeSmall(metaFile.path, metaFile.bytes);
    const chunkRec: ChunkRec = {
      type: RecordType.Chunk,
      file: f.id,
      gen: f.gen,
      drive: cur.state.seq,
      index: job.index,
      rawOffset: job.rawOffset,
      rawLength: res.rawLength,
      storedOffset: chunkStoredOffset,
      storedLength: res.stored.length,
      xxh64: res.xxh64,
      extents: res.extents.map((e) => ({ fileOffset: base + e.at, length: e.length, md5: e.md5 })),
    };
    const doneRec: FileDoneRec | undefined = job.last
      ? { type: RecordType.FileDone, file: f.id, gen: f.gen, storedLength: chunkStoredOffset + res.stored.length }
      : undefined;
    if (segRec && doneRec) {
      // A file placed whole (most small files): one journal record instead of three.
      const recs = [segRec, chunkRec, doneRec] as const;
      this.#s.journal.appendWholeFile(recs);
      for (const r of recs) this.#s.state.apply(r);
    } else {
      if (segRec) this.#record(segRec);
      this.#record(chunkRec);
      if (doneRec) this.#record(doneRec);
    }
    if (segRec) this.#feed?.settle(f);
    this.#syncs.wrote(cur, data);
    if (job.last) {
      w.finish(f.id);
      this.#live.delete(f.id);
    }
    if (segRec && doneRec && this.#linkEligible(job)) {
      if (this.#linkable.size >= MAX_LINKABLE_INODES) this.#linkable.delete(this.#linkable.keys().next().value!);
      this.#linkable.set(inodeKey(f.meta!), { drive: cur.state.seq, dpath: segRec.dpath!, chunk: chunkRec });
    }
  }

  /** The record of a part of `f` starting on the drive being filled. */
  #segmentRecord(
    f: LiveFile,
    cur: CurrentDrive,
    p: { part: number; rawOffset: number; storedOffset: number; firstBlock: number; dpath: string },
  ): SegmentStartedRec {
    return {
      type: RecordType.SegmentStarted,
      file: f.id,
      gen: f.gen,
      drive: cur.state.seq,
      path: f.path,
      size: f.size,
      mtimeMs: f.mtimeMs,
      ino: f.ino,
      mode: f.mode,
      kind: f.kind,
      ...p,
      ...(f.meta ? { meta: f.meta } : {}),
    };
  }

  /** A whole small file with other names, in a session whose stored bytes do not depend on the name. */
  #linkEligible(job: ChunkJob): boolean {
    const s = this.#s.settings;
    return (
      job.f.kind === 'file' &&
      job.index === 0 &&
      job.last &&
      (job.f.meta?.n ?? 1) > 1 &&
      !s.encrypt &&
      s.blobType === 'block'
    );
  }

  /** The earlier name of `job`'s inode whose drive file it can share, if any. */
  #linkTargetOf(
    job: ChunkJob,
    res: Extract<EncodeResult, { ok: true }>,
    cur: CurrentDrive,
    seg: SegmentState | undefined,
    active: ActiveFile | undefined,
  ): LinkTarget | undefined {
    if (seg || active || !this.#linkEligible(job)) return undefined;
    const t = this.#linkable.get(inodeKey(job.f.meta!));
    // The same bytes as that name had (it is the same inode, unless it changed since).
    if (
      !t ||
      t.drive !== cur.state.seq ||
      t.chunk.xxh64 !== res.xxh64 ||
      t.chunk.rawLength !== res.rawLength ||
      t.chunk.storedLength !== res.stored.length
    )
      return undefined;
    return t;
  }

  /** Record another name of a file already on this drive: its own blob and metadata file, the other name's data file. */
  async #writeLink(
    cur: CurrentDrive,
    job: ChunkJob,
    res: Extract<EncodeResult, { ok: true }>,
    t: LinkTarget,
  ): Promise<void> {
    const f = job.f;
    const segRec = this.#segmentRecord(f, cur, {
      part: 1,
      rawOffset: 0,
      storedOffset: 0,
      firstBlock: 0,
      dpath: t.dpath,
    });
    const chunkRec: ChunkRec = { ...t.chunk, file: f.id, gen: f.gen };
    const doneRec: FileDoneRec = { type: RecordType.FileDone, file: f.id, gen: f.gen, storedLength: res.stored.length };
    const metaFile = metadataFileOf(this.#o.naming, segRec);
    await cur.writer.ensureReserve(
      cur.state.manifestBytes + res.extents.length * RANGE_ELEMENT_MAX_BYTES + this.#s.state.blobManifestBytes(f.path),
    );
    if (metaFile) await cur.writer.writeSmall(metaFile.path, metaFile.bytes);
    const recs = [segRec, chunkRec, doneRec] as const;
    this.#s.journal.appendWholeFile(recs);
    for (const r of recs) this.#s.state.apply(r);
    this.#syncs.wrote(cur, 0); // its metadata file
    this.#feed?.settle(f);
    this.#live.delete(f.id);
  }

  /** Chunks encrypted for another drive (the window ran ahead of a drive change) get this drive's key. */
  async #recrypt(job: ChunkJob, res: Extract<EncodeResult, { ok: true }>, cur: CurrentDrive): Promise<Uint8Array> {
    const target = cur.key ? cur.state.seq : undefined;
    if (job.keySeq === target) return res.stored;
    const out = new Uint8Array(res.stored);
    const from = job.keySeq !== undefined ? await this.#drives.keyOf(this.#s.state.drive(job.keySeq)) : undefined;
    for (const e of res.extents) {
      let unit: Uint8Array = out.subarray(e.at, e.at + e.length);
      const off = job.rawOffset + e.at;
      const seed = job.f.tweakSeed!; // a key exists, so the session encrypts
      if (from) unit = this.#kit.decryptUnit(from, seed, off, unit);
      if (cur.key) unit = this.#kit.encryptUnit(cur.key, seed, off, unit);
      out.set(unit, e.at);
    }
    return out;
  }

  async #rollback(cur: CurrentDrive, f: LiveFile, seg: SegmentState | undefined): Promise<void> {
    if (!seg) await this.#discard(cur, f);
    else if (this.#s.settings.blobType === 'block' || f.kind !== 'file')
      await cur.writer.truncate(f.id, seg.storedLength);
  }

  /** Remove `f`'s part from the drive being filled: its data file (never the shared empty one) and its metadata file. */
  async #discard(cur: CurrentDrive, f: LiveFile): Promise<void> {
    const rel = this.#driveRel(f);
    if (rel !== EMPTY_FILE) await cur.writer.discard(f.id, rel);
    const meta = metadataFileOf(this.#o.naming, this.#naming(f));
    if (meta) await cur.writer.discardSmall(meta.path);
  }

  /** Attach the next drive given, or ask for one; sets `needsDrive` when there is none. */
  async #nextDrive(): Promise<CurrentDrive | undefined> {
    const st = this.#s.state;
    const ask = this.#io.askNextDrive;
    const sealed = [...this.sealedNow].pop();
    // Attaching commits the journal: everything written before must be durable first.
    await this.commit();
    const cur = await this.#drives.next(
      ask
        ? () =>
            ask({
              sealedDriveId: sealed !== undefined ? st.drive(sealed).driveId : '',
              rawRemaining: Math.max(0, this.#o.rawTotal - st.rawDone),
              filesRemaining: Math.max(0, this.#o.filesTotal - st.filesDone - this.skipped.length),
            })
        : undefined,
    );
    if (!cur) this.needsDrive = true;
    return cur;
  }

  /** The drive being filled that holds the open (last) part of a file, if any. */
  #openPartDrive(active: ActiveFile | undefined): CurrentDrive | undefined {
    const last = active?.segments[active.segments.length - 1];
    return last ? this.#drives.open.get(last.drive) : undefined;
  }

  /** Copy a changed file again from its start, or skip it when that is not possible. */
  async #restart(f: LiveFile, why: string): Promise<boolean> {
    const st = this.#s.state;
    const active = st.active.get(f.id);
    const cur = this.#openPartDrive(active);
    const elsewhere = active?.segments.some((g) => g.drive !== cur?.state.seq);
    if (elsewhere) {
      await this.#skip(f, `changed while being copied (${why}) after part of it was sealed on another drive`);
      return false;
    }
    if (f.attempts + 1 >= MAX_COPY_ATTEMPTS) {
      await this.#skip(f, `kept changing while being copied (${why}); copy it when it is stable`);
      return false;
    }
    let s;
    try {
      s = await this.#deps.fs.lstat(f.abs);
    } catch (err) {
      await this.#skip(f, `vanished while being copied (${errnoCode(err) ?? 'error'})`);
      return false;
    }
    f.attempts++;
    f.gen++;
    f.size = entrySize(s);
    f.mtimeMs = s.mtimeMs;
    f.ino = s.ino;
    f.meta = metaToJson(posixMetaOf(s));
    if (cur && active && active.segments.length > 0) await this.#discard(cur, f);
    // Journaled even when no part of it was recorded yet: readers take a part's generation as
    // final only when the journal says so (a restart before the first record left the next
    // copy's parts out of the manifest, and restore one file short).
    this.#record({
      type: RecordType.FileRestarted,
      file: f.id,
      gen: f.gen,
      reason: why,
      size: f.size,
      mtimeMs: f.mtimeMs,
      ino: f.ino,
    });
    this.#io.notice('warning', `${f.path} changed while being copied; copying it again`);
    for (const l of this.#lanes.values()) l.held.delete(f);
    f.owner = undefined;
    this.#feed?.giveBack({ f, from: 0 });
    return true;
  }

  async #skip(f: LiveFile, reason: string): Promise<void> {
    const active = this.#s.state.active.get(f.id);
    const cur = this.#openPartDrive(active);
    if (active && cur) await this.#discard(cur, f);
    this.#record({ type: RecordType.FileSkipped, file: f.id, path: f.path, reason });
    this.#feed?.settle(f);
    this.#live.delete(f.id);
    for (const l of this.#lanes.values()) l.held.delete(f);
    this.skipped.push({ path: f.path, reason });
    this.#io.notice('warning', `skipped ${f.path}: ${reason}`);
  }

  #record(r: JournalRecord): void {
    this.#s.journal.append(r);
    this.#s.state.apply(r);
  }

  /** A drive's track on the board, made when the drive is first seen. */
  #track(d: DriveState, root: string): ProgressTrack {
    let t = this.#tracks.get(d.seq);
    if (!t) {
      t = this.#o.board.track({ key: d.driveId, label: `${d.driveId} ${root}`, unit: 'bytes', capacity: d.budget });
      t.setFill(d.usedBytes, d.budget);
      this.#tracks.set(d.seq, t);
    }
    return t;
  }

  /** After each chunk written: counters only (a viewer reads them on its own cadence). */
  #bump(d: DriveState, root: string): void {
    const st = this.#s.state;
    const all = this.#o.board.total;
    all.set(st.rawDone);
    all.setItems(st.filesDone);
    const t = this.#track(d, root);
    t.set(d.storedBytes);
    // Its ETA is the time until it is full at the rate it is written now.
    t.setTotal(d.storedBytes + Math.max(0, driveRoom(d)));
    t.setFill(d.usedBytes, d.budget);
    // Back to copying after a seal or read-back while no drive was being filled.
    if (this.#o.board.phase !== 'copy') this.#o.board.setPhase('copy');
  }
}

/** Inodes remembered for hard links (a few hundred bytes each). */
const MAX_LINKABLE_INODES = 100_000;

/** A name already on a drive that later names of its inode can share. */
interface LinkTarget {
  readonly drive: number;
  /** Its drive path below the container. */
  readonly dpath: string;
  readonly chunk: ChunkRec;
}

function inodeKey(m: PosixMetaJson): string {
  return `${m.d}:${m.i}`;
}

/** The size an entry's blob holds: a file's bytes, a symlink's target, nothing for the others. */
function entrySize(st: FileStat): number {
  return st.kind === 'file' || st.kind === 'symlink' ? st.size : 0;
}
