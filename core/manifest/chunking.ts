/** Chunk sizes and counts: the service's block limits and worst-case stored bytes per file. */
import type { Codec } from '../../native/interfaces.js';

/** The service's limit on a block's (and a page range's) stored length. */
export const MAX_BLOCK_BYTES = 4 * 1024 * 1024;
/** The service's limit on blocks per block blob. */
export const MAX_BLOCKS_PER_BLOB = 50_000;

/** zstd's worst-case output size for `n` input bytes (ZSTD_COMPRESSBOUND). */
export function zstdCompressBound(n: number): number {
  const small = 128 * 1024;
  return n + (n >>> 8) + (n < small ? (small - n) >>> 11 : 0);
}

/**
 * Raw bytes per chunk. With zstd, 4 MiB − 64 KiB: its compress bound (4,144,896) stays under the
 * 4 MiB block limit even for incompressible data, and it is a multiple of 4096 and of 512.
 * Without compression a chunk is exactly one 4 MiB block.
 */
export function rawChunkBytes(codec: Codec): number {
  return codec === 'zstd' ? MAX_BLOCK_BYTES - 64 * 1024 : MAX_BLOCK_BYTES;
}

/** Number of chunks of a file: an empty file is one empty chunk, so every file has a blob. */
export function chunkCount(size: number, chunkBytes: number): number {
  return Math.max(1, Math.ceil(size / chunkBytes));
}

/** Largest stored size a file can take (worst case), for --service-strict placement. */
export function worstStoredBytes(size: number, codec: Codec, chunkBytes: number): number {
  if (codec === 'none') return size;
  const full = Math.floor(size / chunkBytes);
  return full * zstdCompressBound(chunkBytes) + zstdCompressBound(size - full * chunkBytes);
}
