import type { CodecKit, FileSystem } from '../../native/interfaces.js';
import type { BlobStore } from '../../native/blob-store-types.js';
import { SeedshipError } from '../errors.js';
import { driveBlobs } from '../manifest/drive-blobs.js';
import type { SessionView } from '../session/session-view.js';
import type { RestoreResult } from './restore-drives.js';
import { restoreBlobToFile } from './blob-stream.js';
import { writeNonZero } from './sparse-writer.js';
import { BoundedTasks } from '../util/bounded-tasks.js';

/** Blobs restored at once without a session: each holds a few MiB (blob-stream.ts). */
const BLOBS_IN_FLIGHT = 4;

/**
 * Rebuild the staged tree from a storage account's container (after the import). With a session,
 * each chunk is fetched by its journal offsets, decompressed and checked against its XXH64;
 * without one, every blob is streamed into its file (blob-stream.ts), `.zst` blobs decompressed,
 * nothing to check against.
 * Refuses a non-empty target.
 */
export async function restoreFromStorage(
  fs: FileSystem,
  kit: CodecKit,
  store: BlobStore,
  opts: { container: string; to: string; session: SessionView | undefined; signal: AbortSignal },
): Promise<RestoreResult & { checked: boolean }> {
  if ((await fs.exists(opts.to)) && (await fs.readdir(opts.to)).length > 0) throw new SeedshipError('E_USAGE', `--to ${opts.to} is not empty; restore into a new or empty directory`, { path: opts.to });
  await fs.mkdir(opts.to);
  let files = 0;
  let bytes = 0;
  const v = opts.session;
  if (v) {
    if (v.settings.container !== opts.container) throw new SeedshipError('E_USAGE', `the session copied into container ${v.settings.container}, not ${opts.container}`);
    for (const d of v.state.drives) {
      if (!d) continue;
      for await (const blob of driveBlobs(fs, v.journalPath, d.seq, v.naming)) {
        opts.signal.throwIfAborted();
        const name = blob.manifest.blobPath.slice(opts.container.length + 1);
        const out = `${opts.to}/${blob.path}`;
        await fs.mkdir(out.slice(0, out.lastIndexOf('/')));
        const h = await fs.open(out, blob.part === 1 ? 'w' : 'r+');
        try {
          for (const c of blob.chunks) {
            const pages = v.settings.blobType === 'page';
            const stored = await store.download(opts.container, name, pages ? c.rawOffset : c.storedOffset, pages ? c.rawLength : c.storedLength).catch((err: unknown) => {
              throw new SeedshipError('E_INTEGRITY', `blob ${opts.container}/${name} cannot be read at ${c.storedOffset} (${(err as Error).message}); was the import complete?`, { cause: err });
            });
            const raw = v.settings.codec === 'zstd' && !pages ? kit.decompress(stored) : stored;
            if (raw.length !== c.rawLength || kit.xxh64(raw) !== c.xxh64) throw new SeedshipError('E_INTEGRITY', `blob ${opts.container}/${name} block ${c.index} does not match the journal's XXH64`);
            await writeNonZero(h, raw, c.rawOffset);
            bytes += raw.length;
          }
          if (blob.final) {
            await h.truncate(blob.size);
            files++;
          }
        } finally {
          await h.close();
        }
      }
    }
    return { files, bytes, skippedInPrepare: v.state.filesSkipped, to: opts.to, checked: true };
  }
  const tasks = new BoundedTasks(BLOBS_IN_FLIGHT, opts.signal);
  for await (const b of tasks.each(store.listBlobs(opts.container))) {
    opts.signal.throwIfAborted();
    const zst = b.name.endsWith('.zst');
    const rel = zst ? b.name.slice(0, -4) : b.name;
    if (!rel || rel.split('/').some((p) => p === '' || p === '.' || p === '..')) throw new SeedshipError('E_INTEGRITY', `blob name ${b.name} would leave the target directory`);
    const out = `${opts.to}/${rel}`;
    await fs.mkdir(out.slice(0, out.lastIndexOf('/')));
    await tasks.run(async (signal) => {
      const n = await restoreBlobToFile(fs, kit, store, { container: opts.container, blob: b.name, size: b.size, zst, out, signal });
      bytes += n; // not `bytes += await …`: that reads `bytes` before the await, losing other tasks' adds
      files++;
    });
  }
  return { files, bytes, skippedInPrepare: 0, to: opts.to, checked: false };
}
