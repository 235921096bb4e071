import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { hashTree, tempDir, writeTree, bytesOf } from '../support/tree.js';
import { runSeedship, startSeedship } from '../support/cli.js';
import { canMount, have, mountLoopImage, mountTmpfs, NEEDS_ROOT, remountReadOnly } from '../support/mounts.js';

const MiB = 1024 * 1024;

/** Whether a --json run's progress events (whole lines) show bytes recorded on the drive at `path`. */
function dataOn(stderr: string, path: string): boolean {
  return stderr
    .split('\n')
    .slice(0, -1)
    .some(
      (l) =>
        l.startsWith('{"type":"progress"') &&
        (JSON.parse(l) as { tracks: { label: string; done: number }[] }).tracks.some(
          (t) => t.label.endsWith(` ${path}`) && t.done > 0,
        ),
    );
}

test('real drive-full on tmpfs drives: spans them, the swap of a full drive continues, restore is identical', async (ctx) => {
  if (!canMount()) return ctx.skip(NEEDS_ROOT);
  const t = tempDir();
  const mounts: (() => void)[] = [];
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, {
      'a.bin': { size: 10 * MiB, seed: 1 },
      'b.bin': { size: 9 * MiB, seed: 2 },
      'c.txt': { size: 4 * MiB, seed: 3, kind: 'text' },
    });
    const slot = `${t.dir}/slot`;
    mounts.push(mountTmpfs(slot, 12));
    const job = ['prepare', '--staging', staging, '--job', 'tmpfs-job', '--drive', slot, '--codec', 'none', '--json'];
    // One bay, drives swapped in it: each run fills the drive, seals it and exits 4.
    const sealed: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await runSeedship(job);
      const res = JSON.parse(r.stdout) as { status: string };
      const id = (
        JSON.parse(readFileSync(`${slot}/seedship/drive.json`, 'utf8')) as { driveId: string; sealed: boolean }
      ).driveId;
      assert.ok(existsSync(`${slot}/DriveManifest.xml`), 'the drive in the bay is sealed before the swap');
      // Keep the sealed drive's image: copy it out (the "shelf"), then swap in a blank one.
      const shelf = `${t.dir}/shelf-${i}`;
      mkdirSync(shelf);
      const { execFileSync } = await import('node:child_process');
      execFileSync('cp', ['-a', `${slot}/.`, shelf]);
      sealed.push(shelf);
      mounts.pop()!();
      mounts.push(mountTmpfs(slot, 12));
      if (res.status === 'done') {
        assert.equal(r.code, 0, r.stderr);
        break;
      }
      assert.equal(r.code, 4, r.stderr);
      assert.notEqual(id, '');
    }
    assert.ok(sealed.length >= 2, `spanned ${sealed.length} drives`);
    const out = `${t.dir}/out`;
    const rr = await runSeedship([
      'restore',
      ...sealed.flatMap((d) => ['--drive', d]),
      '--session',
      `${staging}/.seedship/tmpfs-job`,
      '--to',
      out,
    ]);
    assert.equal(rr.code, 0, rr.stderr);
    assert.deepEqual(hashTree(out), hashTree(staging));
  } finally {
    for (const u of mounts.reverse()) u();
    t.cleanup();
  }
});

test('real ENOSPC mid-write (the drive filled by someone else): sealed with its manifest, the rest goes to the next drive', async (ctx) => {
  if (!canMount()) return ctx.skip(NEEDS_ROOT);
  const t = tempDir();
  const mounts: (() => void)[] = [];
  try {
    const staging = `${t.dir}/staging`;
    const spec: Record<string, { size: number; seed: number }> = {};
    for (let i = 0; i < 16; i++) spec[`f${String(i).padStart(2, '0')}.bin`] = { size: 2 * MiB, seed: 100 + i };
    writeTree(staging, spec);
    const d1 = `${t.dir}/d1`;
    const d2 = `${t.dir}/d2`;
    mounts.push(mountTmpfs(d1, 40), mountTmpfs(d2, 40));
    const child = startSeedship([
      '--progress-interval',
      '0.1',
      'prepare',
      '--staging',
      staging,
      '--job',
      'enospc',
      '--drive',
      d1,
      '--drive',
      d2,
      '--codec',
      'none',
      '--level',
      '1',
      '--threads',
      '1',
      '--json',
    ]);
    let stderr = '';
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    // Stop the copy at its first progress sample with data on drive 1, fill drive 1 behind its back, let it go on.
    await new Promise<void>((res) => {
      child.stderr!.on('data', (d: Buffer) => {
        const had = dataOn(stderr, d1);
        stderr += d.toString();
        if (!had && dataOn(stderr, d1)) {
          child.kill('SIGSTOP');
          res();
        }
      });
    });
    try {
      writeFileSync(`${d1}/filler`, bytesOf(40 * MiB, 7));
    } catch (err) {
      assert.equal((err as { code?: string }).code, 'ENOSPC');
    }
    child.kill('SIGCONT');
    const code = await exited;
    assert.equal(code, 0, stderr.slice(-1500));
    assert.match(stderr, /ran out of space before seedship expected \(ENOSPC\)/);
    const res = JSON.parse(stdout) as { drives: { status: string; verified: boolean }[] };
    assert.equal(res.drives.length, 2);
    for (const d of res.drives) assert.equal(d.verified, true);
    const out = `${t.dir}/out`;
    const rr = await runSeedship([
      'restore',
      '--drive',
      d1,
      '--drive',
      d2,
      '--session',
      `${staging}/.seedship/enospc`,
      '--to',
      out,
    ]);
    assert.equal(rr.code, 0, rr.stderr);
    assert.deepEqual(hashTree(out), hashTree(staging));
  } finally {
    for (const u of mounts.reverse()) u();
    t.cleanup();
  }
});

test('a read-only drive is refused with a clear message; nothing is written', async (ctx) => {
  if (!canMount()) return ctx.skip(NEEDS_ROOT);
  const t = tempDir();
  const mounts: (() => void)[] = [];
  try {
    writeTree(`${t.dir}/s`, { a: 'a' });
    const d = `${t.dir}/ro`;
    mounts.push(mountTmpfs(d, 8));
    remountReadOnly(d);
    const r = await runSeedship(['prepare', '--staging', `${t.dir}/s`, '--job', 'ro-job', '--drive', d]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /read-only/);
  } finally {
    for (const u of mounts.reverse()) u();
    t.cleanup();
  }
});

test('a tmpfs drive too small for anything: "full before anything fits"', async (ctx) => {
  if (!canMount()) return ctx.skip(NEEDS_ROOT);
  const t = tempDir();
  const mounts: (() => void)[] = [];
  try {
    writeTree(`${t.dir}/s`, { a: 'a' });
    const d = `${t.dir}/tiny`;
    mounts.push(mountTmpfs(d, 1));
    const r = await runSeedship(['prepare', '--staging', `${t.dir}/s`, '--job', 'tiny-job', '--drive', d]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /full before anything fits/);
  } finally {
    for (const u of mounts.reverse()) u();
    t.cleanup();
  }
});

test('loop-mounted NTFS and ext4 drives: unicode and deep names, spanning, verify after remount, identical restore', async (ctx) => {
  if (!canMount()) return ctx.skip(NEEDS_ROOT);
  if (!have('mkfs.ntfs') || !have('mkfs.ext4'))
    return ctx.skip('needs mkfs.ntfs (ntfs-3g) and mkfs.ext4 (CI installs them)');
  const t = tempDir();
  const mounts: (() => void)[] = [];
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, {
      'ünïcödé/日本語/🚢 ship.txt': 'unicode',
      [`${'deep/'.repeat(30)}leaf.bin`]: { size: 3 * MiB, seed: 8 },
      'big.bin': { size: 40 * MiB, seed: 9 },
      'logs/a.log': { size: 8 * MiB, seed: 10, kind: 'text' },
      empty: '',
    });
    const d1 = `${t.dir}/ntfs`;
    const d2 = `${t.dir}/ext4`;
    mounts.push(
      mountLoopImage(`${t.dir}/ntfs.img`, d1, 32, 'ntfs'),
      mountLoopImage(`${t.dir}/ext4.img`, d2, 64, 'ext4'),
    );
    const r = await runSeedship([
      'prepare',
      '--staging',
      staging,
      '--job',
      'loop-job',
      '--drive',
      d1,
      '--drive',
      d2,
      '--level',
      '1',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr.slice(-1200));
    const res = JSON.parse(r.stdout) as { drives: { verified: boolean }[] };
    assert.equal(res.drives.length, 2, 'spans both drives');
    // Remount so the read-back comes from the media, not the page cache.
    for (const u of mounts.splice(0).reverse()) u();
    const { execFileSync } = await import('node:child_process');
    execFileSync('mount', ['-t', 'ntfs-3g', '-o', 'loop', `${t.dir}/ntfs.img`, d1]);
    mounts.push(() => execFileSync('umount', [d1]));
    execFileSync('mount', ['-o', 'loop', `${t.dir}/ext4.img`, d2]);
    mounts.push(() => execFileSync('umount', [d2]));
    const session = `${staging}/.seedship/loop-job`;
    const v = await runSeedship(['verify', '--drive', d1, '--drive', d2, '--session', session]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const rr = await runSeedship([
      'restore',
      '--drive',
      d1,
      '--drive',
      d2,
      '--session',
      session,
      '--to',
      `${t.dir}/out`,
    ]);
    assert.equal(rr.code, 0, rr.stderr);
    assert.deepEqual(hashTree(`${t.dir}/out`), hashTree(staging));
  } finally {
    for (const u of mounts.reverse()) u();
    t.cleanup();
  }
});

test('a drive out of inodes while workers write small files: sealed with its manifest, no stray files, the rest on the next drive', async (ctx) => {
  if (!canMount()) return ctx.skip(NEEDS_ROOT);
  const t = tempDir();
  const mounts: (() => void)[] = [];
  try {
    const staging = `${t.dir}/staging`;
    const spec: Record<string, string> = {};
    for (let i = 0; i < 400; i++)
      spec[`dir${i % 4}/f${String(i).padStart(3, '0')}.txt`] = `small file ${i}\n`.repeat(1 + (i % 30));
    writeTree(staging, spec);
    // Room to spare in bytes (workers write the small files) but only 150 inodes.
    const d1 = `${t.dir}/d1`;
    mkdirSync(d1);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=600m,nr_inodes=150', 'tmpfs', d1]);
    mounts.push(() => execFileSync('umount', ['-l', d1]));
    const d2 = `${t.dir}/d2`;
    mounts.push(mountTmpfs(d2, 64));
    const r = await runSeedship([
      'prepare',
      '--staging',
      staging,
      '--job',
      'inodes',
      '--drive',
      d1,
      '--drive',
      d2,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr.slice(-1500));
    const res = JSON.parse(r.stdout) as { drives: { status: string; verified: boolean; blobs: number }[] };
    assert.equal(res.drives.length, 2);
    for (const d of res.drives) assert.equal(d.verified, true);
    // 400 files and their 4 directories.
    assert.equal(res.drives[0]!.blobs + res.drives[1]!.blobs, 404);
    // Drive 1 holds exactly the blobs its manifest lists (directories' blobs read seedship/empty).
    const listed = [...readFileSync(`${d1}/DriveManifest.xml`, 'utf8').matchAll(/<FilePath>([^<]*)<\/FilePath>/g)]
      .map((m) => m[1]!.replaceAll('\\', '/').replace(/^\//, ''))
      .filter((p) => p !== 'seedship/empty')
      .sort();
    const onDrive = execFileSync('find', ['inodes', '-type', 'f'], { cwd: d1, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .sort();
    assert.deepEqual(onDrive, listed);
    const out = `${t.dir}/out`;
    const rr = await runSeedship([
      'restore',
      '--drive',
      d1,
      '--drive',
      d2,
      '--session',
      `${staging}/.seedship/inodes`,
      '--to',
      out,
    ]);
    assert.equal(rr.code, 0, rr.stderr);
    assert.deepEqual(hashTree(out), hashTree(staging));
  } finally {
    for (const u of mounts.reverse()) u();
    t.cleanup();
  }
});
