/**
 * What became of each staged path, read from a journal: the outcome of each copy of an entry
 * (copied whole, or skipped), and the rule that finds a path's last outcome without a list of
 * every path, by the walk order most outcomes are journaled in.
 */
import type { EntryKind, FileSystem } from '../../native/interfaces.js';
import { compareStagedPaths } from '../staging/scan.js';
import { JournalReader } from './journal-reader.js';
import { RecordType } from './record-codec.js';

/** The journal records that tell what became of each staged path. */
export const OUTCOME_TYPES: ReadonlySet<RecordType> = new Set([
  RecordType.DriveAttached,
  RecordType.DriveSealed,
  RecordType.SegmentStarted,
  RecordType.FileRestarted,
  RecordType.FileDone,
  RecordType.FileSkipped,
]);

/**
 * What the journal last says of a staged path: copied whole (as it was then), or skipped — and if
 * so, whether a part of it stays listed in a sealed drive's manifest (`sealedOn`: that drive's id).
 */
export type PathState =
  | {
      readonly copied: true;
      readonly kind: EntryKind;
      readonly size: number;
      readonly mtimeMs: number;
      readonly ino: number;
    }
  | { readonly copied: false; readonly sealedOn: string | undefined };

export interface PathOutcome {
  readonly path: string;
  readonly state: PathState;
}

/**
 * Splits outcomes into those in walk order (each path after every earlier one in order) and the
 * rest. An in-order outcome is the first of its path, and any later outcome of the same path is
 * out of order, so the last outcome of a path is its out-of-order one when there is one.
 */
export class WalkOrder {
  #last: string | undefined;

  next(path: string): boolean {
    if (this.#last !== undefined && compareStagedPaths(path, this.#last) <= 0) return false;
    this.#last = path;
    return true;
  }
}

const FAILED_TYPES: ReadonlySet<RecordType> = new Set([RecordType.DriveFailed]);

interface Started {
  readonly path: string;
  readonly kind: EntryKind;
  gen: number;
  size: number;
  mtimeMs: number;
  ino: number;
  drives: number[];
}

/**
 * The outcome of each file in journal order: copied (FileDone of its final generation) or skipped
 * (with the sealed drive a part of it stays on, if any). Reads at most `limit` records of
 * OUTCOME_TYPES; leaves in `seen` how many it read and the paths started and not finished.
 */
export async function* pathOutcomes(
  fs: FileSystem,
  journalPath: string,
  limit = Infinity,
  seen = { records: 0, active: new Set<string>() },
): AsyncGenerator<PathOutcome> {
  yield* reorderLocally(journalOutcomes(fs, journalPath, limit, seen), REORDER_WINDOW);
}

/**
 * Outcomes a parallel copy journals out of walk order by at most this many places (every drive's
 * pump finishes its own files in walk order, and the pumps take files from one walk): re-sorted
 * here, so they count as in order and stay out of the map of late outcomes. ~100 bytes each.
 */
export const REORDER_WINDOW = 65_536;

/**
 * Yields `src` re-sorted by path within a window of `window` items (a heap; ties keep their
 * order), so outcomes disordered only locally come out in walk order. Deterministic: the same
 * journal gives the same sequence, which the two passes over it rely on.
 */
export async function* reorderLocally(src: AsyncIterable<PathOutcome>, window: number): AsyncGenerator<PathOutcome> {
  const heap: { o: PathOutcome; n: number }[] = [];
  const less = (a: { o: PathOutcome; n: number }, b: { o: PathOutcome; n: number }) => {
    const c = compareStagedPaths(a.o.path, b.o.path);
    return c < 0 || (c === 0 && a.n < b.n);
  };
  const push = (x: { o: PathOutcome; n: number }) => {
    heap.push(x);
    for (let i = heap.length - 1; i > 0; ) {
      const up = (i - 1) >> 1;
      if (!less(heap[i]!, heap[up]!)) break;
      [heap[i], heap[up]] = [heap[up]!, heap[i]!];
      i = up;
    }
  };
  const pop = (): PathOutcome => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top.o;
  };
  let n = 0;
  for await (const o of src) {
    push({ o, n: n++ });
    if (heap.length > window) yield pop();
  }
  while (heap.length > 0) yield pop();
}

async function* journalOutcomes(
  fs: FileSystem,
  journalPath: string,
  limit: number,
  seen: { records: number; active: Set<string> },
): AsyncGenerator<PathOutcome> {
  const started = new Map<number, Started>();
  const sealed = new Set<number>();
  // A file finished with a part on a drive that failed later is on no drive.
  const failed = new Set<number>();
  for await (const r of new JournalReader(fs, journalPath).records(FAILED_TYPES))
    if (r.type === RecordType.DriveFailed) failed.add(r.drive);
  const ids: string[] = [];
  for await (const r of new JournalReader(fs, journalPath).records(OUTCOME_TYPES)) {
    if (seen.records >= limit) break;
    seen.records++;
    switch (r.type) {
      case RecordType.DriveAttached:
        ids[r.drive] = r.driveId;
        break;
      case RecordType.DriveSealed:
        sealed.add(r.drive);
        break;
      case RecordType.SegmentStarted: {
        const s = started.get(r.file);
        if (s) s.drives.push(r.drive);
        else
          started.set(r.file, {
            path: r.path,
            kind: r.kind ?? 'file',
            gen: r.gen,
            size: r.size,
            mtimeMs: r.mtimeMs,
            ino: r.ino,
            drives: [r.drive],
          });
        break;
      }
      case RecordType.FileRestarted: {
        const s = started.get(r.file);
        if (!s) break;
        // The copy starts over; the parts of the earlier generation leave every manifest.
        Object.assign(s, { gen: r.gen, size: r.size, mtimeMs: r.mtimeMs, ino: r.ino, drives: [] });
        break;
      }
      case RecordType.FileDone: {
        const s = started.get(r.file);
        if (!s || s.gen !== r.gen) break;
        started.delete(r.file);
        if (s.drives.some((d) => failed.has(d))) yield { path: s.path, state: { copied: false, sealedOn: undefined } };
        else
          yield { path: s.path, state: { copied: true, kind: s.kind, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino } };
        break;
      }
      case RecordType.FileSkipped: {
        const s = started.get(r.file);
        started.delete(r.file);
        // A skip drops the parts on drives still open; those on sealed drives stay in their manifests.
        const on = s?.drives.find((d) => sealed.has(d));
        yield {
          path: r.path,
          state: { copied: false, sealedOn: on === undefined ? undefined : (ids[on] ?? `#${on + 1}`) },
        };
        break;
      }
      default:
        break;
    }
  }
  for (const s of started.values()) seen.active.add(s.path);
}

/**
 * How many staged paths the journal last shows skipped: a skip made good by a later run's copy of
 * the same path does not count. Two reads of the journal; memory is the outcomes out of walk
 * order (WalkOrder) and the files started and not finished.
 */
export async function countSkippedPaths(fs: FileSystem, journalPath: string): Promise<number> {
  const late = new Map<string, boolean>();
  let order = new WalkOrder();
  for await (const e of pathOutcomes(fs, journalPath)) if (!order.next(e.path)) late.set(e.path, !e.state.copied);
  let n = 0;
  order = new WalkOrder();
  for await (const e of pathOutcomes(fs, journalPath))
    if (order.next(e.path) && !e.state.copied && !late.has(e.path)) n++;
  for (const skipped of late.values()) if (skipped) n++;
  return n;
}
