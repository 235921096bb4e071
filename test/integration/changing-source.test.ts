import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { FileStat } from '../../native/interfaces.js';
import { NodeFileSystem } from '../../native/index.js';
import { hashTree, tempDir, writeTree } from '../support/tree.js';
import { runSeedship, runSeedshipWith, startSeedship } from '../support/cli.js';

const MiB = 1024 * 1024;

/** Whether a --json run reported bytes copied: a progress event of its copy with bytes done (whole lines only). */
function bytesCopied(stderr: string): boolean {
  return stderr
    .split('\n')
    .slice(0, -1)
    .some((l) => {
      if (!l.startsWith('{"type":"progress"')) return false;
      const e = JSON.parse(l) as { phase: string; total: { done: number } };
      return e.phase === 'copy' && e.total.done > 0;
    });
}

/** Start prepare, wait for its first progress line with bytes copied, run `during`, and collect the outcome. */
async function prepareWhile(
  args: string[],
  during: () => void | Promise<void>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // Progress samples every 0.1 s: the first with bytes done comes just after the first chunk is written.
  const child = startSeedship(['--progress-interval', '0.1', ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  let started = false;
  await new Promise<void>((res) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!started && bytesCopied(stderr)) {
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
    const r = await prepareWhile(
      [
        'prepare',
        '--staging',
        staging,
        '--job',
        'changing',
        '--drive',
        `${t.dir}/d`,
        '--allow-staging-volume',
        '--level',
        '19',
        '--threads',
        '1',
        '--json',
      ],
      () => {
        appendFileSync(`${staging}/growing.log`, 'one more line appended during the copy\n');
      },
    );
    assert.equal(r.code, 0, r.stderr.slice(-1000));
    assert.match(r.stderr, /growing\.log changed while being copied; copying it again/);
    const out = `${t.dir}/out`;
    const rr = await runSeedship([
      'restore',
      '--drive',
      `${t.dir}/d`,
      '--session',
      `${staging}/.seedship/changing`,
      '--to',
      out,
    ]);
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
    const r = await prepareWhile(
      [
        'prepare',
        '--staging',
        staging,
        '--job',
        'busy',
        '--drive',
        `${t.dir}/d`,
        '--allow-staging-volume',
        '--level',
        '19',
        '--threads',
        '1',
        '--json',
      ],
      () => {
        timer = setInterval(() => appendFileSync(`${staging}/busy.log`, 'still writing\n'), 50);
      },
    );
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

/**
 * The walk sees `victim` with a time one millisecond off its real one (as if it changed between
 * the walk and the read): the worker's first read finds it changed before any of its records
 * exist, and the copy starts it again from a fresh lstat. Deterministic, no timing.
 */
class StaleWalkFs extends NodeFileSystem {
  constructor(readonly victim: string) {
    super();
  }
  override async lstatMany(paths: readonly string[]): Promise<(FileStat | Error)[]> {
    const res = await super.lstatMany(paths);
    return res.map((s, i) =>
      paths[i] === this.victim && !(s instanceof Error) ? { ...s, mtimeMs: s.mtimeMs + 1 } : s,
    );
  }
}

test('a file found changed at its first read, before any record of it: copied again, in the manifest, restored (one drive and two)', async () => {
  for (const drives of [1, 2]) {
    const t = tempDir();
    try {
      const staging = `${t.dir}/s`;
      writeTree(staging, { 'a.txt': 'first', 'b/stale.bin': { size: 5 * MiB, seed: 8 }, 'c.txt': 'last' });
      const ds = Array.from({ length: drives }, (_, i) => `${t.dir}/d${i}`);
      for (const d of ds) mkdirSync(d);
      const fs = new StaleWalkFs(`${staging}/b/stale.bin`);
      const {
        code,
        stdout: out,
        stderr: err,
      } = await runSeedshipWith(fs, [
        'prepare',
        '--staging',
        staging,
        '--job',
        'stale',
        ...ds.flatMap((d) => ['--drive', d]),
        '--allow-staging-volume',
        '--json',
      ]);
      assert.equal(code, 0, err.slice(-1500));
      assert.match(err, /b\/stale\.bin changed while being copied; copying it again/);
      const files = (JSON.parse(out) as { files: { done: number; total: number } }).files;
      assert.deepEqual([files.done, files.total], [4, 4]); // a.txt, b, b/stale.bin, c.txt
      const manifests = ds
        .filter((d) => existsSync(`${d}/DriveManifest.xml`))
        .map((d) => readFileSync(`${d}/DriveManifest.xml`, 'utf8'))
        .join('');
      assert.match(manifests, /<BlobPath>stale\/b\/stale\.bin\.zst<\/BlobPath>/);
      const rr = await runSeedship([
        'restore',
        ...ds.flatMap((d) => ['--drive', d]),
        '--session',
        `${staging}/.seedship/stale`,
        '--to',
        `${t.dir}/out`,
      ]);
      assert.equal(rr.code, 0, rr.stderr);
      assert.deepEqual(hashTree(`${t.dir}/out`), hashTree(staging));
    } finally {
      t.cleanup();
    }
  }
});
