/**
 * Writing one encoded chunk onto the drive being filled: whether it fits, its bytes (re-encrypted
 * for this drive when the window ran ahead of a drive change) into its part's data file, the
 * part's metadata file, then its journal records; and rolling a chunk back. The bytes come
 * before the records that name them (invariant 1, docs/invariants.md).
 */
import type { FileHandle } from '../../native/interfaces.js';
import type { DriveState } from '../journal/journal-state.js';
import { reserveBytesFor, SEGMENT_START_BYTES, segmentAllocBytes } from '../drives/drive-space.js';
import type { SegmentStartedRec } from '../journal/record-codec.js';
import { EMPTY_FILE, metadataFileOf } from '../journal/drive-blobs.js';
import { RANGE_ELEMENT_MAX_BYTES } from '../manifest/drive-manifest.js';
import { chunkCount, worstStoredBytes } from '../manifest/chunking.js';
import type { CurrentDrive } from './drive-coordinator.js';
import type { ChunkJob, ChunkPlace, ChunkToWrite, CopyRun, EncodedChunk, LiveFile } from './copy-run.js';
import type { FileOutcomes } from './file-outcomes.js';
import type { HardLinks } from './hard-links.js';
import { appendChunkRecords, chunkRecord, fileDoneRecord, segmentRecord } from './segment-records.js';

/** Where a chunk's stored bytes go in its part's data file. */
interface PartOffsets {
  /** The chunk's stored offset in the blob. */
  readonly chunkStoredOffset: number;
  /** Offset in the data file of the chunk's stored bytes. */
  readonly base: number;
}

export class ChunkWrites {
  readonly #run: CopyRun;
  readonly #outcomes: FileOutcomes;
  readonly #links: HardLinks;

  constructor(run: CopyRun, outcomes: FileOutcomes, links: HardLinks) {
    this.#run = run;
    this.#outcomes = outcomes;
    this.#links = links;
  }

  /** Whether a chunk fits on a drive: yes, no (the drive is full), or not the whole unsplittable file. */
  fits(d: DriveState, job: ChunkJob, res: EncodedChunk, at: ChunkPlace): 'yes' | 'no' | 'not-whole' {
    const f = job.f;
    const st = this.#run.s.state;
    const data = dataBytes(res);
    let used = d.usedBytes;
    let manifest = d.manifestBytes + res.extents.length * RANGE_ELEMENT_MAX_BYTES;
    const prev = at.seg?.dataBytes ?? 0;
    if (!at.seg) {
      used += SEGMENT_START_BYTES;
      manifest += st.blobManifestBytes(f.path);
    }
    used += segmentAllocBytes(prev + data) - segmentAllocBytes(prev);
    const s = this.#run.s.settings;
    if (s.serviceStrict && s.blobType === 'block' && f.kind === 'file' && job.index === 0 && !at.active) {
      // The documented format cannot split a block blob: place the whole file or move on.
      const whole = worstStoredBytes(f.size, s.codec, s.chunkBytes);
      const blocks = chunkCount(f.size, s.chunkBytes);
      const fitsWhole = used - data + whole + reserveBytesFor(manifest + blocks * RANGE_ELEMENT_MAX_BYTES) <= d.budget;
      return fitsWhole ? 'yes' : 'not-whole';
    }
    return used + reserveBytesFor(manifest) <= d.budget ? 'yes' : 'no';
  }

  /**
   * Write a chunk and append its records. `written`: a worker already wrote it on this drive as
   * the whole file it is (and its metadata file when it has one).
   */
  async write(c: ChunkToWrite, written: boolean): Promise<void> {
    const { cur, job, res } = c;
    const f = job.f;
    const { seg, active } = c.at;
    const stored = written ? res.stored : await this.#recrypt(job, res, cur);
    const off = await this.#writeData(c, stored, written);
    const segRec: SegmentStartedRec | undefined = seg
      ? undefined
      : segmentRecord(f, cur.state.seq, {
          part: (active?.segments.length ?? 0) + 1,
          rawOffset: job.rawOffset,
          storedOffset: off.chunkStoredOffset,
          firstBlock: job.index,
          dpath: f.dpath ?? `${f.path}${this.#run.o.naming.suffix}`,
        });
    // Each part's metadata file goes beside its data, before the record that names it
    // (invariant 1, docs/invariants.md).
    // A worker that wrote the file ahead wrote its metadata file too (the same bytes).
    const metaFile =
      segRec && !(written && job.prewrite?.meta) ? metadataFileOf(this.#run.o.naming, segRec) : undefined;
    if (metaFile) await cur.writer.writeSmall(metaFile.path, metaFile.bytes);
    const chunkRec = chunkRecord(f, res, {
      drive: cur.state.seq,
      index: job.index,
      rawOffset: job.rawOffset,
      storedOffset: off.chunkStoredOffset,
      base: off.base,
    });
    const doneRec = job.last ? fileDoneRecord(f, off.chunkStoredOffset + res.stored.length) : undefined;
    appendChunkRecords(this.#run, segRec, chunkRec, doneRec);
    this.#afterRecords(cur, job, dataBytes(res), segRec !== undefined);
    if (segRec && doneRec) this.#links.remember(job, cur.state.seq, segRec, chunkRec);
  }

  /**
   * Write the chunk's stored bytes into its part's data file (opened, or written whole), after
   * growing the manifest reserve for its records; returns where they went.
   */
  async #writeData(c: ChunkToWrite, stored: Uint8Array, written: boolean): Promise<PartOffsets> {
    const { cur, job, res } = c;
    const f = job.f;
    const { seg, active } = c.at;
    const pages = this.#run.s.settings.blobType === 'page' && f.kind === 'file';
    const rel = this.#run.driveRel(f);
    const w = cur.writer;
    // Directories and special files have no data file of their own (their blobs are empty).
    const noData = rel === EMPTY_FILE;
    // A file that is one chunk is written whole and closed at once (the common small-file case).
    const whole = noData || written || (!seg && !pages && job.index === 0 && job.last && w.canWriteWhole);
    const h = whole ? undefined : await this.#openPart(c, rel, pages);
    const chunkStoredOffset = active?.storedDone ?? 0;
    const partStart = seg ? seg.storedOffset : chunkStoredOffset;
    // Block blob parts are files of their own; page blob parts keep blob offsets (sparse files).
    const base = pages ? job.rawOffset : chunkStoredOffset - partStart;
    const manifestAfter =
      cur.state.manifestBytes +
      res.extents.length * RANGE_ELEMENT_MAX_BYTES +
      (seg ? 0 : this.#run.s.state.blobManifestBytes(f.path));
    await w.ensureReserve(manifestAfter);
    if (h) for (const e of res.extents) await w.write(h, stored.subarray(e.at, e.at + e.length), base + e.at);
    else if (written) w.noteWritten();
    else if (!noData) await w.writeWhole(rel, stored);
    return { chunkStoredOffset, base };
  }

  /** Open the data file of `f`'s part: the one it continues, or a new one. */
  #openPart(c: ChunkToWrite, rel: string, pages: boolean): Promise<FileHandle> {
    const w = c.cur.writer;
    const f = c.job.f;
    const seg = c.at.seg;
    if (seg)
      return w.openPart(f.id, rel, pages ? { create: false } : { create: false, resumeLength: seg.storedLength });
    return w.openPart(f.id, rel, pages ? { create: true, sparseLength: f.size } : { create: true });
  }

  /** The chunk's records are appended: the frontier, the drive's sync, and a finished file. */
  #afterRecords(cur: CurrentDrive, job: ChunkJob, data: number, startedPart: boolean): void {
    const run = this.#run;
    const f = job.f;
    if (startedPart) run.feed?.settle(f);
    run.syncs.wrote(cur, data);
    if (job.last) {
      cur.writer.finish(f.id);
      run.live.delete(f.id);
    }
  }

  /** Chunks encrypted for another drive (the window ran ahead of a drive change) get this drive's key. */
  async #recrypt(job: ChunkJob, res: EncodedChunk, cur: CurrentDrive): Promise<Uint8Array> {
    const run = this.#run;
    const target = cur.key ? cur.state.seq : undefined;
    if (job.keySeq === target) return res.stored;
    const out = new Uint8Array(res.stored);
    const from = job.keySeq !== undefined ? await run.drives.keyOf(run.s.state.drive(job.keySeq)) : undefined;
    for (const e of res.extents) {
      let unit: Uint8Array = out.subarray(e.at, e.at + e.length);
      const off = job.rawOffset + e.at;
      const seed = job.f.tweakSeed!; // a key exists, so the session encrypts
      if (from) unit = run.kit.decryptUnit(from, seed, off, unit);
      if (cur.key) unit = run.kit.encryptUnit(cur.key, seed, off, unit);
      out.set(unit, e.at);
    }
    return out;
  }

  /** Undo a chunk that could not be written: its new part goes, a continued part is cut back. */
  async rollback(cur: CurrentDrive, f: LiveFile, seg: ChunkPlace['seg']): Promise<void> {
    if (!seg) await this.#outcomes.discard(cur, f);
    else if (this.#run.s.settings.blobType === 'block' || f.kind !== 'file')
      await cur.writer.truncate(f.id, seg.storedLength);
  }
}

/** The stored data bytes of a chunk. */
function dataBytes(res: EncodedChunk): number {
  return res.extents.reduce((a, e) => a + e.length, 0);
}
