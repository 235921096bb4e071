/** The blobs a drive holds, read from the journal: names, kinds, metadata files and manifest entries. */
import { createHash } from 'node:crypto';
import type { EntryKind, FileSystem } from '../../native/interfaces.js';
import { DRIVE_DIR } from '../drives/drive-identity.js';
import { JournalReader } from './journal-reader.js';
import { RecordType, type ChunkRec, type SegmentStartedRec } from './record-codec.js';
import { blobNameOf } from '../manifest/naming.js';
import { encodeBytes } from '../../native/raw-names.js';
import {
  blobMetadataOf,
  formatMetadataFile,
  metaFromJson,
  type PosixMeta,
  type PosixMetaJson,
} from '../manifest/blob-metadata.js';
import { blockId, type ImportDisposition, type ManifestBlob, type ManifestRange } from '../manifest/drive-manifest.js';

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
  readonly kind: EntryKind;
  /** POSIX metadata when staged (journals of version 3). */
  readonly meta: PosixMeta | undefined;
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

/** What the naming of one blob part needs from its SegmentStarted record. */
export interface SegmentNaming {
  readonly file: number;
  readonly path: string;
  readonly kind?: EntryKind | undefined;
  readonly dpath?: string | undefined;
  readonly meta?: PosixMetaJson | undefined;
}

/** Directories and special files have no content: their blobs all read this empty drive file. */
export const EMPTY_FILE = `${DRIVE_DIR}/empty`;

/** Only regular files are compressed (and named `.zst`); a symlink's blob is its target as is. */
export function suffixOf(n: BlobNaming, kind: EntryKind | undefined): string {
  return (kind ?? 'file') === 'file' ? n.suffix : '';
}

export function codecOf(n: BlobNaming, kind: EntryKind | undefined): 'zstd' | 'none' {
  return (kind ?? 'file') === 'file' ? n.codec : 'none';
}

/** Page blobs hold regular files only; other entries are (small) block blobs. */
export function blobKindOf(n: BlobNaming, kind: EntryKind | undefined): 'block' | 'page' {
  return (kind ?? 'file') === 'file' ? n.kind : 'block';
}

/** The entry's blob name in its container (escaped where the staged name cannot be a blob name). */
export function blobNameOfSegment(n: BlobNaming, s: SegmentNaming): string {
  return blobNameOf(s.path, suffixOf(n, s.kind)).name;
}

/** Relative path of the entry's data file on the drive, `/` separated. */
export function drivePathOf(n: BlobNaming, s: SegmentNaming): string {
  const kind = s.kind ?? 'file';
  if (kind !== 'file' && kind !== 'symlink') return EMPTY_FILE;
  return `${n.container}/${s.dpath ?? s.path + n.suffix}`;
}

/** Where an entry's metadata file is on a drive: by the entry's number, a thousand to a folder. */
export function metadataPathOf(file: number): string {
  return `${DRIVE_DIR}/meta/${Math.floor(file / 1000)}/${file}.xml`;
}

/**
 * The metadata file of a blob part (the same bytes every time for the same record), or undefined before journal
 * version 3.
 */
export function metadataFileOf(
  n: BlobNaming,
  s: SegmentNaming,
): { path: string; bytes: Buffer; md5: string } | undefined {
  if (!s.meta) return undefined;
  const name = blobNameOf(s.path, suffixOf(n, s.kind));
  const bytes = Buffer.from(
    formatMetadataFile(
      blobMetadataOf(metaFromJson(s.meta), {
        codec: codecOf(n, s.kind),
        rawName: name.escaped ? encodeBytes(s.path) : undefined,
      }),
    ),
    'utf8',
  );
  return { path: metadataPathOf(s.file), bytes, md5: createHash('md5').update(bytes).digest('hex').toUpperCase() };
}

/** A drive-relative path as the manifest writes it (`\dir\file`). */
export function windowsPath(rel: string): string {
  return `\\${rel.replaceAll('/', '\\')}`;
}

const FIRST_PASS_TYPES: ReadonlySet<RecordType> = new Set([
  RecordType.FileRestarted,
  RecordType.FileSkipped,
  RecordType.DriveSealed,
]);

/**
 * Stream the blob parts that the journal places on drive `drive`, in the order they were written,
 * leaving out chunks of superseded generations (a file that changed and was copied again) and
 * files skipped while this drive was still open. Two passes over the journal; memory is the
 * restarted and skipped files plus one blob's chunks (at most 50,000).
 */
export async function* driveBlobs(
  fs: FileSystem,
  journalPath: string,
  drive: number,
  naming: BlobNaming,
): AsyncGenerator<DriveBlob> {
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
  const kind = blobKindOf(n, seg.kind);
  let storedLength = 0;
  for (const c of chunks) {
    storedLength += c.storedLength;
    for (const e of c.extents) {
      ranges.push(
        kind === 'block'
          ? { offset: e.fileOffset, length: e.length, md5: e.md5, id: blockId(c.index) }
          : { offset: e.fileOffset, length: e.length, md5: e.md5 },
      );
    }
  }
  const drivePath = drivePathOf(n, seg);
  const meta = metadataFileOf(n, seg);
  const manifest: ManifestBlob = {
    blobPath: `${n.container}/${blobNameOfSegment(n, seg)}`,
    filePath: windowsPath(drivePath),
    // Block blob parts are files of their own; page blob parts are sparse files of the blob's full length.
    length: kind === 'block' ? storedLength : seg.size,
    disposition: n.disposition,
    kind,
    segment: { codec: codecOf(n, seg.kind), part: seg.part, final, blobOffset: seg.storedOffset, rawSize: seg.size },
    ranges,
    ...(meta ? { metadata: { path: windowsPath(meta.path), md5: meta.md5 } } : {}),
  };
  return {
    file: seg.file,
    path: seg.path,
    kind: seg.kind ?? 'file',
    meta: seg.meta ? metaFromJson(seg.meta) : undefined,
    size: seg.size,
    mtimeMs: seg.mtimeMs,
    mode: seg.mode,
    part: seg.part,
    final,
    rawOffset: seg.rawOffset,
    storedOffset: seg.storedOffset,
    chunks,
    drivePath,
    manifest,
  };
}
