/** The state of a session (drives, files, segments) built by applying journal records. */
import type { EntryKind } from '../../native/interfaces.js';
import type { PosixMetaJson } from '../manifest/blob-metadata.js';
import { blobOverheadBytes, RANGE_ELEMENT_MAX_BYTES } from '../manifest/drive-manifest.js';
import { compareStagedPaths } from '../staging/scan.js';
import { SEGMENT_START_BYTES, segmentAllocBytes } from '../drives/drive-space.js';
import { RecordType, type JournalRecord } from './record-codec.js';
import { SeedshipError } from '../errors/errors.js';

/** The journal record of one type. */
type Rec<T extends RecordType> = Extract<JournalRecord, { type: T }>;

export interface DriveState {
  readonly seq: number;
  readonly driveId: string;
  path: string;
  readonly budget: number;
  status: 'open' | 'full' | 'sealed' | 'failed';
  /** Estimated space used by data files (allocation-rounded, with per-file overhead). */
  usedBytes: number;
  /** Upper bound of the manifest's size. */
  manifestBytes: number;
  /** Stored bytes of chunks on it. */
  storedBytes: number;
  /** Raw bytes of chunks on it. */
  rawBytes: number;
  segments: number;
  manifestHash: string | undefined;
  /** Read back without a problem after sealing. */
  verified: boolean;
  /**
   * 1 for the first drive of the job that took no more data, 2 for the next… (0: still open). A
   * blob part that did not fit goes on on a drive that is closed later, so this order has every
   * blob's parts in order (restore and import read drives in it).
   */
  closeOrder: number;
  /** Files finished with a part on it (lost with it if it fails before it is sealed). */
  filesWith: number;
}

export interface SegmentState {
  readonly part: number;
  readonly drive: number;
  readonly rawOffset: number;
  readonly storedOffset: number;
  readonly firstBlock: number;
  storedLength: number;
  rawLength: number;
  /** Bytes of the drive file actually holding data (sparse page blobs leave zero runs out). */
  dataBytes: number;
  chunks: number;
  /** Manifest range elements (block blobs: one per chunk; page blobs: one per non-zero run). */
  ranges: number;
}

export interface ActiveFile {
  readonly file: number;
  gen: number;
  readonly path: string;
  readonly kind: EntryKind;
  readonly dpath: string | undefined;
  meta: PosixMetaJson | undefined;
  size: number;
  mtimeMs: number;
  ino: number;
  readonly mode: number;
  nextIndex: number;
  rawDone: number;
  storedDone: number;
  segments: SegmentState[];
}

/**
 * The state a journal describes, built by applying its records in order. The live engine applies
 * each record it appends, so replay after a crash gives exactly the state the run had at its last
 * commit. Memory: the drives, plus the files started and not yet finished (the frontier file and
 * files waiting for a retry), never the whole file list.
 */
export class JournalState {
  runs = 0;
  readonly drives: DriveState[] = [];
  readonly active = new Map<number, ActiveFile>();
  /**
   * The walk's safe frontier: every staged path up to it was started or skipped. A resumed walk
   * goes on after it, leaving out `beyond`.
   */
  frontier: string | undefined;
  /**
   * Paths after the frontier that were started or skipped already (drives are filled in
   * parallel, so files start out of walk order; a few windows' worth at most).
   */
  readonly beyond = new Set<string>();
  /**
   * Whether the frontier comes from FrontierAdvanced records (every journal a parallel engine
   * wrote to). Before the first one, the largest started path is the frontier: older engines
   * started files in walk order.
   */
  #explicitFrontier = false;
  #closed = 0;
  nextFile = 0;
  filesDone = 0;
  filesSkipped = 0;
  rawDone = 0;
  storedDone = 0;
  sessionDone = false;
  readonly #blobPrefixBytes: number;
  readonly #suffixBytes: number;

  /** `container` and `suffix` size the manifest paths (blob path = container/path+suffix). */
  constructor(container: string, suffix: string) {
    this.#blobPrefixBytes = Buffer.byteLength(container) + 1;
    this.#suffixBytes = Buffer.byteLength(suffix);
  }

  /** The journal's format version, known from its header before its first record is applied. */
  setJournalVersion(version: number): void {
    // Version 4 journals are written by the engine that fills drives at once: their frontier
    // only ever comes from FrontierAdvanced records.
    if (version >= 4) this.#explicitFrontier = true;
  }

  drive(seq: number): DriveState {
    const d = this.drives[seq];
    if (!d) throw new SeedshipError('E_JOURNAL_CORRUPT', `journal names drive ${seq}, which was never attached`);
    return d;
  }

  /**
   * Manifest bytes a new blob element for `path` adds: an escaped blob name can be three times
   * the path's bytes, a mapped drive path adds a hash to some of its components.
   */
  blobManifestBytes(path: string): number {
    const p = Buffer.byteLength(path) + this.#blobPrefixBytes + this.#suffixBytes;
    return blobOverheadBytes(3 * p, 2 * p + 64);
  }

  apply(r: JournalRecord): void {
    switch (r.type) {
      case RecordType.SessionStarted:
        this.runs = r.run;
        this.sessionDone = false;
        return;
      case RecordType.DriveAttached:
        this.#driveAttached(r);
        return;
      case RecordType.SegmentStarted:
        this.#segmentStarted(r);
        return;
      case RecordType.Chunk:
        this.#chunk(r);
        return;
      case RecordType.FileDone:
        this.#fileDone(r);
        return;
      case RecordType.FileRestarted:
        this.#fileRestarted(r);
        return;
      case RecordType.FileSkipped:
        this.#fileSkipped(r);
        return;
      case RecordType.DriveFull: {
        const d = this.drive(r.drive);
        if (d.status === 'open') d.status = 'full';
        if (d.closeOrder === 0) d.closeOrder = ++this.#closed;
        return;
      }
      case RecordType.DriveSealed: {
        const d = this.drive(r.drive);
        if (d.closeOrder === 0) d.closeOrder = ++this.#closed;
        d.status = 'sealed';
        d.manifestHash = r.manifestHash;
        return;
      }
      case RecordType.SessionDone:
        this.sessionDone = true;
        return;
      case RecordType.DriveVerified:
        this.drive(r.drive).verified = true;
        return;
      case RecordType.DriveFailed:
        this.#driveFailed(r);
        return;
      case RecordType.FrontierAdvanced:
        this.#frontierAdvanced(r);
        return;
    }
  }

  #driveAttached(r: Rec<RecordType.DriveAttached>): void {
    this.drives[r.drive] = {
      seq: r.drive,
      driveId: r.driveId,
      path: r.path,
      budget: r.budget,
      status: 'open',
      usedBytes: 0,
      manifestBytes: 0,
      storedBytes: 0,
      rawBytes: 0,
      segments: 0,
      manifestHash: undefined,
      verified: false,
      closeOrder: 0,
      filesWith: 0,
    };
  }

  #fileDone(r: Rec<RecordType.FileDone>): void {
    const f = this.active.get(r.file);
    if (!f || f.gen !== r.gen) return;
    this.active.delete(r.file);
    this.filesDone++;
    for (const seq of new Set(f.segments.map((g) => g.drive))) this.drive(seq).filesWith++;
  }

  #fileRestarted(r: Rec<RecordType.FileRestarted>): void {
    const f = this.active.get(r.file);
    if (!f) return;
    this.#dropSegments(f);
    f.gen = r.gen;
    f.size = r.size;
    f.mtimeMs = r.mtimeMs;
    f.ino = r.ino;
    f.nextIndex = 0;
    f.rawDone = 0;
    f.storedDone = 0;
  }

  #fileSkipped(r: Rec<RecordType.FileSkipped>): void {
    const f = this.active.get(r.file);
    if (f) {
      // Parts on drives still open are dropped with the file; parts on sealed drives stay listed there.
      this.#dropSegments(f, true);
      this.active.delete(r.file);
    }
    this.#visited(r.path);
    this.nextFile = Math.max(this.nextFile, r.file + 1);
    this.filesSkipped++;
  }

  #driveFailed(r: Rec<RecordType.DriveFailed>): void {
    // Files still being copied were restarted before this record; those it holds finished
    // leave the counts (a later catch-up copies them again).
    // A sealed drive fails when it does not read back; its files are copied again elsewhere.
    const d = this.drive(r.drive);
    if (d.status === 'failed') return;
    d.status = 'failed';
    this.filesDone -= d.filesWith;
    this.rawDone -= d.rawBytes;
    this.storedDone -= d.storedBytes;
  }

  #frontierAdvanced(r: Rec<RecordType.FrontierAdvanced>): void {
    this.#explicitFrontier = true;
    const p = r.path ?? undefined;
    if (p === undefined || (this.frontier !== undefined && compareStagedPaths(p, this.frontier) <= 0)) return;
    this.frontier = p;
    for (const b of this.beyond) if (compareStagedPaths(b, p) <= 0) this.beyond.delete(b);
  }

  /** A staged path was started or skipped. */
  #visited(path: string): void {
    const after = this.frontier === undefined || compareStagedPaths(path, this.frontier) > 0;
    if (!after) return;
    if (this.#explicitFrontier) this.beyond.add(path);
    else this.frontier = path;
  }

  #segmentStarted(r: Extract<JournalRecord, { type: RecordType.SegmentStarted }>): void {
    let f = this.active.get(r.file);
    if (!f) {
      f = {
        file: r.file,
        gen: r.gen,
        path: r.path,
        kind: r.kind ?? 'file',
        dpath: r.dpath,
        meta: r.meta,
        size: r.size,
        mtimeMs: r.mtimeMs,
        ino: r.ino,
        mode: r.mode,
        nextIndex: 0,
        rawDone: 0,
        storedDone: 0,
        segments: [],
      };
      this.active.set(r.file, f);
      this.nextFile = Math.max(this.nextFile, r.file + 1);
      this.#visited(r.path);
    }
    f.segments.push({
      part: r.part,
      drive: r.drive,
      rawOffset: r.rawOffset,
      storedOffset: r.storedOffset,
      firstBlock: r.firstBlock,
      storedLength: 0,
      rawLength: 0,
      dataBytes: 0,
      chunks: 0,
      ranges: 0,
    });
    const d = this.drive(r.drive);
    if (r.meta) f.meta = r.meta;
    d.segments++;
    d.usedBytes += SEGMENT_START_BYTES;
    d.manifestBytes += this.blobManifestBytes(r.path);
  }

  #chunk(r: Extract<JournalRecord, { type: RecordType.Chunk }>): void {
    const f = this.active.get(r.file);
    if (!f || f.gen !== r.gen) return;
    const seg = f.segments[f.segments.length - 1];
    if (!seg || seg.drive !== r.drive)
      throw new SeedshipError(
        'E_JOURNAL_CORRUPT',
        `journal chunk of file ${r.file} is on drive ${r.drive}, not on its open segment`,
      );
    const d = this.drive(r.drive);
    const data = r.extents.reduce((a, e) => a + e.length, 0);
    d.usedBytes += segmentAllocBytes(seg.dataBytes + data) - segmentAllocBytes(seg.dataBytes);
    d.manifestBytes += r.extents.length * RANGE_ELEMENT_MAX_BYTES;
    d.storedBytes += r.storedLength;
    d.rawBytes += r.rawLength;
    seg.storedLength += r.storedLength;
    seg.rawLength += r.rawLength;
    seg.dataBytes += data;
    seg.chunks++;
    seg.ranges += r.extents.length;
    f.nextIndex = r.index + 1;
    f.rawDone += r.rawLength;
    f.storedDone += r.storedLength;
    this.rawDone += r.rawLength;
    this.storedDone += r.storedLength;
  }

  /** Take a file's segments off the drives they were on (restart or skip). */
  #dropSegments(f: ActiveFile, keepSealed = false): void {
    for (const seg of f.segments) {
      const d = this.drive(seg.drive);
      if (keepSealed && d.status === 'sealed') continue;
      d.segments--;
      d.usedBytes -= segmentAllocBytes(seg.dataBytes) - segmentAllocBytes(0) + SEGMENT_START_BYTES;
      d.manifestBytes -= this.blobManifestBytes(f.path) + seg.ranges * RANGE_ELEMENT_MAX_BYTES;
      d.storedBytes -= seg.storedLength;
      d.rawBytes -= seg.rawLength;
      this.rawDone -= seg.rawLength;
      this.storedDone -= seg.storedLength;
    }
    f.segments = [];
  }
}
