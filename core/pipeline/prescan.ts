import type { EntryKind, FileSystem } from '../../native/interfaces.js';
import { chunkCount, MAX_BLOCKS_PER_BLOB } from '../manifest/chunking.js';
import { blobNameOf } from '../manifest/naming.js';
import { walkStaging, type SkippedEntry, type StagedFile } from '../staging/scan.js';

/**
 * A staged file this session cannot store as asked (a page-blob length, too many blocks), found
 * before copying starts.
 */
export interface PathProblem {
  readonly path: string;
  readonly rule: string;
  readonly message: string;
  readonly severity: 'error' | 'warning';
}

/** A staged name that is not kept as it is: on the drive (mapped), in the account (escaped), or both. */
export interface RenamedEntry {
  readonly path: string;
  /** The drive path below the container, when it was mapped. */
  readonly drivePath: string | undefined;
  /** The blob name, when it was escaped. */
  readonly blobName: string | undefined;
}

export interface PrescanResult {
  /** Every staged entry: regular files, directories, symlinks and special files. */
  files: number;
  bytes: number;
  /** Entries by kind. */
  kinds: Record<EntryKind, number>;
  problems: PathProblem[];
  problemCount: number;
  skipped: SkippedEntry[];
  /** Names given another drive name (NTFS would not keep them) and blob names escaped. */
  mappedNames: number;
  escapedNames: number;
  /** The renamed entries (at most MAX_RENAMED_KEPT; the counts cover all). */
  renamed: RenamedEntry[];
}

/** Keep at most this many problems in memory; the count covers all of them. */
const MAX_PROBLEMS_KEPT = 1000;
/** Keep at most this many renamed entries for the session's list; the counts cover all of them. */
const MAX_RENAMED_KEPT = 100_000;

/**
 * Walk staging once before copying: totals for honest progress, every name that is mapped on
 * the drive or escaped in the account (listed, never refused), and the files this session's
 * settings cannot store, so nothing is copied before the user has decided. Reads metadata only;
 * `onEntry` lets the caller look at each entry in the same walk (the catch-up's judge).
 */
/** How the pre-scan walks and judges. */
export interface PrescanOptions {
  readonly chunkBytes: number;
  readonly pages: boolean;
  readonly suffix: string;
  /** What the copy leaves out of staging (the session's own dir), so the totals are the copy's. */
  readonly exclude: (rel: string) => boolean;
  /** Called with every entry in walk order, before the next one is read. */
  readonly onEntry?: ((f: StagedFile) => Promise<unknown>) | undefined;
  readonly signal: AbortSignal;
}

export async function prescan(fs: FileSystem, staging: string, opts: PrescanOptions): Promise<PrescanResult> {
  const r: PrescanResult = {
    files: 0,
    bytes: 0,
    kinds: { file: 0, dir: 0, symlink: 0, fifo: 0, socket: 0, char: 0, block: 0 },
    problems: [],
    problemCount: 0,
    skipped: [],
    mappedNames: 0,
    escapedNames: 0,
    renamed: [],
  };
  const walk = walkStaging(fs, staging, {
    exclude: opts.exclude,
    onSkip: (e) => r.skipped.push(e),
    entries: true,
    suffix: opts.suffix,
  });
  for await (const f of walk) {
    opts.signal.throwIfAborted();
    r.files++;
    r.kinds[f.kind]++;
    r.bytes += f.size;
    if (opts.onEntry) await opts.onEntry(f);
    noteName(r, f, opts.suffix);
    if (f.kind !== 'file') continue;
    for (const p of fileProblems(f, opts)) {
      r.problemCount++;
      if (r.problems.length < MAX_PROBLEMS_KEPT) r.problems.push(p);
    }
  }
  return r;
}

/** Count and list `f` when its drive name is mapped or its blob name escaped. */
function noteName(r: PrescanResult, f: StagedFile, suffix: string): void {
  const blob = blobNameOf(f.path, f.kind === 'file' ? suffix : '');
  if (f.mapped) r.mappedNames++;
  if (blob.escaped) r.escapedNames++;
  if ((f.mapped || blob.escaped) && r.renamed.length < MAX_RENAMED_KEPT)
    r.renamed.push({
      path: f.path,
      drivePath: f.mapped ? f.dpath : undefined,
      blobName: blob.escaped ? blob.name : undefined,
    });
}

/** What keeps a regular file from being stored with these settings. */
function fileProblems(f: StagedFile, opts: PrescanOptions): PathProblem[] {
  const out: PathProblem[] = [];
  if (opts.pages && f.size % 512 !== 0) {
    out.push({
      path: f.path,
      rule: 'page-blob-length',
      message: `page blobs need a length that is a multiple of 512 bytes; this file has ${f.size}`,
      severity: 'error',
    });
  }
  if (!opts.pages && chunkCount(f.size, opts.chunkBytes) > MAX_BLOCKS_PER_BLOB) {
    out.push({
      path: f.path,
      rule: 'blob-too-many-blocks',
      message:
        `a block blob holds at most ${MAX_BLOCKS_PER_BLOB} blocks; ` +
        `this file needs ${chunkCount(f.size, opts.chunkBytes)} (use --blob-type page)`,
      severity: 'error',
    });
  }
  return out;
}
