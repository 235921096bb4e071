import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tempDir, writeTree } from '../support/tree.js';
import { runSeedship } from '../support/cli.js';

const MiB = 1024 * 1024;

function prepareArgs(staging: string, drives: string[], extra: string[] = []): string[] {
  return [
    'prepare',
    '--staging',
    staging,
    '--job',
    'vcheck',
    ...drives.flatMap((d) => ['--drive', d]),
    '--allow-staging-volume',
    ...extra,
  ];
}

const driveIdOf = (d: string) =>
  (JSON.parse(readFileSync(`${d}/seedship/drive.json`, 'utf8')) as { driveId: string }).driveId;
const md5Hex = (b: Buffer | string) => createHash('md5').update(b).digest('hex').toUpperCase();

/** Give drive.json the MD5 of the manifest as it is now: a tamper that also covers its tracks. */
function resealDriveJson(d: string): void {
  const j = JSON.parse(readFileSync(`${d}/seedship/drive.json`, 'utf8')) as Record<string, unknown>;
  writeFileSync(
    `${d}/seedship/drive.json`,
    `${JSON.stringify({ ...j, manifestHash: md5Hex(readFileSync(`${d}/DriveManifest.xml`)) }, null, 2)}\n`,
  );
}

test('a block blob Length raised 1000x in the manifest: verify refuses it (exit 6, naming the blob) with and without the session', async () => {
  const t = tempDir('verify-checks-');
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, { 'x/a.bin': { size: 126824, seed: 5 }, 'b.txt': 'hi' });
    const d = `${t.dir}/d1`;
    mkdirSync(d);
    const r = await runSeedship(prepareArgs(staging, [d], ['--codec', 'none']));
    assert.equal(r.code, 0, r.stderr);
    const session = `${staging}/.seedship/vcheck`;
    const ok = await runSeedship(['verify', '--drive', d]);
    assert.equal(ok.code, 0, `the drive as sealed passes: ${ok.stdout}${ok.stderr}`);

    const manifest = readFileSync(`${d}/DriveManifest.xml`, 'utf8');
    const tampered = manifest.replace(
      /(<BlobPath>vcheck\/x\/a\.bin<\/BlobPath>[\s\S]*?<Length>)126824</,
      '$1126824000<',
    );
    assert.notEqual(tampered, manifest);
    writeFileSync(`${d}/DriveManifest.xml`, tampered);
    const id = driveIdOf(d);
    const named = new RegExp(
      `verify failed: drive ${id}, vcheck/x/a\\.bin: blocks cover 126824 bytes but Length says 126824000`,
    );

    const v = await runSeedship(['verify', '--drive', d]);
    assert.equal(v.code, 6, v.stdout + v.stderr);
    assert.match(v.stderr, named);
    assert.match(v.stdout, /DriveManifest\.xml has MD5 [0-9A-F]{32}, but seedship\/drive\.json recorded/);

    const deep = await runSeedship(['verify', '--drive', d, '--session', session]);
    assert.equal(deep.code, 6, deep.stdout + deep.stderr);
    assert.match(deep.stderr, named);
    assert.match(deep.stdout, /but the session's journal recorded/);

    // The entry rule stands on its own: with drive.json's hash made to match, verify still refuses.
    resealDriveJson(d);
    const v2 = await runSeedship(['verify', '--drive', d, '--json']);
    assert.equal(v2.code, 6, v2.stdout + v2.stderr);
    const res = JSON.parse(v2.stdout) as {
      drives: { problems: { blobPath: string; reason: string; message: string }[] }[];
    };
    assert.deepEqual(
      res.drives[0]!.problems.map((p) => [p.blobPath, p.reason]),
      [['vcheck/x/a.bin', 'manifest-entry']],
    );
  } finally {
    t.cleanup();
  }
});

test('page blob manifests: a range outside Length, a Length not a multiple of 512, overlapping ranges: verify exits 6 naming the blob', async () => {
  const t = tempDir('verify-checks-');
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, { 'disk.vhd': { size: 9 * MiB + 4096, seed: 6 }, 'other.vhd': { size: 8192, seed: 7 } });
    const d = `${t.dir}/d1`;
    mkdirSync(d);
    const r = await runSeedship(prepareArgs(staging, [d], ['--codec', 'none', '--blob-type', 'page']));
    assert.equal(r.code, 0, r.stderr);
    const manifest = readFileSync(`${d}/DriveManifest.xml`, 'utf8');
    const blob = /<Blob>\s*<BlobPath>vcheck\/disk\.vhd<\/BlobPath>[\s\S]*?<\/Blob>/.exec(manifest)?.[0];
    assert.ok(blob, 'disk.vhd is in the manifest');
    const ranges = [...blob.matchAll(/<PageRange Offset="(\d+)" Length="(\d+)"/g)].map(
      (m) => [Number(m[1]), Number(m[2])] as const,
    );
    assert.ok(ranges.length >= 2, 'disk.vhd has at least two page ranges');
    const [o1, l1] = ranges[1]!;
    const cases: [string, string, RegExp][] = [
      [
        'Length cut below the last range',
        blob.replace(/<Length>\d+</, `<Length>${9 * MiB}<`),
        /page range \d+\+\d+ is not aligned, ordered and inside the blob/,
      ],
      [
        'Length + 1',
        blob.replace(/<Length>(\d+)</, (_, n: string) => `<Length>${Number(n) + 1}<`),
        /page blob Length \d+ is not a multiple of 512/,
      ],
      [
        'second range overlapping the first',
        blob.replace(`<PageRange Offset="${o1}" Length="${l1}"`, `<PageRange Offset="${o1 - 512}" Length="${l1}"`),
        /page range \d+\+\d+ is not aligned, ordered and inside the blob/,
      ],
    ];
    for (const [what, edited, reason] of cases) {
      assert.notEqual(edited, blob, what);
      writeFileSync(`${d}/DriveManifest.xml`, manifest.replace(blob, edited));
      resealDriveJson(d);
      const v = await runSeedship(['verify', '--drive', d]);
      assert.equal(v.code, 6, `${what}: ${v.stdout}${v.stderr}`);
      assert.match(v.stderr, new RegExp(`vcheck/disk\\.vhd: ${reason.source}`), what);
    }
    writeFileSync(`${d}/DriveManifest.xml`, manifest);
    resealDriveJson(d);
    const ok = await runSeedship(['verify', '--drive', d]);
    assert.equal(ok.code, 0, `the manifest as sealed passes: ${ok.stdout}${ok.stderr}`);
  } finally {
    t.cleanup();
  }
});

test("verify --session with another job's drive: exit 2 naming the DriveId found, before reading anything", async () => {
  const t = tempDir('verify-checks-');
  try {
    writeTree(`${t.dir}/s1`, { 'a.txt': 'one' });
    writeTree(`${t.dir}/s2`, { 'b.txt': 'two' });
    mkdirSync(`${t.dir}/d1`);
    mkdirSync(`${t.dir}/d2`);
    const r1 = await runSeedship(prepareArgs(`${t.dir}/s1`, [`${t.dir}/d1`]));
    assert.equal(r1.code, 0, r1.stderr);
    const r2 = await runSeedship([
      'prepare',
      '--staging',
      `${t.dir}/s2`,
      '--job',
      'other-job',
      '--drive',
      `${t.dir}/d2`,
      '--allow-staging-volume',
    ]);
    assert.equal(r2.code, 0, r2.stderr);
    const v = await runSeedship(['verify', '--drive', `${t.dir}/d2`, '--session', `${t.dir}/s1/.seedship/vcheck`]);
    assert.equal(v.code, 2, v.stdout + v.stderr);
    assert.match(
      v.stderr,
      new RegExp(`\\(${driveIdOf(`${t.dir}/d2`)}\\) belongs to job other-job, not to this session's job vcheck`),
    );
    rmSync(`${t.dir}/d2/seedship`, { recursive: true });
    const none = await runSeedship(['verify', '--drive', `${t.dir}/d2`, '--session', `${t.dir}/s1/.seedship/vcheck`]);
    assert.equal(none.code, 2, none.stdout + none.stderr);
    assert.match(none.stderr, /is not a seedship drive \(no seedship\/drive\.json\)/);
  } finally {
    t.cleanup();
  }
});
