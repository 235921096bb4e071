// mountFailingDrive (test/support/mounts.ts over test/support/failing-fs.py): a real FUSE drive
// that takes writes up to a byte count, then fails them with EIO, and unmounts cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMounted, mountFailingDrive, whyNoFailingDrive } from '../support/mounts.js';

const KiB = 1024;

function eio(fn: () => unknown): void {
  assert.throws(fn, (err: NodeJS.ErrnoException) => err.code === 'EIO');
}

test('a failing drive takes writes up to its limit, answers EIO after it, and unmounts cleanly', async (t) => {
  const why = whyNoFailingDrive();
  if (why) return t.skip(why);
  const dir = mkdtempSync(join(tmpdir(), 'failing-drive-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const drive = await mountFailingDrive(dir, 256 * KiB);
  try {
    assert.ok(isMounted(drive.path));
    const a = Buffer.alloc(128 * KiB, 1);
    writeFileSync(join(drive.path, 'a.bin'), a);
    // An open file whose next write comes after the limit.
    const fd = openSync(join(drive.path, 'b.bin'), 'w');
    try {
      writeSync(fd, Buffer.alloc(128 * KiB, 2), 0, 128 * KiB, 0); // reaches the limit: still succeeds
      eio(() => writeSync(fd, Buffer.alloc(4 * KiB, 3), 0, 4 * KiB, 128 * KiB));
    } finally {
      closeSync(fd);
    }
    eio(() => writeFileSync(join(drive.path, 'c.bin'), 'late'));
    // What was written before the limit reached the backing directory; reads still work.
    assert.deepEqual(readFileSync(join(drive.backing, 'a.bin')), a);
    assert.equal(statSync(join(drive.backing, 'b.bin')).size, 128 * KiB);
    assert.deepEqual(readFileSync(join(drive.path, 'a.bin')), a);
    assert.deepEqual(readdirSync(drive.backing).sort(), ['a.bin', 'b.bin']);
  } finally {
    await drive.unmount();
  }
  assert.equal(isMounted(drive.path), false);
  await drive.unmount(); // twice is fine
});

test('a failing drive fails on command, and with failReads its reads fail too', async (t) => {
  const why = whyNoFailingDrive();
  if (why) return t.skip(why);
  const dir = mkdtempSync(join(tmpdir(), 'failing-drive-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const drive = await mountFailingDrive(dir, 1024 ** 4, { failReads: true });
  try {
    writeFileSync(join(drive.path, 'x.txt'), 'before');
    assert.equal(readFileSync(join(drive.path, 'x.txt'), 'utf8'), 'before');
    assert.deepEqual(readdirSync(drive.path), ['x.txt'], 'the control file is not on the drive');
    drive.fail();
    eio(() => writeFileSync(join(drive.path, 'y.txt'), 'after'));
    eio(() => readFileSync(join(drive.path, 'x.txt')));
    assert.equal(readFileSync(join(drive.backing, 'x.txt'), 'utf8'), 'before');
  } finally {
    await drive.unmount();
  }
  assert.equal(isMounted(drive.path), false);
});
