/** Counts the blobs and bytes a drive's manifest lists. */
import type { FileSystem } from '../../native/interfaces.js';
import { MANIFEST_NAME } from './drive-manifest.js';
import { parseDriveManifest, type ManifestHeader } from './manifest-parser.js';

/** What a drive's manifest lists: its blobs and the bytes of their blocks and page ranges. */
export interface ManifestTotals {
  readonly blobs: number;
  readonly bytes: number;
  /** `<DriveId>`, when the manifest names one. */
  readonly driveId: string | undefined;
}

/**
 * Count a drive's manifest, for a step's progress totals before the step reads the drive. One pass
 * over the manifest alone (a small part of the drive's bytes). Undefined when there is no manifest
 * or it does not parse: the step itself reports that in its own words, and this must not.
 */
export async function manifestTotals(
  fs: FileSystem,
  root: string,
  signal: AbortSignal,
): Promise<ManifestTotals | undefined> {
  const header: ManifestHeader = {
    version: undefined,
    driveId: undefined,
    hasAccountKey: false,
    containerSas: undefined,
  };
  let blobs = 0;
  let bytes = 0;
  try {
    for await (const b of parseDriveManifest(fs, `${root}/${MANIFEST_NAME}`, header)) {
      signal.throwIfAborted();
      blobs++;
      for (const r of b.ranges) bytes += r.length;
    }
  } catch (err) {
    if (signal.aborted) throw err;
    return undefined;
  }
  return { blobs, bytes, driveId: header.driveId };
}
