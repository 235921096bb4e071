// A sealed drive that can no longer be read (a real FUSE drive answering EIO to reads, its
// drive.json included): given again at its path, it is named failed and never reported ready,
// and what it holds is copied again onto the next drive given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashTree, writeTree } from '../support/tree.js';
import { runSeedship } from '../support/cli.js';
import { mountFailingDrive, whyNoFailingDrive } from '../support/mounts.js';

const MiB = 1024 * 1024;

test('a sealed drive that can no longer be read (EIO) is named failed; what it holds is copied again onto the next drive given, and restores', async (t) => {
  const why = whyNoFailingDrive();
  if (why) return t.skip(why);
  const dir = mkdtempSync(join(tmpdir(), 'readback-fails-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const staging = join(dir, 'staging');
  // Files of 12 MiB: two fill a pump's window (2 threads), so both drives take some.
  writeTree(staging, {
    ...Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`big/f${i}.bin`, { size: 12 * MiB + i, seed: i + 1 }])),
    ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`small/s${i}.txt`, `small ${i}\n`.repeat(i + 1)])),
  });
  const good = join(dir, 'good');
  const spare = join(dir, 'spare');
  mkdirSync(good);
  mkdirSync(spare);
  const bad = await mountFailingDrive(join(dir, 'bad'), 1024 ** 4, { failReads: true });
  try {
    const session = join(dir, 'session');
    const prepare = (drives: string[], extra: string[] = []) =>
      runSeedship([
        'prepare',
        '--staging',
        staging,
        '--job',
        'readback',
        '--session',
        session,
        ...drives.flatMap((d) => ['--drive', d]),
        '--allow-staging-volume',
        '--codec',
        'none',
        '--threads',
        '2',
        '--yes',
        '--json',
        ...extra,
      ]);
    const first = await prepare([bad.path, good], ['--no-verify']);
    assert.equal(first.code, 0, first.stderr);
    const r1 = JSON.parse(first.stdout) as { drives: { path: string; blobs: number; driveId: string }[] };
    const onBad = r1.drives.find((d) => d.path === bad.path)!;
    assert.ok(onBad.blobs > 0, 'the drive that will fail holds data');

    bad.fail(); // from now on it answers EIO, reads included
    // Given again at its path, it cannot be read: it is taken as failing, and what it holds needs
    // another drive (the good one is sealed): exit 4.
    const second = await prepare([bad.path, good]);
    assert.equal(second.code, 4, second.stderr);
    assert.match(
      second.stderr,
      new RegExp(`drive ${onBad.driveId} \\([^)]*\\) cannot be read \\(EIO\\): it is failing; do not ship it`),
    );
    assert.equal(
      (JSON.parse(second.stdout) as { drives: { path: string; status: string }[] }).drives.find(
        (d) => d.path === bad.path,
      )?.status,
      'failed',
    );

    const third = await prepare([bad.path, good, spare]);
    assert.equal(third.code, 0, third.stderr);
    const r3 = JSON.parse(third.stdout) as {
      status: string;
      files: { done: number; total: number };
      drives: { path: string; status: string; verified?: boolean }[];
    };
    assert.equal(r3.status, 'done');
    assert.equal(r3.files.done, r3.files.total);
    assert.deepEqual(r3.drives.find((d) => d.path === bad.path)?.status, 'failed');
    assert.deepEqual(
      r3.drives.filter((d) => d.path !== bad.path).map((d) => [d.status, d.verified]),
      [
        ['sealed', true],
        ['sealed', true],
      ],
    );
    assert.match(third.stderr, /failed in an earlier run/);
    assert.ok(existsSync(join(spare, 'DriveManifest.xml')), 'what the failed drive held went to the spare');

    const rr = await runSeedship([
      'restore',
      '--drive',
      good,
      '--drive',
      spare,
      '--session',
      session,
      '--to',
      join(dir, 'out'),
    ]);
    assert.equal(rr.code, 0, rr.stderr);
    assert.deepEqual(hashTree(join(dir, 'out')), hashTree(staging));
  } finally {
    await bad.unmount();
  }
});

test('a sealed drive whose bytes changed fails its read-back (exit 6, never reported ready); the next run copies what it holds onto the drive given', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'readback-flip-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const staging = join(dir, 'staging');
  writeTree(
    staging,
    Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`f${i}.bin`, { size: 12 * MiB + i, seed: 40 + i }])),
  );
  const [a, b, spare] = ['a', 'b', 'spare'].map((n) => join(dir, n)) as [string, string, string];
  for (const d of [a, b, spare]) mkdirSync(d);
  const session = join(dir, 'session');
  const prepare = (drives: string[], extra: string[] = []) =>
    runSeedship([
      'prepare',
      '--staging',
      staging,
      '--job',
      'readback',
      '--session',
      session,
      ...drives.flatMap((d) => ['--drive', d]),
      '--allow-staging-volume',
      '--codec',
      'none',
      '--threads',
      '2',
      '--yes',
      '--json',
      ...extra,
    ]);
  const first = await prepare([a, b], ['--no-verify']);
  assert.equal(first.code, 0, first.stderr);
  const r1 = JSON.parse(first.stdout) as { drives: { path: string; blobs: number; driveId: string }[] };
  const onA = r1.drives.find((d) => d.path === a)!;
  assert.ok(onA.blobs > 0);
  // One byte of one of its files flips.
  const victim = readdirSync(join(a, 'readback')).find((n) => n.endsWith('.bin'))!;
  const bytes = readFileSync(join(a, 'readback', victim));
  bytes[1000] = bytes[1000]! ^ 0xff;
  writeFileSync(join(a, 'readback', victim), bytes);

  const second = await prepare([a, b]);
  assert.equal(second.code, 6, second.stderr);
  assert.match(
    second.stderr,
    new RegExp(`drive ${onA.driveId} failed its read-back: readback/${victim.replace('.', '\\.')} block 0`),
  );
  assert.match(second.stderr, /Run the same command again with another --drive/);

  const third = await prepare([a, b, spare]);
  assert.equal(third.code, 0, third.stderr);
  const r3 = JSON.parse(third.stdout) as {
    files: { done: number; total: number };
    drives: { path: string; status: string; verified?: boolean }[];
  };
  assert.equal(r3.files.done, r3.files.total);
  assert.equal(r3.drives.find((d) => d.path === a)?.status, 'failed');
  assert.deepEqual(
    r3.drives.filter((d) => d.path !== a).map((d) => [d.status, d.verified]),
    [
      ['sealed', true],
      ['sealed', true],
    ],
  );
  const rr = await runSeedship([
    'restore',
    '--drive',
    b,
    '--drive',
    spare,
    '--session',
    session,
    '--to',
    join(dir, 'out'),
  ]);
  assert.equal(rr.code, 0, rr.stderr);
  assert.deepEqual(hashTree(join(dir, 'out')), hashTree(staging));
});
