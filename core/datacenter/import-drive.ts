/**
 * Importing one prepared drive into a storage account the way the Import/Export service does:
 * the manifest read and checked, every block MD5-checked before it is uploaded, blobs committed
 * (parts from several drives joined), and the service's DriveLog written.
 */
import { createHash } from 'node:crypto';
import type { ChunkProcessor, DecodeResult, FileSystem } from '../../native/interfaces.js';
import type { BlobStore } from '../../native/blob-store-types.js';
import { readDriveJson } from '../drives/drive-identity.js';
import { SeedshipError } from '../errors/errors.js';
import type { DriveBlob } from '../journal/drive-blobs.js';
import {
  blockId,
  type ImportDisposition,
  MANIFEST_NAME,
  type ManifestRange,
  parseClientData,
  type SegmentInfo,
} from '../manifest/drive-manifest.js';
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

/**
 * The manifest names another drive than the drive's drive.json. Thrown inside `importDrive` and
 * caught there: the drive's status becomes ManifestDriveIdMismatch.
 */
class DriveIdMismatch extends SeedshipError {
  constructor(manifestId: string, driveId: string) {
    super('E_INTEGRITY', `the manifest names drive ${manifestId}, the drive is ${driveId}`);
  }

  /** Its own instances only: SeedshipError's brand check would take every SeedshipError for one. */
  static override [Symbol.hasInstance](x: unknown): boolean {
    return Object.prototype.isPrototypeOf.call(DriveIdMismatch.prototype, x as object);
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
  let parsed: ReturnType<typeof parseFlatXml>;
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
  const run: DriveRun = {
    fs,
    pool,
    store,
    root,
    opts,
    job: opts.job ?? dj?.job ?? 'seedship',
    driveId: dj?.driveId ?? 'UNKNOWN',
    tally: new ImportTally(),
  };
  const manifestPath = `${root}/${MANIFEST_NAME}`;
  const refused = await manifestRefusal(fs, manifestPath, opts.manifestHash);
  if (refused) return finishImport(run, refused.status, refused.note);
  try {
    await importBlobs(run, manifestPath, dj?.driveId);
  } catch (err) {
    if (err instanceof ManifestFormatError) return finishImport(run, 'ManifestFormatInvalid', err.message);
    if (err instanceof DriveIdMismatch) return finishImport(run, 'ManifestDriveIdMismatch', err.message);
    throw err;
  }
  return finishImport(run, run.tally.failed > 0 ? 'CompletedWithErrors' : 'Completed');
}

/** One drive being imported: what the steps of `importDrive` share. */
interface DriveRun {
  readonly fs: FileSystem;
  readonly pool: ChunkProcessor;
  readonly store: BlobStore;
  /** The drive's mount path, resolved. */
  readonly root: string;
  readonly opts: ImportOptions;
  /** The job that names the logs: the caller's, else drive.json's. */
  readonly job: string;
  /** drive.json's DriveId, then the manifest's once it names one. */
  driveId: string;
  readonly tally: ImportTally;
}

/** What importing one blob did: its DriveLog entry, and the blocks and bytes it uploaded. */
interface BlobOutcome {
  readonly entry: LogBlob;
  readonly blocks: number;
  readonly bytes: number;
  /** Something of the blob was uploaded by this run (not skipped as imported already). */
  readonly uploaded: boolean;
}

/** What the import of a drive did so far: its DriveLog entries and its counts. */
class ImportTally {
  readonly logs: LogBlob[] = [];
  readonly problems: string[] = [];
  created = 0;
  skipped = 0;
  failed = 0;
  blocksUploaded = 0;
  bytesUploaded = 0;

  /** Count one blob's outcome, in manifest order. */
  add(b: ParsedBlob, log: BlobOutcome): void {
    this.logs.push(log.entry);
    this.blocksUploaded += log.blocks;
    this.bytesUploaded += log.bytes;
    if (log.entry.status === 'Completed') {
      if (log.uploaded) this.created++;
      else this.skipped++;
      return;
    }
    this.failed++;
    if (this.problems.length < 100) {
      const why = log.entry.reason ? ` (${log.entry.reason})` : '';
      this.problems.push(`${b.blobPath}: ${log.entry.status}${why}`);
    }
  }
}

/** The drive status that stops the import before any blob: no manifest, or not the job's manifest. */
async function manifestRefusal(
  fs: FileSystem,
  manifestPath: string,
  manifestHash: string | undefined,
): Promise<{ status: DriveStatus; note: string } | undefined> {
  if (!(await fs.exists(manifestPath)))
    return { status: 'ManifestNotFound', note: `${MANIFEST_NAME} is not on the drive` };
  if (!manifestHash) return undefined;
  const h = createHash('md5')
    .update(await fs.readFile(manifestPath))
    .digest('hex')
    .toUpperCase();
  if (h === manifestHash) return undefined;
  return { status: 'ManifestCorrupted', note: `the manifest's MD5 is ${h}, the job says ${manifestHash}` };
}

/** Write the drive's error log (unless it completed) and verbose log (if asked), and make the result. */
async function finishImport(run: DriveRun, status: DriveStatus, note?: string): Promise<DriveImportResult> {
  const { store, opts, tally, driveId } = run;
  const ts = logTimestamp(opts.now());
  let errorLog: string | undefined;
  let verboseLog: string | undefined;
  await store.ensureContainer(LOG_CONTAINER);
  if (status !== 'Completed') {
    const name = `waies/${run.job}_${driveId}_${ts}_error.xml`;
    const log = formatDriveLog({ driveId, status, blobs: tally.logs, errorOnly: true, note });
    await store.uploadText(LOG_CONTAINER, name, log);
    errorLog = store.url(LOG_CONTAINER, name);
  }
  if (opts.logLevel === 'verbose') {
    const name = `waies/${run.job}_${driveId}_${ts}_verbose.xml`;
    const log = formatDriveLog({ driveId, status, blobs: tally.logs, errorOnly: false, note });
    await store.uploadText(LOG_CONTAINER, name, log);
    verboseLog = store.url(LOG_CONTAINER, name);
  }
  if (note) tally.problems.unshift(note);
  return {
    root: run.root,
    driveId,
    status,
    blobs: tally.logs.length,
    created: tally.created,
    skipped: tally.skipped,
    failed: tally.failed,
    blocksUploaded: tally.blocksUploaded,
    bytesUploaded: tally.bytesUploaded,
    errorLog,
    verboseLog,
    problems: tally.problems,
  };
}

/**
 * Import the manifest's blobs, several in flight (each a few REST calls); checks and logs stay in
 * manifest order. Throws ManifestFormatError for a broken manifest, DriveIdMismatch when it names
 * another drive than `driveJsonId`.
 */
async function importBlobs(run: DriveRun, manifestPath: string, driveJsonId: string | undefined): Promise<void> {
  const { fs, pool, store, root, opts } = run;
  const header: ManifestHeader = {
    version: undefined,
    driveId: undefined,
    hasAccountKey: false,
    containerSas: undefined,
  };
  const seen = new Set<string>();
  const containers = new Set<string>();
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
      if (header.driveId && driveJsonId !== undefined && header.driveId !== driveJsonId)
        return Promise.reject(new DriveIdMismatch(header.driveId, driveJsonId));
      if (header.driveId) run.driveId = header.driveId;
      return importBlob({ fs, pool, store, root, opts, driveId: run.driveId, seen, containers }, b);
    },
  );
  for await (const { item: b, result: log } of window) {
    opts.onBlobDone?.(b.ranges.reduce((a, r) => a + r.length, 0) - log.bytes);
    run.tally.add(b, log);
  }
}

/** What importing one blob needs besides the blob itself. */
interface BlobImport {
  readonly fs: FileSystem;
  readonly pool: ChunkProcessor;
  readonly store: BlobStore;
  readonly root: string;
  readonly opts: ImportOptions;
  readonly driveId: string;
  /** Blob paths met so far in the manifest: one met again is refused. */
  readonly seen: Set<string>;
  /** Containers made (or found) so far by this import. */
  readonly containers: Set<string>;
}

/** A blob whose entry passed the checks: where it goes and what it carries. */
interface BlobTarget {
  readonly b: ParsedBlob;
  /** The fields of its log entry that do not depend on the outcome. */
  readonly base: Pick<LogBlob, 'blobPath' | 'filePath' | 'length' | 'kind'>;
  /** Its data file on the drive, and that file's length. */
  readonly path: string;
  readonly size: number;
  /** The blob metadata its `MetadataPath` gives. */
  readonly md: Record<string, string>;
  readonly container: string;
  /** Its name in the container, as the manifest says (before a rename). */
  readonly name: string;
  readonly seg: SegmentInfo;
  /** Fingerprint of the manifest entry, kept on the committed blob (SOURCE_KEY). */
  readonly fp: string;
  readonly disposition: ImportDisposition;
}

/** Where a blob is written: its name (renamed, when ImportDisposition says so) and what became of one there. */
interface Placement {
  readonly name: string;
  readonly status: 'Created' | 'Renamed' | 'Overwritten';
}

/** A blob's outcome that uploaded nothing. */
function nothingUploaded(entry: LogBlob): BlobOutcome {
  return { entry, blocks: 0, bytes: 0, uploaded: false };
}

async function importBlob(ctx: BlobImport, b: ParsedBlob): Promise<BlobOutcome> {
  const t = await blobTarget(ctx, b);
  if ('entry' in t) return t;
  if (!ctx.containers.has(t.container)) {
    await ctx.store.ensureContainer(t.container);
    ctx.containers.add(t.container);
  }
  const place = await placeBlob(ctx, t);
  if ('entry' in place) return place;
  // Encrypted drives: a block's tweak offset is its chunk's raw offset (from the journal); a page
  // range's is its own offset (raw and blob offsets agree without compression).
  const jb = ctx.opts.decrypt?.blobs.get(`${b.blobPath}\0${t.seg.part}`);
  if (ctx.opts.decrypt && !jb) {
    const reason = 'the session journal does not know this blob, so it cannot be decrypted';
    return nothingUploaded({ ...t.base, status: 'Failed', reason, ranges: [] });
  }
  if (b.kind === 'page' && !(await ctx.store.getBlob(t.container, place.name)))
    await ctx.store.createPageBlob(t.container, place.name, b.length, { ...t.md, [`${SOURCE_KEY}part`]: '1' });
  const up = await uploadRanges(ctx, t, place.name, jb);
  if (up.failed) {
    const first = up.ranges.find((x) => x.status !== 'Uncommitted' && x.status !== 'Completed')!;
    const what = first.status === 'Corrupted' ? 'does not match its MD5' : 'could not be read whole';
    const entry: LogBlob = {
      ...t.base,
      status: 'CompletedWithErrors',
      reason: `block at offset ${first.offset} ${what}; the blob was not committed`,
      disposition: { value: t.disposition, status: 'Cancelled' },
      ranges: up.ranges,
    };
    return { entry, blocks: up.blocks, bytes: up.bytes, uploaded: false };
  }
  return commitBlob(ctx, t, place, up);
}

/** Check a manifest entry, its data file and its metadata file; what the blob becomes, or why it cannot be imported. */
async function blobTarget(ctx: BlobImport, b: ParsedBlob): Promise<BlobTarget | BlobOutcome> {
  const base = { blobPath: b.blobPath, filePath: b.filePath, length: b.length, kind: b.kind };
  const bad = checkEntry(b, ctx.seen);
  if (bad) return nothingUploaded({ ...base, status: bad.status, reason: bad.reason, ranges: [] });
  const path = driveFilePath(ctx.root, b.filePath)!;
  const st = await ctx.fs.stat(path).catch(() => undefined);
  if (st?.kind !== 'file')
    return nothingUploaded({
      ...base,
      status: 'FileNotFound',
      reason: `${b.filePath} is not on the drive`,
      ranges: [],
    });
  const md = await readMetadataFile(ctx.fs, ctx.root, b);
  if (typeof md === 'string') return nothingUploaded({ ...base, status: 'Failed', reason: md, ranges: [] });
  const container = b.blobPath.slice(0, b.blobPath.indexOf('/'));
  const seg = parseClientData(b.clientData) ?? {
    part: 1,
    final: true,
    codec: 'none' as const,
    blobOffset: 0,
    rawSize: b.length,
  };
  return {
    b,
    base,
    path,
    size: st.size,
    md,
    container,
    name: b.blobPath.slice(container.length + 1),
    seg,
    fp: fingerprint(ctx.driveId, b),
    disposition: b.disposition ?? 'rename',
  };
}

/**
 * Decide where the blob goes from what the container holds: done already (this entry, or a later
 * part that committed the whole blob), kept (no-overwrite), renamed, or overwritten.
 */
async function placeBlob(ctx: BlobImport, t: BlobTarget): Promise<Placement | BlobOutcome> {
  const { store } = ctx;
  const value = t.disposition;
  const existing = await store.getBlob(t.container, t.name);
  if (existing?.metadata[SOURCE_KEY] === t.fp) {
    // Committed by an earlier run of this very manifest entry: done.
    const disposition = { value, status: 'Created' as const };
    return nothingUploaded({ ...t.base, status: 'Completed', reason: 'already imported', disposition, ranges: [] });
  }
  const committedPart = Number(existing?.metadata[`${SOURCE_KEY}part`] ?? 0);
  if (existing && committedPart > t.seg.part) {
    // A later part already committed the whole blob, so this part's blocks are in it.
    const disposition = { value, status: 'Created' as const };
    const reason = 'already imported with its last part';
    return nothingUploaded({ ...t.base, status: 'Completed', reason, disposition, ranges: [] });
  }
  if (!existing || t.seg.part !== 1 || committedPart) return { name: t.name, status: 'Created' };
  if (value === 'no-overwrite') {
    const disposition = { value, status: 'Skipped' as const };
    const reason = 'blob exists; no-overwrite';
    return nothingUploaded({ ...t.base, status: 'Completed', disposition, reason, ranges: [] });
  }
  if (value !== 'rename') return { name: t.name, status: 'Overwritten' };
  let n = 2;
  for (;;) {
    const other = await store.getBlob(t.container, renamedBlobName(t.name, n));
    if (!other || other.metadata[SOURCE_KEY] === t.fp) break;
    n++;
  }
  return { name: renamedBlobName(t.name, n), status: 'Renamed' };
}

/** The ranges' log entries and what was uploaded; `failed` when a range failed a check (nothing to commit). */
interface RangesUploaded {
  readonly ranges: LogRange[];
  readonly blocks: number;
  readonly bytes: number;
  readonly failed: boolean;
}

/**
 * Read each block or page range of the blob from the drive, check its MD5 (after decryption with
 * `jb`) and stage or upload it as `name`, a bounded window at a time.
 */
async function uploadRanges(
  ctx: BlobImport,
  t: BlobTarget,
  name: string,
  jb: DriveBlob | undefined,
): Promise<RangesUploaded> {
  const { pool, store, opts } = ctx;
  const { b, container } = t;
  const rangeIndex = new Map(b.ranges.map((r, i) => [r, i]));
  const cipherFor = (r: ManifestRange) => {
    if (!opts.decrypt || !jb) return { cipher: undefined, tweakSeed: undefined, unitOffset: 0 };
    const unitOffset = b.kind === 'page' ? r.offset : (jb.chunks[rangeIndex.get(r)!]?.rawOffset ?? -1);
    return { cipher: { key: opts.decrypt.key }, tweakSeed: opts.decrypt.tweakSeed(jb.path), unitOffset };
  };
  const window = mapBounded(
    b.ranges,
    {
      maxItems: pool.threads * 3,
      maxWeight: pool.threads * 3 * MAX_BLOCK_BYTES,
      weight: (r) => r.length,
      signal: opts.signal,
    },
    async (r) => {
      if (r.offset + r.length > t.size) return { r, status: 'FileUnexpectedEnd' as const };
      const d = await pool.decode(
        {
          kind: 'decode',
          path: t.path,
          offset: r.offset,
          length: r.length,
          units: [{ at: 0, length: r.length, md5: r.md5 }],
          ...cipherFor(r),
          raw: { codec: 'none', xxh64: undefined, rawLength: r.length },
          returnRaw: true,
        },
        opts.signal,
      );
      if (!d.ok) return { r, status: failedRangeStatus(d) };
      const md5 = Buffer.from(r.md5, 'hex');
      const data = d.raw ?? new Uint8Array(0);
      if (b.kind === 'block') await store.stageBlock(container, name, r.id!, data, md5);
      else await store.uploadPages(container, name, data, r.offset, md5);
      return { r, status: 'Completed' as const };
    },
  );
  const ranges: LogRange[] = [];
  let blocks = 0;
  let bytes = 0;
  let failed = false;
  for await (const { result } of window) {
    const { r, status } = result;
    ranges.push({
      offset: r.offset,
      length: r.length,
      id: r.id,
      hash: r.md5,
      status: status === 'Completed' && b.kind === 'block' ? 'Uncommitted' : status,
    });
    if (status !== 'Completed') failed = true;
    else {
      blocks++;
      bytes += r.length;
      opts.onBytes?.(r.length);
    }
  }
  return { ranges, blocks, bytes, failed };
}

/** The DriveLog status of a range that failed to decode. */
function failedRangeStatus(d: Extract<DecodeResult, { ok: false }>): 'Corrupted' | 'FileUnexpectedEnd' | 'IOFailed' {
  if (d.reason === 'md5') return 'Corrupted';
  return d.reason === 'short' ? 'FileUnexpectedEnd' : 'IOFailed';
}

/**
 * The blob's ranges are uploaded: with its last part, commit the block list (every part's blocks)
 * or set the page blob's metadata, marking the blob with the entry's fingerprint.
 */
async function commitBlob(ctx: BlobImport, t: BlobTarget, place: Placement, up: RangesUploaded): Promise<BlobOutcome> {
  const { store } = ctx;
  const { b, seg, container } = t;
  const { name } = place;
  const { blocks, bytes } = up;
  let ranges = up.ranges;
  const marks = { ...t.md, [SOURCE_KEY]: t.fp, [`${SOURCE_KEY}part`]: String(seg.part) };
  if (b.kind === 'block' && seg.final) {
    // The parts of a blob split over drives carry block ids 0..n-1 of the whole blob.
    const lastIndex = b.ranges.length ? Buffer.from(b.ranges[b.ranges.length - 1]!.id!, 'base64').readUInt32LE(0) : -1;
    const all = Array.from({ length: lastIndex + 1 }, (_, i) => blockId(i));
    const missing = seg.part > 1 ? await missingEarlierBlocks(ctx, t, name, all) : 0;
    if (missing) {
      const reason =
        `part ${seg.part} staged, but ${missing} block(s) of the earlier parts are not: ` +
        'import their drives, then this one again';
      return { entry: { ...t.base, status: 'CompletedWithErrors', reason, ranges }, blocks, bytes, uploaded: true };
    }
    await store.commitBlocks(container, name, b.ranges.length || seg.part > 1 ? all : [], marks);
    ranges = ranges.map((r): LogRange => ({ ...r, status: 'Committed' }));
  } else if (b.kind === 'page' && seg.final) {
    await store.setMetadata(container, name, marks);
  }
  const entry: LogBlob = {
    ...t.base,
    status: 'Completed',
    disposition: { value: t.disposition, status: place.status },
    ranges,
    ...(name !== t.name ? { reason: `imported as ${container}/${name}` } : {}),
  };
  return { entry, blocks, bytes, uploaded: true };
}

/** How many of the blob's blocks `all` are neither staged by earlier parts nor in this part. */
async function missingEarlierBlocks(ctx: BlobImport, t: BlobTarget, name: string, all: string[]): Promise<number> {
  const staged = await ctx.store.uncommittedBlocks(t.container, name);
  const ownIds = new Set(t.b.ranges.map((r) => r.id!));
  return all.filter((id) => !staged.has(id) && !ownIds.has(id)).length;
}
