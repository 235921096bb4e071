/**
 * Groups small chunks into batches so that one worker task encodes many small files: a task costs
 * the main thread ~50 µs to post and collect, as much as encoding a 4 KiB file, and a staging tree
 * of millions of small files made that the limit. Large chunks stay alone, in order.
 */

/** What a batch needs to know of a chunk. */
export interface Sized {
  readonly rawLength: number;
}

export interface BatchLimits {
  /** Chunks at least this large are never batched. */
  readonly smallBytes: number;
  /** At most this many chunks in a batch… */
  readonly maxItems: number;
  /** …and at most this many raw bytes. */
  readonly maxBytes: number;
}

/** The default limits: 64 files or 1 MiB, chunks under 256 KiB (one task stays well under 10 ms). */
export const SMALL_CHUNK_BATCH: BatchLimits = { smallBytes: 256 * 1024, maxItems: 64, maxBytes: 1024 * 1024 };

/**
 * Yields the chunks of `src` in their order, in arrays: a large chunk alone, consecutive small ones
 * together up to the limits. Pulls lazily (a batch is yielded when full, before a large chunk, or
 * at the end); owns nothing; on return or throw of the consumer it returns `src` too.
 */
export async function* batchChunks<T extends Sized>(src: AsyncIterable<T>, limits: BatchLimits): AsyncGenerator<T[]> {
  let batch: T[] = [];
  let bytes = 0;
  for await (const c of src) {
    if (c.rawLength >= limits.smallBytes) {
      if (batch.length > 0) yield batch;
      batch = [];
      bytes = 0;
      yield [c];
      continue;
    }
    if (batch.length > 0 && (batch.length >= limits.maxItems || bytes + c.rawLength > limits.maxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(c);
    bytes += c.rawLength;
  }
  if (batch.length > 0) yield batch;
}
