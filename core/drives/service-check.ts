import type { Codec, StorageFacts } from '../../native/interfaces.js';
import { MAX_DRIVES_PER_JOB } from '../job/job-rules.js';
import type { DriveJson } from './drive-identity.js';
import { judgeDrive } from './drive-checks.js';

export { bitlockerOf, MAX_SERVICE_DRIVE_BYTES } from './drive-checks.js';

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


/** Judge every drive and the job; the order of `drives` is kept. */
export function judgeServiceReadiness(drives: readonly DriveFacts[], job: JobFacts): ServiceCheckResult {
  const checks = drives.map((d) => ({ path: d.path, findings: judgeDrive(d, job) }));
  const findings = judgeJob(drives, job);
  const clean = (fs: readonly CheckFinding[]) => fs.every((f) => f.severity !== 'error');
  return { ok: clean(findings) && checks.every((c) => clean(c.findings)), drives: checks, findings };
}

/** A finding-adding function of one drive (or the job): `drive` is filled in. */
export type AddFinding = (rule: CheckRule, severity: CheckSeverity, message: string, fix: string) => void;

/** The id a drive has (or will have) in the job, to count the job's drives. */
function countedId(d: DriveFacts, job: JobFacts): string {
  if (d.expectDriveId !== undefined) return d.expectDriveId;
  const own = d.driveJson && (job.jobId === undefined || d.driveJson.jobId === job.jobId);
  return own ? d.driveJson!.driveId : `path:${d.root ?? d.path}`;
}

function judgeJob(drives: readonly DriveFacts[], job: JobFacts): CheckFinding[] {
  const out: CheckFinding[] = [];
  const add: AddFinding = (rule, severity, message, fix) => out.push({ drive: null, rule, severity, message, fix });
  const ids = new Set(job.sessionDriveIds);
  for (const d of drives) ids.add(countedId(d, job));
  if (ids.size > MAX_DRIVES_PER_JOB) {
    add(
      'drive-count',
      'error',
      `the job would have ${ids.size} drives (${job.sessionDriveIds.length} in the session, ${drives.length} given): ` +
        `one Import/Export job takes at most ${MAX_DRIVES_PER_JOB}`,
      `split the copy into jobs of at most ${MAX_DRIVES_PER_JOB} drives (one session each)`,
    );
  }
  const s = job.settings;
  if (s?.codec === 'zstd') {
    add(
      'codec',
      'error',
      'the session stores files compressed (--codec zstd): the service imports the bytes on the drive as they are, ' +
        "so only seedship's own importer reads these drives",
      'start a new session with --codec none (a session keeps the codec it started with)',
    );
  }
  if (s?.encrypt) {
    add(
      'encryption',
      'error',
      "the session encrypts with seedship's --encrypt (AES-256, keys in the session dir): " +
        'the service cannot decrypt it',
      'start a new session without --encrypt; the service needs BitLocker instead (--bitlocker-key)',
    );
  }
  if (s && s.codec === 'none' && s.blobType === 'block' && !s.serviceStrict) {
    add(
      'layout',
      'warning',
      'without --service-strict a block blob may be split across drives, ' +
        'which the documented manifest format does not allow',
      'start the session with --service-strict (each block blob stays whole on one drive)',
    );
  }
  const sess = job.sessionReal;
  if (sess && job.staging && (sess === job.staging || sess.startsWith(job.staging + '/'))) {
    add(
      'session-location',
      'warning',
      `the session dir ${job.sessionDir} is inside staging ${job.staging}: ` +
        'a backup or copy of staging carries its keys (BitLocker passwords, --encrypt keys, a container SAS)',
      'keep the session dir outside staging (--session DIR)',
    );
  }
  return out;
}
