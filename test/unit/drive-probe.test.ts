import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { mountOf, parseMountInfo } from '../../native/mountinfo.js';
import { cleanSerial, diskFacts, parseUdevData } from '../../native/sysfs.js';
import { LinuxDriveProbe } from '../../native/drive-probe.js';
import { driveUnsuitability } from '../../core/check/drive-suitability.js';
import { tempDir } from '../support/tree.js';
import { canMount, mountTmpfs, NEEDS_ROOT, remountReadOnly } from '../support/mounts.js';

const MOUNTINFO = [
  '22 27 0:21 / /proc rw,relatime - proc proc rw',
  '27 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw',
  '40 27 8:17 / /mnt/my\\040drive rw,relatime shared:5 - fuseblk /dev/sdb1 rw,user_id=0',
  '41 27 8:33 / /mnt/ro ro,relatime - ext4 /dev/sdc1 rw',
  '42 27 0:50 / /mnt/tmp rw - tmpfs tmpfs rw,size=16384k',
  '43 40 8:17 /sub /mnt/bind rw - fuseblk /dev/sdb1 rw',
].join('\n');

test('mountinfo: escapes, read-only flags, optional fields, bind mounts', () => {
  const m = parseMountInfo(MOUNTINFO);
  assert.equal(m.length, 6);
  const d = m.find((x) => x.source === '/dev/sdb1' && x.root === '/')!;
  assert.equal(d.mountPoint, '/mnt/my drive');
  assert.equal(d.fsType, 'fuseblk');
  assert.equal(d.majorMinor, '8:17');
  assert.equal(m.find((x) => x.mountPoint === '/mnt/ro')!.readOnly, true);
  assert.equal(m.find((x) => x.mountPoint === '/mnt/bind')!.root, '/sub');
  assert.equal(mountOf(m, '/mnt/my drive/x/y')!.mountPoint, '/mnt/my drive');
  assert.equal(mountOf(m, '/mnt/my drivex')!.mountPoint, '/');
  assert.equal(mountOf(m, '/mnt/tmp')!.fsType, 'tmpfs');
});

test('udev data and serial cleaning', () => {
  const u = parseUdevData(
    'S:disk/by-id/ata-WDC\nE:ID_SERIAL_SHORT=WD-WCC4N1234567\nE:ID_BUS=ata\nE:ID_MODEL=WDC_WD40\n',
  );
  assert.equal(u.get('ID_SERIAL_SHORT'), 'WD-WCC4N1234567');
  assert.equal(u.get('ID_BUS'), 'ata');
  assert.equal(cleanSerial('  9WM 35C3U\n'), '9WM35C3U');
  assert.equal(cleanSerial('   '), undefined);
});

test('sysfs: a partition resolves to its disk; serial from udev, else device/serial', async () => {
  const t = tempDir();
  try {
    const sys = `${t.dir}/sys`;
    const disk = `${sys}/devices/pci0000:00/ata1/host0/block/sdb`;
    mkdirSync(`${disk}/sdb1`, { recursive: true });
    mkdirSync(`${disk}/queue`, { recursive: true });
    mkdirSync(`${disk}/device`, { recursive: true });
    writeFileSync(`${disk}/dev`, '8:16\n');
    writeFileSync(`${disk}/sdb1/partition`, '1\n');
    writeFileSync(`${disk}/sdb1/dev`, '8:17\n');
    writeFileSync(`${disk}/queue/rotational`, '1\n');
    writeFileSync(`${disk}/removable`, '0\n');
    writeFileSync(`${disk}/device/model`, 'ST8000DM004\n');
    writeFileSync(`${disk}/device/serial`, 'ZCT0ABCD\n');
    mkdirSync(`${sys}/dev/block`, { recursive: true });
    symlinkSync(`${disk}/sdb1`, `${sys}/dev/block/8:17`);
    symlinkSync(disk, `${sys}/dev/block/8:16`);
    const udev = `${t.dir}/udev`;
    mkdirSync(udev);
    let f = await diskFacts('8:17', sys, udev);
    assert.deepEqual(f, {
      serial: 'ZCT0ABCD',
      rotational: true,
      removable: false,
      model: 'ST8000DM004',
      bus: undefined,
    });
    writeFileSync(`${udev}/b8:16`, 'E:ID_SERIAL_SHORT=FROMUDEV1\nE:ID_BUS=usb\n');
    f = await diskFacts('8:17', sys, udev);
    assert.equal(f.serial, 'FROMUDEV1');
    assert.equal(f.bus, 'usb');
    assert.deepEqual(
      driveUnsuitability({
        mountPoint: '/mnt/x',
        device: '/dev/sdb1',
        fsType: 'fuseblk',
        totalBytes: 1,
        freeBytes: 1,
        readOnly: false,
        ...f,
      }),
      ['not a fixed disk (removable or USB): the service takes internal SATA drives only'],
    );
  } finally {
    t.cleanup();
  }
});

test('suitability: system, staging, read-only, tmpfs, loop, non-NTFS', () => {
  const base = {
    device: '/dev/sdb1',
    fsType: 'ntfs3',
    totalBytes: 1,
    freeBytes: 1,
    readOnly: false,
    serial: 'S',
    rotational: true,
    removable: false,
    model: undefined,
    bus: 'ata',
  };
  assert.deepEqual(driveUnsuitability({ ...base, mountPoint: '/mnt/d' }), []);
  assert.ok(driveUnsuitability({ ...base, mountPoint: '/' })[0]!.includes('system'));
  assert.ok(
    driveUnsuitability({ ...base, mountPoint: '/data' }, { stagingMount: '/data' }).includes('the staging volume'),
  );
  assert.ok(driveUnsuitability({ ...base, mountPoint: '/mnt/d', readOnly: true }).includes('read-only'));
  assert.match(driveUnsuitability({ ...base, mountPoint: '/mnt/d', fsType: 'tmpfs', device: 'tmpfs' }).join(), /tmpfs/);
  assert.match(driveUnsuitability({ ...base, mountPoint: '/mnt/d', device: '/dev/loop3' }).join(), /loop device/);
  assert.match(driveUnsuitability({ ...base, mountPoint: '/mnt/d', fsType: 'ext4' }).join(), /only NTFS/);
});

test('volumeOf on this machine: the mount point is a prefix of the path', async () => {
  const v = await new LinuxDriveProbe().volumeOf(tmpdir());
  assert.ok(tmpdir().startsWith(v.mountPoint === '/' ? '/' : v.mountPoint));
  assert.ok(v.totalBytes > 0);
  const all = await new LinuxDriveProbe().listVolumes();
  assert.ok(all.length > 0);
  assert.ok(all.every((x) => x.fsType !== 'proc' && x.fsType !== 'sysfs'));
});

test('volumeOf a tmpfs mount: type, size, read-only after remount', async (ctx) => {
  if (!canMount()) return ctx.skip(NEEDS_ROOT);
  const t = tempDir();
  const umount = mountTmpfs(`${t.dir}/m`, 16);
  try {
    const p = new LinuxDriveProbe();
    let v = await p.volumeOf(`${t.dir}/m`);
    assert.equal(v.fsType, 'tmpfs');
    assert.equal(v.mountPoint, `${t.dir}/m`);
    assert.equal(v.totalBytes, 16 * 1024 * 1024);
    assert.equal(v.readOnly, false);
    remountReadOnly(`${t.dir}/m`);
    v = await p.volumeOf(`${t.dir}/m`);
    assert.equal(v.readOnly, true);
  } finally {
    umount();
    t.cleanup();
  }
});
