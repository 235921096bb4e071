import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, existsSync, renameSync } from 'node:fs';
import { hashTree, tempDir, writeTree } from '../support/tree.js';
import { CLI, runSeedship } from '../support/cli.js';
import { havePty, runInPty } from '../support/pty.js';

const MiB = 1024 * 1024;

test('on a terminal, a full drive asks for the next one; progress shows fill and rate', async (ctx) => {
  if (!(await havePty())) return ctx.skip('needs util-linux script(1) for a pseudo-terminal');
  const t = tempDir();
  try {
    const staging = `${t.dir}/s`;
    writeTree(staging, { 'a.bin': { size: 6 * MiB, seed: 1 }, 'b.bin': { size: 5 * MiB, seed: 2 } });
    for (const d of ['d1', 'd2', 'd3']) mkdirSync(`${t.dir}/${d}`);
    const r = await runInPty(
      [
        process.execPath,
        CLI,
        'prepare',
        '--staging',
        staging,
        '--job',
        'tty-job',
        '--drive',
        `${t.dir}/d1`,
        '--allow-staging-volume',
        '--drive-limit',
        '7M',
        '--codec',
        'none',
      ],
      [
        { when: /type its mount path/, send: `${t.dir}/d2\r` },
        { when: /type its mount path[\s\S]*type its mount path/, send: `${t.dir}/d3\r` },
      ],
    );
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /is full and sealed/);
    assert.match(r.output, /% full\)/, 'progress shows the drive fill');
    assert.ok(existsSync(`${t.dir}/d2/DriveManifest.xml`));
    const used = ['d1', 'd2', 'd3'].map((d) => `${t.dir}/${d}`).filter((d) => existsSync(`${d}/seedship/drive.json`));
    const rr = await runSeedship([
      'restore',
      ...used.flatMap((d) => ['--drive', d]),
      '--session',
      `${staging}/.seedship/tty-job`,
      '--to',
      `${t.dir}/out`,
    ]);
    assert.equal(rr.code, 0, rr.stderr);
    assert.deepEqual(hashTree(`${t.dir}/out`), hashTree(staging));
  } finally {
    t.cleanup();
  }
});

test('one drive bay: the full drive is read back before the prompt, the operator swaps disks at the same path, both drives verify, exit 0', async (ctx) => {
  if (!(await havePty())) return ctx.skip('needs util-linux script(1) for a pseudo-terminal');
  const t = tempDir();
  try {
    const staging = `${t.dir}/s`;
    writeTree(staging, { 'a.bin': { size: 6 * MiB, seed: 3 }, 'b.bin': { size: 5 * MiB, seed: 4 } });
    const bay = `${t.dir}/bay`;
    mkdirSync(bay);
    const r = await runInPty(
      [
        process.execPath,
        CLI,
        'prepare',
        '--staging',
        staging,
        '--job',
        'one-bay',
        '--drive',
        bay,
        '--allow-staging-volume',
        '--drive-limit',
        '7M',
        '--codec',
        'none',
      ],
      [1, 2].map((n) => ({
        when: new RegExp(Array(n).fill('type its mount path').join('[\\s\\S]*')),
        // The sealed disk leaves the bay; a blank one takes its place at the same mount path.
        before: () => {
          renameSync(bay, `${t.dir}/shipped-${n}`);
          mkdirSync(bay);
        },
        send: `${bay}\r`,
      })),
    );
    assert.equal(r.code, 0, r.output);
    const first = /drive (\S+) read back from its media/.exec(r.output)?.[1];
    assert.ok(
      first && r.output.indexOf(`drive ${first} read back`) < r.output.indexOf('type its mount path'),
      'the full drive was read back before the swap',
    );
    assert.doesNotMatch(r.output, /failed its read-back|do not ship/);
    const drives = [`${t.dir}/shipped-1`, `${t.dir}/shipped-2`, bay];
    for (const d of drives) {
      const v = await runSeedship(['verify', '--drive', d, '--session', `${staging}/.seedship/one-bay`]);
      assert.equal(v.code, 0, v.stderr + v.stdout);
    }
    const rr = await runSeedship([
      'restore',
      ...drives.flatMap((d) => ['--drive', d]),
      '--session',
      `${staging}/.seedship/one-bay`,
      '--to',
      `${t.dir}/out`,
    ]);
    assert.equal(rr.code, 0, rr.stderr);
    assert.deepEqual(hashTree(`${t.dir}/out`), hashTree(staging));
  } finally {
    t.cleanup();
  }
});

test("AzureOfflineBackupDiskPrep's s: spelling runs prepare on the staging's only job", async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/s`;
    writeTree(staging, { 'x.txt': 'x' });
    mkdirSync(`${t.dir}/d1`);
    mkdirSync(`${t.dir}/d2`);
    const first = await runSeedship([
      'prepare',
      '--staging',
      staging,
      '--job',
      'legacy-job',
      '--drive',
      `${t.dir}/d1`,
      '--allow-staging-volume',
    ]);
    assert.equal(first.code, 0, first.stderr);
    writeTree(staging, { 'y.txt': 'y' });
    const r = await runSeedship([`s:${staging}`, '--drive', `${t.dir}/d2`, '--allow-staging-volume', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { job: string; files: { done: number } };
    assert.equal(res.job, 'legacy-job');
    assert.equal(res.files.done, 2);
  } finally {
    t.cleanup();
  }
});

test('--help lists the exit codes; a wrong flag is exit 2', async () => {
  const h = await runSeedship(['prepare', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /4 +needs another drive/);
  assert.match(h.stdout, /--drive-limit/);
  const bad = await runSeedship(['prepare', '--no-such-flag']);
  assert.equal(bad.code, 2);
});

test('files added to staging in the part a session already copied are copied by the rerun too, not silently missed', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/s`;
    writeTree(staging, { 'm.txt': 'm' });
    mkdirSync(`${t.dir}/d1`);
    mkdirSync(`${t.dir}/d2`);
    const first = await runSeedship([
      'prepare',
      '--staging',
      staging,
      '--job',
      'late-job',
      '--drive',
      `${t.dir}/d1`,
      '--allow-staging-volume',
    ]);
    assert.equal(first.code, 0, first.stderr);
    writeTree(staging, { 'a-late.txt': 'before the frontier', 'z-late.txt': 'after it' });
    const r = await runSeedship([
      'prepare',
      '--staging',
      staging,
      '--job',
      'late-job',
      '--drive',
      `${t.dir}/d2`,
      '--allow-staging-volume',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /1 staged entries in the part of staging earlier runs visited are on no drive .*"a-late\.txt"/,
    );
    assert.ok(existsSync(`${t.dir}/d2/late-job/z-late.txt.zst`));
    assert.ok(existsSync(`${t.dir}/d2/late-job/a-late.txt.zst`));
  } finally {
    t.cleanup();
  }
});
