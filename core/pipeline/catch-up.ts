import type { FileSystem } from '../../native/interfaces.js';
import { JournalReader } from '../journal/journal-reader.js';
import { OUTCOME_TYPES, pathOutcomes, WalkOrder, type PathOutcome, type PathState } from '../journal/path-outcomes.js';
import { RecordType } from '../journal/record-codec.js';
import { compareStagedPaths, walkStaging, type SkippedEntry, type StagedFile } from '../staging/scan.js';

/** Paths of each kind of finding kept to name them; the counts cover all. */
const MAX_PATHS_KEPT = 1000;

/**
 * What a staged entry met in walk order is to this session:
 * - `later`: after the frontier, or being copied when a run stopped: the copy's first pass takes it;
 * - `on-drive`: copied, and unchanged since;
 * - `added`: no run copied or skipped it (added after its part of the tree was visited, or under a
 *   directory that was unreadable then) — to copy;
 * - `skipped`: the last run that met it skipped it (unreadable, kept changing, vanished) — to copy;
 * - `changed`: copied, but its size, mtime, inode or kind differ now — its copy is not replaced;
 * - `stuck`: skipped after a part of it was sealed on a drive, whose manifest lists that part.
 */
export type CatchUpVerdict = 'later' | 'on-drive' | 'added' | 'skipped' | 'changed' | 'stuck';

/** What a pass over staging found that is not on the drives as staged. */
export interface CatchUpFindings {
  /** Entries to copy (`added` or `skipped`): count, raw bytes and the first paths in walk order. */
  missing: number;
  missingBytes: number;
  readonly missingPaths: string[];
  /** Entries `changed` since their copy: count and the first paths. */
  changed: number;
  readonly changedPaths: string[];
  /** Entries `stuck` (count, and the first with the reason). */
  stuck: number;
  readonly stuckEntries: SkippedEntry[];
}

/** Walk options shared with the copy: what is left out of staging, and the suffix of files' drive names. */
export interface CatchUpWalk {
  readonly exclude: (rel: string) => boolean;
  readonly suffix: string;
}

/** What the catch-up read of a session's journal, before this run appended to it. */
export interface JournalRead {
  readonly fs: FileSystem;
  readonly journalPath: string;
  readonly frontier: string;
  /** Records (of OUTCOME_TYPES) the journal held when read: later ones are this run's. */
  readonly records: number;
  /** Outcomes out of walk order, by path. */
  readonly late: ReadonlyMap<string, PathState>;
  /** Paths started and not finished when read. */
  readonly active: ReadonlySet<string>;
}

/**
 * Catch-up: the staged entries, in the part of the tree earlier runs of a session already visited
 * (up to the journal's frontier), that are on no drive — skipped then, or added since — so a rerun
 * copies them instead of leaving them behind in silence. Changed entries are only reported: their
 * blob is on a drive already, and a second blob of the same name on another drive would make the
 * import's result depend on the order the drives are imported in (a rename, an overwrite, or page
 * writes into the other blob), and on the same drive it fails the import ("listed twice").
 *
 * Memory: no list of files. The walk and the journal are read side by side, both in walk order:
 * a file's outcome (FileDone or FileSkipped) is journaled in walk order except for files copied
 * again (restarted, resumed, or caught up here) and skipped late. Those few out-of-order outcomes
 * are read first into a map by path (`#late`); everything else is merged with the walk in one
 * streamed pass. Memory is that map (a path and five numbers per entry: it grows with the
 * entries caught up, e.g. many files added to the visited part), the files started and not
 * finished, and one directory listing per level. Time: the journal's outcome records are read
 * twice (the map, then the merge, beside the pre-scan's walk), and staging is walked a second
 * time up to the frontier only when something is to be copied.
 */
export class CatchUp {
  readonly #fs: FileSystem;
  readonly #journalPath: string;
  readonly #staging: string;
  readonly #frontier: string;
  /** Records (of OUTCOME_TYPES) the journal held when read: later ones are this run's. */
  readonly #records: number;
  readonly #late: ReadonlyMap<string, PathState>;
  /** Paths started and not finished when read: the copy's first pass resumes them. */
  readonly #active: ReadonlySet<string>;

  private constructor(p: JournalRead & { readonly staging: string }) {
    this.#fs = p.fs;
    this.#journalPath = p.journalPath;
    this.#staging = p.staging;
    this.#frontier = p.frontier;
    this.#records = p.records;
    this.#late = p.late;
    this.#active = p.active;
  }

  /**
   * Read the journal of a session before this run appends to it. Undefined when no run visited
   * any of staging yet (`frontier` undefined): then the copy's first pass walks all of it.
   */
  static async read(
    fs: FileSystem,
    journalPath: string,
    staging: string,
    frontier: string | undefined,
  ): Promise<CatchUp | undefined> {
    if (frontier === undefined) return undefined;
    const late = new Map<string, PathState>();
    const order = new WalkOrder();
    const seen = { records: 0, active: new Set<string>() };
    for await (const e of pathOutcomes(fs, journalPath, Infinity, seen))
      if (!order.next(e.path)) late.set(e.path, e.state);
    return new CatchUp({ fs, journalPath, staging, frontier, records: seen.records, late, active: seen.active });
  }

  /**
   * A judge for entries met in walk order (each path after the one before, as walkStaging yields
   * them), with what it found so far. Reads the journal as it goes: `close()` it when done.
   */
  judge(): CatchUpJudge {
    return new CatchUpJudge({
      fs: this.#fs,
      journalPath: this.#journalPath,
      records: this.#records,
      frontier: this.#frontier,
      late: this.#late,
      active: this.#active,
    });
  }

  /**
   * The entries to copy (`added` or `skipped`), in walk order, each with the lstat of this walk.
   * Walks staging up to the frontier only; owns and closes its journal reader.
   */
  async *entries(walk: CatchUpWalk): AsyncGenerator<StagedFile> {
    const judge = this.judge();
    try {
      const all = walkStaging(this.#fs, this.#staging, {
        exclude: walk.exclude,
        onSkip: () => undefined,
        entries: true,
        suffix: walk.suffix,
      });
      for await (const f of all) {
        if (compareStagedPaths(f.path, this.#frontier) > 0) break;
        const v = await judge.see(f);
        if (v === 'added' || v === 'skipped') yield f;
      }
    } finally {
      await judge.close();
    }
  }

  /**
   * After a run that stopped early (drives ran out): which of `found.missing` its records do not
   * show copied or skipped again. Reads the journal once; memory is this run's unfinished files.
   */
  async left(found: CatchUpFindings): Promise<{ count: number; paths: string[] }> {
    const named = new Set(found.missingPaths);
    const names = new Map<number, string>();
    let resolved = 0;
    let n = 0;
    const resolve = (path: string) => {
      if (compareStagedPaths(path, this.#frontier) > 0 || this.#active.has(path)) return;
      resolved++;
      named.delete(path);
    };
    for await (const r of new JournalReader(this.#fs, this.#journalPath).records(OUTCOME_TYPES)) {
      if (n++ < this.#records) continue;
      if (r.type === RecordType.SegmentStarted) {
        if (!names.has(r.file)) names.set(r.file, r.path);
      } else if (r.type === RecordType.FileDone) {
        const p = names.get(r.file);
        names.delete(r.file);
        if (p !== undefined) resolve(p);
      } else if (r.type === RecordType.FileSkipped) {
        names.delete(r.file);
        resolve(r.path);
      }
    }
    return { count: Math.max(0, found.missing - resolved), paths: [...named] };
  }
}

/** Judges entries met in walk order against the journal, merging the two streams; see CatchUp. */
export class CatchUpJudge {
  readonly findings: CatchUpFindings = {
    missing: 0,
    missingBytes: 0,
    missingPaths: [],
    changed: 0,
    changedPaths: [],
    stuck: 0,
    stuckEntries: [],
  };
  readonly #frontier: string;
  readonly #late: ReadonlyMap<string, PathState>;
  readonly #active: ReadonlySet<string>;
  readonly #events: AsyncGenerator<PathOutcome>;
  readonly #order = new WalkOrder();
  #head: PathOutcome | undefined;
  #ended = false;

  constructor(p: JournalRead) {
    this.#frontier = p.frontier;
    this.#late = p.late;
    this.#active = p.active;
    // Only the records there were when the catch-up read the journal: this run's own come later.
    this.#events = pathOutcomes(p.fs, p.journalPath, p.records, { records: 0, active: new Set() });
  }

  /** Judge `f` (see CatchUpVerdict) and add it to `findings`. */
  async see(f: StagedFile): Promise<CatchUpVerdict> {
    const { v, s } = await this.#verdict(f);
    const r = this.findings;
    if (v === 'added' || v === 'skipped') {
      r.missing++;
      r.missingBytes += f.size;
      if (r.missingPaths.length < MAX_PATHS_KEPT) r.missingPaths.push(f.path);
    } else if (v === 'changed') {
      r.changed++;
      if (r.changedPaths.length < MAX_PATHS_KEPT) r.changedPaths.push(f.path);
    } else if (v === 'stuck') {
      r.stuck++;
      const drive = s && !s.copied ? s.sealedOn : undefined;
      if (r.stuckEntries.length < MAX_PATHS_KEPT) {
        r.stuckEntries.push({
          path: f.path,
          reason:
            `skipped by an earlier run after part of it was sealed on drive ${drive ?? '?'}, ` +
            'whose manifest keeps that part, so this session cannot copy it again; ' +
            'upload it with seedship sync after the import',
        });
      }
    }
    return v;
  }

  async close(): Promise<void> {
    await this.#events.return(undefined);
  }

  async #verdict(f: StagedFile): Promise<{ v: CatchUpVerdict; s?: PathState }> {
    if (compareStagedPaths(f.path, this.#frontier) > 0 || this.#active.has(f.path)) return { v: 'later' };
    const s = await this.#stateOf(f.path);
    if (!s) return { v: 'added' };
    if (!s.copied) return { v: s.sealedOn !== undefined ? 'stuck' : 'skipped', s };
    if (s.kind !== f.kind) return { v: 'changed', s };
    // A directory's size and mtime change with what is added to or removed from it: that is
    // judged entry by entry, not as a change of the directory.
    if (f.kind === 'dir') return { v: 'on-drive', s };
    return { v: s.size === f.size && s.mtimeMs === f.mtimeMs && s.ino === f.ino ? 'on-drive' : 'changed', s };
  }

  /** The last state the journal gives `path`; paths must be asked in walk order. */
  async #stateOf(path: string): Promise<PathState | undefined> {
    while (!this.#ended && (this.#head === undefined || compareStagedPaths(this.#head.path, path) < 0)) {
      const n = await this.#events.next();
      if (n.done) {
        this.#ended = true;
        this.#head = undefined;
      } else if (this.#order.next(n.value.path)) this.#head = n.value;
      // Out-of-order outcomes are in #late (the same WalkOrder rule picked them there).
    }
    const late = this.#late.get(path);
    if (late) return late;
    return this.#head?.path === path ? this.#head.state : undefined;
  }
}
