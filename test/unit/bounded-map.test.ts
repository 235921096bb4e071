import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapBounded } from '../../core/util/bounded-map.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function* source(n: number, onReturn?: () => void): AsyncGenerator<number> {
  try {
    for (let i = 0; i < n; i++) yield i;
  } finally {
    onReturn?.();
  }
}

test('yields in input order and never runs more than maxItems or maxWeight at once', async () => {
  let running = 0;
  let peak = 0;
  let peakWeight = 0;
  let weight = 0;
  const out: number[] = [];
  const ac = new AbortController();
  for await (const { item, result } of mapBounded(
    source(40),
    { maxItems: 5, maxWeight: 12, weight: (x) => (x % 4) + 1, signal: ac.signal },
    async (x) => {
      running++;
      weight += (x % 4) + 1;
      peak = Math.max(peak, running);
      peakWeight = Math.max(peakWeight, weight);
      await sleep((40 - x) % 7);
      running--;
      weight -= (x % 4) + 1;
      return x * 2;
    },
  )) {
    assert.equal(result, item * 2);
    out.push(item);
  }
  assert.deepEqual(
    out,
    Array.from({ length: 40 }, (_, i) => i),
  );
  assert.ok(peak <= 5, `peak ${peak}`);
  assert.ok(peakWeight <= 12 + 4, `peak weight ${peakWeight}`);
});

test('a single item heavier than maxWeight still runs; a sync iterable works', async () => {
  const ac = new AbortController();
  const got: number[] = [];
  for await (const { result } of mapBounded(
    [100, 1, 2],
    { maxItems: 4, maxWeight: 10, weight: (x) => x, signal: ac.signal },
    async (x) => x,
  ))
    got.push(result);
  assert.deepEqual(got, [100, 1, 2]);
});

test('a failure surfaces in order, later failures are observed (no unhandled rejection), in-flight work is drained', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  let settled = 0;
  let started = 0;
  let returned = false;
  const ac = new AbortController();
  try {
    await assert.rejects(
      (async () => {
        for await (const _ of mapBounded(
          source(50, () => (returned = true)),
          { maxItems: 6, maxWeight: 100, weight: () => 1, signal: ac.signal },
          async (x) => {
            started++;
            try {
              await sleep(x === 2 ? 5 : 20);
              if (x >= 2) throw new Error(`boom ${x}`);
              return x;
            } finally {
              settled++;
            }
          },
        ));
      })(),
      /boom 2/,
    );
    await sleep(50);
    assert.equal(settled, started, 'every started call settled before the generator finished');
    assert.ok(returned, 'the source was closed');
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('abort: the next pull throws and in-flight work is drained first', async () => {
  const ac = new AbortController();
  let started = 0;
  let settled = 0;
  await assert.rejects(
    (async () => {
      for await (const { item } of mapBounded(
        source(100),
        { maxItems: 4, maxWeight: 100, weight: () => 1, signal: ac.signal },
        async (x) => {
          started++;
          await sleep(10);
          settled++;
          return x;
        },
      )) {
        if (item === 3) ac.abort(new Error('stop'));
      }
    })(),
    /stop/,
  );
  assert.equal(settled, started);
  assert.ok(started < 100);
});
