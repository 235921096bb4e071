import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFileSystem } from '../../native/index.js';
import { DriveFaultFs } from '../support/drive-fault-fs.js';

/** Two "drives" (d1, d10: one name a prefix of the other) and a path outside both, in a temp dir. */
function setup(t: { after(fn: () => void): void }): { root: string; d1: string; d10: string; inner: NodeFileSystem } {
  const root = mkdtempSync(join(tmpdir(), 'drive-fault-fs-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const inner = new NodeFileSystem();
  return { root, d1: join(root, 'd1'), d10: join(root, 'd10'), inner };
}

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);

async function rejectsWith(p: Promise<unknown>, code: string, syscall?: string): Promise<void> {
  await assert.rejects(p, (err: NodeJS.ErrnoException) => {
    assert.equal(err.code, code);
    if (syscall) assert.equal(err.syscall, syscall);
    assert.match(err.message, /injected fault/);
    return true;
  });
}

test('EIO after N bytes: writes pass up to the limit, the crossing write is torn at it, then the drive is dead', async (t) => {
  const { d1, d10, inner } = setup(t);
  const fs = new DriveFaultFs(inner);
  const rule = fs.failAfterBytes(d1, 10_000, 'EIO');
  await fs.mkdir(d1);
  await fs.mkdir(d10);
  const h = await fs.open(join(d1, 'a'), 'w');
  await h.write(bytes(6000), 0);
  await h.datasync();
  assert.equal(rule.fired, 0);
  await rejectsWith(h.write(bytes(6000), 6000), 'EIO', 'write');
  assert.equal(rule.fired, 1);
  // Every later write, sync, create and mkdir under the drive fails; reads still work (no `reads`).
  await rejectsWith(h.write(bytes(1), 20_000), 'EIO');
  await rejectsWith(h.datasync(), 'EIO', 'fdatasync');
  await rejectsWith(h.sync(), 'EIO', 'fsync');
  await h.close();
  await rejectsWith(fs.open(join(d1, 'b'), 'wx'), 'EIO', 'open');
  await rejectsWith(fs.mkdir(join(d1, 'sub')), 'EIO', 'mkdir');
  await rejectsWith(fs.writeNewFile(join(d1, 'c'), bytes(1)), 'EIO');
  await rejectsWith(fs.syncFileSystem(d1), 'EIO', 'syncfs');
  await rejectsWith(fs.fsyncDir(d1), 'EIO');
  await rejectsWith(fs.rename(join(d1, 'a'), join(d1, 'a2')), 'EIO', 'rename');
  assert.equal((await fs.readFile(join(d1, 'a'))).length, 10_000, 'the torn write stored the bytes up to the limit');
  assert.equal(statSync(join(d1, 'a')).size, 10_000);
  // d10 starts with "d1" but is another drive, and the root is outside both.
  await fs.writeNewFile(join(d10, 'x'), bytes(50_000));
  const r = await fs.open(join(d10, 'y'), 'w');
  await r.write(bytes(50_000), 0);
  await r.datasync();
  await r.close();
  fs.assertAllFired();
});

test('EIO with reads: once dead, reads and opens for reading fail too', async (t) => {
  const { d1, inner } = setup(t);
  const fs = new DriveFaultFs(inner);
  await fs.mkdir(d1);
  fs.failAfterBytes(d1, 100, 'EIO', { reads: true });
  await fs.writeNewFile(join(d1, 'a'), bytes(100));
  const h = await fs.open(join(d1, 'a'), 'r');
  const buf = new Uint8Array(100);
  assert.equal(await h.read(buf, 0, 100, 0), 100, 'before the limit reads work');
  fs.trip(d1);
  await rejectsWith(h.read(buf, 0, 100, 0), 'EIO', 'read');
  await h.close();
  await rejectsWith(fs.open(join(d1, 'a'), 'r'), 'EIO', 'open');
  await rejectsWith(fs.readFile(join(d1, 'a')), 'EIO', 'read');
  await rejectsWith(fs.readFileIfExists(join(d1, 'a')), 'EIO', 'read');
  fs.assertAllFired();
});

test('a limit of 0 is a drive dead from the start; trip() kills a drive on command', async (t) => {
  const { root, d1, d10, inner } = setup(t);
  const fs = new DriveFaultFs(inner);
  fs.failAfterBytes(d1, 0);
  const later = fs.failAfterBytes(d10, 1e12);
  await rejectsWith(fs.mkdir(d1), 'EIO', 'mkdir');
  assert.equal(existsSync(d1), false);
  await fs.mkdir(d10);
  await fs.writeNewFile(join(d10, 'a'), bytes(10));
  fs.trip(`${d10}/`); // a trailing slash names the same drive
  await rejectsWith(fs.writeNewFile(join(d10, 'b'), bytes(10)), 'EIO');
  assert.deepEqual(readdirSync(d10), ['a']);
  assert.equal(later.fired, 1);
  await fs.writeNewFile(join(root, 'outside'), bytes(10));
  fs.assertAllFired();
});

test('ENOSPC after N bytes: a full drive refuses writes and creates, but still syncs and renames', async (t) => {
  const { d1, inner } = setup(t);
  const fs = new DriveFaultFs(inner);
  await fs.mkdir(d1);
  const rule = fs.failAfterBytes(d1, 4096, 'ENOSPC');
  await fs.writeNewFile(join(d1, 'small'), bytes(4000));
  await rejectsWith(fs.writeNewFile(join(d1, 'big'), bytes(8000)), 'ENOSPC', 'write');
  assert.equal(statSync(join(d1, 'big')).size, 96, 'writeNewFile stored what fitted');
  const h = await fs.open(join(d1, 'small'), 'r+');
  await rejectsWith(h.write(bytes(1), 0), 'ENOSPC');
  await h.datasync();
  await h.sync();
  await h.close();
  await fs.syncFileSystem(d1);
  await fs.fsyncDir(d1);
  await fs.rename(join(d1, 'small'), join(d1, 'small2'));
  await rejectsWith(fs.mkdir(join(d1, 'dir')), 'ENOSPC');
  await rejectsWith(fs.open(join(d1, 'new'), 'w'), 'ENOSPC');
  assert.equal((await fs.readFile(join(d1, 'small2'))).length, 4000);
  assert.equal(rule.fired, 4);
});

test('writeFileAtomic counts its bytes and, crossing the limit, publishes nothing', async (t) => {
  const { d1, inner } = setup(t);
  const fs = new DriveFaultFs(inner);
  await fs.mkdir(d1);
  fs.failAfterBytes(d1, 20, 'ENOSPC');
  await fs.writeFileAtomic(join(d1, 'm.json'), '0123456789');
  await rejectsWith(fs.writeFileAtomic(join(d1, 'n.json'), '0123456789abc'), 'ENOSPC');
  assert.deepEqual(readdirSync(d1), ['m.json']);
  assert.equal(readFileSync(join(d1, 'm.json'), 'utf8'), '0123456789');
});

test('short writes: a write over the limit stores a prefix, then fails (EIO by default) or returns silently', async (t) => {
  const { d1, d10, inner } = setup(t);
  const fs = new DriveFaultFs(inner);
  await fs.mkdir(d1);
  await fs.mkdir(d10);
  const eio = fs.shortWrites(d1, 512, { times: 1 });
  const silent = fs.shortWrites(d10, 100, { failWith: 'silent' });
  const h = await fs.open(join(d1, 'a'), 'w');
  await h.write(bytes(512), 0); // not over the limit
  await rejectsWith(h.write(bytes(2000, 9), 512), 'EIO', 'write');
  await h.write(bytes(2000, 9), 1024); // `times: 1` is used up
  await h.close();
  const a = readFileSync(join(d1, 'a'));
  assert.equal(a.length, 3024);
  assert.deepEqual([a[1023], a[1024]], [9, 9]);
  assert.equal(eio.fired, 1);

  const s = await fs.open(join(d10, 'b'), 'w');
  await s.write(bytes(1000), 0); // returns as if all of it were written
  await s.close();
  await fs.writeNewFile(join(d10, 'c'), bytes(1000));
  assert.equal(statSync(join(d10, 'b')).size, 100);
  assert.equal(statSync(join(d10, 'c')).size, 100);
  assert.equal(silent.fired, 2);
  fs.assertAllFired();
});

test('slow writes wait on the injected delay before the write reaches the drive; no real time passes', async (t) => {
  const { d1, root, inner } = setup(t);
  const waits: { ms: number; release: () => void }[] = [];
  const fs = new DriveFaultFs(inner, { delay: (ms) => new Promise<void>((release) => waits.push({ ms, release })) });
  await fs.mkdir(d1);
  const rule = fs.slowWrites(d1, 40, { syncs: true });
  const h = await fs.open(join(d1, 'a'), 'w');
  const pending = h.write(bytes(4096), 0);
  await new Promise<void>((r) => setImmediate(r));
  assert.equal(waits.length, 1);
  assert.equal(waits[0]!.ms, 40);
  assert.equal(statSync(join(d1, 'a')).size, 0, 'nothing written while the delay is pending');
  waits[0]!.release();
  await pending;
  assert.equal(statSync(join(d1, 'a')).size, 4096);
  const sync = h.datasync();
  await new Promise<void>((r) => setImmediate(r));
  assert.equal(waits.length, 2, 'syncs are delayed too');
  waits[1]!.release();
  await sync;
  await h.close();
  // Outside the prefix: no delay.
  await fs.writeNewFile(join(root, 'fast'), bytes(10));
  assert.equal(waits.length, 2);
  assert.equal(rule.fired, 2);
});

test('slow writes without `syncs` delay writes only; a delay rule and a limit rule combine', async (t) => {
  const { d1, inner } = setup(t);
  const delays: number[] = [];
  const fs = new DriveFaultFs(inner, { delay: async (ms) => void delays.push(ms) });
  await fs.mkdir(d1);
  fs.slowWrites(d1, 5);
  fs.failAfterBytes(d1, 150);
  const h = await fs.open(join(d1, 'a'), 'w');
  await h.write(bytes(100), 0);
  await h.datasync();
  await rejectsWith(h.write(bytes(100), 100), 'EIO');
  await h.close();
  assert.deepEqual(delays, [5, 5]);
  assert.equal(statSync(join(d1, 'a')).size, 150);
  fs.assertAllFired();
});

test('assertAllFired names every scripted fault that never happened', async (t) => {
  const { d1, d10, inner } = setup(t);
  const fs = new DriveFaultFs(inner);
  fs.failAfterBytes(d1, 1000);
  fs.shortWrites(d10, 10, { failWith: 'ENOSPC' });
  await fs.mkdir(d10);
  assert.throws(
    () => fs.assertAllFired(),
    (err: Error) => /EIO under .*d1 after 1000 bytes/.test(err.message) && /short writes of 10 bytes/.test(err.message),
  );
  await rejectsWith(fs.writeNewFile(join(d10, 'x'), bytes(11)), 'ENOSPC');
  assert.deepEqual(
    fs.unfired().map((r) => r.description),
    [`EIO under ${d1} after 1000 bytes`],
  );
});
