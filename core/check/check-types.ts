/** The types of the service check: findings, the facts it judges, its result. */
import type { Codec, StorageFacts } from '../../native/interfaces.js';
import type { DriveJson } from '../drives/drive-identity.js';

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
/** A finding-adding function of one drive (or the job): `drive` is filled in. */
export type AddFinding = (rule: CheckRule, severity: CheckSeverity, message: string, fix: string) => void;
