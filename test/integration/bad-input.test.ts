import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
  existsSync,
  symlinkSync,
  truncateSync,
} from 'node:fs';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { tempDir, writeTree } from '../support/tree.js';
import { runSeedship, CLI, withoutFileCapabilities } from '../support/cli.js';

const MiB = 1024 * 1024;

function args(staging: string, drives: string[], extra: string[] = []): string[] {
  return [
    'prepare',
    '--staging',
    staging,
    '--job',
    'bad-input',
    ...drives.flatMap((d) => ['--drive', d]),
    '--allow-staging-volume',
    ...extra,
  ];
}

test('output piped into a reader that closes early (| head) ends quietly, without a stack', () => {
  // `true` exits before node has started, so every write of the help text meets a closed pipe.
  const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${CLI}" verify --help | true`], {
    encoding: 'utf8',
  });
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  const head = execFileSync('sh', ['-c', `"${process.execPath}" "${CLI}" verify --help | head -c 20`], {
    encoding: 'utf8',
  });
  assert.equal(head, 'Usage: seedship veri');
});

test('staging that does not exist: exit 2 naming it', async () => {
  const t = tempDir();
  try {
    mkdirSync(`${t.dir}/d`);
    const r = await runSeedship(args(`${t.dir}/nope`, [`${t.dir}/d`]));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /staging .*nope does not exist/);
  } finally {
    t.cleanup();
  }
});

test('usage errors name the flag: no drive, bad level, page blobs with zstd, bad container', async () => {
  const t = tempDir();
  try {
    writeTree(`${t.dir}/s`, { a: 'a' });
    mkdirSync(`${t.dir}/d`);
    let r = await runSeedship(['prepare', '--staging', `${t.dir}/s`, '--job', 'bad-input']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--drive/);
    r = await runSeedship(args(`${t.dir}/s`, [`${t.dir}/d`], ['--level', '42']));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--level/);
    r = await runSeedship(args(`${t.dir}/s`, [`${t.dir}/d`], ['--blob-type', 'page']));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--codec none/);
    r = await runSeedship(args(`${t.dir}/s`, [`${t.dir}/d`], ['--container', 'Bad_Name']));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--container/);
    assert.ok(!existsSync(`${t.dir}/d/seedship`), 'nothing was written to the drive');
  } finally {
    t.cleanup();
  }
});

test('a drive on the staging volume is refused without --allow-staging-volume', async () => {
  const t = tempDir();
  try {
    writeTree(`${t.dir}/s`, { a: 'a' });
    mkdirSync(`${t.dir}/d`);
    const r = await runSeedship(['prepare', '--staging', `${t.dir}/s`, '--job', 'bad-input', '--drive', `${t.dir}/d`]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /staging volume/);
    mkdirSync(`${t.dir}/s/sub`);
    const inside = await runSeedship(args(`${t.dir}/s`, [`${t.dir}/s/sub`]));
    assert.equal(inside.code, 2);
    assert.match(inside.stderr, /overlaps the staging directory/);
  } finally {
    t.cleanup();
  }
});

test('a drive of another job is refused and left untouched', async () => {
  const t = tempDir();
  try {
    writeTree(`${t.dir}/s1`, { a: 'first job' });
    writeTree(`${t.dir}/s2`, { b: 'second job' });
    mkdirSync(`${t.dir}/d`);
    const r1 = await runSeedship([
      'prepare',
      '--staging',
      `${t.dir}/s1`,
      '--job',
      'job-one',
      '--drive',
      `${t.dir}/d`,
      '--allow-staging-volume',
    ]);
    assert.equal(r1.code, 0, r1.stderr);
    const before = readFileSync(`${t.dir}/d/DriveManifest.xml`);
    const r2 = await runSeedship([
      'prepare',
      '--staging',
      `${t.dir}/s2`,
      '--job',
      'job-two',
      '--drive',
      `${t.dir}/d`,
      '--allow-staging-volume',
    ]);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /belongs to job job-one/);
    assert.ok(readFileSync(`${t.dir}/d/DriveManifest.xml`).equals(before));
  } finally {
    t.cleanup();
  }
});

test('names NTFS or a blob cannot carry are mapped or escaped, never refused, listed in names.txt, and restore exactly', async () => {
  const t = tempDir();
  try {
    writeTree(`${t.dir}/s`, {
      'ok.txt': 'fine',
      'bad\nname.txt': 'newline',
      'a:b.txt': 'colon',
      'aux.txt': 'device',
      'notes.': 'dot',
      'Index.html': 'upper',
      'index.html': 'lower',
      'dir/x': 'y',
    });
    mkdirSync(`${t.dir}/d`);
    const r = await runSeedship(args(`${t.dir}/s`, [`${t.dir}/d`], ['--json']));
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { names: { mapped: number; escaped: number; file: string } };
    assert.deepEqual(
      [res.names.mapped, res.names.escaped],
      [4, 1],
      'bad\\nname, a:b, aux, index (notes. becomes notes..zst, which NTFS keeps)',
    );
    const listed = readFileSync(res.names.file, 'utf8');
    assert.match(
      listed,
      /^mapped,escaped\t"bad\\nname\.txt"\t"bad_name~[0-9a-f]{8}\.txt\.zst"\t"bad%0Aname\.txt~[0-9a-f]{12}\.zst"$/m,
    );
    assert.match(listed, /^mapped\t"index\.html"\t"index~[0-9a-f]{8}\.html\.zst"\t""$/m);
    const manifest = readFileSync(`${t.dir}/d/DriveManifest.xml`, 'utf8');
    assert.match(
      manifest,
      /<BlobPath>bad-input\/a:b\.txt\.zst<\/BlobPath>\s*<FilePath>\\bad-input\\a_b~[0-9a-f]{8}\.txt\.zst<\/FilePath>/,
    );
    assert.match(manifest, /<BlobPath>bad-input\/notes\.\.zst<\/BlobPath>/);
    const out = `${t.dir}/out`;
    const rr = await runSeedship([
      'restore',
      '--drive',
      `${t.dir}/d`,
      '--session',
      `${t.dir}/s/.seedship/bad-input`,
      '--to',
      out,
    ]);
    assert.equal(rr.code, 0, rr.stderr);
    for (const n of ['ok.txt', 'bad\nname.txt', 'a:b.txt', 'aux.txt', 'notes.', 'Index.html', 'index.html', 'dir/x']) {
      assert.equal(readFileSync(`${out}/${n}`, 'utf8'), readFileSync(`${t.dir}/s/${n}`, 'utf8'), n);
    }
  } finally {
    t.cleanup();
  }
});

test('symlinks and FIFOs are recorded as what they are, never followed, and restored as such', async () => {
  const t = tempDir();
  try {
    writeTree(`${t.dir}/s`, { 'real.txt': 'data' });
    writeTree(`${t.dir}/outside`, { 'secret.txt': 'outside staging' });
    symlinkSync(`${t.dir}/outside`, `${t.dir}/s/link-out`);
    execFileSync('mkfifo', [`${t.dir}/s/pipe`]);
    mkdirSync(`${t.dir}/d`);
    const r = await runSeedship(args(`${t.dir}/s`, [`${t.dir}/d`]));
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(`${t.dir}/s/.seedship/bad-input/skipped.txt`), 'nothing skipped');
    assert.ok(!existsSync(`${t.dir}/d/bad-input/link-out/secret.txt`), 'the link was not followed');
    assert.equal(
      readFileSync(`${t.dir}/d/bad-input/link-out`, 'utf8'),
      `${t.dir}/outside`,
      'a symlink blob holds its target',
    );
    assert.ok(existsSync(`${t.dir}/d/bad-input/real.txt.zst`));
    const out = `${t.dir}/out`;
    const rr = await runSeedship([
      'restore',
      '--drive',
      `${t.dir}/d`,
      '--session',
      `${t.dir}/s/.seedship/bad-input`,
      '--to',
      out,
    ]);
    assert.equal(rr.code, 0, rr.stderr);
    assert.equal(readlinkSync(`${out}/link-out`), `${t.dir}/outside`);
    assert.ok(lstatSync(`${out}/pipe`).isFIFO());
  } finally {
    t.cleanup();
  }
});

test('an unreadable file is skipped and listed (exit 3); the rest is copied', async (ctx) => {
  if (process.getuid?.() !== 0) {
    ctx.skip('needs root to run the CLI without the capabilities that read every file (setpriv)');
    return;
  }
  const t = tempDir();
  try {
    chmodSync(t.dir, 0o777);
    writeTree(`${t.dir}/s`, { 'ok.txt': 'fine', 'locked.txt': 'no access' });
    chmodSync(`${t.dir}/s`, 0o777);
    chmodSync(`${t.dir}/s/ok.txt`, 0o644);
    chmodSync(`${t.dir}/s/locked.txt`, 0o000);
    mkdirSync(`${t.dir}/d`, { mode: 0o777 });
    chmodSync(`${t.dir}/d`, 0o777);
    const [cmd, argv] = withoutFileCapabilities(args(`${t.dir}/s`, [`${t.dir}/d`]));
    const out = execFileSync(cmd, argv, {
      env: { ...process.env, CI: 'true', HOME: '/tmp' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).toString();
    assert.fail(`expected exit 3, got 0: ${out}`);
  } catch (err) {
    const e = err as { status?: number; stderr?: string; message: string };
    if (e.status === undefined) throw err;
    assert.equal(e.status, 3, e.stderr);
    assert.match(e.stderr ?? '', /skipped locked\.txt: unreadable \(EACCES\)/);
    assert.ok(existsSync(`${t.dir}/d/bad-input/ok.txt.zst`));
    assert.ok(!existsSync(`${t.dir}/d/bad-input/locked.txt.zst`));
  } finally {
    t.cleanup();
  }
});

test("a live session lock gives exit 5 with a hint; a dead run's lock is taken over", async () => {
  const t = tempDir();
  try {
    writeTree(`${t.dir}/s`, { a: 'a' });
    mkdirSync(`${t.dir}/d`);
    const session = `${t.dir}/s/.seedship/bad-input`;
    mkdirSync(session, { recursive: true });
    // A live holder: a sleeping process of ours.
    const sleeper = spawn('sleep', ['30']);
    const start = readFileSync(`/proc/${sleeper.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19];
    const host = execFileSync('hostname').toString().trim();
    writeFileSync(`${session}/lock`, JSON.stringify({ pid: sleeper.pid, host, start, at: Date.now() }));
    const r = await runSeedship(args(`${t.dir}/s`, [`${t.dir}/d`]));
    sleeper.kill();
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /locked by prepare pid/);
    // Now the holder is gone: stale, taken over.
    await new Promise((res) => sleeper.on('exit', res));
    const r2 = await runSeedship(args(`${t.dir}/s`, [`${t.dir}/d`]));
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stderr, /stale/);
  } finally {
    t.cleanup();
  }
});

test('a journal with a bad header: exit 6; a torn tail is cut off and the copy continues', async () => {
  const t = tempDir();
  try {
    writeTree(`${t.dir}/s`, { 'a.bin': { size: 2 * MiB, seed: 1 }, 'b.txt': 'b' });
    mkdirSync(`${t.dir}/d`);
    const first = await runSeedship(args(`${t.dir}/s`, [`${t.dir}/d`], ['--no-verify']));
    assert.equal(first.code, 0, first.stderr);
    const journal = `${t.dir}/s/.seedship/bad-input/journal.sjr`;
    const good = readFileSync(journal);
    // Torn tail: half a record of garbage at the end.
    writeFileSync(journal, Buffer.concat([good, Buffer.from([40, 0, 0, 0, 1, 2, 3])]));
    const again = await runSeedship(args(`${t.dir}/s`, [`${t.dir}/d`]));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /torn/);
    // Bad header.
    const bad = readFileSync(journal);
    bad.write('XXXX', 0, 'latin1');
    writeFileSync(journal, bad);
    const r = await runSeedship(args(`${t.dir}/s`, [`${t.dir}/d`]));
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /journal .* is unreadable: not a seedship journal/);
  } finally {
    t.cleanup();
  }
});

test('a truncated data file on a drive: verify exit 6 (short read), restore refuses', async () => {
  const t = tempDir();
  try {
    writeTree(`${t.dir}/s`, { 'a.bin': { size: 3 * MiB, seed: 3 } });
    mkdirSync(`${t.dir}/d`);
    const r = await runSeedship(args(`${t.dir}/s`, [`${t.dir}/d`]));
    assert.equal(r.code, 0, r.stderr);
    truncateSync(`${t.dir}/d/bad-input/a.bin.zst`, 1000);
    const v = await runSeedship(['verify', '--drive', `${t.dir}/d`]);
    assert.equal(v.code, 6);
    assert.match(v.stderr, /a\.bin\.zst block 0/);
    const rr = await runSeedship([
      'restore',
      '--drive',
      `${t.dir}/d`,
      '--session',
      `${t.dir}/s/.seedship/bad-input`,
      '--to',
      `${t.dir}/out`,
    ]);
    assert.equal(rr.code, 6, rr.stderr);
  } finally {
    t.cleanup();
  }
});
