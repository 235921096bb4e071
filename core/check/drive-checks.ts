/** The service-readiness findings of one drive: transport, volume, file system, size, BitLocker, contents. */
import type { BlockLayer, StorageFacts } from '../../native/interfaces.js';
import { checkBitLockerRecoveryPassword } from '../manifest/bitlocker-key.js';
import type { AddFinding, CheckFinding, DriveFacts, JobFacts } from './check-types.js';

/** The service's drive size limit: "up to 10 TB" (Azure Backup offline seeding; spec 4.1), in decimal bytes. */
export const MAX_SERVICE_DRIVE_BYTES = 10e12;
/** Names Windows or mkfs put on an empty volume: not "other files". */
const SYSTEM_NAMES = new Set(['system volume information', '$recycle.bin', 'lost+found']);
const NTFS_TYPES = new Set(['ntfs', 'ntfs3']);
/** Attachments the service does not take (it takes SATA II/III and SAS drives). */
const REFUSED_TRANSPORTS = new Set(['usb', 'nvme', 'mmc', 'sbp', 'iscsi', 'fc', 'fcoe', 'spi', 'virtio']);
const SHOWN_NAMES = 5;

const BITLOCKER_HOW =
  'BitLocker-encrypt it once on Windows with a numerical password (or buy it encrypted), open it with ' +
  '`cryptsetup open --type bitlk` or dislocker, mount the NTFS inside with ntfs-3g, give the password with ' +
  '--bitlocker-key (docs/check.md)';

function isFuse(fsType: string): boolean {
  return fsType === 'fuse' || fsType === 'fuseblk' || fsType.startsWith('fuse.');
}

/**
 * How the volume sits on BitLocker, if it does: a dm-crypt mapping `cryptsetup open --type bitlk`
 * made (dm uuid `CRYPT-BITLK-…`), or `dislocker-file` inside a dislocker FUSE mount.
 */
export function bitlockerOf(s: StorageFacts): 'cryptsetup' | 'dislocker' | undefined {
  if (s.layers.some((l) => l.kind === 'dm' && l.dmUuid?.startsWith('CRYPT-BITLK-'))) return 'cryptsetup';
  const b = s.backing;
  if (b?.file.slice(b.file.lastIndexOf('/') + 1) !== 'dislocker-file' || !isFuse(b.fsType)) return undefined;
  return `${b.fsType} ${b.source}`.includes('dislocker') ? 'dislocker' : undefined;
}

function fmtTB(bytes: number): string {
  return `${(bytes / 1e12).toFixed(bytes < 1e12 ? 3 : 1)} TB`;
}

/** Every finding about one drive. */
export function judgeDrive(d: DriveFacts, job: JobFacts): CheckFinding[] {
  const out: CheckFinding[] = [];
  const add: AddFinding = (rule, severity, message, fix) => out.push({ drive: d.path, rule, severity, message, fix });
  if (d.expectDriveId !== undefined && (d.root === undefined || d.driveJson?.driveId !== d.expectDriveId)) {
    judgeAbsent(d, d.expectDriveId, job, add);
    return out;
  }
  if (d.root === undefined) {
    add('drive', 'error', 'does not exist or is not a directory', 'mount the drive and give its mount path');
    return out;
  }
  judgeContents(d, job, add);
  const s = d.storage;
  if (!s) {
    add(
      'drive',
      'warning',
      `the mount table or sysfs could not be read (${d.storageError ?? 'unknown'}): ` +
        'file system, BitLocker and attachment not checked',
      'run seedship check on the machine the drive is attached to, as root',
    );
    judgeKey(d, undefined, add);
    judgeSessionOnDrive(d, job, add);
    return out;
  }
  judgeVolume(d.root, s, add);
  const bitlocker = bitlockerOf(s);
  judgeKey(d, bitlocker, add);
  judgeTransport(s, bitlocker, add);
  judgeSessionOnDrive(d, job, add);
  if (!job.settings && d.driveJson?.encrypted) {
    add(
      'encryption',
      'error',
      "holds data encrypted with seedship's --encrypt: only seedship's own importer can read it",
      'prepare it again in a session without --encrypt',
    );
  }
  return out;
}

/** A session's drive that is not where it was: nothing but its recorded key can be checked. */
function judgeAbsent(d: DriveFacts, driveId: string, job: JobFacts, add: AddFinding): void {
  const now = d.driveJson ? ` (drive ${d.driveJson.driveId} is there now)` : '';
  add(
    'drive',
    'warning',
    `drive ${driveId} is not attached at ${d.path}${now}: its file system, BitLocker volume and attachment ` +
      'were not checked',
    `attach it and run seedship check --drive <its mount path> --session ${job.sessionDir ?? '<dir>'}`,
  );
  judgeKey(d, undefined, add);
}

/** The volume itself: a mount point, NTFS, its size, on BitLocker. */
function judgeVolume(root: string, s: StorageFacts, add: AddFinding): void {
  if (s.mountPoint !== root) {
    add(
      'mount',
      'error',
      `is a folder on the volume mounted at ${s.mountPoint}, not a volume of its own: ` +
        "the service reads the manifest at the root of the drive's first volume",
      'give the mount path of the drive itself (a whole NTFS volume)',
    );
  }
  judgeFileSystem(s, add);
  judgeSize(s, add);
  if (!bitlockerOf(s)) {
    const other = s.layers.find((l) => l.kind === 'dm' && l.dmUuid?.startsWith('CRYPT-'))?.dmUuid?.split('-')[1];
    const what = other ? `dm-crypt ${other}, which is not BitLocker` : 'no BitLocker device under it';
    add(
      'bitlocker',
      'error',
      `the volume (${s.source}) is not inside BitLocker (${what}); the service imports only BitLocker volumes ` +
        "(seedship's --encrypt is not BitLocker)",
      BITLOCKER_HOW,
    );
  }
}

function judgeContents(d: DriveFacts, job: JobFacts, add: AddFinding): void {
  if (d.driveJsonError !== undefined) {
    add(
      'contents',
      'error',
      `its seedship/drive.json cannot be read (${d.driveJsonError}): which job it belongs to is unknown`,
      'use another drive, or erase this one if nothing on it is needed',
    );
    return;
  }
  const dj = d.driveJson;
  if (dj) {
    if (job.jobId !== undefined && dj.jobId !== job.jobId) {
      add(
        'contents',
        'error',
        `is drive ${dj.driveId} of seedship job ${dj.job}, not of this session's job ${job.job ?? job.jobId}`,
        'use another drive, or erase this one if that job is abandoned',
      );
    }
    return;
  }
  if (d.names === undefined) {
    add('contents', 'error', 'its files cannot be listed', 'check that the drive is mounted and readable');
    return;
  }
  const other = d.names.filter((n) => !SYSTEM_NAMES.has(n.toLowerCase())).sort();
  if (other.length > 0) {
    const shown = other
      .slice(0, SHOWN_NAMES)
      .map((n) => JSON.stringify(n))
      .join(', ');
    const more = other.length > SHOWN_NAMES ? ` and ${other.length - SHOWN_NAMES} more` : '';
    add(
      'contents',
      'error',
      `holds other files (${shown}${more}): it is neither empty nor a seedship drive of this job`,
      'use an empty drive, or empty this one after checking nothing on it is needed',
    );
  }
}

function judgeFileSystem(s: StorageFacts, add: AddFinding): void {
  if (NTFS_TYPES.has(s.fsType)) return;
  // ntfs-3g shows as fuseblk on a device (fuse on an image file): only the boot sector says NTFS.
  if (isFuse(s.fsType) && s.bootOemId === 'NTFS') return;
  if (isFuse(s.fsType) && s.bootOemId === undefined) {
    add(
      'filesystem',
      'warning',
      `${s.fsType} volume on ${s.source}: its first sector could not be read to confirm it is NTFS (ntfs-3g)`,
      'run seedship check as root (it reads the boot sector of the device)',
    );
    return;
  }
  const what = isFuse(s.fsType) ? `${s.fsType} with a ${s.bootOemId || 'non-NTFS'} boot sector` : s.fsType;
  add(
    'filesystem',
    'error',
    `file system ${what}: the service reads only NTFS (the drive's first volume)`,
    'format the drive NTFS inside BitLocker (on Windows), then mount it with ntfs-3g or ntfs3',
  );
}

function judgeSize(s: StorageFacts, add: AddFinding): void {
  const disks = s.layers.filter((l) => l.kind === 'disk' && l.sizeBytes !== undefined);
  const disk = disks.length > 0 ? Math.max(...disks.map((l) => l.sizeBytes!)) : undefined;
  const bytes = disk ?? s.layers[0]?.sizeBytes ?? s.volumeBytes;
  if (bytes !== undefined && bytes > MAX_SERVICE_DRIVE_BYTES) {
    add(
      'size',
      'error',
      `the ${disk !== undefined ? 'disk' : 'volume'} holds ${fmtTB(bytes)}: ` +
        `the service takes drives of up to ${fmtTB(MAX_SERVICE_DRIVE_BYTES)}`,
      'use drives of 10 TB or less',
    );
  }
}

function judgeKey(d: DriveFacts, bitlocker: string | undefined, add: AddFinding): void {
  const key = d.bitlockerKey;
  if (key) {
    const problem = checkBitLockerRecoveryPassword(key);
    if (problem) {
      add(
        'bitlocker-key',
        'error',
        `its BitLocker key is not a numerical password: ${problem}`,
        'give the 48-digit recovery password of the volume with --bitlocker-key',
      );
    }
    return;
  }
  // Without a BitLocker volume the missing volume is the finding; a key would not help.
  if (bitlocker !== undefined || !d.storage) {
    add(
      'bitlocker-key',
      'error',
      "no BitLocker numerical password was given for it: the job must carry each drive's key",
      'give the 48-digit recovery password with --bitlocker-key (to prepare and check), one per --drive in order',
    );
  }
}

function judgeTransport(s: StorageFacts, bitlocker: string | undefined, add: AddFinding): void {
  const disks = s.layers.filter((l): l is BlockLayer & { kind: 'disk' } => l.kind === 'disk');
  const anyDisk = 'make sure it is an internal SATA/SAS drive (lsblk -o NAME,TRAN)';
  if (disks.length === 0) {
    if (bitlocker === 'dislocker') {
      const what = 'behind dislocker: the disk dislocker reads is not in the mount table, so how it is attached';
      add('transport', 'warning', `${what} was not checked`, anyDisk);
    } else if (s.layers.some((l) => l.kind === 'loop')) {
      const file = s.backing ? `, ${s.backing.file}` : '';
      add(
        'transport',
        'error',
        `on a loop device (an image file${file}), not on a disk`,
        'use a real SATA/SAS drive (images are fine for tests, not for shipping)',
      );
    } else {
      add(
        'transport',
        'error',
        `not on a disk (${s.fsType} from ${s.source})`,
        'use a real SATA/SAS drive (tmpfs and folders are fine for tests, not for shipping)',
      );
    }
    return;
  }
  for (const disk of disks) judgeDisk(disk, add, anyDisk);
}

function judgeDisk(disk: BlockLayer, add: AddFinding, anyDisk: string): void {
  const t = disk.transport;
  if (t === 'sata' || t === 'sas') return;
  if (t === 'usb') {
    add(
      'transport',
      'error',
      `disk ${disk.name} is attached by USB: the service takes bare SATA/SAS drives, ` +
        'not USB sticks or disks with a built-in USB bridge',
      'attach it to a SATA/SAS port; a bare SATA disk in a USB-to-SATA adaptor is allowed while preparing: ' +
        'ship it without the adaptor (job create --force)',
    );
  } else if (t !== undefined && REFUSED_TRANSPORTS.has(t)) {
    add(
      'transport',
      'error',
      `disk ${disk.name} is attached by ${t}: the service takes SATA/SAS drives (2.5" SSD, 2.5"/3.5" HDD)`,
      'use a SATA/SAS drive',
    );
  } else if (t === 'ata') {
    add(
      'transport',
      'warning',
      `disk ${disk.name} is on an ATA host (PATA, or SATA in IDE mode): the service takes SATA II/III drives`,
      'check it is a SATA drive (set the controller to AHCI to see it as sata)',
    );
  } else {
    add('transport', 'warning', `how disk ${disk.name} is attached is unknown${t ? ` (${t})` : ''}`, anyDisk);
  }
}

function judgeSessionOnDrive(d: DriveFacts, job: JobFacts, add: AddFinding): void {
  const sess = job.sessionReal;
  if (!sess || !d.root) return;
  const inside = sess === d.root || sess.startsWith(`${d.root}/`);
  const ownVolume = d.storage !== undefined && d.storage.mountPoint === d.root;
  if (inside || (ownVolume && job.sessionStorage?.mountPoint === d.root)) {
    add(
      'session-location',
      'error',
      `the session dir ${job.sessionDir} is on this drive: its journal and keys would ship with it`,
      'keep the session dir on the copy computer (--session DIR on another volume)',
    );
  }
}
