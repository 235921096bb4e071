/**
 * The piscina worker: reads a chunk of a staged file, hashes, compresses and encrypts it (encode),
 * or reads stored bytes back from a drive and checks them (decode). Requests and replies are those
 * of chunk-protocol.ts. Buffers go back to the main thread by transfer, not copy. Each call owns
 * the file descriptor it opens and closes it.
 */
import { closeSync, fstatSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { Piscina, transferableSymbol, valueSymbol } from 'piscina';
import { Compressor, Decompressor, decompress } from 'zstd-napi';
import { nonZeroPageRanges } from '../core/azure/page-ranges.js';
import { SeedshipError } from '../core/errors/errors.js';
import { decryptUnit, encryptUnit, unitTweak } from './chunk-crypto.js';
import type { ChunkReply, ChunkRequest, EncodeBatchTask, ReplyOf } from './chunk-protocol.js';
import type { DecodeResult, DecodeTask, EncodeResult, EncodeTask, StoredExtent } from './interfaces.js';
import { md5HexMany } from './md5-many.js';
import { encodePath } from './raw-names.js';
import { createXxh64Hasher } from './xxh64.js';

const xxh64 = await createXxh64Hasher();
const compressors = new Map<number, Compressor>();

/** zstd-napi's own compress allocates a new output buffer; its context can write into ours. */
interface Cctx {
  compress2(dest: Uint8Array, src: Uint8Array): number;
}

/** Compress into `into` (a pool buffer at least compressBound long) without a new allocation. */
function compressInto(level: number, raw: Uint8Array, into: ArrayBuffer | undefined): Buffer {
  const c = compressorFor(level);
  const cctx = (c as unknown as { cctx?: Partial<Cctx> }).cctx;
  if (into && into.byteLength >= compressBound(raw.length) && typeof cctx?.compress2 === 'function') {
    const dest = Buffer.from(into);
    return dest.subarray(0, cctx.compress2(dest, raw));
  }
  return c.compress(raw);
}

/** ZSTD_COMPRESSBOUND. */
function compressBound(n: number): number {
  return n + (n >>> 8) + (n < 128 * 1024 ? (128 * 1024 - n) >>> 11 : 0);
}

function compressorFor(level: number): Compressor {
  let c = compressors.get(level);
  if (!c) {
    c = new Compressor();
    // One frame per chunk with the content size in its header, so `zstd -d` and the importer can
    // size their buffers; checksum off because XXH64 of the raw chunk is kept in the journal.
    c.setParameters({ compressionLevel: level, contentSizeFlag: true, checksumFlag: false });
    compressors.set(level, c);
  }
  return c;
}

/** Wraps a reply so piscina transfers its buffers instead of copying them, and unwraps it before posting. */
class Moved<T extends object> {
  readonly #value: T;
  readonly #list: ArrayBuffer[];
  constructor(value: T, list: ArrayBuffer[]) {
    this.#value = value;
    this.#list = list;
  }
  get [transferableSymbol](): ArrayBuffer[] {
    return this.#list;
  }
  get [valueSymbol](): T {
    return this.#value;
  }
}

/** A reply as a request's handler gives it: as is (copied to the main thread), or to be moved. */
type Sent<T extends object> = T | Moved<T>;

function xxh64Hex(data: Uint8Array): string {
  return xxh64.hex(data);
}

/**
 * A read buffer this worker keeps for chunks whose raw bytes never leave it (zstd: only the
 * compressed frame is transferred), saving a 4 MiB allocation and its page faults per chunk.
 */
let scratch: Buffer = Buffer.alloc(0);

/** Read into `into` when it is large enough, else into the worker's scratch buffer (`reuse`) or a new one. */
function readAt(
  path: string,
  offset: number,
  length: number,
  reuse = false,
  into?: ArrayBuffer,
): { buf: Buffer; n: number; fd: number } {
  // encodePath costs one isWellFormed scan of the path unless it holds escaped (non-UTF-8) bytes.
  const fd = openSync(encodePath(path), 'r');
  let buf: Buffer;
  if (into && into.byteLength >= length) buf = Buffer.from(into, 0, length);
  else if (reuse) {
    if (scratch.length < length) scratch = Buffer.allocUnsafeSlow(length);
    buf = scratch;
  } else buf = Buffer.allocUnsafeSlow(length);
  let n = 0;
  try {
    while (n < length) {
      const r = readSync(fd, buf, n, length - n, offset + n);
      if (r === 0) break;
      n += r;
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return { buf, n, fd };
}

/**
 * Create `path` exclusively with `data` (a leftover of a crashed run is removed first); true, or the
 * errno code with nothing left behind.
 */
function writeNewFile(path: string, data: Uint8Array): true | string {
  let fd: number | undefined;
  let raw: string | Buffer = path;
  try {
    raw = encodePath(path);
    try {
      fd = openSync(raw, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      unlinkSync(raw);
      fd = openSync(raw, 'wx', 0o644);
    }
    for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, done);
    closeSync(fd);
    return true;
  } catch (err) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing; the unlink below is what matters
      }
      try {
        unlinkSync(raw);
      } catch {
        // nothing to remove
      }
    }
    return (err as NodeJS.ErrnoException).code ?? 'EIO';
  }
}

/** A chunk read, checked, hashed (XXH64) and compressed, waiting for the MD5 of its extents. */
interface Prepared {
  readonly t: EncodeTask;
  readonly stored: Buffer;
  readonly rawLength: number;
  readonly xxh64: string;
  /** The extents' byte ranges in `stored` (all of it, or a page blob's non-zero pages). */
  readonly ranges: readonly { at: number; length: number }[];
}

/**
 * Read, check, XXH64 and compress one chunk; its MD5s are left to the caller, to hash many chunks'
 * extents side by side.
 */
function prepare(t: EncodeTask): Prepared | EncodeResult {
  let read: ReturnType<typeof readAt>;
  try {
    // Raw bytes read into the task's buffer when they are what is stored (codec none).
    read = readAt(t.path, t.offset, t.length, t.codec === 'zstd', t.codec === 'zstd' ? undefined : t.into);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return {
      ok: false,
      reason: e.code === 'ENOENT' ? 'changed' : 'unreadable',
      message: e.message,
      ...(e.code ? { errno: e.code } : {}),
    };
  }
  const { buf, n, fd } = read;
  // Compare identity after the read: a write that raced with it shows up as size or mtime change.
  const st = fstatSync(fd);
  closeSync(fd);
  if (n < t.length || st.size !== t.expect.size || st.mtimeMs !== t.expect.mtimeMs || st.ino !== t.expect.ino) {
    return { ok: false, reason: 'changed', message: `changed while being read (size ${t.expect.size} -> ${st.size})` };
  }
  const raw = buf.subarray(0, n);
  // Before the next chunk's read: with zstd, `raw` is this worker's scratch buffer.
  const xxh64 = xxh64Hex(raw);
  const stored: Buffer = t.codec === 'zstd' ? compressInto(t.level, raw, t.into) : raw;
  const ranges = t.pages ? nonZeroPageRanges(stored) : stored.length === 0 ? [] : [{ at: 0, length: stored.length }];
  return { t, stored, rawLength: n, xxh64, ranges };
}

/** MD5 of every extent of every prepared chunk in one call, so the addon hashes them in SIMD lanes. */
function hashExtents(ps: readonly Prepared[]): StoredExtent[][] {
  const units = ps.flatMap((p) => p.ranges.map((r) => p.stored.subarray(r.at, r.at + r.length)));
  const md5s = md5HexMany(units);
  let next = 0;
  return ps.map((p) => p.ranges.map((r) => ({ at: r.at, length: r.length, md5: md5s[next++]! })));
}

/**
 * Encrypt the extents (after their MD5: the manifest's hashes are of the plain stored bytes) and write
 * the file ahead if asked.
 */
function finish(p: Prepared, extents: StoredExtent[]): EncodeResult {
  const { t, stored } = p;
  if (t.cipher) {
    // Never store plain bytes where encryption was asked for.
    if (!t.tweakSeed) throw new SeedshipError('E_INTERNAL', 'encode task with a cipher but no tweak seed');
    for (const e of extents) {
      const unit = stored.subarray(e.at, e.at + e.length);
      encryptUnit(t.cipher.key, unitTweak(t.tweakSeed, t.unitOffset + e.at), unit).copy(unit);
    }
  }
  let written = t.writeTo === undefined ? undefined : writeNewFile(t.writeTo, stored);
  if (written === true && t.writeAlso) {
    written = writeNewFile(t.writeAlso.path, t.writeAlso.data);
    if (written !== true) {
      try {
        unlinkSync(encodePath(t.writeTo!));
      } catch {
        // the caller removes what it does not record
      }
    }
  }
  return {
    ok: true,
    stored,
    rawLength: p.rawLength,
    xxh64: p.xxh64,
    extents,
    ...(written !== undefined ? { written } : {}),
  };
}

function isPrepared(x: Prepared | EncodeResult): x is Prepared {
  return 't' in x;
}

function encode(t: EncodeTask): Sent<ReplyOf<EncodeTask>> {
  const p = prepare(t);
  if (!isPrepared(p)) return p;
  const result = finish(p, hashExtents([p])[0]!);
  return new Moved(result, [p.stored.buffer as ArrayBuffer]);
}

/** zstd-napi's decompress allocates its output; its context can write into ours. */
interface Dctx {
  decompress(dest: Uint8Array, src: Uint8Array): number;
}
let decompressor: Decompressor | undefined;
let rawScratch: Buffer = Buffer.alloc(0);

/**
 * Decompress a frame only to check it (verify): into a buffer this worker keeps, so a read-back
 * does not leave a 4 MiB buffer per chunk for the garbage collector (peak RSS of a read-back was
 * ~85 MiB above the copy's). One byte of room more than expected, so a longer frame is seen.
 */
function decompressToScratch(stored: Buffer, expected: number): Buffer {
  decompressor ??= new Decompressor();
  const dctx = (decompressor as unknown as { dctx?: Partial<Dctx> }).dctx;
  if (typeof dctx?.decompress !== 'function') return decompress(stored);
  if (rawScratch.length < expected + 1) rawScratch = Buffer.allocUnsafeSlow(expected + 1);
  return rawScratch.subarray(0, dctx.decompress(rawScratch.subarray(0, expected + 1), stored));
}

function decode(t: DecodeTask): Sent<ReplyOf<DecodeTask>> {
  let read: ReturnType<typeof readAt>;
  try {
    // The stored bytes leave the worker only when they are the raw bytes a restore returns.
    read = readAt(t.path, t.offset, t.length, !(t.returnRaw && t.raw?.codec !== 'zstd'));
  } catch (err) {
    return { ok: false, reason: 'io', message: (err as Error).message };
  }
  closeSync(read.fd);
  if (read.n < t.length) return { ok: false, reason: 'short', message: `only ${read.n} of ${t.length} bytes present` };
  const stored = read.buf.subarray(0, read.n);
  const units = t.units.map((u) => stored.subarray(u.at, u.at + u.length));
  if (t.cipher && t.tweakSeed) {
    for (let i = 0; i < units.length; i++) {
      const unit = units[i]!;
      decryptUnit(t.cipher.key, unitTweak(t.tweakSeed, t.unitOffset + t.units[i]!.at), unit).copy(unit);
    }
  }
  // All units at once (a page blob's chunk has one per run of non-zero pages), in SIMD lanes.
  const hashed = t.units.map((u, i) => ({ u, i })).filter((x) => x.u.md5 !== undefined);
  const actual = md5HexMany(hashed.map((x) => units[x.i]!));
  for (let k = 0; k < hashed.length; k++) {
    const { u, i } = hashed[k]!;
    if (actual[k] !== u.md5)
      return {
        ok: false,
        reason: 'md5',
        message: `MD5 ${actual[k]} does not match ${u.md5}`,
        unit: i,
        actual: actual[k]!,
      };
  }
  if (!t.raw) return { ok: true, raw: undefined };
  let raw: Buffer;
  try {
    raw =
      t.raw.codec === 'zstd'
        ? t.returnRaw
          ? decompress(stored)
          : decompressToScratch(stored, t.raw.rawLength)
        : stored;
  } catch (err) {
    return { ok: false, reason: 'codec', message: `not a valid zstd frame: ${(err as Error).message}` };
  }
  if (raw.length !== t.raw.rawLength)
    return { ok: false, reason: 'codec', message: `decodes to ${raw.length} bytes, expected ${t.raw.rawLength}` };
  if (t.raw.xxh64 !== undefined) {
    const actual = xxh64Hex(raw);
    if (actual !== t.raw.xxh64)
      return { ok: false, reason: 'xxh64', message: `XXH64 ${actual} does not match ${t.raw.xxh64}`, actual };
  }
  if (!t.returnRaw) return { ok: true, raw: undefined };
  const own = raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength ? raw : Buffer.from(raw);
  return new Moved<DecodeResult>({ ok: true, raw: own }, [own.buffer as ArrayBuffer]);
}

/**
 * Encode the chunks of a batch, their MD5s in one multi-buffer call. A chunk stored in its task's
 * own buffer (`into`, from the main thread's pool) goes back in it; the stored bytes of the others
 * go back together in one buffer (views into it), so a batch of small files costs one transfer
 * instead of one per file.
 */
function encodeBatch(b: EncodeBatchTask): Sent<ReplyOf<EncodeBatchTask>> {
  const prepared = b.tasks.map(prepare);
  const extents = hashExtents(prepared.filter(isPrepared));
  let next = 0;
  const results = prepared.map((p) => (isPrepared(p) ? finish(p, extents[next++]!) : p));
  const own = (r: EncodeResult, i: number) => r.ok && r.stored.buffer === b.tasks[i]!.into;
  const total = results.reduce((a, r, i) => a + (r.ok && !own(r, i) ? r.stored.length : 0), 0);
  // The main thread gives each result's buffer back to its pool, which keeps buffers of the pool's
  // size only: the packed one must never be that size, or it would be given back once per result.
  const poolBytes = b.tasks.find((t) => t.into)?.into?.byteLength;
  const all = Buffer.allocUnsafeSlow(total === poolBytes ? total + 1 : total);
  let at = 0;
  const transfer: ArrayBuffer[] = [all.buffer as ArrayBuffer];
  const packed = results.map((r, i): EncodeResult => {
    if (!r.ok) return r;
    if (own(r, i)) {
      transfer.push(r.stored.buffer as ArrayBuffer);
      return r;
    }
    all.set(r.stored, at);
    const stored = all.subarray(at, at + r.stored.length);
    at += r.stored.length;
    return { ...r, stored };
  });
  return new Moved(packed, transfer);
}

/**
 * The handler piscina calls with each request. A reply marked by Piscina.move() is transferred
 * and reaches the pool unwrapped, as the ChunkReply it holds.
 */
export default async function handle(req: ChunkRequest): Promise<ChunkReply | ReturnType<typeof Piscina.move>> {
  switch (req.kind) {
    case 'encode':
      return send(req, encode(req));
    case 'encode-batch':
      return send(req, encodeBatch(req));
    case 'decode':
      return send(req, decode(req));
    default: {
      const unexpected: never = req;
      const { kind }: { readonly kind?: unknown } = unexpected;
      throw new SeedshipError('E_INTERNAL', `chunk worker: no request kind ${String(kind)}`);
    }
  }
}

/**
 * The reply to `req`, as piscina wants it: its type must be the one ReplyMap gives `req`'s kind,
 * which is what lets chunk-pool.ts type the reply it receives.
 */
function send<R extends ChunkRequest>(_req: R, out: Sent<ReplyOf<R>>): ChunkReply | ReturnType<typeof Piscina.move> {
  // piscina transfers only what Piscina.move() marked.
  return out instanceof Moved ? Piscina.move(out) : out;
}
