import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { PiscinaChunkProcessor } from '../../native/chunk-pool.js';
import type { EncodeTask } from '../../native/interfaces.js';
import { NodeFileSystem } from '../../native/node-fs.js';
import { loadOsExtras, splitDev, touchStamp, type OsExtras } from '../../native/os-extras.js';
import { decodeName, encodeBytes, encodePath } from '../../native/raw-names.js';
import { have } from '../support/mounts.js';
import { tempDir } from '../support/tree.js';

// Loaded explicitly, so SEEDSHIP_NO_ADDON=1 in the environment does not hide the addon.
const native = loadOsExtras({ disabled: false });
const fallback = loadOsExtras({ disabled: true });
const fs = new NodeFileSystem();
const isRoot = process.getuid?.() === 0;

/** Each OsExtras under test; the addon skips (or fails, with SEEDSHIP_REQUIRE_ADDON=1) when not built. */
const paths: readonly { readonly name: string; readonly x: OsExtras }[] = [
  { name: 'addon', x: native },
  { name: 'fallback', x: fallback },
];

function usable(t: TestContext, name: string, x: OsExtras): boolean {
  if (name === 'fallback' || x.capabilities.available) return true;
  const why = `native addon not loaded (${x.capabilities.reason}); see native/addon/build/build-native.log`;
  if (process.env.SEEDSHIP_REQUIRE_ADDON === '1') assert.fail(why);
  t.skip(why);
  return false;
}

async function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const { dir, cleanup } = tempDir('seedship-posix-fs-');
  try {
    return await fn(dir);
  } finally {
    cleanup();
  }
}

/** A name string from bytes, as readdir gives it. */
const raw = (...bytes: number[]): string => decodeName(Buffer.from(bytes));

/** 0xFF 0xFE: never valid in UTF-8, so the name carries two escapes. */
const BAD = raw(0x66, 0xff, 0xfe); // "f" + U+DCFF U+DCFE

const NS = 1_000_000_000n;
/** 2100-01-01T00:00:00.123456789Z */
const Y2100 = 4_102_444_800n * NS + 123_456_789n;
/** 1930-11-18, with nanoseconds: tv_sec must be the floor, tv_nsec positive. */
const PRE_1970 = -1_234_567_890_987_654_321n;
/** (atime, mtime) pairs: 1970-01-01 exactly, 1 ns before it, a pre-1970 time and 2100 with ns. */
const TIME_PAIRS: readonly (readonly [bigint, bigint])[] = [
  [0n, -1n],
  [PRE_1970, Y2100],
  [Y2100, 0n],
];

// ---- raw names -------------------------------------------------------------------------------

/** Fragments that stress a decoder: encoded surrogates, overlongs, truncated and too-large sequences. */
const TRICKY = [
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xc0, 0x80],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0x80],
  [0xe0, 0x9f, 0xbf],
  [0xf0, 0x80, 0x80, 0x80],
  [0xf0, 0x8f, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf5, 0x80, 0x80, 0x80],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
  [0xc3],
  [0x80],
  [0xbf],
  [0xfe],
  [0xff],
  [0xef, 0xbf, 0xbd],
  [0xf0, 0x9f, 0x98, 0x80],
  [0xe2, 0x82, 0xac],
  [0xc3, 0xa9],
  [0x2f],
  [0x00],
].map((b) => Uint8Array.from(b));

/** Byte strings made of random bytes, tricky fragments and valid UTF-8 text, in any order. */
const bytesArb = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 8 }),
      fc.constantFrom(...TRICKY),
      fc.string({ unit: 'grapheme', maxLength: 4 }).map((s) => Buffer.from(s)),
    ),
    {
      maxLength: 12,
    },
  )
  .map((parts) => Buffer.concat(parts));

test('raw names: encodeBytes(decodeName(b)) gives back any bytes exactly', () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), bytesArb), (b) => {
      const name = decodeName(b);
      assert.deepEqual(encodeBytes(name), Buffer.from(b));
      const p = encodePath(name);
      assert.deepEqual(typeof p === 'string' ? Buffer.from(p) : p, Buffer.from(b));
    }),
    { numRuns: 2000 },
  );
});

test('raw names: valid UTF-8 decodes as Node decodes it, and encodePath returns the string itself', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      // unit 'binary' draws any code point, astral and U+FFFD included, never a lone surrogate.
      const buf = Buffer.from(s, 'utf8');
      assert.equal(decodeName(buf), buf.toString('utf8'));
      assert.equal(decodeName(buf), s);
      assert.equal(encodePath(s), s);
    }),
    { numRuns: 2000 },
  );
});

test('raw names: decoded names joined with "/" encode to the joined bytes', () => {
  fc.assert(
    fc.property(fc.array(bytesArb, { minLength: 1, maxLength: 4 }), (parts) => {
      const joined = parts.map((b) => decodeName(b)).join('/');
      assert.deepEqual(encodeBytes(joined), Buffer.concat(parts.flatMap((b, i) => (i ? [Buffer.from('/'), b] : [b]))));
    }),
  );
});

test('raw names: invalid sequences are escaped byte by byte (surrogateescape)', () => {
  const cases: [number[], string][] = [
    [[0x66, 0xff, 0xfe], 'f\udcff\udcfe'],
    [[0xed, 0xa0, 0x80], '\udced\udca0\udc80'], // an encoded surrogate is not UTF-8
    [[0xc0, 0x80], '\udcc0\udc80'], // overlong NUL
    [[0xe0, 0x80, 0xaf], '\udce0\udc80\udcaf'], // overlong '/'
    [[0xf4, 0x90, 0x80, 0x80], '\udcf4\udc90\udc80\udc80'], // above U+10FFFF
    [[0xe2, 0x82, 0x41], '\udce2\udc82A'], // truncated, then ASCII
    [[0xf0, 0xe2, 0x82, 0xac], '\udcf0\u20ac'], // a stray lead, then a valid euro sign
    [[0xef, 0xbf, 0xbd], '\ufffd'], // a real U+FFFD stays one
    [[0xef, 0xbf, 0xbd, 0xff], '\ufffd\udcff'],
    [[0xf0, 0x9f, 0x98, 0x80, 0x80], '\u{1f600}\udc80'],
  ];
  for (const [bytes, name] of cases) {
    assert.equal(decodeName(Buffer.from(bytes)), name, `decode ${Buffer.from(bytes).toString('hex')}`);
    assert.deepEqual(encodeBytes(name), Buffer.from(bytes));
  }
  assert.equal(decodeName(new Uint8Array([0x61, 0xff])), 'a\udcff', 'a plain Uint8Array too');
});

test('raw names: agrees with Python surrogateescape on random bytes', (t) => {
  if (!have('python3')) return t.skip('python3 not installed');
  const samples = fc.sample(fc.oneof(fc.uint8Array({ maxLength: 40 }), bytesArb), { numRuns: 3000, seed: 7 });
  const script = `import json, sys
print(json.dumps([bytes.fromhex(h).decode('utf-8', 'surrogateescape') for h in json.load(sys.stdin)]))`;
  const out = execFileSync('python3', ['-c', script], {
    input: JSON.stringify(samples.map((b) => Buffer.from(b).toString('hex'))),
    encoding: 'utf8',
  });
  // json.dumps writes lone surrogates as \udcXX escapes; JSON.parse gives back the same code units.
  const expected = JSON.parse(out) as string[];
  samples.forEach((b, i) => {
    assert.equal(decodeName(b), expected[i], `bytes ${Buffer.from(b).toString('hex')}`);
  });
});

test('raw names: a lone surrogate that is not an escaped byte is refused', () => {
  for (const s of ['a\ud800', 'a\ud800b', '\udc41', '\udbff\ud800', 'x\udd00']) {
    assert.throws(() => encodeBytes(s), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }, JSON.stringify(s));
    assert.throws(() => encodePath(s), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
  }
  // A pair is one character, not two escapes.
  assert.deepEqual(encodeBytes('\ud83d\ude00'), Buffer.from([0xf0, 0x9f, 0x98, 0x80]));
});

// ---- the fallback's conversions ------------------------------------------------------------------

test('fallback: touch stamps are exact, with the sign on the whole number before 1970', () => {
  assert.equal(touchStamp(0n), '@0.000000000');
  assert.equal(touchStamp(-1n), '@-0.000000001');
  assert.equal(touchStamp(-1_000_000_001n), '@-1.000000001');
  assert.equal(touchStamp(PRE_1970), '@-1234567890.987654321');
  assert.equal(touchStamp(Y2100), '@4102444800.123456789');
});

/** dev_t as glibc's gnu_dev_makedev builds it (major and minor are 32 bits). */
function makedev(major: bigint, minor: bigint): bigint {
  return ((major & 0xfffn) << 8n) | ((major & 0xfffff000n) << 32n) | (minor & 0xffn) | ((minor & 0xffffff00n) << 12n);
}

test('fallback: splitDev undoes makedev, minors above 20 bits and majors above 12 included', () => {
  assert.deepEqual(splitDev(0x103), { major: 1n, minor: 3n });
  // Every (major, minor) whose dev_t is a safe integer: majors below 2^21, minors below 2^32.
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: (1n << 21n) - 1n }),
      fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }),
      (major, minor) => {
        const dev = makedev(major, minor);
        fc.pre(dev <= BigInt(Number.MAX_SAFE_INTEGER));
        assert.deepEqual(splitDev(Number(dev)), { major, minor });
      },
    ),
  );
});

// ---- lutimes ---------------------------------------------------------------------------------

function timesOf(path: string): [bigint, bigint] {
  const s = lstatSync(encodePath(path), { bigint: true });
  return [s.atimeNs, s.mtimeNs];
}

for (const { name, x } of paths) {
  test(`${name}: lutimesNs sets exact times on a file, a directory and a symlink itself`, async (t) => {
    if (!usable(t, name, x)) return;
    await withTemp(async (dir) => {
      const file = join(dir, 'file');
      const sub = join(dir, 'dir');
      const target = join(dir, 'target');
      const link = join(dir, 'link');
      const rawFile = join(dir, BAD);
      writeFileSync(file, 'x');
      mkdirSync(sub);
      writeFileSync(target, 'y');
      symlinkSync(target, link);
      writeFileSync(encodePath(rawFile), 'z');
      const targetTimes = timesOf(target);
      for (const [atime, mtime] of TIME_PAIRS) {
        for (const p of [file, sub, link, rawFile]) {
          await x.lutimesNs(p, atime, mtime);
          assert.deepEqual(timesOf(p), [atime, mtime], `${p} at (${atime}, ${mtime})`);
        }
        assert.deepEqual(timesOf(target), targetTimes, 'the symlink target is untouched');
      }
    });
  });

  test(`${name}: lutimesNs on a missing path rejects with ENOENT naming the path`, async (t) => {
    if (!usable(t, name, x)) return;
    await withTemp(async (dir) => {
      const missing = join(dir, 'missing');
      await assert.rejects(x.lutimesNs(missing, 0n, 0n), (err: NodeJS.ErrnoException) => {
        assert.equal(err.code, 'ENOENT');
        assert.equal(err.syscall, 'utimensat');
        assert.equal(err.path, missing);
        return true;
      });
    });
  });

  // ---- mknod -----------------------------------------------------------------------------------

  test(`${name}: mknod makes a FIFO and a socket with exactly the mode given`, async (t) => {
    if (!usable(t, name, x)) return;
    await withTemp(async (dir) => {
      const made: [string, 'fifo' | 'socket', number, (s: Stats) => boolean][] = [
        [join(dir, 'fifo'), 'fifo', 0o666, (s) => s.isFIFO()], // above the usual umask 022
        [join(dir, 'fifo2'), 'fifo', 0o1640, (s) => s.isFIFO()], // sticky bit kept
        [join(dir, 'sock'), 'socket', 0o600, (s) => s.isSocket()],
        [join(dir, `sock-${BAD}`), 'socket', 0o751, (s) => s.isSocket()],
        [join(dir, `fifo-${BAD}`), 'fifo', 0o604, (s) => s.isFIFO()],
      ];
      for (const [p, kind, mode, is] of made) {
        await x.mknod(p, kind, mode, 0);
        const s = lstatSync(encodePath(p));
        assert.ok(is(s), `${p} is a ${kind}`);
        assert.equal((s.mode & 0o7777).toString(8), mode.toString(8), `mode of ${p}`);
        assert.equal(s.rdev, 0);
      }
      await assert.rejects(x.mknod(join(dir, 'fifo'), 'fifo', 0o644, 0), { code: 'EEXIST', syscall: 'mknod' });
    });
  });

  test(`${name}: mknod makes char and block devices with their numbers (root)`, async (t) => {
    if (!usable(t, name, x)) return;
    if (!isRoot) return t.skip('needs root (CAP_MKNOD) to make device nodes');
    await withTemp(async (dir) => {
      const devices: [string, 'char' | 'block', bigint, bigint][] = [
        ['null', 'char', 1n, 3n],
        // A major above 255 and a minor above 255 (the kernel allows 12 and 20 bits).
        ['big', 'block', 259n, 0x12345n],
        [`raw-${BAD}`, 'char', 4095n, 0xfffffn],
      ];
      for (const [n, kind, major, minor] of devices) {
        const p = join(dir, n);
        const rdev = Number(makedev(major, minor));
        try {
          await x.mknod(p, kind, 0o640, rdev);
        } catch (err) {
          // A container without CAP_MKNOD refuses devices even to root.
          if ((err as NodeJS.ErrnoException).code === 'EPERM')
            return t.skip('mknod of devices refused (EPERM): no CAP_MKNOD here');
          throw err;
        }
        const s = lstatSync(encodePath(p));
        assert.ok(kind === 'char' ? s.isCharacterDevice() : s.isBlockDevice(), `${n} is a ${kind} device`);
        assert.equal(s.rdev, rdev, `${n}: ${major}:${minor}`);
        assert.equal(s.mode & 0o7777, 0o640);
      }
    });
  });
}

// ---- NodeFileSystem ----------------------------------------------------------------------------

test('fs: lchown on a symlink changes the link, not its target (root)', async (t) => {
  if (!isRoot) return t.skip('needs root to give files away');
  await withTemp(async (dir) => {
    const target = join(dir, 'target');
    const link = join(dir, `link-${BAD}`);
    writeFileSync(target, 'x');
    await fs.symlink(target, link);
    await fs.lchown(link, 1234, 5678);
    const l = await fs.lstat(link);
    assert.equal(l.kind, 'symlink');
    assert.deepEqual([l.uid, l.gid], [1234, 5678]);
    const s = statSync(target);
    assert.deepEqual([s.uid, s.gid], [0, 0], 'the target keeps its owner');
  });
});

test('fs: symlink and readlink round-trip a target with non-UTF-8 bytes', async () => {
  await withTemp(async (dir) => {
    const targets = [
      raw(0x61, 0xff, 0x2f, 0xfe, 0xed, 0xa0, 0x80, 0x62),
      `../${BAD}/x`,
      'plain/target',
      'real\ufffd',
      `\ufffd${BAD}`,
    ];
    for (const [i, target] of targets.entries()) {
      const link = join(dir, `l${i}-${BAD}`);
      await fs.symlink(target, link);
      assert.equal(await fs.readlink(link), target);
      assert.deepEqual(
        readlinkSync(encodePath(link), { encoding: 'buffer' }),
        encodeBytes(target),
        'the bytes on disk',
      );
    }
  });
});

test('fs: readdir returns raw names that lstat, open, read and unlink accept', async () => {
  await withTemp(async (dir) => {
    const names = [BAD, 'real\ufffd', 'plain', raw(0xc3, 0xa9, 0xc3)]; // "é" then a truncated one
    for (const [i, n] of names.entries()) writeFileSync(encodePath(join(dir, n)), `content ${i}`);
    mkdirSync(encodePath(join(dir, `sub-${BAD}`)));
    writeFileSync(encodePath(join(dir, `sub-${BAD}`, BAD)), 'inner');

    const ents = await fs.readdir(dir);
    assert.deepEqual(ents.map((e) => e.name).sort(), [...names, `sub-${BAD}`].sort());
    for (const e of ents) assert.equal(e.kind, e.name.startsWith('sub-') ? 'dir' : 'file');
    // A directory whose own path has escaped bytes is read too.
    assert.deepEqual(await fs.readdir(join(dir, `sub-${BAD}`)), [{ name: BAD, kind: 'file' }]);

    const stats = await fs.lstatMany(names.map((n) => join(dir, n)));
    for (const [i, n] of names.entries()) {
      const p = join(dir, n);
      const s = stats[i];
      if (s === undefined || s instanceof Error) throw new Error(`lstatMany ${JSON.stringify(n)}: ${String(s)}`);
      assert.equal(s.size, `content ${i}`.length);
      assert.equal((await fs.lstat(p)).ino, s.ino);
      const h = await fs.open(p, 'r');
      try {
        const back = Buffer.alloc(64);
        assert.equal(back.subarray(0, await h.read(back, 0, 64, 0)).toString(), `content ${i}`);
      } finally {
        await h.close();
      }
      assert.equal(await fs.exists(p), true);
      await fs.unlink(p);
      assert.equal(await fs.exists(p), false);
    }
    assert.deepEqual(
      readdirSync(dir),
      [`sub-${BAD}`].map((n) => encodeBytes(n).toString()),
      'only the subdirectory is left',
    );
  });
});

test('fs: a directory holding only a real U+FFFD keeps it (re-read as bytes, same answer)', async () => {
  await withTemp(async (dir) => {
    writeFileSync(join(dir, '\ufffd'), '');
    assert.deepEqual(await fs.readdir(dir), [{ name: '\ufffd', kind: 'file' }]);
  });
});

test('fs: mkdir, writeNewFile, writeFileAtomic, rename, realpath, readFile on raw paths', async () => {
  await withTemp(async (dir) => {
    const sub = join(dir, BAD, `deeper-${BAD}`);
    await fs.mkdir(sub);
    assert.ok(lstatSync(encodePath(sub)).isDirectory());
    const a = join(sub, `a-${BAD}`);
    await fs.writeNewFile(a, Buffer.from('new'));
    await fs.writeNewFile(a, Buffer.from('again')); // replaces a leftover
    assert.equal((await fs.readFile(a)).toString(), 'again');
    const b = join(sub, `b-${BAD}`);
    await fs.writeFileAtomic(b, 'atomic', 0o600);
    assert.equal((await fs.readFileIfExists(b))?.toString(), 'atomic');
    assert.equal(lstatSync(encodePath(b)).mode & 0o777, 0o600);
    // A name near NAME_MAX still gets a temp file (a shorter one) beside it.
    const long = join(sub, `${'n'.repeat(250)}${BAD}`);
    await fs.writeFileAtomic(long, 'long');
    assert.equal((await fs.readFile(long)).toString(), 'long');
    assert.deepEqual(
      (await fs.readdir(sub)).map((e) => e.name).sort(),
      [`a-${BAD}`, `b-${BAD}`, `${'n'.repeat(250)}${BAD}`].sort(),
    );
    const c = join(sub, `c-${BAD}`);
    await fs.rename(a, c);
    assert.equal(await fs.exists(a), false);
    await fs.link(c, a);
    assert.equal((await fs.lstat(a)).nlink, 2);
    // realpath resolves through a link into the raw-named directory and gives the name back.
    const via = join(dir, 'via');
    symlinkSync(encodeBytes(join(dir, BAD)), via);
    assert.equal(
      await fs.realpath(join(via, `deeper-${BAD}`, `c-${BAD}`)),
      join(await fs.realpath(dir), BAD, `deeper-${BAD}`, `c-${BAD}`),
    );
    await fs.chmod(c, 0o640);
    assert.equal((await fs.stat(c)).mode & 0o777, 0o640);
    assert.ok((await fs.statfs(sub)).totalBytes > 0);
    await fs.fsyncDir(sub);
    assert.equal(await fs.canWrite(sub), true);
  });
});

test('fs: mknod and lutimes go through os-extras with raw paths', async () => {
  await withTemp(async (dir) => {
    const p = join(dir, `fifo-${BAD}`);
    await fs.mknod(p, 'fifo', 0o620, 0);
    const s = await fs.lstat(p);
    assert.equal(s.kind, 'fifo');
    assert.equal(s.mode & 0o7777, 0o620);
    await fs.lutimes(p, PRE_1970, Y2100);
    const t = await fs.lstat(p);
    assert.deepEqual([t.atimeNs, t.mtimeNs], [PRE_1970, Y2100]);
  });
});

test('chunk worker: reads and writes staged files whose names are not UTF-8', async () => {
  await withTemp(async (dir) => {
    const src = join(dir, `src-${BAD}`);
    const dst = join(dir, `dst-${BAD}`);
    const data = Buffer.from('chunk bytes '.repeat(100));
    writeFileSync(encodePath(src), data);
    const st = await fs.lstat(src);
    const pool = new PiscinaChunkProcessor(1);
    try {
      const task: EncodeTask = {
        kind: 'encode',
        path: src,
        offset: 0,
        length: data.length,
        expect: { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino },
        codec: 'none',
        level: 0,
        pages: false,
        cipher: undefined,
        tweakSeed: undefined,
        unitOffset: 0,
        writeTo: dst,
      };
      const r = await pool.encode(task);
      assert.ok(r.ok, r.ok ? '' : r.message);
      assert.equal(r.written, true);
      assert.deepEqual(readFileSync(encodePath(dst)), data);
      const d = await pool.decode({
        kind: 'decode',
        path: dst,
        offset: 0,
        length: data.length,
        units: [{ at: 0, length: data.length, md5: r.extents[0]?.md5 }],
        cipher: undefined,
        tweakSeed: undefined,
        unitOffset: 0,
        raw: { codec: 'none', xxh64: r.xxh64, rawLength: data.length },
        returnRaw: true,
      });
      assert.ok(d.ok, d.ok ? '' : d.message);
      assert.deepEqual(Buffer.from(d.raw ?? []), data);
    } finally {
      await pool.close();
    }
  });
});
