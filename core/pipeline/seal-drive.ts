import { createHash } from 'node:crypto';
import type { FileSystem } from '../../native/interfaces.js';
import {
  DRIVE_DIR,
  dropReserves,
  MANIFEST_SEAL_TMP,
  readDriveJson,
  sealDriveJson,
  takeSealInode,
} from '../drives/drive-identity.js';
import type { DriveState } from '../journal/journal-state.js';
import { formatDriveInfo } from '../manifest/drive-info.js';
import { driveBlobs, type BlobNaming } from '../journal/drive-blobs.js';
import {
  formatBlob,
  formatManifestHead,
  MANIFEST_FILE_WINDOWS,
  MANIFEST_NAME,
  MANIFEST_TAIL,
} from '../manifest/drive-manifest.js';
import { JrnWriter } from '../manifest/jrn-writer.js';
import { sessionFiles } from '../session/session-layout.js';

const WRITE_BUFFER_BYTES = 1024 * 1024;

export interface SealContext {
  readonly fs: FileSystem;
  readonly now: number;
  readonly sessionDir: string;
  readonly journalPath: string;
  readonly jrn: JrnWriter;
  readonly naming: BlobNaming;
  readonly creator: string;
  readonly containerSas: string | undefined;
  readonly bitLockerKey: string;
}

export interface SealResult {
  readonly manifestHash: string;
  readonly manifestBytes: number;
  readonly blobs: number;
  readonly driveInfoFile: string;
}

/**
 * Write a drive's manifest from the journal and publish it atomically on the drive (temp file,
 * fsync, rename, fsync root), then drive.json marked sealed, then its drive-info file in the
 * session dir (0600) and a DriveInfo record in the `.jrn`. Deterministic: sealing again after a
 * crash gives the same bytes and hash. The caller has committed the journal and closed the drive's
 * writer keeping the reserve files: the temp files of the manifest and of drive.json are those
 * files renamed (`takeSealInode`), so the seal creates no file and needs no inode or byte that
 * anything else writing to the drive could take. The caller appends the DriveSealed record after
 * this returns.
 */
export async function sealDrive(ctx: SealContext, drive: DriveState, root: string): Promise<SealResult> {
  const { fs } = ctx;
  const tmp = `${root}/${MANIFEST_SEAL_TMP}`;
  // Written over the reserve's zeros (real blocks, allocated while the drive was filled).
  const h = await fs.open(tmp, await takeSealInode(fs, root, MANIFEST_SEAL_TMP));
  const md5 = createHash('md5');
  let pos = 0;
  let buf = '';
  let blobs = 0;
  const flushBuf = async () => {
    const b = Buffer.from(buf, 'utf8');
    buf = '';
    md5.update(b);
    await h.write(b, pos);
    pos += b.length;
  };
  try {
    buf += formatManifestHead({ driveId: drive.driveId, containerSas: ctx.containerSas, creator: ctx.creator });
    for await (const blob of driveBlobs(fs, ctx.journalPath, drive.seq, ctx.naming)) {
      buf += formatBlob(blob.manifest);
      blobs++;
      if (buf.length >= WRITE_BUFFER_BYTES) await flushBuf();
    }
    buf += MANIFEST_TAIL;
    await flushBuf();
    await h.truncate(pos); // the rest of the reserve
    await h.sync();
  } finally {
    await h.close();
  }
  await fs.rename(tmp, `${root}/${MANIFEST_NAME}`);
  await fs.fsyncDir(root);
  await fs.fsyncDir(`${root}/${DRIVE_DIR}`);
  const manifestHash = md5.digest('hex').toUpperCase();

  const dj = await readDriveJson(fs, root);
  if (dj) await sealDriveJson(fs, root, { ...dj, sealed: true, manifestHash });
  await dropReserves(fs, root); // none is left unless drive.json was missing

  const info = {
    driveId: drive.driveId,
    bitLockerKey: ctx.bitLockerKey,
    manifestFile: MANIFEST_FILE_WINDOWS,
    manifestHash,
  };
  const driveInfoFile = sessionFiles.driveInfo(ctx.sessionDir, drive.driveId);
  await fs.writeFileAtomic(driveInfoFile, formatDriveInfo(info), 0o600);
  // The .jrn (0600) carries the same DriveInfo, key included, as WAImportExport's does: the portal
  // creates the job from it.
  await ctx.jrn.append(
    JrnWriter.formatRecord(ctx.now, 'ActivityRecord', [
      ['ActivityId', 'DriveInfo'],
      ['DriveState', formatDriveInfo(info)],
      ['SaveCommandOutput', 'Completed'],
    ]),
  );
  return { manifestHash, manifestBytes: pos, blobs, driveInfoFile };
}
