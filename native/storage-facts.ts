/** The StorageFacts of a path for `seedship check`: block layers, FUSE boot sector, backing file. */
import { type FileHandle, open, realpath, stat, statfs } from 'node:fs/promises';
import { blockLayers } from './block-layers.js';
import type { BackingFile, StorageFacts } from './interfaces.js';
import { mountOf, type MountEntry } from './mountinfo.js';

/** Bytes 3-10 of a volume's first sector: the OEM id, `NTFS    ` on NTFS, `EXFAT   ` on exFAT. */
async function readOemId(source: string): Promise<string | undefined> {
  let h: FileHandle | undefined;
  try {
    h = await open(source, 'r');
    const b = Buffer.alloc(11);
    const { bytesRead } = await h.read(b, 0, 11, 0);
    if (bytesRead < 11) return undefined;
    return b
      .subarray(3, 11)
      .toString('latin1')
      .replace(/[\s\0]+$/, '');
  } catch {
    return undefined; // not ours to read (not root), or gone: the caller says it could not confirm
  } finally {
    await h?.close();
  }
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

function isFuse(fsType: string): boolean {
  return fsType === 'fuse' || fsType === 'fuseblk' || fsType.startsWith('fuse.');
}

/** The mount holding `file` (a loop device's backing file, which the kernel may mark ` (deleted)`). */
async function backingOf(mounts: readonly MountEntry[], file: string): Promise<BackingFile | undefined> {
  const path = file.replace(/ \(deleted\)$/, '');
  const real = await realpath(path).catch(() => path);
  const m = mountOf(mounts, real);
  return m ? { file: real, mountPoint: m.mountPoint, fsType: m.fsType, source: m.source } : undefined;
}

/**
 * Facts about mount `m` holding `path`: its block devices down to the disks (sysfs under
 * `sysRoot`), the OEM id of a FUSE volume's first sector, and the file under a loop device or a
 * FUSE mount of a file (dislocker's `dislocker-file`, an image) with the mount holding that file.
 */
export async function storageFacts(
  m: MountEntry,
  mounts: readonly MountEntry[],
  path: string,
  sysRoot: string,
): Promise<StorageFacts> {
  const volumeBytes = await statfs(m.mountPoint).then(
    (s) => s.blocks * s.bsize,
    () => undefined,
  );
  const layers = m.majorMinor.startsWith('0:') ? [] : await blockLayers(sysRoot, m.majorMinor);
  const fuse = isFuse(m.fsType) && m.source.startsWith('/');
  const bootOemId = fuse ? await readOemId(m.source) : undefined;
  let file = layers.find((l) => l.kind === 'loop')?.backingFile;
  if (file === undefined && fuse && (await isFile(m.source))) file = m.source;
  const backing = file === undefined ? undefined : await backingOf(mounts, file);
  const { mountPoint, fsType, source } = m;
  return { path, mountPoint, fsType, source, volumeBytes, bootOemId, layers, backing };
}
