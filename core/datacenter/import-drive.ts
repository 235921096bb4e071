import { createHash } from 'node:crypto';
import type { ChunkProcessor, FileSystem } from '../../native/interfaces.js';
import type { BlobStore } from '../../native/blob-store-types.js';
import { readDriveJson } from '../drives/drive-identity.js';
import type { DriveBlob } from '../journal/drive-blobs.js';
import { blockId, MANIFEST_NAME, parseClientData } from '../manifest/drive-manifest.js';
import { driveFilePath, manifestEntryProblem } from '../manifest/entry-rules.js';
import {
  ManifestFormatError,
  parseDriveManifest,
  type ManifestHeader,
  type ParsedBlob,
} from '../manifest/manifest-parser.js';
import { MAX_BLOCK_BYTES } from '../manifest/chunking.js';
import { mapBounded } from '../util/bounded-map.js';
import { parseFlatXml } from '../util/xml.js';
import {
  formatDriveLog,
  logTimestamp,
  renamedBlobName,
  type BlobStatus,
  type DriveStatus,
  type LogBlob,
  type LogRange,
} from './drive-log.js';

/** Container the service writes its copy logs to (the job's default diagnostics path). */
export const LOG_CONTAINER = 'waimportexport';
/** Metadata key on imported blobs: a fingerprint of the manifest entry, so a rerun skips them. */
const SOURCE_KEY = 'seedshipsource';
/** Blobs imported at once: small files are a few REST round trips each. */
const BLOBS_IN_FLIGHT = 8;

export interface DriveImportResult {
  readonly root: string;
  readonly driveId: string;
  readonly status: DriveStatus;
  readonly blobs: number;
  readonly created: number;
  readonly skipped: number;
  readonly failed: number;
  readonly blocksUploaded: number;
  readonly bytesUploaded: number;
  readonly errorLog: string | undefined;
  readonly verboseLog: string | undefined;
  readonly problems: readonly string[];
}

export interface ImportOptions {
  readonly logLevel: 'error' | 'verbose';
  readonly signal: AbortSignal;
  readonly now: () => number;
  /** Expected MD5 of this drive's manifest (from the session's drive-info file), when known. */
  readonly manifestHash?: string | undefined;
  readonly job?: string | undefined;
  /** Bytes of each block or page range uploaded, as they go. */
  readonly onBytes?: (n: number) => void;
  /**
   * After each blob, in manifest order: the bytes of its ranges that were not uploaded (already
   * imported, refused by a check, a block that failed). With `onBytes`, a count that reaches the
   * manifest's total.
   */
  readonly onBlobDone?: (notUploaded: number) => void;
  /**
   * For a drive encrypted by `prepare --encrypt`: its key and the journal's view of its blobs
   * (the raw offsets that make each data unit's tweak). The account receives the plain stored bytes.
   */
  readonly decrypt?:
    | { key: Uint8Array; tweakSeed: (path: string) => Uint8Array; blobs: Map<string, DriveBlob> }
    | undefined;
}

class DriveIdMismatch extends Error {
  constructor(manifestId: string, driveId: string) {
    super(`the manifest names drive ${manifestId}, the drive is ${driveId}`);
  }
}

/** Azure metadata names are C# identifiers; values travel in HTTP headers. */
const METADATA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
/** The service's limit on a blob's metadata: 8 KiB of names and values. */
const METADATA_MAX_BYTES = 8 * 1024;

/**
 * The blob metadata a manifest entry's `MetadataPath` names, read as the service does (spec §1.6):
 * the file's MD5 must match the manifest's `Hash`, its root is `<Metadata>`, each child a name and
 * its value. A string says why it cannot be used; no `MetadataPath` gives no metadata.
 */
async function readMetadataFile(fs: FileSystem, root: string, b: ParsedBlob): Promise<Record<string, string> | string> {
  if (!b.metadata) return {};
  const path = driveFilePath(root, b.metadata.path);
  if (!path) return `MetadataPath ${b.metadata.path} leaves the drive`;
  const data = await fs.readFileIfExists(path).catch(() => undefined);
  if (!data) return `metadata file ${b.metadata.path} is not on the drive`;
  if (data.length > 2 * METADATA_MAX_BYTES)
    return `metadata file ${b.metadata.path} is larger than blob metadata can be`;
  const md5 = createHash('md5').update(data).digest('hex').toUpperCase();
  if (md5 !== b.metadata.md5)
    return `metadata file ${b.metadata.path} has MD5 ${md5}, the manifest says ${b.metadata.md5}`;
  let parsed;
  try {
    parsed = parseFlatXml(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch (err) {
    return `metadata file ${b.metadata.path} is not valid XML (${(err as Error).message})`;
  }
  if (parsed.root !== 'Metadata') return `metadata file ${b.metadata.path} has root <${parsed.root}>, not <Metadata>`;
  const md: Record<string, string> = {};
  let bytes = 0;
  for (const [k, v] of parsed.fields) {
    if (!METADATA_NAME.test(k) || k.toLowerCase().startsWith(SOURCE_KEY))
      return `metadata file ${b.metadata.path}: ${JSON.stringify(k)} is not a metadata name a blob can have`;
    // eslint-disable-next-line no-control-regex
    if (/[^\x20-\x7e]/.test(v))
      return `metadata file ${b.metadata.path}: the value of ${k} holds characters an HTTP header cannot carry`;
    md[k] = v;
    bytes += k.length + v.length;
  }
  if (bytes > METADATA_MAX_BYTES)
    return `metadata file ${b.metadata.path} holds more than the 8 KiB a blob's metadata can`;
  return md;
}

function fingerprint(driveId: string, b: ParsedBlob): string {
  const h = createHash('sha256').update(driveId).update('\0').update(b.blobPath).update('\0').update(String(b.length));
  for (const r of b.ranges) h.update(`${r.offset}:${r.length}:${r.md5}`);
  if (b.metadata) h.update(`meta:${b.metadata.md5}`);
  return h.digest('hex').slice(0, 32);
}

/** Why a manifest entry cannot be imported as it stands, with the service's status for it. */
function checkEntry(b: ParsedBlob, seen: Set<string>): { status: BlobStatus; reason: string } | undefined {
  const p = manifestEntryProblem(b, seen);
  return p && { status: p.kind === 'name' ? 'FileNameInvalid' : 'Failed', reason: p.reason };
}

/**
 * Import one drive the way the Import/Export service does: read and check its manifest, read every
 * block and check its MD5 before uploading it (Put Block with the MD5 as transactional hash, or Put
 * Page), commit block lists, join a blob's parts from several drives, honour ImportDisposition,
 * and write the service's DriveLog. A drive is untrusted input: nothing that fails a check is
 * uploaded. Blobs committed by an earlier run of the same manifest are skipped.
 */
export async function importDrive(
  fs: FileSystem,
  pool: ChunkProcessor,
  store: BlobStore,
  rootIn: string,
  opts: ImportOptions,
): Promise<DriveImportResult> {
  const root = await fs.realpath(rootIn);
  const dj = await readDriveJson(fs, root).catch(() => undefined);
  const job = opts.job ?? dj?.job ?? 'seedship';
  const manifestPath = `${root}/${MANIFEST_NAME}`;
  const logs: LogBlob[] = [];
  const problems: string[] = [];
  let created = 0;
  let skipped = 0;
  let failed = 0;
  let blocksUploaded = 0;
  let bytesUploaded = 0;
  let driveId = dj?.driveId ?? 'UNKNOWN';
  const finish = async (status: DriveStatus, note?: string): Promise<DriveImportResult> => {
    const ts = logTimestamp(opts.now());
    let errorLog: string | undefined;
    let verboseLog: string | undefined;
    await store.ensureContainer(LOG_CONTAINER);
    if (status !== 'Completed') {
      const name = `waies/${job}_${driveId}_${ts}_error.xml`;
      await store.uploadText(LOG_CONTAINER, name, formatDriveLog(driveId, status, logs, true, note));
      errorLog = store.url(LOG_CONTAINER, name);
    }
    if (opts.logLevel === 'verbose') {
      const name = `waies/${job}_${driveId}_${ts}_verbose.xml`;
      await store.uploadText(LOG_CONTAINER, name, formatDriveLog(driveId, status, logs, false, note));
      verboseLog = store.url(LOG_CONTAINER, name);
    }
    if (note) problems.unshift(note);
    return {
      root,
      driveId,
      status,
      blobs: logs.length,
      created,
      skipped,
      failed,
      blocksUploaded,
      bytesUploaded,
      errorLog,
      verboseLog,
      problems,
    };
  };
  if (!(await fs.exists(manifestPath))) return finish('ManifestNotFound', `${MANIFEST_NAME} is not on the drive`);
  if (opts.manifestHash) {
    const h = createHash('md5')
      .update(await fs.readFile(manifestPath))
      .digest('hex')
      .toUpperCase();
    if (h !== opts.manifestHash)
      return finish('ManifestCorrupted', `the manifest's MD5 is ${h}, the job says ${opts.manifestHash}`);
  }
  const header: ManifestHeader = {
    version: undefined,
    driveId: undefined,
    hasAccountKey: false,
    containerSas: undefined,
  };
  const seen = new Set<string>();
  const containers = new Set<string>();
  try {
    // Several blobs in flight (each a few REST calls); checks and logs stay in manifest order.
    const window = mapBounded(
      parseDriveManifest(fs, manifestPath, header),
      {
        maxItems: BLOBS_IN_FLIGHT,
        maxWeight: pool.threads * 3 * MAX_BLOCK_BYTES,
        weight: (b) => Math.min(b.length, MAX_BLOCK_BYTES),
        signal: opts.signal,
      },
      (b) => {
        // The manifest names its drive before any blob: a mismatch stops before the first upload.
        if (header.driveId && dj && header.driveId !== dj.driveId)
          return Promise.reject(new DriveIdMismatch(header.driveId, dj.driveId));
        if (header.driveId) driveId = header.driveId;
        return importBlob(fs, pool, store, root, driveId, b, seen, containers, opts);
      },
    );
    for await (const { item: b, result: log } of window) {
      opts.onBlobDone?.(b.ranges.reduce((a, r) => a + r.length, 0) - log.bytes);
      logs.push(log.entry);
      blocksUploaded += log.blocks;
      bytesUploaded += log.bytes;
      if (log.entry.status === 'Completed') log.uploaded ? created++ : skipped++;
      else {
        failed++;
        if (problems.length < 100)
          problems.push(`${b.blobPath}: ${log.entry.status}${log.entry.reason ? ` (${log.entry.reason})` : ''}`);
      }
    }
  } catch (err) {
    if (err instanceof ManifestFormatError) return finish('ManifestFormatInvalid', err.message);
    if (err instanceof DriveIdMismatch) return finish('ManifestDriveIdMismatch', err.message);
    throw err;
  }
  return finish(failed > 0 ? 'CompletedWithErrors' : 'Completed');
}

async function importBlob(
  fs: FileSystem,
  pool: ChunkProcessor,
  store: BlobStore,
  root: string,
  driveId: string,
  b: ParsedBlob,
  seen: Set<string>,
  containers: Set<string>,
  opts: ImportOptions,
): Promise<{ entry: LogBlob; blocks: number; bytes: number; uploaded: boolean }> {
  const base = { blobPath: b.blobPath, filePath: b.filePath, length: b.length, kind: b.kind };
  const bad = checkEntry(b, seen);
  if (bad)
    return {
      entry: { ...base, status: bad.status, reason: bad.reason, ranges: [] },
      blocks: 0,
      bytes: 0,
      uploaded: false,
    };
  const path = driveFilePath(root, b.filePath)!;
  const st = await fs.stat(path).catch(() => undefined);
  if (st?.kind !== 'file')
    return {
      entry: { ...base, status: 'FileNotFound', reason: `${b.filePath} is not on the drive`, ranges: [] },
      blocks: 0,
      bytes: 0,
      uploaded: false,
    };
  const md = await readMetadataFile(fs, root, b);
  if (typeof md === 'string')
    return { entry: { ...base, status: 'Failed', reason: md, ranges: [] }, blocks: 0, bytes: 0, uploaded: false };
  const container = b.blobPath.slice(0, b.blobPath.indexOf('/'));
  let name = b.blobPath.slice(container.length + 1);
  if (!containers.has(container)) {
    await store.ensureContainer(container);
    containers.add(container);
  }
  const seg = parseClientData(b.clientData) ?? {
    part: 1,
    final: true,
    codec: 'none' as const,
    blobOffset: 0,
    rawSize: b.length,
  };
  const fp = fingerprint(driveId, b);
  const disposition = b.disposition ?? 'rename';
  let dispStatus: 'Created' | 'Renamed' | 'Skipped' | 'Overwritten' = 'Created';
  const existing = await store.getBlob(container, name);
  if (existing?.metadata[SOURCE_KEY] === fp) {
    // Committed by an earlier run of this very manifest entry: done.
    return {
      entry: {
        ...base,
        status: 'Completed',
        reason: 'already imported',
        disposition: { value: disposition, status: 'Created' },
        ranges: [],
      },
      blocks: 0,
      bytes: 0,
      uploaded: false,
    };
  }
  const committedPart = Number(existing?.metadata[`${SOURCE_KEY}part`] ?? 0);
  if (existing && committedPart > seg.part) {
    // A later part already committed the whole blob, so this part's blocks are in it.
    return {
      entry: {
        ...base,
        status: 'Completed',
        reason: 'already imported with its last part',
        disposition: { value: disposition, status: 'Created' },
        ranges: [],
      },
      blocks: 0,
      bytes: 0,
      uploaded: false,
    };
  }
  if (existing && seg.part === 1 && !committedPart) {
    if (disposition === 'no-overwrite')
      return {
        entry: {
          ...base,
          status: 'Completed',
          disposition: { value: disposition, status: 'Skipped' },
          reason: 'blob exists; no-overwrite',
          ranges: [],
        },
        blocks: 0,
        bytes: 0,
        uploaded: false,
      };
    if (disposition === 'rename') {
      let n = 2;
      for (;;) {
        const other = await store.getBlob(container, renamedBlobName(name, n));
        if (!other || other.metadata[SOURCE_KEY] === fp) break;
        n++;
      }
      name = renamedBlobName(name, n);
      dispStatus = 'Renamed';
    } else dispStatus = 'Overwritten';
  }
  // Encrypted drives: a block's tweak offset is its chunk's raw offset (from the journal); a page
  // range's is its own offset (raw and blob offsets agree without compression).
  const jb = opts.decrypt?.blobs.get(`${b.blobPath}\0${seg.part}`);
  if (opts.decrypt && !jb)
    return {
      entry: {
        ...base,
        status: 'Failed',
        reason: 'the session journal does not know this blob, so it cannot be decrypted',
        ranges: [],
      },
      blocks: 0,
      bytes: 0,
      uploaded: false,
    };
  const rangeIndex = new Map(b.ranges.map((r, i) => [r, i]));
  const cipherFor = (r: (typeof b.ranges)[number]) => {
    if (!opts.decrypt || !jb) return { cipher: undefined, tweakSeed: undefined, unitOffset: 0 };
    const unitOffset = b.kind === 'page' ? r.offset : (jb.chunks[rangeIndex.get(r)!]?.rawOffset ?? -1);
    return { cipher: { key: opts.decrypt.key }, tweakSeed: opts.decrypt.tweakSeed(jb.path), unitOffset };
  };
  const ranges: LogRange[] = [];
  let blocks = 0;
  let bytes = 0;
  let failedRange = false;
  if (b.kind === 'page' && !(await store.getBlob(container, name)))
    await store.createPageBlob(container, name, b.length, { ...md, [`${SOURCE_KEY}part`]: '1' });
  const window = mapBounded(
    b.ranges,
    {
      maxItems: pool.threads * 3,
      maxWeight: pool.threads * 3 * MAX_BLOCK_BYTES,
      weight: (r) => r.length,
      signal: opts.signal,
    },
    async (r) => {
      if (r.offset + r.length > st.size) return { r, status: 'FileUnexpectedEnd' as const };
      const d = await pool.decode(
        {
          kind: 'decode',
          path,
          offset: r.offset,
          length: r.length,
          units: [{ at: 0, length: r.length, md5: r.md5 }],
          ...cipherFor(r),
          raw: { codec: 'none', xxh64: undefined, rawLength: r.length },
          returnRaw: true,
        },
        opts.signal,
      );
      if (!d.ok)
        return {
          r,
          status:
            d.reason === 'md5'
              ? ('Corrupted' as const)
              : d.reason === 'short'
                ? ('FileUnexpectedEnd' as const)
                : ('IOFailed' as const),
        };
      const md5 = Buffer.from(r.md5, 'hex');
      const data = d.raw ?? new Uint8Array(0);
      if (b.kind === 'block') await store.stageBlock(container, name, r.id!, data, md5);
      else await store.uploadPages(container, name, data, r.offset, md5);
      return { r, status: 'Completed' as const };
    },
  );
  for await (const { result } of window) {
    const { r, status } = result;
    ranges.push({
      offset: r.offset,
      length: r.length,
      id: r.id,
      hash: r.md5,
      status: status === 'Completed' && b.kind === 'block' ? 'Uncommitted' : status,
    });
    if (status !== 'Completed') failedRange = true;
    else {
      blocks++;
      bytes += r.length;
      opts.onBytes?.(r.length);
    }
  }
  if (failedRange) {
    const first = ranges.find((x) => x.status !== 'Uncommitted' && x.status !== 'Completed')!;
    return {
      entry: {
        ...base,
        status: 'CompletedWithErrors',
        reason: `block at offset ${first.offset} ${first.status === 'Corrupted' ? 'does not match its MD5' : 'could not be read whole'}; the blob was not committed`,
        disposition: { value: disposition, status: 'Cancelled' },
        ranges,
      },
      blocks,
      bytes,
      uploaded: false,
    };
  }
  if (b.kind === 'block' && seg.final) {
    // The parts of a blob split over drives carry block ids 0..n-1 of the whole blob.
    const lastIndex = b.ranges.length ? Buffer.from(b.ranges[b.ranges.length - 1]!.id!, 'base64').readUInt32LE(0) : -1;
    const all = Array.from({ length: lastIndex + 1 }, (_, i) => blockId(i));
    if (seg.part > 1) {
      const staged = await store.uncommittedBlocks(container, name);
      const ownIds = new Set(b.ranges.map((r) => r.id!));
      const missing = all.filter((id) => !staged.has(id) && !ownIds.has(id));
      if (missing.length)
        return {
          entry: {
            ...base,
            status: 'CompletedWithErrors',
            reason: `part ${seg.part} staged, but ${missing.length} block(s) of the earlier parts are not: import their drives, then this one again`,
            ranges,
          },
          blocks,
          bytes,
          uploaded: true,
        };
    }
    await store.commitBlocks(container, name, b.ranges.length || seg.part > 1 ? all : [], {
      ...md,
      [SOURCE_KEY]: fp,
      [`${SOURCE_KEY}part`]: String(seg.part),
    });
    for (let i = 0; i < ranges.length; i++) ranges[i] = { ...ranges[i]!, status: 'Committed' };
  } else if (b.kind === 'page' && seg.final) {
    await store.setMetadata(container, name, { ...md, [SOURCE_KEY]: fp, [`${SOURCE_KEY}part`]: String(seg.part) });
  }
  return {
    entry: {
      ...base,
      status: 'Completed',
      disposition: { value: disposition, status: dispStatus },
      ranges,
      ...(name !== b.blobPath.slice(container.length + 1) ? { reason: `imported as ${container}/${name}` } : {}),
    },
    blocks,
    bytes,
    uploaded: true,
  };
}
