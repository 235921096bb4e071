/** The rules a manifest entry must follow for the service to import it. */
import { blobNameProblem, checkContainerName } from './naming.js';
import { MAX_BLOCK_BYTES, MAX_BLOCKS_PER_BLOB } from './chunking.js';
import type { ParsedBlob } from './manifest-parser.js';

/**
 * The service's largest page blob (8 TiB). The manifest documentation still says 1 TB (its
 * 2015 limit, spec §1.4); the platform has taken 8 TiB since, and seedship stores page blobs of
 * any staged length up to it.
 */
export const MAX_PAGE_BLOB_BYTES = 8 * 1024 ** 4;
const PAGE_BYTES = 512;
const MD5_HEX = /^[0-9A-F]{32}$/;

/**
 * Why a manifest entry cannot be imported as it stands: `name` problems are the service's
 * FileNameInvalid, `entry` problems its Failed (a duplicate, a block or page list that does not
 * describe the blob).
 */
export interface EntryProblem {
  readonly kind: 'name' | 'entry';
  readonly reason: string;
}

/** Absolute path of a manifest FilePath (`\container\dir\file`) on a drive, refusing escapes. */
export function driveFilePath(root: string, filePath: string): string | undefined {
  const parts = filePath.split(/[\\/]/).filter((p) => p !== '');
  if (parts.length === 0 || parts.some((p) => p === '.' || p === '..' || p.includes('\0'))) return undefined;
  return `${root}/${parts.join('/')}`;
}

/**
 * The rules the Import/Export service applies to one `<Blob>` of a drive manifest before it reads
 * a byte of it (spec §1.3–1.4), shared by `import` (which refuses the blob) and `verify` (which
 * reports it): names a blob can have, a FilePath on the drive, each BlobPath once per drive (per
 * part), and a block or page list that describes exactly `Length` bytes:
 * - block blob: blocks in order from offset 0, contiguous, together exactly `Length`, each at most
 *   4 MiB with a hex MD5 and an id, all ids of one length, at most 50,000 blocks;
 * - page blob: `Length` a multiple of 512 and at most 8 TiB; ranges 512-aligned, in order, not
 *   overlapping, inside `Length`, each at most 4 MiB with a hex MD5.
 * `seen` holds the entries of the drive checked so far (the caller keeps one per manifest).
 */
export function manifestEntryProblem(b: ParsedBlob, seen: Set<string>): EntryProblem | undefined {
  const slash = b.blobPath.indexOf('/');
  const container = slash > 0 ? b.blobPath.slice(0, slash) : '';
  const name = slash > 0 ? b.blobPath.slice(slash + 1) : '';
  const cp = checkContainerName(container);
  if (cp) return { kind: 'name', reason: `BlobPath ${b.blobPath}: ${cp}` };
  const np = blobNameProblem(name);
  if (np !== undefined) return { kind: 'name', reason: `BlobPath ${b.blobPath}: ${np}` };
  if (!driveFilePath('', b.filePath)) return { kind: 'name', reason: `FilePath ${b.filePath} leaves the drive` };
  const key = `${b.blobPath}\0${b.clientData ?? ''}`;
  if (seen.has(key)) return { kind: 'entry', reason: `BlobPath ${b.blobPath} is listed twice on this drive` };
  seen.add(key);
  const reason = b.kind === 'block' ? blockListProblem(b) : pageListProblem(b);
  return reason === undefined ? undefined : { kind: 'entry', reason };
}

function blockListProblem(b: ParsedBlob): string | undefined {
  if (b.ranges.length > MAX_BLOCKS_PER_BLOB)
    return `${b.ranges.length} blocks; a block blob holds at most ${MAX_BLOCKS_PER_BLOB}`;
  let at = 0;
  const idLen = b.ranges[0]?.id?.length;
  for (const r of b.ranges) {
    if (r.offset !== at || r.length > MAX_BLOCK_BYTES || !MD5_HEX.test(r.md5))
      return `block at ${r.offset} is not contiguous, too long or has no MD5`;
    if (r.id === undefined || r.id.length !== idLen) return 'block ids missing or of different lengths';
    at += r.length;
  }
  if (at !== b.length) return `blocks cover ${at} bytes but Length says ${b.length}`;
  return undefined;
}

function pageListProblem(b: ParsedBlob): string | undefined {
  if (b.length % PAGE_BYTES) return `page blob Length ${b.length} is not a multiple of 512`;
  if (b.length > MAX_PAGE_BLOB_BYTES)
    return `page blob Length ${b.length} is over the service's ${MAX_PAGE_BLOB_BYTES}-byte (8 TiB) limit`;
  let end = 0;
  for (const r of b.ranges) {
    if (
      r.offset % PAGE_BYTES ||
      r.length % PAGE_BYTES ||
      r.offset < end ||
      r.offset + r.length > b.length ||
      r.length > MAX_BLOCK_BYTES
    )
      return `page range ${r.offset}+${r.length} is not aligned, ordered and inside the blob`;
    if (!MD5_HEX.test(r.md5)) return `page range ${r.offset}+${r.length} has no MD5`;
    end = r.offset + r.length;
  }
  return undefined;
}
