import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reorderLocally, type PathOutcome } from '../../core/journal/path-outcomes.js';

async function* from(xs: PathOutcome[]): AsyncGenerator<PathOutcome> {
  for (const x of xs) yield x;
}

const copied = (path: string, size = 1): PathOutcome => ({
  path,
  state: { copied: true, kind: 'file', size, mtimeMs: 0, ino: 0 },
});

test('outcomes out of walk order by less than the window come out in walk order, ties in journal order', async () => {
  // Two pumps finishing their own files in walk order, interleaved; a path copied twice.
  const journal = [
    copied('a/1'),
    copied('b/1'),
    copied('a/2'),
    copied('a/3', 1),
    copied('b/2'),
    copied('a/3', 2),
    copied('c'),
  ];
  const out: PathOutcome[] = [];
  for await (const o of reorderLocally(from(journal), 4)) out.push(o);
  assert.deepEqual(
    out.map((o) => o.path),
    ['a/1', 'a/2', 'a/3', 'a/3', 'b/1', 'b/2', 'c'],
  );
  const sizes = out.filter((o) => o.path === 'a/3').map((o) => (o.state.copied ? o.state.size : -1));
  assert.deepEqual(sizes, [1, 2], 'the earlier outcome of a path first');
});

test('an outcome further out of order than the window stays out of order (a late outcome)', async () => {
  const journal = [copied('m'), copied('n'), copied('o'), copied('p'), copied('a')];
  const out: string[] = [];
  for await (const o of reorderLocally(from(journal), 2)) out.push(o.path);
  assert.deepEqual(out, ['m', 'n', 'a', 'o', 'p']);
});
