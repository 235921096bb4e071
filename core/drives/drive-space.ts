/**
 * Drive-space accounting: how much of a drive's budget data files, segment starts and the manifest
 * reserve take, and what room is left. One formula for the engine, the journal's replay and `plan`
 * (docs/architecture.md, "Drive space").
 */

/** What the room of a drive depends on (the journal's `DriveState` is one). */
export interface DriveSpace {
  /** Bytes the drive may hold in all. */
  readonly budget: number;
  /** Estimated space used by data files (allocation-rounded, with per-file overhead). */
  readonly usedBytes: number;
  /** Upper bound of the manifest's size. */
  readonly manifestBytes: number;
}

/** Space a file system takes per file beyond its data (inode, directory entry), counted generously. */
export const PER_FILE_OVERHEAD_BYTES = 4096;
/** Allocation unit assumed for data (ext4, NTFS and tmpfs all use 4 KiB by default). */
export const ALLOC_UNIT_BYTES = 4096;
/** Room kept for drive.json and the manifest's temp/rename, beyond the manifest itself. */
export const DRIVE_FIXED_RESERVE_BYTES = 256 * 1024;
/** The manifest reserve file grows in steps of this many bytes. */
export const RESERVE_STEP_BYTES = 1024 * 1024;

/** Allocation estimate of one segment's drive file. */
export function segmentAllocBytes(dataBytes: number): number {
  return Math.ceil(dataBytes / ALLOC_UNIT_BYTES) * ALLOC_UNIT_BYTES + PER_FILE_OVERHEAD_BYTES;
}

/** What a new segment takes before its data: its (empty) data file and its metadata file. */
export const SEGMENT_START_BYTES = segmentAllocBytes(0) + ALLOC_UNIT_BYTES + PER_FILE_OVERHEAD_BYTES;

/** Size the reserve file must have to keep room for a manifest of `manifestBytes`. */
export function reserveBytesFor(manifestBytes: number): number {
  return Math.ceil((manifestBytes + DRIVE_FIXED_RESERVE_BYTES) / RESERVE_STEP_BYTES) * RESERVE_STEP_BYTES;
}

/** Bytes still free for data on a drive under its budget. */
export function driveRoom(d: DriveSpace): number {
  return d.budget - d.usedBytes - reserveBytesFor(d.manifestBytes);
}
