import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, readFileSync, writeFileSync, statSync, existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { hashTree, tempDir, writeTree, bytesOf, readAllFiles, type TreeSpec } from '../support/tree.js';
import { runSeedship } from '../support/cli.js';

const MiB = 1024 * 1024;

/** A small mixed tree: compressible, random, empty, exactly 4 MiB, 4 MiB + 1, unicode, deep. */
function mixedTree(): TreeSpec {
  return {
    'logs/app.log': { size: 9 * MiB + 123, seed: 1, kind: 'text' },
    'data/random.bin': { size: 6 * MiB + 7, seed: 2 },
    'data/exact4m.bin': { size: 4 * MiB, seed: 3 },
    'data/exact4m+1.bin': { size: 4 * MiB + 1, seed: 4 },
    'empty.txt': '',
    'tiny.txt': 'x',
    'unicode/été 日本 🚢.txt': 'bonjour',
    'deep/a/b/c/d/e/f/g/h/i/j/file.txt': 'deep',
  };
}

function prepareArgs(staging: string, drives: string[], extra: string[] = []): string[] {
  return [
    'prepare',
    '--staging',
    staging,
    '--job',
    'itest',
    ...drives.flatMap((d) => ['--drive', d]),
    '--allow-staging-volume',
    ...extra,
  ];
}

test('zstd prepare spans three drives, verifies, and restores byte for byte', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, mixedTree());
    const drives = [1, 2, 3].map((i) => `${t.dir}/d${i}`);
    for (const d of drives) mkdirSync(d);
    const r = await runSeedship(prepareArgs(staging, drives, ['--drive-limit', '9M', '--json', '--level', '1']));
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as {
      status: string;
      drives: { status: string; blobs: number; verified: boolean }[];
    };
    assert.equal(result.status, 'done');
    assert.ok(result.drives.length >= 2, 'spans at least two drives');
    for (const d of result.drives) {
      assert.equal(d.status, 'sealed');
      assert.equal(d.verified, true);
    }
    // Each blob is a standard .zst: parts concatenated across drives decompress with zstd(1).
    const parts = drives.map((d) => `${d}/itest/data/random.bin.zst`).filter((p) => existsSync(p));
    assert.ok(parts.length >= 1);
    const v = await runSeedship([
      'verify',
      ...drives.flatMap((d) => ['--drive', d]),
      '--session',
      `${staging}/.seedship/itest`,
    ]);
    assert.equal(v.code, 0, v.stderr + v.stdout);
    const out = `${t.dir}/out`;
    const rr = await runSeedship([
      'restore',
      ...drives.flatMap((d) => ['--drive', d]),
      '--session',
      `${staging}/.seedship/itest`,
      '--to',
      out,
    ]);
    assert.equal(rr.code, 0, rr.stderr);
    assert.deepEqual(hashTree(out), hashTree(staging));
  } finally {
    t.cleanup();
  }
});

test('a blob split across drives is a standard .zst when its parts are joined', async (ctx) => {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
  } catch {
    ctx.skip('zstd(1) is not installed');
    return;
  }
  const t = tempDir();
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, { 'big.bin': { size: 13 * MiB, seed: 9 } });
    const drives = [1, 2, 3, 4].map((i) => `${t.dir}/d${i}`);
    for (const d of drives) mkdirSync(d);
    const r = await runSeedship(prepareArgs(staging, drives, ['--drive-limit', '6M']));
    assert.equal(r.code, 0, r.stderr);
    const parts = drives.map((d) => `${d}/itest/big.bin.zst`).filter((p) => existsSync(p));
    assert.ok(parts.length >= 3, `split over ${parts.length} drives`);
    const joined = Buffer.concat(parts.map((p) => readFileSync(p)));
    writeFileSync(`${t.dir}/joined.zst`, joined);
    execFileSync('zstd', ['-q', '-d', `${t.dir}/joined.zst`, '-o', `${t.dir}/joined`]);
    assert.ok(readFileSync(`${t.dir}/joined`).equals(readFileSync(`${staging}/big.bin`)));
  } finally {
    t.cleanup();
  }
});

test('codec none with page blobs: sparse ranges, 512-aligned, restores identical', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/staging`;
    const vhd = Buffer.alloc(9 * MiB);
    bytesOf(3000, 5).copy(vhd, 512 * 7);
    bytesOf(70000, 6).copy(vhd, 5 * MiB + 1024);
    vhd.write('conectix', vhd.length - 512);
    writeTree(staging, { 'disk.vhd': vhd, 'zero.vhd': Buffer.alloc(1024 * 1024) });
    const drives = [`${t.dir}/d1`, `${t.dir}/d2`];
    for (const d of drives) mkdirSync(d);
    const r = await runSeedship(prepareArgs(staging, drives, ['--codec', 'none', '--blob-type', 'page']));
    assert.equal(r.code, 0, r.stderr);
    const manifest = readFileSync(`${drives[0]}/DriveManifest.xml`, 'utf8');
    assert.match(manifest, /<PageRangeList>/);
    for (const m of manifest.matchAll(/<PageRange Offset="(\d+)" Length="(\d+)"/g)) {
      assert.equal(Number(m[1]) % 512, 0);
      assert.equal(Number(m[2]) % 512, 0);
    }
    // Only the non-zero pages are listed: far less than the file.
    const listed = [...manifest.matchAll(/<PageRange Offset="\d+" Length="(\d+)"/g)].reduce(
      (a, m) => a + Number(m[1]),
      0,
    );
    assert.ok(listed < 200_000, `listed ${listed} bytes`);
    assert.equal(statSync(`${drives[0]}/itest/disk.vhd`).size, vhd.length);
    const out = `${t.dir}/out`;
    const used = drives.filter((d) => existsSync(`${d}/seedship/drive.json`));
    const rr = await runSeedship([
      'restore',
      ...used.flatMap((d) => ['--drive', d]),
      '--session',
      `${staging}/.seedship/itest`,
      '--to',
      out,
    ]);
    assert.equal(rr.code, 0, rr.stderr);
    assert.deepEqual(hashTree(out), hashTree(staging));
  } finally {
    t.cleanup();
  }
});

test('--encrypt: keys stay in the session (0600), drives hold no plain data, verify needs the session, restore is identical', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/staging`;
    const marker = 'PLAINTEXT-MARKER-'.repeat(1000);
    writeTree(staging, { 'secret.txt': marker, 'r.bin': { size: 5 * MiB, seed: 11 } });
    const drives = [`${t.dir}/d1`, `${t.dir}/d2`];
    for (const d of drives) mkdirSync(d);
    const r = await runSeedship(prepareArgs(staging, drives, ['--encrypt', '--codec', 'none', '--drive-limit', '6M']));
    assert.equal(r.code, 0, r.stderr);
    const session = `${staging}/.seedship/itest`;
    const keys = readdirSync(`${session}/keys`);
    assert.ok(keys.length >= 1);
    for (const k of keys) assert.equal(statSync(`${session}/keys/${k}`).mode & 0o777, 0o600);
    for (const d of drives) {
      const all = readAllFiles(d).toString('latin1');
      assert.ok(!all.includes('PLAINTEXT-MARKER'), 'no plaintext on the drive');
      for (const k of keys)
        assert.ok(!all.includes(readFileSync(`${session}/keys/${k}`, 'utf8').trim()), 'no key on the drive');
    }
    const v1 = await runSeedship(['verify', '--drive', drives[0]!]);
    assert.equal(v1.code, 2, 'encrypted drive without session is a usage error');
    assert.match(v1.stderr, /--session/);
    const v2 = await runSeedship(['verify', '--drive', drives[0]!, '--drive', drives[1]!, '--session', session]);
    assert.equal(v2.code, 0, v2.stderr + v2.stdout);
    const out = `${t.dir}/out`;
    const rr = await runSeedship([
      'restore',
      '--drive',
      drives[0]!,
      '--drive',
      drives[1]!,
      '--session',
      session,
      '--to',
      out,
    ]);
    assert.equal(rr.code, 0, rr.stderr);
    assert.deepEqual(hashTree(out), hashTree(staging));
  } finally {
    t.cleanup();
  }
});

test('drives full with --yes: seal, exit 4; the same command with more drives continues on all of them; nothing copied twice', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, { 'a.bin': { size: 5 * MiB, seed: 21 }, 'b.bin': { size: 5 * MiB, seed: 22 } });
    mkdirSync(`${t.dir}/d1`);
    mkdirSync(`${t.dir}/d2`);
    mkdirSync(`${t.dir}/d3`);
    const r1 = await runSeedship(prepareArgs(staging, [`${t.dir}/d1`], ['--drive-limit', '7M', '--yes', '--json']));
    assert.equal(r1.code, 4, r1.stderr);
    assert.equal((JSON.parse(r1.stdout) as { status: string }).status, 'needs-drive');
    assert.ok(existsSync(`${t.dir}/d1/DriveManifest.xml`), 'the full drive is sealed');
    // The disk swap: same command, next drive (the sealed one may be given again: left alone).
    const r2 = await runSeedship(
      prepareArgs(staging, [`${t.dir}/d1`, `${t.dir}/d2`, `${t.dir}/d3`], ['--drive-limit', '7M', '--json']),
    );
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stderr, /already sealed/);
    const res = JSON.parse(r2.stdout) as { bytes: { raw: number; rawTotal: number }; resumed: boolean };
    assert.equal(res.resumed, true);
    assert.equal(res.bytes.raw, res.bytes.rawTotal, 'raw bytes counted once');
    const out = `${t.dir}/out`;
    // Every drive given is filled at once: the rest lands on d2, d3 or both, each sealed if it took data.
    const used = [1, 2, 3].map((i) => `${t.dir}/d${i}`).filter((d) => existsSync(`${d}/DriveManifest.xml`));
    assert.ok(used.length >= 2, `sealed: ${used.join(' ')}`);
    const rr = await runSeedship([
      'restore',
      ...used.flatMap((d) => ['--drive', d]),
      '--session',
      `${staging}/.seedship/itest`,
      '--to',
      out,
    ]);
    assert.equal(rr.code, 0, rr.stderr);
    assert.deepEqual(hashTree(out), hashTree(staging));
  } finally {
    t.cleanup();
  }
});

test('a flipped byte on a drive: verify exits 6 naming drive, blob and block', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, { 'x/one.bin': { size: 9 * MiB, seed: 31 } });
    const d = `${t.dir}/d1`;
    mkdirSync(d);
    const r = await runSeedship(prepareArgs(staging, [d], ['--codec', 'none']));
    assert.equal(r.code, 0, r.stderr);
    const f = `${d}/itest/x/one.bin`;
    const b = readFileSync(f);
    b[4 * MiB + 10] = b[4 * MiB + 10]! ^ 0xff;
    writeFileSync(f, b);
    const v = await runSeedship(['verify', '--drive', d]);
    assert.equal(v.code, 6);
    const id = (JSON.parse(readFileSync(`${d}/seedship/drive.json`, 'utf8')) as { driveId: string }).driveId;
    assert.match(v.stderr, new RegExp(`drive ${id}, itest/x/one.bin block 1`));
  } finally {
    t.cleanup();
  }
});

test('a metadata file changed on a drive: verify exits 6 naming the blob, with and without the session', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, { 'a.txt': 'alpha', 'dir/b.txt': 'beta' });
    const d = `${t.dir}/d1`;
    mkdirSync(d);
    const r = await runSeedship(prepareArgs(staging, [d], ['--codec', 'none']));
    assert.equal(r.code, 0, r.stderr);
    const manifest = readFileSync(`${d}/DriveManifest.xml`, 'utf8');
    const meta =
      /<BlobPath>itest\/a\.txt<\/BlobPath>[\s\S]*?<MetadataPath Hash="[0-9A-F]{32}">([^<]+)<\/MetadataPath>/.exec(
        manifest,
      )?.[1];
    assert.ok(meta, 'a.txt has a metadata file');
    const path = `${d}/${meta.replaceAll('\\', '/').slice(1)}`;
    writeFileSync(
      path,
      readFileSync(path, 'utf8').replace(/<permissions>\d+<\/permissions>/, '<permissions>33279</permissions>'),
    );
    for (const extra of [[], ['--session', `${staging}/.seedship/itest`]]) {
      const v = await runSeedship(['verify', '--drive', d, ...extra]);
      assert.equal(v.code, 6, v.stderr);
      assert.match(v.stderr, /itest\/a\.txt/);
      assert.match(v.stderr, /metadata file/);
    }
  } finally {
    t.cleanup();
  }
});

test('hard links are stored once on the drive, each name its own blob, and restored as links', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, { 'a/one': 'linked content', other: 'other' });
    mkdirSync(`${staging}/b`);
    linkSync(`${staging}/a/one`, `${staging}/b/two`);
    linkSync(`${staging}/a/one`, `${staging}/three`);
    const d = `${t.dir}/d1`;
    mkdirSync(d);
    const r = await runSeedship(prepareArgs(staging, [d], ['--codec', 'none']));
    assert.equal(r.code, 0, r.stderr);
    const manifest = readFileSync(`${d}/DriveManifest.xml`, 'utf8');
    const filePathOf = (name: string) =>
      new RegExp(`<BlobPath>itest/${name}</BlobPath>\\s*<FilePath>([^<]+)</FilePath>`).exec(manifest)?.[1];
    assert.deepEqual(
      ['a/one', 'b/two', 'three'].map(filePathOf),
      ['\\itest\\a\\one', '\\itest\\a\\one', '\\itest\\a\\one'],
      'three blobs, one drive file',
    );
    assert.ok(!existsSync(`${d}/itest/b/two`) && !existsSync(`${d}/itest/three`));
    const out = `${t.dir}/out`;
    const rr = await runSeedship(['restore', '--drive', d, '--session', `${staging}/.seedship/itest`, '--to', out]);
    assert.equal(rr.code, 0, rr.stderr);
    const ino = statSync(`${out}/a/one`).ino;
    assert.deepEqual(
      [statSync(`${out}/b/two`).ino, statSync(`${out}/three`).ino, statSync(`${out}/a/one`).nlink],
      [ino, ino, 3],
    );
    assert.equal(readFileSync(`${out}/three`, 'utf8'), 'linked content');
  } finally {
    t.cleanup();
  }
});

test('--service-strict never splits a block blob: a file that does not fit goes whole to the next drive', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, {
      'a.bin': { size: 3 * MiB, seed: 41 },
      'b.bin': { size: 3 * MiB, seed: 42 },
      'c.bin': { size: 3 * MiB, seed: 43 },
    });
    const drives = [1, 2, 3].map((i) => `${t.dir}/d${i}`);
    for (const d of drives) mkdirSync(d);
    const r = await runSeedship(
      prepareArgs(staging, drives, ['--codec', 'none', '--drive-limit', '8M', '--service-strict']),
    );
    assert.equal(r.code, 0, r.stderr);
    const manifests = drives
      .filter((d) => existsSync(`${d}/DriveManifest.xml`))
      .map((d) => readFileSync(`${d}/DriveManifest.xml`, 'utf8'));
    const parts = manifests.flatMap((m) => [...m.matchAll(/<ClientData>([^<]+)<\/ClientData>/g)].map((x) => x[1]!));
    assert.equal(parts.length, 3, 'three blobs, none split');
    assert.ok(parts.every((p) => / part=1 final=1 /.test(p)));
    // A file larger than an empty drive cannot be placed whole: a clear error, not a split.
    mkdirSync(`${t.dir}/d4`);
    const big = await runSeedship([
      'prepare',
      '--staging',
      staging,
      '--job',
      'strict-too-big',
      '--session',
      `${t.dir}/s2`,
      '--drive',
      `${t.dir}/d4`,
      '--allow-staging-volume',
      '--codec',
      'none',
      '--drive-limit',
      '3M',
      '--service-strict',
    ]);
    assert.equal(big.code, 2, big.stderr);
    assert.match(big.stderr, /does not split block blobs/);
  } finally {
    t.cleanup();
  }
});

test('small files written by the workers: the drive holds exactly the files its manifest lists, and they restore', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/staging`;
    const spec: TreeSpec = {};
    // Enough small files for many worker batches, in several directories, and one large file
    // between them (the main thread writes it), on a drive with room to spare.
    for (let i = 0; i < 700; i++)
      spec[`d${i % 7}/sub${i % 3}/f${i}.txt`] = i % 5 === 0 ? '' : `file ${i} `.repeat(1 + (i % 40));
    spec['d3/large.bin'] = { size: 5 * MiB, seed: 9 };
    writeTree(staging, spec);
    const drive = `${t.dir}/drive`;
    mkdirSync(drive);
    const r = await runSeedship(prepareArgs(staging, [drive], ['--json', '--level', '1']));
    assert.equal(r.code, 0, r.stderr);
    const manifest = readFileSync(`${drive}/DriveManifest.xml`, 'utf8');
    const all = [...manifest.matchAll(/<FilePath>([^<]*)<\/FilePath>/g)].map((m) =>
      m[1]!.replaceAll('\\', '/').replace(/^\//, ''),
    );
    // The 7 + 21 directories are blobs too; their (empty) blobs all read seedship/empty.
    assert.equal(all.filter((p) => p === 'seedship/empty').length, 28);
    const listed = all.filter((p) => p !== 'seedship/empty').sort();
    const onDrive: string[] = [];
    const walk = (dir: string, rel: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const r2 = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(`${dir}/${e.name}`, r2);
        else onDrive.push(r2);
      }
    };
    walk(`${drive}/itest`, 'itest');
    assert.equal(listed.length, 701);
    assert.deepEqual(onDrive.sort(), listed, 'no file on the drive that the manifest does not list, none missing');
    const out = `${t.dir}/out`;
    const rr = await runSeedship(['restore', '--drive', drive, '--session', `${staging}/.seedship/itest`, '--to', out]);
    assert.equal(rr.code, 0, rr.stderr);
    assert.deepEqual(hashTree(out), hashTree(staging));
  } finally {
    t.cleanup();
  }
});
