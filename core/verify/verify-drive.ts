/**
 * Reading one drive back: every block checked against its manifest (and with the session, every
 * chunk against the journal), the manifest's entries by the service's rules, and the drive's
 * identity; problems collected for the user, not thrown.
 */
import { createHash, type Hash } from 'node:crypto';
import type { ChunkProcessor, DecodeResult, DecodeTask, FileSystem } from '../../native/interfaces.js';
import { errnoCode, SeedshipError } from '../errors/errors.js';
import { readDriveJson, type DriveJson } from '../drives/drive-identity.js';
import { driveBlobs, type BlobNaming, type DriveBlob } from '../journal/drive-blobs.js';
import { MANIFEST_NAME } from '../manifest/drive-manifest.js';
import { driveFilePath, manifestEntryProblem } from '../manifest/entry-rules.js';
import {
  ManifestFormatError,
  parseDriveManifest,
  type ManifestHeader,
  type ParsedBlob,
} from '../manifest/manifest-parser.js';
import { mapBounded } from '../util/bounded-map.js';
import { chunkDecodeTask } from '../chunks/chunk-task.js';
import { driveAbsence, type DriveAbsence } from './drive-at-hand.js';
import { dropCachedPages, readFileFromMedia } from './media-read.js';

/** One block that does not match, named so the user can find it. */
export interface VerifyProblem {
  readonly driveId: string;
  readonly blobPath: string;
  /** 0-based index of the block or page range in the blob's list; -1 for blob-level problems. */
  readonly block: number;
  readonly offset: number;
  readonly reason: string;
  readonly message: string;
}

export interface DriveVerifyResult {
  readonly root: string;
  readonly driveId: string;
  readonly blobs: number;
  readonly blocks: number;
  readonly bytes: number;
  /** Whether chunks were also decrypted, decompressed and checked against the journal's XXH64. */
  readonly deep: boolean;
  readonly problems: readonly VerifyProblem[];
  /**
   * Set only when `expectDriveId` was given and that drive is not at `root` (another drive,
   * another job's drive, or none): nothing was read back, so `problems` is empty, and this is not
   * a read-back that passed. Check it before `problems`. Undefined whenever the drive was read.
   */
  readonly absent: DriveAbsence | undefined;
}

/** What a session gives verify: the journal's view of this drive and its key. */
export interface VerifySessionView {
  readonly journalPath: string;
  readonly naming: BlobNaming;
  readonly seq: number;
  readonly key: Uint8Array | undefined;
  readonly tweakSeed: (path: string) => Uint8Array;
  /**
   * MD5 of the manifest as the journal recorded it when the drive was sealed (DriveSealed). The
   * service refuses a drive whose manifest does not match the job's hash; without this, the hash
   * in the drive's own drive.json is checked.
   */
  readonly manifestHash?: string | undefined;
}

export interface VerifyDriveOptions {
  readonly session: VerifySessionView | undefined;
  readonly signal: AbortSignal;
  readonly onBytes?: (n: number) => void;
  /** The DriveId the caller believes is at `root`: see `DriveVerifyResult.absent`. */
  readonly expectDriveId?: string | undefined;
  /** With `expectDriveId`: that drive's job id; a drive.json of another job means the drive is absent. */
  readonly expectJobId?: string | undefined;
  /**
   * Chunks read at once (default 3 per pool thread). Several drives read back through one pool
   * each take a few, so the pool's queue always holds work for every drive: one drive's reads
   * queued ahead of the others' would leave those drives idle.
   */
  readonly inFlight?: number | undefined;
}

const MAX_PROBLEMS = 1000;
/** Metadata files read at once during a read-back (small reads through libuv's thread pool). */
const METADATA_CHECKS_IN_FLIGHT = 16;

/** Re-exported for callers that imported it from here; it lives with the manifest rules. */
export { driveFilePath };

type Problem = (p: Omit<VerifyProblem, 'driveId'>) => void;

/**
 * Read every block of a drive back and check it against its manifest (MD5 of the stored bytes),
 * after checking each blob's entry by the rules the Import/Export service applies
 * (`manifestEntryProblem`; a blob that breaks one is reported and not read) and the manifest's MD5
 * against the one recorded at sealing (the session's journal, else drive.json). With a session
 * view, also check that the manifest lists exactly what the journal recorded, and decrypt,
 * decompress and check each chunk's XXH64. Each file's cached pages are dropped before it is read
 * (`dropCachedPages`), so the bytes checked come from the drive, not from memory. Work runs in the
 * pool, a bounded window at a time; problems are collected (up to 1000), not thrown.
 *
 * With `expectDriveId`, the drive's identity is settled before any block is read: only
 * `seedship/drive.json` and the manifest up to its first blob are read, and a drive that is not
 * the expected one (`driveAbsence`) gives `{ absent: { found, reason }, problems: [] }`. A caller
 * tells the outcomes apart as: `absent` set → that drive is not at hand (nothing was checked);
 * `problems` non-empty → do not ship it; else → read back whole. Throws SeedshipError E_INTEGRITY
 * for a drive that is there but has no valid manifest, E_USAGE for an encrypted drive without
 * its key.
 */
export async function verifyDrive(
  fs: FileSystem,
  pool: ChunkProcessor,
  root: string,
  opts: VerifyDriveOptions,
): Promise<DriveVerifyResult> {
  const expect =
    opts.expectDriveId === undefined ? undefined : { driveId: opts.expectDriveId, jobId: opts.expectJobId };
  const dj = await readIdentity(fs, root, expect !== undefined);
  const manifest = await openManifest(fs, root);
  const { header, blobs } = manifest;
  const absent = expect && driveAbsence(root, dj, header.driveId, expect);
  const json = dj === 'damaged' ? undefined : dj;
  if (absent || !blobs || (json?.encrypted && !opts.session?.key)) {
    await manifest.parsed?.return(undefined);
    if (absent)
      return { root, driveId: absent.found ?? '?', blobs: 0, blocks: 0, bytes: 0, deep: false, problems: [], absent };
    if (!blobs)
      throw new SeedshipError(
        'E_INTEGRITY',
        `drive ${root} has no ${MANIFEST_NAME}; it was never sealed — run prepare again with this drive to finish it`,
        { path: root },
      );
    throw new SeedshipError(
      'E_USAGE',
      `drive ${root} is encrypted by seedship; pass --session DIR so verify can use its key`,
      { path: root },
    );
  }
  const found = new Problems(json?.driveId ?? header.driveId ?? '?');
  const problem: Problem = (p) => found.add(p);
  identityProblems(dj, header.driveId, problem);
  const counts = { blobs: 0, blocks: 0, bytes: 0 };
  const session = opts.session;
  const pairs = pairBlobs(
    blobs,
    session ? driveBlobs(fs, session.journalPath, session.seq, session.naming) : undefined,
    problem,
  );
  const onBlob = () => {
    counts.blobs++;
    // A manifest without <DriveId> before its first blob names it later, if at all.
    if (!json && header.driveId) found.driveId = header.driveId;
  };
  try {
    await readBack({ fs, pool, root, opts, problem, onBlob }, pairs, counts);
  } catch (err) {
    if (err instanceof ManifestFormatError) {
      throw new SeedshipError(
        'E_INTEGRITY',
        `drive ${root}: ${MANIFEST_NAME} is not a valid manifest: ${err.message}`,
        { path: `${root}/${MANIFEST_NAME}`, cause: err },
      );
    }
    throw err;
  }
  checkManifestHash(manifest.md5.digest('hex').toUpperCase(), session?.manifestHash, json?.manifestHash, problem);
  if (header.hasAccountKey)
    problem(
      driveProblem(
        'secret',
        'manifest holds a storage account key; seedship never writes one — this drive was altered',
      ),
    );
  const { driveId, problems } = found;
  return { root, driveId, ...counts, deep: session !== undefined, problems, absent: undefined };
}

/** The problems found on a drive, up to MAX_PROBLEMS, each with the drive's id as known when it was found. */
class Problems {
  readonly problems: VerifyProblem[] = [];

  constructor(public driveId: string) {}

  add(p: Omit<VerifyProblem, 'driveId'>): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push({ driveId: this.driveId, ...p });
  }
}

/** A problem of the drive as a whole (no blob, no block). */
function driveProblem(reason: string, message: string): Omit<VerifyProblem, 'driveId'> {
  return { blobPath: '', block: -1, offset: 0, reason, message };
}

/** A problem of one blob as a whole (no block). */
function blobProblem(blobPath: string, reason: string, message: string): Omit<VerifyProblem, 'driveId'> {
  return { blobPath, block: -1, offset: 0, reason, message };
}

/** A drive's manifest being parsed (from the media), its header filled and its MD5 summed as it goes. */
interface OpenManifest {
  readonly header: ManifestHeader;
  readonly md5: Hash;
  /** The parser; undefined when the drive has no manifest. */
  readonly parsed: AsyncGenerator<ParsedBlob> | undefined;
  /** Its blobs from the first, the header before them parsed already; undefined without a manifest. */
  readonly blobs: AsyncGenerator<ParsedBlob> | undefined;
}

/** Open the drive's manifest and parse it up to its first blob: the manifest names its drive before that. */
async function openManifest(fs: FileSystem, root: string): Promise<OpenManifest> {
  const manifestPath = `${root}/${MANIFEST_NAME}`;
  const header: ManifestHeader = {
    version: undefined,
    driveId: undefined,
    hasAccountKey: false,
    containerSas: undefined,
  };
  const md5 = createHash('md5');
  const parsed = (await fs.exists(manifestPath))
    ? parseDriveManifest(fs, manifestPath, header, { fromMedia: true, onBytes: (b) => md5.update(b) })
    : undefined;
  const blobs = parsed && (await resumeAfterFirst(parsed));
  return { header, md5, parsed, blobs };
}

/** drive.json is damaged, or names another drive than the manifest. */
function identityProblems(
  dj: DriveJson | 'damaged' | undefined,
  manifestDriveId: string | undefined,
  problem: Problem,
): void {
  if (dj === 'damaged')
    problem(
      driveProblem('drive-id', `seedship/drive.json is damaged; the manifest names drive ${manifestDriveId ?? '?'}`),
    );
  else if (dj && manifestDriveId !== undefined && manifestDriveId !== dj.driveId)
    problem(driveProblem('drive-id', `manifest names drive ${manifestDriveId}, but the drive is ${dj.driveId}`));
}

/**
 * The manifest read is the one sealed: the service refuses a drive whose manifest hash differs
 * from the job's (ManifestCorrupted).
 */
function checkManifestHash(
  md5: string,
  journal: string | undefined,
  driveJson: string | undefined,
  problem: Problem,
): void {
  const want = journal ?? driveJson;
  if (want === undefined || md5 === want) return;
  const source = journal !== undefined ? "the session's journal" : 'seedship/drive.json';
  problem(
    driveProblem(
      'manifest-hash',
      `${MANIFEST_NAME} has MD5 ${md5}, but ${source} recorded ${want} when it was sealed: ` +
        'it was changed since, and the service refuses it',
    ),
  );
}

/**
 * The drive's drive.json. While identity is being checked, one that does not parse is `'damaged'`
 * (the manifest may still name the drive) and a root that is gone holds none; otherwise the
 * E_INTEGRITY error is thrown as it is.
 */
async function readIdentity(
  fs: FileSystem,
  root: string,
  checking: boolean,
): Promise<DriveJson | 'damaged' | undefined> {
  try {
    return await readDriveJson(fs, root);
  } catch (err) {
    if (!checking) throw err;
    if (err instanceof SeedshipError) return 'damaged';
    if (errnoCode(err) === 'ENOTDIR' || errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Pull the first blob of `it` now (so the manifest's header before it is parsed) and yield the
 * blobs from there. A format error met on the way is thrown when the blobs are read, where the
 * caller reports it. Closing the result closes `it`.
 */
async function resumeAfterFirst(it: AsyncGenerator<ParsedBlob>): Promise<AsyncGenerator<ParsedBlob>> {
  const first = await it.next().then(
    (r) => ({ r }),
    (err: unknown) => ({ err }),
  );
  return (async function* () {
    try {
      if ('err' in first) throw first.err;
      for (let r = first.r; !r.done; r = await it.next()) yield r.value;
    } finally {
      await it.return(undefined);
    }
  })();
}

/** What reading a drive back needs besides the blobs. */
interface ReadBack {
  readonly fs: FileSystem;
  readonly pool: ChunkProcessor;
  readonly root: string;
  readonly opts: VerifyDriveOptions;
  readonly problem: Problem;
  /** Called as each blob's blocks start being read. */
  readonly onBlob: () => void;
}

/** Read every block of every pair back through the pool, counting into `counts`. */
async function readBack(
  rb: ReadBack,
  pairs: AsyncIterable<Pair>,
  counts: { blocks: number; bytes: number },
): Promise<void> {
  const { pool, opts, problem } = rb;
  const tasks = decodeTasks({ ...rb, session: opts.session }, pairs);
  const n = opts.inFlight ?? pool.threads * 3;
  const limits = {
    maxItems: n,
    maxWeight: n * 4 * 1024 * 1024,
    weight: (t: Tagged) => t.task.length,
    signal: opts.signal,
  };
  const window = mapBounded(tasks, limits, async (t) => {
    await t.dropped;
    return pool.decode(t.task, opts.signal);
  });
  for await (const { item, result } of window) {
    counts.blocks += item.task.units.length;
    counts.bytes += item.task.length;
    opts.onBytes?.(item.task.length);
    if (!result.ok) reportDecode(item, result, problem);
  }
}

interface Pair {
  readonly m: ParsedBlob;
  readonly j: DriveBlob | undefined;
}

/** Walk the manifest and (with a session) the journal's blobs for the drive side by side. */
async function* pairBlobs(
  manifest: AsyncIterable<ParsedBlob>,
  journal: AsyncIterable<DriveBlob> | undefined,
  problem: Problem,
): AsyncGenerator<Pair> {
  const jit = journal?.[Symbol.asyncIterator]();
  for await (const m of manifest) {
    const j = jit ? await jit.next() : undefined;
    if (j && (j.done || j.value.manifest.blobPath !== m.blobPath)) {
      const recorded = j.done ? 'nothing' : j.value.manifest.blobPath;
      const message = `manifest blob ${m.index + 1} (${m.blobPath}) is not what the journal recorded (${recorded})`;
      problem(blobProblem(m.blobPath, 'manifest-journal', message));
      yield { m, j: undefined };
      continue;
    }
    yield { m, j: j?.value };
  }
  if (jit) {
    const extra = await jit.next();
    if (!extra.done) {
      const path = extra.value.manifest.blobPath;
      problem(
        blobProblem(
          path,
          'manifest-journal',
          `journal records ${path} on this drive, but the manifest does not list it`,
        ),
      );
    }
  }
}

interface Tagged {
  readonly blobPath: string;
  readonly block: number;
  readonly task: DecodeTask;
  /** Settles once the file's cached pages are dropped: the task reads only after it. */
  readonly dropped: Promise<void>;
}

/**
 * The blob's metadata file is on the drive with the MD5 its `MetadataPath` names (the service
 * refuses it otherwise), and with a session, it is the file the journal describes.
 */
async function checkMetadataFile(fs: FileSystem, root: string, { m, j }: Pair, problem: Problem): Promise<void> {
  const want = j?.manifest.metadata;
  const report = (message: string) => problem(blobProblem(m.blobPath, 'metadata', message));
  if (!m.metadata) {
    if (want) report(`the manifest names no metadata file for ${m.blobPath}, but the journal recorded one`);
    return;
  }
  const path = driveFilePath(root, m.metadata.path);
  const data = path ? await readFileFromMedia(fs, path).catch(() => undefined) : undefined;
  const md5 = data ? createHash('md5').update(data).digest('hex').toUpperCase() : undefined;
  if (md5 === undefined) report(`metadata file ${m.metadata.path} is missing or unreadable`);
  else if (md5 !== m.metadata.md5)
    report(`metadata file ${m.metadata.path} has MD5 ${md5}, the manifest says ${m.metadata.md5}`);
  else if (want && (want.md5 !== md5 || want.path !== m.metadata.path))
    report(`metadata file ${m.metadata.path} is not the one the journal describes`);
}

/** Where the decode tasks of a drive come from, and where their blob-level problems go. */
interface TaskSource {
  readonly fs: FileSystem;
  readonly root: string;
  readonly session: VerifySessionView | undefined;
  readonly problem: Problem;
  /** Called as each blob's tasks start. */
  readonly onBlob: () => void;
}

/** The decode tasks of every pair's blocks (see decodeTasksOf); every metadata check has settled when it ends. */
async function* decodeTasks(src: TaskSource, pairs: AsyncIterable<Pair>): AsyncGenerator<Tagged> {
  const metaChecks = new Set<Promise<void>>();
  try {
    yield* decodeTasksOf(src, pairs, metaChecks);
  } finally {
    // Every metadata check has reported before verify returns its problems.
    await Promise.all(metaChecks);
  }
}

/**
 * For each pair: its entry checked by the service's rules, its metadata file checked beside the
 * decode work (in `metaChecks`), then a task per chunk (deep, by the journal) or per manifest range.
 */
async function* decodeTasksOf(
  src: TaskSource,
  pairs: AsyncIterable<Pair>,
  metaChecks: Set<Promise<void>>,
): AsyncGenerator<Tagged> {
  const { fs, root, session: s, problem } = src;
  const seen = new Set<string>();
  for await (const pair of pairs) {
    const { m, j } = pair;
    src.onBlob();
    // What the service would refuse is reported, and its blocks are not read: their offsets and
    // lengths are not to be trusted (a block Length of 2^50 is no buffer to allocate).
    const bad = manifestEntryProblem(m, seen);
    if (bad) problem(blobProblem(m.blobPath, 'manifest-entry', bad.reason));
    const path = driveFilePath(root, m.filePath);
    if (!path) continue;
    // Metadata files are read beside the decode work, a few at a time (each is one small read).
    const check = checkMetadataFile(fs, root, pair, problem).finally(() => metaChecks.delete(check));
    metaChecks.add(check);
    if (metaChecks.size >= METADATA_CHECKS_IN_FLIGHT) await Promise.race(metaChecks);
    if (bad) continue;
    const dropped = dropCachedPages(fs, path);
    if (j && s && sameRanges(m, j)) {
      yield* deepTasks({ m, j }, path, s, dropped);
      continue;
    }
    if (j)
      problem(
        blobProblem(
          m.blobPath,
          'manifest-journal',
          `block list of ${m.blobPath} differs from what the journal recorded`,
        ),
      );
    yield* rangeTasks(m, path, dropped);
  }
}

/** A task per manifest range: its stored bytes checked by MD5. */
function* rangeTasks(m: ParsedBlob, path: string, dropped: Promise<void>): Generator<Tagged> {
  for (let i = 0; i < m.ranges.length; i++) {
    const r = m.ranges[i]!;
    yield {
      blobPath: m.blobPath,
      block: i,
      dropped,
      task: {
        kind: 'decode',
        path,
        offset: r.offset,
        length: r.length,
        units: [{ at: 0, length: r.length, md5: r.md5 }],
        cipher: undefined,
        tweakSeed: undefined,
        unitOffset: 0,
        raw: undefined,
        returnRaw: false,
      },
    };
  }
}

function sameRanges(m: ParsedBlob, j: DriveBlob): boolean {
  const a = m.ranges;
  const b = j.manifest.ranges;
  return (
    a.length === b.length &&
    a.every(
      (r, i) => r.offset === b[i]!.offset && r.length === b[i]!.length && r.md5 === b[i]!.md5 && r.id === b[i]!.id,
    ) &&
    m.length === j.manifest.length
  );
}

/** A task per journaled chunk: decrypted, decompressed and checked by XXH64 besides its units' MD5s. */
function* deepTasks(
  { m, j }: { m: ParsedBlob; j: DriveBlob },
  path: string,
  s: VerifySessionView,
  dropped: Promise<void>,
): Generator<Tagged> {
  const p = {
    path,
    pages: j.manifest.kind === 'page',
    codec: j.manifest.segment.codec,
    key: s.key,
    tweakSeed: s.tweakSeed(j.path),
    returnRaw: false,
  };
  let block = 0;
  for (const c of j.chunks) {
    yield { blobPath: m.blobPath, block, dropped, task: chunkDecodeTask(c, p) };
    block += c.extents.length;
  }
}

function reportDecode(t: Tagged, r: Extract<DecodeResult, { ok: false }>, problem: Problem): void {
  problem({
    blobPath: t.blobPath,
    block: t.block + (r.unit ?? 0),
    offset: t.task.offset + (t.task.units[r.unit ?? 0]?.at ?? 0),
    reason: r.reason,
    message: r.message,
  });
}
