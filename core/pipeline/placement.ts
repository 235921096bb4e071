import { compareStagedPaths } from '../staging/scan.js';

/** What the feed needs to know of a staged entry being copied. */
export interface FedFile {
  readonly id: number;
  readonly path: string;
}

/** A piece of work for a drive's pump: copy `f` from block `from` on. */
export interface Work<F extends FedFile> {
  readonly f: F;
  readonly from: number;
  /** Drives (by sequence number) that must not take it: it did not fit there. */
  readonly notOn?: ReadonlySet<number> | undefined;
  /** The only drive that may take it (a part a crash left open there goes on there). */
  on?: number | undefined;
}

function mayTake<F extends FedFile>(w: Work<F>, seq: number): boolean {
  return (w.on === undefined || w.on === seq) && !w.notOn?.has(seq);
}

/**
 * Placement by pulling: every drive being filled has a pump that takes its next file from this
 * feed as soon as it has room in its window, so a drive that writes faster takes more files, a
 * slower one fewer, and a full one none — the data spreads over the attached drives by their
 * observed rate and their room without a rate model that could be wrong. Files keep their walk
 * order per drive (a resume continues each drive where its journal ends).
 *
 * Work handed back (the rest of a file whose drive filled, a file that did not fit on a drive, a
 * file changed during its copy) is taken before new files. The feed also keeps the *safe
 * frontier*: the last walked path up to which every file has its first record appended (or was
 * skipped). Pumps start files out of walk order, so a journal's largest started path is not a
 * safe place to resume a walk from; this one is (docs/architecture.md, journal rule 5).
 */
export class FileFeed<F extends FedFile> {
  readonly #walk: AsyncIterator<F>;
  #walkDone = false;
  readonly #queue: Work<F>[] = [];
  /** Walked files whose first record is not appended yet, in walk order. */
  readonly #order: F[] = [];
  readonly #inOrder = new Set<number>();
  readonly #settled = new Set<number>();
  #frontier: string | undefined;
  #frontierMoved = false;
  /** A walked file pulled to learn whether work is left, handed out next. */
  #peeked: F | undefined;

  constructor(walk: AsyncIterable<F>) {
    this.#walk = walk[Symbol.asyncIterator]();
  }

  /** The next work for the drive `seq`, or undefined when nothing is left that it may take. */
  async next(seq: number): Promise<Work<F> | undefined> {
    const i = this.#queue.findIndex((w) => mayTake(w, seq));
    if (i >= 0) return this.#queue.splice(i, 1)[0];
    const f = this.#peeked ?? (await this.#pull());
    this.#peeked = undefined;
    return f ? { f, from: 0 } : undefined;
  }

  /** Whether any work is left at all (pulls one file from the walk to know). */
  async anyWork(): Promise<boolean> {
    if (this.#queue.length > 0 || this.#peeked) return true;
    this.#peeked = await this.#pull();
    return this.#peeked !== undefined;
  }

  async #pull(): Promise<F | undefined> {
    if (this.#walkDone) return undefined;
    const n = await this.#walk.next();
    if (n.done) {
      this.#walkDone = true;
      return undefined;
    }
    this.#order.push(n.value);
    this.#inOrder.add(n.value.id);
    return n.value;
  }

  /** Hand work back (to be taken before new files). */
  giveBack(w: Work<F>): void {
    this.#queue.push(w);
  }

  /** Drive `seq` takes no more data: work pinned to it may go anywhere (as a new part). */
  unpin(seq: number): void {
    for (const w of this.#queue) if (w.on === seq) w.on = undefined;
  }

  /** Work handed back that no drive took yet. */
  get queued(): readonly Work<F>[] {
    return this.#queue;
  }

  /** Whether the walk or the queue still holds work. */
  get hasWork(): boolean {
    return !this.#walkDone || this.#queue.length > 0 || this.#peeked !== undefined;
  }

  /** Whether the queue holds work that drive `seq` may take, or the walk is not done. */
  hasWorkFor(seq: number): boolean {
    return !this.#walkDone || this.#peeked !== undefined || this.#queue.some((w) => mayTake(w, seq));
  }

  /** `f`'s first record (its first part starting, or its skip) was appended to the journal. */
  settle(f: F): void {
    if (!this.#inOrder.has(f.id)) return;
    this.#settled.add(f.id);
    while (this.#order.length > 0 && this.#settled.has(this.#order[0]!.id)) {
      const g = this.#order.shift()!;
      this.#settled.delete(g.id);
      this.#inOrder.delete(g.id);
      if (this.#frontier === undefined || compareStagedPaths(g.path, this.#frontier) > 0) {
        this.#frontier = g.path;
        this.#frontierMoved = true;
      }
    }
  }

  /** The safe frontier, when it moved since the last call (to be journaled), else undefined. */
  takeFrontier(): string | undefined {
    if (!this.#frontierMoved) return undefined;
    this.#frontierMoved = false;
    return this.#frontier;
  }

  /** Stop the walk (end of the run). */
  async close(): Promise<void> {
    if (!this.#walkDone) await this.#walk.return?.(undefined);
    this.#walkDone = true;
  }
}
