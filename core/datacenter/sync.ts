import type { ChunkProcessor, EncodeResult, FileSystem } from '../../native/interfaces.js';
import type { BlobStore } from '../../native/blob-store-types.js';
import { SeedshipError } from '../errors.js';
import { RecordType } from '../journal/record-codec.js';
import { JournalReader } from '../journal/journal-reader.js';
import { blockId } from '../manifest/drive-manifest.js';
import { chunkCount } from '../plan/chunking.js';
import { walkStaging, type StagedFile } from '../plan/scan.js';
import { SESSION_ROOT_NAME } from '../session/session-layout.js';
import type { SessionView } from '../session/session-view.js';
import { mapBounded } from '../util/bounded-map.js';

/** What the account holds for one staged file, as far as seedship knows. */
interface Known {
  size: number;
  mtimeMs: number;
  /** XXH64 of each raw chunk, joined with ','. */
  hashes: string;
}

export interface SyncResult {
  readonly uploaded: number;
  readonly unchanged: number;
  readonly deleted: number;
  readonly bytesUploaded: number;
  readonly statePath: string;
}

const STATE_FILE = 'sync-state.json';

/** The copy the drives seeded: every finished file of the journal with its chunk hashes. */
async function seededState(fs: FileSystem, v: SessionView): Promise<Map<string, Known>> {
  const finalGen = new Map<number, number>();
  for await (const r of new JournalReader(fs, v.journalPath).records(new Set([RecordType.FileRestarted]))) if (r.type === RecordType.FileRestarted) finalGen.set(r.file, r.gen);
  const open = new Map<number, { path: string; size: number; mtimeMs: number; gen: number; hashes: string[] }>();
  const out = new Map<string, Known>();
  for await (const r of new JournalReader(fs, v.journalPath).records()) {
    if (r.type === RecordType.SegmentStarted && (finalGen.get(r.file) ?? 0) === r.gen && !open.has(r.file)) open.set(r.file, { path: r.path, size: r.size, mtimeMs: r.mtimeMs, gen: r.gen, hashes: [] });
    else if (r.type === RecordType.Chunk) {
      const f = open.get(r.file);
      if (f && f.gen === r.gen) f.hashes[r.index] = r.xxh64;
    } else if (r.type === RecordType.FileDone) {
      const f = open.get(r.file);
      if (f && f.gen === r.gen) out.set(f.path, { size: f.size, mtimeMs: f.mtimeMs, hashes: f.hashes.join(',') });
      open.delete(r.file);
    } else if (r.type === RecordType.FileSkipped) open.delete(r.file);
  }
  return out;
}

/**
 * `sync`: after seeding, bring the container up to date with staging over the network: upload
 * files that appeared or changed (size, mtime, then chunk hashes decide), in the same blob format
 * (a zstd frame per chunk, the same block ids), and delete blobs of files gone from staging. What
 * the account holds is kept in `<session>/sync-state.json`, so a sync with no changes uploads nothing.
 */
export async function runSync(fs: FileSystem, pool: ChunkProcessor, store: BlobStore, v: SessionView, staging: string, signal: AbortSignal): Promise<SyncResult> {
  const s = v.settings;
  if (s.encrypt) throw new SeedshipError('E_USAGE', 'sync of a session prepared with --encrypt is not supported: the account holds the plain stored bytes');
  const statePath = `${v.dir}/${STATE_FILE}`;
  const saved = await fs.readFileIfExists(statePath);
  const known = saved ? new Map(Object.entries(JSON.parse(saved.toString('utf8')) as Record<string, Known>)) : await seededState(fs, v);
  const suffix = s.codec === 'zstd' ? '.zst' : '';
  const seen = new Set<string>();
  let uploaded = 0;
  let unchanged = 0;
  let deleted = 0;
  let bytesUploaded = 0;
  await store.ensureContainer(s.container);
  const files = walkStaging(fs, staging, { exclude: (rel) => rel === SESSION_ROOT_NAME || `${staging}/${rel}` === v.dir, onSkip: () => undefined });
  for await (const f of files) {
    signal.throwIfAborted();
    seen.add(f.path);
    const k = known.get(f.path);
    if (k && k.size === f.size && k.mtimeMs === f.mtimeMs) {
      unchanged++;
      continue;
    }
    const encoded = await encodeFile(pool, f, s.codec, s.level, s.chunkBytes, s.blobType === 'page', signal);
    const hashes = encoded.map((e) => e.xxh64).join(',');
    if (k && k.size === f.size && k.hashes === hashes) {
      known.set(f.path, { ...k, mtimeMs: f.mtimeMs });
      unchanged++;
      continue;
    }
    const name = `${f.path}${suffix}`;
    if (s.blobType === 'page') {
      await store.deleteBlob(s.container, name);
      await store.createPageBlob(s.container, name, f.size, {});
      for (let i = 0; i < encoded.length; i++) {
        for (const x of encoded[i]!.extents) await store.uploadPages(s.container, name, encoded[i]!.stored.subarray(x.at, x.at + x.length), i * s.chunkBytes + x.at, Buffer.from(x.md5, 'hex'));
      }
    } else {
      const ids: string[] = [];
      for (let i = 0; i < encoded.length; i++) {
        const e = encoded[i]!;
        if (e.stored.length === 0) continue;
        ids.push(blockId(i));
        await store.stageBlock(s.container, name, blockId(i), e.stored, Buffer.from(e.extents[0]!.md5, 'hex'));
      }
      await store.commitBlocks(s.container, name, ids, {});
    }
    bytesUploaded += encoded.reduce((a, e) => a + e.stored.length, 0);
    known.set(f.path, { size: f.size, mtimeMs: f.mtimeMs, hashes });
    uploaded++;
  }
  for (const path of [...known.keys()]) {
    if (seen.has(path)) continue;
    await store.deleteBlob(s.container, `${path}${suffix}`);
    known.delete(path);
    deleted++;
  }
  await fs.writeFileAtomic(statePath, JSON.stringify(Object.fromEntries(known)) + '\n');
  return { uploaded, unchanged, deleted, bytesUploaded, statePath };
}

async function encodeFile(pool: ChunkProcessor, f: StagedFile, codec: 'zstd' | 'none', level: number, chunkBytes: number, pages: boolean, signal: AbortSignal): Promise<Extract<EncodeResult, { ok: true }>[]> {
  const n = chunkCount(f.size, chunkBytes);
  const out: Extract<EncodeResult, { ok: true }>[] = [];
  const chunks = Array.from({ length: n }, (_, i) => i);
  for await (const { result } of mapBounded(chunks, { maxItems: pool.threads * 3, maxWeight: pool.threads * 3 * chunkBytes, weight: () => chunkBytes, signal }, (i) =>
    pool.encode({ kind: 'encode', path: f.abs, offset: i * chunkBytes, length: Math.min(chunkBytes, f.size - i * chunkBytes), expect: { size: f.size, mtimeMs: f.mtimeMs, ino: f.ino }, codec, level, pages, cipher: undefined, tweakSeed: undefined, unitOffset: i * chunkBytes }, signal),
  )) {
    if (!result.ok) throw new SeedshipError('E_SOURCE_CHANGED', `${f.path} ${result.reason === 'changed' ? 'changed while being read' : 'cannot be read'} (${result.message}); run sync again when it is stable`, { path: f.path });
    out.push(result);
  }
  return out;
}
