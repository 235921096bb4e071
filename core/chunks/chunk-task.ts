/**
 * Reading a journaled chunk back from a drive: the decode task that checks it, and the per-blob
 * seed of its encryption tweak.
 */
import { createHash } from 'node:crypto';
import type { Codec, DecodeTask } from '../../native/interfaces.js';
import type { ChunkRec } from '../journal/record-codec.js';

/** How a journaled chunk is read back: from which drive file, stored how. */
export interface ChunkReadParams {
  /** The blob part's data file on the drive. */
  readonly path: string;
  /** A page blob's chunk: read whole, holes as zeros. */
  readonly pages: boolean;
  readonly codec: Codec;
  /** The drive's key, for a drive prepared with --encrypt. */
  readonly key: Uint8Array | undefined;
  readonly tweakSeed: Uint8Array;
  /** Return the raw (restored) bytes, not only the checks' outcome. */
  readonly returnRaw: boolean;
}

/**
 * The decode task that reads one journaled chunk back from its drive file: every stored unit
 * checked by MD5 (after decryption), then the chunk decompressed and checked by XXH64.
 */
export function chunkDecodeTask(c: ChunkRec, p: ChunkReadParams): DecodeTask {
  const first = c.extents[0];
  // Page-blob chunks are read whole (holes read as zeros); a block is its one stored extent.
  const offset = p.pages ? c.rawOffset : (first?.fileOffset ?? 0);
  const length = p.pages ? c.rawLength : c.storedLength;
  return {
    kind: 'decode',
    path: p.path,
    offset,
    length,
    units: c.extents.map((e) => ({ at: e.fileOffset - offset, length: e.length, md5: e.md5 })),
    cipher: p.key ? { key: p.key } : undefined,
    tweakSeed: p.tweakSeed,
    unitOffset: c.rawOffset,
    raw: { codec: p.codec, xxh64: c.xxh64, rawLength: c.rawLength },
    returnRaw: p.returnRaw,
  };
}

/** The per-blob seed of the encryption tweak: job id and staged path, so equal files differ on disk. */
export function blobTweakSeed(jobId: string, path: string): Uint8Array {
  return createHash('sha256').update(jobId).update('\0').update(path).digest().subarray(0, 16);
}
