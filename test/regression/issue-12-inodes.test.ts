/**
 * Issue #12: a drive out of inodes failed its seal with ENOSPC on drive.json's temp file (exit 1)
 * when workers writing small files ahead took the inodes the seal had just freed by deleting its
 * reserve files. The seal now renames the reserve files into its temp files and creates none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hashTree, tempDir, writeTree } from '../support/tree.js';
import { HUNG_MS, runSeedship } from '../support/cli.js';
import { canMount, mountTmpfs, NEEDS_ROOT } from '../support/mounts.js';

const THIEF = fileURLToPath(new URL('../support/inode-thief-entry.js', import.meta.url));

test('issue #12: a drive out of inodes is sealed although every inode freed on it is taken at once by another writer', async (ctx) => {
  if (!canMount()) return ctx.skip(NEEDS_ROOT);
  const t = tempDir();
  const mounts: (() => void)[] = [];
  try {
    const staging = `${t.dir}/staging`;
    const spec: Record<string, string> = {};
    for (let i = 0; i < 400; i++)
      spec[`dir${i % 4}/f${String(i).padStart(3, '0')}.txt`] = `small file ${i}\n`.repeat(1 + (i % 30));
    writeTree(staging, spec);
    const d1 = `${t.dir}/d1`;
    mkdirSync(d1);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=600m,nr_inodes=150', 'tmpfs', d1]);
    mounts.push(() => execFileSync('umount', ['-l', d1]));
    mkdirSync(`${d1}/thief`);
    const d2 = `${t.dir}/d2`;
    mounts.push(mountTmpfs(d2, 64));
    // d1 alone first, so it is the drive that runs out (with two drives, which one fills first
    // is timing); then d2 takes the rest.
    const args = ['prepare', '--staging', staging, '--job', 'inodes', '--drive', d1, '--yes', '--json'];
    const r = spawnSync(process.execPath, [THIEF, d1, ...args], {
      env: { ...process.env, CI: 'true' },
      encoding: 'utf8',
      timeout: HUNG_MS,
    });
    assert.equal(r.status, 4, r.stderr.slice(-1500));
    // The other writer did take inodes (the drive ran out, then every inode freed went to it).
    const thief = /inode-thief: armed (\w+), took (\d+) inodes/.exec(r.stderr);
    assert.equal(thief?.[1], 'true', r.stderr.slice(-1500));
    assert.ok(Number(thief[2]) > 0, thief[0]);
    const first = JSON.parse(r.stdout) as { drives: { verified: boolean; blobs: number }[] };
    assert.equal(first.drives[0]!.verified, true);
    assert.ok(first.drives[0]!.blobs > 0);
    const r2 = await runSeedship([
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
    assert.equal(r2.code, 0, r2.stderr.slice(-1500));
    const res = JSON.parse(r2.stdout) as { drives: { verified: boolean; blobs: number }[] };
    assert.equal(res.drives.length, 2);
    for (const d of res.drives) assert.equal(d.verified, true);
    assert.equal(res.drives[0]!.blobs + res.drives[1]!.blobs, 404);
    // Sealed: drive.json names the manifest's hash; no reserve or temp file is left behind.
    const manifest = readFileSync(`${d1}/DriveManifest.xml`);
    const dj = JSON.parse(readFileSync(`${d1}/seedship/drive.json`, 'utf8')) as {
      sealed: boolean;
      manifestHash: string;
    };
    assert.equal(dj.sealed, true);
    assert.equal(dj.manifestHash, createHash('md5').update(manifest).digest('hex').toUpperCase());
    assert.deepEqual(
      readdirSync(`${d1}/seedship`).filter((n) => /reserve|\.tmp$/.test(n)),
      [],
    );
    const listed = [...manifest.toString('utf8').matchAll(/<FilePath>([^<]*)<\/FilePath>/g)]
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

test('issue #12: a drive that runs out of inodes at any point of a small job (a new directory included) is sealed or left unused, never an internal error', async (ctx) => {
  if (!canMount()) return ctx.skip(NEEDS_ROOT);
  const t = tempDir();
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, { 'a/f1.txt': 'one\n', 'a/f2.txt': 'two\n', 'b/c/f3.txt': 'three\n' });
    // From the fewest inodes a drive can be attached with (its own files) upward: the drive runs
    // out at each of its first creates in turn, directories among them (Node's asynchronous
    // recursive mkdir said ENOENT there, not ENOSPC, which ended the run with E_INTERNAL).
    for (let inodes = 6; inodes <= 14; inodes++) {
      const mounts: (() => void)[] = [];
      const d1 = `${t.dir}/d1-${inodes}`;
      try {
        mkdirSync(d1);
        execFileSync('mount', ['-t', 'tmpfs', '-o', `size=64m,nr_inodes=${inodes}`, 'tmpfs', d1]);
        mounts.push(() => execFileSync('umount', ['-l', d1]));
        const d2 = `${t.dir}/d2-${inodes}`;
        mounts.push(mountTmpfs(d2, 64));
        const r = await runSeedship([
          'prepare',
          '--staging',
          staging,
          '--job',
          `inodes-${inodes}`,
          '--drive',
          d1,
          '--drive',
          d2,
          '--json',
        ]);
        assert.equal(r.code, 0, `${inodes} inodes: ${r.stderr.slice(-1500)}`);
        const res = JSON.parse(r.stdout) as { drives: { blobs: number }[] };
        // Three files and their directories a, b and b/c.
        assert.equal(
          res.drives.reduce((a, d) => a + d.blobs, 0),
          6,
          `${inodes} inodes`,
        );
        assert.deepEqual(
          readdirSync(`${d1}/seedship`).filter((n) => /reserve|\.tmp$/.test(n)),
          [],
          `${inodes} inodes`,
        );
        const dj = JSON.parse(readFileSync(`${d1}/seedship/drive.json`, 'utf8')) as { sealed: boolean };
        assert.equal(
          dj.sealed,
          readdirSync(d1).includes('DriveManifest.xml'),
          `${inodes} inodes: sealed exactly when it has a manifest`,
        );
      } finally {
        for (const u of mounts.reverse()) u();
      }
    }
  } finally {
    t.cleanup();
  }
});
