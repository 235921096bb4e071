/** The journal's binary format: header and record encoding and decoding. */
import { crc32 } from 'node:zlib';
import type { EntryKind } from '../../native/interfaces.js';
import type { PosixMetaJson } from '../manifest/blob-metadata.js';
import { decodeName, encodeBytes } from '../../native/raw-names.js';
import { SeedshipError } from '../errors/errors.js';

/**
 * The binary journal format. Header: magic `SSJR` | version u16 LE | jobId (16 bytes).
 * Then records: `len u32 LE | crc32 u32 LE (over type and payload) | type u8 | payload (len bytes)`.
 * Chunk records are binary (they are most of the journal); the rare others are JSON. Version 2
 * adds the binary WholeFile record: a file placed whole in one chunk (most small files) in one
 * record instead of three, which a reader expands into the same three logical records. Version 3
 * journals every staged entry (directories, symbolic links and special files too) with its POSIX
 * metadata and drive name: SegmentStarted's optional fields and the WholeFileMeta record.
 */
export const JOURNAL_MAGIC = 'SSJR';
/** The version new journals are written in. */
export const JOURNAL_VERSION = 4;
/** Versions this seedship reads (and appends to, in their own format). */
export const JOURNAL_VERSIONS_READ: readonly number[] = [1, 2, 3, 4];
export const HEADER_BYTES = 4 + 2 + 16;
export const RECORD_HEAD_BYTES = 4 + 4 + 1;
/**
 * Bound on a record's payload: anything longer is a torn or garbage tail (restic bounds its pack headers the same way).
 */
export const MAX_RECORD_PAYLOAD_BYTES = 1 << 20;

export enum RecordType {
  SessionStarted = 1,
  DriveAttached = 2,
  SegmentStarted = 3,
  Chunk = 4,
  FileDone = 5,
  FileRestarted = 6,
  FileSkipped = 7,
  DriveFull = 8,
  DriveSealed = 9,
  SessionDone = 10,
  DriveVerified = 11,
  /**
   * Physical only (journal version 2): SegmentStarted + Chunk + FileDone of a file placed whole in
   * one chunk. Readers never see it: `decodeRecord` expands it into those three records.
   */
  WholeFile = 12,
  /** Physical only (journal version 3): WholeFile with the entry's kind, POSIX metadata and drive name. */
  WholeFileMeta = 13,
  /**
   * Every walked path up to `path` has its first record before this one (journal rule 5, docs/invariants.md).
   * Written at the start of every run and before group commits; once a journal has one, its
   * frontier comes only from these records.
   */
  FrontierAdvanced = 14,
  /** A drive failed (EIO, gone) before it was sealed: what it holds is copied again elsewhere. */
  DriveFailed = 15,
}

/** The largest record type a reader knows. */
const LAST_RECORD_TYPE = RecordType.DriveFailed;

/** A run of `prepare` began (every resume writes one). */
export interface SessionStartedRec {
  readonly type: RecordType.SessionStarted;
  readonly run: number;
  readonly at: number;
  readonly version: string;
}
/** A drive joined the job as sequence number `drive`. Written after drive.json, before any data. */
export interface DriveAttachedRec {
  readonly type: RecordType.DriveAttached;
  readonly drive: number;
  readonly driveId: string;
  readonly path: string;
  /** Bytes seedship may write to it, as decided at attach time. */
  readonly budget: number;
}
/** Part `part` of file `file` (generation `gen`) starts on `drive`. The first part also names the file. */
export interface SegmentStartedRec {
  readonly type: RecordType.SegmentStarted;
  readonly file: number;
  readonly gen: number;
  readonly part: number;
  readonly drive: number;
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly mode: number;
  /** Raw offset in the staged file where this part starts. */
  readonly rawOffset: number;
  /** Stored offset in the blob where this part starts. */
  readonly storedOffset: number;
  /** Index of this part's first block within the blob. */
  readonly firstBlock: number;
  /** What the entry is; absent: a regular file (journals before version 3). */
  readonly kind?: EntryKind;
  /** Path of the data file on the drive below the container, suffix included; absent: `path` + suffix. */
  readonly dpath?: string;
  /** The entry's POSIX metadata when staged (version 3). */
  readonly meta?: PosixMetaJson;
}
/** One stored range of a chunk; block blobs have exactly one per chunk. */
export interface ExtentRec {
  /** Offset of the range in the drive file. */
  readonly fileOffset: number;
  readonly length: number;
  readonly md5: string; // 32 upper-case hex
}
/** A chunk's bytes are durable on its drive. */
export interface ChunkRec {
  readonly type: RecordType.Chunk;
  readonly file: number;
  readonly gen: number;
  readonly drive: number;
  readonly index: number; // block index within the blob
  readonly rawOffset: number;
  readonly rawLength: number;
  /** Offset of the chunk's stored bytes in the blob. */
  readonly storedOffset: number;
  readonly storedLength: number;
  readonly xxh64: string; // 16 lower-case hex
  readonly extents: readonly ExtentRec[];
}
export interface FileDoneRec {
  readonly type: RecordType.FileDone;
  readonly file: number;
  readonly gen: number;
  readonly storedLength: number;
}
export interface FileRestartedRec {
  readonly type: RecordType.FileRestarted;
  readonly file: number;
  readonly gen: number; // the new generation
  readonly reason: string;
  /** The staged file's identity for the new generation. */
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}
export interface FileSkippedRec {
  readonly type: RecordType.FileSkipped;
  readonly file: number;
  readonly path: string;
  readonly reason: string;
}
export interface DriveFullRec {
  readonly type: RecordType.DriveFull;
  readonly drive: number;
}
export interface DriveSealedRec {
  readonly type: RecordType.DriveSealed;
  readonly drive: number;
  readonly manifestHash: string;
  readonly manifestBytes: number;
}
/** A sealed drive was read back against its manifest and the journal without a problem. */
export interface DriveVerifiedRec {
  readonly type: RecordType.DriveVerified;
  readonly drive: number;
}
export interface DriveFailedRec {
  readonly type: RecordType.DriveFailed;
  readonly drive: number;
  readonly reason: string;
}
/** The safe frontier of the walk (null: nothing walked yet). */
export interface FrontierAdvancedRec {
  readonly type: RecordType.FrontierAdvanced;
  readonly path: string | null;
}
export interface SessionDoneRec {
  readonly type: RecordType.SessionDone;
  readonly at: number;
}

export type JournalRecord =
  | SessionStartedRec
  | DriveAttachedRec
  | SegmentStartedRec
  | ChunkRec
  | FileDoneRec
  | FileRestartedRec
  | FileSkippedRec
  | DriveFullRec
  | DriveSealedRec
  | SessionDoneRec
  | DriveVerifiedRec
  | FrontierAdvancedRec
  | DriveFailedRec;

/** Encode the journal header. */
export function encodeHeader(jobId: Uint8Array, version = JOURNAL_VERSION): Buffer {
  if (jobId.length !== 16) throw new SeedshipError('E_INTERNAL', 'jobId must be 16 bytes');
  const b = Buffer.alloc(HEADER_BYTES);
  b.write(JOURNAL_MAGIC, 0, 'latin1');
  b.writeUInt16LE(version, 4);
  b.set(jobId, 6);
  return b;
}

/** Decode the header, or say what is wrong with it. */
export function decodeHeader(
  b: Uint8Array,
): { ok: true; jobId: Buffer; version: number } | { ok: false; reason: string } {
  if (b.length < HEADER_BYTES) return { ok: false, reason: `too short for a journal header (${b.length} bytes)` };
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  if (buf.toString('latin1', 0, 4) !== JOURNAL_MAGIC)
    return { ok: false, reason: 'not a seedship journal (bad magic)' };
  const version = buf.readUInt16LE(4);
  if (!JOURNAL_VERSIONS_READ.includes(version))
    return {
      ok: false,
      reason:
        `journal version ${version} is not supported ` +
        `(this seedship reads versions ${JOURNAL_VERSIONS_READ.join(' and ')})`,
    };
  return { ok: true, jobId: Buffer.from(buf.subarray(6, 22)), version };
}

const CHUNK_FIXED_BYTES = 4 + 2 + 2 + 4 + 8 + 4 + 8 + 4 + 8 + 2;
const EXTENT_BYTES = 8 + 4 + 16;

/** Write extents at `o`; returns the offset after them. */
function writeExtents(b: Buffer, o: number, extents: readonly ExtentRec[]): number {
  for (const e of extents) {
    o = b.writeDoubleLE(e.fileOffset, o);
    o = b.writeUInt32LE(e.length, o);
    o += b.write(e.md5, o, 16, 'hex');
  }
  return o;
}

/** Read `n` extents at `o`. */
function readExtents(p: Buffer, o: number, n: number): ExtentRec[] {
  const extents: ExtentRec[] = [];
  for (let i = 0; i < n; i++, o += EXTENT_BYTES)
    extents.push({
      fileOffset: p.readDoubleLE(o),
      length: p.readUInt32LE(o + 8),
      md5: p.toString('hex', o + 12, o + 28).toUpperCase(),
    });
  return extents;
}

function encodeChunk(r: ChunkRec): Buffer {
  const b = Buffer.alloc(CHUNK_FIXED_BYTES + EXTENT_BYTES * r.extents.length);
  let o = 0;
  o = b.writeUInt32LE(r.file, o);
  o = b.writeUInt16LE(r.gen, o);
  o = b.writeUInt16LE(r.drive, o);
  o = b.writeUInt32LE(r.index, o);
  o = b.writeDoubleLE(r.rawOffset, o);
  o = b.writeUInt32LE(r.rawLength, o);
  o = b.writeDoubleLE(r.storedOffset, o);
  o = b.writeUInt32LE(r.storedLength, o);
  o += b.write(r.xxh64, o, 8, 'hex');
  o = b.writeUInt16LE(r.extents.length, o);
  writeExtents(b, o, r.extents);
  return b;
}

/** A record whose bytes passed the checksum but do not decode; decodeRecord reports it as torn. */
function corrupt(message: string): SeedshipError {
  return new SeedshipError('E_JOURNAL_CORRUPT', message);
}

function decodeChunk(p: Buffer): ChunkRec {
  if (p.length < CHUNK_FIXED_BYTES) throw corrupt('chunk record too short');
  let o = 0;
  const file = p.readUInt32LE(o);
  o += 4;
  const gen = p.readUInt16LE(o);
  o += 2;
  const drive = p.readUInt16LE(o);
  o += 2;
  const index = p.readUInt32LE(o);
  o += 4;
  const rawOffset = p.readDoubleLE(o);
  o += 8;
  const rawLength = p.readUInt32LE(o);
  o += 4;
  const storedOffset = p.readDoubleLE(o);
  o += 8;
  const storedLength = p.readUInt32LE(o);
  o += 4;
  const xxh64 = p.toString('hex', o, o + 8);
  o += 8;
  const n = p.readUInt16LE(o);
  o += 2;
  if (p.length !== CHUNK_FIXED_BYTES + n * EXTENT_BYTES)
    throw corrupt('chunk record length does not match its extent count');
  const extents = readExtents(p, o, n);
  return {
    type: RecordType.Chunk,
    file,
    gen,
    drive,
    index,
    rawOffset,
    rawLength,
    storedOffset,
    storedLength,
    xxh64,
    extents,
  };
}

/** The three records of a file placed whole in one chunk, as a WholeFile record carries them. */
export type WholeFileRecs = readonly [SegmentStartedRec, ChunkRec, FileDoneRec];

const WHOLE_FIXED_BYTES = 4 + 2 + 2 + 2 + 8 + 8 + 8 + 4 + 8 + 8 + 4 + 4 + 4 + 8 + 2 + 2;
const U16 = 0xffff;
const U32 = 0xffffffff;

/**
 * Encode SegmentStarted + Chunk + FileDone as one WholeFile record (head included), or undefined
 * when the three do not describe one whole file in one chunk exactly (the caller then appends
 * them one by one). Binary, so a small file costs one checksum and no JSON.
 */
export function encodeWholeFile([seg, c, done]: WholeFileRecs, metaRecords = true): Buffer | undefined {
  const same =
    c.file === seg.file &&
    c.gen === seg.gen &&
    c.drive === seg.drive &&
    c.index === seg.firstBlock &&
    c.rawOffset === seg.rawOffset &&
    c.storedOffset === seg.storedOffset &&
    done.file === seg.file &&
    done.gen === seg.gen &&
    done.storedLength === c.storedOffset + c.storedLength;
  const fits =
    seg.file <= U32 &&
    seg.gen <= U16 &&
    seg.part <= U16 &&
    seg.drive <= U16 &&
    seg.mode <= U32 &&
    seg.firstBlock <= U32 &&
    c.rawLength <= U32 &&
    c.storedLength <= U32 &&
    c.extents.length <= U16;
  if (!same || !fits) return undefined;
  const withMeta = seg.meta !== undefined;
  if (withMeta && !metaRecords) return undefined;
  const path = withMeta ? encodeBytes(seg.path) : Buffer.from(seg.path, 'utf8');
  const dpath = withMeta ? encodeBytes(seg.dpath ?? seg.path) : undefined;
  const pathBytes = path.length;
  if (pathBytes > U16 || (dpath && dpath.length > U16)) return undefined;
  const len = WHOLE_FIXED_BYTES + EXTENT_BYTES * c.extents.length + pathBytes + (dpath ? META_BYTES + dpath.length : 0);
  const b = Buffer.allocUnsafe(RECORD_HEAD_BYTES + len);
  b.writeUInt32LE(len, 0);
  let o = b.writeUInt8(withMeta ? RecordType.WholeFileMeta : RecordType.WholeFile, 8);
  o = b.writeUInt32LE(seg.file, o);
  o = b.writeUInt16LE(seg.gen, o);
  o = b.writeUInt16LE(seg.part, o);
  o = b.writeUInt16LE(seg.drive, o);
  o = b.writeDoubleLE(seg.size, o);
  o = b.writeDoubleLE(seg.mtimeMs, o);
  o = b.writeDoubleLE(seg.ino, o);
  o = b.writeUInt32LE(seg.mode, o);
  o = b.writeDoubleLE(seg.rawOffset, o);
  o = b.writeDoubleLE(seg.storedOffset, o);
  o = b.writeUInt32LE(seg.firstBlock, o);
  o = b.writeUInt32LE(c.rawLength, o);
  o = b.writeUInt32LE(c.storedLength, o);
  o += b.write(c.xxh64, o, 8, 'hex');
  o = b.writeUInt16LE(c.extents.length, o);
  o = writeExtents(b, o, c.extents);
  o = b.writeUInt16LE(pathBytes, o);
  o += path.copy(b, o);
  if (dpath) {
    const m = seg.meta!;
    o = b.writeUInt8(KINDS.indexOf(seg.kind ?? 'file'), o);
    o = b.writeUInt32LE(m.u, o);
    o = b.writeUInt32LE(m.g, o);
    o = b.writeUInt32LE(m.n, o);
    o = b.writeDoubleLE(m.d, o);
    o = b.writeDoubleLE(m.r, o);
    o = b.writeBigInt64LE(BigInt(m.a), o);
    o = b.writeBigInt64LE(BigInt(m.t), o);
    o = b.writeBigInt64LE(BigInt(m.c), o);
    o = b.writeBigInt64LE(BigInt(m.b ?? '0'), o);
    o = b.writeUInt16LE(dpath.length, o);
    o += dpath.copy(b, o);
  }
  if (o !== b.length) throw new SeedshipError('E_INTERNAL', `WholeFile record encoded ${o} of ${b.length} bytes`);
  b.writeUInt32LE(crc32(b.subarray(8)), 4);
  return b;
}

/** Entry kinds as WholeFileMeta stores them (index). */
const KINDS: readonly EntryKind[] = ['file', 'dir', 'symlink', 'fifo', 'socket', 'char', 'block'];
/** WholeFileMeta's bytes beyond WholeFile's, before the drive path. */
const META_BYTES = 1 + 4 + 4 + 4 + 8 + 8 + 8 + 8 + 8 + 8 + 2;

function decodeWholeFile(p: Buffer, withMeta: boolean): WholeFileRecs {
  if (p.length < WHOLE_FIXED_BYTES) throw corrupt('whole-file record too short');
  const file = p.readUInt32LE(0);
  const gen = p.readUInt16LE(4);
  const part = p.readUInt16LE(6);
  const drive = p.readUInt16LE(8);
  const size = p.readDoubleLE(10);
  const mtimeMs = p.readDoubleLE(18);
  const ino = p.readDoubleLE(26);
  const mode = p.readUInt32LE(34);
  const rawOffset = p.readDoubleLE(38);
  const storedOffset = p.readDoubleLE(46);
  const firstBlock = p.readUInt32LE(54);
  const rawLength = p.readUInt32LE(58);
  const storedLength = p.readUInt32LE(62);
  const xxh64 = p.toString('hex', 66, 74);
  const n = p.readUInt16LE(74);
  let o = 76;
  if (p.length < WHOLE_FIXED_BYTES + n * EXTENT_BYTES) throw corrupt('whole-file record shorter than its extents');
  const extents = readExtents(p, o, n);
  o += n * EXTENT_BYTES;
  const pathBytes = p.readUInt16LE(o);
  o += 2;
  if (!withMeta && p.length !== o + pathBytes) throw corrupt('whole-file record length does not match its path');
  if (withMeta && p.length < o + pathBytes + META_BYTES) throw corrupt('whole-file record shorter than its metadata');
  const path = withMeta ? decodeName(p.subarray(o, o + pathBytes)) : p.toString('utf8', o, o + pathBytes);
  o += pathBytes;
  const extra = withMeta ? decodeWholeFileMeta(p, o, mode, ino) : {};
  return [
    {
      type: RecordType.SegmentStarted,
      file,
      gen,
      part,
      drive,
      path,
      size,
      mtimeMs,
      ino,
      mode,
      rawOffset,
      storedOffset,
      firstBlock,
      ...extra,
    },
    {
      type: RecordType.Chunk,
      file,
      gen,
      drive,
      index: firstBlock,
      rawOffset,
      rawLength,
      storedOffset,
      storedLength,
      xxh64,
      extents,
    },
    { type: RecordType.FileDone, file, gen, storedLength: storedOffset + storedLength },
  ];
}

/** WholeFileMeta's fields after the path (at `o`): entry kind, POSIX metadata, drive path. */
function decodeWholeFileMeta(
  p: Buffer,
  o: number,
  mode: number,
  ino: number,
): Pick<SegmentStartedRec, 'kind' | 'dpath' | 'meta'> {
  const kind = KINDS[p.readUInt8(o)];
  if (kind === undefined) throw corrupt('whole-file record has an unknown entry kind');
  const meta: PosixMetaJson = {
    k: kind,
    m: mode,
    u: p.readUInt32LE(o + 1),
    g: p.readUInt32LE(o + 5),
    n: p.readUInt32LE(o + 9),
    i: ino,
    d: p.readDoubleLE(o + 13),
    r: p.readDoubleLE(o + 21),
    a: String(p.readBigInt64LE(o + 29)),
    t: String(p.readBigInt64LE(o + 37)),
    c: String(p.readBigInt64LE(o + 45)),
  };
  const btime = p.readBigInt64LE(o + 53);
  if (btime !== 0n) Object.assign(meta, { b: String(btime) });
  const dlen = p.readUInt16LE(o + 61);
  const at = o + META_BYTES;
  if (p.length !== at + dlen) throw corrupt('whole-file record length does not match its drive path');
  return { kind, dpath: decodeName(p.subarray(at, at + dlen)), meta };
}

/** Encode one record, head included. */
export function encodeRecord(r: JournalRecord): Buffer {
  let payload: Buffer;
  if (r.type === RecordType.Chunk) payload = encodeChunk(r);
  else {
    const { type: _t, ...rest } = r;
    payload = Buffer.from(JSON.stringify(rest), 'utf8');
  }
  if (payload.length > MAX_RECORD_PAYLOAD_BYTES)
    throw new SeedshipError('E_INTERNAL', `journal record of ${payload.length} bytes is over the limit`);
  const out = Buffer.alloc(RECORD_HEAD_BYTES + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt8(r.type, 8);
  payload.copy(out, RECORD_HEAD_BYTES);
  out.writeUInt32LE(crc32(out.subarray(8)), 4);
  return out;
}

export type DecodeStep =
  | { kind: 'record'; record: JournalRecord; bytes: number }
  /** A WholeFile record, expanded. */
  | { kind: 'records'; records: WholeFileRecs; bytes: number }
  /** A good record of a type the caller does not want (not decoded). */
  | { kind: 'skip'; bytes: number }
  | { kind: 'need-more' }
  | { kind: 'torn'; reason: string };

/**
 * Decode the record at the start of `b`. `need-more` when `b` ends inside it (at end of file that
 * is a torn tail); `torn` when the record is over-long, fails its checksum or does not parse.
 * With `want`, a record none of whose logical types it accepts is checked but not parsed (`skip`).
 */
export function decodeRecord(b: Buffer, want?: (type: RecordType) => boolean): DecodeStep {
  if (b.length < RECORD_HEAD_BYTES) return { kind: 'need-more' };
  const len = b.readUInt32LE(0);
  if (len > MAX_RECORD_PAYLOAD_BYTES) return { kind: 'torn', reason: `record length ${len} over the limit` };
  if (b.length < RECORD_HEAD_BYTES + len) return { kind: 'need-more' };
  const body = b.subarray(8, RECORD_HEAD_BYTES + len);
  if (crc32(body) !== b.readUInt32LE(4)) return { kind: 'torn', reason: 'checksum mismatch' };
  const type = b.readUInt8(8) as RecordType;
  const payload = b.subarray(RECORD_HEAD_BYTES, RECORD_HEAD_BYTES + len);
  const bytes = RECORD_HEAD_BYTES + len;
  if (type < RecordType.SessionStarted || type > LAST_RECORD_TYPE)
    return { kind: 'torn', reason: `unknown record type ${type}` };
  if (want) {
    const wanted =
      type === RecordType.WholeFile || type === RecordType.WholeFileMeta
        ? want(RecordType.SegmentStarted) || want(RecordType.Chunk) || want(RecordType.FileDone)
        : want(type);
    if (!wanted) return { kind: 'skip', bytes };
  }
  try {
    if (type === RecordType.Chunk) return { kind: 'record', record: decodeChunk(payload), bytes };
    if (type === RecordType.WholeFile || type === RecordType.WholeFileMeta)
      return { kind: 'records', records: decodeWholeFile(payload, type === RecordType.WholeFileMeta), bytes };
    const obj = JSON.parse(payload.toString('utf8')) as object;
    return { kind: 'record', record: { ...obj, type } as JournalRecord, bytes };
  } catch (err) {
    return { kind: 'torn', reason: `record does not parse: ${(err as Error).message}` };
  }
}
