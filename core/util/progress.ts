/**
 * Progress of one long step (prepare, read-back, verify, plan's scan, import, restore, sync, bench),
 * kept as counters the step bumps cheaply and a viewer reads when it wants to: the live display
 * four times a second, the plain log line every ten seconds, the run log, the report's chart.
 * Core never decides how often anything is shown; it only counts.
 *
 * A board has one `total` track (the whole step) and a track per drive (or per blob, per
 * container: whatever the step spreads its work over). Rates are observed over a sliding window,
 * so an ETA follows what the hardware does now.
 */
import type { Clock } from '../../native/interfaces.js';
import { RateMeter } from './rate-meter.js';

export type ProgressUnit = 'bytes' | 'files' | 'entries' | 'blobs';

/** What a track is doing now. */
export type TrackState =
  | 'waiting'
  | 'scanning'
  | 'writing'
  | 'sealing'
  | 'reading back'
  | 'verifying'
  | 'importing'
  | 'restoring'
  | 'syncing'
  | 'measuring'
  | 'done'
  | 'failed';

export interface TrackInit {
  /** Stable key: a drive id, a path, a container; `total` is the board's own. */
  readonly key: string;
  /** What the operator sees, e.g. `SS0001 /mnt/a`. */
  readonly label: string;
  readonly unit?: ProgressUnit | undefined;
  /** Work to do, when known. */
  readonly total?: number | undefined;
  /** A drive's usable bytes: with `used`, the fill shown beside it. */
  readonly capacity?: number | undefined;
}

export interface TrackSnapshot {
  readonly key: string;
  readonly label: string;
  readonly unit: ProgressUnit;
  readonly done: number;
  readonly total: number | undefined;
  /** Units a second over the recent past; 0 until measured. */
  readonly rate: number;
  /** Seconds left at `rate`; undefined while unknown. */
  readonly etaSeconds: number | undefined;
  readonly state: TrackState | undefined;
  /** Bytes on the drive and its usable size, for a drive's fill. */
  readonly used: number | undefined;
  readonly capacity: number | undefined;
  /** Files (or entries) done, besides bytes, when the step counts both. */
  readonly items: number | undefined;
  readonly itemsTotal: number | undefined;
}

export interface ProgressSnapshot {
  /** The command's step: prepare, verify, plan, import, restore, sync, bench. */
  readonly step: string;
  /** Its phase now: scan, copy, seal, read-back, … */
  readonly phase: string;
  /** The phase's message, if it has one. */
  readonly message: string | undefined;
  /** Since the board was made (ms). */
  readonly elapsedMs: number;
  readonly total: TrackSnapshot;
  readonly tracks: readonly TrackSnapshot[];
}

export interface PhaseChange {
  readonly step: string;
  readonly phase: string;
  readonly message: string | undefined;
  readonly elapsedMs: number;
}

/** One counter of a board. Every method is cheap: call it per chunk. */
export class ProgressTrack {
  readonly key: string;
  label: string;
  readonly unit: ProgressUnit;
  done = 0;
  total: number | undefined;
  state: TrackState | undefined;
  used: number | undefined;
  capacity: number | undefined;
  items: number | undefined;
  itemsTotal: number | undefined;
  readonly #rate = new RateMeter();
  readonly #clock: Clock;

  constructor(init: TrackInit, clock: Clock) {
    this.key = init.key;
    this.label = init.label;
    this.unit = init.unit ?? 'bytes';
    this.total = init.total;
    this.capacity = init.capacity;
    this.#clock = clock;
  }

  add(n: number): void {
    this.done += n;
  }

  set(done: number): void {
    this.done = done;
  }

  setTotal(total: number | undefined): void {
    this.total = total;
  }

  setState(state: TrackState): void {
    this.state = state;
  }

  /** A drive's bytes on disk against its usable size. */
  setFill(used: number, capacity: number | undefined = this.capacity): void {
    this.used = used;
    this.capacity = capacity;
  }

  /** Files or entries besides bytes. */
  setItems(done: number, total?: number): void {
    this.items = done;
    if (total !== undefined) this.itemsTotal = total;
  }

  snapshot(): TrackSnapshot {
    this.#rate.add(this.#clock.monotonic(), this.done);
    const rate = this.#rate.rate();
    const left = this.total !== undefined ? Math.max(0, this.total - this.done) : undefined;
    return {
      key: this.key,
      label: this.label,
      unit: this.unit,
      done: this.done,
      total: this.total,
      rate,
      etaSeconds: left !== undefined && rate > 0 ? left / rate : undefined,
      state: this.state,
      used: this.used,
      capacity: this.capacity,
      items: this.items,
      itemsTotal: this.itemsTotal,
    };
  }
}

export type PhaseListener = (change: PhaseChange) => void;

/** The progress of one step. Made by the caller (the CLI) and handed to core, or made by core when none is given. */
export class ProgressBoard {
  readonly step: string;
  readonly total: ProgressTrack;
  readonly #clock: Clock;
  readonly #start: number;
  readonly #tracks = new Map<string, ProgressTrack>();
  readonly #listeners: PhaseListener[] = [];
  #phase = 'start';
  #message: string | undefined;

  constructor(step: string, clock: Clock, total: Omit<TrackInit, 'key'> = { label: step }) {
    this.step = step;
    this.#clock = clock;
    this.#start = clock.monotonic();
    this.total = new ProgressTrack({ ...total, key: 'total' }, clock);
  }

  get phase(): string {
    return this.#phase;
  }

  /** Enter a phase (scan, copy, seal, read-back, …); viewers hear of it at once. */
  setPhase(phase: string, message?: string): void {
    this.#phase = phase;
    this.#message = message;
    const change = { step: this.step, phase, message, elapsedMs: this.elapsedMs() };
    for (const l of this.#listeners) l(change);
  }

  onPhase(listener: PhaseListener): void {
    this.#listeners.push(listener);
  }

  /** The track of `key`, made on first use (a drive, a blob, a container). */
  track(init: TrackInit): ProgressTrack {
    let t = this.#tracks.get(init.key);
    if (!t) {
      t = new ProgressTrack(init, this.#clock);
      this.#tracks.set(init.key, t);
    }
    return t;
  }

  /** Drop a track that is no longer of interest (a blob finished). Drives stay to the end. */
  drop(key: string): void {
    this.#tracks.delete(key);
  }

  elapsedMs(): number {
    return this.#clock.monotonic() - this.#start;
  }

  snapshot(): ProgressSnapshot {
    return {
      step: this.step,
      phase: this.#phase,
      message: this.#message,
      elapsedMs: this.elapsedMs(),
      total: this.total.snapshot(),
      tracks: [...this.#tracks.values()].map((t) => t.snapshot()),
    };
  }
}
