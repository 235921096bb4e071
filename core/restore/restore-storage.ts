import type { CodecKit, FileSystem } from '../../native/interfaces.js';
import type { BlobStore } from '../../native/blob-store-types.js';
import { SeedshipError } from '../errors/errors.js';
import { driveBlobs } from '../journal/drive-blobs.js';
import type { SessionView } from '../session/session-view.js';
import { finishFile, restoreMetaOf, type RestoreResult } from './restore-drives.js';
import { decodeName } from '../../native/raw-names.js';
import { EntryRestorer, type RestoreMeta } from './restore-entry.js';
import { restoreBlobToFile } from './blob-stream.js';
import { writeNonZero } from './sparse-writer.js';
import { BoundedTasks } from '../util/bounded-tasks.js';
import { blobPosixOf, POSIX_KEYS } from '../manifest/blob-metadata.js';
import { countSkippedPaths } from '../journal/path-outcomes.js';
import type { ProgressBoard } from '../util/progress.js';
import { boardFor } from '../util/step-board.js';
import { stripZstSuffix, ZST_SUFFIX } from '../manifest/naming.js';

/** Blobs restored at once without a session: each holds a few MiB (blob-stream.ts). */
const BLOBS_IN_FLIGHT = 4;

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
  opts: {
    container: string;
    to: string;
    session: SessionView | undefined;
    signal: AbortSignal;
    board?: ProgressBoard | undefined;
  },
): Promise<RestoreResult & { checked: boolean }> {
  const board = boardFor('restore', opts.board);
  board.setPhase('listing', `container ${opts.container}`);
  if ((await fs.exists(opts.to)) && (await fs.readdir(opts.to)).length > 0)
    throw new SeedshipError('E_USAGE', `--to ${opts.to} is not empty; restore into a new or empty directory`, {
      path: opts.to,
    });
  await fs.mkdir(opts.to);
  let files = 0;
  let bytes = 0;
  const v = opts.session;
  const entries = new EntryRestorer(fs);
  const track = board.track({ key: opts.container, label: `container ${opts.container}`, unit: 'bytes' });
  const count = (n: number) => {
    track.add(n);
    board.total.add(n);
  };
  const counted = (totalBytes: number, totalItems: number) => {
    for (const t of [track, board.total]) {
      t.setTotal(totalBytes);
      t.setItems(0, totalItems);
    }
    board.setPhase('restoring', `container ${opts.container}`);
    track.setState('restoring');
  };
  const fileDone = () => {
    files++;
    track.setItems(files);
    board.total.setItems(files);
  };
  const finish = async () => {
    track.setState('done');
    board.setPhase('metadata', 'modes, owners and times of directories');
    await entries.finish();
  };
  if (v) {
    if (v.settings.container !== opts.container)
      throw new SeedshipError(
        'E_USAGE',
        `the session copied into container ${v.settings.container}, not ${opts.container}`,
      );
    counted(
      v.state.drives.reduce((a, d) => a + (d?.rawBytes ?? 0), 0),
      v.state.filesDone,
    );
    for (const d of v.state.drives) {
      if (!d) continue;
      for await (const blob of driveBlobs(fs, v.journalPath, d.seq, v.naming)) {
        opts.signal.throwIfAborted();
        const name = blob.manifest.blobPath.slice(opts.container.length + 1);
        const out = `${opts.to}/${blob.path}`;
        await fs.mkdir(out.slice(0, out.lastIndexOf('/')));
        const pages = blob.manifest.kind === 'page';
        const zstd = blob.manifest.segment.codec === 'zstd';
        const fetch = async (c: (typeof blob.chunks)[number]) => {
          const stored = await store
            .download(opts.container, name, pages ? c.rawOffset : c.storedOffset, pages ? c.rawLength : c.storedLength)
            .catch((err: unknown) => {
              throw new SeedshipError(
                'E_INTEGRITY',
                `blob ${opts.container}/${name} cannot be read at ${c.storedOffset} (${(err as Error).message}); was the import complete?`,
                { cause: err },
              );
            });
          const raw = zstd && !pages ? kit.decompress(stored) : stored;
          if (raw.length !== c.rawLength || kit.xxh64(raw) !== c.xxh64)
            throw new SeedshipError(
              'E_INTEGRITY',
              `blob ${opts.container}/${name} block ${c.index} does not match the journal's XXH64`,
            );
          bytes += raw.length;
          count(raw.length);
          return raw;
        };
        const meta = restoreMetaOf(blob);
        if (blob.kind !== 'file') {
          const raw = blob.chunks[0] ? await fetch(blob.chunks[0]) : new Uint8Array(0);
          await entries.create(out, meta, decodeName(raw));
          fileDone();
          continue;
        }
        const h = await fs.open(out, blob.part === 1 ? 'w' : 'r+');
        try {
          for (const c of blob.chunks) {
            const raw = await fetch(c);
            await writeNonZero(h, raw, c.rawOffset);
          }
          if (blob.final) await h.truncate(blob.size);
        } finally {
          await h.close();
        }
        if (blob.final) {
          fileDone();
          await finishFile(entries, out, meta);
        }
      }
    }
    await finish();
    return { files, bytes, skippedInPrepare: await countSkippedPaths(fs, v.journalPath), to: opts.to, checked: true };
  }
  // Without the session, each blob's own metadata says what it is (AzCopy's POSIX keys and
  // seedship's): its original name, its kind, owner, mode and times.
  // Listed twice: once to count (nothing kept), once to restore; a listing is a small part of the work.
  let listedBytes = 0;
  let listed = 0;
  for await (const b of store.listBlobs(opts.container)) {
    opts.signal.throwIfAborted();
    listedBytes += b.size;
    listed++;
  }
  counted(listedBytes, listed);
  const tasks = new BoundedTasks(BLOBS_IN_FLIGHT, opts.signal);
  for await (const b of tasks.each(store.listBlobs(opts.container))) {
    opts.signal.throwIfAborted();
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
      await entries.create(out, meta, decodeName(await store.download(opts.container, b.name, 0, b.size)));
      count(b.size);
      fileDone();
      continue;
    }
    if (px.kind !== 'file') {
      await entries.create(out, meta, undefined);
      count(b.size);
      fileDone();
      continue;
    }
    await tasks.run(async (signal) => {
      const to = { container: opts.container, blob: b.name, size: b.size, zst, out, signal, onReceived: count };
      const n = await restoreBlobToFile(fs, kit, store, to);
      bytes += n; // not `bytes += await …`: that reads `bytes` before the await, losing other tasks' adds
      fileDone();
      if (!legacy) await finishFile(entries, out, meta);
    });
  }
  await finish();
  return { files, bytes, skippedInPrepare: 0, to: opts.to, checked: false };
}

/** A symlink's target is a path: Linux's PATH_MAX. */
const SYMLINK_TARGET_MAX_BYTES = 4096;
