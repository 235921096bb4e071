import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSize, formatBytes } from '../../core/index.js';

test('parseSize reads units and refuses garbage with the flag named', () => {
  assert.equal(parseSize('4096', '--drive-size'), 4096);
  assert.equal(parseSize('64M', '--drive-size'), 64 * 1024 * 1024);
  assert.equal(parseSize('1.5TB', '--drive-size'), 1.5e12);
  assert.equal(parseSize('2GiB', '--drive-size'), 2 * 1024 ** 3);
  assert.throws(() => parseSize('lots', '--drive-size'), /--drive-size "lots" is not a size/);
  assert.equal(formatBytes(1536), '1.50 KiB');
});

test('formatBytes never prints a raw float: a rate under 1 KiB/s is whole bytes', () => {
  assert.equal(formatBytes(47.77251340604213), '48 B');
  assert.equal(formatBytes(0.4), '0 B');
  assert.equal(formatBytes(1023.6), '1024 B');
});
