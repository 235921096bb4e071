import type { FileSystem } from '../../native/interfaces.js';
import { JournalReader } from '../journal/journal-reader.js';
import { RecordType, type ChunkRec, type SegmentStartedRec } from '../journal/record-codec.js';
import { blockId, type ImportDisposition, type ManifestBlob, type ManifestRange } from './drive-manifest.js';

/** How the session maps staged paths to blobs. */
export interface BlobNaming {
  readonly container: string;
  /** '.zst' with the zstd codec, else ''. */
  readonly suffix: string;
  readonly codec: 'zstd' | 'none';
  readonly kind: 'block' | 'page';
  readonly disposition: ImportDisposition;
}

/** One blob part on one drive, as the journal records it: the manifest entry plus what restore needs. */
export interface DriveBlob {
  readonly file: number;
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly mode: number;
  readonly part: number;
  readonly final: boolean;
  readonly rawOffset: number;
  readonly storedOffset: number;
  readonly chunks: readonly ChunkRec[];
  /** Relative path of the data file on the drive, `/` separated. */
  readonly drivePath: string;
  readonly manifest: ManifestBlob;
}

export function blobPathOf(n: BlobNaming, path: string): string {
  return `${n.container}/${path}${n.suffix}`;
}
export function filePathOf(n: BlobNaming, path: string): string {
  return `\\${n.container}\\${path.replaceAll('/', '\\')}${n.suffix}`;
}
export function drivePathOf(n: BlobNaming, path: string): string {
  return `${n.container}/${path}${n.suffix}`;
}

const FIRST_PASS_TYPES: ReadonlySet<RecordType> = new Set([RecordType.FileRestarted, RecordType.FileSkipped, RecordType.DriveSealed]);

/**
 * Stream the blob parts that the journal places on drive `drive`, in the order they were written,
 * leaving out chunks of superseded generations (a file that changed and was copied again) and
 * files skipped while this drive was still open. Two passes over the journal; memory is the
 * restarted and skipped files plus one blob's chunks (at most 50,000).
 */
export async function* driveBlobs(fs: FileSystem, journalPath: string, drive: number, naming: BlobNaming): AsyncGenerator<DriveBlob> {
  const finalGen = new Map<number, number>();
  const excluded = new Set<number>();
  let sealed = false;
  // First pass: only the rare records that decide which parts are valid are parsed.
  for await (const r of new JournalReader(fs, journalPath).records(FIRST_PASS_TYPES)) {
    if (r.type === RecordType.FileRestarted) finalGen.set(r.file, r.gen);
    else if (r.type === RecordType.FileSkipped && !sealed) excluded.add(r.file);
    else if (r.type === RecordType.DriveSealed && r.drive === drive) sealed = true;
  }
  const valid = (file: number, gen: number) => !excluded.has(file) && (finalGen.get(file) ?? 0) === gen;

  let seg: SegmentStartedRec | undefined;
  let chunks: ChunkRec[] = [];
  const close = (final: boolean): DriveBlob | undefined => {
    if (!seg) return undefined;
    const out = makeBlob(seg, chunks, final, naming);
    seg = undefined;
    chunks = [];
    return out;
  };
  for await (const r of new JournalReader(fs, journalPath).records()) {
    if (r.type === RecordType.SegmentStarted) {
      if (!valid(r.file, r.gen)) continue;
      // A new part of the same file, or a new file here: the open part is complete and not final.
      if (seg && (r.file === seg.file || r.drive === drive)) {
        const prev = close(false);
        if (prev) yield prev;
      }
      if (r.drive === drive) seg = r;
    } else if (r.type === RecordType.Chunk) {
      if (seg && r.drive === drive && r.file === seg.file && r.gen === seg.gen) chunks.push(r);
    } else if (r.type === RecordType.FileDone) {
      if (seg && r.file === seg.file && r.gen === seg.gen) {
        const b = close(true);
        if (b) yield b;
      }
    } else if (r.type === RecordType.FileRestarted || r.type === RecordType.FileSkipped) {
      // A part of a superseded generation or of a skipped file never reaches the manifest.
      if (seg && r.file === seg.file && !valid(seg.file, seg.gen)) {
        seg = undefined;
        chunks = [];
      }
    }
  }
  const last = close(false);
  if (last) yield last;
}

function makeBlob(seg: SegmentStartedRec, chunks: ChunkRec[], final: boolean, n: BlobNaming): DriveBlob {
  const ranges: ManifestRange[] = [];
  let storedLength = 0;
  for (const c of chunks) {
    storedLength += c.storedLength;
    for (const e of c.extents) {
      ranges.push(n.kind === 'block' ? { offset: e.fileOffset, length: e.length, md5: e.md5, id: blockId(c.index) } : { offset: e.fileOffset, length: e.length, md5: e.md5 });
    }
  }
  const manifest: ManifestBlob = {
    blobPath: blobPathOf(n, seg.path),
    filePath: filePathOf(n, seg.path),
    // Block blob parts are files of their own; page blob parts are sparse files of the blob's full length.
    length: n.kind === 'block' ? storedLength : seg.size,
    disposition: n.disposition,
    kind: n.kind,
    segment: { codec: n.codec, part: seg.part, final, blobOffset: seg.storedOffset, rawSize: seg.size },
    ranges,
  };
  return {
    file: seg.file,
    path: seg.path,
    size: seg.size,
    mtimeMs: seg.mtimeMs,
    mode: seg.mode,
    part: seg.part,
    final,
    rawOffset: seg.rawOffset,
    storedOffset: seg.storedOffset,
    chunks,
    drivePath: drivePathOf(n, seg.path),
    manifest,
  };
}
