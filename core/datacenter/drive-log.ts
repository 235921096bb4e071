import { xmlEscape } from '../util/xml.js';

/** Block / page-range status codes of the service's copy log (spec §4.6). */
export type RangeStatus =
  | 'Completed'
  | 'Committed'
  | 'Uncommitted'
  | 'Corrupted'
  | 'FileUnexpectedEnd'
  | 'BlobUnexpectedEnd'
  | 'BlobRequestFailed'
  | 'IOFailed'
  | 'Failed'
  | 'Cancelled';
/** Blob status codes. */
export type BlobStatus =
  | 'Completed'
  | 'CompletedWithErrors'
  | 'FileNameInvalid'
  | 'FileNameTooLong'
  | 'FileNotFound'
  | 'FileAccessDenied'
  | 'BlobRequestFailed'
  | 'BlobRequestForbidden'
  | 'RenameFailed'
  | 'BlobUnexpectedChange'
  | 'LeasePresent'
  | 'IOFailed'
  | 'Failed';
/** Drive status codes. */
export type DriveStatus =
  | 'Completed'
  | 'CompletedWithWarnings'
  | 'CompletedWithErrors'
  | 'DiskNotFound'
  | 'ManifestNameInvalid'
  | 'ManifestNotFound'
  | 'ManifestAccessDenied'
  | 'ManifestCorrupted'
  | 'ManifestFormatInvalid'
  | 'ManifestDriveIdMismatch'
  | 'ReadManifestFailed'
  | 'BlobListFormatInvalid'
  | 'BlobRequestForbidden'
  | 'InternalError';

export interface LogRange {
  readonly offset: number;
  readonly length: number;
  readonly id?: string | undefined;
  readonly hash?: string | undefined;
  readonly status: RangeStatus;
}

export interface LogBlob {
  readonly status: BlobStatus;
  readonly blobPath: string;
  readonly filePath: string;
  readonly length: number;
  readonly disposition?:
    | { value: string; status: 'Created' | 'Renamed' | 'Skipped' | 'Overwritten' | 'Cancelled' }
    | undefined;
  readonly kind: 'block' | 'page';
  readonly ranges: readonly LogRange[];
  /** Why, in words (seedship's addition, in an XML comment so the format stays the service's). */
  readonly reason?: string | undefined;
}

/**
 * The service's DriveLog XML (error log: failing blobs and ranges only; verbose: everything).
 * Schema of spec §4.6; seedship adds nothing but XML comments.
 */
export function formatDriveLog(
  driveId: string,
  status: DriveStatus,
  blobs: readonly LogBlob[],
  errorOnly: boolean,
  note?: string,
): string {
  let s = '<?xml version="1.0" encoding="UTF-8"?>\r\n<DriveLog Version="2014-11-01">\r\n';
  s += `  <DriveId>${xmlEscape(driveId)}</DriveId>\r\n`;
  if (note) s += `  <!-- ${xmlEscape(note).replaceAll('--', '- -')} -->\r\n`;
  for (const b of blobs) {
    if (errorOnly && b.status === 'Completed') continue;
    s += `  <Blob Status="${b.status}">\r\n`;
    if (b.reason) s += `    <!-- ${xmlEscape(b.reason).replaceAll('--', '- -')} -->\r\n`;
    s += `    <BlobPath>${xmlEscape(b.blobPath)}</BlobPath>\r\n    <FilePath>${xmlEscape(b.filePath)}</FilePath>\r\n    <Length>${b.length}</Length>\r\n`;
    if (b.disposition)
      s += `    <ImportDisposition Status="${b.disposition.status}">${xmlEscape(b.disposition.value)}</ImportDisposition>\r\n`;
    const ranges = errorOnly ? b.ranges.filter((r) => r.status !== 'Completed' && r.status !== 'Committed') : b.ranges;
    if (ranges.length) {
      const [list, el] = b.kind === 'block' ? ['BlockList', 'Block'] : ['PageRangeList', 'PageRange'];
      s += `    <${list}>\r\n`;
      for (const r of ranges)
        s += `      <${el} Offset="${r.offset}" Length="${r.length}"${r.id ? ` Id="${xmlEscape(r.id)}"` : ''}${r.hash ? ` Hash="${r.hash}"` : ''} Status="${r.status}"/>\r\n`;
      s += `    </${list}>\r\n`;
    }
    s += '  </Blob>\r\n';
  }
  return `${s}  <Status>${status}</Status>\r\n</DriveLog>\r\n`;
}

/** `yyyyMMdd-HHmmss-fff`, as the service names its logs. */
export function logTimestamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}-${p(d.getUTCMilliseconds(), 3)}`;
}

/** The name `rename` gives the n-th copy: ` (n)` before the last dot, or at the end. */
export function renamedBlobName(name: string, n: number): string {
  const slash = name.lastIndexOf('/');
  const dot = name.lastIndexOf('.');
  return dot > slash + 1 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`;
}
