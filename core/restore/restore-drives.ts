/**
 * Restore from prepared drives: the staged tree rebuilt from the drives' data files and the
 * session's journal, every chunk checked on the way. Also what both restores share: the journal's
 * metadata of an entry, and how a restored file is finished.
 */
import type { ChunkProcessor, DecodeTask, FileHandle, FileSystem } from '../../native/interfaces.js';
import type { ChunkRec } from '../journal/record-codec.js';
import { SeedshipError } from '../errors/errors.js';
import { driveBlobs, type DriveBlob } from '../journal/drive-blobs.js';
import { matchDrives, openSessionView, type SessionView } from '../session/session-view.js';
import { mapBounded } from '../util/bounded-map.js';
import { blobTweakSeed, chunkDecodeTask } from '../chunks/chunk-task.js';
import { decodeName } from '../../native/raw-names.js';
import { EntryRestorer, makeEmptyTarget, writeWholeSparse, type RestoreMeta } from './restore-entry.js';
import { writeNonZero } from './sparse-writer.js';
import { countSkippedPaths } from '../journal/path-outcomes.js';
import type { ProgressBoard, ProgressTrack } from '../util/progress.js';
import { boardFor } from '../util/step-board.js';

export interface RestoreResult {
  readonly files: number;
  readonly bytes: number;
  readonly skippedInPrepare: number;
  readonly to: string;
}

/** What `restoreFromDrives` works on. */
export interface RestoreFromDrivesOptions {
  readonly drives: readonly string[];
  readonly session: string;
  readonly to: string;
  readonly signal: AbortSignal;
  readonly onBytes?: (n: number) => void;
  readonly board?: ProgressBoard | undefined;
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
  opts: RestoreFromDrivesOptions,
): Promise<RestoreResult> {
  const board = boardFor('restore', opts.board);
  board.setPhase('listing', `session ${opts.session}`);
  const view = await openSessionView(fs, opts.session);
  const roots = await matchDrives(fs, view, opts.drives);
  requireEveryDrive(view, roots);
  await makeEmptyTarget(fs, opts.to);
  // In the order the drives were closed: a blob's later parts are on drives closed later.
  const order = (seq: number) => view.state.drive(seq).closeOrder || Number.MAX_SAFE_INTEGER;
  const seqs = [...roots.keys()]
    .filter((seq) => view.state.drive(seq).status !== 'failed')
    .sort((a, b) => order(a) - order(b) || a - b);
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
  const run: DrivesRestore = {
    fs,
    pool,
    view,
    opts,
    board,
    entries: new EntryRestorer(fs),
    dirs: new Set<string>(),
    files: 0,
    bytes: 0,
  };
  for (const [i, seq] of seqs.entries()) {
    const track = tracks.get(seq)!;
    board.setPhase('restoring', `drive ${i + 1} of ${seqs.length}: ${track.label}`);
    track.setState('restoring');
    await restoreDrive(run, { seq, root: roots.get(seq)!, track });
    track.setState('done');
  }
  board.total.setItems(run.files);
  board.setPhase('metadata', 'modes, owners and times of directories');
  await run.entries.finish();
  if (run.files !== view.state.filesDone) {
    throw new SeedshipError(
      'E_INTEGRITY',
      `restored ${run.files} files, but the journal records ${view.state.filesDone} as copied; ` +
        'some drives are missing or incomplete',
      { path: opts.to },
    );
  }
  const skippedInPrepare = await countSkippedPaths(fs, view.journalPath);
  return { files: run.files, bytes: run.bytes, skippedInPrepare, to: opts.to };
}

/** Every drive that holds data of the job must be given. */
function requireEveryDrive(view: SessionView, roots: ReadonlyMap<number, string>): void {
  for (const d of view.state.drives) {
    // A drive that failed in prepare holds nothing restore needs: what it held was copied again.
    if (d && d.segments > 0 && d.status !== 'failed' && !roots.has(d.seq)) {
      throw new SeedshipError(
        'E_USAGE',
        `drive ${d.driveId} (drive ${d.seq + 1} of the job, last at ${d.path}) holds data of this job; ` +
          'pass it with --drive',
        { path: d.path },
      );
    }
  }
}

/** One restore from drives: what restoring each drive shares, and the counts so far. */
interface DrivesRestore {
  readonly fs: FileSystem;
  readonly pool: ChunkProcessor;
  readonly view: SessionView;
  readonly opts: RestoreFromDrivesOptions;
  readonly board: ProgressBoard;
  readonly entries: EntryRestorer;
  /** Directories made so far (by mkdir, or restored as entries). */
  readonly dirs: Set<string>;
  files: number;
  bytes: number;
}

/** One drive to restore from: its place in the job, its mount path and its progress track. */
interface DriveToRestore {
  readonly seq: number;
  readonly root: string;
  readonly track: ProgressTrack;
}

/** One chunk of a blob part on a drive, with the task that reads it back. */
interface Item {
  readonly blob: DriveBlob;
  readonly chunk: ChunkRec;
  readonly first: boolean;
  readonly last: boolean;
  readonly task: DecodeTask;
}

/** The file a blob part is being written to, between its first and last chunk. */
interface OpenFile {
  h: FileHandle | undefined;
}

/**
 * Restore every blob of one drive. One window over every chunk of every blob of the drive, so many
 * small files keep the workers busy; output files are opened at their part's first chunk and
 * closed after its last.
 */
async function restoreDrive(run: DrivesRestore, d: DriveToRestore): Promise<void> {
  const { view, pool, opts, board } = run;
  const key = await view.keyOf(view.state.drive(d.seq).driveId);
  const open: OpenFile = { h: undefined };
  try {
    const window = mapBounded(
      driveItems(run, d, key),
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
        d.track.setState('failed');
        throw new SeedshipError(
          'E_INTEGRITY',
          `drive ${view.state.drive(d.seq).driveId}: ${blob.manifest.blobPath} block ${chunk.index}: ${result.message}`,
          { path: item.task.path },
        );
      }
      d.track.add(chunk.rawLength);
      board.total.add(chunk.rawLength);
      board.total.setItems(run.files);
      await placeChunk(run, item, result.raw ?? new Uint8Array(0), open);
    }
  } finally {
    await open.h?.close();
  }
}

/** Every chunk of every blob part on the drive, in the journal's order. */
async function* driveItems(run: DrivesRestore, d: DriveToRestore, key: Uint8Array | undefined): AsyncGenerator<Item> {
  const { fs, view } = run;
  for await (const blob of driveBlobs(fs, view.journalPath, d.seq, view.naming)) {
    const p = {
      path: `${d.root}/${blob.drivePath}`,
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
      };
  }
}

/**
 * Put one checked chunk in place: a directory, link or special file made; a whole file written
 * in one step; or a chunk written at its offset into the part's file (`open`), which its first
 * chunk opens and its last closes.
 */
async function placeChunk(run: DrivesRestore, item: Item, raw: Uint8Array, open: OpenFile): Promise<void> {
  const { fs, dirs, entries, opts } = run;
  const { blob, chunk } = item;
  const out = `${opts.to}/${blob.path}`;
  const dir = out.slice(0, out.lastIndexOf('/'));
  if (item.first && !dirs.has(dir)) {
    await fs.mkdir(dir);
    dirs.add(dir);
  }
  const meta = restoreMetaOf(blob);
  if (blob.kind !== 'file') {
    // Directories, symlinks and special files are one chunk: nothing, or the link's target.
    await entries.create(out, meta, decodeName(raw));
    if (blob.kind === 'dir') dirs.add(out);
    run.files++;
    return;
  }
  if (item.first && item.last && blob.part === 1 && blob.final) {
    // A whole file in one chunk: written in one step, as most small files are.
    await writeWholeSparse(fs, out, raw);
    run.bytes += chunk.rawLength;
    opts.onBytes?.(chunk.rawLength);
    run.files++;
    await finishFile(entries, out, meta);
    return;
  }
  if (item.first) open.h = await fs.open(out, blob.part === 1 ? 'w' : 'r+');
  if (raw.length > 0) await writeNonZero(open.h!, raw, chunk.rawOffset);
  run.bytes += chunk.rawLength;
  opts.onBytes?.(chunk.rawLength);
  if (!item.last) return;
  if (blob.final) await open.h!.truncate(blob.size);
  await open.h!.close();
  open.h = undefined;
  if (blob.final) {
    run.files++;
    await finishFile(entries, out, meta);
  }
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

/**
 * A regular file's content is in place: make it a hard link to an earlier name of its inode, or
 * give it its metadata.
 */
export async function finishFile(entries: EntryRestorer, out: string, meta: RestoreMeta): Promise<void> {
  const first = entries.linkTarget(out, meta);
  if (first !== undefined) await entries.link(first, out);
  else await entries.apply(out, meta);
}
