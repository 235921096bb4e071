import type { FileSystem } from '../../native/interfaces.js';
import { SeedshipError } from '../errors.js';

/** Where seedship keeps its own files on a drive. */
export const DRIVE_DIR = 'seedship';
export const DRIVE_JSON = 'seedship/drive.json';
/** Placeholder that keeps room for the manifest; deleted just before the manifest is written. */
export const MANIFEST_RESERVE = 'seedship/manifest.reserve';
/**
 * An empty placeholder that keeps one inode for sealing: the manifest takes the reserve file's
 * inode, and the atomic rewrite of drive.json needs one more, on a drive whose small files used
 * up every inode (ENOSPC with bytes to spare). Deleted with the reserve file.
 */
export const INODE_RESERVE = 'seedship/inode.reserve';

/** `seedship/drive.json`: a drive's identity and state. Never holds a secret. */
export interface DriveJson {
  readonly format: 1;
  readonly tool: 'seedship';
  readonly job: string;
  readonly jobId: string;
  readonly driveId: string;
  readonly seq: number;
  readonly container: string;
  readonly encrypted: boolean;
  readonly sealed: boolean;
  readonly manifestHash?: string;
}

export async function readDriveJson(fs: FileSystem, root: string): Promise<DriveJson | undefined> {
  const path = `${root}/${DRIVE_JSON}`;
  const b = await fs.readFileIfExists(path);
  if (!b) return undefined;
  try {
    const j = JSON.parse(b.toString('utf8')) as DriveJson;
    if (j.tool !== 'seedship' || typeof j.driveId !== 'string' || typeof j.jobId !== 'string') throw new Error('not a seedship drive file');
    return j;
  } catch (err) {
    throw new SeedshipError('E_INTEGRITY', `${path} is damaged (${(err as Error).message}); this drive's identity is unknown — use a fresh drive or restore the file`, { path, cause: err });
  }
}

export async function writeDriveJson(fs: FileSystem, root: string, j: DriveJson): Promise<void> {
  await fs.mkdir(`${root}/${DRIVE_DIR}`);
  await fs.writeFileAtomic(`${root}/${DRIVE_JSON}`, JSON.stringify(j, null, 2) + '\n');
}

const ID_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A drive id seedship makes where the OS gives no hardware serial: `SS` + 10 characters, no spaces. */
export function generateDriveId(random: Uint8Array): string {
  let s = 'SS';
  for (let i = 0; i < 10; i++) s += ID_ALPHABET[(random[i] ?? 0) % ID_ALPHABET.length];
  return s;
}

/** A hardware serial usable as DriveId: printable, no spaces, not empty. */
export function usableSerial(serial: string | undefined): string | undefined {
  const s = serial?.replace(/\s+/g, '');
  return s && /^[\x21-\x7e]{1,64}$/.test(s) ? s : undefined;
}
