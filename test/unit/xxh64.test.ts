import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import xxhash from 'xxhash-wasm';
import { createXxh64Hasher } from '../../native/xxh64.js';

const MiB = 1024 * 1024;
const reference = await xxhash();
const want = (b: Uint8Array) => reference.h64Raw(b).toString(16).padStart(16, '0');

test('xxh64: the addon agrees with xxhash-wasm around every stripe and tail edge, and on 4 MiB', async (t) => {
  // Asked for by name, so a SEEDSHIP_NO_ADDON=1 in the environment does not hide the addon.
  const h = await createXxh64Hasher({ use: 'addon' });
  if (h.backend !== 'addon') {
    const why = `native addon not used (${h.reason}); see native/addon/build/build-native.log`;
    if (process.env.SEEDSHIP_REQUIRE_ADDON === '1') assert.fail(why);
    t.skip(why);
    return;
  }
  // 0-3: bytes only; 4-7: one 4-byte word; 8: one 8-byte lane; 31/32/33: the first stripe.
  for (let n = 0; n <= 200; n++) {
    const b = randomBytes(n);
    assert.equal(h.hex(b), want(b), `${n} bytes`);
  }
  for (const n of [4 * MiB, 4 * MiB - 1, 4 * MiB - 31, 1_000_003]) {
    const b = randomBytes(n);
    assert.equal(h.hex(b), want(b), `${n} bytes`);
  }
  const whole = randomBytes(1000);
  assert.equal(h.hex(whole.subarray(7, 907)), want(whole.subarray(7, 907)), 'a view with an offset');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 5000 }), (b) => h.hex(b) === want(b)),
    { numRuns: 300 },
  );
  assert.throws(() => h.hex('abc' as never), { name: 'TypeError' });
});

test('xxh64: without the addon, or asked to, xxhash-wasm does it and says why', async () => {
  for (const h of [
    await createXxh64Hasher({ addonPath: '/nonexistent/seedship_native.node' }),
    await createXxh64Hasher({ use: 'wasm' }),
  ]) {
    assert.equal(h.backend, 'xxhash-wasm');
    assert.ok(h.reason);
    const b = randomBytes(100);
    assert.equal(h.hex(b), want(b));
  }
});
