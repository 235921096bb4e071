import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nonZeroPageRanges } from '../../core/azure/page-ranges.js';

test('page ranges: all zero, all data, scattered, short tail, unaligned buffer', () => {
  assert.deepEqual(nonZeroPageRanges(new Uint8Array(4096)), []);
  assert.deepEqual(nonZeroPageRanges(new Uint8Array(2048).fill(1)), [{ at: 0, length: 2048 }]);
  const b = new Uint8Array(8192);
  b[600] = 1;
  b[1100] = 2;
  b[5000] = 3;
  assert.deepEqual(nonZeroPageRanges(b), [
    { at: 512, length: 1024 },
    { at: 4608, length: 512 },
  ]);
  const tail = new Uint8Array(1000);
  tail[999] = 9;
  assert.deepEqual(nonZeroPageRanges(tail), [{ at: 512, length: 488 }]);
  const big = new Uint8Array(4096 + 3);
  big[3 + 700] = 1;
  assert.deepEqual(nonZeroPageRanges(big.subarray(3)), [{ at: 512, length: 512 }]);
});

test('property: ranges are aligned, ordered, merged, cover every non-zero byte and hold data in each page', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(40 * 512 - 1), fc.integer({ min: 1, max: 255 })), { maxLength: 30 }),
      fc.nat(3),
      (writes, shift) => {
        const backing = new Uint8Array(40 * 512 + shift);
        const data = backing.subarray(shift);
        for (const [i, v] of writes) data[i] = v;
        const ranges = nonZeroPageRanges(data);
        let prevEnd = -1;
        for (const r of ranges) {
          assert.equal(r.at % 512, 0);
          assert.ok(r.at > prevEnd, 'ordered and not adjacent (merged)');
          prevEnd = r.at + r.length;
          for (let p = r.at; p < r.at + r.length; p += 512)
            assert.ok(
              data.subarray(p, p + 512).some((x) => x !== 0),
              'each page has data',
            );
        }
        const covered = (i: number) => ranges.some((r) => i >= r.at && i < r.at + r.length);
        for (let i = 0; i < data.length; i++) if (data[i] !== 0) assert.ok(covered(i));
      },
    ),
  );
});
