/**
 * Every long step but prepare reports progress on a ProgressBoard (issue #13): real runs on real
 * drives (tmp dirs) and a real Azurite, with a board whose phase changes and snapshots are
 * recorded; the totals must be what the step really did. No timing is asserted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { startAzurite, type RunningAzurite } from '../../native/azurite.js';
import { AzureBlobStore } from '../../native/blob-store.js';
import { makeNodeDeps } from '../../native/index.js';
import { ProgressBoard, type ProgressSnapshot } from '../../core/util/progress.js';
import { runVerify } from '../../core/verify/verify-drives.js';
import { runPlan } from '../../core/plan/estimate.js';
import { runImport } from '../../core/datacenter/run-import.js';
import { restoreFromDrives } from '../../core/restore/restore-drives.js';
import { restoreFromStorage } from '../../core/restore/restore-storage.js';
import { openSessionView } from '../../core/session/session-view.js';
import { runSync } from '../../core/datacenter/sync.js';
import { runHardwareBench } from '../../core/hardware/hardware-bench.js';
import { hashTree, tempDir, writeTree } from '../support/tree.js';
import { jsonLines, runSeedship } from '../support/cli.js';

const MiB = 1024 * 1024;
const deps = makeNodeDeps();
const t = tempDir('seedship-step-progress-');
let az: RunningAzurite | undefined;
const signal = new AbortController().signal;

before(async () => {
  az = await startAzurite();
});
after(async () => {
  await az?.stop();
  t.cleanup();
});

/** A board whose phase changes are recorded with a snapshot taken at each. */
function recorded(step: string): {
  board: ProgressBoard;
  phases: { phase: string; message: string | undefined; at: ProgressSnapshot }[];
} {
  const board = new ProgressBoard(step, deps.clock);
  const phases: { phase: string; message: string | undefined; at: ProgressSnapshot }[] = [];
  board.onPhase((c) => phases.push({ phase: c.phase, message: c.message, at: board.snapshot() }));
  return { board, phases };
}

const names = (phases: readonly { phase: string }[]) => phases.map((p) => p.phase);

/** `prepare` a tree onto `ndrives` tmp-dir drives (spanning them with a small --drive-limit). */
async function prepared(
  name: string,
  extra: string[] = [],
  ndrives = 2,
  limit = '8M',
): Promise<{ staging: string; drives: string[]; session: string }> {
  const staging = `${t.dir}/${name}/staging`;
  writeTree(staging, {
    'big.bin': { size: 9 * MiB, seed: 1 },
    'logs/a.log': { size: 2 * MiB, seed: 2, kind: 'text' },
    'logs/b.log': { size: 300_000, seed: 3, kind: 'text' },
    'small/one.txt': 'one',
    'small/two.txt': 'two two',
    empty: '',
  });
  const drives = Array.from({ length: ndrives }, (_, i) => `${t.dir}/${name}/d${i + 1}`);
  for (const d of drives) mkdirSync(d, { recursive: true });
  const r = await runSeedship([
    'prepare',
    '--staging',
    staging,
    '--job',
    name,
    ...drives.flatMap((d) => ['--drive', d]),
    '--allow-staging-volume',
    '--drive-limit',
    limit,
    ...extra,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const used = drives.filter((d) => existsSync(`${d}/DriveManifest.xml`));
  assert.equal(used.length, ndrives, 'the tree spans every drive');
  return { staging, drives: used, session: `${staging}/.seedship/${name}` };
}

/** The `{type:'phase'}` events a `--json` run wrote to stderr, in order. */
function cliPhases(stderr: string, step: string): string[] {
  return jsonLines(stderr)
    .filter((e) => e.type === 'phase' && e.step === step)
    .map((e) => e.phase as string);
}

/** `want` appears in `seen` in this order (other phases may come between). */
function inOrder(seen: readonly string[], want: readonly string[]): void {
  let i = 0;
  for (const p of seen) if (p === want[i]) i++;
  assert.equal(i, want.length, `phases ${JSON.stringify(seen)} should hold ${JSON.stringify(want)} in order`);
}

test('verify: manifests read first, their bytes the total, every drive read back to it', async () => {
  const p = await prepared('verify');
  for (const session of [undefined, p.session]) {
    const { board, phases } = recorded('verify');
    const pool = deps.createChunkProcessor(2);
    let results: Awaited<ReturnType<typeof runVerify>>;
    try {
      results = await runVerify(deps.fs, pool, { drives: p.drives, session, signal, board });
    } finally {
      await pool.close();
    }
    assert.deepEqual(names(phases), ['reading drive manifests', 'reading back']);
    const read = results.reduce((a, r) => a + r.bytes, 0);
    assert.ok(read > 9 * MiB, `read ${read} bytes`);
    // Known before a block was read back: the manifests' bytes are the bytes verify reads.
    const atStart = phases[1]!.at;
    assert.equal(atStart.total.total, read);
    assert.equal(atStart.total.done, 0);
    const end = board.snapshot();
    assert.equal(end.total.done, read);
    assert.equal(end.total.total, read);
    assert.equal(end.tracks.length, p.drives.length);
    for (const r of results) {
      assert.equal(r.problems.length, 0);
      const track = end.tracks.find((x) => x.key === r.root);
      assert.ok(track, `a track for ${r.root}`);
      assert.equal(track.done, r.bytes);
      assert.equal(track.total, r.bytes);
      assert.equal(track.state, 'done');
      assert.match(track.label, new RegExp(`^${r.driveId} `));
    }
  }
  const cli = await runSeedship([
    'verify',
    ...p.drives.flatMap((d) => ['--drive', d]),
    '--session',
    p.session,
    '--json',
  ]);
  assert.equal(cli.code, 0, cli.stderr);
  inOrder(cliPhases(cli.stderr, 'verify'), ['reading drive manifests', 'reading back']);
});

test('verify: a drive with a flipped byte ends failed on its own track', async () => {
  const p = await prepared('verify-bad', ['--codec', 'none'], 2, '10M');
  const f = `${p.drives[0]}/verify-bad/big.bin`;
  const b = readFileSync(f);
  b[100] = b[100]! ^ 1;
  writeFileSync(f, b);
  const { board } = recorded('verify');
  const pool = deps.createChunkProcessor(2);
  try {
    const results = await runVerify(deps.fs, pool, { drives: p.drives, session: undefined, signal, board });
    const end = board.snapshot();
    const states = results.map((r) => end.tracks.find((x) => x.key === r.root)?.state);
    assert.deepEqual(
      states,
      results.map((r) => (r.problems.length > 0 ? 'failed' : 'done')),
    );
    assert.ok(states.includes('failed') && states.includes('done'), JSON.stringify(states));
  } finally {
    await pool.close();
  }
});

test('plan: scanning counts entries and bytes, sampling counts the samples of their total', async () => {
  const staging = `${t.dir}/plan/staging`;
  writeTree(staging, {
    'a.bin': { size: 5 * MiB, seed: 7 },
    'd/b.txt': { size: 700_000, seed: 8, kind: 'text' },
    'd/c.txt': 'c',
  });
  const { board, phases } = recorded('plan');
  const pool = deps.createChunkProcessor(2);
  let r: Awaited<ReturnType<typeof runPlan>>;
  try {
    r = await runPlan(deps.fs, pool, deps.clock, {
      staging,
      codec: 'zstd',
      level: 3,
      driveBytes: [64 * MiB],
      repeatLastDrive: true,
      signal,
      board,
    });
  } finally {
    await pool.close();
  }
  assert.deepEqual(names(phases), ['scanning', 'sampling']);
  const end = board.snapshot();
  assert.equal(end.total.done, r.bytes);
  assert.equal(end.total.total, r.bytes);
  assert.equal(end.total.items, r.files);
  // When sampling starts, the scan is whole.
  assert.equal(phases[1]!.at.total.done, r.bytes);
  const samples = end.tracks.find((x) => x.key === 'samples');
  assert.ok(samples, 'a samples track');
  assert.ok(r.sampledBytes > 0);
  assert.equal(samples.done, r.sampledBytes);
  assert.equal(samples.total, r.sampledBytes);
  assert.equal(samples.items, samples.itemsTotal);
  const cli = await runSeedship(['plan', '--staging', staging, '--drive-size', '1G', '--json']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual(cliPhases(cli.stderr, 'plan'), ['scanning', 'sampling']);
});

test('import, restore from the account, sync: phases in order, totals as done', async () => {
  const p = await prepared('dcprog');
  const store = new AzureBlobStore(az!.connectionString);
  const pool = deps.createChunkProcessor(2);
  try {
    // import: every drive's manifest read first, then each drive uploaded in turn.
    const imp = recorded('import');
    const results = await runImport(deps.fs, pool, store, {
      drives: p.drives,
      session: p.session,
      logLevel: 'error',
      signal,
      now: () => deps.clock.now(),
      board: imp.board,
    });
    assert.ok(results.every((r) => r.status === 'Completed'));
    assert.deepEqual(names(imp.phases), ['reading manifests', ...p.drives.map(() => 'uploading')]);
    assert.match(imp.phases[1]!.message ?? '', /drive 1 of 2/);
    const uploaded = results.reduce((a, r) => a + r.bytesUploaded, 0);
    assert.ok(uploaded > 9 * MiB);
    assert.equal(imp.phases[1]!.at.total.total, uploaded, 'the manifests say what a first import uploads');
    let end = imp.board.snapshot();
    assert.equal(end.total.done, uploaded);
    assert.equal(end.total.total, uploaded);
    for (const r of results) {
      const track = end.tracks.find((x) => x.key === r.root)!;
      assert.equal(track.done, r.bytesUploaded);
      assert.equal(track.items, r.blobs);
      assert.equal(track.itemsTotal, r.blobs);
      assert.equal(track.state, 'done');
    }
    // Again: nothing uploaded, and the step still ends at its total (every blob settled).
    const again = recorded('import');
    const second = await runImport(deps.fs, pool, store, {
      drives: p.drives,
      session: p.session,
      logLevel: 'error',
      signal,
      now: () => deps.clock.now(),
      board: again.board,
    });
    assert.equal(
      second.reduce((a, r) => a + r.bytesUploaded, 0),
      0,
    );
    end = again.board.snapshot();
    assert.equal(end.total.total, uploaded);
    assert.equal(end.total.done, uploaded);

    // restore from the account, with the session (journal totals) and without (a listing).
    const view = await openSessionView(deps.fs, p.session);
    for (const session of [view, undefined]) {
      const rs = recorded('restore');
      const to = `${t.dir}/dcprog/restored-${session ? 'session' : 'listing'}`;
      const r = await restoreFromStorage(deps.fs, await deps.createCodecKit(), store, {
        container: 'dcprog',
        to,
        session,
        signal,
        board: rs.board,
      });
      assert.deepEqual(hashTree(to), hashTree(p.staging));
      assert.deepEqual(names(rs.phases), ['listing', 'restoring', 'metadata']);
      const s = rs.board.snapshot();
      assert.equal(s.total.items, r.files);
      assert.equal(s.total.itemsTotal, r.files);
      assert.equal(s.total.done, s.total.total);
      assert.equal(rs.phases[1]!.at.total.total, s.total.total, 'the total was known when restoring began');
      if (session) assert.equal(s.total.done, r.bytes, 'raw bytes checked against the journal');
      else assert.equal(s.total.done, uploaded, 'stored bytes downloaded: what the import uploaded');
      const track = s.tracks.find((x) => x.key === 'dcprog')!;
      assert.equal(track.done, s.total.done);
      assert.equal(track.state, 'done');
    }

    // sync: one file changed, one new, one gone (at the top, where no staged directory changes).
    writeFileSync(
      `${p.staging}/logs/b.log`,
      Buffer.concat([readFileSync(`${p.staging}/logs/b.log`), Buffer.from('one more line\n')]),
    );
    writeFileSync(`${p.staging}/new.txt`, 'new file');
    unlinkSync(`${p.staging}/empty`);
    const sy = recorded('sync');
    const r = await runSync(deps.fs, pool, store, { view, staging: p.staging, signal, board: sy.board });
    assert.deepEqual([r.uploaded, r.deleted], [2, 1]);
    assert.deepEqual(names(sy.phases), ['comparing', 'uploading', 'deleting']);
    const s = sy.board.snapshot();
    const changedBytes = readFileSync(`${p.staging}/logs/b.log`).length + 'new file'.length;
    assert.equal(sy.phases[1]!.at.total.total, changedBytes, 'the bytes to read are known when uploading begins');
    assert.equal(s.total.done, changedBytes);
    assert.equal(s.total.items, s.total.itemsTotal);
    const container = s.tracks.find((x) => x.key === 'dcprog')!;
    assert.equal(container.done, r.bytesUploaded);
    assert.equal(container.items, r.uploaded);
    assert.equal(container.state, 'done');
  } finally {
    await pool.close();
  }
});

test('import and restore through the CLI: phase events on stderr with --json', async () => {
  const p = await prepared('dccli', [], 2);
  const imp = await runSeedship([
    'import',
    ...p.drives.flatMap((d) => ['--drive', d]),
    '--connection-string',
    az!.connectionString,
    '--json',
  ]);
  assert.equal(imp.code, 0, imp.stderr);
  assert.deepEqual(cliPhases(imp.stderr, 'import'), ['reading manifests', 'uploading', 'uploading']);
  const to = `${t.dir}/dccli/restored`;
  const rs = await runSeedship([
    'restore',
    '--connection-string',
    az!.connectionString,
    '--container',
    'dccli',
    '--to',
    to,
    '--json',
  ]);
  assert.equal(rs.code, 0, rs.stderr);
  assert.deepEqual(cliPhases(rs.stderr, 'restore'), ['listing', 'restoring', 'metadata']);
});

test('restore from drives: a track per drive, every entry counted against the journal', async () => {
  const p = await prepared('rsdrives');
  const { board, phases } = recorded('restore');
  const pool = deps.createChunkProcessor(2);
  let r: Awaited<ReturnType<typeof restoreFromDrives>>;
  try {
    r = await restoreFromDrives(deps.fs, pool, {
      drives: p.drives,
      session: p.session,
      to: `${t.dir}/rsdrives/out`,
      signal,
      board,
    });
  } finally {
    await pool.close();
  }
  assert.deepEqual(hashTree(`${t.dir}/rsdrives/out`), hashTree(p.staging));
  assert.deepEqual(names(phases), ['listing', 'restoring', 'restoring', 'metadata']);
  assert.match(phases[1]!.message ?? '', /drive 1 of 2/);
  const end = board.snapshot();
  assert.equal(end.total.items, r.files);
  assert.equal(end.total.itemsTotal, r.files);
  assert.equal(end.total.done, end.total.total);
  assert.equal(phases[1]!.at.total.total, end.total.total);
  assert.ok(
    end.total.done >= r.bytes && r.bytes > 9 * MiB,
    `${end.total.done} raw bytes of chunks, ${r.bytes} of files`,
  );
  assert.equal(end.tracks.length, 2);
  for (const tr of end.tracks) {
    assert.equal(tr.done, tr.total);
    assert.ok(tr.done > 0);
    assert.equal(tr.state, 'done');
  }
  const cli = await runSeedship([
    'restore',
    ...p.drives.flatMap((d) => ['--drive', d]),
    '--session',
    p.session,
    '--to',
    `${t.dir}/rsdrives/cli`,
    '--json',
  ]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual(cliPhases(cli.stderr, 'restore'), ['listing', 'restoring', 'restoring', 'metadata']);
});

test('bench: a phase per measurement, measurements counted, the drive test on its own track', async () => {
  const drive = `${t.dir}/bench-drive`;
  mkdirSync(drive);
  const { board, phases } = recorded('bench');
  const r = await runHardwareBench(deps, {
    staging: undefined,
    drives: [drive],
    sizeBytes: 32 * MiB,
    threads: 2,
    scratchDir: t.dir,
    signal,
    board,
  });
  const seen = names(phases);
  // Built-in data: two data sets, each on one core, then 2 thread counts x 2 data sets x 3 levels in the pool.
  assert.deepEqual(seen, [
    'writing samples',
    'timing one core',
    'timing one core',
    ...Array<string>(12).fill('timing the pool'),
    'timing drive writes',
  ]);
  const end = board.snapshot();
  const measurements = r.perCore.length / (r.levels.length + 2) + r.pipeline.length + r.drives.length;
  assert.equal(end.total.items, measurements);
  assert.equal(end.total.itemsTotal, measurements);
  assert.equal(end.total.done, r.drives[0]!.bytes);
  assert.equal(end.total.total, r.drives[0]!.bytes);
  const track = end.tracks.find((x) => x.key === drive)!;
  assert.equal(track.done, 32 * MiB);
  assert.equal(track.state, 'done');
});
