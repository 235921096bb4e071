import type { FileHandle, FileSystem } from '../../native/interfaces.js';
import { DRIVE_DIR, dropReserves, INODE_RESERVE, MANIFEST_RESERVE } from '../drives/drive-identity.js';
import { EMPTY_FILE } from '../journal/drive-blobs.js';
import type { DriveState } from '../journal/journal-state.js';
import { reserveBytesFor } from '../drives/drive-space.js';

const ZEROS = new Uint8Array(1024 * 1024);

/**
 * Writes the data files of the drive being filled. Owns their handles: a file's handle stays open
 * until the flush after its last chunk. `flush` makes everything written so far durable (data
 * files fdatasync'd, new directory entries fsync'd) — the caller appends journal records only
 * after it returns (invariant 1, docs/invariants.md). Also keeps the manifest reserve file at the size the manifest
 * may need, so a drive filled by surprise still has room for its manifest.
 */
export class DriveWriter {
  readonly drive: DriveState;
  readonly root: string;
  readonly #fs: FileSystem;
  readonly #open = new Map<number, FileHandle>();
  readonly #dirty = new Set<FileHandle>();
  readonly #closeAfterFlush = new Set<number>();
  /** Handles of small files (`writeSmall`) on drives without syncfs, closed after the flush that syncs them. */
  readonly #smallToClose = new Set<FileHandle>();
  readonly #knownDirs = new Set<string>();
  readonly #dirsToSync = new Set<string>();
  #reserve: FileHandle | undefined;
  #reserveSize = 0;
  #reserveDirty = false;
  /** The file system can be synced in one call (syncfs): small files are written whole and closed. */
  #syncfs = false;
  #unsynced = false;
  /** The flush in progress (settled), so that flushes run one after another. */
  #flushing: Promise<void> = Promise.resolve();
  /** The error of a failed sync: every later flush fails with it. */
  #failed: unknown;

  private constructor(fs: FileSystem, drive: DriveState, root: string) {
    this.#fs = fs;
    this.drive = drive;
    this.root = root;
  }

  static async open(fs: FileSystem, drive: DriveState, root: string): Promise<DriveWriter> {
    const w = new DriveWriter(fs, drive, root);
    await fs.mkdir(`${root}/${DRIVE_DIR}`);
    // A full drive is opened only to be sealed, maybe again after a crash in its seal: reserve
    // files the seal took are not made again (that would take inodes the seal may need).
    const sealing = drive.status !== 'open';
    if (!sealing && !(await fs.exists(`${root}/${INODE_RESERVE}`)))
      await fs.writeNewFile(`${root}/${INODE_RESERVE}`, new Uint8Array(0));
    // The data file of every directory's and special file's (empty) blob.
    if (!(await fs.exists(`${root}/${EMPTY_FILE}`))) {
      await fs.writeNewFile(`${root}/${EMPTY_FILE}`, new Uint8Array(0));
      w.#dirsToSync.add(`${root}/${DRIVE_DIR}`);
      w.#unsynced = true;
    }
    const path = `${root}/${MANIFEST_RESERVE}`;
    const exists = await fs.exists(path);
    if (exists || !sealing) {
      w.#reserve = await fs.open(path, exists ? 'r+' : 'w');
      w.#reserveSize = (await w.#reserve.stat()).size;
    }
    w.#syncfs = await fs.syncFileSystem(root);
    return w;
  }

  /** True when whole small files can be written without keeping a handle (see `writeWhole`). */
  get canWriteWhole(): boolean {
    return this.#syncfs;
  }

  /** Write a part that is one chunk as a whole new file; durable at the next flush (syncfs). */
  async writeWhole(rel: string, data: Uint8Array): Promise<void> {
    const path = `${this.root}/${rel}`;
    await this.#ensureDir(path.slice(0, path.lastIndexOf('/')));
    this.#unsynced = true;
    await this.#fs.writeNewFile(path, data);
  }

  /**
   * Write a small file that is no blob part (a blob's metadata file), replacing a leftover;
   * durable at the next flush, like the data it describes.
   */
  async writeSmall(rel: string, data: Uint8Array): Promise<void> {
    const path = `${this.root}/${rel}`;
    await this.#ensureDir(path.slice(0, path.lastIndexOf('/')));
    if (this.#syncfs) {
      this.#unsynced = true;
      await this.#fs.writeNewFile(path, data);
      return;
    }
    // Without syncfs every file is synced by its handle (FUSE, ntfs-3g): keep it until the flush.
    await this.#fs.unlink(path);
    const h = await this.#fs.open(path, 'wx');
    await h.write(data, 0);
    this.#dirty.add(h);
    this.#smallToClose.add(h);
    this.#dirsToSync.add(path.slice(0, path.lastIndexOf('/')));
  }

  /** Remove a small file written by `writeSmall` (its blob part was rolled back or superseded). */
  async discardSmall(rel: string): Promise<void> {
    await this.#flushing;
    const path = `${this.root}/${rel}`;
    for (const h of this.#smallToClose) {
      if (h.path !== path) continue;
      this.#smallToClose.delete(h);
      this.#dirty.delete(h);
      await h.close();
    }
    await this.#fs.unlink(path);
    this.#dirsToSync.add(path.slice(0, path.lastIndexOf('/')));
  }

  /** Make the directory of a whole file a worker will write; returns its absolute path. */
  async prepareWhole(rel: string): Promise<string> {
    const path = `${this.root}/${rel}`;
    await this.#ensureDir(path.slice(0, path.lastIndexOf('/')));
    return path;
  }

  /** A whole file was written to this drive by a worker (see `prepareWhole`): durable at the next flush. */
  noteWritten(): void {
    this.#unsynced = true;
  }

  async #ensureDir(dir: string): Promise<void> {
    if (this.#knownDirs.has(dir)) return;
    await this.#fs.mkdir(dir);
    this.#knownDirs.add(dir);
    // Every directory from the drive root down may be new: fsync each one's parent at flush.
    for (let d = dir; d.length > this.root.length; d = d.slice(0, d.lastIndexOf('/')))
      this.#dirsToSync.add(d.slice(0, d.lastIndexOf('/')));
  }

  /** Open the data file of a blob part: new (`create`), or continued after a crash at `resumeLength`. */
  async openPart(
    file: number,
    rel: string,
    how: { create: true; sparseLength?: number } | { create: false; resumeLength?: number },
  ): Promise<FileHandle> {
    const existing = this.#open.get(file);
    if (existing) return existing;
    const path = `${this.root}/${rel}`;
    const dir = path.slice(0, path.lastIndexOf('/'));
    await this.#ensureDir(dir);
    let h: FileHandle;
    if (how.create) {
      // Exclusive create, not truncate (much cheaper on ext4); a leftover of a crashed run goes first.
      await this.#fs.unlink(path);
      h = await this.#fs.open(path, 'wx');
      this.#dirsToSync.add(dir);
      if (how.sparseLength) await h.truncate(how.sparseLength);
    } else {
      h = await this.#fs.open(path, 'r+');
      if (how.resumeLength !== undefined) await h.truncate(how.resumeLength);
    }
    this.#open.set(file, h);
    this.#dirty.add(h);
    return h;
  }

  async write(h: FileHandle, data: Uint8Array, position: number): Promise<void> {
    this.#dirty.add(h);
    await h.write(data, position);
  }

  /** Cut a part back to `length` bytes (a failed chunk, or a restart with length 0). */
  async truncate(file: number, length: number): Promise<void> {
    const h = this.#open.get(file);
    if (!h) return;
    await h.truncate(length);
    this.#dirty.add(h);
  }

  /** Close and delete a part's data file (a file that is skipped or restarted). */
  async discard(file: number, rel: string): Promise<void> {
    await this.#flushing; // a running flush may be syncing this file's handle
    const h = this.#open.get(file);
    if (h) {
      this.#open.delete(file);
      this.#dirty.delete(h);
      this.#closeAfterFlush.delete(file);
      await h.close();
    }
    await this.#fs.unlink(`${this.root}/${rel}`);
    this.#dirsToSync.add(`${this.root}/${rel}`.slice(0, `${this.root}/${rel}`.lastIndexOf('/')));
  }

  /** The file's last chunk is written: close its handle after the next flush. */
  finish(file: number): void {
    if (this.#open.has(file)) this.#closeAfterFlush.add(file);
  }

  get openFiles(): number {
    return this.#open.size;
  }

  /** Grow the reserve file to what a manifest of `manifestBytes` needs. May throw ENOSPC. */
  async ensureReserve(manifestBytes: number): Promise<void> {
    const want = reserveBytesFor(manifestBytes);
    while (this.#reserveSize < want && this.#reserve) {
      const n = Math.min(ZEROS.length, want - this.#reserveSize);
      // Written, not ftruncate'd: a sparse file would hold no space at all.
      await this.#reserve.write(ZEROS.subarray(0, n), this.#reserveSize);
      this.#reserveSize += n;
      this.#reserveDirty = true;
    }
  }

  /**
   * Make every write that completed before this call durable, then close the files finished
   * before it. Writes may go on while it runs (pipelined group commit): they are covered by the
   * next flush, and so are files finished meanwhile. Flushes do not overlap.
   */
  flush(): Promise<void> {
    const prev = this.#flushing;
    const p = prev.then(() => this.#flushOnce());
    this.#flushing = p.catch(() => undefined);
    return p;
  }

  async #flushOnce(): Promise<void> {
    if (this.#failed !== undefined) throw this.#failed;
    // Take what this flush covers before the first await: later writes belong to the next one.
    const unsynced = this.#unsynced || this.#dirty.size > 0 || this.#reserveDirty || this.#dirsToSync.size > 0;
    const dirty = [...this.#dirty];
    const reserveDirty = this.#reserveDirty;
    const dirs = [...this.#dirsToSync];
    const finished = [...this.#closeAfterFlush];
    const small = [...this.#smallToClose].filter((h) => dirty.includes(h));
    for (const h of small) this.#smallToClose.delete(h);
    this.#unsynced = false;
    this.#dirty.clear();
    this.#reserveDirty = false;
    this.#dirsToSync.clear();
    this.#closeAfterFlush.clear();
    try {
      if (this.#syncfs) {
        // One syncfs covers every file, the reserve and every new directory entry.
        if (unsynced) await this.#fs.syncFileSystem(this.root);
      } else {
        await Promise.all(dirty.map((h) => h.datasync()));
        if (reserveDirty && this.#reserve) await this.#reserve.datasync();
        for (const d of dirs) await this.#fs.fsyncDir(d);
      }
    } catch (err) {
      // A failed sync may have dropped dirty pages (Linux marks them clean): a later sync that
      // succeeds proves nothing about them, so no flush of this writer succeeds again and no
      // record naming its data is ever committed. A resume redoes that work.
      this.#failed = err;
      throw err;
    }
    // Durable now and never read again by this run (the read-back reads the drive, not the
    // cache): keep a TB-scale copy from evicting the rest of the page cache.
    await Promise.all(dirty.map((h) => h.dropCache().catch(() => undefined)));
    for (const f of finished) {
      const h = this.#open.get(f);
      this.#open.delete(f);
      await h?.close();
    }
    for (const h of small) await h.close();
  }

  /** A failed drive: close every handle, ignoring errors; nothing is synced or removed. */
  async abandon(): Promise<void> {
    const all = [...this.#open.values(), ...this.#smallToClose, ...(this.#reserve ? [this.#reserve] : [])];
    this.#open.clear();
    this.#smallToClose.clear();
    this.#dirty.clear();
    this.#reserve = undefined;
    await Promise.allSettled(all.map((h) => h.close()));
  }

  /**
   * Flush and close everything. The reserve files stay for the seal, which takes their inodes and
   * bytes (`takeSealInode`); a drive that is not going to be sealed (`'unused'`) has them deleted.
   */
  async close(next: 'seal' | 'unused'): Promise<void> {
    await this.flush();
    for (const h of this.#open.values()) await h.close();
    this.#open.clear();
    for (const h of this.#smallToClose) await h.close();
    this.#smallToClose.clear();
    await this.#reserve?.close();
    this.#reserve = undefined;
    if (next === 'unused') await dropReserves(this.#fs, this.root);
  }
}
