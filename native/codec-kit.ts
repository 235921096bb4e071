import { createHash } from 'node:crypto';
import xxhash from 'xxhash-wasm';
import { compress, decompress } from 'zstd-napi';
import type { CodecKit } from './interfaces.js';
import { decryptUnit, encryptUnit, unitTweak } from './chunk-crypto.js';

/** zstd, XXH64 and MD5 on the calling thread. */
export async function createCodecKit(): Promise<CodecKit> {
  const h = await xxhash();
  return {
    compress: (data, level) => compress(data, { compressionLevel: level }),
    decompress: (data) => decompress(data),
    xxh64: (data) => h.h64Raw(data).toString(16).padStart(16, '0'),
    md5: (data) => createHash('md5').update(data).digest('hex').toUpperCase(),
    encryptUnit: (key, seed, off, data) => encryptUnit(key, unitTweak(seed, off), data),
    decryptUnit: (key, seed, off, data) => decryptUnit(key, unitTweak(seed, off), data),
  };
}
