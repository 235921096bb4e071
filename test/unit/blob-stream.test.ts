import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { compress } from 'zstd-napi';
import { createCodecKit } from '../../native/codec-kit.js';
import { NodeFileSystem } from '../../native/node-fs.js';
import type { BlobStore } from '../../native/blob-store-types.js';
import { restoreBlobToFile } from '../../core/restore/blob-stream.js';
import { SparseWriter, writeNonZero } from '../../core/restore/sparse-writer.js';
import { BoundedTasks } from '../../core/util/bounded-tasks.js';
import { bytesOf, tempDir } from '../support/tree.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const t = tempDir('seedship-blob-stream-');
after(() => t.cleanup());
const fs = new NodeFileSystem();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A BlobStore holding one blob in memory that streams it in the piece sizes given (cycled). */
function fakeStore(
  data: Uint8Array,
  pieceSizes: number[],
  opts: { failAt?: number } = {},
): BlobStore & { returned: boolean } {
  const s = {
    returned: false,
    async *downloadStream(_c: string, _b: string, offset: number, length: number) {
      try {
        let at = offset;
        let i = 0;
        while (at < offset + length) {
          if (opts.failAt !== undefined && at >= opts.failAt) throw new Error('connection reset');
          const n = Math.min(pieceSizes[i++ % pieceSizes.length]!, offset + length - at);
          yield data.subarray(at, at + n);
          at += n;
        }
      } finally {
        s.returned = true;
      }
    },
  };
  return s as unknown as BlobStore & { returned: boolean };
}

/** zstd frames back to back, one per `frameBytes` of `raw` (as a zstd copy stores a file). */
function framesOf(raw: Buffer, frameBytes: number): Buffer {
  const frames: Buffer[] = [];
  for (let o = 0; o < raw.length; o += frameBytes)
    frames.push(compress(raw.subarray(o, o + frameBytes), { compressionLevel: 1 }));
  return Buffer.concat(frames);
}

/** Zeros with random 4 KiB-unaligned islands: holes must appear only where whole blocks are zero. */
function sparseSample(size: number): Buffer {
  const b = Buffer.alloc(size);
  bytesOf(10 * KiB + 3, 1).copy(b, 5000);
  bytesOf(1 * MiB, 2).copy(b, 3 * MiB + 17);
  bytesOf(100, 3).copy(b, size - 100);
  return b;
}

test('writeNonZero writes only the non-zero 4 KiB blocks, aligned to the file, and the rest reads as zeros', async () => {
  const p = `${t.dir}/wnz.bin`;
  const data = Buffer.alloc(64 * KiB);
  data[100] = 1; // block 0 of the file (position 1000 → 1000..4095 is the first, partial block)
  data[3096 + 4096 * 3 + 5] = 2;
  const h = await fs.open(p, 'w');
  const written = await writeNonZero(h, data, 1000);
  await h.truncate(1000 + data.length);
  await h.close();
  // Non-zero: the partial first block (3096 bytes) and one whole block.
  assert.equal(written, 3096 + 4096);
  const back = readFileSync(p);
  assert.equal(back.length, 1000 + data.length);
  assert.ok(back.subarray(1000).equals(data));
  assert.ok(back.subarray(0, 1000).equals(Buffer.alloc(1000)));
});

test('SparseWriter: any piece sizes give the same bytes, zero blocks become holes, length set at the end', async () => {
  const data = sparseSample(9 * MiB + 123);
  for (const sizes of [[1, 65_535], [4095, 4097], [MiB + 1], [9 * MiB + 123], [8 * MiB + 7, 3]]) {
    const p = `${t.dir}/sw-${sizes.join('-')}.bin`;
    const h = await fs.open(p, 'w');
    const w = new SparseWriter(h);
    for (let at = 0, i = 0; at < data.length; ) {
      const n = Math.min(sizes[i++ % sizes.length]!, data.length - at);
      await w.append(data.subarray(at, at + n));
      at += n;
    }
    assert.equal(await w.finish(), data.length);
    await h.close();
    assert.ok(readFileSync(p).equals(data), `pieces ${sizes.join(',')}`);
    assert.ok(w.written < 1.2 * MiB, `wrote ${w.written}`);
    assert.ok(statSync(p).blocks * 512 < 2 * MiB, `${p}: ${statSync(p).blocks} blocks allocated`);
  }
  // All zeros: nothing written, a hole of the full length.
  const p = `${t.dir}/sw-zero.bin`;
  const h = await fs.open(p, 'w');
  const w = new SparseWriter(h);
  await w.append(Buffer.alloc(5 * MiB));
  assert.equal(await w.finish(), 5 * MiB);
  await h.close();
  assert.equal(statSync(p).size, 5 * MiB);
  assert.equal(statSync(p).blocks, 0);
  assert.equal(w.written, 0);
});

test('zstd decoder: frames straddling pieces, many frames in one piece, bounded output pieces', async () => {
  const kit = await createCodecKit();
  const raw = Buffer.concat([Buffer.alloc(9 * MiB), bytesOf(3 * MiB + 5, 4, 'text'), bytesOf(64 * KiB, 5)]);
  const frames = [0, 4, 8, 12].map((o) => compress(raw.subarray(o * MiB, (o + 4) * MiB), { compressionLevel: 1 }));
  const z = Buffer.concat(frames);
  const ends = new Set(frames.map((_, i) => frames.slice(0, i + 1).reduce((a, f) => a + f.length, 0)));
  for (const piece of [13, 4096, 65_537, z.length]) {
    const dec = kit.createZstdDecoder(256 * KiB);
    const out: Buffer[] = [];
    for (let at = 0; at < z.length; at += piece) {
      for (const o of dec.decode(z.subarray(at, at + piece))) {
        assert.ok(o.length <= 256 * KiB && o.length > 0);
        out.push(Buffer.from(o));
      }
      const end = Math.min(at + piece, z.length);
      assert.equal(dec.atFrameEnd, ends.has(end), `piece ${piece} ending at ${end}`);
    }
    dec.close();
    assert.ok(Buffer.concat(out).equals(raw), `piece ${piece}`);
  }
  // A truncated stream is seen; garbage throws.
  const dec = kit.createZstdDecoder();
  for (const o of dec.decode(z.subarray(0, z.length - 10))) void o;
  assert.equal(dec.atFrameEnd, false);
  dec.close();
  const bad = kit.createZstdDecoder();
  assert.throws(() => [...bad.decode(Buffer.from('not zstd at all, not at all'))]);
  bad.close();
  bad.close();
});

test('restoreBlobToFile: plain and zst blobs streamed in odd pieces, exact bytes and holes', async () => {
  const kit = await createCodecKit();
  const raw = sparseSample(13 * MiB + 4321);
  const z = framesOf(raw, 4 * MiB);
  for (const [name, stored, zst] of [
    ['plain', raw, false],
    ['zst', z, true],
  ] as const) {
    for (const sizes of [[65_536], [1, 999, 4 * MiB + 1], [stored.length]]) {
      const out = `${t.dir}/r-${name}-${sizes[0]}.bin`;
      const store = fakeStore(stored, sizes);
      let reported = 0;
      const n = await restoreBlobToFile(fs, kit, store, {
        container: 'c',
        blob: name,
        size: stored.length,
        zst,
        out,
        signal: new AbortController().signal,
        onBytes: (b) => (reported += b),
      });
      assert.equal(n, raw.length);
      assert.equal(reported, raw.length);
      assert.ok(readFileSync(out).equals(raw), `${name} ${sizes.join(',')}`);
      assert.ok(statSync(out).blocks * 512 < 2 * MiB, `${name}: ${statSync(out).blocks} blocks`);
      assert.ok(store.returned);
    }
  }
  // Empty blobs, plain and zst: an empty file.
  for (const zst of [false, true]) {
    const out = `${t.dir}/empty-${zst}`;
    assert.equal(
      await restoreBlobToFile(fs, kit, fakeStore(Buffer.alloc(0), [1]), {
        container: 'c',
        blob: 'e',
        size: 0,
        zst,
        out,
        signal: new AbortController().signal,
      }),
      0,
    );
    assert.equal(statSync(out).size, 0);
  }
});

test('restoreBlobToFile: short blob, truncated zstd, bad zstd, failed download and an existing file are errors with codes', async () => {
  const kit = await createCodecKit();
  const sig = new AbortController().signal;
  const raw = bytesOf(2 * MiB, 6, 'text');
  const z = framesOf(raw, MiB);
  const run = (stored: Uint8Array, size: number, zst: boolean, out: string, opts: { failAt?: number } = {}) =>
    restoreBlobToFile(fs, kit, fakeStore(stored, [100_000], opts), {
      container: 'c',
      blob: 'b',
      size,
      zst,
      out,
      signal: sig,
    });
  await assert.rejects(run(raw, raw.length + 5, false, `${t.dir}/e1`), {
    code: 'E_INTEGRITY',
    message: /gave 2097152 bytes but is listed with 2097157/,
  });
  await assert.rejects(run(z.subarray(0, z.length - 3), z.length - 3, true, `${t.dir}/e2`), {
    code: 'E_INTEGRITY',
    message: /ends inside a zstd frame/,
  });
  await assert.rejects(
    run(Buffer.concat([z, Buffer.from('trailing junk that is not a frame')]), z.length + 33, true, `${t.dir}/e3`),
    { code: 'E_INTEGRITY', message: /not valid zstd/ },
  );
  const failing = fakeStore(raw, [100_000], { failAt: MiB });
  await assert.rejects(
    restoreBlobToFile(fs, kit, failing, {
      container: 'c',
      blob: 'b',
      size: raw.length,
      zst: false,
      out: `${t.dir}/e4`,
      signal: sig,
    }),
    { code: 'E_AZURE', message: /could not be downloaded at 1100000 of 2097152 bytes/ },
  );
  assert.ok(failing.returned);
  writeFileSync(`${t.dir}/e5`, 'x');
  await assert.rejects(run(raw, raw.length, false, `${t.dir}/e5`), {
    code: 'E_INTEGRITY',
    message: /exists already: another blob of container c restores to the same file as b/,
  });
  // Abort: the signal's reason, and the download is closed.
  const ac = new AbortController();
  const slow = fakeStore(raw, [1000]);
  const p = restoreBlobToFile(fs, kit, slow, {
    container: 'c',
    blob: 'b',
    size: raw.length,
    zst: false,
    out: `${t.dir}/e6`,
    signal: ac.signal,
    onBytes: () => ac.abort(new Error('stop now')),
  });
  await assert.rejects(p, /stop now/);
  assert.ok(slow.returned);
});

test('restoreBlobToFile: a failed write (ENOSPC) while the download goes on fails the restore, and nothing writes after close', async () => {
  const kit = await createCodecKit();
  const data = bytesOf(24 * MiB, 7);
  let writes = 0;
  let inFlight = 0;
  let closedWithWrites = -1;
  const slowFs = Object.create(fs) as NodeFileSystem;
  slowFs.open = async (path, flags, mode) => {
    const h = await fs.open(path, flags, mode);
    return {
      ...h,
      path: h.path,
      write: async (d, pos) => {
        inFlight++;
        try {
          await sleep(20);
          if (++writes === 3)
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          await h.write(d, pos);
        } finally {
          inFlight--;
        }
      },
      truncate: (l) => h.truncate(l),
      close: async () => {
        closedWithWrites = inFlight;
        await h.close();
      },
    };
  };
  await assert.rejects(
    restoreBlobToFile(slowFs, kit, fakeStore(data, [65_536]), {
      container: 'c',
      blob: 'b',
      size: data.length,
      zst: false,
      out: `${t.dir}/enospc`,
      signal: new AbortController().signal,
    }),
    { code: 'ENOSPC' },
  );
  assert.equal(closedWithWrites, 0);
  assert.equal(writes, 3);
  // The download fails while a write is in flight: the handle closes only after it.
  writes = 100;
  await assert.rejects(
    restoreBlobToFile(slowFs, kit, fakeStore(data, [65_536], { failAt: 9 * MiB }), {
      container: 'c',
      blob: 'b',
      size: data.length,
      zst: false,
      out: `${t.dir}/dropped`,
      signal: new AbortController().signal,
    }),
    { code: 'E_AZURE' },
  );
  assert.equal(writes, 102);
  assert.equal(closedWithWrites, 0);
});

test('BoundedTasks: at most limit at once; the first failure aborts the others, is thrown once all settled', async () => {
  let running = 0;
  let peak = 0;
  const tasks = new BoundedTasks(3, new AbortController().signal);
  async function* items(n: number) {
    for (let i = 0; i < n; i++) yield i;
  }
  let done = 0;
  for await (const i of tasks.each(items(20))) {
    await tasks.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await sleep((i * 7) % 5);
      running--;
      done++;
    });
  }
  assert.equal(done, 20);
  assert.equal(peak, 3);
  // A failure: the running ones see the abort, the loop stops, the failure comes out after they settle.
  const t2 = new BoundedTasks(2, new AbortController().signal);
  const seen: string[] = [];
  let started = 0;
  await assert.rejects(
    (async () => {
      for await (const i of t2.each(items(100))) {
        await t2.run(async (signal) => {
          started++;
          if (i === 3) throw new Error('task 3 failed');
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 5000);
            signal.addEventListener('abort', () => {
              clearTimeout(timer);
              seen.push(`abort ${i}`);
              resolve();
            });
            if (i < 3) setTimeout(resolve, 1);
          });
        });
      }
    })(),
    /task 3 failed/,
  );
  assert.ok(started < 10, `started ${started}`);
  assert.equal(running, 0);
  assert.ok(seen.length >= 1, 'a task in flight saw the abort');
});
