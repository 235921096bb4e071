import type { EntryKind, FileSystem } from '../../native/interfaces.js';
import { compareStagedPaths } from '../plan/scan.js';
import { JournalReader } from './journal-reader.js';
import { RecordType } from './record-codec.js';

/**
 * What became of each staged path, read from a journal: the outcome of each copy of an entry
 * (copied whole, or skipped), and the rule that finds a path's last outcome without a list of
 * every path, by the walk order most outcomes are journaled in.
 */

/** The journal records that tell what became of each staged path. */
export const OUTCOME_TYPES: ReadonlySet<RecordType> = new Set([RecordType.DriveAttached, RecordType.DriveSealed, RecordType.SegmentStarted, RecordType.FileRestarted, RecordType.FileDone, RecordType.FileSkipped]);

/**
 * What the journal last says of a staged path: copied whole (as it was then), or skipped — and if
 * so, whether a part of it stays listed in a sealed drive's manifest (`sealedOn`: that drive's id).
 */
export type PathState =
  | { readonly copied: true; readonly kind: EntryKind; readonly size: number; readonly mtimeMs: number; readonly ino: number }
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
export async function* pathOutcomes(fs: FileSystem, journalPath: string, limit = Infinity, seen = { records: 0, active: new Set<string>() }): AsyncGenerator<PathOutcome> {
  const started = new Map<number, Started>();
  const sealed = new Set<number>();
  // A file finished with a part on a drive that failed later is on no drive.
  const failed = new Set<number>();
  for await (const r of new JournalReader(fs, journalPath).records(FAILED_TYPES)) if (r.type === RecordType.DriveFailed) failed.add(r.drive);
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
        else started.set(r.file, { path: r.path, kind: r.kind ?? 'file', gen: r.gen, size: r.size, mtimeMs: r.mtimeMs, ino: r.ino, drives: [r.drive] });
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
        else yield { path: s.path, state: { copied: true, kind: s.kind, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino } };
        break;
      }
      case RecordType.FileSkipped: {
        const s = started.get(r.file);
        started.delete(r.file);
        // A skip drops the parts on drives still open; those on sealed drives stay in their manifests.
        const on = s?.drives.find((d) => sealed.has(d));
        yield { path: r.path, state: { copied: false, sealedOn: on === undefined ? undefined : (ids[on] ?? `#${on + 1}`) } };
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
  for await (const e of pathOutcomes(fs, journalPath)) if (order.next(e.path) && !e.state.copied && !late.has(e.path)) n++;
  for (const skipped of late.values()) if (skipped) n++;
  return n;
}
