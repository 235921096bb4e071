import { crc32 } from 'node:zlib';

/**
 * The binary journal format. Header: magic `SSJR` | version u16 LE | jobId (16 bytes).
 * Then records: `len u32 LE | crc32 u32 LE (over type and payload) | type u8 | payload (len bytes)`.
 * Chunk records are binary (they are most of the journal); the rare others are JSON.
 */
export const JOURNAL_MAGIC = 'SSJR';
export const JOURNAL_VERSION = 1;
export const HEADER_BYTES = 4 + 2 + 16;
export const RECORD_HEAD_BYTES = 4 + 4 + 1;
/** Bound on a record's payload: anything longer is a torn or garbage tail (restic bounds its pack headers the same way). */
export const MAX_RECORD_PAYLOAD_BYTES = 1 << 20;

export const enum RecordType {
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
}

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
  | DriveVerifiedRec;

/** Encode the journal header. */
export function encodeHeader(jobId: Uint8Array): Buffer {
  if (jobId.length !== 16) throw new RangeError('jobId must be 16 bytes');
  const b = Buffer.alloc(HEADER_BYTES);
  b.write(JOURNAL_MAGIC, 0, 'latin1');
  b.writeUInt16LE(JOURNAL_VERSION, 4);
  b.set(jobId, 6);
  return b;
}

/** Decode the header, or say what is wrong with it. */
export function decodeHeader(b: Uint8Array): { ok: true; jobId: Buffer } | { ok: false; reason: string } {
  if (b.length < HEADER_BYTES) return { ok: false, reason: `too short for a journal header (${b.length} bytes)` };
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  if (buf.toString('latin1', 0, 4) !== JOURNAL_MAGIC) return { ok: false, reason: 'not a seedship journal (bad magic)' };
  const version = buf.readUInt16LE(4);
  if (version !== JOURNAL_VERSION) return { ok: false, reason: `journal version ${version} is not supported (this seedship reads version ${JOURNAL_VERSION})` };
  return { ok: true, jobId: Buffer.from(buf.subarray(6, 22)) };
}

const CHUNK_FIXED_BYTES = 4 + 2 + 2 + 4 + 8 + 4 + 8 + 4 + 8 + 2;
const EXTENT_BYTES = 8 + 4 + 16;

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
  for (const e of r.extents) {
    o = b.writeDoubleLE(e.fileOffset, o);
    o = b.writeUInt32LE(e.length, o);
    o += b.write(e.md5, o, 16, 'hex');
  }
  return b;
}

function decodeChunk(p: Buffer): ChunkRec {
  if (p.length < CHUNK_FIXED_BYTES) throw new RangeError('chunk record too short');
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
  if (p.length !== CHUNK_FIXED_BYTES + n * EXTENT_BYTES) throw new RangeError('chunk record length does not match its extent count');
  const extents: ExtentRec[] = [];
  for (let i = 0; i < n; i++) {
    const fileOffset = p.readDoubleLE(o);
    const length = p.readUInt32LE(o + 8);
    const md5 = p.toString('hex', o + 12, o + 28).toUpperCase();
    extents.push({ fileOffset, length, md5 });
    o += EXTENT_BYTES;
  }
  return { type: RecordType.Chunk, file, gen, drive, index, rawOffset, rawLength, storedOffset, storedLength, xxh64, extents };
}

/** Encode one record, head included. */
export function encodeRecord(r: JournalRecord): Buffer {
  let payload: Buffer;
  if (r.type === RecordType.Chunk) payload = encodeChunk(r);
  else {
    const { type: _t, ...rest } = r;
    payload = Buffer.from(JSON.stringify(rest), 'utf8');
  }
  if (payload.length > MAX_RECORD_PAYLOAD_BYTES) throw new RangeError(`journal record of ${payload.length} bytes is over the limit`);
  const out = Buffer.alloc(RECORD_HEAD_BYTES + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt8(r.type, 8);
  payload.copy(out, RECORD_HEAD_BYTES);
  out.writeUInt32LE(crc32(out.subarray(8)), 4);
  return out;
}

export type DecodeStep =
  | { kind: 'record'; record: JournalRecord; bytes: number }
  | { kind: 'need-more' }
  | { kind: 'torn'; reason: string };

/**
 * Decode the record at the start of `b`. `need-more` when `b` ends inside it (at end of file that
 * is a torn tail); `torn` when the record is over-long, fails its checksum or does not parse.
 */
export function decodeRecord(b: Buffer): DecodeStep {
  if (b.length < RECORD_HEAD_BYTES) return { kind: 'need-more' };
  const len = b.readUInt32LE(0);
  if (len > MAX_RECORD_PAYLOAD_BYTES) return { kind: 'torn', reason: `record length ${len} over the limit` };
  if (b.length < RECORD_HEAD_BYTES + len) return { kind: 'need-more' };
  const body = b.subarray(8, RECORD_HEAD_BYTES + len);
  if (crc32(body) !== b.readUInt32LE(4)) return { kind: 'torn', reason: 'checksum mismatch' };
  const type = b.readUInt8(8) as RecordType;
  const payload = b.subarray(RECORD_HEAD_BYTES, RECORD_HEAD_BYTES + len);
  try {
    if (type === RecordType.Chunk) return { kind: 'record', record: decodeChunk(payload), bytes: RECORD_HEAD_BYTES + len };
    if (type < RecordType.SessionStarted || type > RecordType.DriveVerified) return { kind: 'torn', reason: `unknown record type ${type}` };
    const obj = JSON.parse(payload.toString('utf8')) as object;
    return { kind: 'record', record: { ...obj, type } as JournalRecord, bytes: RECORD_HEAD_BYTES + len };
  } catch (err) {
    return { kind: 'torn', reason: `record does not parse: ${(err as Error).message}` };
  }
}
