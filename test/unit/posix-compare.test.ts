// The exact-restore test support: buildPosixTree makes every awkward POSIX case, comparePosixTrees
// finds each kind of difference (so "no differences" after a restore means something), rsyncDiff
// agrees, and mountNtfsDrive gives a drive that behaves as its comment says.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statfsSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  openSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import {
  bjoin,
  buildPosixTree,
  comparePosixTrees,
  escapeName,
  rsyncDiff,
  setTimesNs,
  TIME_NANOS_NS,
  type PosixTreeInfo,
} from '../support/posix-tree.js';
import { isMounted, mountNtfsDrive, whyNoNtfs } from '../support/mounts.js';
import { tempDir } from '../support/tree.js';

const MiB = 1024 * 1024;
const tmp = tempDir('seedship-posix-');
after(() => tmp.cleanup());

const cpA = (from: string, to: string) => execFileSync('cp', ['-a', '--', from, to]);
const haveRsync = rsyncDiff(tmp.dir, tmp.dir) !== undefined;

test('a cp -a copy of the tree, /usr/share/doc included, compares equal, and rsync agrees', (t) => {
  const a = join(tmp.dir, 'docs-a');
  const b = join(tmp.dir, 'docs-b');
  const info = buildPosixTree(a, { debianDocs: true });
  const d = info.debianDocs;
  t.diagnostic(
    d.included
      ? `/usr/share/doc: ${d.entries} entries, ${(d.bytes / MiB).toFixed(1)} MiB, cp -a in ${d.copyMs} ms; whole tree ${info.counts.entries} entries, built in ${info.buildMs} ms`
      : `/usr/share/doc left out: ${d.reason}`,
  );
  if (d.included) assert.ok(d.entries > 0 && info.counts.entries > d.entries);
  const ms = (t0: number) => Math.round(performance.now() - t0);
  let t0 = performance.now();
  cpA(a, b);
  const cpMs = ms(t0);
  t0 = performance.now();
  assert.deepEqual(comparePosixTrees(a, b), []);
  const cmpMs = ms(t0);
  t0 = performance.now();
  if (haveRsync) assert.deepEqual(rsyncDiff(a, b), []);
  t.diagnostic(
    `cp -a of the tree ${cpMs} ms, comparePosixTrees ${cmpMs} ms, rsyncDiff ${haveRsync ? `${ms(t0)} ms` : 'skipped (no rsync)'}`,
  );
  rmSync(a, { recursive: true, force: true });
  rmSync(b, { recursive: true, force: true });
});

// One tree without the docs for the cases below; each case copies it, changes one thing, and
// expects exactly the lines given (times of the changed entry and its parent put back, so that
// only the change itself shows).
let base = '';
let info: PosixTreeInfo;
before(() => {
  base = join(tmp.dir, 'base');
  info = buildPosixTree(base);
});

test('the tree holds what it says', () => {
  const c = info.counts;
  assert.equal(c.fifos, 1);
  assert.equal(c.hardLinkGroups, 2);
  assert.equal(c.hardLinkNames, 5);
  assert.equal(c.sparseFiles >= 1, true);
  assert.ok(c.symlinks >= 8 && c.dirs >= 55 && c.files >= 40, JSON.stringify(c));
  assert.ok(
    info.sparse.allocated < info.sparse.size / 4,
    `sparse: ${info.sparse.allocated} of ${info.sparse.size} allocated`,
  );
  const p = info.paths;
  for (const [rel, ns] of Object.entries(info.mtimesNs))
    assert.equal(lstatSync(join(base, rel), { bigint: true }).mtimeNs, ns, rel);
  assert.equal(lstatSync(join(base, p.nestedEmptyDir), { bigint: true }).mtimeNs > 0n, true);
  assert.equal(lstatSync(join(base, p.stickyDir)).mode & 0o7777, 0o1777);
  assert.equal(lstatSync(join(base, p.modes['04755'])).mode & 0o7777, 0o4755);
  assert.equal(lstatSync(join(base, p.modes['02755'])).mode & 0o7777, 0o2755);
  assert.ok(lstatSync(bjoin(base, p.nonUtf8)).isFile());
  assert.equal(escapeName(p.nonUtf8), 'unicode/bad-\\xff\\xfe-name');
  assert.equal(escapeName(Buffer.from(p.newline)), 'unicode/line\\nbreak');
  assert.equal(Buffer.byteLength(p.name255Multibyte.split('/')[1]!), 255);
  assert.equal(p.deepDir.split('/').length, 40);
  assert.ok(lstatSync(join(base, p.symlinkLoop[0])).isSymbolicLink());
  if (info.chown.possible) {
    const st = lstatSync(join(base, p.owners['1234:5678']));
    assert.deepEqual([st.uid, st.gid], [1234, 5678]);
    assert.equal(lstatSync(join(base, p.ownedSymlink)).uid, 1234);
  }
});

let n = 0;
/** Copy base to a fresh b, apply `change` (to paths in b) keeping the mtimes of `keep` (and their parents), compare. */
function diffAfter(change: (b: string) => void, keep: string[] = []): { lines: string[]; rsync: string[] | undefined } {
  const b = join(tmp.dir, `b${++n}`);
  cpA(base, b);
  const rels = [...new Set(keep.flatMap((r) => [r, dirname(r)]).filter((r) => r !== '.'))];
  const times = rels.map(
    (r) => [r, existsSync(join(b, r)) ? lstatSync(join(b, r), { bigint: true }).mtimeNs : undefined] as const,
  );
  change(b);
  for (const [r, ns] of times)
    if (ns !== undefined && lstatSync(join(b, r), { throwIfNoEntry: false })) setTimesNs(join(b, r), ns);
  const out = { lines: comparePosixTrees(base, b), rsync: rsyncDiff(base, b) };
  rmSync(b, { recursive: true, force: true });
  return out;
}

function expectLines(
  t: TestContext,
  got: { lines: string[]; rsync: string[] | undefined },
  want: RegExp[],
  rsyncSees = true,
): void {
  t.diagnostic(`comparator: ${JSON.stringify(got.lines)}; rsync: ${JSON.stringify(got.rsync)}`);
  assert.equal(got.lines.length, want.length, `want ${want.length} lines, got ${JSON.stringify(got.lines)}`);
  want.forEach((re, i) => {
    assert.match(got.lines[i]!, re);
  });
  if (got.rsync && rsyncSees) assert.ok(got.rsync.length > 0, 'rsync sees the change too');
}

test('an unchanged copy has no differences', (t) => {
  expectLines(
    t,
    diffAfter(() => {}),
    [],
    false,
  );
});

test('chmod of a file, a lost setuid bit and a lost sticky bit are reported', (t) => {
  const p = info.paths;
  const got = diffAfter((b) => {
    chmodSync(join(b, p.modes['0600']), 0o640);
    chmodSync(join(b, p.modes['04755']), 0o755);
    chmodSync(join(b, p.stickyDir), 0o777);
  });
  expectLines(t, got, [
    /^modes\/m0600: mode a=0600 b=0640$/,
    /^modes\/m4755-setuid: mode a=04755 b=0755$/,
    /^modes\/sticky-1777: mode a=01777 b=0777$/,
  ]);
});

test('chown is reported (uid, gid, and a symlink itself)', (t) => {
  if (!info.chown.possible) return t.skip(`cannot chown here: ${info.chown.reason}`);
  const p = info.paths;
  const got = diffAfter((b) => {
    lchownSync(join(b, p.owners['1234:5678']), 1234, 5679);
    lchownSync(join(b, p.owners['0:100']), 1, 100);
    lchownSync(join(b, p.ownedSymlink), 0, 0);
  });
  expectLines(t, got, [
    /^owners\/link-u1234-g5678: owner a=1234:5678 b=0:0$/,
    /^owners\/u0-g100: owner a=0:100 b=1:100$/,
    /^owners\/u1234-g5678: owner a=1234:5678 b=1234:5679$/,
  ]);
});

test('an mtime 1 ns off is reported, on a file, a symlink itself and a directory', (t) => {
  const p = info.paths;
  const got = diffAfter((b) => {
    setTimesNs(join(b, p.timeNanos), TIME_NANOS_NS + 1n);
    setTimesNs(join(b, p.timeSymlink), info.mtimesNs[p.timeSymlink]! - 1n);
    setTimesNs(join(b, p.timeDir), info.mtimesNs[p.timeDir]! + 1n);
  });
  expectLines(t, got, [
    /^times\/dir-nanos: mtime .*\(Δ 1 ns\)$/,
    /^times\/link-nanos: mtime .*\(Δ -1 ns\)$/,
    /^times\/nanos: mtime a=2020-02-29T12:34:56\.123456789Z b=2020-02-29T12:34:56\.123456790Z \(Δ 1 ns\)$/,
  ]);
});

test('one changed byte is reported, with the same size and mtime', (t) => {
  const p = info.paths;
  const got = diffAfter(
    (b) => {
      const at = 3 * MiB + 7;
      const flipped = Buffer.from([readFileSync(join(b, p.random5MiB))[at]! ^ 1]);
      const fd = openSync(join(b, p.random5MiB), 'r+');
      writeSync(fd, flipped, 0, 1, at);
      closeSync(fd);
    },
    [p.random5MiB],
  );
  expectLines(t, got, [/^sizes\/random-5MiB: contents differ from byte 3145735$/]);
});

test('a re-pointed symlink is reported', (t) => {
  const p = info.paths;
  const got = diffAfter(
    (b) => {
      unlinkSync(join(b, p.symlinkRelative));
      symlinkSync('../files/other.txt', join(b, p.symlinkRelative));
    },
    [p.symlinkRelative],
  );
  expectLines(t, got, [/^symlinks\/relative: symlink target a=\.\.\/files\/plain\.txt b=\.\.\/files\/other\.txt$/]);
});

test('a broken hard link (one name replaced by a copy) is reported', (t) => {
  const p = info.paths;
  const [, second] = p.hardLinks3;
  const got = diffAfter(
    (b) => {
      execFileSync('cp', ['-a', '--', join(b, second), join(b, `${second}.tmp`)]);
      renameSync(join(b, `${second}.tmp`), join(b, second));
    },
    [second],
  );
  // Reported once per differing group partition: the name that left, and the two that stayed.
  expectLines(t, got, [
    /^links\/h3-third: hard links a=\{links\/h3-third, links\/one\/h3, links\/two\/h3-second\} b=\{links\/h3-third, links\/one\/h3\}$/,
    /^links\/two\/h3-second: hard links a=\{.*\} b=\{links\/two\/h3-second\}$/,
  ]);
});

test('a filled hole (the sparse file copied with --sparse=never) is reported', (t) => {
  const p = info.paths;
  const got = diffAfter(
    (b) => {
      execFileSync('cp', ['-a', '--sparse=never', '--', join(b, p.sparse), join(b, `${p.sparse}.tmp`)]);
      renameSync(join(b, `${p.sparse}.tmp`), join(b, p.sparse));
    },
    [p.sparse],
  );
  expectLines(
    t,
    got,
    [/^sizes\/sparse-64MiB: holes filled: a is sparse \(\d+ of 67108864 bytes allocated\), b allocates 671\d+$/],
    false,
  );
});

test('missing empty dirs, an extra file, an extra tree and a missing non-UTF-8 name are reported', (t) => {
  const p = info.paths;
  const got = diffAfter(
    (b) => {
      rmdirSync(join(b, p.nestedEmptyDir));
      rmdirSync(join(b, p.emptyDir));
      writeFileSync(join(b, 'files/extra.txt'), 'x');
      unlinkSync(bjoin(b, p.nonUtf8));
      mkdirSync(join(b, 'extra-dir/sub'), { recursive: true });
      writeFileSync(join(b, 'extra-dir/sub/f'), 'x');
    },
    [p.nestedEmptyDir, p.emptyDir, 'files/extra.txt', 'unicode/x', 'extra-dir'],
  );
  expectLines(t, got, [
    /^empty: only in a \(dir\)$/,
    /^extra-dir: only in b \(dir, 2 entries below\)$/,
    /^files\/extra\.txt: only in b \(file\)$/,
    /^nest\/a\/b\/c: only in a \(dir\)$/,
    /^unicode\/bad-\\xff\\xfe-name: only in a \(file\)$/,
  ]);
});

test('a FIFO replaced by a file is reported', (t) => {
  const p = info.paths;
  const got = diffAfter(
    (b) => {
      unlinkSync(join(b, p.fifo));
      writeFileSync(join(b, p.fifo), '');
      chmodSync(join(b, p.fifo), 0o640);
    },
    [p.fifo],
  );
  expectLines(t, got, [/^special\/fifo: type a=fifo b=file$/]);
});

test('ignore, .seedship at the root of a, and the cap on lines', (t) => {
  const a2 = join(tmp.dir, 'a2');
  cpA(base, a2);
  mkdirSync(join(a2, '.seedship'));
  writeFileSync(join(a2, '.seedship', 'journal'), 'x');
  const b = join(tmp.dir, 'b-many');
  cpA(base, b);
  for (let i = 0; i < 250; i++) writeFileSync(join(b, 'empty', `f${String(i).padStart(3, '0')}`), '');
  const lines = comparePosixTrees(a2, b);
  assert.equal(lines.length, 201);
  assert.match(lines[199]!, /^empty\/f198: only in b \(file\)$/);
  assert.equal(lines[200], '… and 51 more differences'); // 250 files + the dir's mtime
  assert.deepEqual(comparePosixTrees(a2, b, { ignore: (rel) => rel === 'empty' }), []);
  assert.deepEqual(comparePosixTrees(a2, b, { ignore: (rel) => rel === 'empty', skipSeedship: false }), [
    '.seedship: only in a (dir, 1 entry below)',
  ]);
  if (haveRsync) t.diagnostic(`rsync: ${rsyncDiff(a2, b)!.length} lines`);
  rmSync(a2, { recursive: true, force: true });
  rmSync(b, { recursive: true, force: true });
});

test('an NTFS drive (loop device, mkntfs -Q, ntfs-3g -o windows_names) mounts, takes a file and unmounts', (t) => {
  const why = whyNoNtfs();
  if (why) return t.skip(why);
  const image = join(tmp.dir, 'ntfs.img');
  const dir = join(tmp.dir, 'ntfs');
  const unmount = mountNtfsDrive(image, dir, 32);
  let loop = '';
  try {
    loop = execFileSync('losetup', ['-j', image], { encoding: 'utf8' }).split(':')[0]!;
    assert.match(loop, /^\/dev\/loop\d+$/);
    assert.ok(isMounted(dir));
    assert.equal(statfsSync(dir).type, 0x65735546, 'FUSE_SUPER_MAGIC');
    writeFileSync(join(dir, 'hello.txt'), 'hello');
    assert.equal(readFileSync(join(dir, 'hello.txt'), 'utf8'), 'hello');

    // What the tool must map: every refused name of the tree.
    const p = info.paths;
    const refused = [...Object.values(p.forbiddenChars), ...p.reserved, p.trailingDot, p.trailingSpace, p.newline];
    mkdirSync(join(dir, 'win'));
    mkdirSync(join(dir, 'unicode'));
    for (const r of refused)
      assert.throws(() => writeFileSync(join(dir, r), ''), { code: 'EINVAL' }, escapeName(Buffer.from(r)));
    assert.throws(() => writeFileSync(bjoin(dir, p.nonUtf8), ''), { code: 'EILSEQ' });
    // Accepted: NFC/NFD twins, case twins, a dir beside a same-but-case file.
    writeFileSync(join(dir, p.nfc), '1');
    writeFileSync(join(dir, p.nfd), '2');
    mkdirSync(join(dir, 'case', 'Docs'), { recursive: true });
    for (const r of [...p.caseTwins, p.caseDirTwin.file]) writeFileSync(join(dir, r), r);
    for (const r of p.caseTwins) assert.equal(readFileSync(join(dir, r), 'utf8'), r);
    assert.equal(readFileSync(join(dir, p.nfd), 'utf8'), '2');
    // Modes and owners are not kept; symlinks, FIFOs and hard links are.
    chmodSync(join(dir, 'hello.txt'), 0o4600);
    lchownSync(join(dir, 'hello.txt'), 1234, 5678);
    const st = lstatSync(join(dir, 'hello.txt'));
    assert.deepEqual([st.mode & 0o7777, st.uid, st.gid], [0o777, 0, 0]);
    symlinkSync('hello.txt', join(dir, 'link'));
    assert.ok(lstatSync(join(dir, 'link')).isSymbolicLink());
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    assert.ok(lstatSync(join(dir, 'fifo')).isFIFO());
    execFileSync('ln', [join(dir, 'hello.txt'), join(dir, 'hard')]);
    assert.equal(lstatSync(join(dir, 'hard')).nlink, 2);
    // Name length counts UTF-16 units, up to 255.
    writeFileSync(join(dir, p.name255Multibyte), '');
    writeFileSync(join(dir, 'あ'.repeat(255)), ''); // 765 bytes
    writeFileSync(join(dir, '😀'.repeat(127)), ''); // 254 units
    assert.throws(() => writeFileSync(join(dir, '😀'.repeat(128)), ''), { code: 'ENAMETOOLONG' });
    assert.throws(() => writeFileSync(join(dir, 'y'.repeat(256)), ''), { code: 'ENAMETOOLONG' });
    assert.equal(statfsSync(dir).type, 0x65735546);
    // Times to 100 ns.
    setTimesNs(join(dir, 'hello.txt'), TIME_NANOS_NS);
    assert.equal(lstatSync(join(dir, 'hello.txt'), { bigint: true }).mtimeNs, TIME_NANOS_NS - 89n);
  } finally {
    unmount();
  }
  assert.equal(isMounted(dir), false);
  assert.equal(execFileSync('losetup', ['-j', image], { encoding: 'utf8' }).trim(), '', `${loop} still attached`);
  unmount(); // a second call is harmless
});
