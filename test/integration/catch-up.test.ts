import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hashTree, tempDir, writeTree, bytesOf } from '../support/tree.js';
import { jsonLines, runSeedship, withoutFileCapabilities } from '../support/cli.js';

// Issue #12: a rerun copies the staged entries earlier runs left off the drives in the part of
// staging they had already visited (skipped then, or added since), or exits 4 naming them.

const MiB = 1024 * 1024;

interface Result {
  status: string;
  files: { total: number; done: number; skipped: number };
  missing: { count: number; paths: string[] };
  skipped: { path: string; reason: string }[];
  drives: { driveId: string; path: string; status: string; verified?: boolean }[];
}

function prepareArgs(staging: string, drives: string[], extra: string[] = []): string[] {
  return [
    'prepare',
    '--staging',
    staging,
    '--job',
    'catchup',
    ...drives.flatMap((d) => ['--drive', d]),
    '--allow-staging-volume',
    '--json',
    ...extra,
  ];
}

async function restoreEquals(staging: string, drives: string[], out: string): Promise<void> {
  const rr = await runSeedship([
    'restore',
    ...drives.flatMap((d) => ['--drive', d]),
    '--session',
    `${staging}/.seedship/catchup`,
    '--to',
    out,
  ]);
  assert.equal(rr.code, 0, rr.stderr);
  assert.doesNotMatch(rr.stdout, /skipped by prepare/, 'a skip made good by a rerun is not reported');
  assert.deepEqual(hashTree(out), hashTree(staging));
}

test('an entry added after a complete run, in the part already copied: exit 4 naming it with only sealed drives, copied onto a new drive, restored', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/s`;
    writeTree(staging, { 'a/1.txt': 'one', 'm/big.bin': { size: 6 * MiB, seed: 3 }, 'z/9.txt': 'nine' });
    const [d1, d2] = [`${t.dir}/d1`, `${t.dir}/d2`];
    mkdirSync(d1);
    mkdirSync(d2);
    let r = await runSeedship(prepareArgs(staging, [d1]));
    assert.equal(r.code, 0, r.stderr);

    // Before the frontier (z/9.txt): a file beside a copied one, and a new directory with a
    // file of two chunks.
    writeTree(staging, { 'a/2.txt': 'added later', 'b/new.bin': { size: 5 * MiB + 3, seed: 4 } });
    r = await runSeedship(prepareArgs(staging, [d1]));
    assert.equal(r.code, 4, r.stderr);
    let res = JSON.parse(r.stdout) as Result;
    assert.equal(res.status, 'needs-drive');
    assert.deepEqual(res.missing, { count: 3, paths: ['a/2.txt', 'b', 'b/new.bin'] });
    const plain = await runSeedship(prepareArgs(staging, [d1]).filter((a) => a !== '--json'));
    assert.equal(plain.code, 4);
    assert.match(
      plain.stderr,
      /needs another drive: .* 3 staged entries earlier runs left off the drives are still on no drive: "a\/2\.txt", "b", "b\/new\.bin"\. Attach a drive with room and run the same command with --drive/,
    );

    r = await runSeedship(prepareArgs(staging, [d1, d2]));
    assert.equal(r.code, 0, r.stderr);
    res = JSON.parse(r.stdout) as Result;
    assert.equal(res.status, 'done');
    assert.deepEqual([res.files.done, res.files.total, res.files.skipped], [9, 9, 0]);
    assert.deepEqual(res.missing, { count: 0, paths: [] });
    const second = res.drives.find((d) => d.path === d2)!;
    assert.deepEqual([second.status, second.verified], ['sealed', true]);
    const manifest = readFileSync(`${d2}/DriveManifest.xml`, 'utf8');
    assert.ok(
      manifest.includes('catchup/a/2.txt') && manifest.includes('catchup/b/new.bin'),
      'the new drive holds what was added',
    );
    assert.ok(!manifest.includes('catchup/a/1.txt'), 'and not what the first drive holds');

    // Nothing left: no drive is touched, nothing is announced.
    const d3 = `${t.dir}/d3`;
    mkdirSync(d3);
    r = await runSeedship(prepareArgs(staging, [d1, d2, d3]));
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /on no drive/);
    assert.ok(!existsSync(`${d3}/seedship`), 'an unneeded drive is not attached');

    await restoreEquals(staging, [d1, d2], `${t.dir}/out`);
  } finally {
    t.cleanup();
  }
});

test('an entry changed after its copy is named in a warning, not copied again (its blob is on a drive)', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/s`;
    writeTree(staging, { 'a.txt': 'first version', 'z.txt': 'last' });
    const [d1, d2] = [`${t.dir}/d1`, `${t.dir}/d2`];
    mkdirSync(d1);
    mkdirSync(d2);
    let r = await runSeedship(prepareArgs(staging, [d1]));
    assert.equal(r.code, 0, r.stderr);
    writeFileSync(`${staging}/a.txt`, 'the second, longer version');
    r = await runSeedship(prepareArgs(staging, [d1, d2]));
    assert.equal(r.code, 0, r.stderr);
    const warning = jsonLines(r.stderr).find(
      (l) => l.type === 'warning' && String(l.message).includes('changed after they were copied'),
    )?.message as string | undefined;
    assert.ok(warning, r.stderr);
    assert.match(warning, /"a\.txt"/);
    assert.match(warning, /seedship sync/);
    assert.ok(!existsSync(`${d2}/seedship`), 'no second blob of a.txt goes to another drive');
  } finally {
    t.cleanup();
  }
});

/** Run `seedship args…` as root without the capabilities that read every file, whatever its mode. */
function unprivileged(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const [cmd, argv] = withoutFileCapabilities(args);
  const r = spawnSync(cmd, argv, {
    env: { ...process.env, CI: 'true', HOME: '/tmp' },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a file skipped as unreadable is skipped again while it is, and copied by the rerun once readable; restore gives it back', async (ctx) => {
  if (process.getuid?.() !== 0) {
    ctx.skip('needs root to run the CLI without the capabilities that read every file (setpriv)');
    return;
  }
  const t = tempDir();
  try {
    chmodSync(t.dir, 0o777);
    const staging = `${t.dir}/s`;
    writeTree(staging, { 'a/locked.bin': bytesOf(3 * MiB, 7), 'a/ok.txt': 'fine', 'z.txt': 'last' });
    const [d1, d2] = [`${t.dir}/d1`, `${t.dir}/d2`];
    for (const p of [staging, `${staging}/a`, d1, d2]) {
      mkdirSync(p, { recursive: true });
      chmodSync(p, 0o777);
    }
    chmodSync(`${staging}/a/locked.bin`, 0o000);
    let r = unprivileged(prepareArgs(staging, [d1]));
    assert.equal(r.code, 3, r.stderr);
    assert.ok(
      (JSON.parse(r.stdout) as Result).skipped.some(
        (s) => s.path === 'a/locked.bin' && /unreadable \(EACCES\)/.test(s.reason),
      ),
    );

    // With only the sealed drive it is named and a drive asked for (exit 4); with a drive to copy
    // it to but still unreadable, it is tried once more and skipped again (exit 3), and that
    // drive, which received nothing, is left unsealed for the next run.
    r = unprivileged(prepareArgs(staging, [d1]));
    assert.equal(r.code, 4, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as Result).missing.paths, ['a/locked.bin']);
    r = unprivileged(prepareArgs(staging, [d1, d2]));
    assert.equal(r.code, 3, r.stderr);
    assert.ok(!existsSync(`${d2}/DriveManifest.xml`), 'a drive that received nothing is not sealed');
    let res = JSON.parse(r.stdout) as Result;
    assert.deepEqual(
      res.skipped.map((s) => s.path),
      ['a/locked.bin'],
    );
    assert.equal(res.files.skipped, 1);

    chmodSync(`${staging}/a/locked.bin`, 0o644);
    r = unprivileged(prepareArgs(staging, [d1, d2]));
    assert.equal(r.code, 0, r.stderr);
    res = JSON.parse(r.stdout) as Result;
    assert.deepEqual([res.status, res.files.done, res.files.total, res.files.skipped], ['done', 4, 4, 0]);
    assert.ok(readFileSync(`${d2}/DriveManifest.xml`, 'utf8').includes('catchup/a/locked.bin'));
    await restoreEquals(staging, [d1, d2], `${t.dir}/out`);
  } finally {
    t.cleanup();
  }
});
