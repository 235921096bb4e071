import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  blobNameOf,
  blobNameProblem,
  caseFoldKey,
  checkContainerName,
  checkJobName,
  isNtfsSafe,
  mapDirectoryNames,
} from '../../core/manifest/naming.js';
import { decodeName } from '../../native/raw-names.js';
import { checkBitLockerRecoveryPassword, normalizeBitLockerKey } from '../../core/manifest/bitlocker-key.js';

test('container names follow the storage rules', () => {
  for (const ok of ['abc', 'my-container-1', '$root', 'a'.repeat(63)])
    assert.equal(checkContainerName(ok), undefined, ok);
  for (const bad of ['ab', 'a'.repeat(64), 'Abc', 'a_b', '-abc', 'abc-', 'a--b'])
    assert.ok(checkContainerName(bad), bad);
});

test('job names: lowercase, digits, hyphen, underscore, starting with a letter', () => {
  for (const ok of ['job', 'my_job-2026']) assert.equal(checkJobName(ok), undefined);
  for (const bad of ['jb', '1job', 'Job', 'job name', 'j'.repeat(65)]) assert.ok(checkJobName(bad), bad);
});

const isFileName = (n: string) => ({ name: n, file: true });

test('blob names: a valid name is kept exactly, others get a deterministic escaped name', () => {
  for (const ok of [
    'dir/file.txt',
    'a:b.txt',
    'aux.txt',
    'notes.',
    'memo ',
    'CON',
    'Index.html',
    'e\u0301',
    'q?*<>|"',
  ]) {
    assert.deepEqual(blobNameOf(ok, '.zst'), { name: `${ok}.zst`, escaped: false }, ok);
  }
  const nl = blobNameOf('dir/bad\nname', '');
  assert.equal(nl.escaped, true);
  assert.match(nl.name, /^dir\/bad%0Aname~[0-9a-f]{12}$/);
  assert.deepEqual(blobNameOf('dir/bad\nname', ''), nl, 'deterministic');
  const raw = blobNameOf(`x/${decodeName(Buffer.from([0x61, 0xff, 0xfe]))}`, '.zst');
  assert.match(raw.name, /^x\/a%FF%FE~[0-9a-f]{12}\.zst$/);
  assert.equal(blobNameOf('a%b\t', '').name.startsWith('a%25b%09~'), true, 'a % in an escaped segment is escaped too');
  const deep = blobNameOf(Array.from({ length: 255 }, () => 'd').join('/'), '');
  assert.match(deep.name, /^seedship-escaped\/[0-9a-f]{40}$/);
  const long = blobNameOf(Array.from({ length: 120 }, () => 'abcdefghi').join('/'), '.zst');
  assert.match(long.name, /^seedship-escaped\/[0-9a-f]{40}\.zst$/);
  assert.notEqual(blobNameOf('a\n', '').name, blobNameOf('a\r', '').name);
  assert.deepEqual(
    blobNameOf('win/back\\slash', '.zst'),
    { name: 'win/back/slash.zst', escaped: true },
    'the service reads \\ as /: the name AzCopy gives it',
  );
  assert.match(blobNameOf('win/back\\\\slash', '').name, /^win\/back%5C%5Cslash~[0-9a-f]{12}$/, 'no empty segment');
  for (const bad of ['', 'a//b', 'a/./b', 'x\u0001', '\udcff']) assert.ok(blobNameProblem(bad), JSON.stringify(bad));
});

test('drive names: what NTFS keeps is kept; case twins, forbidden characters, reserved and trailing names are mapped', () => {
  const names = [
    'A.txt',
    'CON',
    'Index.html',
    'a.TXT',
    'a:b.txt',
    'aux.txt',
    'b',
    'index.html',
    'memo ',
    'notes.',
    'q?',
  ].map(isFileName);
  const out = mapDirectoryNames(names, '');
  assert.equal(out[0], 'A.txt');
  assert.equal(out[2], 'Index.html');
  assert.equal(out[6], 'b');
  assert.match(out[3]!, /^a~[0-9a-f]{8}\.TXT$/, 'the later case twin is mapped');
  assert.match(out[7]!, /^index~[0-9a-f]{8}\.html$/);
  assert.match(out[1]!, /^CON~[0-9a-f]{8}$/);
  assert.match(out[5]!, /^aux~[0-9a-f]{8}\.txt$/, 'the hash goes before the extension, so the name is no device name');
  assert.match(out[4]!, /^a_b~[0-9a-f]{8}\.txt$/);
  assert.match(out[8]!, /^memo _?~[0-9a-f]{8}$/);
  for (const n of out) assert.ok(isNtfsSafe(n!), n);
  assert.equal(new Set(out.map((n) => caseFoldKey(n!))).size, out.length, 'no two names are one file to Windows');
  assert.deepEqual(mapDirectoryNames(names, ''), out, 'deterministic');
  // With zstd, files take .zst: a directory named like a file's drive name is mapped.
  const z = mapDirectoryNames(
    [
      { name: 'a', file: true },
      { name: 'a.zst', file: false },
    ],
    '.zst',
  );
  assert.equal(z[0], 'a.zst');
  assert.notEqual(caseFoldKey(z[1]!), caseFoldKey('a.zst'));
  // NFC/NFD twins, a 255-unit name that grows with the suffix, bytes that are not UTF-8.
  const t = mapDirectoryNames(
    [isFileName('é'), isFileName('e\u0301'), isFileName('n'.repeat(255)), isFileName(decodeName(Buffer.from([0xff])))],
    '.zst',
  );
  assert.equal(t[0], 'é.zst');
  for (const n of t) assert.ok(isNtfsSafe(n!) && n!.length <= 255, n);
});

test('property: every directory listing maps to distinct NTFS-safe names of at most 255 units', () => {
  const seg = fc.string({
    minLength: 1,
    maxLength: 300,
    unit: fc.constantFrom(...[...'abcXYZ019 .-_éé日本🚢:?*<>|"\\\n\t']),
  });
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.record({ name: seg, file: fc.boolean() }), { selector: (x) => x.name, maxLength: 12 }),
      (listing) => {
        const names = [...listing].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        const out = mapDirectoryNames(names, '.zst');
        assert.equal(new Set(out.map((n) => caseFoldKey(n))).size, out.length);
        for (const n of out) assert.ok(isNtfsSafe(n), JSON.stringify(n));
      },
    ),
  );
});

test('BitLocker numerical passwords: 8 groups of 6 digits, each a multiple of 11 below 720896', () => {
  assert.equal(checkBitLockerRecoveryPassword('238810-662376-448998-450120-652806-203390-606320-483076'), undefined);
  assert.equal(
    normalizeBitLockerKey('238810662376448998450120652806203390606320483076'),
    '238810-662376-448998-450120-652806-203390-606320-483076',
  );
  assert.match(
    checkBitLockerRecoveryPassword('238810-662376-448998-450120-652806-203390-606320-48307') ?? '',
    /48 digits/,
  );
  assert.match(
    checkBitLockerRecoveryPassword('238811-662376-448998-450120-652806-203390-606320-483076') ?? '',
    /group 1 \(238811\)/,
  );
  assert.match(
    checkBitLockerRecoveryPassword('720896-662376-448998-450120-652806-203390-606320-483076') ?? '',
    /group 1/,
  );
});
