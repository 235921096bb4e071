/** Bounded concurrency for a loop that starts one task per item. */
import { SeedshipError } from '../errors/errors.js';

/**
 * Unordered bounded concurrency for a loop that starts one task per item: `run` waits for a free
 * slot (backpressure: the loop pulls its next item only then) and starts the task with a signal
 * that aborts when the caller's signal does or another task fails. Wrap the loop's source in
 * `each`: it throws the first failure at the next item, and when the loop ends, normally or not,
 * it waits until every started task has settled (aborting them first if the loop did not finish),
 * so nothing runs on after the loop; a normal end then throws the first failure, if any.
 */
export class BoundedTasks {
  readonly #limit: number;
  readonly #running = new Set<Promise<void>>();
  readonly #ac = new AbortController();
  #failure: { err: unknown } | undefined;

  constructor(limit: number, signal: AbortSignal) {
    this.#limit = limit;
    if (signal.aborted) this.#ac.abort(signal.reason);
    else signal.addEventListener('abort', () => this.#ac.abort(signal.reason), { once: true, signal: this.#ac.signal });
  }

  /** The items of `src`, as long as no task has failed; see the class comment for the end. */
  async *each<T>(src: AsyncIterable<T>): AsyncGenerator<T> {
    let finished = false;
    try {
      for await (const x of src) {
        this.#throwIfFailed();
        yield x;
      }
      finished = true;
    } finally {
      // Only the reason the still-running tasks are aborted with; the caller sees the loop's own error.
      if (!finished)
        this.#ac.abort(this.#failure?.err ?? new SeedshipError('E_INTERNAL', 'the loop over the tasks stopped'));
      while (this.#running.size) await Promise.all(this.#running);
    }
    this.#throwIfFailed();
  }

  /** Start `task` once fewer than `limit` run; throws the first failure instead if there is one. */
  async run(task: (signal: AbortSignal) => Promise<void>): Promise<void> {
    while (this.#running.size >= this.#limit) await Promise.race(this.#running);
    this.#throwIfFailed();
    this.#ac.signal.throwIfAborted();
    const p: Promise<void> = task(this.#ac.signal)
      .catch((err: unknown) => {
        if (this.#failure) return;
        this.#failure = { err };
        this.#ac.abort(err);
      })
      .finally(() => this.#running.delete(p));
    this.#running.add(p);
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.err;
  }
}
