import type { BlockLayer, Codec, StorageFacts } from '../../native/interfaces.js';
import { MAX_DRIVES_PER_JOB } from '../job/job-rules.js';
import { checkBitLockerRecoveryPassword } from '../manifest/bitlocker-key.js';
import type { DriveJson } from './drive-identity.js';

/**
 * What the Azure Import/Export service can import, judged from facts gathered beforehand
 * (service-check-input.ts): no OS access here. The service's rules are those of
 * docs/check.md (spec section 4.1: NTFS first volume, BitLocker with a numerical password, internal
 * SATA drives, at most 10 drives per job; the bytes on the drive are imported as they are).
 */

export type CheckSeverity = 'error' | 'warning';
export type CheckRule =
  | 'drive'
  | 'mount'
  | 'filesystem'
  | 'size'
  | 'bitlocker'
  | 'bitlocker-key'
  | 'transport'
  | 'contents'
  | 'drive-count'
  | 'codec'
  | 'encryption'
  | 'layout'
  | 'session-location';

/** One thing the service would refuse (error) or that may go wrong (warning), and what to do. */
export interface CheckFinding {
  /** The drive path as given, or null for the job as a whole. */
  readonly drive: string | null;
  readonly rule: CheckRule;
  readonly severity: CheckSeverity;
  readonly message: string;
  readonly fix: string;
}

export interface DriveCheck {
  readonly path: string;
  readonly findings: CheckFinding[];
}

/** `ok` is false when any finding is an error. */
export interface ServiceCheckResult {
  readonly ok: boolean;
  readonly drives: DriveCheck[];
  /** Findings about the job rather than one drive (codec, encryption, drive count, session dir). */
  readonly findings: CheckFinding[];
}

/** What was found about one drive path. */
export interface DriveFacts {
  readonly path: string;
  /** Real path; undefined when it does not exist or is not a directory. */
  readonly root: string | undefined;
  readonly storage: StorageFacts | undefined;
  /** Why the storage facts could not be read. */
  readonly storageError: string | undefined;
  /** Names at the drive's root; undefined when it cannot be listed. */
  readonly names: readonly string[] | undefined;
  readonly driveJson: DriveJson | undefined;
  /** seedship/drive.json exists but cannot be read. */
  readonly driveJsonError: string | undefined;
  /** The BitLocker numerical password given or recorded for it. */
  readonly bitlockerKey: string | undefined;
  /** The session's drive expected at this path (job create checks the drives where they last were). */
  readonly expectDriveId: string | undefined;
}

/** What the session (or the run about to start one) stores on its drives. */
export interface StoreSettings {
  readonly codec: Codec;
  readonly encrypt: boolean;
  readonly blobType: 'block' | 'page';
  readonly serviceStrict: boolean;
}

export interface JobFacts {
  readonly sessionDir: string | undefined;
  /** Real path of the session dir (of its nearest existing parent, with the rest appended). */
  readonly sessionReal: string | undefined;
  readonly sessionStorage: StorageFacts | undefined;
  /** Real path of staging. */
  readonly staging: string | undefined;
  readonly job: string | undefined;
  readonly jobId: string | undefined;
  readonly settings: StoreSettings | undefined;
  /** Drive ids the session holds already (sealed, with a drive-info file). */
  readonly sessionDriveIds: readonly string[];
}

/** The service's drive size limit: "up to 10 TB" (Azure Backup offline seeding; spec 4.1), in decimal bytes. */
export const MAX_SERVICE_DRIVE_BYTES = 10e12;
/** Names Windows or mkfs put on an empty volume: not "other files". */
const SYSTEM_NAMES = new Set(['system volume information', '$recycle.bin', 'lost+found']);
const NTFS_TYPES = new Set(['ntfs', 'ntfs3']);
const REFUSED_TRANSPORTS = new Set(['usb', 'nvme', 'mmc', 'sbp', 'iscsi', 'fc', 'fcoe', 'spi', 'virtio']);
const SHOWN_NAMES = 5;

const BITLOCKER_HOW =
  'BitLocker-encrypt it once on Windows with a numerical password (or buy it encrypted), open it with ' +
  '`cryptsetup open --type bitlk` or dislocker, mount the NTFS inside with ntfs-3g, give the password with ' +
  '--bitlocker-key (docs/check.md)';

function isFuse(fsType: string): boolean {
  return fsType === 'fuse' || fsType === 'fuseblk' || fsType.startsWith('fuse.');
}

/** How the volume sits on BitLocker, if it does. */
export function bitlockerOf(s: StorageFacts): 'cryptsetup' | 'dislocker' | undefined {
  if (s.layers.some((l) => l.kind === 'dm' && l.dmUuid?.startsWith('CRYPT-BITLK-'))) return 'cryptsetup';
  const b = s.backing;
  const name = b?.file.slice(b.file.lastIndexOf('/') + 1);
  if (b && name === 'dislocker-file' && isFuse(b.fsType) && `${b.fsType} ${b.source}`.includes('dislocker')) return 'dislocker';
  return undefined;
}

function fmtTB(bytes: number): string {
  return `${(bytes / 1e12).toFixed(bytes < 1e12 ? 3 : 1)} TB`;
}

/** Judge every drive and the job; the order of `drives` is kept. */
export function judgeServiceReadiness(drives: readonly DriveFacts[], job: JobFacts): ServiceCheckResult {
  const checks = drives.map((d) => ({ path: d.path, findings: judgeDrive(d, job) }));
  const findings = judgeJob(drives, job);
  const ok = findings.every((f) => f.severity !== 'error') && checks.every((c) => c.findings.every((f) => f.severity !== 'error'));
  return { ok, drives: checks, findings };
}

function judgeDrive(d: DriveFacts, job: JobFacts): CheckFinding[] {
  const out: CheckFinding[] = [];
  const add = (rule: CheckRule, severity: CheckSeverity, message: string, fix: string) => out.push({ drive: d.path, rule, severity, message, fix });
  if (d.expectDriveId !== undefined && (d.root === undefined || d.driveJson?.driveId !== d.expectDriveId)) {
    const now = d.driveJson ? ` (drive ${d.driveJson.driveId} is there now)` : '';
    add('drive', 'warning', `drive ${d.expectDriveId} is not attached at ${d.path}${now}: its file system, BitLocker volume and attachment were not checked`, `attach it and run seedship check --drive <its mount path> --session ${job.sessionDir ?? '<dir>'}`);
    judgeKey(d, undefined, add);
    return out;
  }
  if (d.root === undefined) {
    add('drive', 'error', 'does not exist or is not a directory', 'mount the drive and give its mount path');
    return out;
  }
  judgeContents(d, job, add);
  const s = d.storage;
  if (!s) {
    add('drive', 'warning', `the mount table or sysfs could not be read (${d.storageError ?? 'unknown'}): file system, BitLocker and attachment not checked`, 'run seedship check on the machine the drive is attached to, as root');
    judgeKey(d, undefined, add);
    judgeSessionOnDrive(d, job, add);
    return out;
  }
  if (s.mountPoint !== d.root) {
    add('mount', 'error', `is a folder on the volume mounted at ${s.mountPoint}, not a volume of its own: the service reads the manifest at the root of the drive's first volume`, 'give the mount path of the drive itself (a whole NTFS volume)');
  }
  judgeFileSystem(s, add);
  judgeSize(s, add);
  const bitlocker = bitlockerOf(s);
  if (!bitlocker) {
    const other = s.layers.find((l) => l.kind === 'dm' && l.dmUuid?.startsWith('CRYPT-'))?.dmUuid?.split('-')[1];
    const what = other ? `dm-crypt ${other}, which is not BitLocker` : 'no BitLocker device under it';
    add('bitlocker', 'error', `the volume (${s.source}) is not inside BitLocker (${what}); the service imports only BitLocker volumes (seedship's --encrypt is not BitLocker)`, BITLOCKER_HOW);
  }
  judgeKey(d, bitlocker, add);
  judgeTransport(s, bitlocker, add);
  judgeSessionOnDrive(d, job, add);
  if (!job.settings && d.driveJson?.encrypted) {
    add('encryption', 'error', "holds data encrypted with seedship's --encrypt: only seedship's own importer can read it", 'prepare it again in a session without --encrypt');
  }
  return out;
}

type Add = (rule: CheckRule, severity: CheckSeverity, message: string, fix: string) => void;

function judgeContents(d: DriveFacts, job: JobFacts, add: Add): void {
  if (d.driveJsonError !== undefined) {
    add('contents', 'error', `its seedship/drive.json cannot be read (${d.driveJsonError}): which job it belongs to is unknown`, 'use another drive, or erase this one if nothing on it is needed');
    return;
  }
  const dj = d.driveJson;
  if (dj) {
    if (job.jobId !== undefined && dj.jobId !== job.jobId) {
      add('contents', 'error', `is drive ${dj.driveId} of seedship job ${dj.job}, not of this session's job ${job.job ?? job.jobId}`, 'use another drive, or erase this one if that job is abandoned');
    }
    return;
  }
  if (d.names === undefined) {
    add('contents', 'error', 'its files cannot be listed', 'check that the drive is mounted and readable');
    return;
  }
  const other = d.names.filter((n) => !SYSTEM_NAMES.has(n.toLowerCase())).sort();
  if (other.length > 0) {
    const shown = other.slice(0, SHOWN_NAMES).map((n) => JSON.stringify(n)).join(', ');
    const more = other.length > SHOWN_NAMES ? ` and ${other.length - SHOWN_NAMES} more` : '';
    add('contents', 'error', `holds other files (${shown}${more}): it is neither empty nor a seedship drive of this job`, 'use an empty drive, or empty this one after checking nothing on it is needed');
  }
}

function judgeFileSystem(s: StorageFacts, add: Add): void {
  if (NTFS_TYPES.has(s.fsType)) return;
  if (isFuse(s.fsType) && s.bootOemId === 'NTFS') return; // ntfs-3g (fuseblk on a device, fuse on an image)
  if (isFuse(s.fsType) && s.bootOemId === undefined) {
    add('filesystem', 'warning', `${s.fsType} volume on ${s.source}: its first sector could not be read to confirm it is NTFS (ntfs-3g)`, 'run seedship check as root (it reads the boot sector of the device)');
    return;
  }
  const what = isFuse(s.fsType) ? `${s.fsType} with a ${s.bootOemId || 'non-NTFS'} boot sector` : s.fsType;
  add('filesystem', 'error', `file system ${what}: the service reads only NTFS (the drive's first volume)`, 'format the drive NTFS inside BitLocker (on Windows), then mount it with ntfs-3g or ntfs3');
}

function judgeSize(s: StorageFacts, add: Add): void {
  const disks = s.layers.filter((l) => l.kind === 'disk' && l.sizeBytes !== undefined);
  const disk = disks.length > 0 ? Math.max(...disks.map((l) => l.sizeBytes!)) : undefined;
  const bytes = disk ?? s.layers[0]?.sizeBytes ?? s.volumeBytes;
  if (bytes !== undefined && bytes > MAX_SERVICE_DRIVE_BYTES) {
    add('size', 'error', `the ${disk !== undefined ? 'disk' : 'volume'} holds ${fmtTB(bytes)}: the service takes drives of up to ${fmtTB(MAX_SERVICE_DRIVE_BYTES)}`, 'use drives of 10 TB or less');
  }
}

function judgeKey(d: DriveFacts, bitlocker: string | undefined, add: Add): void {
  const key = d.bitlockerKey;
  if (key) {
    const problem = checkBitLockerRecoveryPassword(key);
    if (problem) add('bitlocker-key', 'error', `its BitLocker key is not a numerical password: ${problem}`, 'give the 48-digit recovery password of the volume with --bitlocker-key');
    return;
  }
  // Without a BitLocker volume the missing volume is the finding; a key would not help.
  if (bitlocker !== undefined || !d.storage) {
    add('bitlocker-key', 'error', 'no BitLocker numerical password was given for it: the job must carry each drive\'s key', 'give the 48-digit recovery password with --bitlocker-key (to prepare and check), one per --drive in order');
  }
}

function judgeTransport(s: StorageFacts, bitlocker: string | undefined, add: Add): void {
  const disks = s.layers.filter((l): l is BlockLayer & { kind: 'disk' } => l.kind === 'disk');
  if (disks.length === 0) {
    if (bitlocker === 'dislocker') {
      add('transport', 'warning', 'behind dislocker: the disk dislocker reads is not in the mount table, so how it is attached was not checked', 'make sure it is an internal SATA/SAS drive (lsblk -o NAME,TRAN)');
    } else if (s.layers.some((l) => l.kind === 'loop')) {
      add('transport', 'error', `on a loop device (an image file${s.backing ? `, ${s.backing.file}` : ''}), not on a disk`, 'use a real SATA/SAS drive (images are fine for tests, not for shipping)');
    } else {
      add('transport', 'error', `not on a disk (${s.fsType} from ${s.source})`, 'use a real SATA/SAS drive (tmpfs and folders are fine for tests, not for shipping)');
    }
    return;
  }
  for (const disk of disks) {
    const t = disk.transport;
    if (t === 'sata' || t === 'sas') continue;
    if (t === 'usb') {
      add('transport', 'error', `disk ${disk.name} is attached by USB: the service takes bare SATA/SAS drives, not USB sticks or disks with a built-in USB bridge`, 'attach it to a SATA/SAS port; a bare SATA disk in a USB-to-SATA adaptor is allowed while preparing — ship it without the adaptor (job create --force)');
    } else if (t !== undefined && REFUSED_TRANSPORTS.has(t)) {
      add('transport', 'error', `disk ${disk.name} is attached by ${t}: the service takes SATA/SAS drives (2.5" SSD, 2.5"/3.5" HDD)`, 'use a SATA/SAS drive');
    } else if (t === 'ata') {
      add('transport', 'warning', `disk ${disk.name} is on an ATA host (PATA, or SATA in IDE mode): the service takes SATA II/III drives`, 'check it is a SATA drive (set the controller to AHCI to see it as sata)');
    } else {
      add('transport', 'warning', `how disk ${disk.name} is attached is unknown${t ? ` (${t})` : ''}`, 'make sure it is an internal SATA/SAS drive (lsblk -o NAME,TRAN)');
    }
  }
}

function judgeSessionOnDrive(d: DriveFacts, job: JobFacts, add: Add): void {
  const sess = job.sessionReal;
  if (!sess || !d.root) return;
  const inside = sess === d.root || sess.startsWith(d.root + '/');
  const sameVolume = d.storage !== undefined && d.storage.mountPoint === d.root && job.sessionStorage?.mountPoint === d.root;
  if (inside || sameVolume) {
    add('session-location', 'error', `the session dir ${job.sessionDir} is on this drive: its journal and keys would ship with it`, 'keep the session dir on the copy computer (--session DIR on another volume)');
  }
}

function judgeJob(drives: readonly DriveFacts[], job: JobFacts): CheckFinding[] {
  const out: CheckFinding[] = [];
  const add = (rule: CheckRule, severity: CheckSeverity, message: string, fix: string) => out.push({ drive: null, rule, severity, message, fix });
  const ids = new Set(job.sessionDriveIds);
  for (const d of drives) ids.add(d.expectDriveId ?? (d.driveJson && (job.jobId === undefined || d.driveJson.jobId === job.jobId) ? d.driveJson.driveId : `path:${d.root ?? d.path}`));
  if (ids.size > MAX_DRIVES_PER_JOB) {
    add('drive-count', 'error', `the job would have ${ids.size} drives (${job.sessionDriveIds.length} in the session, ${drives.length} given): one Import/Export job takes at most ${MAX_DRIVES_PER_JOB}`, `split the copy into jobs of at most ${MAX_DRIVES_PER_JOB} drives (one session each)`);
  }
  const s = job.settings;
  if (s?.codec === 'zstd') {
    add('codec', 'error', 'the session stores files compressed (--codec zstd): the service imports the bytes on the drive as they are, so only seedship\'s own importer reads these drives', 'start a new session with --codec none (a session keeps the codec it started with)');
  }
  if (s?.encrypt) {
    add('encryption', 'error', "the session encrypts with seedship's --encrypt (AES-256, keys in the session dir): the service cannot decrypt it", 'start a new session without --encrypt; the service needs BitLocker instead (--bitlocker-key)');
  }
  if (s && s.codec === 'none' && s.blobType === 'block' && !s.serviceStrict) {
    add('layout', 'warning', 'without --service-strict a block blob may be split across drives, which the documented manifest format does not allow', 'start the session with --service-strict (each block blob stays whole on one drive)');
  }
  if (job.sessionReal && job.staging && (job.sessionReal === job.staging || job.sessionReal.startsWith(job.staging + '/'))) {
    add('session-location', 'warning', `the session dir ${job.sessionDir} is inside staging ${job.staging}: a backup or copy of staging carries its keys (BitLocker passwords, --encrypt keys, a container SAS)`, 'keep the session dir outside staging (--session DIR)');
  }
  return out;
}
