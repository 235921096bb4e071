import type { ChunkProcessor, DecodeTask, FileHandle, FileSystem } from '../../native/interfaces.js';
import type { ChunkRec } from '../journal/record-codec.js';
import { SeedshipError } from '../errors/errors.js';
import { driveBlobs, type DriveBlob } from '../journal/drive-blobs.js';
import { matchDrives, openSessionView } from '../session/session-view.js';
import { mapBounded } from '../util/bounded-map.js';
import { blobTweakSeed, chunkDecodeTask } from '../chunks/chunk-task.js';
import { decodeName } from '../../native/raw-names.js';
import { EntryRestorer, writeWholeSparse, type RestoreMeta } from './restore-entry.js';
import { writeNonZero } from './sparse-writer.js';
import { countSkippedPaths } from '../journal/path-outcomes.js';
import type { ProgressBoard } from '../util/progress.js';
import { boardFor } from '../util/step-board.js';

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
 *
 * Progress on `board`: phase `listing` (the journal read, the drives matched: totals from the
 * journal), `restoring` for each drive in turn, then `metadata` (directories' times and modes);
 * a track per drive (raw bytes of its chunks, of the journal's total for it), the board's total
 * those bytes with the entries restored as items (of the journal's count).
 */
export async function restoreFromDrives(
  fs: FileSystem,
  pool: ChunkProcessor,
  opts: {
    drives: readonly string[];
    session: string;
    to: string;
    signal: AbortSignal;
    onBytes?: (n: number) => void;
    board?: ProgressBoard | undefined;
  },
): Promise<RestoreResult> {
  const board = boardFor('restore', opts.board);
  board.setPhase('listing', `session ${opts.session}`);
  const view = await openSessionView(fs, opts.session);
  const roots = await matchDrives(fs, view, opts.drives);
  for (const d of view.state.drives) {
    // A drive that failed in prepare holds nothing restore needs: what it held was copied again.
    if (d && d.segments > 0 && d.status !== 'failed' && !roots.has(d.seq)) {
      throw new SeedshipError(
        'E_USAGE',
        `drive ${d.driveId} (drive ${d.seq + 1} of the job, last at ${d.path}) holds data of this job; pass it with --drive`,
        { path: d.path },
      );
    }
  }
  if ((await fs.exists(opts.to)) && (await fs.readdir(opts.to)).length > 0) {
    throw new SeedshipError('E_USAGE', `--to ${opts.to} is not empty; restore into a new or empty directory`, {
      path: opts.to,
    });
  }
  await fs.mkdir(opts.to);
  const entries = new EntryRestorer(fs);
  let files = 0;
  let bytes = 0;
  // In the order the drives were closed: a blob's later parts are on drives closed later.
  const order = (seq: number) => view.state.drive(seq).closeOrder || Number.MAX_SAFE_INTEGER;
  const seqs = [...roots.keys()]
    .filter((seq) => view.state.drive(seq).status !== 'failed')
    .sort((a, b) => order(a) - order(b) || a - b);
  const dirs = new Set<string>();
  const tracks = new Map(
    seqs.map((seq) => {
      const d = view.state.drive(seq);
      const label = `${d.driveId} ${roots.get(seq)!}`;
      const t = board.track({ key: d.driveId, label, unit: 'bytes', total: d.rawBytes });
      t.setState('waiting');
      return [seq, t] as const;
    }),
  );
  board.total.setTotal(seqs.reduce((a, seq) => a + view.state.drive(seq).rawBytes, 0));
  board.total.setItems(0, view.state.filesDone);
  // One window over every chunk of every blob of a drive, so many small files keep the workers
  // busy; output files are opened at their part's first chunk and closed after its last.
  interface Item {
    readonly blob: DriveBlob;
    readonly chunk: ChunkRec;
    readonly first: boolean;
    readonly last: boolean;
    readonly task: DecodeTask;
    readonly seq: number;
  }
  for (const [i, seq] of seqs.entries()) {
    const root = roots.get(seq)!;
    const track = tracks.get(seq)!;
    board.setPhase('restoring', `drive ${i + 1} of ${seqs.length}: ${track.label}`);
    track.setState('restoring');
    const key = await view.keyOf(view.state.drive(seq).driveId);
    async function* items(): AsyncGenerator<Item> {
      for await (const blob of driveBlobs(fs, view.journalPath, seq, view.naming)) {
        const p = {
          path: `${root}/${blob.drivePath}`,
          pages: blob.manifest.kind === 'page',
          codec: blob.manifest.segment.codec,
          key,
          tweakSeed: blobTweakSeed(view.settings.jobId, blob.path),
          returnRaw: true,
        };
        const n = blob.chunks.length;
        for (let i = 0; i < n; i++)
          yield {
            blob,
            chunk: blob.chunks[i]!,
            first: i === 0,
            last: i === n - 1,
            task: chunkDecodeTask(blob.chunks[i]!, p),
            seq,
          };
      }
    }
    let h: FileHandle | undefined;
    try {
      const window = mapBounded(
        items(),
        {
          maxItems: pool.threads * 16,
          maxWeight: pool.threads * 3 * 4 * 1024 * 1024,
          weight: (x) => Math.max(x.chunk.rawLength, 16 * 1024),
          signal: opts.signal,
        },
        (x) => pool.decode(x.task, opts.signal),
      );
      for await (const { item, result } of window) {
        const { blob, chunk } = item;
        if (!result.ok) {
          track.setState('failed');
          throw new SeedshipError(
            'E_INTEGRITY',
            `drive ${view.state.drive(seq).driveId}: ${blob.manifest.blobPath} block ${chunk.index}: ${result.message}`,
            { path: item.task.path },
          );
        }
        track.add(chunk.rawLength);
        board.total.add(chunk.rawLength);
        board.total.setItems(files);
        const out = `${opts.to}/${blob.path}`;
        const dir = out.slice(0, out.lastIndexOf('/'));
        if (item.first && !dirs.has(dir)) {
          await fs.mkdir(dir);
          dirs.add(dir);
        }
        const meta = restoreMetaOf(blob);
        if (blob.kind !== 'file') {
          // Directories, symlinks and special files are one chunk: nothing, or the link's target.
          await entries.create(out, meta, decodeName(result.raw ?? new Uint8Array(0)));
          if (blob.kind === 'dir') dirs.add(out);
          files++;
          continue;
        }
        if (item.first && item.last && blob.part === 1 && blob.final) {
          // A whole file in one chunk: written in one step, as most small files are.
          await writeWholeSparse(fs, out, result.raw ?? new Uint8Array(0));
          bytes += chunk.rawLength;
          opts.onBytes?.(chunk.rawLength);
          files++;
          await finishFile(entries, out, meta);
          continue;
        }
        if (item.first) h = await fs.open(out, blob.part === 1 ? 'w' : 'r+');
        if (result.raw && result.raw.length > 0) await writeNonZero(h!, result.raw, chunk.rawOffset);
        bytes += chunk.rawLength;
        opts.onBytes?.(chunk.rawLength);
        if (item.last) {
          if (blob.final) await h!.truncate(blob.size);
          await h!.close();
          h = undefined;
          if (blob.final) {
            files++;
            await finishFile(entries, out, meta);
          }
        }
      }
    } finally {
      await h?.close();
    }
    track.setState('done');
  }
  board.total.setItems(files);
  board.setPhase('metadata', 'modes, owners and times of directories');
  await entries.finish();
  if (files !== view.state.filesDone) {
    throw new SeedshipError(
      'E_INTEGRITY',
      `restored ${files} files, but the journal records ${view.state.filesDone} as copied; some drives are missing or incomplete`,
      { path: opts.to },
    );
  }
  return { files, bytes, skippedInPrepare: await countSkippedPaths(fs, view.journalPath), to: opts.to };
}

/** What the journal says of a blob's entry, for restore (old journals: mode and mtime only, to the ms). */
export function restoreMetaOf(b: DriveBlob): RestoreMeta {
  const m = b.meta;
  if (m)
    return {
      kind: b.kind,
      mode: m.mode,
      uid: m.uid,
      gid: m.gid,
      nlink: m.nlink,
      ino: m.ino,
      dev: m.dev,
      rdev: m.rdev,
      atimeNs: m.atimeNs,
      mtimeNs: m.mtimeNs,
    };
  const mtimeNs = BigInt(Math.round(b.mtimeMs * 1e6));
  return {
    kind: b.kind,
    mode: b.mode,
    uid: undefined,
    gid: undefined,
    nlink: undefined,
    ino: undefined,
    dev: undefined,
    rdev: undefined,
    atimeNs: mtimeNs,
    mtimeNs,
  };
}

/** A regular file's content is in place: make it a hard link to an earlier name of its inode, or give it its metadata. */
export async function finishFile(entries: EntryRestorer, out: string, meta: RestoreMeta): Promise<void> {
  const first = entries.linkTarget(out, meta);
  if (first !== undefined) await entries.link(first, out);
  else await entries.apply(out, meta);
}
