/**
 * Restore without a session streams (regression: a 1 GiB blob peaked at 3.1 GiB RSS and a 2 GiB
 * one crashed with "The value of "length" is out of range"). Blobs over 2 GiB are made in Azurite
 * from a few distinct staged blocks named many times in the block list, so the test uploads a few
 * MiB and Azurite's folder stays small, while the restore downloads every byte.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, openSync, readdirSync, readSync, statSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { compress } from 'zstd-napi';
import { startAzurite, type RunningAzurite } from '../../native/azurite.js';
import { AzureBlobStore } from '../../native/blob-store.js';
import { createCodecKit } from '../../native/codec-kit.js';
import { NodeFileSystem } from '../../native/node-fs.js';
import { restoreFromStorage } from '../../core/restore/restore-storage.js';
import { bytesOf, tempDir } from '../support/tree.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = 4 * MiB;
let az: RunningAzurite;
let svc: BlobServiceClient;
const t = tempDir('seedship-restore-stream-');

before(async () => {
  az = await startAzurite();
  svc = BlobServiceClient.fromConnectionString(az.connectionString);
});
after(async () => {
  await az.stop();
  t.cleanup();
});

/** Bytes allocated under a folder (st_blocks), as `du` counts them. */
function allocated(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += lstatSync(p).blocks * 512;
    if (e.isDirectory()) n += allocated(p);
  }
  return n;
}

const blockId = (i: number) => Buffer.from(`blk-${String(i).padStart(6, '0')}`).toString('base64');

/**
 * A block blob whose blocks are `stored[seq[i]]`: each distinct block is staged once and the block
 * list names it as often as `seq` does.
 */
async function blobOf(c: ContainerClient, name: string, stored: Buffer[], seq: number[]): Promise<number> {
  const b = c.getBlockBlobClient(name);
  for (let i = 0; i < stored.length; i++) await b.stageBlock(blockId(i), stored[i]!, stored[i]!.length);
  await b.commitBlockList(seq.map(blockId));
  const size = seq.reduce((a, i) => a + stored[i]!.length, 0);
  assert.equal((await b.getProperties()).contentLength, size);
  return size;
}

/**
 * A buffer of `bytes` that O_DIRECT reads on `fd` accept: JavaScript cannot ask for an address
 * alignment, so take a view of a larger buffer at the first offset the kernel does not refuse.
 */
function alignedBuffer(fd: number, bytes: number): Buffer {
  const big = Buffer.alloc(bytes + 4096);
  for (let o = 0; o < 4096; o += 16) {
    try {
      readSync(fd, big, o, 4096, 0);
      return big.subarray(o, o + bytes);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
    }
  }
  throw new Error('no offset of the buffer is aligned for O_DIRECT');
}

/**
 * Compare a file with the concatenation of `raw[seq[i]]`. Reads with O_DIRECT where the file system
 * has it: reading GiBs of holes through the page cache took 20 s here (it fills pages with zeros),
 * directly under 1 s.
 */
function assertFileIs(path: string, raw: Buffer[], seq: number[]): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECT);
  } catch {
    fd = openSync(path, 'r'); // tmpfs: no O_DIRECT
  }
  try {
    const buf = alignedBuffer(fd, CHUNK);
    let pos = 0;
    let k = 0; // block of seq being compared
    let inBlock = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, pos);
      for (let at = 0; at < n; ) {
        assert.ok(k < seq.length, `${path}: longer than expected`);
        const want = raw[seq[k]!]!;
        const m = Math.min(n - at, want.length - inBlock);
        if (!buf.subarray(at, at + m).equals(want.subarray(inBlock, inBlock + m)))
          assert.fail(`${path}: bytes differ in block ${k} (offset ${pos + at})`);
        at += m;
        inBlock += m;
        if (inBlock === want.length) {
          k++;
          inBlock = 0;
        }
      }
      pos += n;
      if (n < CHUNK) break;
    }
    assert.equal(k, seq.length, `${path}: shorter than expected (${pos} bytes)`);
  } finally {
    closeSync(fd);
  }
}

/** Highest RSS seen while `fn` runs, sampled every 20 ms. */
async function peakRss<T>(fn: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  try {
    const result = await fn();
    return { result, peak: Math.max(peak, process.memoryUsage.rss()) };
  } finally {
    clearInterval(timer);
  }
}

const restore = async (container: string, to: string) =>
  restoreFromStorage(new NodeFileSystem(), await createCodecKit(), new AzureBlobStore(az.connectionString), {
    container,
    to,
    session: undefined,
    signal: new AbortController().signal,
  });

test('restore without a session streams blobs over 2 GiB (plain sparse disk, zstd frames): exact bytes, holes, flat memory', async () => {
  const c = svc.getContainerClient('big');
  await c.create();
  const zero = Buffer.alloc(CHUNK);
  const mixed = bytesOf(CHUNK, 11);
  for (let o = 0; o < CHUNK; o += 64 * KiB) mixed.fill(0, o, o + 32 * KiB); // half its 4 KiB blocks are holes
  const raw = [zero, bytesOf(CHUNK, 12), mixed, bytesOf(CHUNK, 13, 'text'), bytesOf(12_345, 14)];
  // 2.2 GiB: 564 chunks and a short tail; the random chunk at 512 starts exactly at 2 GiB.
  const seq: number[] = Array.from({ length: 564 }, (_, i) =>
    i === 0 || i === 512 ? 1 : i === 100 || i === 511 ? 2 : i === 300 ? 3 : 0,
  );
  seq.push(4);
  const plainSize = await blobOf(c, 'disk.vhd', raw, seq);
  const zseq: number[] = seq.map((k, i) => (i % 50 === 7 ? 3 : k)); // more text in the zstd one
  const zSize = await blobOf(
    c,
    'data/set.bin.zst',
    raw.map((r) => compress(r, { compressionLevel: 3 })),
    zseq,
  );
  assert.ok(plainSize > 2.2 * 1024 * MiB, `${plainSize}`);
  assert.ok(zSize < 100 * MiB);

  const to = `${t.dir}/big`;
  const started = Date.now();
  const { result: r, peak } = await peakRss(() => restore('big', to));
  const secs = (Date.now() - started) / 1000;
  const rawZ = zseq.reduce((a, k) => a + raw[k]!.length, 0);
  assert.deepEqual(
    { files: r.files, bytes: r.bytes, checked: r.checked },
    { files: 2, bytes: plainSize + rawZ, checked: false },
  );
  assertFileIs(`${to}/disk.vhd`, raw, seq);
  assertFileIs(`${to}/data/set.bin`, raw, zseq);
  // Holes where the disk is zero: about 14 MiB of it is data.
  for (const f of ['disk.vhd', 'data/set.bin']) {
    const st = statSync(`${to}/${f}`);
    assert.ok(st.blocks * 512 < 200 * MiB, `${f}: ${st.blocks * 512} bytes allocated for ${st.size}`);
  }
  assert.ok(allocated(az.location) < 256 * MiB, `Azurite holds ${allocated(az.location)} bytes`);
  // The old code held the whole blob (and its decompressed copy): GiBs. Streaming: a few MiB per blob.
  assert.ok(peak < 512 * MiB, `peak RSS ${Math.round(peak / MiB)} MiB`);
  process.stderr.write(
    `# restored ${((plainSize + rawZ) / 2 ** 30).toFixed(2)} GiB in ${secs.toFixed(1)} s, peak RSS ${Math.round(peak / MiB)} MiB\n`,
  );
});

test('restore without a session: zstd frames straddling download pieces, empty blobs, nested paths', async () => {
  const c = svc.getContainerClient('small');
  await c.create();
  // Frames of odd raw sizes, and staged blocks cut across them: block and frame boundaries differ.
  const raws = [
    bytesOf(1_000_003, 21, 'text'),
    bytesOf(77_777, 22),
    Buffer.alloc(2 * MiB + 1),
    bytesOf(3 * MiB - 5, 23, 'text'),
    bytesOf(1, 24),
  ];
  const z = Buffer.concat(raws.map((r) => compress(r, { compressionLevel: 1 })));
  const cuts = [0, 1, 999, 65_536 + 3, Math.floor(z.length / 2), z.length - 2, z.length];
  const blocks = cuts.slice(1).map((e, i) => z.subarray(cuts[i], e));
  await blobOf(
    c,
    'a/straddle.bin.zst',
    blocks,
    blocks.map((_, i) => i),
  );
  await c.getBlockBlobClient('a/empty').upload(Buffer.alloc(0), 0);
  await c.getBlockBlobClient('b/empty-z.zst').upload(Buffer.alloc(0), 0);
  const small = bytesOf(5000, 25);
  await c.getBlockBlobClient('b/c/d/small.txt').upload(small, small.length);

  const to = `${t.dir}/small`;
  const r = await restore('small', to);
  assert.equal(r.files, 4);
  const want = Buffer.concat(raws);
  assert.equal(r.bytes, want.length + small.length);
  assertFileIs(`${to}/a/straddle.bin`, [want], [0]);
  assert.equal(statSync(`${to}/a/empty`).size, 0);
  assert.equal(statSync(`${to}/b/empty-z`).size, 0);
  assertFileIs(`${to}/b/c/d/small.txt`, [small], [0]);
});

test('restore without a session: a blob that is not zstd stops the restore with E_INTEGRITY', async () => {
  const c = svc.getContainerClient('badz');
  await c.create();
  const junk = bytesOf(3 * MiB, 31);
  await c.getBlockBlobClient('x.bin.zst').upload(junk, junk.length);
  await assert.rejects(restore('badz', `${t.dir}/badz`), {
    code: 'E_INTEGRITY',
    message: /blob badz\/x\.bin\.zst is not valid zstd/,
  });
});
