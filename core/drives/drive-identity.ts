/** A drive's own files (`seedship/drive.json` and the reserves) and reading its identity. */
import type { FileSystem } from '../../native/interfaces.js';
import { SeedshipError } from '../errors/errors.js';
import { MANIFEST_NAME } from '../manifest/drive-manifest.js';

/** Where seedship keeps its own files on a drive. */
export const DRIVE_DIR = 'seedship';
export const DRIVE_JSON = 'seedship/drive.json';
/**
 * Placeholder that keeps room (and an inode) for the manifest: the seal renames it to the
 * manifest's temp file and writes over its bytes (`takeSealInode`).
 */
export const MANIFEST_RESERVE = 'seedship/manifest.reserve';
/**
 * An empty placeholder that keeps the second inode the seal needs: the temp file of drive.json's
 * atomic rewrite is this file renamed, on a drive whose small files used up every inode (ENOSPC
 * with bytes to spare).
 */
export const INODE_RESERVE = 'seedship/inode.reserve';
/** The seal's temp files: the manifest's, and drive.json's (fixed names: a re-seal reuses a leftover). */
export const MANIFEST_SEAL_TMP = `${DRIVE_DIR}/.${MANIFEST_NAME}.tmp`;
export const DRIVE_JSON_SEAL_TMP = `${DRIVE_DIR}/.drive.json.seal.tmp`;
/**
 * Files whose inode a temp file of the seal takes, in this order: the reserve files, then a
 * leftover of the other temp file (a seal killed halfway; it is rewritten anyway).
 */
const SEAL_SPARES = [MANIFEST_RESERVE, INODE_RESERVE, MANIFEST_SEAL_TMP, DRIVE_JSON_SEAL_TMP] as const;

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
    if (j.tool !== 'seedship' || typeof j.driveId !== 'string' || typeof j.jobId !== 'string')
      throw new SeedshipError('E_INTEGRITY', 'not a seedship drive file', { path });
    return j;
  } catch (err) {
    throw new SeedshipError(
      'E_INTEGRITY',
      `${path} is damaged (${(err as Error).message}); ` +
        `this drive's identity is unknown — use a fresh drive or restore the file`,
      { path, cause: err },
    );
  }
}

export async function writeDriveJson(fs: FileSystem, root: string, j: DriveJson): Promise<void> {
  await fs.mkdir(`${root}/${DRIVE_DIR}`);
  await fs.writeFileAtomic(`${root}/${DRIVE_JSON}`, formatDriveJson(j));
}

/**
 * Rewrite drive.json at the seal, atomically (temp file, sync, rename, fsync dir) like
 * `writeDriveJson`, but through a temp file that takes its inode from a reserve file
 * (`takeSealInode`): on a drive out of inodes nothing else can have taken that one.
 */
export async function sealDriveJson(fs: FileSystem, root: string, j: DriveJson): Promise<void> {
  const data = Buffer.from(formatDriveJson(j), 'utf8');
  const tmp = `${root}/${DRIVE_JSON_SEAL_TMP}`;
  const h = await fs.open(tmp, await takeSealInode(fs, root, DRIVE_JSON_SEAL_TMP));
  try {
    await h.write(data, 0);
    await h.truncate(data.length);
    await h.sync();
  } finally {
    await h.close();
  }
  await fs.chmod(tmp, 0o644); // as writeFileAtomic leaves it, whatever the reserve's mode was
  await fs.rename(tmp, `${root}/${DRIVE_JSON}`);
  await fs.fsyncDir(`${root}/${DRIVE_DIR}`);
}

/**
 * Give the seal's temp file `tmp` (`MANIFEST_SEAL_TMP` or `DRIVE_JSON_SEAL_TMP`) an inode the
 * drive already holds, so that sealing creates no file: a file created on a drive out of inodes
 * fails with ENOSPC as soon as anything else (a worker still writing ahead) took the inode a
 * deleted reserve file freed. A leftover `tmp` is kept; else the first of `SEAL_SPARES` present is
 * renamed to it. Returns the flags to open `tmp` with: `'r+'` (cut it to length after writing),
 * or `'w'` when no spare is left. That happens only when a seal is redone after a crash past both
 * renames, and then each rename of that seal freed the inode of the file it replaced.
 */
export async function takeSealInode(fs: FileSystem, root: string, tmp: string): Promise<'r+' | 'w'> {
  if (await fs.exists(`${root}/${tmp}`)) return 'r+';
  for (const spare of SEAL_SPARES) {
    if (spare === tmp || !(await fs.exists(`${root}/${spare}`))) continue;
    await fs.rename(`${root}/${spare}`, `${root}/${tmp}`);
    return 'r+';
  }
  return 'w';
}

/** Delete the reserve files (a drive that is not sealed, or what a seal left of them). */
export async function dropReserves(fs: FileSystem, root: string): Promise<void> {
  await fs.unlink(`${root}/${MANIFEST_RESERVE}`);
  await fs.unlink(`${root}/${INODE_RESERVE}`);
}

function formatDriveJson(j: DriveJson): string {
  return `${JSON.stringify(j, null, 2)}\n`;
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
