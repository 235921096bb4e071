/**
 * Reading from the media, not from memory: a file's cached pages dropped before it is read back.
 */
import type { FileHandle, FileSystem } from '../../native/interfaces.js';
import { errnoCode } from '../errors/errors.js';

/**
 * Drop the clean cached pages of the file at `path` (FileHandle.dropCache: posix_fadvise
 * DONTNEED), so that the next read of it comes from the drive, not from memory: a read-back right
 * after the copy must see what the media holds. Pages still dirty cannot be dropped, but a sealed
 * drive was synced when it was sealed. A hint that never fails: without the addon, on tmpfs (its
 * pages are the file) or for a file that cannot be opened it does nothing, and the read that follows
 * reports a missing file itself. On ntfs-3g (FUSE) it drops the kernel's cache of the file; the
 * daemon's own reads of the block device may still be served from that device's cache.
 */
export async function dropCachedPages(fs: FileSystem, path: string): Promise<void> {
  let h: FileHandle;
  try {
    h = await fs.open(path, 'r');
  } catch {
    return;
  }
  try {
    await h.dropCache();
  } catch {
    // A hint: the read-back still reads, from the cache if it must.
  } finally {
    await h.close().catch(() => undefined);
  }
}

/**
 * The whole file at `path`, its cached pages dropped first (see dropCachedPages); undefined if it
 * does not exist.
 */
export async function readFileFromMedia(fs: FileSystem, path: string): Promise<Buffer | undefined> {
  let h: FileHandle;
  try {
    h = await fs.open(path, 'r');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    await h.dropCache().catch(() => undefined);
    const size = (await h.stat()).size;
    // One byte more than the size: a file that grew is read whole, not cut at its old length.
    let buf = Buffer.alloc(size + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) buf = Buffer.concat([buf, Buffer.alloc(buf.length)]);
      const r = await h.read(buf, n, buf.length - n, n);
      if (r === 0) break;
      n += r;
    }
    return buf.subarray(0, n);
  } finally {
    await h.close().catch(() => undefined);
  }
}
