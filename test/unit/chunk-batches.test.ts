import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { batchChunks, type BatchLimits } from '../../core/pipeline/chunk-batches.js';

async function* from<T>(xs: T[]): AsyncGenerator<T> {
  for (const x of xs) yield x;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const limits: BatchLimits = { smallBytes: 100, maxItems: 3, maxBytes: 150 };
const withLarge: BatchLimits = { ...limits, largeItems: 2 };

test('small chunks are batched up to the limits; a large chunk stands alone and keeps its place', async () => {
  const sizes = [10, 20, 30, 40, 500, 60, 70, 80, 5];
  const got = (await collect(batchChunks(from(sizes.map((rawLength) => ({ rawLength }))), limits))).map((b) =>
    b.map((c) => c.rawLength),
  );
  assert.deepEqual(got, [[10, 20, 30], [40], [500], [60, 70], [80, 5]]);
});

test('large chunks go up to largeItems to a batch, never with small ones, and keep their order', async () => {
  const sizes = [500, 600, 700, 10, 800, 20, 30, 900, 1000];
  const got = (await collect(batchChunks(from(sizes.map((rawLength) => ({ rawLength }))), withLarge))).map((b) =>
    b.map((c) => c.rawLength),
  );
  assert.deepEqual(got, [[500, 600], [700], [10], [800], [20, 30], [900, 1000]]);
});

test('property: order and every chunk kept; batches within limits; large chunks up to largeItems, apart from small ones', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.nat(300), { maxLength: 60 }),
      fc.constantFrom(limits, withLarge),
      async (sizes, lim) => {
        const chunks = sizes.map((rawLength, i) => ({ rawLength, i }));
        const batches = await collect(batchChunks(from(chunks), lim));
        assert.deepEqual(
          batches.flat().map((c) => c.i),
          chunks.map((c) => c.i),
        );
        for (const b of batches) {
          assert.ok(b.length >= 1);
          const large = b.filter((c) => c.rawLength >= lim.smallBytes).length;
          if (large > 0) {
            assert.equal(large, b.length);
            assert.ok(b.length <= (lim.largeItems ?? 1));
          } else {
            assert.ok(b.length <= lim.maxItems);
            // A single chunk may exceed maxBytes only if it is alone.
            assert.ok(b.length === 1 || b.reduce((a, c) => a + c.rawLength, 0) <= lim.maxBytes);
          }
        }
      },
    ),
  );
});
