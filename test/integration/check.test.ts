import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { NodeFileSystem } from '../../native/node-fs.js';
import { jsonLines, runSeedship, runSeedshipWith } from '../support/cli.js';
import { fakeBitLockerDrive, fakeMachine, type FakeMachine } from '../support/fake-sysfs.js';
import { have, mountExt4LoopDrive, mountNtfsDrive, whyNoNtfs } from '../support/mounts.js';
import { tempDir, writeTree } from '../support/tree.js';

const KEY = '238810-662376-448998-450120-652806-203390-606320-483076';

interface CheckJson {
  ok: boolean;
  drives: {
    path: string;
    findings: { drive: string; rule: string; severity: string; message: string; fix: string }[];
  }[];
  findings: { drive: null; rule: string; severity: string; message: string; fix: string }[];
}

/** `seedship check …` in this process, on the faked machine's /sys and mount table. */
async function check(
  m: FakeMachine,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string; json: CheckJson | undefined }> {
  const r = await runSeedshipWith(new NodeFileSystem(), ['check', ...args], { drives: m.probe() });
  return { ...r, json: args.includes('--json') ? (JSON.parse(r.stdout) as CheckJson) : undefined };
}

const rulesOf = (j: CheckJson, path: string) =>
  j.drives
    .find((d) => d.path === path)!
    .findings.map((f) => `${f.rule}:${f.severity}`)
    .sort();

test('check tells ext4 from NTFS on real loop drives (ntfs-3g and ext4 images)', async (ctx) => {
  const why = whyNoNtfs() ?? (have('mkfs.ext4') ? undefined : 'mkfs.ext4 is not installed (apt-get install e2fsprogs)');
  if (why) return ctx.skip(why);
  const t = tempDir();
  const undo: (() => void)[] = [];
  try {
    undo.push(mountNtfsDrive(`${t.dir}/ntfs.img`, `${t.dir}/ntfs`, 64));
    undo.push(mountExt4LoopDrive(`${t.dir}/ext4.img`, `${t.dir}/ext4`, 64).unmount);
    const r = await runSeedship(['check', '--drive', `${t.dir}/ntfs`, '--drive', `${t.dir}/ext4`, '--json']);
    assert.equal(r.code, 2, r.stderr);
    const j = JSON.parse(r.stdout) as CheckJson;
    assert.equal(j.ok, false);
    const ntfs = j.drives.find((d) => d.path === `${t.dir}/ntfs`)!.findings;
    const ext4 = j.drives.find((d) => d.path === `${t.dir}/ext4`)!.findings;
    assert.ok(!ntfs.some((f) => f.rule === 'filesystem'), JSON.stringify(ntfs));
    assert.match(ext4.find((f) => f.rule === 'filesystem')!.message, /file system ext4: the service reads only NTFS/);
    // Neither sits on BitLocker, and both are images on loop devices, not disks.
    for (const f of [ntfs, ext4]) {
      assert.equal(f.find((x) => x.rule === 'bitlocker')?.severity, 'error');
      assert.match(f.find((x) => x.rule === 'transport')!.message, /loop device/);
    }
    const human = await runSeedship(['check', '--drive', `${t.dir}/ext4`]);
    assert.equal(human.code, 2);
    assert.match(human.stdout, /ext4: ERROR file system ext4: .* — format the drive NTFS/);
    assert.match(human.stdout, /not importable by the Azure Import\/Export service: \d+ errors/);
  } finally {
    for (const u of undo.reverse()) u();
    t.cleanup();
  }
});

test('faked /sys: an empty NTFS drive in a BitLocker mapping on SATA with its key passes; its key, BitLocker and SATA are each required', async () => {
  const m = fakeMachine();
  try {
    const sata = fakeBitLockerDrive(m, 0, 'sata');
    const usb = fakeBitLockerDrive(m, 1, 'usb');
    const sas = fakeBitLockerDrive(m, 2, 'sas');
    // An NTFS partition mounted directly: no BitLocker under it.
    m.sys.scsiDisk('sdx', '65:0', {
      host: 9,
      via: 'sata',
      sizeBytes: 1e12,
      partitions: [{ name: 'sdx1', majMin: '65:1', sizeBytes: 1e12 }],
    });
    const plain = m.mount('65:1', `${m.dir}/mnt/plain`, 'ntfs3', '/dev/sdx1');

    const ok = await check(m, ['--drive', sata, '--bitlocker-key', KEY]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(ok.stdout, `${sata}: OK\nready for the Azure Import/Export service\n`);
    assert.equal((await check(m, ['--drive', sas, '--bitlocker-key', KEY])).code, 0);

    const noKey = await check(m, ['--drive', sata, '--json']);
    assert.equal(noKey.code, 2);
    assert.deepEqual(rulesOf(noKey.json!, sata), ['bitlocker-key:error']);

    const all = await check(m, [
      '--drive',
      sata,
      '--drive',
      usb,
      '--drive',
      plain,
      '--bitlocker-key',
      KEY,
      '--bitlocker-key',
      KEY,
      '--bitlocker-key',
      KEY,
      '--json',
    ]);
    assert.equal(all.code, 2);
    assert.equal(all.json!.ok, false);
    assert.deepEqual(rulesOf(all.json!, sata), []);
    assert.deepEqual(rulesOf(all.json!, usb), ['transport:error']);
    assert.match(all.json!.drives[1]!.findings[0]!.message, /disk sdc is attached by USB/);
    assert.deepEqual(rulesOf(all.json!, plain), ['bitlocker:error']);
    assert.match(all.json!.drives[2]!.findings[0]!.message, /not inside BitLocker/);
  } finally {
    m.cleanup();
  }
});

test('faked /sys: a drive holding other files is refused with what was found', async () => {
  const m = fakeMachine();
  try {
    const d = fakeBitLockerDrive(m, 0, 'sata');
    writeTree(d, { 'holiday.jpg': 'x', 'taxes/2025.pdf': 'y', 'System Volume Information/IndexerVolumeGuid': 'z' });
    const r = await check(m, ['--drive', d, '--bitlocker-key', KEY]);
    assert.equal(r.code, 2);
    assert.match(
      r.stdout,
      /ERROR holds other files \("holiday\.jpg", "taxes"\): it is neither empty nor a seedship drive of this job — use an empty drive/,
    );
    assert.doesNotMatch(r.stdout, /System Volume Information/);
  } finally {
    m.cleanup();
  }
});

test('faked /sys: eleven drives are one too many for a job; ten pass', async () => {
  const m = fakeMachine();
  try {
    const drives = Array.from({ length: 11 }, (_, i) => fakeBitLockerDrive(m, i, 'sata'));
    const args = (n: number) => drives.slice(0, n).flatMap((d) => ['--drive', d, '--bitlocker-key', KEY]);
    const ten = await check(m, [...args(10), '--json']);
    assert.equal(ten.code, 0, ten.stdout);
    const eleven = await check(m, [...args(11), '--json']);
    assert.equal(eleven.code, 2);
    assert.deepEqual(
      eleven.json!.findings.map((f) => f.rule),
      ['drive-count'],
    );
    assert.match(eleven.json!.findings[0]!.message, /11 drives .* at most 10/);
    assert.ok(eleven.json!.drives.every((d) => d.findings.length === 0));
  } finally {
    m.cleanup();
  }
});

test('sessions started with --codec zstd or --encrypt are flagged; the session dir inside staging is a warning', async () => {
  const m = fakeMachine();
  const t = tempDir();
  try {
    writeTree(`${t.dir}/staging`, { 'a.txt': 'a' });
    mkdirSync(`${t.dir}/d1`);
    mkdirSync(`${t.dir}/d2`);
    const zstd = await runSeedship([
      'prepare',
      '--staging',
      `${t.dir}/staging`,
      '--job',
      'zjob',
      '--drive',
      `${t.dir}/d1`,
      '--allow-staging-volume',
      '--yes',
    ]);
    assert.equal(zstd.code, 0, zstd.stderr);
    const enc = await runSeedship([
      'prepare',
      '--staging',
      `${t.dir}/staging`,
      '--job',
      'ejob',
      '--session',
      `${t.dir}/ejob`,
      '--drive',
      `${t.dir}/d2`,
      '--codec',
      'none',
      '--encrypt',
      '--allow-staging-volume',
      '--yes',
    ]);
    assert.equal(enc.code, 0, enc.stderr);
    const drive = fakeBitLockerDrive(m, 0, 'sata');

    const z = await check(m, [
      '--session',
      `${t.dir}/staging/.seedship/zjob`,
      '--drive',
      drive,
      '--bitlocker-key',
      KEY,
      '--json',
    ]);
    assert.equal(z.code, 2);
    assert.deepEqual(z.json!.findings.map((f) => `${f.rule}:${f.severity}`).sort(), [
      'codec:error',
      'session-location:warning',
    ]);
    assert.match(z.json!.findings.find((f) => f.rule === 'codec')!.message, /--codec zstd/);
    assert.deepEqual(rulesOf(z.json!, drive), []);

    const e = await check(m, ['--session', `${t.dir}/ejob`, '--drive', drive, '--bitlocker-key', KEY, '--json']);
    assert.equal(e.code, 2);
    assert.deepEqual(e.json!.findings.map((f) => `${f.rule}:${f.severity}`).sort(), [
      'encryption:error',
      'layout:warning',
    ]);

    // Without --drive: the session's drives where they last were (a plain folder here).
    const s = await check(m, ['--session', `${t.dir}/ejob`]);
    assert.equal(s.code, 2);
    assert.match(s.stdout, new RegExp(`^${t.dir}/d2: ERROR is a folder on the volume mounted at /`, 'm'));
    assert.match(s.stdout, /^job: ERROR the session encrypts with seedship's --encrypt/m);
  } finally {
    m.cleanup();
    t.cleanup();
  }
});

test('prepare prints the service check as warnings and goes on', async () => {
  const t = tempDir();
  try {
    writeTree(`${t.dir}/staging`, { 'a.txt': 'a', 'b/c.txt': 'c' });
    mkdirSync(`${t.dir}/d1`);
    writeFileSync(`${t.dir}/d1/old-notes.txt`, 'left over');
    const r = await runSeedship([
      'prepare',
      '--staging',
      `${t.dir}/staging`,
      '--job',
      'warned',
      '--drive',
      `${t.dir}/d1`,
      '--allow-staging-volume',
      '--yes',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /seedship: warning: service check: .*d1: holds other files \("old-notes\.txt"\)/);
    assert.match(
      r.stderr,
      /seedship: warning: service check: job: the session stores files compressed \(--codec zstd\)/,
    );
    assert.match(r.stderr, /seedship: warning: service check: job: the session dir .* is inside staging/);
    assert.ok(existsSync(`${t.dir}/d1/seedship/drive.json`), 'prepare went on and filled the drive');

    mkdirSync(`${t.dir}/d2`);
    const j = await runSeedship([
      'prepare',
      '--staging',
      `${t.dir}/staging`,
      '--job',
      'warned2',
      '--session',
      `${t.dir}/s2`,
      '--drive',
      `${t.dir}/d2`,
      '--codec',
      'none',
      '--allow-staging-volume',
      '--yes',
      '--json',
    ]);
    assert.equal(j.code, 0, j.stderr);
    const rules = jsonLines(j.stderr)
      .filter((l) => l.type === 'warning' && l.finding)
      .map((l) => (l.finding as { rule: string }).rule);
    assert.ok(rules.includes('bitlocker') && rules.includes('transport'), rules.join());
    assert.ok(!rules.includes('codec') && !rules.includes('session-location'), rules.join());
  } finally {
    t.cleanup();
  }
});
