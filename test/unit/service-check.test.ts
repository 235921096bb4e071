import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { StorageFacts } from '../../native/interfaces.js';
import { bitlockerOf, judgeServiceReadiness, type DriveFacts, type JobFacts } from '../../core/check/service-check.js';
import { fakeMachine, fakeVolumeDevice } from '../support/fake-sysfs.js';

const TB = 1e12;
const KEY = '238810-662376-448998-450120-652806-203390-606320-483076';

const machine = fakeMachine;

test('probe: an NTFS volume in a BitLocker dm-crypt mapping over a SATA partition, down to the disk', async () => {
  const m = machine();
  try {
    m.sys.scsiDisk('sdb', '8:16', {
      host: 1,
      via: 'sata',
      sizeBytes: 4 * TB,
      partitions: [{ name: 'sdb1', majMin: '8:17', sizeBytes: 4 * TB - 1e9 }],
    });
    m.sys.dm('dm-0', '253:0', 'CRYPT-BITLK-0c7a5e1e-5c7b-4d43-9a34-6d1f0b0e2a11-bitlk', ['sdb1'], 4 * TB - 2e9);
    fakeVolumeDevice(`${m.dir}/dev/dm-0`, 'NTFS');
    const at = m.mount('253:0', `${m.dir}/mnt/d1`, 'fuseblk', `${m.dir}/dev/dm-0`);
    const s = await m.probe().storageOf(at);
    assert.equal(s.mountPoint, at);
    assert.equal(s.fsType, 'fuseblk');
    assert.equal(s.bootOemId, 'NTFS');
    assert.deepEqual(
      s.layers.map((l) => [l.name, l.kind]),
      [
        ['dm-0', 'dm'],
        ['sdb1', 'partition'],
        ['sdb', 'disk'],
      ],
    );
    assert.match(s.layers[0]!.dmUuid!, /^CRYPT-BITLK-/);
    assert.equal(s.layers[2]!.transport, 'sata');
    assert.equal(s.layers[2]!.sizeBytes, 4 * TB);
    assert.equal(bitlockerOf(s), 'cryptsetup');
  } finally {
    m.cleanup();
  }
});

test('probe: the transport as lsblk names it: SATA (ahci), SAS (sas_host), USB (under a USB controller)', async () => {
  const m = machine();
  try {
    const via = ['sata', 'sas', 'usb'] as const;
    const at: string[] = [];
    via.forEach((v, i) => {
      const name = `sd${'bcd'[i]}`;
      m.sys.scsiDisk(name, `8:${16 * (i + 1)}`, {
        host: i + 2,
        via: v,
        sizeBytes: TB,
        partitions: [{ name: `${name}1`, majMin: `8:${16 * (i + 1) + 1}`, sizeBytes: TB }],
      });
      at.push(m.mount(`8:${16 * (i + 1) + 1}`, `${m.dir}/mnt/${v}`, 'ntfs3', `/dev/${name}1`));
    });
    const probe = m.probe();
    for (let i = 0; i < via.length; i++) {
      const disk = (await probe.storageOf(at[i]!)).layers.find((l) => l.kind === 'disk')!;
      assert.equal(disk.transport, via[i]);
    }
  } finally {
    m.cleanup();
  }
});

test('probe: dislocker: NTFS on a loop device over dislocker-file inside the dislocker FUSE mount', async () => {
  const m = machine();
  try {
    const dl = m.mount('0:55', `${m.dir}/mnt/dislocker`, 'fuse.dislocker-fuse', 'dislocker-fuse');
    writeFileSync(`${dl}/dislocker-file`, '');
    m.sys.loop('loop5', '7:5', `${dl}/dislocker-file`, 2 * TB);
    const at = m.mount('7:5', `${m.dir}/mnt/d`, 'ntfs3', '/dev/loop5');
    const s = await m.probe().storageOf(at);
    assert.deepEqual(
      s.layers.map((l) => l.kind),
      ['loop'],
    );
    assert.equal(s.backing?.file, `${dl}/dislocker-file`);
    assert.equal(s.backing?.fsType, 'fuse.dislocker-fuse');
    assert.equal(bitlockerOf(s), 'dislocker');
    const r = judgeServiceReadiness([drive(at, s, { bitlockerKey: KEY })], job());
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(
      r.drives[0]!.findings.map((f) => [f.rule, f.severity]),
      [['transport', 'warning']],
    );
    // ntfs-3g straight on dislocker-file (no loop device): a plain FUSE mount whose source is that file.
    fakeVolumeDevice(`${dl}/dislocker-file`, 'NTFS');
    const direct = m.mount('0:56', `${m.dir}/mnt/direct`, 'fuse', `${dl}/dislocker-file`);
    const sd = await m.probe().storageOf(direct);
    assert.deepEqual(sd.layers, []);
    assert.equal(sd.bootOemId, 'NTFS');
    assert.equal(bitlockerOf(sd), 'dislocker');
    assert.deepEqual(
      judgeServiceReadiness([drive(direct, sd, { bitlockerKey: KEY })], job()).drives[0]!.findings.map(
        (f) => `${f.rule}:${f.severity}`,
      ),
      ['transport:warning'],
    );
  } finally {
    m.cleanup();
  }
});

function storage(o: Partial<StorageFacts> = {}): StorageFacts {
  return {
    path: '/mnt/d',
    mountPoint: '/mnt/d',
    fsType: 'ntfs3',
    source: '/dev/mapper/bitlk',
    volumeBytes: 2 * TB,
    bootOemId: undefined,
    layers: [
      { name: 'dm-0', kind: 'dm', sizeBytes: 2 * TB, dmUuid: 'CRYPT-BITLK-x' },
      { name: 'sdb', kind: 'disk', sizeBytes: 2 * TB, transport: 'sata' },
    ],
    backing: undefined,
    ...o,
  };
}

function drive(path: string, s: StorageFacts | undefined, o: Partial<DriveFacts> = {}): DriveFacts {
  return {
    path,
    root: s?.mountPoint ?? path,
    storage: s,
    storageError: undefined,
    names: [],
    driveJson: undefined,
    driveJsonError: undefined,
    bitlockerKey: KEY,
    expectDriveId: undefined,
    ...o,
  };
}

function job(o: Partial<JobFacts> = {}): JobFacts {
  return {
    sessionDir: undefined,
    sessionReal: undefined,
    sessionStorage: undefined,
    staging: undefined,
    job: undefined,
    jobId: undefined,
    settings: undefined,
    sessionDriveIds: [],
    ...o,
  };
}

const rules = (r: ReturnType<typeof judgeServiceReadiness>) =>
  [...r.findings, ...r.drives.flatMap((d) => d.findings)].map((f) => `${f.rule}:${f.severity}`).sort();

test('rules: a BitLocker NTFS SATA drive with its key, empty, in a codec none session passes', () => {
  const r = judgeServiceReadiness(
    [drive('/mnt/d', storage())],
    job({ settings: { codec: 'none', encrypt: false, blobType: 'block', serviceStrict: true } }),
  );
  assert.equal(r.ok, true);
  assert.deepEqual(rules(r), []);
});

test('rules: file system, size over 10 TB, no BitLocker, no key or a mistyped one, USB and NVMe', () => {
  assert.deepEqual(rules(judgeServiceReadiness([drive('/mnt/d', storage({ fsType: 'ext4' }))], job())), [
    'filesystem:error',
  ]);
  assert.deepEqual(
    rules(judgeServiceReadiness([drive('/mnt/d', storage({ fsType: 'fuseblk', bootOemId: 'EXFAT' }))], job())),
    ['filesystem:error'],
  );
  assert.deepEqual(
    rules(judgeServiceReadiness([drive('/mnt/d', storage({ fsType: 'fuseblk', bootOemId: undefined }))], job())),
    ['filesystem:warning'],
  );
  const big = storage({
    layers: [
      { name: 'dm-0', kind: 'dm', sizeBytes: 12 * TB, dmUuid: 'CRYPT-BITLK-x' },
      { name: 'sdb', kind: 'disk', sizeBytes: 12 * TB, transport: 'sata' },
    ],
  });
  const r = judgeServiceReadiness([drive('/mnt/d', big)], job());
  assert.deepEqual(rules(r), ['size:error']);
  assert.match(r.drives[0]!.findings[0]!.message, /12\.0 TB.*up to 10\.0 TB/);
  assert.deepEqual(
    rules(
      judgeServiceReadiness(
        [drive('/mnt/d', storage({ layers: [{ name: 'sdb', kind: 'disk', sizeBytes: TB, transport: 'sata' }] }))],
        job(),
      ),
    ),
    ['bitlocker:error'],
  );
  const luks = judgeServiceReadiness(
    [
      drive(
        '/mnt/d',
        storage({
          layers: [
            { name: 'dm-0', kind: 'dm', sizeBytes: TB, dmUuid: 'CRYPT-LUKS2-abc' },
            { name: 'sdb', kind: 'disk', sizeBytes: TB, transport: 'sata' },
          ],
        }),
      ),
    ],
    job(),
  );
  assert.match(luks.drives[0]!.findings[0]!.message, /LUKS2, which is not BitLocker/);
  assert.deepEqual(rules(judgeServiceReadiness([drive('/mnt/d', storage(), { bitlockerKey: undefined })], job())), [
    'bitlocker-key:error',
  ]);
  assert.deepEqual(
    rules(
      judgeServiceReadiness([drive('/mnt/d', storage(), { bitlockerKey: KEY.replace('238810', '238811') })], job()),
    ),
    ['bitlocker-key:error'],
  );
  const usb = storage({
    layers: [
      { name: 'dm-0', kind: 'dm', sizeBytes: TB, dmUuid: 'CRYPT-BITLK-x' },
      { name: 'sdc', kind: 'disk', sizeBytes: TB, transport: 'usb' },
    ],
  });
  assert.deepEqual(rules(judgeServiceReadiness([drive('/mnt/d', usb)], job())), ['transport:error']);
  const nvme = storage({
    layers: [
      { name: 'dm-0', kind: 'dm', sizeBytes: TB, dmUuid: 'CRYPT-BITLK-x' },
      { name: 'nvme0n1', kind: 'disk', sizeBytes: TB, transport: 'nvme' },
    ],
  });
  assert.deepEqual(rules(judgeServiceReadiness([drive('/mnt/d', nvme)], job())), ['transport:error']);
  assert.deepEqual(rules(judgeServiceReadiness([drive('/mnt/d/sub', storage(), { root: '/mnt/d/sub' })], job())), [
    'mount:error',
  ]);
});

test('rules: contents: other files refused and named; a drive of another job refused; system folders ignored', () => {
  const names = ['System Volume Information', '$RECYCLE.BIN', 'photos', 'a.txt', 'b', 'c', 'd', 'e'];
  const r = judgeServiceReadiness([drive('/mnt/d', storage(), { names })], job());
  assert.deepEqual(rules(r), ['contents:error']);
  assert.match(r.drives[0]!.findings[0]!.message, /"a\.txt", "b", "c", "d", "e" and 1 more/);
  assert.deepEqual(
    rules(
      judgeServiceReadiness(
        [drive('/mnt/d', storage(), { names: ['System Volume Information', '$RECYCLE.BIN'] })],
        job(),
      ),
    ),
    [],
  );
  const dj = {
    format: 1,
    tool: 'seedship',
    job: 'other',
    jobId: 'b'.repeat(32),
    driveId: 'SSX',
    seq: 0,
    container: 'c',
    encrypted: false,
    sealed: true,
  } as const;
  assert.deepEqual(
    rules(
      judgeServiceReadiness(
        [drive('/mnt/d', storage(), { names: ['seedship', 'c'], driveJson: dj })],
        job({ jobId: 'a'.repeat(32), job: 'mine' }),
      ),
    ),
    ['contents:error'],
  );
  assert.deepEqual(
    rules(
      judgeServiceReadiness(
        [drive('/mnt/d', storage(), { names: ['seedship', 'c'], driveJson: dj })],
        job({ jobId: 'b'.repeat(32), job: 'other' }),
      ),
    ),
    [],
  );
});

test('rules: the job: more than 10 drives, codec zstd, --encrypt, split block blobs, the session dir on a drive or inside staging', () => {
  const eleven = Array.from({ length: 11 }, (_, i) =>
    drive(`/mnt/d${i}`, storage({ mountPoint: `/mnt/d${i}`, path: `/mnt/d${i}` })),
  );
  const many = judgeServiceReadiness(eleven, job());
  assert.deepEqual(rules(many), ['drive-count:error']);
  assert.match(many.findings[0]!.message, /11 drives \(0 in the session, 11 given\)/);
  assert.deepEqual(
    rules(
      judgeServiceReadiness(eleven.slice(0, 3), job({ sessionDriveIds: ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'] })),
    ),
    ['drive-count:error'],
  );
  assert.deepEqual(
    rules(
      judgeServiceReadiness(eleven.slice(0, 2), job({ sessionDriveIds: ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'] })),
    ),
    [],
  );
  assert.deepEqual(
    rules(
      judgeServiceReadiness(
        [],
        job({ settings: { codec: 'zstd', encrypt: true, blobType: 'block', serviceStrict: true } }),
      ),
    ),
    ['codec:error', 'encryption:error'],
  );
  assert.deepEqual(
    rules(
      judgeServiceReadiness(
        [],
        job({ settings: { codec: 'none', encrypt: false, blobType: 'block', serviceStrict: false } }),
      ),
    ),
    ['layout:warning'],
  );
  const onDrive = job({ sessionDir: '/mnt/d/.s', sessionReal: '/mnt/d/.s', sessionStorage: storage() });
  assert.deepEqual(rules(judgeServiceReadiness([drive('/mnt/d', storage(), { names: ['.s'] })], onDrive)), [
    'contents:error',
    'session-location:error',
  ]);
  const inStaging = job({
    sessionDir: '/data/staging/.seedship/j',
    sessionReal: '/data/staging/.seedship/j',
    staging: '/data/staging',
  });
  assert.deepEqual(rules(judgeServiceReadiness([drive('/mnt/d', storage())], inStaging)), ['session-location:warning']);
});

test('rules: a session drive not attached where it last was is a warning, its recorded key still checked', () => {
  const r = judgeServiceReadiness(
    [drive('/mnt/gone', undefined, { root: undefined, expectDriveId: 'SSABC', bitlockerKey: '' })],
    job(),
  );
  assert.equal(r.ok, false);
  assert.deepEqual(rules(r), ['bitlocker-key:error', 'drive:warning']);
  assert.equal(
    judgeServiceReadiness([drive('/mnt/gone', undefined, { root: undefined, expectDriveId: 'SSABC' })], job()).ok,
    true,
  );
});
