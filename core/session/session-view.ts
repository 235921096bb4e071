/** A read-only view of a session (settings and replayed journal) and matching its drives. */
import type { FileSystem } from '../../native/interfaces.js';
import { SeedshipError } from '../errors/errors.js';
import { JournalReader } from '../journal/journal-reader.js';
import { JournalState } from '../journal/journal-state.js';
import type { BlobNaming } from '../journal/drive-blobs.js';
import { readDriveJson } from '../drives/drive-identity.js';
import { sessionFiles } from './session-layout.js';
import { readSettings, type SessionSettings } from './session-settings.js';
import { blobSuffix } from '../manifest/naming.js';

/** A session opened read-only (verify, restore, import): settings, replayed state, keys. */
export interface SessionView {
  readonly dir: string;
  readonly settings: SessionSettings;
  readonly state: JournalState;
  readonly journalPath: string;
  readonly naming: BlobNaming;
  keyOf(driveId: string): Promise<Uint8Array | undefined>;
}

export async function openSessionView(fs: FileSystem, dir: string): Promise<SessionView> {
  const settings = await readSettings(fs, dir);
  if (!settings)
    throw new SeedshipError(
      'E_USAGE',
      `${dir} is not a seedship session dir (no session.json); pass the --session of the prepare run`,
      { path: dir },
    );
  const journalPath = sessionFiles.journal(dir);
  if (!(await fs.exists(journalPath)))
    throw new SeedshipError('E_JOURNAL_CORRUPT', `session ${dir} has no journal (${journalPath})`, {
      path: journalPath,
    });
  const state = new JournalState(settings.container, blobSuffix(settings.codec));
  const reader = new JournalReader(fs, journalPath);
  for await (const r of reader.records()) {
    if (reader.version !== undefined) state.setJournalVersion(reader.version);
    state.apply(r);
  }
  if (reader.jobId?.toString('hex') !== settings.jobId)
    throw new SeedshipError('E_JOURNAL_CORRUPT', `journal ${journalPath} does not belong to this session's job`, {
      path: journalPath,
    });
  const naming: BlobNaming = {
    container: settings.container,
    suffix: blobSuffix(settings.codec),
    codec: settings.codec,
    kind: settings.blobType,
    disposition: settings.disposition,
  };
  return {
    dir,
    settings,
    state,
    journalPath,
    naming,
    keyOf: async (driveId) => {
      if (!settings.encrypt) return undefined;
      const b = await fs.readFileIfExists(sessionFiles.key(dir, driveId));
      if (!b)
        throw new SeedshipError(
          'E_INTEGRITY',
          `the encryption key of drive ${driveId} is missing from ${dir}; its data cannot be read`,
          { path: dir },
        );
      return new Uint8Array(Buffer.from(b.toString('utf8').trim(), 'hex'));
    },
  };
}

/** Map the drive paths given to the drives of a session, by the id in each drive's drive.json. */
export async function matchDrives(
  fs: FileSystem,
  view: SessionView,
  paths: readonly string[],
): Promise<Map<number, string>> {
  const bySeq = new Map<number, string>();
  for (const p of paths) {
    const root = await fs.realpath(p).catch((err: unknown) => {
      throw new SeedshipError('E_USAGE', `drive ${p} does not exist; pass the mount path of a prepared drive`, {
        path: p,
        cause: err,
      });
    });
    const dj = await readDriveJson(fs, root);
    if (!dj) throw new SeedshipError('E_USAGE', `${p} is not a seedship drive (no seedship/drive.json)`, { path: p });
    if (dj.jobId !== view.settings.jobId)
      throw new SeedshipError(
        'E_DRIVE_FOREIGN',
        `drive ${p} (${dj.driveId}) belongs to job ${dj.job}, not to this session's job ${view.settings.job}`,
        { path: p },
      );
    const d = view.state.drives.find((x) => x?.driveId === dj.driveId);
    if (!d)
      throw new SeedshipError('E_USAGE', `drive ${p} (${dj.driveId}) is not in this session's journal`, { path: p });
    bySeq.set(d.seq, root);
  }
  return bySeq;
}
