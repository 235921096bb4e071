/**
 * Ordered bounded concurrency: runs `fn` on items pulled from `src`, at most `maxItems` at once and
 * at most `maxWeight` total weight at once (a single heavier item still runs alone), and yields
 * results in input order. Backpressure comes from pulling: nothing upstream runs until there is
 * room. Promises behind a failed one are observed (no unhandled rejections), and on abort or
 * error the work already in flight is drained before the generator returns or throws.
 */
export async function* mapBounded<T, U>(
  src: AsyncIterable<T> | Iterable<T>,
  opts: { maxItems: number; maxWeight: number; weight: (x: T) => number; signal: AbortSignal },
  fn: (x: T) => Promise<U>,
): AsyncGenerator<{ item: T; result: U }> {
  const window: { item: T; weight: number; p: Promise<U> }[] = [];
  let inFlight = 0;
  const it: AsyncIterator<T> | Iterator<T> =
    Symbol.asyncIterator in src ? src[Symbol.asyncIterator]() : src[Symbol.iterator]();
  let done = false;
  try {
    for (;;) {
      while (!done && window.length < opts.maxItems && (window.length === 0 || inFlight < opts.maxWeight)) {
        opts.signal.throwIfAborted();
        const n = await it.next();
        if (n.done) {
          done = true;
          break;
        }
        const w = opts.weight(n.value);
        const p = fn(n.value);
        p.catch(() => undefined); // observed here; the error surfaces when its turn comes
        window.push({ item: n.value, weight: w, p });
        inFlight += w;
      }
      const head = window.shift();
      if (!head) return;
      inFlight -= head.weight;
      const result = await head.p;
      yield { item: head.item, result };
    }
  } finally {
    // Drain: let in-flight work finish so no worker writes into buffers we no longer own.
    await Promise.allSettled(window.map((w) => w.p));
    if (!done) await it.return?.(undefined);
  }
}
