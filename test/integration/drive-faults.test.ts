// The failing-drive tools plugged into the engine: DriveFaultFs in-process (the main thread's
// writes to a drive), and a real FUSE drive that dies (every write, the workers' too). What is
// asserted is only that a fault reaches the engine and that a dead drive is never reported as a
// finished copy; how prepare recovers is for the engine's own tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFileSystem } from '../../native/index.js';
import { runSeedship, runSeedshipWith } from '../support/cli.js';
import { DriveFaultFs } from '../support/drive-fault-fs.js';
import { mountFailingDrive, whyNoFailingDrive } from '../support/mounts.js';

const MiB = 1024 * 1024;

/** A staging tree of `count` incompressible files of `sizeMiB` each. */
function stage(root: string, count: number, sizeMiB: number): string {
  const staging = join(root, 'staging');
  mkdirSync(staging, { recursive: true });
  for (let i = 0; i < count; i++)
    writeFileSync(join(staging, `f${i}.bin`), randomFillSync(Buffer.alloc(sizeMiB * MiB)));
  return staging;
}

test('DriveFaultFs in the engine: slow writes on a drive are waited for; a drive that dies alone ends the run unfinished, beside a good one the copy completes there', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'drive-faults-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const staging = stage(root, 3, 3);
  const prepare = (drive: string, session: string) => [
    'prepare',
    '--staging',
    staging,
    '--job',
    'faults',
    '--session',
    join(root, session),
    '--drive',
    drive,
    '--allow-staging-volume',
    '--codec',
    'none',
    '--yes',
    '--json',
  ];

  const slowDrive = join(root, 'slow');
  mkdirSync(slowDrive);
  const delays: number[] = [];
  const slow = new DriveFaultFs(new NodeFileSystem(), { delay: async (ms) => void delays.push(ms) });
  slow.slowWrites(slowDrive, 25, { syncs: true });
  const ok = await runSeedshipWith(slow, prepare(slowDrive, 'session-slow'));
  assert.equal(ok.code, 0, ok.stderr.slice(-2000));
  slow.assertAllFired();
  assert.ok(delays.length > 0 && delays.every((ms) => ms === 25));

  const deadDrive = join(root, 'dead');
  mkdirSync(deadDrive);
  const dead = new DriveFaultFs(new NodeFileSystem());
  dead.failAfterBytes(deadDrive, 4 * MiB, 'EIO');
  const failed = await runSeedshipWith(dead, prepare(deadDrive, 'session-dead'));
  dead.assertAllFired();
  assert.notEqual(failed.code, 0, 'a drive that died is not a finished copy');
  assert.doesNotMatch(failed.stdout, /"status":"done"/);

  // The same death beside a good drive: the copy goes on there and ends complete. Files of 12 MiB
  // (two fill a pump's window with 2 threads), so each drive takes at least one.
  const bigStaging = stage(join(root, 'big'), 3, 12);
  const [dying, good] = [join(root, 'dying'), join(root, 'good')];
  mkdirSync(dying);
  mkdirSync(good);
  const half = new DriveFaultFs(new NodeFileSystem());
  half.failAfterBytes(dying, 4 * MiB, 'EIO');
  const both = await runSeedshipWith(half, [
    'prepare',
    '--staging',
    bigStaging,
    '--job',
    'faults',
    '--session',
    join(root, 'session-both'),
    '--drive',
    dying,
    '--drive',
    good,
    '--allow-staging-volume',
    '--codec',
    'none',
    '--threads',
    '2',
    '--yes',
    '--json',
  ]);
  half.assertAllFired();
  assert.equal(both.code, 0, both.stderr.slice(-2000));
  const res = JSON.parse(both.stdout) as {
    status: string;
    files: { done: number; total: number };
    drives: { path: string; status: string; verified?: boolean }[];
  };
  assert.equal(res.status, 'done');
  assert.equal(res.files.done, res.files.total);
  assert.deepEqual(res.drives.map((d) => [d.path, d.status]).sort(), [
    [dying, 'failed'],
    [good, 'sealed'],
  ]);
  const out = join(root, 'out');
  const rr = await runSeedship(['restore', '--drive', good, '--session', join(root, 'session-both'), '--to', out]);
  assert.equal(rr.code, 0, rr.stderr);
  for (let i = 0; i < 3; i++)
    assert.ok(
      readFileSync(join(out, `f${i}.bin`)).equals(readFileSync(join(bigStaging, `f${i}.bin`))),
      `f${i}.bin restored`,
    );
});

test('a real FUSE drive that dies part way: prepare names it failed and asks for another drive, never reports a finished copy', async (t) => {
  const why = whyNoFailingDrive();
  if (why) return t.skip(why);
  const root = mkdtempSync(join(tmpdir(), 'drive-faults-fuse-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const staging = stage(root, 4, 2);
  const drive = await mountFailingDrive(join(root, 'fuse'), 3 * MiB);
  try {
    const run = await runSeedship([
      'prepare',
      '--staging',
      staging,
      '--job',
      'fuse',
      '--session',
      join(root, 'session'),
      '--drive',
      drive.path,
      '--allow-staging-volume',
      '--codec',
      'none',
      '--yes',
      '--json',
    ]);
    // The only drive given died: it is named failed, and the run asks for another drive (exit 4).
    assert.equal(run.code, 4, `exit ${run.code}: ${run.stderr.slice(-1500)}`);
    assert.doesNotMatch(run.stdout, /"status":"done"/);
    assert.match(run.stderr, /"type":"warning","message":"drive \S+ \([^)]*\) failed \(/);
    const res = JSON.parse(run.stdout) as { status: string; drives: { status: string }[] };
    assert.deepEqual([res.status, res.drives.map((d) => d.status)], ['needs-drive', ['failed']]);
  } finally {
    await drive.unmount();
  }
});
