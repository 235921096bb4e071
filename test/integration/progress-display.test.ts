import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { NodeFileSystem } from '../../native/index.js';
import { tempDir, writeTree } from '../support/tree.js';
import { CLI, jsonLines, runSeedship, runSeedshipWith } from '../support/cli.js';
import { DriveFaultFs } from '../support/drive-fault-fs.js';
import { havePty, runInPty } from '../support/pty.js';
import { playTerminal } from '../support/screen.js';

const MiB = 1024 * 1024;
const SCHEMA = new URL('../../../docs/progress.schema.json', import.meta.url);
const SLOW_ENTRY = fileURLToPath(new URL('../support/slow-drive-entry.js', import.meta.url));

/** A live step line (`prepare copy  elapsed 3s  …`) or drive line (`  SS… /path  writing  (12% full)  …`). */
const LIVE_LINE =
  /^prepare \S+( \(.*\))? {2}elapsed |^ {2}SS\w+ \S+ {2}(waiting|writing|sealing|reading back|done|failed) {2}/;

/** Run in a pty whose terminal is 200 columns wide, so whole lines can be compared. */
function wide(argv: string[]): string[] {
  return ['sh', '-c', `stty cols 200 rows 50; exec ${argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ')}`];
}

test('on a terminal the live display shows each drive and the whole step, redraws them as the copy goes on, and leaves only the summary', async (ctx) => {
  if (!(await havePty())) return ctx.skip('needs util-linux script(1) for a pseudo-terminal');
  const t = tempDir();
  try {
    const staging = `${t.dir}/s`;
    writeTree(staging, { 'a.bin': { size: 12 * MiB, seed: 1 }, 'b.bin': { size: 12 * MiB, seed: 2 }, 'c.txt': 'c' });
    const drives = `${t.dir}/drives`;
    for (const d of ['d1', 'd2']) mkdirSync(`${drives}/${d}`, { recursive: true });
    // Each write and sync on the drives waits 400 ms: the copy lasts seconds, its lines change between redraws.
    const entry = [process.execPath, SLOW_ENTRY, drives, '400'];
    const args = [
      'prepare',
      '--staging',
      staging,
      '--job',
      'live-job',
      '--drive',
      `${drives}/d1`,
      '--drive',
      `${drives}/d2`,
      '--allow-staging-volume',
      '--codec',
      'none',
    ];
    const r = await runInPty(wide([...entry, ...args]), []);
    assert.equal(r.code, 0, r.output);

    // The drive lines as drawn, one render after another (each ends at the erase-to-end-of-line).
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal output's escapes (ESC) end a drawn line
    const renders = [...r.output.matchAll(/ {2}(SS\w+) [^\x1b\r\n]*\(\d+% full\)[^\x1b\r\n]*/g)].map((m) => m[0]);
    const ids = new Set([...r.output.matchAll(/ {2}(SS\w+) \S+ {2}writing/g)].map((m) => m[1]));
    assert.equal(ids.size, 2, 'both drives were shown being written');
    for (const id of ids) {
      const mine = new Set(renders.filter((l) => l.startsWith(`  ${id} `)));
      assert.ok(mine.size >= 2, `drive ${id}: the line was redrawn with new figures (${[...mine].join(' / ')})`);
      assert.ok(
        [...mine].some((l) => / [\d.]+ (B|KiB|MiB|GiB)\/s /.test(l)),
        `drive ${id}: an observed rate was shown`,
      );
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal output's escapes (ESC) end a drawn line
    const steps = new Set([...r.output.matchAll(/prepare copy {2}elapsed [^\x1b\r\n]*/g)].map((m) => m[0]));
    assert.ok(steps.size >= 2, 'the step line was redrawn during the copy');
    assert.match([...steps].join('\n'), /\d+\/\d+ files/);

    // What the operator sees at the end: messages, then the summary; no live line, no fragment of one.
    const screen = playTerminal(r.output);
    assert.ok(screen.cursorVisible, 'the cursor is shown again');
    const lines = screen.lines.filter((l) => l !== '');
    const summary = lines.findIndex((l) => l.startsWith('prepared job live-job'));
    assert.ok(summary >= 0, lines.join('\n'));
    for (const l of lines)
      assert.doesNotMatch(l, LIVE_LINE, `a live line was left on the screen:\n${lines.join('\n')}`);
    for (const l of lines.slice(summary))
      assert.doesNotMatch(l, /elapsed|% full\)|\[#*-*\]/, `progress after the summary:\n${lines.join('\n')}`);
    // Messages were printed above the live lines, whole, each on a line of its own.
    const notes = lines.filter((l) => l.includes('seedship: '));
    assert.ok(notes.length >= 4, lines.join('\n'));
    const whole =
      /^seedship: drive SS\w+ (sealed: |read back from its media: every block matches$)|^seedship: drive \S+ attached as SS\w+: /;
    // Before the display starts: the service check's warnings; after the summary: where the report is.
    const other =
      /^seedship: warning: (the Azure Import\/Export service could not|service check: )|^seedship: report: \S+$/;
    for (const l of notes) assert.ok(whole.test(l) || other.test(l), `a message broken by the live lines: ${l}`);
    assert.equal(notes.filter((l) => /read back from its media/.test(l)).length, 2);
  } finally {
    t.cleanup();
  }
});

test('on a terminal the live display leaves the prompt for the next drive whole and comes back after the answer', async (ctx) => {
  if (!(await havePty())) return ctx.skip('needs util-linux script(1) for a pseudo-terminal');
  const t = tempDir();
  try {
    const staging = `${t.dir}/s`;
    writeTree(staging, { 'a.bin': { size: 6 * MiB, seed: 3 }, 'b.bin': { size: 5 * MiB, seed: 4 } });
    for (const d of ['d1', 'd2']) mkdirSync(`${t.dir}/${d}`);
    const argv = [
      process.execPath,
      CLI,
      'prepare',
      '--staging',
      staging,
      '--job',
      'prompt-job',
      '--drive',
      `${t.dir}/d1`,
      '--allow-staging-volume',
      '--drive-limit',
      '8M',
      '--codec',
      'none',
    ];
    const r = await runInPty(wide(argv), [{ when: /type its mount path/, send: `${t.dir}/d2\r` }]);
    assert.equal(r.code, 0, r.output);
    const asked = r.output.indexOf('type its mount path');
    const after = r.output.slice(asked);
    assert.match(after, /prepare \S+ {2}elapsed /, 'the live display came back after the answer');
    assert.match(
      after,
      / {2}SS\w+ \S+\/d2 {2}(writing|sealing|reading back|done) {2}\(\d+% full\)/,
      'with a line for the next drive',
    );
    const lines = playTerminal(r.output).lines.filter((l) => l !== '');
    const q = lines.findIndex((l) => l.startsWith('Attach the next drive and type its mount path (empty to stop): '));
    assert.ok(q > 0, lines.join('\n'));
    assert.equal(lines[q], `Attach the next drive and type its mount path (empty to stop): ${t.dir}/d2`);
    assert.match(lines[q - 1]!, /^Drive SS\w+ is full and sealed\. .* in \d+ files remain\.$/);
    for (const l of lines) assert.doesNotMatch(l, LIVE_LINE, lines.join('\n'));
    assert.ok(lines.findIndex((l) => l.startsWith('prepared job prompt-job')) > q);
  } finally {
    t.cleanup();
  }
});

/** `1h 02m`, `3m 05s`, `45s` (formatDuration) in seconds. */
function seconds(text: string): number {
  const m = /^(?:(\d+)h (\d+)m|(\d+)m (\d+)s|(\d+)s)$/.exec(text);
  assert.ok(m, `not a duration: ${text}`);
  if (m[1] !== undefined) return Number(m[1]) * 3600 + Number(m[2]) * 60;
  if (m[3] !== undefined) return Number(m[3]) * 60 + Number(m[4]);
  return Number(m[5]);
}

test('without a terminal a long prepare prints a plain line every --progress-interval seconds and one at each phase change', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/s`;
    writeTree(staging, { 'a.bin': { size: 8 * MiB, seed: 5 }, 'b.bin': { size: 8 * MiB, seed: 6 }, 'c.txt': 'c' });
    const drive = `${t.dir}/d`;
    mkdirSync(drive);
    // A slow drive (real time: this is what the periodic lines are about): the copy takes over 30 s.
    const fs = new DriveFaultFs(new NodeFileSystem());
    fs.slowWrites(drive, 1500, { syncs: true });
    const interval = 2;
    const r = await runSeedshipWith(fs, [
      '--progress-interval',
      String(interval),
      'prepare',
      '--staging',
      staging,
      '--job',
      'slow-job',
      '--drive',
      drive,
      '--allow-staging-volume',
      '--codec',
      'none',
      '--threads',
      '1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    fs.assertAllFired();
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('seedship: prepare '));
    const parsed = lines.map((l) => {
      const m = /^seedship: prepare (\S+)(?: \((.*?)\))?: elapsed (\d+h \d+m|\d+m \d+s|\d+s), (.*)$/.exec(l);
      assert.ok(m, `not a progress line: ${l}`);
      return { phase: m[1]!, elapsed: seconds(m[3]!), rest: m[4]!, line: l };
    });
    // A phase change prints at once; every other line is a periodic one.
    const phases = parsed.filter((p, i) => i === 0 || p.phase !== parsed[i - 1]!.phase);
    const periodic = parsed.length - phases.length;
    assert.deepEqual([...new Set(phases.map((p) => p.phase))], ['scan', 'copy', 'seal', 'read-back', 'done']);
    const last = parsed[parsed.length - 1]!;
    assert.equal(last.phase, 'done');
    assert.ok(last.elapsed >= 30, `the run reports ${last.elapsed} s; it must last 30 s or more for this test`);
    // As many periodic lines as intervals in the time the lines themselves report (a tick may
    // come late under load, or the last one just before the end).
    const expected = Math.floor(last.elapsed / interval);
    assert.ok(
      periodic >= expected - 2 && periodic <= expected + 1,
      `${periodic} periodic lines in ${last.elapsed} s at ${interval} s:\n${lines.join('\n')}`,
    );
    for (let i = 1; i < parsed.length; i++)
      assert.ok(parsed[i]!.elapsed >= parsed[i - 1]!.elapsed, 'elapsed never goes back');
    // Each line: done/total, files, rate, and a part per drive.
    const copying = parsed.filter((p) => p.phase === 'copy');
    assert.ok(copying.length >= 5, lines.join('\n'));
    for (const p of copying)
      assert.match(
        p.rest,
        /^[\d.]+ (B|KiB|MiB)\/16\.0 MiB [\d.]+%, \d+\/3 files, (…|[\d.]+ (B|KiB|MiB))\/s(, ETA \S+( \S+)?)? \| SS\w+ \S+: (waiting|writing) \(\d+% full\) /,
      );
    assert.ok(
      copying.some((p) => /MiB\/s, ETA /.test(p.rest)),
      'an observed rate and ETA were shown',
    );
    assert.match(last.rest, /^16\.0 MiB\/16\.0 MiB 100\.0%, 3\/3 files, .* \| SS\w+ \S+: done /);
  } finally {
    t.cleanup();
  }
});

test('--json: every event on stderr of a prepare run validates against docs/progress.schema.json', async () => {
  const t = tempDir();
  try {
    const ajv = new Ajv({ allErrors: true, strict: true });
    const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')) as object);
    const check = (e: unknown) => assert.ok(validate(e), `${JSON.stringify(e)}: ${ajv.errorsText(validate.errors)}`);
    const staging = `${t.dir}/s`;
    writeTree(staging, {
      'a.log': { size: 6 * MiB, seed: 7, kind: 'text' },
      'b.bin': { size: 5 * MiB, seed: 8 },
      'c/d.txt': 'd',
    });
    for (const d of ['d1', 'd2']) mkdirSync(`${t.dir}/${d}`);
    // Each write to a drive waits 300 ms: samples every 0.2 s see the drives being written.
    const fs = new DriveFaultFs(new NodeFileSystem());
    for (const d of ['d1', 'd2']) fs.slowWrites(`${t.dir}/${d}`, 300);
    const args = [
      '--progress-interval',
      '0.2',
      'prepare',
      '--staging',
      staging,
      '--job',
      'json-job',
      '--drive',
      `${t.dir}/d1`,
      '--drive',
      `${t.dir}/d2`,
      '--allow-staging-volume',
      '--drive-limit',
      '8M',
      '--codec',
      'none',
      '--threads',
      '1',
      '--json',
    ];
    const r = await runSeedshipWith(fs, args);
    assert.equal(r.code, 0, r.stderr);
    const events = jsonLines(r.stderr);
    assert.equal(events.length, r.stderr.trim().split('\n').length, 'every line on stderr is a JSON event');
    for (const e of events) check(e);
    const phases = events.filter((e) => e.type === 'phase').map((e) => e.phase);
    assert.equal(phases[0], 'scan');
    assert.equal(phases[phases.length - 1], 'done');
    for (const p of ['copy', 'seal', 'read-back']) assert.ok(phases.includes(p), `phase ${p} in ${phases.join(', ')}`);
    const progress = events.filter((e) => e.type === 'progress') as unknown as {
      phase: string;
      total: { done: number; total: number; items: number };
      tracks: { key: string; state: string; used: number; capacity: number }[];
    }[];
    assert.ok(progress.length >= 3, 'progress events on the interval');
    assert.ok(events.some((e) => e.type === 'info'));
    const end = progress[progress.length - 1]!;
    const lastOfStep = events.filter((e) => e.type === 'progress' || e.type === 'phase').pop();
    assert.equal(lastOfStep?.type, 'progress', 'the last event of the step is the final sample');
    assert.ok(progress.length >= 3 && events.indexOf(lastOfStep) > events.findLastIndex((e) => e.type === 'warning'));
    assert.equal(end.phase, 'done');
    assert.equal(end.total.done, end.total.total);
    assert.equal(end.total.items, 4);
    const result = JSON.parse(r.stdout) as { drives: { driveId: string }[] };
    assert.deepEqual(end.tracks.map((d) => d.key).sort(), result.drives.map((d) => d.driveId).sort());
    for (const d of end.tracks) {
      assert.equal(d.state, 'done');
      assert.ok(d.used > 0 && d.used <= d.capacity);
    }
    assert.ok(progress.some((p) => p.tracks.some((d) => d.state === 'writing')));

    // An error ends a --json run as an event of the same schema; the schema refuses what is not one.
    const bad = await runSeedship(['prepare', '--staging', `${t.dir}/nope`, '--drive', `${t.dir}/d1`, '--json']);
    assert.equal(bad.code, 2);
    const errs = jsonLines(bad.stderr).filter((e) => e.type === 'error');
    assert.equal(errs.length, 1);
    for (const e of jsonLines(bad.stderr)) check(e);
    assert.equal(
      validate({
        type: 'progress',
        step: 'prepare',
        phase: 'copy',
        elapsedMs: 1,
        total: { key: 'total', label: 'all', unit: 'bytes', done: 1, rate: 0 },
      }),
      false,
      'a progress event without tracks is refused',
    );
    assert.equal(validate({ type: 'phase', step: 'prepare', phase: 'copy', elapsedMs: -1 }), false);
  } finally {
    t.cleanup();
  }
});
