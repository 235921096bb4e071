import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { loadMd5Hasher, type Md5Isa } from '../../native/md5-many.js';
import { DEFAULT_ADDON_URL } from '../../native/os-extras.js';

const MiB = 1024 * 1024;

interface Binding {
  md5Many(buffers: readonly Uint8Array[], isa?: string): Uint8Array[];
  readonly md5Isa: Md5Isa;
  readonly md5Isas: readonly Md5Isa[];
}

/** The addon itself (not the facade, which leaves a single buffer to node:crypto), or why not. */
function loadBinding(): Binding | string {
  try {
    const b = createRequire(import.meta.url)(fileURLToPath(DEFAULT_ADDON_URL)) as Partial<Binding>;
    return typeof b.md5Many === 'function' ? (b as Binding) : 'the addon has no md5Many (built from older sources?)';
  } catch (err) {
    return (err as Error).message.split('\n')[0]!;
  }
}
const binding = loadBinding();

/** Skip when the addon did not build (its build is optional); SEEDSHIP_REQUIRE_ADDON=1 makes that a failure. */
function needAddon(t: TestContext): Binding | undefined {
  if (typeof binding !== 'string') return binding;
  const why = `native addon not loaded (${binding}); see native/addon/build/build-native.log`;
  if (process.env.SEEDSHIP_REQUIRE_ADDON === '1') assert.fail(why);
  t.skip(why);
  return undefined;
}

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/** Every kernel against node:crypto, buffer by buffer, with a message naming the kernel, the count and the length. */
function check(b: Binding, buffers: readonly Uint8Array[]): void {
  for (const isa of b.md5Isas) {
    const got = b.md5Many(buffers, isa);
    assert.equal(got.length, buffers.length);
    buffers.forEach((buf, i) => {
      assert.equal(got[i]!.length, 16);
      assert.equal(
        Buffer.from(got[i]!).toString('hex'),
        md5(buf),
        `${isa}: buffer ${i} of ${buffers.length}, ${buf.length} bytes`,
      );
    });
  }
}

// The lengths around MD5's padding: 55 is the last with one tail block, 56 needs two; 64/65 cross a block.
const EDGES = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096];

test('md5Many: the scalar kernel is always there, and the default is one of those supported', (t) => {
  const b = needAddon(t);
  if (!b) return;
  assert.ok(b.md5Isas.includes('scalar'));
  assert.ok(b.md5Isas.includes(b.md5Isa));
  t.diagnostic(`kernels on this CPU: ${b.md5Isas.join(', ')}; default ${b.md5Isa}`);
});

test('md5Many: each padding edge alone, and all of them together in one call (lanes of different lengths)', (t) => {
  const b = needAddon(t);
  if (!b) return;
  for (const n of EDGES) check(b, [randomBytes(n)]);
  check(
    b,
    EDGES.map((n) => randomBytes(n)),
  );
  check(
    b,
    [...EDGES].reverse().map((n) => randomBytes(n)),
  );
});

test('md5Many: 1 to 17 buffers of equal and of mixed lengths (fewer than, as many as, and more than the lanes)', (t) => {
  const b = needAddon(t);
  if (!b) return;
  for (let n = 1; n <= 17; n++) {
    check(
      b,
      Array.from({ length: n }, () => randomBytes(200)),
    );
    check(
      b,
      Array.from({ length: n }, (_, i) => randomBytes(EDGES[(i * 7 + n) % EDGES.length]!)),
    );
  }
});

test('md5Many: 4 MiB buffers, alone, 8 and 17 at once, and beside short ones', (t) => {
  const b = needAddon(t);
  if (!b) return;
  const big = Array.from({ length: 17 }, () => randomBytes(4 * MiB));
  check(b, big.slice(0, 1));
  check(b, big.slice(0, 8));
  check(b, big);
  // A long lane beside short ones that finish and hand their lane on, and a 4 MiB - 1 tail.
  check(b, [
    big[0]!,
    randomBytes(5),
    big[1]!.subarray(1),
    randomBytes(70),
    randomBytes(0),
    big[2]!.subarray(0, 4 * MiB - 9),
  ]);
});

test('md5Many: views with an offset into a larger buffer hash only their own bytes', (t) => {
  const b = needAddon(t);
  if (!b) return;
  const whole = randomBytes(10_000);
  check(b, [
    whole.subarray(3, 4000),
    whole.subarray(4001, 4002),
    whole.subarray(17, 17),
    new Uint8Array(whole.buffer, whole.byteOffset + 99, 5000),
  ]);
});

test('property: md5Many of random lengths agrees with node:crypto on every kernel', (t) => {
  const b = needAddon(t);
  if (!b) return;
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.nat(300), fc.nat(70_000)), { minLength: 0, maxLength: 20 }),
      fc.nat(),
      (lengths, seed) => {
        const buffers = lengths.map((n, i) => Buffer.alloc(n, (seed + i) & 0xff).map((x, j) => (x + j * 31) & 0xff));
        check(b, buffers);
      },
    ),
    { numRuns: 150 },
  );
});

test('md5Many: wrong arguments throw instead of hashing something else', (t) => {
  const b = needAddon(t);
  if (!b) return;
  assert.throws(() => b.md5Many('abc' as never), { name: 'TypeError' });
  assert.throws(() => b.md5Many([new Uint16Array(4)] as never), { name: 'TypeError' });
  assert.throws(() => b.md5Many([new Uint8Array(1), 'x'] as never), { name: 'TypeError' });
  assert.throws(() => b.md5Many([new Uint8Array(1)], 'sse9'), { name: 'TypeError' });
  assert.deepEqual(b.md5Many([]), []);
});

test('md5HexMany: every path (each kernel and node:crypto) gives the upper-case hex node:crypto gives', (t) => {
  const uses = ['node', ...(typeof binding === 'string' ? [] : binding.md5Isas)] as const;
  const buffers = [randomBytes(4 * MiB + 3), ...EDGES.map((n) => randomBytes(n))];
  const want = buffers.map((x) => md5(x).toUpperCase());
  for (const use of uses) {
    const h = loadMd5Hasher({ use });
    assert.equal(h.backend, use === 'node' ? 'node:crypto' : use);
    assert.deepEqual(h.hexMany(buffers), want, use);
    assert.deepEqual(h.hexMany(buffers.slice(0, 1)), want.slice(0, 1), `${use}, one buffer`);
    assert.deepEqual(h.hexMany([]), []);
  }
  const auto = loadMd5Hasher();
  t.diagnostic(`default path: ${auto.backend}${auto.reason ? ` (${auto.reason})` : ''}`);
  assert.deepEqual(auto.hexMany(buffers), want);
});

test('md5HexMany: without the addon it falls back to node:crypto and says why', () => {
  const h = loadMd5Hasher({ addonPath: '/nonexistent/seedship_native.node' });
  assert.equal(h.backend, 'node:crypto');
  assert.match(h.reason ?? '', /addon not loaded/);
  assert.deepEqual(h.hexMany([Buffer.from('abc')]), ['900150983CD24FB0D6963F7D28E17F72']);
});
