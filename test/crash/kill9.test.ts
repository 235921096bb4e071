import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { hashTree, tempDir, writeTree, type TreeSpec } from '../support/tree.js';
import { runSeedship, startSeedship } from '../support/cli.js';
import { canMount, mountTmpfs } from '../support/mounts.js';

const MiB = 1024 * 1024;

/** A seeded PRNG for kill delays, so a failure can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

test('kill -9 at 10 random moments, resume each time, then verify and restore byte for byte', async () => {
  const t = tempDir();
  const unmount: (() => void)[] = [];
  try {
    const staging = `${t.dir}/staging`;
    const spec: TreeSpec = {};
    for (let i = 0; i < 6; i++) spec[`t/log${i}.txt`] = { size: 5 * MiB + i, seed: i + 1, kind: 'text' };
    for (let i = 0; i < 3; i++) spec[`r/r${i}.bin`] = { size: 3 * MiB + i * 777, seed: i + 50 };
    for (let i = 0; i < 100; i++) spec[`small/s${i}`] = 'x'.repeat(i * 37);
    writeTree(staging, spec);
    const drives = [1, 2, 3].map((i) => `${t.dir}/d${i}`);
    // Real small file systems where we can mount them; plain folders with a limit otherwise.
    const extra: string[] = [];
    if (canMount()) for (const d of drives) unmount.push(mountTmpfs(d, 12));
    else {
      for (const d of drives) mkdirSync(d);
      extra.push('--allow-staging-volume', '--drive-limit', '12M');
    }
    const args = [
      'prepare',
      '--staging',
      staging,
      '--job',
      'killed',
      ...drives.flatMap((d) => ['--drive', d]),
      '--level',
      '19',
      '--threads',
      '2',
      '--json',
      ...extra,
    ];
    const seed = Number(process.env.SEEDSHIP_KILL_SEED ?? 20261124);
    const rand = prng(seed);
    let kills = 0;
    let finished = false;
    for (let i = 0; i < 10 && !finished; i++) {
      const child = startSeedship(args);
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const delay = 300 + Math.floor(rand() * 2200);
      const timer = setTimeout(() => child.kill('SIGKILL'), delay);
      const code = await exited;
      clearTimeout(timer);
      if (child.signalCode === 'SIGKILL') kills++;
      else {
        assert.equal(code, 0, `run ${i} ended on its own with ${code} (seed ${seed}): ${stderr.slice(-600)}`);
        finished = true;
      }
    }
    assert.ok(kills >= 5, `at least 5 of the runs were killed mid-way (seed ${seed}), got ${kills}`);
    const last = await runSeedship(args);
    assert.equal(last.code, 0, `final run (seed ${seed}): ${last.stderr.slice(-800)}`);
    const result = JSON.parse(last.stdout) as {
      bytes: { raw: number; rawTotal: number };
      resumed: boolean;
      files: { done: number; total: number };
    };
    assert.equal(result.resumed, true);
    assert.equal(result.bytes.raw, result.bytes.rawTotal, 'every raw byte counted exactly once');
    assert.equal(result.files.done, result.files.total);
    const used = drives.filter((d) => existsSync(`${d}/seedship/drive.json`));
    assert.ok(used.length >= 2, 'the job spans drives');
    const session = `${staging}/.seedship/killed`;
    const v = await runSeedship(['verify', ...used.flatMap((d) => ['--drive', d]), '--session', session]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const out = `${t.dir}/out`;
    const r = await runSeedship(['restore', ...used.flatMap((d) => ['--drive', d]), '--session', session, '--to', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(hashTree(out), hashTree(staging));
  } finally {
    for (const u of unmount) u();
    t.cleanup();
  }
});
