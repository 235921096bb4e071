/** Writes the drive manifest (`DriveManifest.xml`) the Import/Export service reads. */
import { xmlEscape } from '../util/xml.js';

/** Version attribute we write; the service's documented schema version. */
export const MANIFEST_VERSION = '2014-11-01';
/** Name of the manifest at the drive root, and its Windows path for the job's `manifestFile`. */
export const MANIFEST_NAME = 'DriveManifest.xml';
export const MANIFEST_FILE_WINDOWS = '\\DriveManifest.xml';

export type ImportDisposition = 'rename' | 'no-overwrite' | 'overwrite';

/** One `<Block>` or `<PageRange>`: offsets are in the FilePath file on this drive. */
export interface ManifestRange {
  readonly offset: number;
  readonly length: number;
  readonly md5: string;
  /** Block id (block blobs): base64 of the block's 4-byte little-endian index in the blob. */
  readonly id?: string;
}

/** seedship's segment marker, kept in `<ClientData>` so its importer can join parts across drives. */
export interface SegmentInfo {
  readonly codec: 'zstd' | 'none';
  /** 1-based part number of this segment within the blob. */
  readonly part: number;
  /** This is the blob's last part. */
  readonly final: boolean;
  /** Where this part's stored bytes start in the blob. */
  readonly blobOffset: number;
  /** Size of the staged (raw) file. */
  readonly rawSize: number;
}

/** One `<Blob>` of a drive manifest. */
export interface ManifestBlob {
  readonly blobPath: string;
  readonly filePath: string; // Windows style, relative to the drive root: \container\dir\name
  readonly length: number;
  readonly disposition: ImportDisposition;
  readonly kind: 'block' | 'page';
  readonly segment: SegmentInfo;
  readonly ranges: readonly ManifestRange[];
  /** The blob's metadata file on the drive (Windows style) and its MD5, upper-case hex (spec §1.6). */
  readonly metadata?: { readonly path: string; readonly md5: string } | undefined;
}

/** The block id of block `index` of a blob: base64 of a 4-byte little-endian counter (equal length for every block). */
export function blockId(index: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(index);
  return b.toString('base64');
}

export function formatClientData(s: SegmentInfo): string {
  return (
    `seedship/1 codec=${s.codec} part=${s.part} final=${s.final ? 1 : 0} ` +
    `blobOffset=${s.blobOffset} rawSize=${s.rawSize}`
  );
}

/** Parse seedship's ClientData; undefined when it is not ours. */
export function parseClientData(text: string | undefined): SegmentInfo | undefined {
  if (!text?.startsWith('seedship/1 ')) return undefined;
  const kv = new Map(
    text
      .slice(11)
      .split(' ')
      .map((p) => p.split('=') as [string, string]),
  );
  const codec = kv.get('codec');
  const nums = ['part', 'final', 'blobOffset', 'rawSize'].map((k) => Number(kv.get(k)));
  if ((codec !== 'zstd' && codec !== 'none') || nums.some((n) => !Number.isSafeInteger(n) || n < 0)) return undefined;
  return { codec, part: nums[0]!, final: nums[1] === 1, blobOffset: nums[2]!, rawSize: nums[3]! };
}

/** The manifest's opening, up to and including `<BlobList>`. */
export function formatManifestHead(h: { driveId: string; containerSas?: string | undefined; creator: string }): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n' +
    `<DriveManifest Version="${MANIFEST_VERSION}">\r\n` +
    '  <Drive>\r\n' +
    `    <DriveId>${xmlEscape(h.driveId)}</DriveId>\r\n` +
    (h.containerSas ? `    <ContainerSas>${xmlEscape(h.containerSas)}</ContainerSas>\r\n` : '') +
    `    <ClientCreator>${xmlEscape(h.creator)}</ClientCreator>\r\n` +
    '    <BlobList Id="session#1-0">\r\n'
  );
}

export const MANIFEST_TAIL = '    </BlobList>\r\n  </Drive>\r\n</DriveManifest>\r\n';

export function formatRange(kind: 'block' | 'page', r: ManifestRange): string {
  return kind === 'block'
    ? `          <Block Offset="${r.offset}" Length="${r.length}"${r.id !== undefined ? ` Id="${r.id}"` : ''}` +
        ` Hash="${r.md5}"/>\r\n`
    : `          <PageRange Offset="${r.offset}" Length="${r.length}" Hash="${r.md5}"/>\r\n`;
}

/** The `<Blob>` element up to and including the opening of its range list. */
export function formatBlobHead(b: Omit<ManifestBlob, 'ranges'>): string {
  return (
    '      <Blob>\r\n' +
    `        <BlobPath>${xmlEscape(b.blobPath)}</BlobPath>\r\n` +
    `        <FilePath>${xmlEscape(b.filePath)}</FilePath>\r\n` +
    `        <ClientData>${xmlEscape(formatClientData(b.segment))}</ClientData>\r\n` +
    `        <Length>${b.length}</Length>\r\n` +
    `        <ImportDisposition>${b.disposition}</ImportDisposition>\r\n` +
    (b.kind === 'block' ? '        <BlockList>\r\n' : '        <PageRangeList>\r\n')
  );
}

export function formatBlobTail(kind: 'block' | 'page', metadata?: ManifestBlob['metadata']): string {
  return (
    (kind === 'block' ? '        </BlockList>\r\n' : '        </PageRangeList>\r\n') +
    (metadata ? `        <MetadataPath Hash="${metadata.md5}">${xmlEscape(metadata.path)}</MetadataPath>\r\n` : '') +
    '      </Blob>\r\n'
  );
}

/** A whole `<Blob>` element. */
export function formatBlob(b: ManifestBlob): string {
  let s = formatBlobHead(b);
  for (const r of b.ranges) s += formatRange(b.kind, r);
  return s + formatBlobTail(b.kind, b.metadata);
}

/**
 * Upper bound of the bytes a blob element adds to the manifest before its ranges are known
 * (paths, ClientData, Length digits), used to keep room for the manifest on a drive.
 */
export function blobOverheadBytes(blobPathBytes: number, filePathBytes: number): number {
  // Fixed markup ~330 bytes, the MetadataPath element ~110; escaping can grow a path up to 6x,
  // but staged names rarely carry & < >.
  return 520 + blobPathBytes + filePathBytes;
}

/** Upper bound of one range element's bytes. */
export const RANGE_ELEMENT_MAX_BYTES = 120;
