import type { ChunkProcessor, EncodeResult, EntryKind, FileSystem } from '../../native/interfaces.js';
import { encodeBytes } from '../../native/raw-names.js';
import {
  blobMetadataOf,
  metaFromJson,
  metaToJson,
  posixMetaOf,
  type PosixMetaJson,
} from '../manifest/blob-metadata.js';
import { blobNameOf, blobSuffix } from '../manifest/naming.js';
import type { BlobStore } from '../../native/blob-store-types.js';
import { createHash } from 'node:crypto';
import { SeedshipError } from '../errors/errors.js';
import { RecordType } from '../journal/record-codec.js';
import { JournalReader } from '../journal/journal-reader.js';
import { blockId } from '../manifest/drive-manifest.js';
import { chunkCount } from '../manifest/chunking.js';
import { walkStaging, type StagedFile } from '../staging/scan.js';
import { SESSION_ROOT_NAME } from '../session/session-layout.js';
import type { SessionView } from '../session/session-view.js';
import { mapBounded } from '../util/bounded-map.js';
import type { ProgressBoard } from '../util/progress.js';
import { boardFor } from '../util/step-board.js';

/** What the account holds for one staged entry, as far as seedship knows. */
interface Known {
  /** Absent: a regular file (state written before entries were synced). */
  kind?: EntryKind;
  size: number;
  mtimeMs: number;
  /** XXH64 of each raw chunk, joined with ','. */
  hashes: string;
  /** The POSIX metadata the blob carries. */
  meta?: PosixMetaJson;
}

export interface SyncResult {
  readonly uploaded: number;
  /** Entries whose bytes are as in the account (some of them had their metadata updated). */
  readonly unchanged: number;
  /** Entries whose mode, owner or times changed but not their bytes: metadata updated, nothing uploaded. */
  readonly metadataUpdated: number;
  readonly deleted: number;
  readonly bytesUploaded: number;
  readonly statePath: string;
}

const STATE_FILE = 'sync-state.json';

/** The copy the drives seeded: every finished file of the journal with its chunk hashes. */
async function seededState(fs: FileSystem, v: SessionView): Promise<Map<string, Known>> {
  const finalGen = new Map<number, number>();
  for await (const r of new JournalReader(fs, v.journalPath).records(new Set([RecordType.FileRestarted])))
    if (r.type === RecordType.FileRestarted) finalGen.set(r.file, r.gen);
  const open = new Map<
    number,
    {
      path: string;
      kind: EntryKind;
      meta: PosixMetaJson | undefined;
      size: number;
      mtimeMs: number;
      gen: number;
      hashes: string[];
    }
  >();
  const out = new Map<string, Known>();
  for await (const r of new JournalReader(fs, v.journalPath).records()) {
    if (r.type === RecordType.SegmentStarted && (finalGen.get(r.file) ?? 0) === r.gen && !open.has(r.file))
      open.set(r.file, {
        path: r.path,
        kind: r.kind ?? 'file',
        meta: r.meta,
        size: r.size,
        mtimeMs: r.mtimeMs,
        gen: r.gen,
        hashes: [],
      });
    else if (r.type === RecordType.Chunk) {
      const f = open.get(r.file);
      if (f && f.gen === r.gen) f.hashes[r.index] = r.xxh64;
    } else if (r.type === RecordType.FileDone) {
      const f = open.get(r.file);
      if (f && f.gen === r.gen)
        out.set(f.path, {
          kind: f.kind,
          size: f.size,
          mtimeMs: f.mtimeMs,
          hashes: f.hashes.join(','),
          ...(f.meta ? { meta: f.meta } : {}),
        });
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
 *
 * Progress on `board`: phase `comparing` (staging walked against what the account holds: entries
 * as the total's items), `uploading` (the entries whose size or time differ, read and hashed, sent
 * when their bytes differ: the total counts their bytes read of their known sum), `deleting`; one
 * track for the container (stored bytes sent, entries uploaded as items).
 */
export async function runSync(
  fs: FileSystem,
  pool: ChunkProcessor,
  store: BlobStore,
  v: SessionView,
  staging: string,
  signal: AbortSignal,
  board?: ProgressBoard,
): Promise<SyncResult> {
  const s = v.settings;
  if (s.encrypt)
    throw new SeedshipError(
      'E_USAGE',
      'sync of a session prepared with --encrypt is not supported: the account holds the plain stored bytes',
    );
  const progress = boardFor('sync', board);
  progress.setPhase('comparing', `staging ${staging} against container ${s.container}`);
  const statePath = `${v.dir}/${STATE_FILE}`;
  const saved = await fs.readFileIfExists(statePath);
  const known = saved
    ? new Map(Object.entries(JSON.parse(saved.toString('utf8')) as Record<string, Known>))
    : await seededState(fs, v);
  const suffix = blobSuffix(s.codec);
  const nameOf = (path: string, kind: EntryKind | undefined) =>
    blobNameOf(path, (kind ?? 'file') === 'file' ? suffix : '');
  const mdOf = (path: string, kind: EntryKind, meta: PosixMetaJson) => {
    const n = nameOf(path, kind);
    return blobMetadataOf(metaFromJson(meta), {
      codec: kind === 'file' ? s.codec : 'none',
      rawName: n.escaped ? encodeBytes(path) : undefined,
    });
  };
  const seen = new Set<string>();
  let uploaded = 0;
  let unchanged = 0;
  let metadataUpdated = 0;
  let deleted = 0;
  let bytesUploaded = 0;
  const total = progress.total;
  const container = progress.track({ key: s.container, label: `container ${s.container}`, unit: 'bytes' });
  container.setState('waiting');
  const sent = (n: number) => {
    bytesUploaded += n;
    container.add(n);
  };
  await store.ensureContainer(s.container);
  // A change of mode, owner or times alone is a metadata update, not an upload.
  const metaOnly = async (f: StagedFile, k: Known | undefined, meta: PosixMetaJson, hashes: string) => {
    if (k && metaChanged(k.meta, meta)) {
      await store.setMetadata(s.container, nameOf(f.path, f.kind).name, mdOf(f.path, f.kind, meta));
      metadataUpdated++;
    }
    known.set(f.path, { kind: f.kind, size: f.size, mtimeMs: f.mtimeMs, hashes, meta });
    unchanged++;
  };
  // Entries whose size, time or kind differ: read (and for files, hashed) in the next phase.
  const changed: { f: StagedFile; k: Known | undefined; meta: PosixMetaJson }[] = [];
  let entries = 0;
  const files = walkStaging(fs, staging, {
    exclude: (rel) => rel === SESSION_ROOT_NAME || `${staging}/${rel}` === v.dir,
    onSkip: () => undefined,
    entries: true,
  });
  for await (const f of files) {
    signal.throwIfAborted();
    seen.add(f.path);
    total.setItems(++entries);
    const k = known.get(f.path);
    const meta = metaToJson(posixMetaOf(f.stat));
    const sameKind = (k?.kind ?? 'file') === f.kind;
    const sameStat = k && sameKind && k.size === f.size && k.mtimeMs === f.mtimeMs;
    if (k && sameStat && (f.kind !== 'symlink' || k.hashes !== '')) await metaOnly(f, k, meta, k.hashes);
    else changed.push({ f, k, meta });
  }
  total.setItems(entries, entries);
  total.setTotal(changed.reduce((a, c) => a + (c.f.kind === 'file' ? c.f.size : 0), 0));
  container.setItems(0, changed.length);
  progress.setPhase('uploading', `${changed.length} entries changed or new`);
  container.setState('syncing');
  for (const { f, k, meta } of changed) {
    signal.throwIfAborted();
    const name = nameOf(f.path, f.kind).name;
    const sameKind = (k?.kind ?? 'file') === f.kind;
    if (f.kind !== 'file') {
      const content = f.kind === 'symlink' ? encodeBytes(await fs.readlink(f.abs)) : new Uint8Array(0);
      const hashes = content.length > 0 ? createHash('sha256').update(content).digest('hex').slice(0, 16) : '';
      if (k && sameKind && k.hashes === hashes) {
        await metaOnly(f, k, meta, hashes);
        continue;
      }
      await store.deleteBlob(s.container, name);
      if (content.length > 0)
        await store.stageBlock(s.container, name, blockId(0), content, createHash('md5').update(content).digest());
      await store.commitBlocks(s.container, name, content.length > 0 ? [blockId(0)] : [], mdOf(f.path, f.kind, meta));
      sent(content.length);
      known.set(f.path, { kind: f.kind, size: f.size, mtimeMs: f.mtimeMs, hashes, meta });
      container.setItems(++uploaded);
      continue;
    }
    const pages = s.blobType === 'page';
    const encoded = await encodeFile(pool, f, s.codec, s.level, s.chunkBytes, pages, signal, (n) => total.add(n));
    const hashes = encoded.map((e) => e.xxh64).join(',');
    if (k && sameKind && k.size === f.size && k.hashes === hashes) {
      await metaOnly(f, k, meta, hashes);
      continue;
    }
    const md = mdOf(f.path, f.kind, meta);
    if (s.blobType === 'page') {
      await store.deleteBlob(s.container, name);
      await store.createPageBlob(s.container, name, f.size, md);
      for (let i = 0; i < encoded.length; i++) {
        for (const x of encoded[i]!.extents)
          await store.uploadPages(
            s.container,
            name,
            encoded[i]!.stored.subarray(x.at, x.at + x.length),
            i * s.chunkBytes + x.at,
            Buffer.from(x.md5, 'hex'),
          );
        sent(encoded[i]!.stored.length);
      }
    } else {
      const ids: string[] = [];
      for (let i = 0; i < encoded.length; i++) {
        const e = encoded[i]!;
        if (e.stored.length === 0) continue;
        ids.push(blockId(i));
        await store.stageBlock(s.container, name, blockId(i), e.stored, Buffer.from(e.extents[0]!.md5, 'hex'));
        sent(e.stored.length);
      }
      await store.commitBlocks(s.container, name, ids, md);
    }
    known.set(f.path, { kind: f.kind, size: f.size, mtimeMs: f.mtimeMs, hashes, meta });
    container.setItems(++uploaded);
  }
  container.setState('done');
  progress.setPhase('deleting', 'blobs of entries gone from staging');
  for (const [path, k] of [...known.entries()]) {
    if (seen.has(path)) continue;
    await store.deleteBlob(s.container, nameOf(path, k.kind).name);
    known.delete(path);
    deleted++;
  }
  await fs.writeFileAtomic(statePath, `${JSON.stringify(Object.fromEntries(known))}\n`);
  return { uploaded, unchanged, metadataUpdated, deleted, bytesUploaded, statePath };
}

/** Mode, owner or modification time differ (ctime and atime follow from those and from reading). */
function metaChanged(a: PosixMetaJson | undefined, b: PosixMetaJson): boolean {
  return a === undefined || a.m !== b.m || a.u !== b.u || a.g !== b.g || a.t !== b.t || a.n !== b.n;
}

async function encodeFile(
  pool: ChunkProcessor,
  f: StagedFile,
  codec: 'zstd' | 'none',
  level: number,
  chunkBytes: number,
  pages: boolean,
  signal: AbortSignal,
  onRead: (rawBytes: number) => void,
): Promise<Extract<EncodeResult, { ok: true }>[]> {
  const n = chunkCount(f.size, chunkBytes);
  const out: Extract<EncodeResult, { ok: true }>[] = [];
  const chunks = Array.from({ length: n }, (_, i) => i);
  for await (const { result } of mapBounded(
    chunks,
    { maxItems: pool.threads * 3, maxWeight: pool.threads * 3 * chunkBytes, weight: () => chunkBytes, signal },
    (i) =>
      pool.encode(
        {
          kind: 'encode',
          path: f.abs,
          offset: i * chunkBytes,
          length: Math.min(chunkBytes, f.size - i * chunkBytes),
          expect: { size: f.size, mtimeMs: f.mtimeMs, ino: f.ino },
          codec,
          level,
          pages,
          cipher: undefined,
          tweakSeed: undefined,
          unitOffset: i * chunkBytes,
        },
        signal,
      ),
  )) {
    if (!result.ok)
      throw new SeedshipError(
        'E_SOURCE_CHANGED',
        `${f.path} ${result.reason === 'changed' ? 'changed while being read' : 'cannot be read'} (${result.message}); run sync again when it is stable`,
        { path: f.path },
      );
    out.push(result);
    onRead(result.rawLength);
  }
  return out;
}
