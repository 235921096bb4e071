/**
 * Hard links stored once: small files with more than one name, recorded whole this run, are
 * remembered by device and inode; a later name of the same inode on the same drive is a blob of
 * its own (its own record and metadata file) that reads the same drive file.
 */
import { metadataFileOf } from '../journal/drive-blobs.js';
import type { ChunkRec, SegmentStartedRec } from '../journal/record-codec.js';
import type { PosixMetaJson } from '../manifest/blob-metadata.js';
import { RANGE_ELEMENT_MAX_BYTES } from '../manifest/drive-manifest.js';
import type { ChunkJob, ChunkToWrite, CopyRun } from './copy-run.js';
import { appendChunkRecords, fileDoneRecord, segmentRecord } from './segment-records.js';

/** Inodes remembered for hard links (a few hundred bytes each). */
const MAX_LINKABLE_INODES = 100_000;

/** A name already on a drive that later names of its inode can share. */
export interface LinkTarget {
  readonly drive: number;
  /** Its drive path below the container. */
  readonly dpath: string;
  readonly chunk: ChunkRec;
}

export class HardLinks {
  readonly #run: CopyRun;
  /**
   * Small files with more than one name, recorded whole this run, by device and inode. Bounded;
   * an inode no longer here is simply stored again.
   */
  readonly #linkable = new Map<string, LinkTarget>();

  constructor(run: CopyRun) {
    this.#run = run;
  }

  /** A whole small file with other names, in a session whose stored bytes do not depend on the name. */
  eligible(job: ChunkJob): boolean {
    const s = this.#run.s.settings;
    return (
      job.f.kind === 'file' &&
      job.index === 0 &&
      job.last &&
      (job.f.meta?.n ?? 1) > 1 &&
      !s.encrypt &&
      s.blobType === 'block'
    );
  }

  /** A whole file was recorded on a drive: later names of its inode may share its drive file. */
  remember(job: ChunkJob, drive: number, segRec: SegmentStartedRec, chunkRec: ChunkRec): void {
    if (!this.eligible(job)) return;
    if (this.#linkable.size >= MAX_LINKABLE_INODES) this.#linkable.delete(this.#linkable.keys().next().value!);
    this.#linkable.set(inodeKey(job.f.meta!), { drive, dpath: segRec.dpath!, chunk: chunkRec });
  }

  /** The earlier name of `job`'s inode whose drive file it can share, if any. */
  targetOf(c: ChunkToWrite): LinkTarget | undefined {
    const { job, res, cur } = c;
    if (c.at.seg || c.at.active || !this.eligible(job)) return undefined;
    const t = this.#linkable.get(inodeKey(job.f.meta!));
    // The same bytes as that name had (it is the same inode, unless it changed since).
    if (
      !t ||
      t.drive !== cur.state.seq ||
      t.chunk.xxh64 !== res.xxh64 ||
      t.chunk.rawLength !== res.rawLength ||
      t.chunk.storedLength !== res.stored.length
    )
      return undefined;
    return t;
  }

  /**
   * Record another name of a file already on this drive: its own blob and metadata file, the
   * other name's data file.
   */
  async writeLink(c: ChunkToWrite, t: LinkTarget): Promise<void> {
    const { cur, job, res } = c;
    const run = this.#run;
    const f = job.f;
    const segRec = segmentRecord(f, cur.state.seq, {
      part: 1,
      rawOffset: 0,
      storedOffset: 0,
      firstBlock: 0,
      dpath: t.dpath,
    });
    const chunkRec: ChunkRec = { ...t.chunk, file: f.id, gen: f.gen };
    const doneRec = fileDoneRecord(f, res.stored.length);
    const metaFile = metadataFileOf(run.o.naming, segRec);
    await cur.writer.ensureReserve(
      cur.state.manifestBytes + res.extents.length * RANGE_ELEMENT_MAX_BYTES + run.s.state.blobManifestBytes(f.path),
    );
    if (metaFile) await cur.writer.writeSmall(metaFile.path, metaFile.bytes);
    appendChunkRecords(run, segRec, chunkRec, doneRec);
    run.syncs.wrote(cur, 0); // its metadata file
    run.feed?.settle(f);
    run.live.delete(f.id);
  }
}

function inodeKey(m: PosixMetaJson): string {
  return `${m.d}:${m.i}`;
}
