import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countDrives, MIN_DRIVE_BYTES } from '../../core/index.js';

const MiB = 1024 * 1024;
const TB = 1e12;

test('MIN_DRIVE_BYTES is 2 MiB: the 1 MiB manifest reserve, one segment and a block, rounded up', () => {
  assert.equal(MIN_DRIVE_BYTES, 2 * MiB);
});

test('countDrives: drives of the size given, the last one repeated', () => {
  assert.deepEqual(countDrives(12_928, [MIN_DRIVE_BYTES], true), { needed: 1, short: 0 });
  assert.deepEqual(countDrives(20 * TB, [8 * TB], true), { needed: 3, short: 0 });
  assert.deepEqual(countDrives(20 * TB, [8 * TB, 8 * TB], false), { needed: 3, short: 1 });
  assert.deepEqual(countDrives(1, [], true), { needed: 0, short: 0 });
});

test('countDrives: a drive too small to hold one entry counts as not there, never as thousands of drives', () => {
  // The drive given first has 100 KiB free: it holds nothing; the one after it does the work.
  assert.deepEqual(countDrives(3 * MiB, [100 * 1024, 4 * MiB], false), { needed: 1, short: 0 });
  // More is needed than the drives hold: counted in drives the size of the last one that holds something.
  assert.deepEqual(countDrives(10 * MiB, [4 * MiB, 100 * 1024], false), { needed: 3, short: 2 });
  assert.throws(
    () => countDrives(11, [MIN_DRIVE_BYTES - 1], true),
    (e: Error & { code?: string }) =>
      e.code === 'E_USAGE' && /no drive given can hold anything: each needs at least 2\.00 MiB/.test(e.message),
  );
});
