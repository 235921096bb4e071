import type { ChunkProcessor, FileSystem } from '../../native/interfaces.js';
import { SeedshipError } from '../errors.js';
import { blobTweakSeed } from '../restore/chunk-task.js';
import { matchDrives, openSessionView } from '../session/session-view.js';
import { verifyDrive, type DriveVerifyResult } from './verify-drive.js';

/**
 * `verify`: read every given drive back against its manifest; with a session, also against the
 * journal (decrypt, decompress, XXH64). Returns one result per drive; problems are in the results.
 * With a session, every drive must be one of the session's job (E_DRIVE_FOREIGN, or E_USAGE for a
 * path that is no seedship drive, before anything is read back).
 */
export async function runVerify(
  fs: FileSystem,
  pool: ChunkProcessor,
  opts: { drives: readonly string[]; session: string | undefined; signal: AbortSignal; onBytes?: (n: number) => void },
): Promise<DriveVerifyResult[]> {
  const view = opts.session ? await openSessionView(fs, opts.session) : undefined;
  const seqs = view ? await matchDrives(fs, view, opts.drives) : undefined;
  const out: DriveVerifyResult[] = [];
  for (const input of opts.drives) {
    const root = await fs.realpath(input).catch((err: unknown) => {
      throw new SeedshipError('E_USAGE', `drive ${input} does not exist; pass the mount path of a prepared drive`, { path: input, cause: err });
    });
    let session;
    let expect;
    if (view && seqs) {
      const seq = [...seqs.entries()].find(([, r]) => r === root)![0];
      const d = view.state.drive(seq);
      session = { journalPath: view.journalPath, naming: view.naming, seq, key: await view.keyOf(d.driveId), tweakSeed: (p: string) => blobTweakSeed(view.settings.jobId, p), manifestHash: d.manifestHash };
      expect = { expectDriveId: d.driveId, expectJobId: view.settings.jobId };
    }
    const res = await verifyDrive(fs, pool, root, { session, signal: opts.signal, ...expect, ...(opts.onBytes ? { onBytes: opts.onBytes } : {}) });
    if (res.absent) {
      // matchDrives read this drive's drive.json a moment ago; it was swapped or changed since.
      throw new SeedshipError('E_DRIVE_FOREIGN', `drive ${input}: ${res.absent.reason}; pass the mount path of drive ${expect?.expectDriveId} of this session`, { path: input });
    }
    out.push(res);
  }
  return out;
}
