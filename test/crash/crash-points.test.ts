import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hashTree, tempDir, writeTree } from '../support/tree.js';
import { runSeedship } from '../support/cli.js';

const ENTRY = fileURLToPath(new URL('../support/crash-entry.js', import.meta.url));
const MiB = 1024 * 1024;

function crashRun(n: number, args: string[]): { status: number | null; signal: NodeJS.Signals | null; stderr: string } {
  const r = spawnSync(process.execPath, [ENTRY, String(n), ...args], {
    env: { ...process.env, CI: 'true' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, signal: r.signal, stderr: r.stderr };
}

test('a crash at every durability point of a small spanning job resumes to identical drives and a byte-identical restore', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, {
      'a/log.txt': { size: 5 * MiB, seed: 1, kind: 'text' },
      'b.bin': { size: 9 * MiB + 5, seed: 2 },
      'c/empty': '',
      ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`small/f${i}.txt`, `file ${i}\n`.repeat(i * 50)])),
    });
    const session = `${t.dir}/session`;
    const drives = [1, 2, 3, 4].map((i) => `${t.dir}/d${i}`);
    const args = [
      'prepare',
      '--staging',
      staging,
      '--job',
      'crash',
      '--session',
      session,
      ...drives.flatMap((d) => ['--drive', d]),
      '--allow-staging-volume',
      '--drive-limit',
      '7M',
      '--threads',
      '2',
      '--level',
      '1',
    ];
    const reset = () => {
      rmSync(session, { recursive: true, force: true });
      for (const d of drives) {
        rmSync(d, { recursive: true, force: true });
        mkdirSync(d);
      }
    };
    reset();
    const probe = crashRun(0, args);
    assert.equal(probe.status, 0, probe.stderr);
    const total = Number(/crash-entry: (\d+) fault points/.exec(probe.stderr)?.[1]);
    assert.ok(total > 20, `a job with ${total} durability points`);
    const expected = hashTree(staging);
    // Invariant 2: a crashed and resumed copy ends with the same blobs as an uninterrupted one.
    // Drives are filled at once, so which drive holds which blob (and where a blob is split)
    // depends on timing, in this run as in any: what must be equal is every blob's name, codec,
    // blocks (id, length, MD5) and metadata, over all the drives, each blob exactly once.
    const manifests = () => {
      const blobs = new Map<string, { codec: string; blocks: string[]; meta: string; finals: number }>();
      for (const d of drives.filter((x) => existsSync(`${x}/DriveManifest.xml`))) {
        const m = readFileSync(`${d}/DriveManifest.xml`, 'utf8');
        for (const b of m.matchAll(/<Blob>([\s\S]*?)<\/Blob>/g)) {
          const x = b[1]!;
          const path = /<BlobPath>([^<]*)</.exec(x)![1]!;
          const cd = /<ClientData>([^<]*)</.exec(x)![1]!;
          const e = blobs.get(path) ?? { codec: /codec=(\S+)/.exec(cd)![1]!, blocks: [], meta: '', finals: 0 };
          e.blocks.push(
            ...[...x.matchAll(/<Block Offset="\d+" Length="(\d+)" Id="([^"]+)" Hash="([^"]+)"/g)].map(
              (k) => `${k[2]} ${k[1]} ${k[3]}`,
            ),
          );
          if (/final=1/.test(cd)) e.finals++;
          e.meta = /<MetadataPath Hash="([^"]+)"/.exec(x)?.[1] ?? e.meta;
          blobs.set(path, e);
        }
      }
      return [...blobs.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([p, e]) => `${p} ${e.codec} finals=${e.finals} meta=${e.meta} ${e.blocks.sort().join(',')}`);
    };
    const reference = manifests();
    assert.ok(drives.filter((d) => existsSync(`${d}/DriveManifest.xml`)).length >= 2, 'the job spans drives');
    assert.ok(reference.length >= 17, `every entry is a blob: ${reference.length}`);
    // Each point costs three runs of the CLI (~3 s here). This job has ~100 points since every
    // entry writes a metadata file: a run takes an even spread of at most MAX_POINTS, starting at
    // an offset that changes from run to run (printed; SEEDSHIP_CRASH_OFFSET replays one), so
    // successive runs cover them all; SEEDSHIP_CRASH_POINTS=all takes every one. The first and the
    // last point are always taken.
    const MAX_POINTS = 50;
    const step = process.env.SEEDSHIP_CRASH_POINTS === 'all' ? 1 : Math.max(1, Math.ceil(total / MAX_POINTS));
    const offset =
      process.env.SEEDSHIP_CRASH_OFFSET !== undefined
        ? Number(process.env.SEEDSHIP_CRASH_OFFSET) % step
        : Math.floor(Math.random() * step);
    const points: number[] = [1];
    for (let n = 1 + offset; n <= total; n += step) if (n !== 1) points.push(n);
    if (points[points.length - 1] !== total) points.push(total);
    console.log(`crash points: ${points.length} of ${total} (step ${step}, SEEDSHIP_CRASH_OFFSET=${offset})`);
    for (const n of points) {
      reset();
      const c = crashRun(n, args);
      if (c.signal !== 'SIGKILL') {
        // Drives are filled at once, so how many durability points a run has depends a little on
        // timing (how the files fall on the drives, how many group commits): a run that has
        // fewer than n finishes uncrashed. That is no failure, and the checks below still hold.
        const had = Number(/crash-entry: (\d+) fault points/.exec(c.stderr)?.[1]);
        assert.ok(
          c.status === 0 && had < n,
          `point ${n}: the run was not killed (status ${c.status}, ${had} points): ${c.stderr.slice(-400)}`,
        );
      }
      const r = await runSeedship([...args, '--json']);
      assert.equal(r.code, 0, `point ${n}: resume failed: ${r.stderr.slice(-800)}`);
      // Invariant 7, also for a drive sealed by the killed run before it could read it back.
      const res = JSON.parse(r.stdout) as { drives: { driveId: string; status: string; verified?: boolean }[] };
      for (const d of res.drives) {
        if (d.status === 'sealed')
          assert.equal(d.verified, true, `point ${n}: drive ${d.driveId} reported without a read-back`);
      }
      const used = drives.filter((d) => existsSync(`${d}/seedship/drive.json`));
      assert.deepEqual(manifests(), reference, `point ${n}: manifests differ from the uninterrupted run`);
      const out = `${t.dir}/out`;
      rmSync(out, { recursive: true, force: true });
      const rr = await runSeedship([
        'restore',
        ...used.flatMap((d) => ['--drive', d]),
        '--session',
        session,
        '--to',
        out,
      ]);
      assert.equal(rr.code, 0, `point ${n}: restore: ${rr.stderr}`);
      assert.deepEqual(hashTree(out), expected, `point ${n}: restored tree differs`);
    }
  } finally {
    t.cleanup();
  }
});
