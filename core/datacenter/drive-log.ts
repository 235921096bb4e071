/**
 * The service's DriveLog: its status codes (spec §4.6), its XML, and the names it gives logs and
 * renamed blobs. What `import` writes, in the service's own format.
 */
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

/** What a DriveLog reports: the drive, its status, its blobs, and a note on the drive as a whole. */
export interface DriveLogContent {
  readonly driveId: string;
  readonly status: DriveStatus;
  readonly blobs: readonly LogBlob[];
  /** The error log: failing blobs and ranges only (else the verbose log: everything). */
  readonly errorOnly: boolean;
  /** Why the drive stopped, in words (an XML comment). */
  readonly note?: string | undefined;
}

/**
 * The service's DriveLog XML (error log: failing blobs and ranges only; verbose: everything).
 * Schema of spec §4.6; seedship adds nothing but XML comments.
 */
export function formatDriveLog(log: DriveLogContent): string {
  let s = '<?xml version="1.0" encoding="UTF-8"?>\r\n<DriveLog Version="2014-11-01">\r\n';
  s += `  <DriveId>${xmlEscape(log.driveId)}</DriveId>\r\n`;
  if (log.note) s += `  <!-- ${xmlComment(log.note)} -->\r\n`;
  for (const b of log.blobs) {
    if (log.errorOnly && b.status === 'Completed') continue;
    s += formatBlob(b, log.errorOnly);
  }
  return `${s}  <Status>${log.status}</Status>\r\n</DriveLog>\r\n`;
}

/** Text made safe inside an XML comment (which may not hold `--`). */
function xmlComment(text: string): string {
  return xmlEscape(text).replaceAll('--', '- -');
}

/** One `<Blob>` element of a DriveLog, with its failing ranges only when `errorOnly`. */
function formatBlob(b: LogBlob, errorOnly: boolean): string {
  let s = `  <Blob Status="${b.status}">\r\n`;
  if (b.reason) s += `    <!-- ${xmlComment(b.reason)} -->\r\n`;
  s += `    <BlobPath>${xmlEscape(b.blobPath)}</BlobPath>\r\n`;
  s += `    <FilePath>${xmlEscape(b.filePath)}</FilePath>\r\n`;
  s += `    <Length>${b.length}</Length>\r\n`;
  if (b.disposition) {
    const value = xmlEscape(b.disposition.value);
    s += `    <ImportDisposition Status="${b.disposition.status}">${value}</ImportDisposition>\r\n`;
  }
  const ranges = errorOnly ? b.ranges.filter((r) => r.status !== 'Completed' && r.status !== 'Committed') : b.ranges;
  if (ranges.length) {
    const [list, el] = b.kind === 'block' ? ['BlockList', 'Block'] : ['PageRangeList', 'PageRange'];
    s += `    <${list}>\r\n`;
    for (const r of ranges) {
      const id = r.id ? ` Id="${xmlEscape(r.id)}"` : '';
      const hash = r.hash ? ` Hash="${r.hash}"` : '';
      s += `      <${el} Offset="${r.offset}" Length="${r.length}"${id}${hash} Status="${r.status}"/>\r\n`;
    }
    s += `    </${list}>\r\n`;
  }
  return `${s}  </Blob>\r\n`;
}

/** `yyyyMMdd-HHmmss-fff`, as the service names its logs. */
export function logTimestamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}`;
  const time = `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  return `${date}-${time}-${p(d.getUTCMilliseconds(), 3)}`;
}

/** The name `rename` gives the n-th copy: ` (n)` before the last dot, or at the end. */
export function renamedBlobName(name: string, n: number): string {
  const slash = name.lastIndexOf('/');
  const dot = name.lastIndexOf('.');
  return dot > slash + 1 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`;
}
