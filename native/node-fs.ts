/** The FileSystem of interfaces.ts over node:fs (and os-extras.ts for the calls node:fs lacks). */
import {
  closeSync,
  constants as fsc,
  lstatSync,
  mkdirSync,
  openSync,
  promises as fsp,
  statfsSync,
  unlinkSync,
  writeSync,
  type Dirent,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import type { DirEntry, FileHandle, FileStat, FileSystem, FsSpace, OpenFlags } from './interfaces.js';
import { osExtras } from './os-extras.js';
import { toStat, kindOf } from './stat.js';
import { decodeName, encodeBytes, encodePath } from './raw-names.js';

/** statfs f_type of file systems whose metadata is local: ext2/3/4, xfs, btrfs, tmpfs, f2fs, overlay, zfs, ntfs3. */
const LOCAL_FS_TYPES = new Set([
  0xef53, 0x58465342, 0x9123683e, 0x01021994, 0xf2f52010, 0x794c7630, 0x2fc12fc1, 0x7366746e,
]);

/** statfs f_type of every FUSE file system (fuse, fuseblk: ntfs-3g). */
const FUSE_SUPER_MAGIC = 0x65735546;

function isCode(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as { code?: string }).code ?? '');
}

class NodeFileHandle implements FileHandle {
  readonly #h: fsp.FileHandle;
  constructor(
    readonly path: string,
    h: fsp.FileHandle,
  ) {
    this.#h = h;
  }
  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.#h.write(data, done, data.length - done, position + done);
      if (bytesWritten === 0) throw Object.assign(new Error(`short write to ${this.path}`), { code: 'EIO' });
      done += bytesWritten;
    }
  }
  async read(into: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.#h.read(into, offset + done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }
  datasync(): Promise<void> {
    return this.#h.datasync();
  }
  sync(): Promise<void> {
    return this.#h.sync();
  }
  async dropCache(): Promise<void> {
    await osExtras().fadvise(this.#h.fd, 0, 0, 'dontneed');
  }
  truncate(length: number): Promise<void> {
    return this.#h.truncate(length);
  }
  async stat(): Promise<FileStat> {
    return toStat(await this.#h.stat({ bigint: true }));
  }
  close(): Promise<void> {
    return this.#h.close();
  }
}

/** Longest name Linux file systems take (NAME_MAX), in bytes. */
const NAME_MAX_BYTES = 255;

/**
 * The real file system, with restic's atomic-publish sequence and tolerant directory fsync. Every
 * path is a string as native/raw-names.ts describes (non-UTF-8 bytes escaped), given to node:fs
 * through `encodePath`: the string itself unless it holds an escaped byte.
 */
export class NodeFileSystem implements FileSystem {
  async open(path: string, flags: OpenFlags, mode = 0o644): Promise<FileHandle> {
    return new NodeFileHandle(path, await fsp.open(encodePath(path), flags, mode));
  }
  async readdir(path: string): Promise<DirEntry[]> {
    const raw = encodePath(path);
    if (typeof raw === 'string') {
      const ents = await fsp.readdir(raw, { withFileTypes: true });
      // Node decodes each name as UTF-8 with U+FFFD for bytes that are not: only a name holding a
      // U+FFFD (rare, and sometimes a real one) can have lost bytes, and only then is the
      // directory read again, as bytes.
      if (!ents.some((e) => e.name.includes('\uFFFD'))) return ents.map((e) => ({ name: e.name, kind: kindOf(e) }));
    }
    // Bytes also when the directory's own path has escaped bytes: Node cannot join a Buffer path
    // with a string name to lstat an entry of unknown type (DT_UNKNOWN), but can with two Buffers.
    const ents = (await fsp.readdir(raw, { withFileTypes: true, encoding: 'buffer' })) as unknown as Dirent<Buffer>[];
    return ents.map((e) => ({ name: decodeName(e.name), kind: kindOf(e) }));
  }
  async lstat(path: string): Promise<FileStat> {
    return toStat(await fsp.lstat(encodePath(path), { bigint: true }));
  }
  async lstatMany(paths: readonly string[]): Promise<(FileStat | Error)[]> {
    const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));
    const first = paths[0];
    if (first !== undefined && this.#localMetadata(first.slice(0, first.lastIndexOf('/')) || '/')) {
      return paths.map((p) => {
        try {
          return toStat(lstatSync(encodePath(p), { bigint: true }));
        } catch (e) {
          return asError(e);
        }
      });
    }
    return Promise.all(
      paths.map(async (p) => {
        try {
          return toStat(await fsp.lstat(encodePath(p), { bigint: true }));
        } catch (e) {
          return asError(e);
        }
      }),
    );
  }

  /**
   * True when the directory's file system keeps metadata on this machine (a lstat costs a few
   * microseconds from the inode cache, or one local read), so a synchronous lstat beats a thread
   * pool round trip. Not for network or FUSE file systems, where each one may wait on a server.
   */
  #localMetadata(dir: string): boolean {
    try {
      return LOCAL_FS_TYPES.has(statfsSync(encodePath(dir)).type);
    } catch {
      return false;
    }
  }
  async stat(path: string): Promise<FileStat> {
    return toStat(await fsp.stat(encodePath(path), { bigint: true }));
  }
  async statfs(path: string): Promise<FsSpace> {
    const s = await fsp.statfs(encodePath(path));
    return { totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize, blockSize: s.bsize };
  }
  async realpath(path: string): Promise<string> {
    // As bytes: a resolved component may be a name that is not UTF-8 even when `path` is text.
    return decodeName(await fsp.realpath(encodePath(path), { encoding: 'buffer' }));
  }
  async mkdir(path: string, mode = 0o755): Promise<void> {
    const raw = encodePath(path);
    try {
      await fsp.mkdir(raw, { recursive: true, mode });
    } catch (err) {
      // Node 20's asynchronous recursive mkdir says ENOENT when a directory could not be made for
      // another reason: ENOSPC on a drive out of inodes (seen on tmpfs), which must read as a full
      // drive. The synchronous one, run only on this error path, throws the real error.
      if (!isCode(err, 'ENOENT')) throw err;
      mkdirSync(raw, { recursive: true, mode });
    }
  }
  async rename(from: string, to: string): Promise<void> {
    await fsp.rename(encodePath(from), encodePath(to));
  }
  async unlink(path: string): Promise<void> {
    try {
      await fsp.unlink(encodePath(path));
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw err;
    }
  }
  async rmdir(path: string): Promise<void> {
    try {
      await fsp.rmdir(encodePath(path));
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw err;
    }
  }
  async chmod(path: string, mode: number): Promise<void> {
    await fsp.chmod(encodePath(path), mode);
  }
  async readlink(path: string): Promise<string> {
    // Always as bytes: one readlink(2) either way, and no second read that could see a new link.
    return decodeName(await fsp.readlink(encodePath(path), { encoding: 'buffer' }));
  }
  async symlink(target: string, path: string): Promise<void> {
    await fsp.symlink(encodePath(target), encodePath(path));
  }
  async link(existing: string, path: string): Promise<void> {
    await fsp.link(encodePath(existing), encodePath(path));
  }
  async mknod(path: string, kind: 'fifo' | 'socket' | 'char' | 'block', mode: number, rdev: number): Promise<void> {
    await osExtras().mknod(path, kind, mode, rdev);
  }
  async lchown(path: string, uid: number, gid: number): Promise<void> {
    await fsp.lchown(encodePath(path), uid, gid);
  }
  async lutimes(path: string, atimeNs: bigint, mtimeNs: bigint): Promise<void> {
    await osExtras().lutimesNs(path, atimeNs, mtimeNs);
  }
  async readFile(path: string): Promise<Buffer> {
    return fsp.readFile(encodePath(path));
  }
  async readFileIfExists(path: string): Promise<Buffer | undefined> {
    try {
      return await fsp.readFile(encodePath(path));
    } catch (err) {
      if (isCode(err, 'ENOENT')) return undefined;
      throw err;
    }
  }
  async exists(path: string): Promise<boolean> {
    try {
      await fsp.lstat(encodePath(path));
      return true;
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR')) return false;
      throw err;
    }
  }
  async canWrite(path: string): Promise<boolean> {
    try {
      await fsp.access(encodePath(path), fsc.W_OK);
    } catch {
      return false;
    }
    // access() ignores read-only mounts for root on some kernels; statvfs would tell, but a probe
    // file is the one answer that cannot be wrong.
    const probe = encodePath(join(path, `.seedship-probe-${randomBytes(4).toString('hex')}`));
    try {
      const h = await fsp.open(probe, 'wx');
      await h.close();
      await fsp.unlink(probe);
      return true;
    } catch (err) {
      if (isCode(err, 'EROFS', 'EACCES', 'EPERM')) return false;
      throw err;
    }
  }
  async writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
    const dir = dirname(path);
    const tag = randomBytes(6).toString('hex');
    let tmpName = `.${basename(path)}.${tag}.tmp`;
    // The temp name is 18 bytes longer than the file's: for a name near NAME_MAX, a short one.
    if (encodeBytes(tmpName).length > NAME_MAX_BYTES) tmpName = `.seedship-${tag}.tmp`;
    const tmp = encodePath(join(dir, tmpName));
    let h: fsp.FileHandle | undefined;
    try {
      h = await fsp.open(tmp, 'wx', mode);
      await h.writeFile(data);
      await h.sync();
      await h.close();
      h = undefined;
      // open() applies the umask; chmod makes 0600 key files exactly 0600.
      await fsp.chmod(tmp, mode);
      await fsp.rename(tmp, encodePath(path));
    } catch (err) {
      if (h) await h.close().catch(() => undefined);
      await fsp.unlink(tmp).catch(() => undefined);
      throw err;
    }
    await this.fsyncDir(dir);
  }
  async writeNewFile(path: string, data: Uint8Array): Promise<void> {
    // Synchronous on purpose: three syscalls on the page cache take microseconds, while three
    // trips through libuv's thread pool dominate the cost of a small file.
    // O_EXCL, not O_TRUNC: truncating even a just-created empty file costs ~4x on ext4 here
    // (measured: 8,500 small files 5.0 s with 'w', 1.2 s with 'wx'). A leftover is removed first.
    const raw = encodePath(path);
    let fd: number;
    try {
      fd = openSync(raw, 'wx', 0o644);
    } catch (err) {
      if (!isCode(err, 'EEXIST')) throw err;
      unlinkSync(raw);
      fd = openSync(raw, 'wx', 0o644);
    }
    try {
      for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, done);
    } finally {
      closeSync(fd);
    }
  }
  async syncFileSystem(path: string): Promise<boolean> {
    if (process.platform !== 'linux') return false;
    // FUSE (ntfs-3g): syncfs writes the kernel's pages out to the daemon but never asks it to
    // flush (only virtiofs forwards syncfs), while fsync of each file does reach it. So there the
    // caller syncs file by file.
    if ((await fsp.statfs(encodePath(path))).type === FUSE_SUPER_MAGIC) return false;
    try {
      // syncfs(2) through the addon, or coreutils `sync -f` without it: one call for every dirty
      // page and inode of the file system; since Linux 5.8 it reports write-back errors.
      await osExtras().syncfs(path);
      return true;
    } catch (err) {
      if (isCode(err, 'ENOSYS')) return false;
      throw err;
    }
  }
  async fsyncDir(path: string): Promise<void> {
    if (process.platform === 'win32') return;
    let h: fsp.FileHandle | undefined;
    try {
      h = await fsp.open(encodePath(path), 'r');
      await h.sync();
    } catch (err) {
      // Some file systems (fuse, network) refuse fsync on a directory; the data itself was synced.
      if (!isCode(err, 'EINVAL', 'ENOTSUP', 'EISDIR', 'EPERM')) throw err;
    } finally {
      await h?.close().catch(() => undefined);
    }
  }
}
