import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { report } from '../../core/index.js';
import { throughputOf } from '../../core/report/throughput.js';
import { renderThroughputChart } from '../../core/report/report-chart.js';
import type { DriveSample } from '../../core/report/run-logs.js';
import { makeNodeDeps } from '../../native/index.js';
import { runSeedship } from '../support/cli.js';
import { tempDir, writeTree } from '../support/tree.js';
import { writeRunLog } from '../support/run-log-lines.js';

const HOSTILE = `<script>alert("x")</script> & 'q' <img src=x onerror=alert(1)>\u0007\u001b[31m`;

function dataWith(overrides: Partial<report.ReportData>): report.ReportData {
  return {
    sessionDir: '/s/<dir>',
    generatedAt: Date.UTC(2026, 11, 2, 15, 0, 0),
    version: '0.1.0',
    settings: {
      format: 1,
      job: 'j<1>',
      jobId: '00'.repeat(16),
      container: 'c',
      staging: '/st',
      codec: 'zstd',
      level: 3,
      blobType: 'block',
      encrypt: false,
      disposition: 'rename',
      serviceStrict: false,
      chunkBytes: 4 << 20,
      containerSas: undefined,
      createdAt: 0,
    },
    state: { runs: 1, done: true, filesDone: 3, filesSkipped: 1, rawBytes: 10, storedBytes: 5 },
    job: { record: undefined, shipping: undefined },
    drives: [],
    throughput: { series: [], boundaries: [], spanMs: 0 },
    skipped: { file: undefined, rows: [], count: 0 },
    renamed: { file: undefined, rows: [], count: 0 },
    problems: { file: undefined, rows: [], count: 0 },
    warnings: [],
    runs: [],
    notes: [],
    ...overrides,
  };
}

function sample(board: number, elapsedMs: number, done: number): DriveSample {
  return { time: 1e12 + elapsedMs, elapsedMs, done, board, step: 'prepare', state: 'writing' };
}

test('the page escapes every name: no markup from a file name reaches the HTML', () => {
  const html = report.renderReportHtml(
    dataWith({
      drives: [
        {
          seq: 0,
          driveId: 'SS"1<',
          path: HOSTILE,
          status: 'sealed',
          usedBytes: 1,
          budgetBytes: 2,
          roomBytes: 1,
          storedBytes: 1,
          rawBytes: 1,
          blobs: 1,
          manifestHash: 'ab',
          readBack: 'ok',
          verify: undefined,
        },
      ],
      skipped: { file: '/s/skipped.txt', rows: [{ path: HOSTILE, reason: 'unreadable <EACCES>' }], count: 1 },
      renamed: {
        file: '/s/names.txt',
        rows: [{ what: 'mapped', path: `a\nb${HOSTILE}`, drivePath: 'x', blobName: '&amp;' }],
        count: 1,
      },
      warnings: [{ time: 0, level: 'warning', command: 'prepare', message: HOSTILE }],
      runs: [
        {
          file: '<f>.jsonl',
          command: 'prepare',
          argv: ['--staging', HOSTILE],
          version: '1',
          startedAt: 0,
          endedAt: 1,
          exitCode: 0,
          warnings: 1,
          errors: 0,
          badLines: 0,
        },
      ],
      notes: [HOSTILE],
    }),
  );
  assert.ok(!/<script/i.test(html), 'no script element');
  assert.ok(!/<img/i.test(html), 'no img element');
  assert.ok(!html.includes('onerror=alert(1)>'), 'no live attribute');
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;'));
  assert.ok(html.includes('\\x07\\x1b[31m'), 'control characters shown, not passed through');
  assert.ok(html.includes('a\\nb&lt;script&gt;'), 'a newline in a name is shown');
  assert.ok(html.includes('&amp;amp;'), 'an entity-looking name stays text');
  assert.ok(html.includes('id="drive-SS&quot;1&lt;"'));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for raw control characters in the page
  assert.ok(!/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(html), 'no raw control character in the page');
});

test('throughput: rate between consecutive samples; a new step breaks the line', () => {
  const samples = new Map<string, DriveSample[]>([
    [
      'A',
      [
        sample(0, 0, 0),
        sample(0, 10_000, 1_000_000_000),
        sample(0, 20_000, 1_500_000_000),
        sample(1, 0, 0),
        sample(1, 10_000, 200_000_000),
      ],
    ],
    ['B', [sample(0, 0, 0), sample(0, 10_000, 100_000_000)]],
  ]);
  const t = throughputOf(samples, new Map());
  const a = t.series.find((s) => s.key === 'A')!;
  assert.equal(a.segments.length, 2);
  assert.deepEqual(
    a.segments[0]!.map((p) => p.bytesPerSecond),
    [100e6, 50e6],
  );
  // The second step is laid after the first (20 s long).
  assert.deepEqual(
    a.segments[1]!.map((p) => [p.t, p.bytesPerSecond]),
    [[30_000, 20e6]],
  );
  assert.deepEqual(t.boundaries, [{ t: 20_000, step: 'prepare' }]);
  assert.equal(t.spanMs, 30_000);
  const b = t.series.find((s) => s.key === 'B')!;
  assert.deepEqual(
    b.segments[0]!.map((p) => p.bytesPerSecond),
    [10e6],
  );
});

test('the chart has one series path per drive, each named by its drive', () => {
  const samples = new Map<string, DriveSample[]>();
  for (const id of ['SS1', 'SS2', 'SS3'])
    samples.set(id, [sample(0, 0, 0), sample(0, 10_000, 5e8), sample(0, 20_000, 9e8)]);
  samples.set('SS4', []);
  const svg = renderThroughputChart(throughputOf(samples, new Map()));
  const paths = [...svg.matchAll(/<path class="series" data-drive="([^"]*)"[^>]*d="([^"]*)"/g)];
  assert.deepEqual(
    paths.map((m) => m[1]),
    ['SS1', 'SS2', 'SS3', 'SS4'],
  );
  for (const m of paths.slice(0, 3)) assert.match(m[2]!, /^M[\d.]+ [\d.]+ L[\d.]+ [\d.]+$/);
  assert.equal(paths[3]![2], '', 'a drive without samples still has its (empty) line');
});

test('a long run is thinned to at most CHART_MAX_POINTS points a line', () => {
  const list: DriveSample[] = [];
  for (let i = 0; i <= 6000; i++) list.push(sample(0, i * 10_000, i * 1e9));
  const svg = renderThroughputChart(throughputOf(new Map([['SS1', list]]), new Map()));
  const d = /d="([^"]*)"/.exec(svg.slice(svg.indexOf('class="series"')))![1]!;
  const points = d.split(/[ML]/).filter((x) => x.trim() !== '').length;
  assert.ok(points <= 600 && points >= 500, `${points} points`);
});

/** A real session: prepare of a small tree with awkward names onto two drives. */
async function preparedSession(dir: string): Promise<string> {
  const staging = `${dir}/staging`;
  writeTree(staging, { 'a/big.bin': { size: 3 << 20, seed: 1 }, 'a/con': 'x', 'a/<b>&"q.txt': 'y' });
  mkdirSync(`${dir}/d1`);
  mkdirSync(`${dir}/d2`);
  const r = await runSeedship([
    'prepare',
    '--staging',
    staging,
    '--job',
    'rep',
    '--drive',
    `${dir}/d1`,
    '--drive',
    `${dir}/d2`,
    '--allow-staging-volume',
  ]);
  assert.equal(r.code, 0, r.stderr);
  return `${staging}/.seedship/rep`;
}

test('missing or damaged run logs give a page with a note, not a failure', async () => {
  const t = tempDir();
  try {
    const session = await preparedSession(t.dir);
    const deps = makeNodeDeps();
    rmSync(`${session}/logs`, { recursive: true, force: true });
    let data = await report.gatherReport(deps.fs, deps.clock, session, { version: 'test' });
    assert.ok(
      data.notes.some((n) => n.includes('no run logs')),
      data.notes.join('\n'),
    );
    assert.equal(data.drives.length, 2);
    assert.match(report.renderReportHtml(data), /id="notes"/);

    const start = Date.UTC(2026, 0, 1);
    const drives = data.drives.map((d) => ({ id: d.driveId, label: d.driveId, rate: () => 50e6 }));
    // A killed run: its last line torn in the middle, a line of binary junk before it.
    writeRunLog(
      session,
      { command: 'prepare', argv: ['prepare'], start, drives, samples: 5, intervalMs: 10_000 },
      '\u0000\u00ff garbage\n{"level":30,"time":1,"msg":"progr',
    );
    mkdirSync(`${session}/logs/not-a-file.jsonl`);
    writeFileSync(`${session}/logs/2026-01-02-verify.jsonl`, Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x7b]));
    data = await report.gatherReport(deps.fs, deps.clock, session, { version: 'test' });
    assert.equal(data.runs.length, 2);
    const killed = data.runs.find((r) => r.command === 'prepare')!;
    assert.equal(killed.exitCode, undefined);
    assert.equal(killed.badLines, 2);
    assert.ok(
      data.notes.some((n) => n.includes('2 line(s) are not JSON records')),
      data.notes.join('\n'),
    );
    for (const s of data.throughput.series)
      assert.deepEqual(
        s.segments.flat().map((p) => p.bytesPerSecond),
        [50e6, 50e6, 50e6, 50e6, 50e6],
      );
    const html = report.renderReportHtml(data);
    assert.match(html, /no end \(running or killed\)/);
  } finally {
    t.cleanup();
  }
});

test('the report of a real session: drives, read-back, verify runs, renamed names, warnings', async () => {
  const t = tempDir();
  try {
    const session = await preparedSession(t.dir);
    const r = await runSeedship(['report', '--session', session, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { file: string; report: report.ReportData };
    assert.equal(out.file, `${session}/report.html`);
    const data = out.report;
    assert.deepEqual(
      data.drives.map((d) => [d.status, d.readBack, d.verify]),
      [
        ['sealed', 'ok', undefined],
        ['sealed', 'ok', undefined],
      ],
    );
    assert.ok(data.drives.every((d) => d.blobs > 0 || d.storedBytes === 0));
    assert.ok(
      data.renamed.rows.some((x) => x.path === 'a/<b>&"q.txt' && x.what.includes('mapped')),
      JSON.stringify(data.renamed),
    );
    assert.equal(data.state?.done, true);

    const d0 = data.drives[0]!;
    writeRunLog(session, {
      command: 'verify',
      argv: ['verify', '--drive', d0.path, '--session', session],
      start: Date.UTC(2026, 0, 3),
      drives: [],
      samples: 0,
      intervalMs: 1,
      exitCode: 6,
      warnings: ['drive has a <bad> block'],
    });
    const again = await runSeedship(['report', '--session', session, '--out', `${t.dir}/r.html`]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /report of job rep: 2 drive\(s\)/);
    const html = readFileSync(`${t.dir}/r.html`, 'utf8');
    assert.match(html, new RegExp(`id="drive-${d0.driveId}"[^]*?failed \\(exit 6\\)`));
    assert.match(html, /drive has a &lt;bad&gt; block/);
    assert.match(html, /a\/&lt;b&gt;&amp;&quot;q\.txt/);
  } finally {
    t.cleanup();
  }
});

test('report refuses a dir that is no session, with exit 2', async () => {
  const t = tempDir();
  try {
    const r = await runSeedship(['report', '--session', t.dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is not a seedship session dir/);
  } finally {
    t.cleanup();
  }
});

test('run logs: pino errors and warnings, ISO times, a run without an end', async () => {
  const t = tempDir();
  try {
    mkdirSync(`${t.dir}/logs`);
    const lines = [
      { level: 30, time: '2026-01-01T10:00:00.000Z', msg: 'start', argv: ['verify', '--drive', '/mnt/a'] },
      { level: 40, time: '2026-01-01T10:00:01.000Z', msg: 'drive <x> is slow' },
      {
        level: 50,
        time: 1767261602000,
        msg: 'error',
        err: { type: 'SeedshipError', message: 'block 3 differs', stack: 'at …' },
      },
      {
        level: 30,
        time: 1767261603000,
        msg: 'progress',
        progress: {
          step: 'verify',
          phase: 'read',
          elapsedMs: 0,
          tracks: [{ key: 'drive-SS1', label: 'SS1 /mnt/a', unit: 'bytes', done: 0 }],
        },
      },
      {
        level: 30,
        time: 1767261613000,
        msg: 'progress',
        progress: {
          step: 'verify',
          phase: 'read',
          elapsedMs: 10_000,
          tracks: [
            { key: 'drive-SS1', label: 'SS1 /mnt/a', unit: 'bytes', done: 3e8 },
            { key: 'x', unit: 'files', done: 9 },
          ],
        },
      },
    ];
    writeFileSync(`${t.dir}/logs/run-verify.jsonl`, lines.map((l) => JSON.stringify(l)).join('\n'));
    const { readRunLogs } = await import('../../core/report/run-logs.js');
    const logs = await readRunLogs(makeNodeDeps().fs, `${t.dir}/logs`);
    assert.deepEqual(logs.notes, []);
    const run = logs.runs[0]!;
    assert.deepEqual(
      [run.command, run.startedAt, run.endedAt, run.exitCode, run.warnings, run.errors],
      ['verify', Date.parse('2026-01-01T10:00:00Z'), 1767261613000, undefined, 1, 1],
    );
    assert.deepEqual(
      logs.warnings.map((w) => [w.level, w.message]),
      [
        ['warning', 'drive <x> is slow'],
        ['error', 'error: block 3 differs'],
      ],
    );
    assert.deepEqual([...logs.samples.keys()], ['drive-SS1'], 'only byte tracks');
    const tp = throughputOf(logs.samples, logs.labels);
    assert.deepEqual(
      tp.series[0]!.segments[0]!.map((p) => p.bytesPerSecond),
      [3e7],
    );
  } finally {
    t.cleanup();
  }
});
