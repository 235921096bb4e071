import type { ChunkProcessor, NativeDeps } from '../../native/interfaces.js';
import { errnoCode } from '../errors/errors.js';
import type { DriveState } from '../journal/journal-state.js';
import { RecordType } from '../journal/record-codec.js';
import type { BlobNaming } from '../journal/drive-blobs.js';
import { blobTweakSeed } from '../chunks/chunk-task.js';
import { verifyDrive, type VerifyProblem } from '../verify/verify-drive.js';
import { READS_IN_FLIGHT_PER_DRIVE } from '../verify/verify-drives.js';
import type { OpenSession } from './open-session.js';

/** How a sealed drive's read-back went. */
export type ReadBackOutcome =
  | { readonly kind: 'ok' }
  /** The drive at the path is not this drive (swapped, or unmounted): not read back yet, not failed. */
  | { readonly kind: 'absent'; readonly found: string | undefined }
  | { readonly kind: 'failed'; readonly problems: readonly VerifyProblem[]; readonly message: string };

/** What reading a drive back needs. */
export interface ReadBackRequest {
  readonly deps: NativeDeps;
  readonly pool: ChunkProcessor;
  readonly session: OpenSession;
  readonly naming: BlobNaming;
  readonly drive: DriveState;
  readonly root: string;
  readonly key: Uint8Array | undefined;
  readonly signal: AbortSignal;
  readonly onBytes?: ((n: number) => void) | undefined;
}

/**
 * Read a sealed drive back (invariant 7, docs/invariants.md) and journal it verified when every block and metadata
 * file matches. The drive's identity is checked first: another disk at the same mount path (the
 * one-bay swap) is "not at hand", never a failed drive. The reads come from the media (verify
 * drops each file's cached pages first), so the bytes checked are the bytes that ship.
 */
export async function readBackDrive(r: ReadBackRequest): Promise<ReadBackOutcome> {
  const { deps, pool, session: s, naming, drive: d, root, key, signal, onBytes } = r;
  let res: Awaited<ReturnType<typeof verifyDrive>>;
  try {
    res = await verifyDrive(deps.fs, pool, root, {
      session: {
        journalPath: s.journalPath,
        naming,
        seq: d.seq,
        key,
        tweakSeed: (p) => blobTweakSeed(s.settings.jobId, p),
        manifestHash: d.manifestHash,
      },
      expectDriveId: d.driveId,
      expectJobId: s.settings.jobId,
      // Drives are read back at once through one pool: a few reads each keep every drive busy.
      inFlight: READS_IN_FLIGHT_PER_DRIVE,
      signal,
      ...(onBytes ? { onBytes } : {}),
    });
  } catch (err) {
    // The drive went away under the read (unplugged, or swapped in its bay): not at hand, not failed.
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTCONN' || code === 'ENODEV' || code === 'ENXIO')
      return { kind: 'absent', found: `gone (${code})` };
    // The drive answers, but not with its bytes: a failed read-back.
    if (code === 'EIO' || code === 'EUCLEAN' || code === 'EREMOTEIO') {
      return {
        kind: 'failed',
        problems: [],
        message: `drive ${d.driveId} failed its read-back: ${code} (${(err as Error).message}); do not ship it`,
      };
    }
    throw err;
  }
  if (res.absent) return { kind: 'absent', found: res.absent.found };
  if (res.problems.length > 0) {
    const first = res.problems[0]!;
    return {
      kind: 'failed',
      problems: res.problems,
      message:
        `drive ${d.driveId} failed its read-back: ${first.blobPath} block ${first.block}: ${first.message} ` +
        `(${res.problems.length} problem(s)); do not ship it (seedship verify lists every problem)`,
    };
  }
  s.journal.append({ type: RecordType.DriveVerified, drive: d.seq });
  s.state.apply({ type: RecordType.DriveVerified, drive: d.seq });
  return { kind: 'ok' };
}
