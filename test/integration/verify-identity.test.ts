import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tempDir, writeTree } from '../support/tree.js';
import { runSeedship } from '../support/cli.js';
import { NodeFileSystem } from '../../native/node-fs.js';
import { PiscinaChunkProcessor } from '../../native/chunk-pool.js';
import type { ChunkProcessor, DecodeTask, FileHandle, OpenFlags } from '../../native/interfaces.js';
import { verifyDrive } from '../../core/verify/verify-drive.js';
import { driveAbsence } from '../../core/verify/drive-at-hand.js';
import type { DriveJson } from '../../core/drives/drive-identity.js';

const MiB = 1024 * 1024;

/** The real file system, noting every path opened or read whole. */
class RecordingFs extends NodeFileSystem {
  readonly touched: string[] = [];
  override open(path: string, flags: OpenFlags, mode?: number): Promise<FileHandle> {
    this.touched.push(path);
    return super.open(path, flags, mode);
  }
  override readFileIfExists(path: string): Promise<Buffer | undefined> {
    this.touched.push(path);
    return super.readFileIfExists(path);
  }
}

/** The real pool, noting every decode task's file. */
function recordingPool(real: ChunkProcessor, decoded: string[]): ChunkProcessor {
  return {
    threads: real.threads,
    encode: (t, s) => real.encode(t, s),
    encodeMany: (t, s) => real.encodeMany(t, s),
    decode: (t: DecodeTask, s) => {
      decoded.push(t.path);
      return real.decode(t, s);
    },
    close: () => real.close(),
  };
}

const driveJsonOf = (d: string) => JSON.parse(readFileSync(`${d}/seedship/drive.json`, 'utf8')) as DriveJson;

test('verifyDrive with expectDriveId: another drive, another job, nothing, or the drive itself', async () => {
  const t = tempDir('verify-identity-');
  const real = new PiscinaChunkProcessor(2);
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, { 'a.bin': { size: 5 * MiB, seed: 1 }, 'b.bin': { size: 5 * MiB, seed: 2 } });
    const [d1, d2] = [`${t.dir}/d1`, `${t.dir}/d2`];
    mkdirSync(d1);
    mkdirSync(d2);
    const r = await runSeedship([
      'prepare',
      '--staging',
      staging,
      '--job',
      'ident',
      '--drive',
      d1,
      '--drive',
      d2,
      '--drive-limit',
      '7M',
      '--codec',
      'none',
      '--allow-staging-volume',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j1 = driveJsonOf(d1);
    const j2 = driveJsonOf(d2);
    assert.notEqual(j1.driveId, j2.driveId);
    const signal = new AbortController().signal;
    const run = async (root: string, expectDriveId: string, expectJobId?: string) => {
      const fs = new RecordingFs();
      const decoded: string[] = [];
      const res = await verifyDrive(fs, recordingPool(real, decoded), root, {
        session: undefined,
        signal,
        expectDriveId,
        expectJobId,
      });
      return { res, touched: fs.touched, decoded };
    };

    // Drive 2 where drive 1 was expected: absent, and only its identity was read.
    const other = await run(d2, j1.driveId, j1.jobId);
    assert.deepEqual(other.res.absent, {
      found: j2.driveId,
      reason: `${d2} holds drive ${j2.driveId}, not drive ${j1.driveId}`,
    });
    assert.deepEqual(other.res.problems, []);
    assert.equal(other.res.blobs, 0);
    assert.deepEqual(other.decoded, [], 'no block was read');
    assert.deepEqual([...new Set(other.touched)].sort(), [`${d2}/DriveManifest.xml`, `${d2}/seedship/drive.json`]);

    // The same DriveId, but drive.json says another job: the drive was prepared again since.
    const job = await run(d1, j1.driveId, '0'.repeat(32));
    assert.equal(job.res.absent?.found, j1.driveId);
    assert.match(job.res.absent!.reason, /of job ident, not drive .* of this job/);
    assert.deepEqual(job.decoded, []);

    // An empty mount point, and a path that is gone: nothing there.
    mkdirSync(`${t.dir}/empty`);
    for (const p of [`${t.dir}/empty`, `${t.dir}/gone`]) {
      const none = await run(p, j1.driveId);
      assert.deepEqual(none.res.absent, {
        found: undefined,
        reason: `${p} holds no seedship/drive.json and no manifest naming a drive, not drive ${j1.driveId}`,
      });
    }

    // The expected drive: read back whole, not absent.
    const here = await run(d1, j1.driveId, j1.jobId);
    assert.equal(here.res.absent, undefined);
    assert.deepEqual(here.res.problems, []);
    assert.ok(here.res.bytes >= 4 * MiB, `read back ${here.res.bytes} bytes`);
    assert.ok(here.decoded.length > 0);

    // drive.json gone: the manifest still names the drive, so it is at hand (and reads back clean).
    renameSync(`${d1}/seedship/drive.json`, `${t.dir}/drive1.json`);
    const noJson = await run(d1, j1.driveId);
    assert.equal(noJson.res.absent, undefined);
    assert.deepEqual(noJson.res.problems, []);
    assert.equal(noJson.res.driveId, j1.driveId);
    // A damaged drive.json on the expected drive is that drive's problem, not its absence.
    writeFileSync(`${d1}/seedship/drive.json`, '{ not json');
    const damaged = await run(d1, j1.driveId);
    assert.equal(damaged.res.absent, undefined);
    assert.match(
      damaged.res.problems.map((p) => p.message).join('\n'),
      /seedship\/drive\.json is damaged; the manifest names drive/,
    );
    // …and where another drive was expected, the manifest's DriveId is the one found.
    const damagedOther = await run(d1, j2.driveId);
    assert.equal(damagedOther.res.absent?.found, j1.driveId);
  } finally {
    await real.close();
    t.cleanup();
  }
});

test('driveAbsence: drive.json decides when readable, else the manifest DriveId', () => {
  const dj = {
    format: 1,
    tool: 'seedship',
    job: 'j',
    jobId: 'J1',
    driveId: 'A',
    seq: 0,
    container: 'c',
    encrypted: false,
    sealed: true,
  } as const;
  const expect = { driveId: 'A', jobId: 'J1' };
  assert.equal(
    driveAbsence('/m', dj, 'B', expect),
    undefined,
    'a manifest naming another drive is a problem of drive A, found later',
  );
  assert.equal(driveAbsence('/m', { ...dj, driveId: 'B' }, 'A', expect)?.found, 'B');
  assert.equal(driveAbsence('/m', { ...dj, jobId: 'J2' }, 'A', expect)?.found, 'A');
  assert.equal(
    driveAbsence('/m', { ...dj, jobId: 'J2' }, 'A', { driveId: 'A', jobId: undefined }),
    undefined,
    'no job to compare',
  );
  assert.equal(driveAbsence('/m', undefined, 'A', expect), undefined);
  assert.equal(driveAbsence('/m', 'damaged', 'A', expect), undefined);
  assert.equal(driveAbsence('/m', 'damaged', 'B', expect)?.found, 'B');
  assert.equal(driveAbsence('/m', undefined, undefined, expect)?.found, undefined);
  assert.ok(driveAbsence('/m', undefined, undefined, expect));
});
