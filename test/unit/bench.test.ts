import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectWriteCliff, type WriteWindow } from '../../core/index.js';
import { estimateJob, recommendSettings } from '../../core/hardware/recommend.js';
import type { PipelineRate } from '../../core/hardware/codec-bench.js';

const MiB = 1024 * 1024;
/** Windows of 256 MiB written at the given MB/s. */
const windows = (...mbps: number[]): WriteWindow[] =>
  mbps.map((r) => ({ bytes: 256 * MiB, seconds: (256 * MiB) / (r * 1e6) }));

test('write cliff: a flat drive, an HDD slowing toward inner tracks and a noisy run are not cliffs', () => {
  for (const w of [
    windows(200, 200, 200, 200, 200, 200, 200, 200),
    windows(210, 205, 200, 195, 190, 185, 180, 175),
    windows(180, 240, 150, 230, 170, 220, 160, 210),
  ]) {
    const s = detectWriteCliff(w);
    assert.equal(s.cliff, undefined, JSON.stringify(w));
    assert.ok(s.firstRate > 0 && s.lastRate > 0);
  }
});

test('write cliff: an SSD cache running out is found, with the point where it fell', () => {
  const s = detectWriteCliff(windows(900, 950, 920, 910, 930, 120, 110, 115, 118));
  assert.ok(s.cliff, 'a cliff');
  assert.equal(s.cliff.afterBytes, 5 * 256 * MiB);
  assert.ok(Math.abs(s.cliff.fromRate / 1e6 - 922) < 10, `from ${s.cliff.fromRate}`);
  assert.ok(Math.abs(s.cliff.toRate / 1e6 - 116) < 5, `to ${s.cliff.toRate}`);
  assert.ok(s.lastRate < 0.6 * s.firstRate);
});

test('write cliff: one slow window early on does not move the point; fewer than 3 windows never are one', () => {
  const s = detectWriteCliff(windows(500, 100, 500, 500, 500, 500, 60, 60, 60, 60, 60, 60));
  assert.equal(s.cliff?.afterBytes, 6 * 256 * MiB);
  assert.equal(detectWriteCliff(windows(900, 100)).cliff, undefined);
  assert.equal(detectWriteCliff([]).cliff, undefined);
});

const rates = (t1: Record<number, number>, tn: Record<number, number>, n = 4): PipelineRate[] =>
  [1, 3, 6].flatMap((level) => [
    { dataset: 'x', level, threads: 1, rate: t1[level]! * 1e6, ratio: 0.5 },
    { dataset: 'x', level, threads: n, rate: tn[level]! * 1e6, ratio: 0.5 },
  ]);

test('recommendation: the highest level that keeps up with the combined rate of the drives, all threads when they help', () => {
  const p = rates({ 1: 150, 3: 90, 6: 30 }, { 1: 600, 3: 360, 6: 120 });
  const r = recommendSettings(p, [1, 3, 6], 4, 250e6);
  assert.deepEqual([r.level, r.threads, r.keepsUp, r.basis], [3, 4, true, 'drive']);
  assert.equal(recommendSettings(p, [1, 3, 6], 4, 100e6).level, 6);
  const none = recommendSettings(p, [1, 3, 6], 4, 700e6);
  assert.deepEqual([none.level, none.keepsUp], [1, false]);
  assert.match(none.reasons[0]!, /CPU bounds the copy/);
  const typical = recommendSettings(p, [1, 3, 6], 4, undefined);
  assert.equal(typical.basis, 'typical-hdd');
  assert.deepEqual(
    typical.typical.map((t) => [t.name, t.level]),
    [
      ['HDD', 3],
      ['SSD', 1],
    ],
  );
});

test('recommendation: one thread when more threads gave no gain', () => {
  const r = recommendSettings(rates({ 1: 300, 3: 200, 6: 80 }, { 1: 310, 3: 205, 6: 82 }, 2), [1, 3, 6], 2, 150e6);
  assert.deepEqual([r.level, r.threads], [3, 1]);
  assert.ok(r.threadGain !== null && r.threadGain < 1.1);
});

test('job estimate: bound by the drive when it absorbs less than the pipeline makes, by the CPU otherwise', () => {
  const GB = 1e9;
  const drive = estimateJob({
    bytes: 1000 * GB,
    ratio: 0.5,
    pipelineRate: 600e6,
    driveRate: 200e6,
    samples: { count: 8, bytes: 32 * MiB },
  });
  assert.equal(drive.bottleneck, 'drive');
  assert.equal(Math.round(drive.seconds), 2500); // 200 MB/s of stored bytes = 400 MB/s of staged data
  const cpu = estimateJob({
    bytes: 1000 * GB,
    ratio: 0.25,
    pipelineRate: 300e6,
    driveRate: 200e6,
    samples: { count: 8, bytes: 32 * MiB },
  });
  assert.equal(cpu.bottleneck, 'cpu');
  assert.equal(Math.round(cpu.seconds), 3333);
  const noDrive = estimateJob({
    bytes: 1000 * GB,
    ratio: 0.5,
    pipelineRate: 300e6,
    driveRate: undefined,
    samples: { count: 8, bytes: 32 * MiB },
  });
  assert.equal(noDrive.driveRate, null);
  assert.ok(noDrive.assumptions.some((a) => /no --drive/.test(a)));
});
