/**
 * The chunk window of a pump and the encoding of its chunks in the shared worker pool: chunks are
 * batched, encoded a bounded window ahead of the writes (results in order), small whole files
 * written onto the drive by the workers themselves while it has room to spare, and large chunks
 * encoded into pooled buffers.
 */
import type { EncodeResult, EncodeTask } from '../../native/interfaces.js';
import { errnoCode } from '../errors/errors.js';
import { metadataFileOf } from '../journal/drive-blobs.js';
import { driveRoom } from '../drives/drive-space.js';
import { encodeBytes } from '../../native/raw-names.js';
import { MAX_BLOCK_BYTES } from '../manifest/chunking.js';
import { BufferPool } from '../util/buffer-pool.js';
import { mapBounded } from '../util/bounded-map.js';
import type { CurrentDrive } from './drive-coordinator.js';
import { batchChunks, SMALL_CHUNK_BATCH } from './chunk-batches.js';
import type { Prewrites } from './prewrites.js';
import { type ChunkJob, type CopyRun, type Lane, WINDOW_CHUNKS_PER_THREAD } from './copy-run.js';

/**
 * Workers write small whole files themselves only while the drive has at least this much room
 * beyond its accounting: far more than a window of chunks can take, so a file written ahead is
 * never placed on a drive that then turns out to be full.
 */
const PREWRITE_MIN_ROOM_BYTES = 256 * 1024 * 1024;
/** Chunks at least this large get a pooled buffer (see BufferPool). */
const POOLED_CHUNK_MIN_BYTES = 1024 * 1024;

/** A file's metadata file, which a worker writes beside the file it writes ahead. */
type AlsoWrite = { path: string; data: Uint8Array };

export class ChunkWindow {
  readonly #run: CopyRun;
  readonly #prewrites: Prewrites;
  readonly #buffers: BufferPool;

  constructor(run: CopyRun, prewrites: Prewrites) {
    this.#run = run;
    this.#prewrites = prewrites;
    // One buffer per chunk a window can hold, plus the one being written; more are made on demand.
    this.#buffers = new BufferPool(MAX_BLOCK_BYTES, run.o.threads * WINDOW_CHUNKS_PER_THREAD + 2);
  }

  /** The chunks of `src` encoded in batches, a bounded window ahead, in their order. */
  open(src: AsyncIterable<ChunkJob>, lane: Lane): AsyncGenerator<{ item: ChunkJob[]; result: EncodeResult[] }> {
    const maxInFlight = this.#run.o.threads * WINDOW_CHUNKS_PER_THREAD;
    const weight = (j: ChunkJob) => Math.max(j.rawLength, 64 * 1024);
    return mapBounded(
      batchChunks(src, SMALL_CHUNK_BATCH),
      {
        maxItems: Math.max(16, maxInFlight * 8),
        maxWeight: maxInFlight * this.#run.s.settings.chunkBytes,
        weight: (b) => b.reduce((a, j) => a + weight(j), 0),
        signal: this.#run.o.signal,
      },
      (batch) => this.#encode(batch, lane),
    );
  }

  /** Every write of the chunk has completed: its buffer can go again. */
  release(r: EncodeResult): void {
    if (r.ok) this.#buffers.give(r.stored.buffer);
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
    const kit = this.#run.kit;
    let raw: Uint8Array = new Uint8Array(0);
    if (f.kind === 'symlink') {
      try {
        raw = encodeBytes(await this.#run.deps.fs.readlink(f.abs));
      } catch (err) {
        return { ok: false, reason: 'unreadable', message: (err as Error).message, errno: errnoCode(err) ?? 'EIO' };
      }
      if (raw.length !== f.size) return { ok: false, reason: 'changed', message: 'the link was changed' };
    }
    const cur = lane.cur;
    job.keySeq = cur.key ? cur.state.seq : undefined;
    const stored = cur.key && raw.length > 0 ? kit.encryptUnit(cur.key, f.tweakSeed!, 0, raw) : raw;
    return {
      ok: true,
      stored,
      rawLength: raw.length,
      xxh64: kit.xxh64(raw),
      extents: raw.length > 0 ? [{ at: 0, length: stored.length, md5: kit.md5(stored) }] : [],
    };
  }

  /**
   * Tracked from its start, not from when its task is posted: it makes its files' directories
   * first, and a drive's seal must wait for every batch that may still write onto it.
   */
  #encodeFiles(batch: ChunkJob[], lane: Lane): Promise<EncodeResult[]> {
    return this.#prewrites.track(this.#encodeFilesAhead(batch, lane));
  }

  async #encodeFilesAhead(batch: ChunkJob[], lane: Lane): Promise<EncodeResult[]> {
    const cur = lane.cur;
    const prewrite = this.#mayPrewrite(batch, lane);
    const tasks: EncodeTask[] = [];
    for (const job of batch) {
      job.keySeq = cur.key ? cur.state.seq : undefined;
      const also = prewrite ? await this.#planPrewrite(job, cur) : undefined;
      tasks.push(this.#taskOf(job, cur, also));
    }
    const pool = this.#run.pool;
    const pending = tasks.length === 1 ? pool.encode(tasks[0]!).then((r) => [r]) : pool.encodeMany(tasks);
    const results = await pending;
    this.#prewrites.noteResults(batch, results);
    return results;
  }

  /** Whether the workers write this batch's whole files onto the drive themselves. */
  #mayPrewrite(batch: readonly ChunkJob[], lane: Lane): boolean {
    const cur = lane.cur;
    return (
      batch.length > 1 &&
      !lane.stopped &&
      cur.writer.canWriteWhole &&
      this.#run.s.settings.blobType === 'block' &&
      driveRoom(cur.state) >= PREWRITE_MIN_ROOM_BYTES
    );
  }

  /**
   * For a new whole file, make its directories and set `job.prewrite` so that its worker writes
   * it; returns the metadata file the worker writes beside it, if any.
   */
  async #planPrewrite(job: ChunkJob, cur: CurrentDrive): Promise<AlsoWrite | undefined> {
    const run = this.#run;
    const f = job.f;
    // New whole files only: a file restarted or continued keeps the main thread's path.
    if (!(job.index === 0 && job.last && f.attempts === 0 && !run.s.state.active.has(f.id))) return undefined;
    // A directory that cannot be made (out of inodes: ENOSPC) is the main thread's to meet,
    // where a full drive is sealed and the next one taken.
    const path = await cur.writer.prepareWhole(run.driveRel(f)).catch(() => undefined);
    // Its metadata file too (the same bytes the chunk's write would write): off the main thread.
    const meta = metadataFileOf(run.o.naming, run.naming(f));
    const metaPath = meta ? await cur.writer.prepareWhole(meta.path).catch(() => undefined) : undefined;
    if (path === undefined || (meta && metaPath === undefined)) return undefined;
    job.prewrite = { drive: cur.state.seq, path, meta: metaPath };
    return meta && metaPath ? { path: metaPath, data: meta.bytes } : undefined;
  }

  /** The worker task that encodes `job` (and writes its file ahead when planned). */
  #taskOf(job: ChunkJob, cur: CurrentDrive, also: AlsoWrite | undefined): EncodeTask {
    const s = this.#run.s.settings;
    const f = job.f;
    return {
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
      ...(also ? { writeAlso: also } : {}),
    };
  }
}
