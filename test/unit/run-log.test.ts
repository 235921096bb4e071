import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { SecretMasker } from '../../cli/shared/log-mask.js';
import { commandOf, fallbackLogDir, FileRunLog } from '../../cli/shared/run-log.js';
import { SeedshipError } from '../../core/index.js';
import { tempDir } from '../support/tree.js';

const KEY = '111111-222222-333333-444444-555555-666666-700007-699996';

test('argv: secret options are masked in both spellings, and their values everywhere after', () => {
  const m = new SecretMasker();
  const argv = m.maskArgv([
    'prepare',
    '--bitlocker-key',
    KEY,
    '--container-sas=c?sv=1&sig=abcdefgh',
    '--client-secret',
    'hunter2hunter2',
    '--drive',
    '/mnt/a',
    '--encrypt',
  ]);
  assert.deepEqual(argv, [
    'prepare',
    '--bitlocker-key',
    '***',
    '--container-sas=***',
    '--client-secret',
    '***',
    '--drive',
    '/mnt/a',
    '--encrypt',
  ]);
  assert.equal(m.maskText('wrong password hunter2hunter2 given'), 'wrong password *** given');
  // A secret option followed by another option has no value to mask.
  assert.deepEqual(new SecretMasker().maskArgv(['--sas-token', '--json']), ['--sas-token', '--json']);
});

test('text: SAS signatures, connection string keys, BitLocker passwords and bearer tokens are masked wherever they are', () => {
  const m = new SecretMasker();
  const cs =
    'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;';
  assert.deepEqual(m.maskArgv(['restore', '--connection-string', cs]), [
    'restore',
    '--connection-string',
    'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=***;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;',
  ]);
  assert.equal(
    m.maskText('BlobEndpoint=https://a.blob;SharedAccessSignature=sv=2022&sig=xyz%2B;'),
    'BlobEndpoint=https://a.blob;SharedAccessSignature=***;',
  );
  assert.equal(
    m.maskText('GET https://a.blob.core.windows.net/c?sv=2022&sig=xyz%2B&se=1 failed'),
    'GET https://a.blob.core.windows.net/c?sv=2022&sig=***&se=1 failed',
  );
  assert.equal(m.maskText(`key ${KEY} recorded`), 'key *** recorded');
  assert.equal(m.maskText('Authorization: Bearer eyJ0eXAi.eyJhdWQi.c2ln'), 'Authorization: Bearer ***');
  assert.equal(m.maskText('drive SS0001 at /mnt/a: 123456 bytes'), 'drive SS0001 at /mnt/a: 123456 bytes');
});

test('values: fields named like a secret are masked, others scrubbed, nothing else changed', () => {
  const m = new SecretMasker();
  const v = m.maskValue({
    bitlockerKey: [KEY],
    containerSas: 'c?sig=1',
    token: 'abc',
    threads: 4,
    drive: ['/mnt/a'],
    nested: { password: 'pw', note: `sig=zzz` },
    keep: true,
  });
  assert.deepEqual(v, {
    bitlockerKey: '***',
    containerSas: '***',
    token: '***',
    threads: 4,
    drive: ['/mnt/a'],
    nested: { password: '***', note: 'sig=***' },
    keep: true,
  });
});

test('the command in the file name', () => {
  assert.equal(commandOf(['prepare', '--staging', '/s']), 'prepare');
  assert.equal(commandOf(['--debug', 'job', 'create', '--session', 'x']), 'job-create');
  assert.equal(commandOf(['verify', '--drive', 'a', 'b']), 'verify');
  assert.equal(commandOf(['s:/staging', 'p:/x.publishsettings']), 'prepare');
  assert.equal(commandOf(['u:', 's:/staging']), 'job-u');
  assert.equal(commandOf(['--json']), 'seedship');
  assert.equal(commandOf(['../../etc']), 'seedship');
});

test('the fallback dir: SEEDSHIP_LOG_DIR, else XDG_STATE_HOME, else ~/.local/state', () => {
  assert.equal(fallbackLogDir({ SEEDSHIP_LOG_DIR: 'rel/logs', XDG_STATE_HOME: '/x' }, '/work'), '/work/rel/logs');
  assert.equal(fallbackLogDir({ XDG_STATE_HOME: '/state', HOME: '/home/op' }, '/work'), '/state/seedship/logs');
  assert.equal(fallbackLogDir({ HOME: '/home/op' }, '/work'), '/home/op/.local/state/seedship/logs');
});

/** A clock that moves only when told. */
function fakeClock(start: number): { now(): number; monotonic(): number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, monotonic: () => t - start, advance: (ms) => (t += ms) };
}

test('records made before attach are written at attach, in order, stamped by the injected clock', async () => {
  const t = tempDir();
  try {
    const clock = fakeClock(Date.UTC(2026, 11, 2, 14, 0, 0, 5));
    const stderr = new PassThrough();
    const log = new FileRunLog({
      deps: { clock, proc: { pid: 4242, hostname: 'box', processStartTime: async () => undefined } },
      env: { SEEDSHIP_LOG_DIR: `${t.dir}/fb` },
      cwd: t.dir,
      stderr,
    });
    log.start(['restore', '--session', 'sess', '--connection-string', 'AccountName=a;AccountKey=c2VjcmV0;']);
    clock.advance(1000);
    log.warn('early warning');
    mkdirSync(`${t.dir}/sess`);
    log.attach('sess');
    assert.equal(log.file, `${t.dir}/sess/logs/2026-12-02T14-00-00.005Z-restore.jsonl`);
    log.phase({ step: 'restore', phase: 'restore', message: undefined, elapsedMs: 10 });
    log.progress({
      step: 'restore',
      phase: 'restore',
      message: undefined,
      elapsedMs: 20,
      total: {
        key: 'total',
        label: 'all',
        unit: 'bytes',
        done: 5,
        total: 10,
        rate: 1,
        etaSeconds: 5,
        state: undefined,
        used: undefined,
        capacity: undefined,
        items: undefined,
        itemsTotal: undefined,
      },
      tracks: [],
    });
    log.debug('not written without --debug');
    log.error(new SeedshipError('E_INTEGRITY', 'chunk 3 of /x does not match'));
    clock.advance(500);
    await log.end(6);
    await log.end(7);
    const records = readFileSync(log.file!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      records.map((r) => r.msg),
      ['start', 'early warning', 'phase', 'progress', 'error', 'end'],
    );
    assert.deepEqual(records[0]!.argv, [
      'restore',
      '--session',
      'sess',
      '--connection-string',
      'AccountName=a;AccountKey=***;',
    ]);
    assert.equal(records[0]!.time, clock.now() - 1500);
    assert.equal(records[1]!.level, 'warn');
    assert.equal(records[1]!.time, clock.now() - 500);
    assert.deepEqual(records[2], {
      level: 'info',
      time: clock.now() - 500,
      step: 'restore',
      phase: 'restore',
      elapsedMs: 10,
      msg: 'phase',
    });
    assert.equal((records[3]!.progress as { total: { done: number } }).total.done, 5);
    assert.deepEqual(records[4], {
      level: 'error',
      time: clock.now() - 500,
      code: 'E_INTEGRITY',
      message: 'chunk 3 of /x does not match',
      msg: 'error',
    });
    assert.deepEqual(records[5], { level: 'info', time: clock.now(), exitCode: 6, elapsedMs: 1500, msg: 'end' });
    assert.deepEqual(readdirSync(t.dir).sort(), ['sess'], 'nothing in the fallback dir');
    assert.equal(stderr.read(), null, 'nothing said on stderr');

    // A second run started in the same millisecond gets a file of its own.
    const again = new FileRunLog({
      deps: {
        clock: fakeClock(Date.UTC(2026, 11, 2, 14, 0, 0, 5)),
        proc: { pid: 4343, hostname: 'box', processStartTime: async () => undefined },
      },
      env: {},
      cwd: t.dir,
      stderr,
    });
    again.start(['restore', '--session', 'sess']);
    again.attach(`${t.dir}/sess`);
    await again.end(0);
    assert.equal(again.file, `${t.dir}/sess/logs/2026-12-02T14-00-00.005Z-restore-4343.jsonl`);
  } finally {
    t.cleanup();
  }
});
