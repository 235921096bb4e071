/**
 * Streaming one blob into one file: downloaded piece by piece, `.zst` blobs decompressed on the
 * way, written sparse, in a few MiB of memory whatever the blob's size.
 */
import type { CodecKit, FileSystem, ZstdStreamDecoder } from '../../native/interfaces.js';
import type { BlobStore } from '../../native/blob-store-types.js';
import { SeedshipError, errnoCode } from '../errors/errors.js';
import { SparseWriter } from './sparse-writer.js';

/**
 * Output piece of the zstd decoder. Peak memory of one blob in flight: this, the writer's two
 * 4 MiB buffers, the frame window (≤ 4 MiB for seedship's 4 MiB chunks) and the connection's
 * buffers.
 */
const DECODE_OUT_BYTES = 1024 * 1024;

/** One blob to restore into one file. */
export interface BlobToFile {
  readonly container: string;
  readonly blob: string;
  /** Stored size, as listed: the download must deliver exactly this many bytes. */
  readonly size: number;
  /** The blob is zstd frames back to back (a `.zst` blob of a zstd copy): decompress it. */
  readonly zst: boolean;
  /** The file to create; it must not exist, its directory must. */
  readonly out: string;
  readonly signal: AbortSignal;
  /** Called with the count of each piece of restored (raw) bytes. May not block. */
  readonly onBytes?: (n: number) => void;
  /** Called with the count of each piece of stored bytes downloaded (of `size`). May not block. */
  readonly onReceived?: (n: number) => void;
}

/**
 * Restore one blob into a file by streaming: one download read piece by piece, `.zst` blobs
 * decompressed as the pieces come (frames may straddle pieces), the raw bytes written in order
 * with zero 4 KiB blocks left as holes and the length set at the end. Memory is a few MiB whatever
 * the blob's size. Returns the file's length. Owns and closes the file; on error or abort the
 * partial file is left for the caller (a restore into an empty directory that failed).
 */
export async function restoreBlobToFile(
  fs: FileSystem,
  kit: CodecKit,
  store: BlobStore,
  o: BlobToFile,
): Promise<number> {
  const name = `${o.container}/${o.blob}`;
  // 'wx': in an empty target only another blob can have made the file (`x` and `x.zst`), and
  // two blobs in flight must not interleave their writes in one file.
  const h = await fs.open(o.out, 'wx').catch((err: unknown) => {
    if (errnoCode(err) !== 'EEXIST') throw err;
    throw new SeedshipError(
      'E_INTEGRITY',
      `${o.out} exists already: another blob of container ${o.container} restores to the same file as ${o.blob}`,
      { path: o.out, cause: err },
    );
  });
  const dec = o.zst ? kit.createZstdDecoder(DECODE_OUT_BYTES) : undefined;
  const w = new SparseWriter(h);
  try {
    const write = async (raw: Uint8Array) => {
      await w.append(raw);
      o.onBytes?.(raw.length);
    };
    const pieces = store.downloadStream(o.container, o.blob, 0, o.size, o.signal)[Symbol.asyncIterator]();
    let received = 0;
    try {
      for (;;) {
        const next = await nextPiece(pieces, o, received);
        if (next.done) break;
        o.signal.throwIfAborted();
        const piece = next.value;
        if (dec)
          await decodeInto(dec, piece, write, () => `blob ${name} is not valid zstd near stored offset ${received}`);
        else await write(piece);
        received += piece.length;
        o.onReceived?.(piece.length);
      }
    } finally {
      await pieces.return?.();
    }
    if (received !== o.size)
      throw new SeedshipError(
        'E_INTEGRITY',
        `blob ${name} gave ${received} bytes but is listed with ${o.size}; did it change during the restore?`,
      );
    if (dec && !dec.atFrameEnd)
      throw new SeedshipError('E_INTEGRITY', `blob ${name} ends inside a zstd frame: it is truncated`);
    return await w.finish();
  } finally {
    dec?.close();
    await w.settle(); // no write may still be running on the handle when it closes
    await h.close();
  }
}

/** The next piece of the download; a failed download (not an abort) is E_AZURE, worth a retry. */
async function nextPiece(
  pieces: AsyncIterator<Uint8Array>,
  o: BlobToFile,
  received: number,
): Promise<IteratorResult<Uint8Array>> {
  try {
    return await pieces.next();
  } catch (err) {
    o.signal.throwIfAborted();
    throw new SeedshipError(
      'E_AZURE',
      `blob ${o.container}/${o.blob} could not be downloaded at ${received} of ${o.size} bytes ` +
        `(${(err as Error).message}); run restore again into an empty directory`,
      { cause: err, permanent: false },
    );
  }
}

/**
 * Decode one stored piece and write each output piece before asking for the next (the decoder
 * reuses its buffer).
 */
async function decodeInto(
  dec: ZstdStreamDecoder,
  piece: Uint8Array,
  write: (raw: Uint8Array) => Promise<void>,
  what: () => string,
): Promise<void> {
  const out = dec.decode(piece);
  for (;;) {
    let r: IteratorResult<Uint8Array>;
    try {
      r = out.next();
    } catch (err) {
      throw new SeedshipError('E_INTEGRITY', `${what()} (${(err as Error).message})`, { cause: err });
    }
    if (r.done) return;
    await write(r.value);
  }
}
