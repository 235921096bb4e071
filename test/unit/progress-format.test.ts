import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { ProgressSnapshot, TrackSnapshot } from '../../core/index.js';
import { ProgressBoard } from '../../core/index.js';
import { RateMeter } from '../../core/util/rate-meter.js';
import type { CliContext } from '../../cli/shared/context.js';
import {
  fitWidth,
  formatRate,
  liveStepLine,
  liveTrackLine,
  plainLine,
  plainTrackPart,
  textBar,
} from '../../cli/shared/progress-format.js';
import {
  parseIntervalSeconds,
  progressIntervalMs,
  setProgressInterval,
  startProgress,
} from '../../cli/shared/progress.js';
import { MemoryRunLog } from '../../cli/shared/run-log.js';
import { makeNodeDeps } from '../../native/index.js';
import { playTerminal } from '../support/screen.js';

const MiB = 1024 * 1024;

function track(over: Partial<TrackSnapshot>): TrackSnapshot {
  return {
    key: 'total',
    label: 'all',
    unit: 'bytes',
    done: 0,
    total: undefined,
    rate: 0,
    etaSeconds: undefined,
    state: undefined,
    used: undefined,
    capacity: undefined,
    items: undefined,
    itemsTotal: undefined,
    ...over,
  };
}

function snap(over: Partial<ProgressSnapshot>): ProgressSnapshot {
  return { step: 'prepare', phase: 'copy', message: undefined, elapsedMs: 0, total: track({}), tracks: [], ...over };
}

test('the plain line has the step, phase, elapsed, done/total, files, rate, ETA and a part per drive', () => {
  const line = plainLine(
    snap({
      elapsedMs: 80_400,
      total: track({
        done: 3 * 1024 * MiB,
        total: 10 * 1024 * MiB,
        rate: 45 * MiB,
        etaSeconds: 155,
        items: 1200,
        itemsTotal: 5000,
      }),
      tracks: [
        track({
          key: 'SS0001',
          label: 'SS0001 /mnt/a',
          done: 1100 * MiB,
          total: 2816 * MiB,
          rate: 22 * MiB,
          etaSeconds: 75,
          state: 'writing',
          used: 1126 * MiB,
          capacity: 2816 * MiB,
        }),
        track({
          key: 'SS0002',
          label: 'SS0002 /mnt/b',
          done: 512 * MiB,
          total: 2048 * MiB,
          rate: 0,
          state: 'reading back',
          used: 2000 * MiB,
          capacity: 2048 * MiB,
        }),
      ],
    }),
  );
  assert.equal(
    line,
    'seedship: prepare copy: elapsed 1m 20s, 3.00 GiB/10.0 GiB 30.0%, 1200/5000 files, 45.0 MiB/s, ETA 2m 35s' +
      ' | SS0001 /mnt/a: writing (40% full) 1.07 GiB/2.75 GiB 22.0 MiB/s ETA 1m 15s' +
      ' | SS0002 /mnt/b: reading back (98% full) 512 MiB/2.00 GiB 25.0% …/s',
  );
});

test('a plain line at a phase change carries its message; unknown totals, rates and ETAs are left out, not invented', () => {
  assert.equal(
    plainLine(
      snap({ phase: 'scan', message: 'scanning staging', elapsedMs: 400, total: track({ done: 5000, items: 12 }) }),
    ),
    'seedship: prepare scan (scanning staging): elapsed 0s, 4.88 KiB, 12 files, …/s',
  );
  assert.equal(
    plainLine(
      snap({
        step: 'verify',
        phase: 'read',
        elapsedMs: 3_700_000,
        total: track({ unit: 'blobs', done: 7, total: 20, rate: 0.5 }),
      }),
    ),
    'seedship: verify read: elapsed 1h 01m, 7 blobs/20 blobs 35.0%, 0.5 blobs/s',
  );
  // Done: no ETA of 0 s.
  assert.equal(
    plainTrackPart(track({ label: 'SS1 /d', done: 10, total: 10, etaSeconds: 0, rate: 3, state: 'done' })),
    'SS1 /d: done 10 B/10 B 100.0% 3 B/s',
  );
});

test('the live lines put what matters first, so a narrow terminal cuts the least useful end', () => {
  const s = snap({
    elapsedMs: 5_000,
    total: track({ done: 5 * MiB, total: 10 * MiB, rate: MiB, etaSeconds: 5, items: 1, itemsTotal: 3 }),
  });
  assert.equal(
    liveStepLine(s),
    'prepare copy  elapsed 5s  5.00 MiB/10.0 MiB 50.0%  1/3 files  1.00 MiB/s  ETA 5s  [##########----------]',
  );
  const d = track({
    key: 'SS1',
    label: 'SS1 /mnt/a',
    done: 3 * MiB,
    total: 12 * MiB,
    rate: 2 * MiB,
    etaSeconds: 4.5,
    state: 'writing',
    used: 3 * MiB,
    capacity: 12 * MiB,
  });
  assert.equal(
    liveTrackLine(d),
    '  SS1 /mnt/a  writing  (25% full)  3.00 MiB/12.0 MiB  2.00 MiB/s  ETA 5s  [#####---------------]',
  );
  assert.equal(fitWidth(liveTrackLine(d), 40), '  SS1 /mnt/a  writing  (25% full)  3.00…');
  assert.equal([...fitWidth(liveTrackLine(d), 40)].length, 40);
  assert.equal(textBar(1, undefined, 4), '    ');
  assert.equal(textBar(7, 5, 4), '####');
  assert.equal(formatRate('files', 12.34), '12 files/s');
});

test('--progress-interval and SEEDSHIP_PROGRESS_INTERVAL: the option wins, then the variable, then 10 s; nonsense is a usage error', () => {
  const ctx = (env: NodeJS.ProcessEnv) => ({ env }) as unknown as CliContext;
  assert.equal(progressIntervalMs(ctx({})), 10_000);
  assert.equal(progressIntervalMs(ctx({ SEEDSHIP_PROGRESS_INTERVAL: '2.5' })), 2_500);
  const both = ctx({ SEEDSHIP_PROGRESS_INTERVAL: '2.5' });
  setProgressInterval(both, 60);
  assert.equal(progressIntervalMs(both), 60_000);
  assert.throws(
    () => progressIntervalMs(ctx({ SEEDSHIP_PROGRESS_INTERVAL: 'often' })),
    (e: Error & { code?: string }) => e.code === 'E_USAGE' && /SEEDSHIP_PROGRESS_INTERVAL="often"/.test(e.message),
  );
  for (const bad of ['0', '-1', '', ' ', 'NaN', 'Infinity', '1e9'])
    assert.equal(parseIntervalSeconds(bad), undefined, bad);
  assert.equal(parseIntervalSeconds('0.5'), 0.5);
});

/** A context whose clock the test moves, with stderr collected. */
function testContext(isTTY: boolean): {
  ctx: CliContext;
  out: () => string;
  log: MemoryRunLog;
  advance: (ms: number) => void;
} {
  let t = 1_000;
  const stderr = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  if (isTTY) {
    stderr.isTTY = true;
    stderr.columns = 100;
  }
  let text = '';
  stderr.on('data', (d: Buffer) => (text += d.toString()));
  const log = new MemoryRunLog();
  const deps = { ...makeNodeDeps(), clock: { now: () => t, monotonic: () => t } };
  const ctx: CliContext = {
    stdout: new PassThrough(),
    stderr,
    stdin: new PassThrough(),
    interactive: false,
    env: {},
    cwd: '/',
    deps,
    signal: new AbortController().signal,
    log,
  };
  return { ctx, out: () => text, log, advance: (ms) => (t += ms) };
}

test('without a terminal each phase change prints a plain line at once and goes to the run log with a sample', () => {
  const { ctx, out, log, advance } = testContext(false);
  const view = startProgress(ctx, 'verify', { json: false, total: { label: 'all', unit: 'bytes', total: 100 } });
  view.board.setPhase('read', 'reading drive SS1');
  advance(2_000);
  view.board.total.add(40);
  view.note('warning', 'drive SS1 is slow');
  view.board.setPhase('done');
  view.done();
  view.done(); // a second call changes nothing
  assert.deepEqual(out().split('\n'), [
    'seedship: verify read (reading drive SS1): elapsed 0s, 0 B/100 B 0.0%, …/s',
    'seedship: warning: drive SS1 is slow',
    'seedship: verify done: elapsed 2s, 40 B/100 B 40.0%, 20 B/s, ETA 3s',
    '',
  ]);
  const msgs = log.records.map((r) => r.msg);
  assert.deepEqual(msgs, ['phase', 'progress', 'drive SS1 is slow', 'phase', 'progress', 'progress']);
  assert.deepEqual(log.records[0], {
    msg: 'phase',
    step: 'verify',
    phase: 'read',
    message: 'reading drive SS1',
    elapsedMs: 0,
  });
  assert.equal((log.records[5] as { progress: ProgressSnapshot }).progress.total.done, 40);
});

test('--json: phase events at once and a last progress event at the end, one JSON object a line', () => {
  const { ctx, out, advance } = testContext(false);
  const view = startProgress(ctx, 'import', { json: true, total: { label: 'all', unit: 'bytes', total: 10 } });
  view.board.track({ key: 'c1', label: 'container c1', unit: 'blobs', total: 2 }).setState('importing');
  view.board.setPhase('upload');
  advance(1_500);
  view.note('info', 'container c1 created');
  view.done();
  const lines = out()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines[0], { type: 'phase', step: 'import', phase: 'upload', elapsedMs: 0 });
  assert.deepEqual(lines[1], { type: 'info', message: 'container c1 created' });
  assert.equal(lines[2]!.type, 'progress');
  assert.equal(lines[2]!.elapsedMs, 1_500);
  assert.deepEqual(
    (lines[2]!.tracks as TrackSnapshot[]).map((t) => [t.key, t.state, t.unit]),
    [['c1', 'importing', 'blobs']],
  );
  assert.equal(lines.length, 3);
});

test('on a terminal the live lines are drawn by cli-progress, messages go above them, and done() leaves none behind', () => {
  const { ctx, out } = testContext(true);
  const view = startProgress(ctx, 'prepare', { json: false, total: { label: 'all', unit: 'bytes', total: 10 * MiB } });
  const d = view.board.track({ key: 'SS1', label: 'SS1 /mnt/a', capacity: 20 * MiB });
  d.setState('writing');
  d.add(MiB);
  view.board.setPhase('copy');
  view.pause();
  view.note('info', 'drive SS1 attached');
  view.resume();
  view.note('warning', 'a.txt changed while being copied; copying it again');
  view.done();
  const screen = playTerminal(out());
  assert.deepEqual(
    screen.lines.filter((l) => l !== ''),
    ['seedship: drive SS1 attached', 'seedship: warning: a.txt changed while being copied; copying it again'],
  );
  assert.ok(screen.cursorVisible);
  assert.match(out(), /prepare copy {2}elapsed 0s/, 'the step line was drawn');
  assert.match(out(), / {2}SS1 \/mnt\/a {2}writing {2}1\.00 MiB /, 'the drive line was drawn');
});

test('a rate meter whose counter goes back starts over instead of showing a negative rate', () => {
  const m = new RateMeter();
  m.add(0, 0);
  m.add(2_000, 4_000);
  assert.equal(m.rate(), 2_000);
  m.add(3_000, 0); // the drive's read-back after its copy
  assert.equal(m.rate(), 0);
  m.add(4_000, 500);
  assert.equal(m.rate(), 500);
  // A board built on it: a track set back reads 0, then the new pace.
  let t = 0;
  const board = new ProgressBoard('x', { now: () => t, monotonic: () => t });
  const tr = board.track({ key: 'k', label: 'k' });
  tr.set(1_000);
  board.snapshot();
  t = 1_000;
  tr.set(3_000);
  assert.equal(board.snapshot().tracks[0]!.rate, 2_000);
  t = 2_000;
  tr.set(10);
  assert.ok(board.snapshot().tracks[0]!.rate >= 0);
});
