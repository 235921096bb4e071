import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync } from 'node:fs';
import { hashTree, tempDir, writeTree } from '../support/tree.js';
import { runSeedship, startSeedship } from '../support/cli.js';

const MiB = 1024 * 1024;

/** Start prepare, wait for its first copy progress line, run `during`, and collect the outcome. */
async function prepareWhile(args: string[], during: () => void | Promise<void>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startSeedship(args);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  let started = false;
  await new Promise<void>((res) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!started && stderr.includes('"phase":"copy"')) {
        started = true;
        res();
      }
    });
    child.on('exit', () => res());
  });
  await during();
  const code = await exited;
  return { code, stdout, stderr };
}

test('a staged file that grows while being copied is detected and copied again; the drive holds the new content', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/s`;
    writeTree(staging, { 'a-first.txt': 'first', 'growing.log': { size: 24 * MiB, seed: 5, kind: 'text' } });
    mkdirSync(`${t.dir}/d`);
    const r = await prepareWhile(['prepare', '--staging', staging, '--job', 'changing', '--drive', `${t.dir}/d`, '--allow-staging-volume', '--level', '19', '--threads', '1', '--json'], () => {
      appendFileSync(`${staging}/growing.log`, 'one more line appended during the copy\n');
    });
    assert.equal(r.code, 0, r.stderr.slice(-1000));
    assert.match(r.stderr, /growing\.log changed while being copied; copying it again/);
    const out = `${t.dir}/out`;
    const rr = await runSeedship(['restore', '--drive', `${t.dir}/d`, '--session', `${staging}/.seedship/changing`, '--to', out]);
    assert.equal(rr.code, 0, rr.stderr);
    assert.deepEqual(hashTree(out), hashTree(staging), 'the restored file is the changed one, never a torn mix');
  } finally {
    t.cleanup();
  }
});

test('a staged file that keeps changing is skipped after three attempts and listed (exit 3), never shipped torn', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/s`;
    writeTree(staging, { 'busy.log': { size: 16 * MiB, seed: 6, kind: 'text' }, 'steady.txt': 'steady' });
    mkdirSync(`${t.dir}/d`);
    let timer: NodeJS.Timeout | undefined;
    const r = await prepareWhile(['prepare', '--staging', staging, '--job', 'busy', '--drive', `${t.dir}/d`, '--allow-staging-volume', '--level', '19', '--threads', '1', '--json'], () => {
      timer = setInterval(() => appendFileSync(`${staging}/busy.log`, 'still writing\n'), 50);
    });
    clearInterval(timer);
    assert.equal(r.code, 3, r.stderr.slice(-1000));
    const res = JSON.parse(r.stdout) as { skipped: { path: string; reason: string }[] };
    assert.ok(res.skipped.some((s) => s.path === 'busy.log' && /kept changing/.test(s.reason)));
    const manifest = (await import('node:fs')).readFileSync(`${t.dir}/d/DriveManifest.xml`, 'utf8');
    assert.ok(!manifest.includes('busy.log'), 'the changing file is not in the manifest');
    assert.ok(manifest.includes('steady.txt'));
  } finally {
    t.cleanup();
  }
});
