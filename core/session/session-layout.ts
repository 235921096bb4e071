/** Where a session's files live: the default session dir and the file names inside it. */
import { join } from 'node:path';

/** Name of the folder under staging that holds sessions; never copied. */
export const SESSION_ROOT_NAME = '.seedship';

/**
 * Where a session keeps its files. Default session dir: `<staging>/.seedship/<job>/`, which is how
 * the DiskPrep flow finds "the jobs associated with a staging location".
 */
export function defaultSessionDir(staging: string, job: string): string {
  return join(staging, SESSION_ROOT_NAME, job);
}

/** Files inside a session dir. */
export const sessionFiles = {
  /** seedship's binary write-ahead journal. */
  journal: (dir: string) => join(dir, 'journal.sjr'),
  /** WAImportExport-style text journal of the job (`<job>.jrn`). */
  jrn: (dir: string, job: string) => join(dir, `${job}.jrn`),
  /** The session's settings (job, container, codec…), written at the first run. */
  settings: (dir: string) => join(dir, 'session.json'),
  /** Per-drive drive-info file, `<DriveId>.xml` (mode 0600: may hold a BitLocker key). */
  driveInfo: (dir: string, driveId: string) => join(dir, `${driveId}.xml`),
  /** Per-drive encryption key for `--encrypt` (mode 0600). */
  key: (dir: string, driveId: string) => join(dir, 'keys', `${driveId}.key`),
  keysDir: (dir: string) => join(dir, 'keys'),
  /** One prepare at a time. */
  lock: (dir: string) => join(dir, 'lock'),
  /** Skipped-entries report of the last run. */
  skipped: (dir: string) => join(dir, 'skipped.txt'),
  /** Entries whose drive name was mapped or blob name escaped. */
  names: (dir: string) => join(dir, 'names.txt'),
  /** Staged files this session's settings cannot store, when a run stopped for them. */
  problems: (dir: string) => join(dir, 'problems.txt'),
};
