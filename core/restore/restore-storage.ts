/**
 * Restore from a storage account's container (after the import): with the session, every chunk
 * fetched by its journal offsets and checked; without it, every blob streamed into its file.
 */
import type { CodecKit, FileSystem } from '../../native/interfaces.js';
import type { BlobInfo, BlobStore } from '../../native/blob-store-types.js';
import { SeedshipError } from '../errors/errors.js';
import { driveBlobs, type DriveBlob } from '../journal/drive-blobs.js';
import type { SessionView } from '../session/session-view.js';
import { finishFile, restoreMetaOf, type RestoreResult } from './restore-drives.js';
import { decodeName } from '../../native/raw-names.js';
import { EntryRestorer, makeEmptyTarget, type RestoreMeta } from './restore-entry.js';
import { restoreBlobToFile } from './blob-stream.js';
import { writeNonZero } from './sparse-writer.js';
import { BoundedTasks } from '../util/bounded-tasks.js';
import { blobPosixOf, POSIX_KEYS } from '../manifest/blob-metadata.js';
import { countSkippedPaths } from '../journal/path-outcomes.js';
import type { ProgressBoard, ProgressTrack } from '../util/progress.js';
import { boardFor } from '../util/step-board.js';
import { stripZstSuffix, ZST_SUFFIX } from '../manifest/naming.js';

/** Blobs restored at once without a session: each holds a few MiB (blob-stream.ts). */
const BLOBS_IN_FLIGHT = 4;

/** What `restoreFromStorage` works on. */
export interface RestoreFromStorageOptions {
  readonly container: string;
  readonly to: string;
  /** The session of the prepare: chunks are fetched by its journal and checked against it. */
  readonly session: SessionView | undefined;
  readonly signal: AbortSignal;
  readonly board?: ProgressBoard | undefined;
}

/**
 * Rebuild the staged tree from a storage account's container (after the import). With a session,
 * each chunk is fetched by its journal offsets, decompressed and checked against its XXH64;
 * without one, every blob is streamed into its file (blob-stream.ts), `.zst` blobs decompressed,
 * nothing to check against.
 * Refuses a non-empty target.
 *
 * Progress on `board`: phase `listing` (with a session, the journal's totals; without, the
 * container listed once to count its blobs and bytes), `restoring`, then `metadata`; one track for
 * the container, the same as the board's total: raw bytes with a session, stored bytes downloaded
 * without, and entries restored as items.
 */
export async function restoreFromStorage(
  fs: FileSystem,
  kit: CodecKit,
  store: BlobStore,
  opts: RestoreFromStorageOptions,
): Promise<RestoreResult & { checked: boolean }> {
  const board = boardFor('restore', opts.board);
  board.setPhase('listing', `container ${opts.container}`);
  await makeEmptyTarget(fs, opts.to);
  const run = new ContainerRestore({ fs, kit, store, opts, board });
  const v = opts.session;
  if (v) {
    if (v.settings.container !== opts.container)
      throw new SeedshipError(
        'E_USAGE',
        `the session copied into container ${v.settings.container}, not ${opts.container}`,
      );
    await run.withSession(v);
    const skippedInPrepare = await countSkippedPaths(fs, v.journalPath);
    return { files: run.files, bytes: run.bytes, skippedInPrepare, to: opts.to, checked: true };
  }
  await run.withoutSession();
  return { files: run.files, bytes: run.bytes, skippedInPrepare: 0, to: opts.to, checked: false };
}

/** What a ContainerRestore needs. */
interface ContainerRestoreDeps {
  readonly fs: FileSystem;
  readonly kit: CodecKit;
  readonly store: BlobStore;
  readonly opts: RestoreFromStorageOptions;
  readonly board: ProgressBoard;
}

/** One restore from a container: its two ways (with and without the session), its progress and counts. */
class ContainerRestore {
  files = 0;
  bytes = 0;
  readonly #d: ContainerRestoreDeps;
  readonly #entries: EntryRestorer;
  readonly #track: ProgressTrack;

  constructor(d: ContainerRestoreDeps) {
    this.#d = d;
    this.#entries = new EntryRestorer(d.fs);
    const container = d.opts.container;
    this.#track = d.board.track({ key: container, label: `container ${container}`, unit: 'bytes' });
  }

  /** Restore every blob part the journal records, drive by drive, each chunk checked. */
  async withSession(v: SessionView): Promise<void> {
    const { fs, opts } = this.#d;
    this.#counted(
      v.state.drives.reduce((a, d) => a + (d?.rawBytes ?? 0), 0),
      v.state.filesDone,
    );
    for (const d of v.state.drives) {
      if (!d) continue;
      for await (const blob of driveBlobs(fs, v.journalPath, d.seq, v.naming)) {
        opts.signal.throwIfAborted();
        await this.#journalBlob(blob);
      }
    }
    await this.#finish();
  }

  /**
   * Restore every blob of the container, several at once. Without the session, each blob's own
   * metadata says what it is (AzCopy's POSIX keys and seedship's): its original name, its kind,
   * owner, mode and times. Listed twice: once to count (nothing kept), once to restore; a listing
   * is a small part of the work.
   */
  async withoutSession(): Promise<void> {
    const { store, opts } = this.#d;
    let listedBytes = 0;
    let listed = 0;
    for await (const b of store.listBlobs(opts.container)) {
      opts.signal.throwIfAborted();
      listedBytes += b.size;
      listed++;
    }
    this.#counted(listedBytes, listed);
    const tasks = new BoundedTasks(BLOBS_IN_FLIGHT, opts.signal);
    for await (const b of tasks.each(store.listBlobs(opts.container))) {
      opts.signal.throwIfAborted();
      await this.#listedBlob(b, tasks);
    }
    await this.#finish();
  }

  #count(n: number): void {
    this.#track.add(n);
    this.#d.board.total.add(n);
  }

  /** The totals are known: the restoring phase starts. */
  #counted(totalBytes: number, totalItems: number): void {
    const { board, opts } = this.#d;
    for (const t of [this.#track, board.total]) {
      t.setTotal(totalBytes);
      t.setItems(0, totalItems);
    }
    board.setPhase('restoring', `container ${opts.container}`);
    this.#track.setState('restoring');
  }

  #fileDone(): void {
    this.files++;
    this.#track.setItems(this.files);
    this.#d.board.total.setItems(this.files);
  }

  async #finish(): Promise<void> {
    this.#track.setState('done');
    this.#d.board.setPhase('metadata', 'modes, owners and times of directories');
    await this.#entries.finish();
  }

  /** One blob part the journal records: its chunks fetched, checked and written at their offsets. */
  async #journalBlob(blob: DriveBlob): Promise<void> {
    const { fs, opts } = this.#d;
    const out = `${opts.to}/${blob.path}`;
    await fs.mkdir(out.slice(0, out.lastIndexOf('/')));
    const meta = restoreMetaOf(blob);
    if (blob.kind !== 'file') {
      const raw = blob.chunks[0] ? await this.#fetch(blob, blob.chunks[0]) : new Uint8Array(0);
      await this.#entries.create(out, meta, decodeName(raw));
      this.#fileDone();
      return;
    }
    const h = await fs.open(out, blob.part === 1 ? 'w' : 'r+');
    try {
      for (const c of blob.chunks) {
        const raw = await this.#fetch(blob, c);
        await writeNonZero(h, raw, c.rawOffset);
      }
      if (blob.final) await h.truncate(blob.size);
    } finally {
      await h.close();
    }
    if (blob.final) {
      this.#fileDone();
      await finishFile(this.#entries, out, meta);
    }
  }

  /** One chunk of a blob part, downloaded by its journal offsets, decompressed and checked by XXH64. */
  async #fetch(blob: DriveBlob, c: DriveBlob['chunks'][number]): Promise<Uint8Array> {
    const { kit, store, opts } = this.#d;
    const name = blob.manifest.blobPath.slice(opts.container.length + 1);
    const pages = blob.manifest.kind === 'page';
    const zstd = blob.manifest.segment.codec === 'zstd';
    const stored = await store
      .download(opts.container, name, pages ? c.rawOffset : c.storedOffset, pages ? c.rawLength : c.storedLength)
      .catch((err: unknown) => {
        throw new SeedshipError(
          'E_INTEGRITY',
          `blob ${opts.container}/${name} cannot be read at ${c.storedOffset} (${(err as Error).message}); ` +
            'was the import complete?',
          { cause: err },
        );
      });
    const raw = zstd && !pages ? kit.decompress(stored) : stored;
    if (raw.length !== c.rawLength || kit.xxh64(raw) !== c.xxh64)
      throw new SeedshipError(
        'E_INTEGRITY',
        `blob ${opts.container}/${name} block ${c.index} does not match the journal's XXH64`,
      );
    this.bytes += raw.length;
    this.#count(raw.length);
    return raw;
  }

  /** One listed blob: made the entry its metadata says, a regular file streamed in by one of `tasks`. */
  async #listedBlob(b: BlobInfo, tasks: BoundedTasks): Promise<void> {
    const { fs, kit, store, opts } = this.#d;
    const px = blobPosixOf(b.metadata);
    // Blobs imported before seedship wrote metadata: a `.zst` name was always zstd frames.
    const legacy = !Object.keys(b.metadata).some((k) => k.toLowerCase() === POSIX_KEYS.mode);
    const zst = px.codec === 'zstd' || (legacy && b.name.endsWith(ZST_SUFFIX));
    const rel = px.rawName ? decodeName(px.rawName) : zst ? stripZstSuffix(b.name) : b.name;
    if (!rel || rel.includes('\0') || rel.split('/').some((p) => p === '' || p === '.' || p === '..'))
      throw new SeedshipError('E_INTEGRITY', `blob name ${b.name} would leave the target directory`);
    const out = `${opts.to}/${rel}`;
    await fs.mkdir(out.slice(0, out.lastIndexOf('/')));
    const meta: RestoreMeta = { ...px, atimeNs: px.atimeNs ?? px.mtimeNs };
    if (px.kind === 'symlink') {
      if (b.size > SYMLINK_TARGET_MAX_BYTES)
        throw new SeedshipError('E_INTEGRITY', `blob ${b.name} says it is a symbolic link, but holds ${b.size} bytes`);
      await this.#entries.create(out, meta, decodeName(await store.download(opts.container, b.name, 0, b.size)));
      this.#count(b.size);
      this.#fileDone();
      return;
    }
    if (px.kind !== 'file') {
      await this.#entries.create(out, meta, undefined);
      this.#count(b.size);
      this.#fileDone();
      return;
    }
    await tasks.run(async (signal) => {
      const onReceived = (n: number) => this.#count(n);
      const to = { container: opts.container, blob: b.name, size: b.size, zst, out, signal, onReceived };
      const n = await restoreBlobToFile(fs, kit, store, to);
      this.bytes += n; // not `bytes += await …`: that reads `bytes` before the await, losing other tasks' adds
      this.#fileDone();
      if (!legacy) await finishFile(this.#entries, out, meta);
    });
  }
}

/** A symlink's target is a path: Linux's PATH_MAX. */
const SYMLINK_TARGET_MAX_BYTES = 4096;
