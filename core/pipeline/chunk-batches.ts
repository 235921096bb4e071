/**
 * Groups chunks into batches so that one worker task encodes several: a task costs the main thread
 * ~50 µs to post and collect, as much as encoding a 4 KiB file, and a staging tree of millions of
 * small files made that the limit. Large chunks go a few to a task too, so that the worker hashes
 * their MD5s side by side in SIMD lanes (native/md5-many.ts); they are never mixed with small ones.
 */

/** What a batch needs to know of a chunk. */
export interface Sized {
  readonly rawLength: number;
}

export interface BatchLimits {
  /** Chunks at least this large are "large": batched only with other large ones, up to `largeItems`. */
  readonly smallBytes: number;
  /** At most this many small chunks in a batch… */
  readonly maxItems: number;
  /** …and at most this many raw bytes. */
  readonly maxBytes: number;
  /** At most this many consecutive large chunks in a batch. Default 1: each alone. */
  readonly largeItems?: number;
}

/**
 * The default limits: 64 files or 1 MiB, chunks under 256 KiB (one task stays well under 10 ms);
 * large chunks 2 to a task. More would hash faster (per CPU second: 1 GiB at --codec none took
 * 2.15 s of user time one to a task, 1.50 s two, 1.07 s four, 0.79 s eight; bench/MICRO.md), but
 * the copy loop's window holds 3 chunks per thread, and a worker needs a second task queued while
 * the writer handles its last one: with b to a task about 3T/b tasks are in flight for T threads,
 * at least T + 1 only for b ≤ 2. A wider window would let this grow.
 */
export const SMALL_CHUNK_BATCH: BatchLimits = {
  smallBytes: 256 * 1024,
  maxItems: 64,
  maxBytes: 1024 * 1024,
  largeItems: 2,
};

/**
 * Yields the chunks of `src` in their order, in arrays: consecutive large chunks up to
 * `largeItems`, consecutive small ones up to the limits. Pulls lazily (a batch is yielded when
 * full, when the next chunk is of the other kind, or at the end); owns nothing; on return or throw
 * of the consumer it returns `src` too.
 */
export async function* batchChunks<T extends Sized>(src: AsyncIterable<T>, limits: BatchLimits): AsyncGenerator<T[]> {
  const largeItems = Math.max(1, limits.largeItems ?? 1);
  let batch: T[] = [];
  let bytes = 0;
  let large = false;
  for await (const c of src) {
    const isLarge = c.rawLength >= limits.smallBytes;
    const full = isLarge
      ? batch.length >= largeItems
      : batch.length >= limits.maxItems || bytes + c.rawLength > limits.maxBytes;
    if (batch.length > 0 && (isLarge !== large || full)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    large = isLarge;
    batch.push(c);
    bytes += c.rawLength;
  }
  if (batch.length > 0) yield batch;
}
