/** Judges whether the Import/Export service can import a set of drives as one job. */
import { MAX_DRIVES_PER_JOB } from '../job/job-rules.js';
import { judgeDrive } from './drive-checks.js';
import type { CheckFinding, ServiceCheckResult, DriveFacts, JobFacts, AddFinding } from './check-types.js';
export type * from './check-types.js';

export { bitlockerOf, MAX_SERVICE_DRIVE_BYTES } from './drive-checks.js';

export function judgeServiceReadiness(drives: readonly DriveFacts[], job: JobFacts): ServiceCheckResult {
  const checks = drives.map((d) => ({ path: d.path, findings: judgeDrive(d, job) }));
  const findings = judgeJob(drives, job);
  const clean = (fs: readonly CheckFinding[]) => fs.every((f) => f.severity !== 'error');
  return { ok: clean(findings) && checks.every((c) => clean(c.findings)), drives: checks, findings };
}

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
  if (sess && job.staging && (sess === job.staging || sess.startsWith(`${job.staging}/`))) {
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
