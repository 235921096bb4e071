import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { generateStaging, SHAPES } from '../../fixtures/generate.js';
import { hashTree, tempDir } from '../support/tree.js';

const MiB = 1024 * 1024;

test('the generator is deterministic: same seed, same tree, bytes and mtimes; another seed differs', () => {
  const t = tempDir();
  try {
    const a = generateStaging(`${t.dir}/a`, { sizeBytes: 24 * MiB, shape: 'mixed', seed: 7 });
    const b = generateStaging(`${t.dir}/b`, { sizeBytes: 24 * MiB, shape: 'mixed', seed: 7 });
    const c = generateStaging(`${t.dir}/c`, { sizeBytes: 24 * MiB, shape: 'mixed', seed: 8 });
    assert.deepEqual(a, b);
    const ha = hashTree(`${t.dir}/a`);
    assert.deepEqual(ha, hashTree(`${t.dir}/b`));
    assert.notDeepEqual(ha, hashTree(`${t.dir}/c`));
    assert.ok(c.files > 0);
    const rel = 'edge/block-edges/exactly-4MiB.bin';
    assert.equal(statSync(`${t.dir}/a/${rel}`).mtimeMs, statSync(`${t.dir}/b/${rel}`).mtimeMs);
  } finally {
    t.cleanup();
  }
});

test('every shape gives about the size asked for, and the edge cases are there', () => {
  const t = tempDir();
  try {
    for (const shape of SHAPES) {
      const want = 16 * MiB;
      const r = generateStaging(`${t.dir}/${shape}`, { sizeBytes: want, shape, seed: 1 });
      assert.ok(r.files > 0, shape);
      if (shape !== 'edge') assert.ok(Math.abs(r.bytes - want) <= want * 0.1 + 4 * MiB, `${shape}: ${r.bytes}`);
    }
    const e = `${t.dir}/edge/edge`;
    assert.equal(statSync(`${e}/block-edges/exactly-4MiB.bin`).size, 4 * MiB);
    assert.equal(statSync(`${e}/block-edges/4MiB-plus-1.bin`).size, 4 * MiB + 1);
    assert.equal(statSync(`${e}/block-edges/4MiB-minus-1.bin`).size, 4 * MiB - 1);
    assert.equal(statSync(`${e}/empty/empty-1`).size, 0);
    assert.ok(hashTree(`${t.dir}/edge`).has(`edge/unicode/日本語のファイル/日本語のファイル 1.txt`));
    assert.ok(
      [...hashTree(`${t.dir}/edge`).keys()].some((k) => k.split('/').length > 20),
      'a deep path',
    );
    const vhd = hashTree(`${t.dir}/sparse-vhd`);
    for (const k of vhd.keys()) assert.equal(statSync(`${t.dir}/sparse-vhd/${k}`).size % 512, 0);
    const big = generateStaging(`${t.dir}/mixed64`, { sizeBytes: 64 * MiB, shape: 'mixed', seed: 2 });
    assert.ok(big.files > 10);
    assert.ok(statSync(`${t.dir}/mixed64/big/large-compressible.log`).size > 8 * MiB);
  } finally {
    t.cleanup();
  }
});
