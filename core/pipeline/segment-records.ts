/**
 * The journal records of a blob part being written: the part's start (SegmentStarted), each chunk
 * (Chunk) and the file's end (FileDone), and how they are appended: a file placed whole in one
 * record instead of three. Each is appended only after the bytes it names were written
 * (invariant 1, docs/invariants.md).
 */
import { RecordType, type ChunkRec, type FileDoneRec, type SegmentStartedRec } from '../journal/record-codec.js';
import type { CopyRun, EncodedChunk, LiveFile } from './copy-run.js';

/** Where a part starts in its file, and its drive path. */
export interface PartStart {
  readonly part: number;
  readonly rawOffset: number;
  readonly storedOffset: number;
  readonly firstBlock: number;
  readonly dpath: string;
}

/** The record of a part of `f` starting on the drive `drive`. */
export function segmentRecord(f: LiveFile, drive: number, p: PartStart): SegmentStartedRec {
  return {
    type: RecordType.SegmentStarted,
    file: f.id,
    gen: f.gen,
    drive,
    path: f.path,
    size: f.size,
    mtimeMs: f.mtimeMs,
    ino: f.ino,
    mode: f.mode,
    kind: f.kind,
    ...p,
    ...(f.meta ? { meta: f.meta } : {}),
  };
}

/** Where a chunk was written: its drive, its block, and its offsets in the blob and the part's file. */
export interface ChunkAt {
  readonly drive: number;
  readonly index: number;
  readonly rawOffset: number;
  readonly storedOffset: number;
  /** Offset in the part's data file of the chunk's stored bytes. */
  readonly base: number;
}

/** The record of a chunk of `f` written at `at`. */
export function chunkRecord(f: LiveFile, res: EncodedChunk, at: ChunkAt): ChunkRec {
  return {
    type: RecordType.Chunk,
    file: f.id,
    gen: f.gen,
    drive: at.drive,
    index: at.index,
    rawOffset: at.rawOffset,
    rawLength: res.rawLength,
    storedOffset: at.storedOffset,
    storedLength: res.stored.length,
    xxh64: res.xxh64,
    extents: res.extents.map((e) => ({ fileOffset: at.base + e.at, length: e.length, md5: e.md5 })),
  };
}

/** The record of `f` finished at `storedLength` stored bytes. */
export function fileDoneRecord(f: LiveFile, storedLength: number): FileDoneRec {
  return { type: RecordType.FileDone, file: f.id, gen: f.gen, storedLength };
}

/**
 * Append a chunk's records: its part's start if it starts one, the chunk, and the file's end if
 * it is the last. A file placed whole (most small files): one journal record instead of three.
 */
export function appendChunkRecords(
  run: CopyRun,
  segRec: SegmentStartedRec | undefined,
  chunkRec: ChunkRec,
  doneRec: FileDoneRec | undefined,
): void {
  if (segRec && doneRec) {
    const recs = [segRec, chunkRec, doneRec] as const;
    run.s.journal.appendWholeFile(recs);
    for (const r of recs) run.s.state.apply(r);
    return;
  }
  if (segRec) run.record(segRec);
  run.record(chunkRec);
  if (doneRec) run.record(doneRec);
}
