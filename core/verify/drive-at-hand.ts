/**
 * Whether the drive at a path is the one a caller expected, from its drive.json and its
 * manifest's DriveId.
 */
import type { DriveJson } from '../drives/drive-identity.js';

/**
 * The drive a caller expected at a path is not there: nothing of it can be read back. `found` is
 * the DriveId that is at the path (from its `seedship/drive.json`, else from its manifest),
 * undefined when the path holds no drive seedship or a manifest can name. `reason` is one sentence
 * for the user.
 */
export interface DriveAbsence {
  readonly found: string | undefined;
  readonly reason: string;
}

/** Which drive a caller believes is at a path: its DriveId and, when known, its job's id. */
export interface ExpectedDrive {
  readonly driveId: string;
  readonly jobId: string | undefined;
}

/**
 * Decide whether the drive at `root` is the expected one, from what identifies it: its
 * `drive.json` (undefined when there is none, `'damaged'` when it cannot be read as one) and the
 * DriveId its manifest names (undefined without a readable manifest). `drive.json` decides when
 * it is readable: another DriveId, or the same DriveId of another job (a drive erased and
 * prepared again), is another drive. Without a usable `drive.json` the manifest's DriveId decides.
 * Returns undefined when the expected drive is at hand: whatever is wrong with it then is a
 * problem of that drive, not its absence.
 */
export function driveAbsence(
  root: string,
  dj: DriveJson | 'damaged' | undefined,
  manifestDriveId: string | undefined,
  expect: ExpectedDrive,
): DriveAbsence | undefined {
  if (dj !== undefined && dj !== 'damaged') {
    if (expect.jobId !== undefined && dj.jobId !== expect.jobId) {
      return {
        found: dj.driveId,
        reason: `${root} holds drive ${dj.driveId} of job ${dj.job}, not drive ${expect.driveId} of this job`,
      };
    }
    if (dj.driveId !== expect.driveId)
      return { found: dj.driveId, reason: `${root} holds drive ${dj.driveId}, not drive ${expect.driveId}` };
    return undefined;
  }
  if (manifestDriveId === expect.driveId) return undefined;
  const what = dj === 'damaged' ? 'an unreadable seedship/drive.json' : 'no seedship/drive.json';
  if (manifestDriveId === undefined)
    return {
      found: undefined,
      reason: `${root} holds ${what} and no manifest naming a drive, not drive ${expect.driveId}`,
    };
  return {
    found: manifestDriveId,
    reason: `${root} holds ${what} and the manifest of drive ${manifestDriveId}, not drive ${expect.driveId}`,
  };
}
