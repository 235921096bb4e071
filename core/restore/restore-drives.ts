import type { ChunkProcessor, FileHandle, FileSystem } from '../../native/interfaces.js';
import { SeedshipError } from '../errors.js';
import { driveBlobs } from '../manifest/drive-blobs.js';
import { matchDrives, openSessionView } from '../session/session-view.js';
import { mapBounded } from '../util/bounded-map.js';
import { blobTweakSeed, chunkDecodeTask } from './chunk-task.js';

export interface RestoreResult {
  readonly files: number;
  readonly bytes: number;
  readonly skippedInPrepare: number;
  readonly to: string;
}

/**
 * Rebuild the staged tree from prepared drives: every chunk read back, MD5-checked, decrypted,
 * decompressed and XXH64-checked against the journal, written at its offset; parts of a file on
 * several drives are joined. Refuses a non-empty target, so nothing already there is overwritten.
 */
export async function restoreFromDrives(
  fs: FileSystem,
  pool: ChunkProcessor,
  opts: { drives: readonly string[]; session: string; to: string; signal: AbortSignal; onBytes?: (n: number) => void },
): Promise<RestoreResult> {
  const view = await openSessionView(fs, opts.session);
  const roots = await matchDrives(fs, view, opts.drives);
  for (const d of view.state.drives) {
    if (d && d.segments > 0 && !roots.has(d.seq)) {
      throw new SeedshipError('E_USAGE', `drive ${d.driveId} (drive ${d.seq + 1} of the job, last at ${d.path}) holds data of this job; pass it with --drive`, { path: d.path });
    }
  }
  if ((await fs.exists(opts.to)) && (await fs.readdir(opts.to)).length > 0) {
    throw new SeedshipError('E_USAGE', `--to ${opts.to} is not empty; restore into a new or empty directory`, { path: opts.to });
  }
  await fs.mkdir(opts.to);
  const pages = view.settings.blobType === 'page';
  let files = 0;
  let bytes = 0;
  const seqs = [...roots.keys()].sort((a, b) => a - b);
  for (const seq of seqs) {
    const root = roots.get(seq)!;
    const key = await view.keyOf(view.state.drive(seq).driveId);
    for await (const blob of driveBlobs(fs, view.journalPath, seq, view.naming)) {
      const out = `${opts.to}/${blob.path}`;
      await fs.mkdir(out.slice(0, out.lastIndexOf('/')));
      const h: FileHandle = await fs.open(out, blob.part === 1 ? 'w' : 'r+');
      try {
        const p = { path: `${root}/${blob.drivePath}`, pages, codec: view.settings.codec, key, tweakSeed: blobTweakSeed(view.settings.jobId, blob.path), returnRaw: true };
        const window = mapBounded(blob.chunks, { maxItems: pool.threads * 3, maxWeight: pool.threads * 3 * 4 * 1024 * 1024, weight: (c) => c.rawLength, signal: opts.signal }, (c) => pool.decode(chunkDecodeTask(c, p), opts.signal));
        for await (const { item, result } of window) {
          if (!result.ok) {
            throw new SeedshipError('E_INTEGRITY', `drive ${view.state.drive(seq).driveId}: ${blob.manifest.blobPath} block ${item.index}: ${result.message}`, { path: p.path });
          }
          if (result.raw && result.raw.length > 0) await h.write(result.raw, item.rawOffset);
          bytes += item.rawLength;
          opts.onBytes?.(item.rawLength);
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
  if (files !== view.state.filesDone) {
    throw new SeedshipError('E_INTEGRITY', `restored ${files} files, but the journal records ${view.state.filesDone} as copied; some drives are missing or incomplete`, { path: opts.to });
  }
  return { files, bytes, skippedInPrepare: view.state.filesSkipped, to: opts.to };
}
