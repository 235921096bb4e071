/** Walks the staging tree in the fixed order of staged paths, with each entry's drive name. */
import type { DirEntry, EntryKind, FileStat, FileSystem } from '../../native/interfaces.js';
import { errnoCode } from '../errors/errors.js';
import { fitDrivePath, mapDirectoryNames } from '../manifest/naming.js';

/** Entries of one directory stat'ed at once. */
const STAT_BATCH = 64;

/** An entry under staging: a regular file, or (with `entries`) a directory, symlink or special file. */
export interface StagedFile {
  /** Relative to staging, `/`-separated; bytes that are not UTF-8 as in native/interfaces DirEntry. */
  readonly path: string;
  readonly abs: string;
  readonly kind: EntryKind;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly mode: number;
  /** The entry's lstat when the walk met it. */
  readonly stat: FileStat;
  /** Its name on a drive below the container (mapped where NTFS would not keep it; files with the suffix). */
  readonly dpath: string;
  /** Its own drive name differs from its staged name (beyond the suffix): NTFS would not keep it. */
  readonly mapped: boolean;
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
  /**
   * Called for unreadable directories and entries that vanish; without `entries`, also for symlinks and special files.
   */
  readonly onSkip: (e: SkippedEntry) => void;
  /** Called with the names of each directory, in order, before its entries are yielded. */
  readonly onDirectory?: (rel: string, names: readonly string[]) => void;
  /** Start after this path (walk order): directories wholly before it are not listed. */
  readonly after?: string;
  /** Yield directories (before their contents), symlinks and special files too. */
  readonly entries?: boolean;
  /** Suffix of regular files' drive names (`.zst`), for the drive-name mapping. */
  readonly suffix?: string;
}

/**
 * Walk `root` depth-first in a stable sorted order and yield its regular files (with `entries`,
 * every entry but the root). Symlinks are never followed. Each entry carries its drive name,
 * mapped per directory (core/manifest/naming.ts). Memory: one directory listing per level of depth.
 */
export async function* walkStaging(fs: FileSystem, root: string, opts: WalkOptions): AsyncGenerator<StagedFile> {
  yield* walkDir(fs, root, '', '', opts);
}

function isBeforeStart(rel: string, after: string | undefined, isDir: boolean): boolean {
  if (after === undefined) return false;
  if (isDir) {
    // A directory is wholly before `after` unless `after` lies inside it or after it.
    return !after.startsWith(`${rel}/`) && compareStagedPaths(rel, after) < 0;
  }
  return compareStagedPaths(rel, after) <= 0;
}

async function* walkDir(
  fs: FileSystem,
  root: string,
  rel: string,
  drel: string,
  opts: WalkOptions,
): AsyncGenerator<StagedFile> {
  const abs = rel === '' ? root : `${root}/${rel}`;
  let entries: DirEntry[];
  try {
    entries = await fs.readdir(abs);
  } catch (err) {
    opts.onSkip({ path: rel || '.', reason: `directory unreadable (${errnoCode(err) ?? (err as Error).message})` });
    return;
  }
  const all = entries.map((e) => e.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  opts.onDirectory?.(rel, all);
  const child = (name: string) => (rel === '' ? name : `${rel}/${name}`);
  const names = all.filter((n) => !opts.exclude(child(n)));
  const kinds = new Map(entries.map((e) => [e.name, e.kind]));
  const suffix = opts.suffix ?? '';
  const driveNames = mapDirectoryNames(
    names.map((name) => ({ name, file: kinds.get(name) === 'file' })),
    suffix,
  );
  const wantStat = (kind: EntryKind | undefined) => kind === 'file' || (opts.entries === true && kind !== undefined);
  // lstat a directory's entries in batches (FileSystem.lstatMany): one thread-pool round trip per
  // file in series would dominate the walk of many small files.
  const stats = new Map<string, Promise<FileStat | Error>>();
  const statBatch = (from: number) => {
    const batch: string[] = [];
    for (let i = from; i < Math.min(names.length, from + STAT_BATCH); i++) {
      const name = names[i]!;
      const kind = kinds.get(name);
      if (wantStat(kind) && !isBeforeStart(child(name), opts.after, false)) batch.push(name);
    }
    if (batch.length === 0) return;
    const res = fs.lstatMany(batch.map((name) => `${abs}/${name}`));
    batch.forEach((name, i) => {
      stats.set(
        name,
        res.then((r) => r[i]!),
      );
    });
  };
  for (let idx = 0; idx < names.length; idx++) {
    if (idx % STAT_BATCH === 0) statBatch(idx);
    const name = names[idx]!;
    const childRel = child(name);
    const dname = driveNames[idx]!;
    const childDrel = drel === '' ? dname : `${drel}/${dname}`;
    const kind = kinds.get(name);
    const mapped = dname !== (kind === 'file' ? name + suffix : name);
    if (kind === 'dir') {
      if (isBeforeStart(childRel, opts.after, true)) continue;
      const st = stats.get(name);
      stats.delete(name);
      if (st !== undefined) {
        const s = await st;
        if (s instanceof Error) {
          opts.onSkip({
            path: childRel,
            reason: `vanished or unreadable during the scan (${errnoCode(s) ?? s.message})`,
          });
          continue;
        }
        yield entry(root, childRel, childDrel, mapped, s);
      }
      yield* walkDir(fs, root, childRel, childDrel, opts);
      continue;
    }
    if (isBeforeStart(childRel, opts.after, false)) continue;
    if (kind !== 'file' && !opts.entries) {
      opts.onSkip({
        path: childRel,
        reason: kind === 'symlink' ? 'symbolic link (not followed)' : 'special file (device, socket or FIFO)',
      });
      continue;
    }
    const st = await stats.get(name)!;
    stats.delete(name);
    if (st instanceof Error) {
      opts.onSkip({
        path: childRel,
        reason: `vanished or unreadable during the scan (${errnoCode(st) ?? st.message})`,
      });
      continue;
    }
    if (st.kind !== kind) {
      opts.onSkip({ path: childRel, reason: 'changed type during the scan' });
      continue;
    }
    yield entry(root, childRel, childDrel, mapped, st);
  }
}

function entry(root: string, rel: string, drel: string, mapped: boolean, st: FileStat): StagedFile {
  const dpath = fitDrivePath(drel);
  return {
    path: rel,
    abs: `${root}/${rel}`,
    kind: st.kind,
    size: st.kind === 'file' || st.kind === 'symlink' ? st.size : 0,
    mtimeMs: st.mtimeMs,
    ino: st.ino,
    mode: st.mode,
    stat: st,
    dpath,
    mapped: mapped || dpath !== drel,
  };
}
