/** The in-thread CodecKit: zstd (one-shot and streaming), XXH64, MD5 and the chunk cipher on the calling thread. */
import { createHash } from 'node:crypto';
import { compress, decompress } from 'zstd-napi';
import binding from 'zstd-napi/binding.js';
import type { CodecKit, ZstdStreamDecoder } from './interfaces.js';
import { decryptUnit, encryptUnit, unitTweak } from './chunk-crypto.js';
import { md5HexMany } from './md5-many.js';
import { createXxh64Hasher } from './xxh64.js';
import { SeedshipError } from '../core/errors/errors.js';

/**
 * zstd, XXH64 and MD5 (several buffers in SIMD lanes with `md5Many`) on the calling thread; the
 * addon's hashes where it loads.
 */
export async function createCodecKit(): Promise<CodecKit> {
  const h = await createXxh64Hasher();
  return {
    compress: (data, level) => compress(data, { compressionLevel: level }),
    decompress: (data) => decompress(data),
    createZstdDecoder: (outBytes = DEFAULT_DECODER_OUT_BYTES) => new StreamDecoder(outBytes),
    xxh64: (data) => h.hex(data),
    md5: (data) => createHash('md5').update(data).digest('hex').toUpperCase(),
    md5Many: (data) => md5HexMany(data),
    encryptUnit: (key, seed, off, data) => encryptUnit(key, unitTweak(seed, off), data),
    decryptUnit: (key, seed, off, data) => decryptUnit(key, unitTweak(seed, off), data),
  };
}

const DEFAULT_DECODER_OUT_BYTES = 1024 * 1024;
/** Contexts kept for reuse: one per blob in flight is enough; a few more cost nothing. */
const SPARE_DCTX_MAX = 8;
const spareDctx: binding.DCtx[] = [];

/**
 * zstd-napi's DecompressStream is a Node Transform that pushes a new 128 KiB buffer per call and
 * cannot be paused between frames; its DCtx driven directly writes into one buffer we reuse and
 * stops whenever the caller stops pulling. A DCtx frees its window only when garbage collected,
 * so contexts are reset and reused (a blob's window is up to 4 MiB of native memory V8 does not see).
 */
class StreamDecoder implements ZstdStreamDecoder {
  #dctx: binding.DCtx | undefined = spareDctx.pop() ?? new binding.DCtx();
  readonly #out: Buffer;
  #inFrame = false;

  constructor(outBytes: number) {
    this.#out = Buffer.allocUnsafe(outBytes);
  }

  get atFrameEnd(): boolean {
    return !this.#inFrame;
  }

  *decode(input: Uint8Array): Generator<Uint8Array, void, undefined> {
    const dctx = this.#dctx;
    if (!dctx) throw new SeedshipError('E_INTERNAL', 'zstd decoder used after close');
    let src = input;
    for (;;) {
      const [ret, produced, consumed] = dctx.decompressStream(this.#out, src);
      src = src.subarray(consumed);
      if (produced > 0) yield this.#out.subarray(0, produced);
      // Output not full and input used up: zstd has flushed all it can (zstd manual,
      // ZSTD_decompressStream); ret 0: a frame ended and is fully flushed.
      if (src.length === 0 && (produced < this.#out.length || ret === 0)) {
        this.#inFrame = ret !== 0;
        return;
      }
      if (produced === 0 && consumed === 0) throw new SeedshipError('E_INTEGRITY', 'zstd made no progress');
    }
  }

  close(): void {
    const dctx = this.#dctx;
    this.#dctx = undefined;
    if (!dctx) return;
    dctx.reset(binding.ResetDirective.sessionAndParameters);
    if (spareDctx.length < SPARE_DCTX_MAX) spareDctx.push(dctx);
  }
}
