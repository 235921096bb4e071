import type { FileSystem } from '../../native/interfaces.js';
import { chunkCount, MAX_BLOCKS_PER_BLOB } from '../plan/chunking.js';
import { compareStagedPaths, walkStaging, type SkippedEntry } from '../plan/scan.js';
import { SESSION_ROOT_NAME } from '../session/session-layout.js';

/** A staged path the service or NTFS would refuse, found before copying starts. */
export interface PathProblem {
  readonly path: string;
  readonly rule: string;
  readonly message: string;
  readonly severity: 'error' | 'warning';
}

/** The naming rules, injected so the pre-scan does not know their details. */
export interface PathRules {
  /** Problems of one staged file's path. */
  check(rel: string, blob: { container: string; suffix: string }): readonly { rule: string; message: string; severity?: 'error' | 'warning' }[];
  /** Problems among the names of one directory (case-insensitive collisions on NTFS). */
  directory(rel: string, names: readonly string[]): readonly { path: string; rule: string; message: string }[];
}

export interface PrescanResult {
  files: number;
  bytes: number;
  problems: PathProblem[];
  problemCount: number;
  skipped: SkippedEntry[];
  /** Files at or before `frontier` in walk order (what a resumed session has already visited). */
  filesUpToFrontier: number;
}

/** Keep at most this many problems in memory; the count covers all of them. */
const MAX_PROBLEMS_KEPT = 1000;

/**
 * Walk staging once before copying: totals for honest progress, and every path the service would
 * refuse, so nothing is copied before the user has fixed them. Reads metadata only.
 */
export async function prescan(
  fs: FileSystem,
  staging: string,
  opts: { rules: PathRules; chunkBytes: number; pages: boolean; container: string; suffix: string; frontier: string | undefined; signal: AbortSignal },
): Promise<PrescanResult> {
  const r: PrescanResult = { files: 0, bytes: 0, problems: [], problemCount: 0, skipped: [], filesUpToFrontier: 0 };
  const add = (p: PathProblem) => {
    r.problemCount++;
    if (r.problems.length < MAX_PROBLEMS_KEPT) r.problems.push(p);
  };
  const walk = walkStaging(fs, staging, {
    exclude: (rel) => rel === SESSION_ROOT_NAME,
    onSkip: (e) => r.skipped.push(e),
    onDirectory: (rel, names) => {
      for (const c of opts.rules.directory(rel, names.filter((n) => !(rel === '' && n === SESSION_ROOT_NAME)))) add({ ...c, severity: 'error' });
    },
  });
  for await (const f of walk) {
    opts.signal.throwIfAborted();
    r.files++;
    r.bytes += f.size;
    if (opts.frontier !== undefined && compareStagedPaths(f.path, opts.frontier) <= 0) r.filesUpToFrontier++;
    for (const p of opts.rules.check(f.path, { container: opts.container, suffix: opts.suffix })) add({ path: f.path, rule: p.rule, message: p.message, severity: p.severity ?? 'error' });
    if (opts.pages && f.size % 512 !== 0) {
      add({ path: f.path, rule: 'page-blob-length', message: `page blobs need a length that is a multiple of 512 bytes; this file has ${f.size}`, severity: 'error' });
    }
    if (!opts.pages && chunkCount(f.size, opts.chunkBytes) > MAX_BLOCKS_PER_BLOB) {
      add({ path: f.path, rule: 'blob-too-many-blocks', message: `a block blob holds at most ${MAX_BLOCKS_PER_BLOB} blocks; this file needs ${chunkCount(f.size, opts.chunkBytes)} (use --blob-type page)`, severity: 'error' });
    }
  }
  return r;
}
