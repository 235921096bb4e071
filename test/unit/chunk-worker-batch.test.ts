import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PiscinaChunkProcessor } from '../../native/chunk-pool.js';
import type { EncodeResult, EncodeTask } from '../../native/interfaces.js';
import { tempDir } from '../support/tree.js';

const MiB = 1024 * 1024;
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex').toUpperCase();

function taskFor(path: string, offset: number, length: number, o: Partial<EncodeTask> = {}): EncodeTask {
  const st = statSync(path);
  return {
    kind: 'encode',
    path,
    offset,
    length,
    expect: { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino },
    codec: 'none',
    level: 0,
    pages: false,
    cipher: undefined,
    tweakSeed: undefined,
    unitOffset: offset,
    ...o,
  };
}

function assertEncoded(
  r: EncodeResult | undefined,
  raw: Buffer,
  what: string,
): asserts r is Extract<EncodeResult, { ok: true }> {
  assert.ok(r?.ok, `${what}: ${r && !r.ok ? r.message : 'missing'}`);
  assert.deepEqual(Buffer.from(r.stored), raw, what);
  for (const e of r.extents)
    assert.equal(e.md5, md5(r.stored.subarray(e.at, e.at + e.length)), `${what}: extent at ${e.at}`);
}

test('encodeMany: large chunks in pooled buffers, small ones, a page blob and a failure in one task, each MD5 right', async () => {
  const { dir, cleanup } = tempDir('seedship-worker-batch-');
  const pool = new PiscinaChunkProcessor(1);
  try {
    const big = randomBytes(3 * 4 * MiB - 1000);
    writeFileSync(join(dir, 'big'), big);
    const small = [randomBytes(0), randomBytes(55), randomBytes(64 * 1024)];
    small.forEach((b, i) => {
      writeFileSync(join(dir, `s${i}`), b);
    });
    // Non-zero pages at 0 and at 3 × 512, zeros between: a page blob chunk of two extents.
    const vhd = Buffer.alloc(8 * 512);
    randomBytes(512).copy(vhd, 0);
    randomBytes(1024).copy(vhd, 3 * 512);
    writeFileSync(join(dir, 'vhd'), vhd);
    writeFileSync(join(dir, 'gone'), randomBytes(10));
    const bufs = [0, 1, 2].map(() => new ArrayBuffer(4 * MiB));
    const tasks: EncodeTask[] = [
      ...[0, 1, 2].map((i) =>
        taskFor(join(dir, 'big'), i * 4 * MiB, Math.min(4 * MiB, big.length - i * 4 * MiB), { into: bufs[i]! }),
      ),
      ...small.map((b, i) => taskFor(join(dir, `s${i}`), 0, b.length)),
      taskFor(join(dir, 'vhd'), 0, vhd.length, { pages: true }),
      { ...taskFor(join(dir, 'gone'), 0, 10), expect: { size: 11, mtimeMs: 0, ino: 0 } },
    ];
    const rs = await pool.encodeMany(tasks);
    assert.equal(rs.length, tasks.length);
    for (let i = 0; i < 3; i++) {
      const r = rs[i];
      assertEncoded(r, big.subarray(i * 4 * MiB, (i + 1) * 4 * MiB), `big chunk ${i}`);
      // Came back in its own pooled buffer, not copied into the batch's shared one.
      assert.equal(r.stored.buffer.byteLength, 4 * MiB);
      assert.equal(r.stored.byteOffset, 0);
    }
    assert.equal(new Set(rs.slice(0, 3).map((r) => r.ok && r.stored.buffer)).size, 3);
    small.forEach((b, i) => {
      assertEncoded(rs[3 + i], b, `small ${i}`);
    });
    const p = rs[6];
    assertEncoded(p, vhd, 'page blob');
    assert.deepEqual(
      p.extents.map((e) => [e.at, e.length]),
      [
        [0, 512],
        [3 * 512, 1024],
      ],
    );
    assert.equal(rs[7]?.ok, false);
  } finally {
    await pool.close();
    cleanup();
  }
});

test('encodeMany: encrypted chunks carry the MD5 of the plain stored bytes, as a single encode does', async () => {
  const { dir, cleanup } = tempDir('seedship-worker-batch-');
  const pool = new PiscinaChunkProcessor(1);
  try {
    const data = randomBytes(3 * 100_000);
    writeFileSync(join(dir, 'f'), data);
    const cipher = { key: randomBytes(64) };
    const tweakSeed = randomBytes(16);
    const tasks = [0, 1, 2].map((i) => taskFor(join(dir, 'f'), i * 100_000, 100_000, { cipher, tweakSeed }));
    const many = await pool.encodeMany(tasks);
    const one = await Promise.all(tasks.map((t) => pool.encode(t)));
    many.forEach((r, i) => {
      assert.ok(r.ok && one[i]!.ok);
      const o = one[i] as Extract<EncodeResult, { ok: true }>;
      assert.deepEqual(r.extents, [
        { at: 0, length: 100_000, md5: md5(data.subarray(i * 100_000, (i + 1) * 100_000)) },
      ]);
      assert.deepEqual(r.extents, o.extents);
      assert.deepEqual(Buffer.from(r.stored), Buffer.from(o.stored));
      assert.notDeepEqual(Buffer.from(r.stored), data.subarray(i * 100_000, (i + 1) * 100_000));
    });
  } finally {
    await pool.close();
    cleanup();
  }
});
