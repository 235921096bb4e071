/**
 * `sync`: after the drives seeded the account, bring its container up to date with staging over
 * the network, remembering what the account holds in `<session>/sync-state.json`.
 */
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
import type { SessionSettings } from '../session/session-settings.js';
import type { SessionView } from '../session/session-view.js';
import { mapBounded } from '../util/bounded-map.js';
import type { ProgressBoard, ProgressTrack } from '../util/progress.js';
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

/** What `runSync` works on. */
export interface SyncOptions {
  /** The session the drives were prepared with: its settings say how blobs are stored. */
  readonly view: SessionView;
  readonly staging: string;
  readonly signal: AbortSignal;
  readonly board?: ProgressBoard | undefined;
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
  opts: SyncOptions,
): Promise<SyncResult> {
  const { view: v, staging } = opts;
  const s = v.settings;
  if (s.encrypt)
    throw new SeedshipError(
      'E_USAGE',
      'sync of a session prepared with --encrypt is not supported: the account holds the plain stored bytes',
    );
  const progress = boardFor('sync', opts.board);
  progress.setPhase('comparing', `staging ${staging} against container ${s.container}`);
  const statePath = `${v.dir}/${STATE_FILE}`;
  const saved = await fs.readFileIfExists(statePath);
  const known = saved
    ? new Map(Object.entries(JSON.parse(saved.toString('utf8')) as Record<string, Known>))
    : await seededState(fs, v);
  const run = new SyncRun({ fs, pool, store, settings: s, signal: opts.signal, progress, known });
  await store.ensureContainer(s.container);
  const { changed, seen } = await run.compare(staging, v.dir);
  await run.uploadChanged(changed);
  await run.deleteGone(seen);
  await fs.writeFileAtomic(statePath, `${JSON.stringify(Object.fromEntries(known))}\n`);
  const { uploaded, unchanged, metadataUpdated, deleted, bytesUploaded } = run;
  return { uploaded, unchanged, metadataUpdated, deleted, bytesUploaded, statePath };
}

/** An entry whose size, time or kind differ from what the account holds: read (files: hashed) to decide. */
interface Changed {
  readonly f: StagedFile;
  readonly k: Known | undefined;
  readonly meta: PosixMetaJson;
}

/** What a SyncRun needs. */
interface SyncRunDeps {
  readonly fs: FileSystem;
  readonly pool: ChunkProcessor;
  readonly store: BlobStore;
  readonly settings: SessionSettings;
  readonly signal: AbortSignal;
  readonly progress: ProgressBoard;
  /** What the account holds, by staged path; updated as entries are synced. */
  readonly known: Map<string, Known>;
}

/** One sync: its phases (compare, upload, delete), the state they update and their counts. */
class SyncRun {
  uploaded = 0;
  unchanged = 0;
  metadataUpdated = 0;
  deleted = 0;
  bytesUploaded = 0;
  readonly #d: SyncRunDeps;
  readonly #suffix: string;
  readonly #container: ProgressTrack;

  constructor(d: SyncRunDeps) {
    this.#d = d;
    this.#suffix = blobSuffix(d.settings.codec);
    this.#container = d.progress.track({
      key: d.settings.container,
      label: `container ${d.settings.container}`,
      unit: 'bytes',
    });
    this.#container.setState('waiting');
  }

  /** Walk staging against what the account holds: entries alike but for metadata are settled here. */
  async compare(staging: string, sessionDir: string): Promise<{ changed: Changed[]; seen: Set<string> }> {
    const { fs, known, signal } = this.#d;
    const total = this.#d.progress.total;
    const seen = new Set<string>();
    const changed: Changed[] = [];
    let entries = 0;
    const files = walkStaging(fs, staging, {
      exclude: (rel) => rel === SESSION_ROOT_NAME || `${staging}/${rel}` === sessionDir,
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
      if (k && sameStat && (f.kind !== 'symlink' || k.hashes !== '')) await this.#metaOnly(f, k, meta, k.hashes);
      else changed.push({ f, k, meta });
    }
    total.setItems(entries, entries);
    total.setTotal(changed.reduce((a, c) => a + (c.f.kind === 'file' ? c.f.size : 0), 0));
    return { changed, seen };
  }

  /** Read the changed entries and upload those whose bytes differ from the account's. */
  async uploadChanged(changed: readonly Changed[]): Promise<void> {
    const container = this.#container;
    container.setItems(0, changed.length);
    this.#d.progress.setPhase('uploading', `${changed.length} entries changed or new`);
    container.setState('syncing');
    for (const c of changed) {
      this.#d.signal.throwIfAborted();
      const sent = c.f.kind === 'file' ? await this.#syncFile(c) : await this.#syncSpecial(c);
      if (sent) container.setItems(++this.uploaded);
    }
    container.setState('done');
  }

  /** Delete the blobs of entries gone from staging. */
  async deleteGone(seen: ReadonlySet<string>): Promise<void> {
    const { store, settings: s, known } = this.#d;
    this.#d.progress.setPhase('deleting', 'blobs of entries gone from staging');
    for (const [path, k] of [...known.entries()]) {
      if (seen.has(path)) continue;
      await store.deleteBlob(s.container, this.#nameOf(path, k.kind).name);
      known.delete(path);
      this.deleted++;
    }
  }

  #nameOf(path: string, kind: EntryKind | undefined) {
    return blobNameOf(path, (kind ?? 'file') === 'file' ? this.#suffix : '');
  }

  #mdOf(path: string, kind: EntryKind, meta: PosixMetaJson) {
    const n = this.#nameOf(path, kind);
    return blobMetadataOf(metaFromJson(meta), {
      codec: kind === 'file' ? this.#d.settings.codec : 'none',
      rawName: n.escaped ? encodeBytes(path) : undefined,
    });
  }

  #sent(n: number): void {
    this.bytesUploaded += n;
    this.#container.add(n);
  }

  /** The entry's bytes are as in the account: a change of mode, owner or times alone is a metadata update. */
  async #metaOnly(f: StagedFile, k: Known | undefined, meta: PosixMetaJson, hashes: string): Promise<void> {
    if (k && metaChanged(k.meta, meta)) {
      await this.#d.store.setMetadata(
        this.#d.settings.container,
        this.#nameOf(f.path, f.kind).name,
        this.#mdOf(f.path, f.kind, meta),
      );
      this.metadataUpdated++;
    }
    this.#d.known.set(f.path, { kind: f.kind, size: f.size, mtimeMs: f.mtimeMs, hashes, meta });
    this.unchanged++;
  }

  /** A directory, symlink or special file: one block (the link's target) or none. Returns whether it was uploaded. */
  async #syncSpecial({ f, k, meta }: Changed): Promise<boolean> {
    const { fs, store, settings: s } = this.#d;
    const name = this.#nameOf(f.path, f.kind).name;
    const content = f.kind === 'symlink' ? encodeBytes(await fs.readlink(f.abs)) : new Uint8Array(0);
    const hashes = content.length > 0 ? createHash('sha256').update(content).digest('hex').slice(0, 16) : '';
    if (k && (k.kind ?? 'file') === f.kind && k.hashes === hashes) {
      await this.#metaOnly(f, k, meta, hashes);
      return false;
    }
    await store.deleteBlob(s.container, name);
    if (content.length > 0)
      await store.stageBlock(s.container, name, blockId(0), content, createHash('md5').update(content).digest());
    await store.commitBlocks(
      s.container,
      name,
      content.length > 0 ? [blockId(0)] : [],
      this.#mdOf(f.path, f.kind, meta),
    );
    this.#sent(content.length);
    this.#d.known.set(f.path, { kind: f.kind, size: f.size, mtimeMs: f.mtimeMs, hashes, meta });
    return true;
  }

  /** A regular file: encoded as prepare stores it; uploaded when its chunk hashes differ. Returns whether it was. */
  async #syncFile({ f, k, meta }: Changed): Promise<boolean> {
    const { pool, settings: s, signal } = this.#d;
    const total = this.#d.progress.total;
    const encoded = await encodeFile(pool, f, {
      codec: s.codec,
      level: s.level,
      chunkBytes: s.chunkBytes,
      pages: s.blobType === 'page',
      signal,
      onRead: (n) => total.add(n),
    });
    const hashes = encoded.map((e) => e.xxh64).join(',');
    if (k && (k.kind ?? 'file') === f.kind && k.size === f.size && k.hashes === hashes) {
      await this.#metaOnly(f, k, meta, hashes);
      return false;
    }
    const name = this.#nameOf(f.path, f.kind).name;
    const md = this.#mdOf(f.path, f.kind, meta);
    if (s.blobType === 'page') await this.#uploadPages(name, f.size, md, encoded);
    else await this.#uploadBlocks(name, md, encoded);
    this.#d.known.set(f.path, { kind: f.kind, size: f.size, mtimeMs: f.mtimeMs, hashes, meta });
    return true;
  }

  /** A page blob made anew, each chunk's stored extents uploaded at their offsets. */
  async #uploadPages(name: string, size: number, md: Record<string, string>, encoded: readonly Encoded[]) {
    const { store, settings: s } = this.#d;
    await store.deleteBlob(s.container, name);
    await store.createPageBlob(s.container, name, size, md);
    for (let i = 0; i < encoded.length; i++) {
      const e = encoded[i]!;
      for (const x of e.extents)
        await store.uploadPages(
          s.container,
          name,
          e.stored.subarray(x.at, x.at + x.length),
          i * s.chunkBytes + x.at,
          Buffer.from(x.md5, 'hex'),
        );
      this.#sent(e.stored.length);
    }
  }

  /** A block blob: a block per non-empty chunk (ids by chunk index), then the list committed. */
  async #uploadBlocks(name: string, md: Record<string, string>, encoded: readonly Encoded[]) {
    const { store, settings: s } = this.#d;
    const ids: string[] = [];
    for (let i = 0; i < encoded.length; i++) {
      const e = encoded[i]!;
      if (e.stored.length === 0) continue;
      ids.push(blockId(i));
      await store.stageBlock(s.container, name, blockId(i), e.stored, Buffer.from(e.extents[0]!.md5, 'hex'));
      this.#sent(e.stored.length);
    }
    await store.commitBlocks(s.container, name, ids, md);
  }
}

/** Mode, owner or modification time differ (ctime and atime follow from those and from reading). */
function metaChanged(a: PosixMetaJson | undefined, b: PosixMetaJson): boolean {
  return a === undefined || a.m !== b.m || a.u !== b.u || a.g !== b.g || a.t !== b.t || a.n !== b.n;
}

type Encoded = Extract<EncodeResult, { ok: true }>;

/** How `encodeFile` stores a file: the session's settings, and a count of the raw bytes read. */
interface EncodeFileOptions {
  readonly codec: 'zstd' | 'none';
  readonly level: number;
  readonly chunkBytes: number;
  /** Stored as a page blob (zero pages left out). */
  readonly pages: boolean;
  readonly signal: AbortSignal;
  readonly onRead: (rawBytes: number) => void;
}

/** Read and encode every chunk of a staged file through the pool, as prepare stores it. */
async function encodeFile(pool: ChunkProcessor, f: StagedFile, o: EncodeFileOptions): Promise<Encoded[]> {
  const { chunkBytes, signal } = o;
  const n = chunkCount(f.size, chunkBytes);
  const out: Encoded[] = [];
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
          codec: o.codec,
          level: o.level,
          pages: o.pages,
          cipher: undefined,
          tweakSeed: undefined,
          unitOffset: i * chunkBytes,
        },
        signal,
      ),
  )) {
    if (!result.ok) {
      const what = result.reason === 'changed' ? 'changed while being read' : 'cannot be read';
      throw new SeedshipError(
        'E_SOURCE_CHANGED',
        `${f.path} ${what} (${result.message}); run sync again when it is stable`,
        { path: f.path },
      );
    }
    out.push(result);
    o.onRead(result.rawLength);
  }
  return out;
}
