import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { SEEDSHIP_VERSION } from '../../core/index.js';
import { CLI, jsonLines, runSeedship } from '../support/cli.js';
import { havePty, runInPty } from '../support/pty.js';
import { tempDir, writeTree } from '../support/tree.js';

const MiB = 1024 * 1024;
/** A BitLocker numerical password that passes the format check (8 groups, each a multiple of 11). */
const BITLOCKER_KEY = '111111-222222-333333-444444-555555-666666-700007-699996';
const SAS_SIG = 'c2VjcmV0LXNpZ25hdHVyZS1ub3QtZm9yLWxvZ3M%3D';
const SAS = `backups?sv=2022-11-02&sr=c&sp=rw&sig=${SAS_SIG}`;

type LogRecord = Record<string, unknown>;

function logFiles(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.jsonl'))
        .map((f) => `${dir}/${f}`)
    : [];
}

/** Every line of a run log parsed; a line that is not JSON fails the test. */
function readLog(file: string): { text: string; records: LogRecord[] } {
  const text = readFileSync(file, 'utf8');
  assert.ok(text.endsWith('\n'), 'the last record is a whole line');
  const records = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as LogRecord);
  for (const r of records) {
    assert.equal(typeof r.time, 'number', JSON.stringify(r));
    assert.ok(['debug', 'info', 'warn', 'error'].includes(r.level as string), JSON.stringify(r));
  }
  return { text, records };
}

function onlyLog(dir: string, command: string): { file: string; text: string; records: LogRecord[] } {
  const files = logFiles(dir);
  assert.equal(files.length, 1, `one log file in ${dir}: ${files.join(', ')}`);
  const file = files[0]!;
  assert.match(file, new RegExp(`/\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d\\.\\d{3}Z-${command}(-\\d+)?\\.jsonl$`));
  return { file, ...readLog(file) };
}

test('prepare leaves one log in the session dir: start with the keys masked, every phase, the end with its exit code', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, { 'a.bin': { size: 300_000, seed: 1 }, 'docs/b.txt': { size: 5000, seed: 2, kind: 'text' } });
    mkdirSync(`${t.dir}/d1`);
    const fallback = `${t.dir}/fallback`;
    const r = await runSeedship(
      [
        'prepare',
        '--staging',
        staging,
        '--job',
        'logjob',
        '--drive',
        `${t.dir}/d1`,
        '--allow-staging-volume',
        '--bitlocker-key',
        BITLOCKER_KEY,
        `--container-sas=${SAS}`,
        '--yes',
      ],
      { env: { SEEDSHIP_LOG_DIR: fallback } },
    );
    assert.equal(r.code, 0, r.stderr);
    const session = `${staging}/.seedship/logjob`;
    const { text, records } = onlyLog(`${session}/logs`, 'prepare');
    assert.deepEqual(logFiles(fallback), [], 'nothing in the fallback dir');

    for (const secret of [BITLOCKER_KEY, SAS_SIG, SAS, '111111-222222'])
      assert.ok(!text.includes(secret), `${secret} is not in the log`);
    const start = records[0]!;
    assert.equal(start.msg, 'start');
    const argv = start.argv as string[];
    assert.equal(argv[argv.indexOf('--bitlocker-key') + 1], '***');
    assert.ok(argv.includes('--container-sas=***'), argv.join(' '));
    assert.ok(argv.includes(staging), 'the rest of the command line is kept');
    assert.equal(start.version, SEEDSHIP_VERSION);
    assert.equal(start.command, 'prepare');
    assert.equal(start.node, process.version);
    assert.equal(typeof start.pid, 'number');
    assert.equal(typeof start.host, 'string');
    assert.ok(!Number.isNaN(Date.parse(start.startedAt as string)));

    const phases = records.filter((x) => x.msg === 'phase');
    assert.ok(phases.length >= 3, `phases: ${JSON.stringify(phases)}`);
    for (const p of phases) {
      assert.equal(p.step, 'prepare');
      assert.equal(typeof p.phase, 'string');
      assert.equal(typeof p.elapsedMs, 'number');
    }
    assert.ok(
      phases.some((p) => p.phase === 'copy'),
      'the copy phase is there',
    );
    assert.ok(!records.some((x) => x.level === 'debug'), 'no debug records without --debug');

    const end = records.at(-1)!;
    assert.equal(end.msg, 'end');
    assert.equal(end.exitCode, 0);
    assert.equal(typeof end.elapsedMs, 'number');
    assert.equal(records.filter((x) => x.msg === 'end').length, 1);
    const times = records.map((x) => x.time as number);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
      'records in the order they were made',
    );

    // A second run (here: verify with --session) adds its own file beside the first.
    const v = await runSeedship(['verify', '--drive', `${t.dir}/d1`, '--session', session], {
      env: { SEEDSHIP_LOG_DIR: fallback },
    });
    assert.equal(v.code, 0, v.stderr);
    const files = logFiles(`${session}/logs`);
    assert.equal(files.length, 2);
    const verifyLog = readLog(files.find((f) => f.endsWith('-verify.jsonl'))!).records;
    assert.equal(verifyLog.at(-1)!.exitCode, 0);
    assert.deepEqual(logFiles(fallback), []);
  } finally {
    t.cleanup();
  }
});

test('a run that fails before it knows a session logs its error and exit code in SEEDSHIP_LOG_DIR', async () => {
  const t = tempDir();
  try {
    const fallback = `${t.dir}/logs/nested`;
    const r = await runSeedship(['verify', '--drive', `${t.dir}/no-such-drive`], {
      env: { SEEDSHIP_LOG_DIR: fallback },
    });
    assert.equal(r.code, 2, r.stderr);
    const { records } = onlyLog(fallback, 'verify');
    const error = records.find((x) => x.msg === 'error')!;
    assert.equal(error.level, 'error');
    assert.equal(error.code, 'E_USAGE');
    assert.match(error.message as string, /no-such-drive does not exist/);
    assert.equal(error.stack, undefined, 'no stack without --debug');
    assert.deepEqual(records.at(-1), { ...records.at(-1), msg: 'end', exitCode: 2 });

    // A usage error commander finds (a missing required option) is logged the same way.
    const u = await runSeedship(['prepare', '--drive', `${t.dir}/d1`], { env: { SEEDSHIP_LOG_DIR: `${t.dir}/usage` } });
    assert.equal(u.code, 2);
    const ul = onlyLog(`${t.dir}/usage`, 'prepare').records;
    assert.equal(ul.find((x) => x.msg === 'error')?.code, 'E_USAGE');
    assert.match(ul.find((x) => x.msg === 'error')?.message as string, /--staging/);
    assert.equal(ul.at(-1)!.exitCode, 2);

    // Help leaves no log.
    const h = await runSeedship(['prepare', '--help'], { env: { SEEDSHIP_LOG_DIR: `${t.dir}/help` } });
    assert.equal(h.code, 0);
    assert.deepEqual(logFiles(`${t.dir}/help`), []);
  } finally {
    t.cleanup();
  }
});

test('--debug adds debug records: the options as parsed (keys masked) and the stack of an error', async () => {
  const t = tempDir();
  try {
    const args = ['verify', '--drive', `${t.dir}/no-such-drive`, '--session', `${t.dir}/no-session`];
    const plain = await runSeedship(args, { env: { SEEDSHIP_LOG_DIR: `${t.dir}/plain` } });
    const debug = await runSeedship(['--debug', ...args], { env: { SEEDSHIP_LOG_DIR: `${t.dir}/debug` } });
    assert.equal(plain.code, 2);
    assert.equal(debug.code, 2);
    assert.ok(!existsSync(`${t.dir}/no-session`), 'the log never creates a session dir');
    const p = onlyLog(`${t.dir}/plain`, 'verify').records;
    const d = onlyLog(`${t.dir}/debug`, 'verify').records;
    assert.ok(!p.some((x) => x.level === 'debug'));
    const options = d.find((x) => x.level === 'debug' && x.msg === 'options');
    assert.ok(options, JSON.stringify(d));
    assert.equal(options.command, 'verify');
    assert.deepEqual((options.options as { drive: string[] }).drive, [`${t.dir}/no-such-drive`]);
    assert.match(d.find((x) => x.msg === 'error')?.stack as string, /SeedshipError/);
    assert.match(debug.stderr, /run log: .*-verify\.jsonl/);

    // The options record masks what is named like a key.
    const k = await runSeedship(
      [
        '--debug',
        'prepare',
        '--staging',
        `${t.dir}/no-staging`,
        '--drive',
        `${t.dir}/d`,
        '--bitlocker-key',
        BITLOCKER_KEY,
      ],
      { env: { SEEDSHIP_LOG_DIR: `${t.dir}/keys` } },
    );
    assert.equal(k.code, 2);
    const kl = onlyLog(`${t.dir}/keys`, 'prepare');
    assert.ok(!kl.text.includes(BITLOCKER_KEY));
    assert.equal(
      (kl.records.find((x) => x.msg === 'options')?.options as { bitlockerKey: unknown } | undefined)?.bitlockerKey,
      '***',
    );
  } finally {
    t.cleanup();
  }
});

test('a log dir that cannot be made costs one warning line; the command still succeeds', async () => {
  const t = tempDir();
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, { 'a.bin': { size: 100_000, seed: 3 } });
    mkdirSync(`${t.dir}/d1`);
    const blocker = `${t.dir}/not-a-dir`;
    writeFileSync(blocker, 'a file where the log dir would go\n');

    // No session dir and no fallback: verify works and says once that there is no log.
    const ok = await runSeedship([
      'prepare',
      '--staging',
      staging,
      '--job',
      'jjj',
      '--drive',
      `${t.dir}/d1`,
      '--allow-staging-volume',
      '--yes',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const v = await runSeedship(['verify', '--drive', `${t.dir}/d1`], { env: { SEEDSHIP_LOG_DIR: `${blocker}/logs` } });
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /OK/);
    const warnings = v.stderr.split('\n').filter((l) => /run log/.test(l));
    assert.equal(warnings.length, 1, v.stderr);
    assert.match(
      warnings[0]!,
      /^seedship: warning: cannot write the run log in .*not-a-dir\/logs \(ENOTDIR\); the command goes on without it$/,
    );

    // With --json the warning is a JSON line too.
    const vj = await runSeedship(['verify', '--drive', `${t.dir}/d1`, '--json'], {
      env: { SEEDSHIP_LOG_DIR: `${blocker}/logs` },
    });
    assert.equal(vj.code, 0, vj.stderr);
    assert.equal(JSON.parse(vj.stdout).ok, true);
    const logWarnings = jsonLines(vj.stderr).filter((e) => /run log/.test(String(e.message)));
    assert.equal(logWarnings.length, 1, vj.stderr);
    assert.equal(logWarnings[0]!.type, 'warning');
    assert.match(logWarnings[0]!.message as string, /cannot write the run log/);

    // The session's logs dir cannot be made: the log goes to the fallback dir, with a warning saying so.
    const session = `${staging}/.seedship/jjj`;
    rmSync(`${session}/logs`, { recursive: true, force: true });
    writeFileSync(`${session}/logs`, 'in the way\n');
    const again = await runSeedship(
      ['prepare', '--staging', staging, '--job', 'jjj', '--drive', `${t.dir}/d1`, '--allow-staging-volume', '--yes'],
      { env: { SEEDSHIP_LOG_DIR: `${t.dir}/fallback` } },
    );
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stderr,
      /warning: cannot write the run log in .*\/jjj\/logs \(ENOTDIR\); it is in .*fallback.* instead/,
    );
    const { records } = onlyLog(`${t.dir}/fallback`, 'prepare');
    assert.equal(records.at(-1)!.exitCode, 0);
    assert.ok(
      records.some((x) => x.msg === 'phase'),
      'the records made before the failure are there',
    );
  } finally {
    t.cleanup();
  }
});

test('after Ctrl-C the log ends with the exit code the process returned', async (ctx) => {
  if (!(await havePty())) return ctx.skip('needs util-linux script(1) for a pseudo-terminal');
  const t = tempDir();
  try {
    const staging = `${t.dir}/s`;
    writeTree(staging, { 'a.bin': { size: 6 * MiB, seed: 1 }, 'b.bin': { size: 5 * MiB, seed: 2 } });
    mkdirSync(`${t.dir}/d1`);
    const logs = `${staging}/.seedship/int-job/logs`;
    // The prompt for the next drive waits for the operator: a fixed point to interrupt at.
    const r = await runInPty(
      [
        process.execPath,
        CLI,
        'prepare',
        '--staging',
        staging,
        '--job',
        'int-job',
        '--drive',
        `${t.dir}/d1`,
        '--allow-staging-volume',
        '--drive-limit',
        '7M',
        '--codec',
        'none',
      ],
      [
        {
          when: /type its mount path/,
          before: () => {
            const start = readLog(logFiles(logs)[0]!).records[0]!;
            process.kill(start.pid as number, 'SIGINT');
          },
          send: '',
        },
      ],
      { SEEDSHIP_LOG_DIR: `${t.dir}/fallback` },
    );
    assert.notEqual(r.code, 0, r.output);
    const { records } = onlyLog(logs, 'prepare');
    assert.ok(
      records.some((x) => x.level === 'warn' && x.msg === 'received SIGINT'),
      JSON.stringify(records),
    );
    const end = records.at(-1)!;
    assert.equal(end.msg, 'end');
    assert.equal(end.exitCode, r.code);
  } finally {
    t.cleanup();
  }
});
