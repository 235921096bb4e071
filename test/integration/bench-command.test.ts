import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { tempDir, writeTree, bytesOf } from '../support/tree.js';
import { runSeedship, startSeedship } from '../support/cli.js';

const MiB = 1024 * 1024;

/** The parts of `bench --json`'s output these tests read (what a run leaves out is undefined or null). */
interface BenchJson {
  data: { source: string; datasets: { name: string }[]; staging: { bytes: number } };
  levels: number[];
  perCore: { rate: number }[];
  pipeline: { dataset: string; level: number; threads: number; ratio: number }[];
  drives: {
    drive: string;
    bytes: number;
    windows: { bytes: number }[];
    meanRate: number;
    sustainedRate: number;
    firstRate: number;
    lastRate: number;
    cliff: { fromRate: number; toRate: number } | null;
  }[];
  recommendation: { level: number; threads: number; basis: string };
  estimate: { bytes: number; ratio: number; bottleneck: string } | null;
}

test("bench --drive --size 64M: one JSON object with every measurement; only the drive's own files remain", async () => {
  const t = tempDir();
  try {
    const drive = `${t.dir}/drive`;
    const scratch = `${t.dir}/tmp`;
    mkdirSync(drive);
    mkdirSync(scratch);
    writeFileSync(`${drive}/keep.txt`, 'existing data');
    const r = await runSeedship(['bench', '--drive', drive, '--size', '64M', '--threads', '2', '--json'], {
      env: { TMPDIR: scratch },
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as BenchJson;
    assert.equal(out.data.source, 'synthetic');
    assert.deepEqual(
      out.data.datasets.map((d: { name: string }) => d.name),
      ['text', 'random'],
    );
    assert.deepEqual(out.levels, [1, 3, 6]);
    // zstd at each level, XXH64 and MD5, per data set
    assert.equal(out.perCore.length, 2 * 5);
    assert.ok(out.perCore.every((p: { rate: number }) => p.rate > 0));
    // data sets × levels × {1, 2} threads
    assert.equal(out.pipeline.length, 2 * 3 * 2);
    assert.deepEqual([...new Set(out.pipeline.map((p: { threads: number }) => p.threads))], [1, 2]);
    const text = out.pipeline.find((p: { dataset: string; level: number }) => p.dataset === 'text' && p.level === 3)!;
    const random = out.pipeline.find(
      (p: { dataset: string; level: number }) => p.dataset === 'random' && p.level === 3,
    )!;
    assert.ok(text.ratio < 0.6 && random.ratio > 0.95, `ratios ${text.ratio} ${random.ratio}`);
    assert.equal(out.drives.length, 1);
    const d = out.drives[0]!;
    assert.equal(d.drive, drive);
    assert.equal(d.bytes, 64 * MiB);
    assert.equal(d.windows.length, 8);
    assert.ok(d.windows.every((w: { bytes: number }) => w.bytes === 8 * MiB));
    assert.ok(d.meanRate > 0 && d.sustainedRate > 0 && d.firstRate > 0 && d.lastRate > 0);
    assert.ok(d.cliff === null || d.cliff.toRate < d.cliff.fromRate);
    assert.ok([1, 3, 6].includes(out.recommendation.level));
    assert.ok([1, 2].includes(out.recommendation.threads));
    assert.equal(out.recommendation.basis, 'drive');
    assert.equal(out.estimate, null);
    assert.deepEqual(readdirSync(drive), ['keep.txt'], 'the test file is gone');
    assert.equal(readFileSync(`${drive}/keep.txt`, 'utf8'), 'existing data');
    assert.deepEqual(readdirSync(scratch), [], 'the built-in samples are gone');
  } finally {
    t.cleanup();
  }
});

test('bench --staging: samples the tree and estimates the job, saying what it assumes', async () => {
  const t = tempDir();
  try {
    writeTree(`${t.dir}/s`, {
      'logs/a.log': bytesOf(6 * MiB, 1, 'text'),
      'db/b.bin': bytesOf(3 * MiB, 2),
      'small.txt': 'hello',
    });
    const r = await runSeedship(['bench', '--staging', `${t.dir}/s`, '--threads', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /samples of .*\(3 files, 9\.00 MiB\)/);
    assert.match(r.stdout, /recommended: --level \d --threads 1/);
    assert.match(r.stdout, /estimate: about .* for 9\.00 MiB/);
    assert.match(r.stdout, /no --drive: the drive's write rate is left out/);
    const j = await runSeedship(['bench', '--staging', `${t.dir}/s`, '--threads', '1', '--json']);
    assert.equal(j.code, 0, j.stderr);
    const out = JSON.parse(j.stdout) as BenchJson;
    assert.equal(out.data.source, 'staging');
    assert.equal(out.data.staging.bytes, 9 * MiB + 5);
    assert.equal(out.estimate!.bytes, 9 * MiB + 5);
    assert.ok(out.estimate!.ratio > 0.1 && out.estimate!.ratio < 1, `ratio ${out.estimate!.ratio}`);
    assert.equal(out.estimate!.bottleneck, 'cpu');
  } finally {
    t.cleanup();
  }
});

test('bench usage errors name the flag and write nothing: missing drive, --size over free space, --size too small', async () => {
  const t = tempDir();
  try {
    const drive = `${t.dir}/drive`;
    mkdirSync(drive);
    let r = await runSeedship(['bench', '--drive', `${t.dir}/nope`, '--size', '64M']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--drive .*nope does not exist/);
    r = await runSeedship(['bench', '--drive', drive, '--size', '1000T']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--size .* does not fit on --drive .*free/);
    r = await runSeedship(['bench', '--drive', drive, '--size', '1M', '--json']);
    assert.equal(r.code, 2);
    const err = JSON.parse(r.stderr.trim().split('\n').pop()!) as { code: string; message: string };
    assert.equal(err.code, 'E_USAGE');
    assert.match(err.message, /--size must be at least/);
    r = await runSeedship(['bench', '--drive', drive, '--size', 'lots']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--size "lots" is not a size/);
    assert.deepEqual(readdirSync(drive), []);
  } finally {
    t.cleanup();
  }
});

test('bench interrupted while writing: exit 130 and the test file is removed', async (t) => {
  const d = tempDir();
  try {
    const drive = `${d.dir}/drive`;
    mkdirSync(drive);
    const s = statfsSync(drive);
    if (s.bavail * s.bsize < 2.5 * 1024 ** 3) return t.skip('needs 2.5 GiB free in the temp dir');
    const child = startSeedship(['bench', '--drive', drive, '--size', '2G', '--threads', '1']);
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    while (readdirSync(drive).length === 0) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(readdirSync(drive).length, 1, 'the test file appeared');
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /interrupted; its temporary files were removed/);
    assert.deepEqual(readdirSync(drive), []);
  } finally {
    d.cleanup();
  }
});
