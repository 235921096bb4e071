import { createHash } from 'node:crypto';
import type { ChunkProcessor, DecodeResult, DecodeTask, FileSystem } from '../../native/interfaces.js';
import { SeedshipError } from '../errors.js';
import { readDriveJson, type DriveJson } from '../drives/drive-identity.js';
import { driveBlobs, type BlobNaming, type DriveBlob } from '../manifest/drive-blobs.js';
import { MANIFEST_NAME } from '../manifest/drive-manifest.js';
import { ManifestFormatError, parseDriveManifest, type ManifestHeader, type ParsedBlob } from '../manifest/manifest-parser.js';
import { mapBounded } from '../util/bounded-map.js';
import { chunkDecodeTask } from '../restore/chunk-task.js';

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
}

/** What a session gives verify: the journal's view of this drive and its key. */
export interface VerifySessionView {
  readonly journalPath: string;
  readonly naming: BlobNaming;
  readonly seq: number;
  readonly key: Uint8Array | undefined;
  readonly tweakSeed: (path: string) => Uint8Array;
}

const MAX_PROBLEMS = 1000;
/** Metadata files read at once during a read-back (small reads through libuv's thread pool). */
const METADATA_CHECKS_IN_FLIGHT = 16;

/** Absolute path of a manifest FilePath (`\container\dir\file`) on a drive, refusing escapes. */
export function driveFilePath(root: string, filePath: string): string | undefined {
  const parts = filePath.split(/[\\/]/).filter((p) => p !== '');
  if (parts.length === 0 || parts.some((p) => p === '.' || p === '..' || p.includes('\0'))) return undefined;
  return `${root}/${parts.join('/')}`;
}

/**
 * Read every block of a drive back and check it against its manifest (MD5 of the stored bytes).
 * With a session view, also check that the manifest lists exactly what the journal recorded, and
 * decrypt, decompress and check each chunk's XXH64. Work runs in the pool, a bounded window at a
 * time; problems are collected (up to 1000), not thrown.
 */
export async function verifyDrive(
  fs: FileSystem,
  pool: ChunkProcessor,
  root: string,
  opts: { session: VerifySessionView | undefined; signal: AbortSignal; onBytes?: (n: number) => void },
): Promise<DriveVerifyResult> {
  const dj: DriveJson | undefined = await readDriveJson(fs, root);
  const manifestPath = `${root}/${MANIFEST_NAME}`;
  if (!(await fs.exists(manifestPath))) {
    throw new SeedshipError('E_INTEGRITY', `drive ${root} has no ${MANIFEST_NAME}; it was never sealed — run prepare again with this drive to finish it`, { path: root });
  }
  if (dj?.encrypted && !opts.session?.key) {
    throw new SeedshipError('E_USAGE', `drive ${root} is encrypted by seedship; pass --session DIR so verify can use its key`, { path: root });
  }
  const header: ManifestHeader = { version: undefined, driveId: undefined, hasAccountKey: false, containerSas: undefined };
  const problems: VerifyProblem[] = [];
  let driveId = dj?.driveId ?? '?';
  const problem = (p: Omit<VerifyProblem, 'driveId'>) => {
    if (problems.length < MAX_PROBLEMS) problems.push({ driveId, ...p });
  };
  let blobs = 0;
  let blocks = 0;
  let bytes = 0;
  const jobs = pairBlobs(parseDriveManifest(fs, manifestPath, header), opts.session ? driveBlobs(fs, opts.session.journalPath, opts.session.seq, opts.session.naming) : undefined, problem);
  try {
    const tasks = decodeTasks(fs, jobs, root, opts.session, problem, () => {
      blobs++;
      if (header.driveId) driveId = header.driveId;
    });
    const window = mapBounded(tasks, { maxItems: pool.threads * 3, maxWeight: pool.threads * 3 * 4 * 1024 * 1024, weight: (t) => t.task.length, signal: opts.signal }, (t) => pool.decode(t.task, opts.signal));
    for await (const { item, result } of window) {
      blocks += item.task.units.length;
      bytes += item.task.length;
      opts.onBytes?.(item.task.length);
      if (!result.ok) reportDecode(item, result, problem);
    }
  } catch (err) {
    if (err instanceof ManifestFormatError) {
      throw new SeedshipError('E_INTEGRITY', `drive ${root}: ${MANIFEST_NAME} is not a valid manifest: ${err.message}`, { path: manifestPath, cause: err });
    }
    throw err;
  }
  if (dj && header.driveId !== undefined && header.driveId !== dj.driveId) {
    problem({ blobPath: '', block: -1, offset: 0, reason: 'drive-id', message: `manifest names drive ${header.driveId}, but the drive is ${dj.driveId}` });
  }
  if (header.hasAccountKey) problem({ blobPath: '', block: -1, offset: 0, reason: 'secret', message: 'manifest holds a storage account key; seedship never writes one — this drive was altered' });
  return { root, driveId, blobs, blocks, bytes, deep: opts.session !== undefined, problems };
}

interface Pair {
  readonly m: ParsedBlob;
  readonly j: DriveBlob | undefined;
}

/** Walk the manifest and (with a session) the journal's blobs for the drive side by side. */
async function* pairBlobs(manifest: AsyncIterable<ParsedBlob>, journal: AsyncIterable<DriveBlob> | undefined, problem: (p: Omit<VerifyProblem, 'driveId'>) => void): AsyncGenerator<Pair> {
  const jit = journal?.[Symbol.asyncIterator]();
  for await (const m of manifest) {
    const j = jit ? await jit.next() : undefined;
    if (j && (j.done || j.value.manifest.blobPath !== m.blobPath)) {
      problem({ blobPath: m.blobPath, block: -1, offset: 0, reason: 'manifest-journal', message: `manifest blob ${m.index + 1} (${m.blobPath}) is not what the journal recorded (${j.done ? 'nothing' : j.value.manifest.blobPath})` });
      yield { m, j: undefined };
      continue;
    }
    yield { m, j: j?.value };
  }
  if (jit) {
    const extra = await jit.next();
    if (!extra.done) problem({ blobPath: extra.value.manifest.blobPath, block: -1, offset: 0, reason: 'manifest-journal', message: `journal records ${extra.value.manifest.blobPath} on this drive, but the manifest does not list it` });
  }
}

interface Tagged {
  readonly blobPath: string;
  readonly block: number;
  readonly task: DecodeTask;
}

/**
 * The blob's metadata file is on the drive with the MD5 its `MetadataPath` names (the service
 * refuses it otherwise), and with a session, it is the file the journal describes.
 */
async function checkMetadataFile(fs: FileSystem, root: string, m: ParsedBlob, j: DriveBlob | undefined, problem: (p: Omit<VerifyProblem, 'driveId'>) => void): Promise<void> {
  const want = j?.manifest.metadata;
  if (!m.metadata) {
    if (want) problem({ blobPath: m.blobPath, block: -1, offset: 0, reason: 'metadata', message: `the manifest names no metadata file for ${m.blobPath}, but the journal recorded one` });
    return;
  }
  const path = driveFilePath(root, m.metadata.path);
  const data = path ? await fs.readFileIfExists(path).catch(() => undefined) : undefined;
  const md5 = data ? createHash('md5').update(data).digest('hex').toUpperCase() : undefined;
  if (md5 === undefined) problem({ blobPath: m.blobPath, block: -1, offset: 0, reason: 'metadata', message: `metadata file ${m.metadata.path} is missing or unreadable` });
  else if (md5 !== m.metadata.md5) problem({ blobPath: m.blobPath, block: -1, offset: 0, reason: 'metadata', message: `metadata file ${m.metadata.path} has MD5 ${md5}, the manifest says ${m.metadata.md5}` });
  else if (want && (want.md5 !== md5 || want.path !== m.metadata.path)) problem({ blobPath: m.blobPath, block: -1, offset: 0, reason: 'metadata', message: `metadata file ${m.metadata.path} is not the one the journal describes` });
}

async function* decodeTasks(fs: FileSystem, pairs: AsyncIterable<Pair>, root: string, s: VerifySessionView | undefined, problem: (p: Omit<VerifyProblem, 'driveId'>) => void, onBlob: () => void): AsyncGenerator<Tagged> {
  const metaChecks = new Set<Promise<void>>();
  try {
    yield* decodeTasksOf(fs, pairs, root, s, problem, onBlob, metaChecks);
  } finally {
    // Every metadata check has reported before verify returns its problems.
    await Promise.all(metaChecks);
  }
}

async function* decodeTasksOf(
  fs: FileSystem,
  pairs: AsyncIterable<Pair>,
  root: string,
  s: VerifySessionView | undefined,
  problem: (p: Omit<VerifyProblem, 'driveId'>) => void,
  onBlob: () => void,
  metaChecks: Set<Promise<void>>,
): AsyncGenerator<Tagged> {
  for await (const { m, j } of pairs) {
    onBlob();
    const path = driveFilePath(root, m.filePath);
    if (!path) {
      problem({ blobPath: m.blobPath, block: -1, offset: 0, reason: 'path', message: `FilePath ${m.filePath} escapes the drive` });
      continue;
    }
    // Metadata files are read beside the decode work, a few at a time (each is one small read).
    const check = checkMetadataFile(fs, root, m, j, problem).finally(() => metaChecks.delete(check));
    metaChecks.add(check);
    if (metaChecks.size >= METADATA_CHECKS_IN_FLIGHT) await Promise.race(metaChecks);
    if (j && s && sameRanges(m, j)) {
      yield* deepTasks(m, j, path, s);
      continue;
    }
    if (j) problem({ blobPath: m.blobPath, block: -1, offset: 0, reason: 'manifest-journal', message: `block list of ${m.blobPath} differs from what the journal recorded` });
    for (let i = 0; i < m.ranges.length; i++) {
      const r = m.ranges[i]!;
      yield { blobPath: m.blobPath, block: i, task: { kind: 'decode', path, offset: r.offset, length: r.length, units: [{ at: 0, length: r.length, md5: r.md5 }], cipher: undefined, tweakSeed: undefined, unitOffset: 0, raw: undefined, returnRaw: false } };
    }
  }
}

function sameRanges(m: ParsedBlob, j: DriveBlob): boolean {
  const a = m.ranges;
  const b = j.manifest.ranges;
  return a.length === b.length && a.every((r, i) => r.offset === b[i]!.offset && r.length === b[i]!.length && r.md5 === b[i]!.md5 && r.id === b[i]!.id) && m.length === j.manifest.length;
}

function* deepTasks(m: ParsedBlob, j: DriveBlob, path: string, s: VerifySessionView): Generator<Tagged> {
  const p = { path, pages: j.manifest.kind === 'page', codec: j.manifest.segment.codec, key: s.key, tweakSeed: s.tweakSeed(j.path), returnRaw: false };
  let block = 0;
  for (const c of j.chunks) {
    yield { blobPath: m.blobPath, block, task: chunkDecodeTask(c, p) };
    block += c.extents.length;
  }
}

function reportDecode(t: Tagged, r: Extract<DecodeResult, { ok: false }>, problem: (p: Omit<VerifyProblem, 'driveId'>) => void): void {
  problem({ blobPath: t.blobPath, block: t.block + (r.unit ?? 0), offset: t.task.offset + (t.task.units[r.unit ?? 0]?.at ?? 0), reason: r.reason, message: r.message });
}
