import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeFileSystem } from '../../native/node-fs.js';
import { JournalWriter } from '../../core/journal/journal-writer.js';
import { RecordType, type JournalRecord } from '../../core/journal/record-codec.js';
import { countSkippedPaths } from '../../core/journal/path-outcomes.js';
import { CatchUp, type CatchUpVerdict } from '../../core/pipeline/catch-up.js';
import { walkStaging } from '../../core/staging/scan.js';
import { tempDir, writeTree } from '../support/tree.js';

const fs = new NodeFileSystem();
const walkOpts = { exclude: (rel: string) => rel === 'journal', suffix: '' };

test('catch-up judges each entry by the last outcome its path has in the journal, in or out of walk order', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/s`;
    writeTree(staging, { a: 'a', a2: 'a2', b: 'b', c: 'c', c2: 'c2', d: 'd', e: 'e', f: 'f', g: 'g' });
    const journal = `${t.dir}/journal`;
    const w = await JournalWriter.create(fs, journal, Buffer.alloc(16, 5));
    const add = (...rs: JournalRecord[]) => {
      for (const r of rs) w.append(r);
    };
    const started = async (file: number, path: string, drive = 0, part = 1, sizeDelta = 0): Promise<JournalRecord> => {
      const st = await fs.lstat(`${staging}/${path}`);
      return {
        type: RecordType.SegmentStarted,
        file,
        gen: 0,
        part,
        drive,
        path,
        size: st.size + sizeDelta,
        mtimeMs: st.mtimeMs,
        ino: st.ino,
        mode: st.mode,
        rawOffset: 0,
        storedOffset: 0,
        firstBlock: 0,
        kind: 'file',
      };
    };
    const done = (file: number, gen = 0): JournalRecord => ({ type: RecordType.FileDone, file, gen, storedLength: 1 });
    const skipped = (file: number, path: string): JournalRecord => ({
      type: RecordType.FileSkipped,
      file,
      path,
      reason: 'test',
    });
    add({ type: RecordType.DriveAttached, drive: 0, driveId: 'DRIVE0', path: '/d0', budget: 1e9 });
    add(await started(0, 'a'), done(0)); // copied, unchanged
    add(skipped(1, 'a2')); // skipped, then copied out of order below
    add(await started(2, 'b'), skipped(2, 'b')); // skipped
    add(await started(3, 'c'));
    add({ type: RecordType.DriveSealed, drive: 0, manifestHash: 'X', manifestBytes: 1 });
    add({ type: RecordType.DriveAttached, drive: 1, driveId: 'DRIVE1', path: '/d1', budget: 1e9 });
    add(await started(3, 'c', 1, 2), skipped(3, 'c')); // skipped with a part on sealed DRIVE0
    add(await started(4, 'c2', 1)); // restarted below, then skipped out of order
    // 'd': never met (added since)
    add(await started(5, 'e', 1, 1, 7), done(5)); // copied at another size: changed since
    add(await started(6, 'f', 1)); // being copied when the run stopped: the first pass resumes it
    const c2 = await fs.lstat(`${staging}/c2`);
    add(
      {
        type: RecordType.FileRestarted,
        file: 4,
        gen: 1,
        reason: 'changed',
        size: c2.size,
        mtimeMs: c2.mtimeMs,
        ino: c2.ino,
      },
      skipped(4, 'c2'),
    );
    add(await started(7, 'a2', 1), done(7));
    await w.commit();

    // Last outcomes: b, c and c2 skipped (a2's skip was made good by a later copy).
    assert.equal(await countSkippedPaths(fs, journal), 3);
    const cu = (await CatchUp.read(fs, journal, staging, 'f'))!;
    assert.ok(cu);
    assert.equal(
      await CatchUp.read(fs, journal, staging, undefined),
      undefined,
      'a session no run visited has nothing to catch up',
    );
    const judge = cu.judge();
    const verdicts: Record<string, CatchUpVerdict> = {};
    try {
      for await (const f of walkStaging(fs, staging, { ...walkOpts, onSkip: () => undefined, entries: true }))
        verdicts[f.path] = await judge.see(f);
    } finally {
      await judge.close();
    }
    assert.deepEqual(verdicts, {
      a: 'on-drive',
      a2: 'on-drive',
      b: 'skipped',
      c: 'stuck',
      c2: 'skipped',
      d: 'added',
      e: 'changed',
      f: 'later',
      g: 'later',
    });
    const found = judge.findings;
    assert.deepEqual([found.missing, found.missingBytes, found.missingPaths], [3, 4, ['b', 'c2', 'd']]);
    assert.deepEqual([found.changed, found.changedPaths], [1, ['e']]);
    assert.equal(found.stuck, 1);
    assert.match(found.stuckEntries[0]!.reason, /sealed on drive DRIVE0/);

    const yielded: string[] = [];
    for await (const f of cu.entries(walkOpts)) yielded.push(f.path);
    assert.deepEqual(yielded, ['b', 'c2', 'd']);

    // This run copies b and skips d again (both out of order): only c2 is left.
    add(await started(8, 'b', 1), done(8), skipped(9, 'd'));
    await w.commit();
    assert.deepEqual(await cu.left(found), { count: 1, paths: ['c2'] });
    assert.equal(await countSkippedPaths(fs, journal), 3, 'c, c2 and d');
    // The run's own records do not change what the catch-up read before it began.
    assert.deepEqual(
      await (async () => {
        const y: string[] = [];
        for await (const f of cu.entries(walkOpts)) y.push(f.path);
        return y;
      })(),
      ['b', 'c2', 'd'],
    );
    await w.close();
  } finally {
    t.cleanup();
  }
});
