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
  yield* walkDir(fs, { root, rel: '', drel: '' }, opts);
}

/** Where a directory or entry is: the staging root, its path under it, and its path on the drive. */
interface WalkAt {
  readonly root: string;
  readonly rel: string;
  readonly drel: string;
}

/** An entry's place, and whether its drive name differs from its staged name. */
interface EntryAt extends WalkAt {
  readonly mapped: boolean;
}

function isBeforeStart(rel: string, after: string | undefined, isDir: boolean): boolean {
  if (after === undefined) return false;
  if (isDir) {
    // A directory is wholly before `after` unless `after` lies inside it or after it.
    return !after.startsWith(`${rel}/`) && compareStagedPaths(rel, after) < 0;
  }
  return compareStagedPaths(rel, after) <= 0;
}

const childPath = (dir: string, name: string) => (dir === '' ? name : `${dir}/${name}`);

async function* walkDir(fs: FileSystem, at: WalkAt, opts: WalkOptions): AsyncGenerator<StagedFile> {
  const listing = await listDir(fs, at, opts);
  if (!listing) return;
  const { names, kinds, driveNames } = listing;
  const suffix = opts.suffix ?? '';
  const stats = new LstatBatches(fs, listing, (name) => {
    const kind = kinds.get(name);
    const wantStat = kind === 'file' || (opts.entries === true && kind !== undefined);
    return wantStat && !isBeforeStart(childPath(at.rel, name), opts.after, false);
  });
  for (let idx = 0; idx < names.length; idx++) {
    if (idx % STAT_BATCH === 0) stats.start(idx);
    const name = names[idx]!;
    const dname = driveNames[idx]!;
    const kind = kinds.get(name);
    const child: EntryAt = {
      root: at.root,
      rel: childPath(at.rel, name),
      drel: childPath(at.drel, dname),
      mapped: dname !== (kind === 'file' ? name + suffix : name),
    };
    if (kind === 'dir') {
      if (isBeforeStart(child.rel, opts.after, true)) continue;
      yield* walkSubdir(fs, child, stats.take(name), opts);
      continue;
    }
    if (isBeforeStart(child.rel, opts.after, false)) continue;
    if (kind !== 'file' && !opts.entries) {
      opts.onSkip({
        path: child.rel,
        reason: kind === 'symlink' ? 'symbolic link (not followed)' : 'special file (device, socket or FIFO)',
      });
      continue;
    }
    const e = checkedEntry(child, kind, await stats.take(name)!, opts);
    if (e) yield e;
  }
}

/** A directory's listing: its names sorted, less those excluded, with their kinds and drive names. */
interface DirListing {
  readonly abs: string;
  readonly names: readonly string[];
  readonly kinds: ReadonlyMap<string, EntryKind>;
  readonly driveNames: readonly string[];
}

/** List a directory (reporting it to `onDirectory`); undefined, reported to `onSkip`, if unreadable. */
async function listDir(fs: FileSystem, at: WalkAt, opts: WalkOptions): Promise<DirListing | undefined> {
  const { root, rel } = at;
  const abs = rel === '' ? root : `${root}/${rel}`;
  let entries: DirEntry[];
  try {
    entries = await fs.readdir(abs);
  } catch (err) {
    opts.onSkip({ path: rel || '.', reason: `directory unreadable (${errnoCode(err) ?? (err as Error).message})` });
    return undefined;
  }
  const all = entries.map((e) => e.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  opts.onDirectory?.(rel, all);
  const names = all.filter((n) => !opts.exclude(childPath(rel, n)));
  const kinds = new Map(entries.map((e) => [e.name, e.kind]));
  const driveNames = mapDirectoryNames(
    names.map((name) => ({ name, file: kinds.get(name) === 'file' })),
    opts.suffix ?? '',
  );
  return { abs, names, kinds, driveNames };
}

/**
 * lstat a directory's entries in batches (FileSystem.lstatMany): one thread-pool round trip per
 * file in series would dominate the walk of many small files.
 */
class LstatBatches {
  readonly #stats = new Map<string, Promise<FileStat | Error>>();
  readonly #fs: FileSystem;
  readonly #listing: DirListing;
  readonly #want: (name: string) => boolean;

  constructor(fs: FileSystem, listing: DirListing, want: (name: string) => boolean) {
    this.#fs = fs;
    this.#listing = listing;
    this.#want = want;
  }

  /** Start the lstat of the wanted names of the batch from index `from`. */
  start(from: number): void {
    const { names, abs } = this.#listing;
    const batch: string[] = [];
    for (let i = from; i < Math.min(names.length, from + STAT_BATCH); i++) {
      const name = names[i]!;
      if (this.#want(name)) batch.push(name);
    }
    if (batch.length === 0) return;
    const res = this.#fs.lstatMany(batch.map((name) => `${abs}/${name}`));
    batch.forEach((name, i) => {
      this.#stats.set(
        name,
        res.then((r) => r[i]!),
      );
    });
  }

  /** The lstat of `name` (undefined if it was not wanted), handed over once. */
  take(name: string): Promise<FileStat | Error> | undefined {
    const st = this.#stats.get(name);
    this.#stats.delete(name);
    return st;
  }
}

/** A subdirectory: its own entry (with `entries`), then what it holds. */
async function* walkSubdir(
  fs: FileSystem,
  at: EntryAt,
  stat: Promise<FileStat | Error> | undefined,
  opts: WalkOptions,
): AsyncGenerator<StagedFile> {
  if (stat !== undefined) {
    const s = await stat;
    if (s instanceof Error) {
      opts.onSkip({
        path: at.rel,
        reason: `vanished or unreadable during the scan (${errnoCode(s) ?? s.message})`,
      });
      return;
    }
    yield entry(at, s);
  }
  yield* walkDir(fs, at, opts);
}

/**
 * The entry of a file (or special file, with `entries`); undefined, reported to `onSkip`, if it
 * vanished or changed type.
 */
function checkedEntry(
  at: EntryAt,
  kind: EntryKind | undefined,
  st: FileStat | Error,
  opts: WalkOptions,
): StagedFile | undefined {
  if (st instanceof Error) {
    opts.onSkip({
      path: at.rel,
      reason: `vanished or unreadable during the scan (${errnoCode(st) ?? st.message})`,
    });
    return undefined;
  }
  if (st.kind !== kind) {
    opts.onSkip({ path: at.rel, reason: 'changed type during the scan' });
    return undefined;
  }
  return entry(at, st);
}

function entry(at: EntryAt, st: FileStat): StagedFile {
  const { root, rel, drel, mapped } = at;
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
