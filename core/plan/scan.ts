import type { FileStat, FileSystem } from '../../native/interfaces.js';

/** Files of one directory stat'ed at once. */
const STAT_BATCH = 64;
import { errnoCode } from '../errors.js';

/** A regular file under staging. `path` is relative, with `/` separators. */
export interface StagedFile {
  readonly path: string;
  readonly abs: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly mode: number;
}

/** Something under staging that is not copied, and why. */
export interface SkippedEntry {
  readonly path: string;
  readonly reason: string;
}

/** Order of the walk: component-wise, each directory's names sorted by UTF-16 code units. */
export function compareStagedPaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

export interface WalkOptions {
  /** Relative paths (files or dirs) left out entirely, e.g. the session root `.seedship`. */
  readonly exclude: (rel: string) => boolean;
  /** Called for symlinks, special files and unreadable directories. */
  readonly onSkip: (e: SkippedEntry) => void;
  /** Called with the names of each directory, in order, before its entries are yielded. */
  readonly onDirectory?: (rel: string, names: readonly string[]) => void;
  /** Start after this path (walk order): directories wholly before it are not listed. */
  readonly after?: string;
}

/**
 * Walk `root` depth-first in a stable sorted order and yield its regular files. Symlinks are
 * listed (never followed); special files and unreadable directories are listed and skipped.
 * Memory: one directory listing per level of depth.
 */
export async function* walkStaging(fs: FileSystem, root: string, opts: WalkOptions): AsyncGenerator<StagedFile> {
  yield* walkDir(fs, root, '', opts);
}

function isBeforeStart(rel: string, after: string | undefined, isDir: boolean): boolean {
  if (after === undefined) return false;
  if (isDir) {
    // A directory is wholly before `after` unless `after` lies inside it or after it.
    return !after.startsWith(rel + '/') && compareStagedPaths(rel, after) < 0;
  }
  return compareStagedPaths(rel, after) <= 0;
}

async function* walkDir(fs: FileSystem, root: string, rel: string, opts: WalkOptions): AsyncGenerator<StagedFile> {
  const abs = rel === '' ? root : `${root}/${rel}`;
  let entries;
  try {
    entries = await fs.readdir(abs);
  } catch (err) {
    opts.onSkip({ path: rel || '.', reason: `directory unreadable (${errnoCode(err) ?? (err as Error).message})` });
    return;
  }
  const names = entries.map((e) => e.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  opts.onDirectory?.(rel, names);
  const kinds = new Map(entries.map((e) => [e.name, e.kind]));
  // lstat a directory's files in batches (FileSystem.lstatMany): one thread-pool round trip per
  // file in series would dominate the walk of many small files.
  const stats = new Map<string, Promise<FileStat | Error>>();
  const statBatch = (from: number) => {
    const batch: string[] = [];
    for (let i = from; i < Math.min(names.length, from + STAT_BATCH); i++) {
      const name = names[i]!;
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if (kinds.get(name) === 'file' && !opts.exclude(childRel) && !isBeforeStart(childRel, opts.after, false)) batch.push(name);
    }
    if (batch.length === 0) return;
    const all = fs.lstatMany(batch.map((name) => `${abs}/${name}`));
    batch.forEach((name, i) => stats.set(name, all.then((r) => r[i]!)));
  };
  for (let idx = 0; idx < names.length; idx++) {
    if (idx % STAT_BATCH === 0) statBatch(idx);
    const name = names[idx]!;
    const childRel = rel === '' ? name : `${rel}/${name}`;
    if (opts.exclude(childRel)) continue;
    const kind = kinds.get(name);
    if (kind === 'dir') {
      if (isBeforeStart(childRel, opts.after, true)) continue;
      yield* walkDir(fs, root, childRel, opts);
      continue;
    }
    if (isBeforeStart(childRel, opts.after, false)) continue;
    if (kind === 'symlink') {
      opts.onSkip({ path: childRel, reason: 'symbolic link (not followed)' });
      continue;
    }
    if (kind !== 'file') {
      opts.onSkip({ path: childRel, reason: 'special file (device, socket or FIFO)' });
      continue;
    }
    const st = await stats.get(name)!;
    stats.delete(name);
    if (st instanceof Error) {
      opts.onSkip({ path: childRel, reason: `vanished or unreadable during the scan (${errnoCode(st) ?? st.message})` });
      continue;
    }
    if (st.kind !== 'file') {
      opts.onSkip({ path: childRel, reason: 'changed type during the scan' });
      continue;
    }
    yield { path: childRel, abs: `${root}/${childRel}`, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, mode: st.mode };
  }
}
