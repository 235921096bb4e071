/**
 * AzCopy 10.32 as the reference client: what it writes with --preserve-posix-properties
 * --preserve-symlinks when uploading a tree to Azurite, and what it restores when downloading
 * (docs/azcopy-posix.md). Every assertion here is a finding of that document, so this fails when
 * AzCopy's behaviour changes. Needs root (chown to 1234:5678) and the AzCopy devDependency.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chownSync,
  chmodSync,
  linkSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
  existsSync,
  type BigIntStats,
} from 'node:fs';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { tempDir } from '../support/tree.js';
import { startAzurite, type RunningAzurite } from '../../native/azurite.js';
import {
  AZCOPY_POSIX_KEYS,
  AZCOPY_STATX_KEYS,
  AZCOPY_UNSTABLE_KEYS,
  accountSas,
  azcopyBlobName,
  azcopyDownload,
  azcopyPath,
  azcopyPosixExpectations,
  azcopyUnavailableReason,
  azcopyUpload,
  diffPosixMetadata,
  type AzcopyRunResult,
} from '../support/azcopy.js';

const skip: string | false =
  process.getuid?.() !== 0
    ? 'needs root (the tree has files owned by 1234:5678)'
    : azcopyPath()
      ? false
      : `AzCopy unavailable: ${azcopyUnavailableReason()}`;

const T = 1_600_000_000n * 1_000_000_000n; // 2020-09-13T12:26:40Z in ns
const FILE_MTIME = T + 123_456_789n;
const FILE_ATIME = FILE_MTIME + 111n;
const DIR_MTIME = T + 100_987_654_321n;
const EMPTY_MTIME = T + 200_000_000_005n;

const WEIRD = [
  'notes.',
  'trail-space ',
  ' lead-space',
  'co:lon',
  'q?mark',
  'back\\slash',
  'new\nline',
  'star*',
  'pct%41',
  'hash#',
  'aux.txt',
  'CON',
  'a.txt',
  'A.txt',
  'caf\u00e9-nfc',
  'cafe\u0301-nfd',
  '.hidden',
  'x'.repeat(255),
];

let az: RunningAzurite;
let haveDevices = false;
const t = tempDir('seedship-azcopy-ref-');
const src = `${t.dir}/src`;
const small = `${t.dir}/small`;
const lstats = new Map<string, BigIntStats>();
let flat: AzcopyRunResult; // src/* -> container "flat"
let rooted: AzcopyRunResult; // small -> container "rooted"
let nonUtf8: AzcopyRunResult;
let download: AzcopyRunResult; // flat -> dl
let sdkDownload: AzcopyRunResult; // SDK-written blobs -> sdkdl
const svc = () => BlobServiceClient.fromConnectionString(az.connectionString);

/** utimensat to the ns, without following a symlink (coreutils touch: Node's lutimes takes float seconds). */
function setTimes(path: string, atimeNs: bigint, mtimeNs: bigint): void {
  const at = (ns: bigint) => `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
  for (const [flag, ns] of [
    ['-a', atimeNs],
    ['-m', mtimeNs],
  ] as const) {
    const r = spawnSync('touch', ['-h', flag, '-d', at(ns), '--', path]);
    assert.equal(r.status, 0, `touch ${path}: ${r.stderr}`);
  }
}

function makeTree(): void {
  mkdirSync(src);
  const f = (rel: string, data: string, mode = 0o644) => {
    writeFileSync(`${src}/${rel}`, data);
    chmodSync(`${src}/${rel}`, mode);
  };
  f('regular.txt', 'regular\n', 0o600);
  chownSync(`${src}/regular.txt`, 1234, 5678);
  mkdirSync(`${src}/dir`);
  f('dir/inner.txt', 'inner\n');
  mkdirSync(`${src}/dir/nested`);
  f('dir/nested/deep.txt', 'deep\n');
  chmodSync(`${src}/dir`, 0o750);
  chownSync(`${src}/dir`, 1234, 5678);
  mkdirSync(`${src}/emptydir`);
  chmodSync(`${src}/emptydir`, 0o700);
  symlinkSync('regular.txt', `${src}/rel-link`);
  lchownSync(`${src}/rel-link`, 1234, 5678);
  symlinkSync('/etc/hostname', `${src}/abs-link`);
  symlinkSync('does/not/exist', `${src}/dangling-link`);
  symlinkSync('dir', `${src}/dir-link`);
  f('hard1', 'hardlinked\n');
  linkSync(`${src}/hard1`, `${src}/hard2`);
  const r = spawnSync('mkfifo', ['-m', '640', '--', `${src}/fifo`]);
  assert.equal(r.status, 0, String(r.stderr));
  for (const n of WEIRD) f(n, `${n}\n`);
  // Device nodes, where mknod is allowed (root, not in a user namespace without CAP_MKNOD).
  haveDevices =
    spawnSync('mknod', ['-m', '644', '--', `${src}/chr`, 'c', '1', '3']).status === 0 &&
    spawnSync('mknod', ['-m', '644', '--', `${src}/blk`, 'b', '7', '200']).status === 0;
  // Times last, children before their folders.
  const leaves = [
    'regular.txt',
    'dir/inner.txt',
    'dir/nested/deep.txt',
    'rel-link',
    'abs-link',
    'dangling-link',
    'dir-link',
    'hard1',
    'fifo',
    ...WEIRD,
  ];
  for (const rel of leaves) setTimes(`${src}/${rel}`, FILE_ATIME, FILE_MTIME);
  setTimes(`${src}/dir/nested`, FILE_ATIME, FILE_MTIME);
  setTimes(`${src}/dir`, DIR_MTIME + 111n, DIR_MTIME);
  setTimes(`${src}/emptydir`, EMPTY_MTIME + 111n, EMPTY_MTIME);
}

async function listAll(
  cc: ContainerClient,
): Promise<Map<string, { meta: Record<string, string>; length: number; body: Buffer }>> {
  const out = new Map<string, { meta: Record<string, string>; length: number; body: Buffer }>();
  for await (const b of cc.listBlobsFlat({ includeMetadata: true })) {
    const length = b.properties.contentLength ?? 0;
    const body = length > 0 && length < 4096 ? await cc.getBlobClient(b.name).downloadToBuffer() : Buffer.alloc(0);
    out.set(b.name, { meta: b.metadata ?? {}, length, body });
  }
  return out;
}

before(async () => {
  if (skip) return;
  az = await startAzurite();
  makeTree();
  // The SDK-written container: what AzCopy makes of hand-set POSIX keys (what an imported container must hold).
  const sdk = svc().getContainerClient('sdk');
  await sdk.create();
  const own = { posix_owner: '1234', posix_group: '5678' };
  const sdkBlobs: Record<string, [string, Record<string, string>]> = {
    d1: ['', { hdi_isfolder: 'true', permissions: String(0o40750), ...own, modtime: String(DIR_MTIME) }],
    'd1/f': ['inner\n', { permissions: String(0o100600), ...own, modtime: String(FILE_MTIME) }],
    d2: ['', { hdi_isfolder: 'true', permissions: String(0o40700), ...own, modtime: String(EMPTY_MTIME) }],
    ln: ['d1/f', { is_symlink: 'true', permissions: String(0o120777), ...own, modtime: String(FILE_MTIME) }],
    ff: ['', { is_fifo: 'true', permissions: String(0o10640), ...own, modtime: String(FILE_MTIME) }],
    'fifo-flag-only': ['', { is_fifo: 'true' }],
    'link-mode-only': ['target', { permissions: String(0o120777) }],
    plain: [
      'plain\n',
      { permissions: String(0o100600), ...own, modtime: String(FILE_MTIME), posix_atime: String(FILE_ATIME) },
    ],
    'bits-only': ['p\n', { permissions: String(0o640) }],
    'modtime-only': ['p\n', { modtime: String(FILE_MTIME) }],
    'no-meta': ['n\n', {}],
    'folder-flag-file': ['data', { hdi_isfolder: 'true' }],
  };
  for (const [name, [body, metadata]] of Object.entries(sdkBlobs))
    await sdk.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), { metadata });
  // A small tree for the `src` (not `src/*`) layout.
  mkdirSync(`${small}/d`, { recursive: true });
  writeFileSync(`${small}/f`, 'f\n');
  writeFileSync(`${small}/d/g`, 'g\n');
  // A name that is not UTF-8, in its own tree.
  const bad = `${t.dir}/bad`;
  mkdirSync(bad);
  writeFileSync(`${bad}/ok.txt`, 'ok\n');
  writeFileSync(Buffer.concat([Buffer.from(`${bad}/latin1-`), Buffer.from([0xe9, 0xff])]), 'nonutf8\n');

  [flat, rooted, nonUtf8, sdkDownload] = await Promise.all([
    azcopyUpload(src, accountSas(az.connectionString, 'flat'), { contentsOnly: true }),
    azcopyUpload(small, accountSas(az.connectionString, 'rooted')),
    azcopyUpload(bad, accountSas(az.connectionString, 'nonutf8'), { contentsOnly: true, allowFailure: true }),
    azcopyDownload(accountSas(az.connectionString, 'sdk'), `${t.dir}/sdkdl`, {
      contentsOnly: true,
      allowFailure: true,
    }),
  ]);
  download = await azcopyDownload(accountSas(az.connectionString, 'flat'), `${t.dir}/dl`, { contentsOnly: true });
  const walk = (rel: string) => {
    const st = lstatSync(rel ? `${src}/${rel}` : src, { bigint: true });
    lstats.set(rel, st);
    if (st.isDirectory()) for (const n of readdirSync(rel ? `${src}/${rel}` : src)) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
});

after(async () => {
  if (az) await az.stop();
  t.cleanup();
});

test('upload src/*: blob names are the relative paths (\\ becomes /), folders get a blob without a trailing slash, no blob for the root', {
  skip,
}, async () => {
  assert.equal(flat.code, 0);
  assert.equal(flat.summary?.JobStatus, 'Completed');
  assert.equal(flat.summary?.SkippedSpecialFileCount, '0');
  assert.equal(flat.summary?.SymlinkTransfers, '4');
  assert.equal(flat.summary?.FolderPropertyTransfers, '3'); // dir, dir/nested, emptydir: not the root
  const blobs = await listAll(svc().getContainerClient('flat'));
  const expected = [...lstats.keys()]
    .filter((k) => k !== '')
    .map(azcopyBlobName)
    .sort();
  assert.deepEqual([...blobs.keys()].sort(), expected);
  assert.ok(
    blobs.has('back/slash') && !blobs.has('back'),
    'a backslash in a name is a separator for AzCopy, and no folder blob is made for it',
  );
  for (const name of [
    'notes.',
    'trail-space ',
    'new\nline',
    'caf\u00e9-nfc',
    'cafe\u0301-nfd',
    'a.txt',
    'A.txt',
    'x'.repeat(255),
  ])
    assert.ok(blobs.has(name), JSON.stringify(name));
});

test('upload src (not src/*): every name gets "src/" and the root folder has its own blob "src" (hdi_isfolder, no trailing slash)', {
  skip,
}, async () => {
  assert.equal(rooted.summary?.FolderPropertyTransfers, '2');
  const blobs = await listAll(svc().getContainerClient('rooted'));
  assert.deepEqual([...blobs.keys()].sort(), ['small', 'small/d', 'small/d/g', 'small/f']);
  const root = blobs.get('small')!;
  assert.equal(root.length, 0);
  assert.equal(root.meta.hdi_isfolder, 'true');
  assert.deepEqual(
    diffPosixMetadata(azcopyPosixExpectations(lstatSync(small, { bigint: true })), root.meta, [
      ...AZCOPY_UNSTABLE_KEYS,
      ...AZCOPY_STATX_KEYS,
    ]),
    [],
  );
});

test('upload: every blob has exactly the POSIX keys azcopyPosixExpectations gives for its lstat, plus the statx keys and posix_atime', {
  skip,
}, async () => {
  const blobs = await listAll(svc().getContainerClient('flat'));
  for (const [rel, st] of lstats) {
    if (rel === '') continue;
    const b = blobs.get(azcopyBlobName(rel));
    assert.ok(b, rel);
    const exp = azcopyPosixExpectations(st);
    assert.deepEqual(
      diffPosixMetadata(exp, b.meta, [...AZCOPY_UNSTABLE_KEYS, ...AZCOPY_STATX_KEYS]),
      [],
      `${JSON.stringify(rel)}`,
    );
    const keys = Object.keys(b.meta).sort();
    assert.deepEqual(
      keys,
      [...new Set([...Object.keys(exp), ...AZCOPY_STATX_KEYS, 'posix_atime'])].sort(),
      `${JSON.stringify(rel)}: keys`,
    );
    assert.ok(keys.every((k) => (AZCOPY_POSIX_KEYS as readonly string[]).includes(k)));
    for (const k of [...AZCOPY_STATX_KEYS, 'posix_atime']) assert.match(b.meta[k]!, /^\d+$/, `${rel} ${k}`);
    assert.match(b.meta.posix_atime!, /^\d{19}$/, 'atime in ns');
  }
});

test("upload: the values, spelled out (decimal st_mode, ns times, type flags with AzCopy's bit-test quirks, symlink target as content)", {
  skip,
}, async () => {
  const blobs = await listAll(svc().getContainerClient('flat'));
  const m = (n: string) => blobs.get(n)!.meta;
  assert.deepEqual(
    {
      p: m('regular.txt').permissions,
      t: m('regular.txt').modtime,
      o: m('regular.txt').posix_owner,
      g: m('regular.txt').posix_group,
      n: m('regular.txt').posix_nlink,
    },
    { p: '33152', t: '1600000000123456789', o: '1234', g: '5678', n: '1' },
  );
  assert.deepEqual(blobs.get('regular.txt')!.body.toString(), 'regular\n');
  for (const k of ['hdi_isfolder', 'is_symlink', 'is_fifo', 'is_char_dev', 'posix_rdev'])
    assert.equal(m('regular.txt')[k], undefined);
  // Folders: zero-length, hdi_isfolder=true, their own mode/owner/mtime.
  assert.deepEqual(
    [
      blobs.get('dir')!.length,
      m('dir').hdi_isfolder,
      m('dir').permissions,
      m('dir').posix_owner,
      m('dir').modtime,
      m('dir').posix_nlink,
    ],
    [0, 'true', '16872', '1234', '1600000100987654321', '3'],
  );
  assert.deepEqual(
    [m('emptydir').permissions, m('emptydir').modtime, m('emptydir').posix_nlink],
    ['16832', '1600000200000000005', '2'],
  );
  // Symlinks: content is the target, permissions 0o120777, is_symlink AND is_char_dev, posix_rdev "0", own owner.
  for (const [n, target] of [
    ['rel-link', 'regular.txt'],
    ['abs-link', '/etc/hostname'],
    ['dangling-link', 'does/not/exist'],
    ['dir-link', 'dir'],
  ] as const) {
    assert.equal(blobs.get(n)!.body.toString(), target, n);
    assert.deepEqual(
      [m(n).is_symlink, m(n).is_char_dev, m(n).posix_rdev, m(n).permissions, m(n).modtime],
      ['true', 'true', '0', '41471', '1600000000123456789'],
      n,
    );
    assert.equal(m(n).hdi_isfolder, undefined);
  }
  assert.deepEqual([m('rel-link').posix_owner, m('rel-link').posix_group], ['1234', '5678']);
  // FIFO: zero-length blob, is_fifo, 0o10640 = 4512; never opened, so its atime is the one we set.
  assert.deepEqual(
    [blobs.get('fifo')!.length, m('fifo').is_fifo, m('fifo').permissions, m('fifo').posix_atime],
    [0, 'true', '4512', String(FILE_ATIME)],
  );
  // Hard links: two independent blobs with the same inode, nlink 2, same content.
  assert.equal(m('hard1').posix_ino, m('hard2').posix_ino);
  assert.deepEqual([m('hard1').posix_nlink, m('hard2').posix_nlink], ['2', '2']);
  assert.equal(blobs.get('hard2')!.body.toString(), 'hardlinked\n');
  if (haveDevices) {
    // Device nodes: zero-length blobs; posix_rdev is st_rdev (1:3 = 259, 7:200 = 1992); S_IFBLK
    // (0o060000) also passes the S_IFCHR and S_IFDIR bit tests, so a block device is a "folder".
    assert.deepEqual(
      [
        blobs.get('chr')!.length,
        m('chr').is_char_dev,
        m('chr').posix_rdev,
        m('chr').permissions,
        m('chr').hdi_isfolder,
      ],
      [0, 'true', '259', String(0o20644), undefined],
    );
    assert.deepEqual(
      [m('blk').is_block_dev, m('blk').is_char_dev, m('blk').hdi_isfolder, m('blk').posix_rdev, m('blk').permissions],
      ['true', 'true', 'true', '1992', String(0o60644)],
    );
  }
});

test('upload: a name that is not UTF-8 is sent percent-encoded byte for byte, Azurite answers 500, the transfer fails, the rest lands', {
  skip,
}, async () => {
  assert.notEqual(nonUtf8.code, 0);
  assert.equal(nonUtf8.summary?.JobStatus, 'CompletedWithErrors');
  assert.equal(nonUtf8.summary?.TransfersFailed, '1');
  assert.match(nonUtf8.logTail, /UPLOADFAILED: .*\/latin1-\xe9\xff : 500 /);
  assert.match(nonUtf8.logTail, /Dst: http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/nonutf8\/latin1-%E9%FF/);
  const blobs = await listAll(svc().getContainerClient('nonutf8'));
  assert.deepEqual([...blobs.keys()], ['ok.txt']);
});

test('download (BlobLocal, both flags): files get mode, owner, mtime and atime to the ns; FIFOs come back; symlinks only their target; hard links split', {
  skip,
}, async () => {
  assert.equal(download.summary?.JobStatus, 'Completed');
  assert.equal(
    download.summary?.FolderPropertyTransfers,
    '0',
    'folder blobs are ignored without --include-directory-stub',
  );
  const dl = `${t.dir}/dl`;
  const blobs = await listAll(svc().getContainerClient('flat'));
  const reg = lstatSync(`${dl}/regular.txt`, { bigint: true });
  assert.deepEqual(
    [reg.mode, reg.uid, reg.gid, reg.mtimeNs, reg.atimeNs],
    [0o100600n, 1234n, 5678n, FILE_MTIME, BigInt(blobs.get('regular.txt')!.meta.posix_atime!)],
  );
  const fifo = lstatSync(`${dl}/fifo`, { bigint: true });
  assert.ok(fifo.isFIFO());
  assert.deepEqual([fifo.mode, fifo.mtimeNs, fifo.atimeNs], [0o10640n, FILE_MTIME, FILE_ATIME]);
  for (const [n, target] of [
    ['rel-link', 'regular.txt'],
    ['abs-link', '/etc/hostname'],
    ['dangling-link', 'does/not/exist'],
    ['dir-link', 'dir'],
  ] as const) {
    assert.equal(readlinkSync(`${dl}/${n}`), target);
    const st = lstatSync(`${dl}/${n}`, { bigint: true });
    assert.ok(st.isSymbolicLink());
    assert.notEqual(st.mtimeNs, FILE_MTIME, `${n}: AzCopy does not restore a symlink's mtime`);
  }
  assert.equal(lstatSync(`${dl}/rel-link`).uid, 0, 'nor its owner');
  const [h1, h2] = [lstatSync(`${dl}/hard1`), lstatSync(`${dl}/hard2`)];
  assert.notEqual(h1.ino, h2.ino);
  assert.deepEqual([h1.nlink, h2.nlink], [1, 1]);
  for (const n of WEIRD.filter((w) => w !== 'back\\slash')) assert.ok(existsSync(`${dl}/${n}`), JSON.stringify(n));
  assert.ok(lstatSync(`${dl}/back`).isDirectory() && existsSync(`${dl}/back/slash`));
  if (haveDevices) {
    const chr = lstatSync(`${dl}/chr`, { bigint: true });
    assert.ok(chr.isCharacterDevice(), 'a character device is made again with mknod');
    assert.deepEqual([chr.rdev, chr.mode], [259n, 0o20644n]);
    assert.equal(existsSync(`${dl}/blk`), false, 'a block device blob carries hdi_isfolder=true, so download skips it');
  }
});

test('download: folders get no POSIX properties (mode 0755, owner of the runner, mtime now) and empty folders are not created', {
  skip,
}, async () => {
  const dl = `${t.dir}/dl`;
  const dir = lstatSync(`${dl}/dir`, { bigint: true });
  assert.deepEqual([dir.mode & 0o7777n, dir.uid], [0o755n, 0n]);
  assert.notEqual(dir.mtimeNs, DIR_MTIME);
  assert.equal(existsSync(`${dl}/emptydir`), false);
});

test('download of SDK-written blobs: which hand-set keys AzCopy honours', { skip }, async () => {
  const dl = `${t.dir}/sdkdl`;
  const st = (n: string) => lstatSync(`${dl}/${n}`, { bigint: true });
  // One failure: permissions with S_IFLNK but no is_symlink=true -> mknod(S_IFLNK) -> EINVAL.
  assert.equal(sdkDownload.summary?.TransfersFailed, '1');
  assert.match(
    sdkDownload.logTail,
    /DOWNLOADFAILED: \S+\/sdk\/link-mode-only : 000 : File Creation Error invalid argument/,
  );
  assert.deepEqual(
    [st('d1/f').mode, st('d1/f').uid, st('d1/f').gid, st('d1/f').mtimeNs],
    [0o100600n, 1234n, 5678n, FILE_MTIME],
  );
  assert.deepEqual(
    [st('plain').mode, st('plain').uid, st('plain').mtimeNs, st('plain').atimeNs],
    [0o100600n, 1234n, FILE_MTIME, FILE_ATIME],
  );
  // The folder stub's own keys are not applied, and a stub with nothing under it is not created.
  assert.deepEqual([st('d1').mode & 0o7777n, st('d1').uid], [0o755n, 0n]);
  assert.equal(existsSync(`${dl}/d2`), false);
  // A blob with hdi_isfolder=true is never downloaded, even with content.
  assert.equal(existsSync(`${dl}/folder-flag-file`), false);
  // Symlink: is_symlink=true makes it; its owner and mtime are not applied.
  assert.equal(readlinkSync(`${dl}/ln`), 'd1/f');
  assert.deepEqual([st('ln').uid], [0n]);
  // FIFO: made from the S_IFIFO bits of `permissions` (mknod), owner and mtime applied; is_fifo alone makes a regular file, mode 000.
  assert.ok(st('ff').isFIFO());
  assert.deepEqual([st('ff').mode, st('ff').uid, st('ff').gid, st('ff').mtimeNs], [0o10640n, 1234n, 5678n, FILE_MTIME]);
  assert.ok(st('fifo-flag-only').isFile());
  assert.equal(st('fifo-flag-only').mode & 0o7777n, 0n);
  // Permission bits without a type are fine; any POSIX key without `permissions` gives mode 000; none at all gives 0644.
  assert.equal(st('bits-only').mode, 0o100640n);
  assert.deepEqual([st('modtime-only').mode & 0o7777n, st('modtime-only').mtimeNs], [0n, FILE_MTIME]);
  assert.equal(st('no-meta').mode & 0o7777n, 0o644n);
});
