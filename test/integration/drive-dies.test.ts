// A drive that dies in the middle of a copy (a real FUSE drive answering EIO) while two good
// drives have room: the run goes on, names the dead drive, and everything restores from the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashTree, writeTree } from '../support/tree.js';
import { runSeedship } from '../support/cli.js';
import { mountFailingDrive, whyNoFailingDrive } from '../support/mounts.js';

const MiB = 1024 * 1024;

test('one of three drives fails mid-copy: it is named and never sealed, its files go to the other two, everything restores', async (t) => {
  const why = whyNoFailingDrive();
  if (why) return t.skip(why);
  const dir = mkdtempSync(join(tmpdir(), 'drive-dies-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const staging = join(dir, 'staging');
  // Large files and many small ones, so the dying drive holds finished files and unfinished ones.
  writeTree(staging, {
    ...Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`big/f${i}.bin`, { size: 3 * MiB + i, seed: i + 1 }])),
    ...Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`small/s${i}.txt`, `small ${i}\n`.repeat(i + 1)])),
  });
  const good = [join(dir, 'g1'), join(dir, 'g2')];
  for (const d of good) mkdirSync(d);
  const dying = await mountFailingDrive(join(dir, 'bad'), 3 * MiB);
  try {
    const session = join(dir, 'session');
    const r = await runSeedship([
      'prepare',
      '--staging',
      staging,
      '--job',
      'dies',
      '--session',
      session,
      '--drive',
      good[0]!,
      '--drive',
      dying.path,
      '--drive',
      good[1]!,
      '--allow-staging-volume',
      '--codec',
      'none',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as {
      status: string;
      files: { done: number; total: number };
      drives: { path: string; status: string; verified?: boolean; driveId: string }[];
    };
    assert.equal(res.status, 'done');
    assert.equal(res.files.done, res.files.total, 'every entry is on a drive');
    const bad = res.drives.find((d) => d.path === dying.path)!;
    assert.equal(bad.status, 'failed');
    assert.match(r.stderr, new RegExp(`drive ${bad.driveId} \\(.*\\) failed \\(EIO`), 'the dead drive is named');
    assert.ok(!existsSync(join(dying.backing, 'DriveManifest.xml')), 'the dead drive is never sealed');
    for (const d of res.drives.filter((x) => x.path !== dying.path && x.status !== 'open')) {
      assert.deepEqual([d.status, d.verified], ['sealed', true]);
    }
    const sealed = good.filter((d) => existsSync(join(d, 'DriveManifest.xml')));
    const rr = await runSeedship([
      'restore',
      ...sealed.flatMap((d) => ['--drive', d]),
      '--session',
      session,
      '--to',
      join(dir, 'out'),
    ]);
    assert.equal(rr.code, 0, rr.stderr);
    assert.deepEqual(hashTree(join(dir, 'out')), hashTree(staging));
    // A rerun with the dead drive given again leaves it alone and has nothing to do.
    const again = await runSeedship([
      'prepare',
      '--staging',
      staging,
      '--job',
      'dies',
      '--session',
      session,
      '--drive',
      dying.path,
      '--allow-staging-volume',
      '--codec',
      'none',
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /failed in an earlier run/);
  } finally {
    await dying.unmount();
  }
});
