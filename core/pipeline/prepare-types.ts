import type { Codec, EntryKind } from '../../native/interfaces.js';
import type { ImportDisposition } from '../manifest/drive-manifest.js';
import type { SkippedEntry } from '../staging/scan.js';
import type { ProgressBoard } from '../util/progress.js';

/** What the user asks of `prepare`. Unset fields take the session's value or the default. */
export interface PrepareOptions {
  readonly staging: string;
  readonly job?: string | undefined;
  readonly drives: readonly string[];
  readonly session?: string | undefined;
  readonly container?: string | undefined;
  readonly codec?: Codec | undefined;
  readonly level?: number | undefined;
  readonly blobType?: 'block' | 'page' | undefined;
  readonly encrypt?: boolean | undefined;
  /** BitLocker numerical passwords of the drives, in the order of `drives` (already encrypted elsewhere). */
  readonly bitlockerKeys?: readonly string[] | undefined;
  readonly threads?: number | undefined;
  readonly verify?: boolean | undefined;
  readonly containerSas?: string | undefined;
  readonly disposition?: ImportDisposition | undefined;
  /** Write at most this many bytes to each drive. */
  readonly driveLimit?: number | undefined;
  /** Allow a drive on the staging volume (tests, demos). */
  readonly allowStagingVolume?: boolean | undefined;
  /** Never split a block blob across drives (the service's documented format). */
  readonly serviceStrict?: boolean | undefined;
}

/** How the engine talks to its caller. */
export interface PrepareIO {
  /**
   * The counters the run bumps (files and raw bytes on its total track, a track per drive with
   * its stored bytes, fill and state; phases scan, copy, seal, read-back, done). The caller shows
   * them as it likes; without one the run keeps its own.
   */
  readonly board?: ProgressBoard | undefined;
  notice(level: 'info' | 'warning', message: string): void;
  /** The session dir is open (locked, settings read): the caller's run log can go there now. */
  sessionReady?: (dir: string) => void;
  /**
   * Ask for the mount path of the next drive, when interactive. Return undefined to stop (the run
   * then ends with status `needs-drive`). Absent when not interactive.
   */
  askNextDrive?: (info: {
    sealedDriveId: string;
    rawRemaining: number;
    filesRemaining: number;
  }) => Promise<string | undefined>;
}

export interface DriveSummary {
  readonly seq: number;
  readonly driveId: string;
  readonly path: string;
  /** `failed`: the drive failed (EIO, gone) before it was sealed; do not ship it. */
  readonly status: 'open' | 'full' | 'sealed' | 'failed';
  readonly storedBytes: number;
  readonly rawBytes: number;
  readonly blobs: number;
  readonly manifestHash: string | undefined;
  readonly driveInfoFile: string | undefined;
  readonly verified: boolean | undefined;
}

export interface PrepareResult {
  readonly status: 'done' | 'needs-drive';
  readonly job: string;
  readonly sessionDir: string;
  readonly container: string;
  readonly drives: readonly DriveSummary[];
  /** Staged entries of every kind (regular files, directories, symlinks, special files). */
  readonly files: { readonly total: number; readonly done: number; readonly skipped: number };
  /**
   * With status `needs-drive`: entries in the part of staging earlier runs visited that are still
   * on no drive (skipped then, or added since), which a drive with room will take: their count and
   * the first paths (up to 1,000). Zero and empty otherwise.
   */
  readonly missing: { readonly count: number; readonly paths: readonly string[] };
  /** Staged entries by kind. */
  readonly entries: Readonly<Record<EntryKind, number>>;
  /**
   * Names NTFS would not keep (mapped on the drive) and names no blob can carry (escaped in the
   * account), listed in `file`.
   */
  readonly names: { readonly mapped: number; readonly escaped: number; readonly file: string | undefined };
  readonly bytes: { readonly raw: number; readonly stored: number; readonly rawTotal: number };
  readonly skipped: readonly SkippedEntry[];
  readonly skippedFile: string | undefined;
  readonly elapsedMs: number;
  readonly resumed: boolean;
  readonly rawRemaining: number;
}
