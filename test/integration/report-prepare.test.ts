import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { runSeedship, jsonLines } from '../support/cli.js';
import { tempDir, writeTree } from '../support/tree.js';

const MiB = 1024 * 1024;

test('prepare writes the report when it stops for another drive, and says where it is', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, { 'a.bin': { size: 5 * MiB, seed: 1 }, 'b.bin': { size: 5 * MiB, seed: 2 } });
    mkdirSync(`${t.dir}/d1`);
    const r = await runSeedship([
      'prepare',
      '--staging',
      staging,
      '--job',
      'needs',
      '--drive',
      `${t.dir}/d1`,
      '--allow-staging-volume',
      '--drive-limit',
      '6M',
      '--codec',
      'none',
      '--yes',
      '--json',
    ]);
    assert.equal(r.code, 4, r.stderr);
    const session = `${staging}/.seedship/needs`;
    const note = jsonLines(r.stderr).find((l) => l.type === 'info' && typeof l.report === 'string');
    assert.equal(note?.report, `${session}/report.html`);
    const html = readFileSync(`${session}/report.html`, 'utf8');
    assert.match(html, /not complete: run prepare again with a drive that has room/);
    assert.match(html, /class="badge s-sealed">sealed/);
  } finally {
    t.cleanup();
  }
});

test('a report that cannot be written is a warning: prepare keeps its exit code', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, { 'a.txt': 'a' });
    mkdirSync(`${t.dir}/d1`);
    // A directory where the page goes: the atomic rename onto it fails.
    mkdirSync(`${staging}/.seedship/warn/report.html/x`, { recursive: true });
    const r = await runSeedship([
      'prepare',
      '--staging',
      staging,
      '--job',
      'warn',
      '--drive',
      `${t.dir}/d1`,
      '--allow-staging-volume',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /warning: the report of .* could not be written .*; run seedship report --session .* to try again/,
    );
    assert.ok(existsSync(`${staging}/.seedship/warn/report.html/x`));
  } finally {
    t.cleanup();
  }
});
