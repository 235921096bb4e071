// The per-drive group commit (core/pipeline/drive-syncs.ts) with a fake clock and drives whose
// syncs the test completes by hand: no record is committed before every drive it could name
// is synced, a slow drive holds back the journal but no other drive, and a drive fault stops
// every commit until the copy has dealt with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalWriter } from '../../core/journal/journal-writer.js';
import { RecordType } from '../../core/journal/record-codec.js';
import { COMMIT_EVERY_BYTES, COMMIT_EVERY_MS, DriveSyncs } from '../../core/pipeline/drive-syncs.js';
import type { CurrentDrive } from '../../core/pipeline/drive-coordinator.js';
import { NodeFileSystem } from '../../native/index.js';

/** A drive whose syncs wait until the test releases them (or fails them). */
function fakeDrive(seq: number) {
  const pending: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  let syncs = 0;
  const cur = {
    state: { seq },
    writer: {
      openFiles: 0,
      flush: () =>
        new Promise<void>((resolve, reject) => {
          syncs++;
          pending.push({ resolve, reject });
        }),
    },
  } as unknown as CurrentDrive;
  return {
    cur,
    get syncs() {
      return syncs;
    },
    release: () => pending.shift()!.resolve(),
    fail: (code: string) => pending.shift()!.reject(Object.assign(new Error(`${code}: i/o error`), { code })),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'drive-syncs-'));
  const journal = await JournalWriter.create(new NodeFileSystem(), join(dir, 'journal.sjr'), new Uint8Array(16));
  let now = 0;
  const clock = { now: () => now, monotonic: () => now };
  const drives = [fakeDrive(0), fakeDrive(1)];
  const faults = new Map<number, unknown>();
  const syncs = new DriveSyncs(journal, clock, {
    open: () => drives.map((d) => d.cur),
    faulted: (seq) => faults.has(seq),
    anyFault: () => faults.size > 0,
    onFault: (cur, err) => faults.set(cur.state.seq, err),
    beforeCommit: () => undefined,
  });
  const record = (drive: number) => journal.append({ type: RecordType.DriveFull, drive });
  return { dir, journal, syncs, drives, faults, record, advance: (ms: number) => (now += ms) };
}

test('a record is committed only once every drive written before it is synced; a slow drive holds back the journal, not the other drive', async () => {
  const t = await setup();
  try {
    const [a, b] = t.drives as [ReturnType<typeof fakeDrive>, ReturnType<typeof fakeDrive>];
    t.syncs.wrote(a.cur, 10);
    t.record(0); // names data on drive 0
    t.syncs.wrote(b.cur, 10);
    t.record(1); // names data on drive 1
    const fa = t.syncs.flush(a.cur);
    await tick();
    a.release();
    await fa;
    assert.equal(t.journal.committed, 0, 'drive 1 is not synced: nothing is committed');
    const fb = t.syncs.flush(b.cur);
    t.syncs.wrote(a.cur, 5); // drive 0 goes on meanwhile
    t.record(0);
    await tick();
    b.release();
    await fb;
    assert.equal(t.journal.committed, 2, 'both synced as far as the first two records; the third waits for drive 0');
    const fa2 = t.syncs.flush(a.cur);
    await tick();
    a.release();
    await fa2;
    assert.equal(t.journal.committed, 3);
  } finally {
    await t.journal.close();
    rmSync(t.dir, { recursive: true, force: true });
  }
});

test('afterWrite syncs at the byte and time thresholds and makes the pump wait only past two intervals', async () => {
  const t = await setup();
  try {
    const a = t.drives[0]!;
    t.syncs.wrote(a.cur, COMMIT_EVERY_BYTES - 1);
    await t.syncs.afterWrite(a.cur);
    await tick();
    assert.equal(a.syncs, 0, 'below every threshold');
    t.advance(COMMIT_EVERY_MS);
    await t.syncs.afterWrite(a.cur); // starts a sync, does not wait for it
    await tick();
    assert.equal(a.syncs, 1);
    t.syncs.wrote(a.cur, 2 * COMMIT_EVERY_BYTES);
    let waited = true;
    const w = t.syncs.afterWrite(a.cur).then(() => (waited = false));
    await tick();
    assert.equal(waited, true, 'two intervals unsynced: the pump waits');
    a.release();
    await w;
    assert.equal(waited, false);
  } finally {
    await t.journal.close();
    rmSync(t.dir, { recursive: true, force: true });
  }
});

test('a drive fault at a sync is handed to the copy and stops every commit until it is dealt with', async () => {
  const t = await setup();
  try {
    const [a, b] = t.drives as [ReturnType<typeof fakeDrive>, ReturnType<typeof fakeDrive>];
    t.syncs.wrote(a.cur, 1);
    t.record(0);
    const fa = t.syncs.flush(a.cur);
    await tick();
    a.fail('EIO');
    await fa; // not thrown
    assert.equal(t.faults.has(0), true);
    const fb = t.syncs.flush(b.cur);
    await tick();
    b.release();
    await fb;
    assert.equal(t.journal.committed, 0, 'nothing is committed while a fault is not journaled');
    await assert.rejects(
      (async () => {
        const f = t.syncs.flush(b.cur, true);
        await tick();
        b.fail('EINVAL');
        await f;
      })(),
      /EINVAL/,
      'an error that is no drive fault is thrown',
    );
  } finally {
    await t.journal.close();
    rmSync(t.dir, { recursive: true, force: true });
  }
});
