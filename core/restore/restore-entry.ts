/**
 * Putting restored entries in place: the target directory made, small files written whole,
 * links and special files created, and owners, modes and times applied as they were staged.
 */
import type { FileSystem } from '../../native/interfaces.js';
import { errnoCode, SeedshipError } from '../errors/errors.js';
import type { RestoreMeta } from '../manifest/blob-metadata.js';
import { SPARSE_BLOCK_BYTES, writeNonZero } from './sparse-writer.js';

export type { RestoreMeta };

/** Make the directory a restore writes into; one that holds anything is refused, so nothing is overwritten. */
export async function makeEmptyTarget(fs: FileSystem, to: string): Promise<void> {
  if ((await fs.exists(to)) && (await fs.readdir(to)).length > 0) {
    throw new SeedshipError('E_USAGE', `--to ${to} is not empty; restore into a new or empty directory`, { path: to });
  }
  await fs.mkdir(to);
}

/** A whole small file, with holes where it has zero blocks. */
export async function writeWholeSparse(fs: FileSystem, path: string, data: Uint8Array): Promise<void> {
  if (!hasZeroBlock(data)) return fs.writeNewFile(path, data);
  const h = await fs.open(path, 'w');
  try {
    await writeNonZero(h, data, 0);
    await h.truncate(data.length);
  } finally {
    await h.close();
  }
}

function hasZeroBlock(data: Uint8Array): boolean {
  const zero = new Uint8Array(SPARSE_BLOCK_BYTES);
  for (let i = 0; i + SPARSE_BLOCK_BYTES <= data.length; i += SPARSE_BLOCK_BYTES)
    if (Buffer.compare(data.subarray(i, i + SPARSE_BLOCK_BYTES), zero) === 0) return true;
  return false;
}

/**
 * Puts entries back as they were: creates links and special files, applies owner, mode and times
 * (to the nanosecond), joins hard links, and sets directories' metadata last, deepest first, so
 * writing their contents does not change their times and a read-only directory can still be
 * filled. Memory: the directories and the hard-link groups (names of multiply linked inodes).
 */
export class EntryRestorer {
  readonly #fs: FileSystem;
  readonly #dirs: { path: string; meta: RestoreMeta }[] = [];
  readonly #links = new Map<string, string>();
  /** Owners could not be set (not root): said once by the caller. */
  ownersSkipped = 0;
  /** Device nodes that could not be made (not root). */
  devicesSkipped = 0;

  constructor(fs: FileSystem) {
    this.#fs = fs;
  }

  /**
   * The path of an earlier name of the same inode (a hard link), or undefined. Records `path` as
   * its first name.
   */
  linkTarget(path: string, m: RestoreMeta): string | undefined {
    if (m.kind !== 'file' || (m.nlink ?? 1) < 2 || m.ino === undefined) return undefined;
    const key = `${m.dev ?? 0}:${m.ino}`;
    const first = this.#links.get(key);
    if (first === undefined) this.#links.set(key, path);
    return first;
  }

  /** Make `path` a hard link to `first` (replacing what is there). */
  async link(first: string, path: string): Promise<void> {
    await this.#fs.unlink(path);
    await this.#fs.link(first, path);
  }

  /** Create a non-file entry at `path`: a directory, a symlink to `target`, or a special file. */
  async create(path: string, m: RestoreMeta, target: string | undefined): Promise<void> {
    switch (m.kind) {
      case 'dir':
        await this.#fs.mkdir(path);
        this.#dirs.push({ path, meta: m });
        return;
      case 'symlink':
        await this.#fs.symlink(target ?? '', path);
        break;
      case 'fifo':
      case 'socket':
      case 'char':
      case 'block':
        try {
          await this.#fs.mknod(path, m.kind, (m.mode ?? 0o644) & 0o7777, m.rdev ?? 0);
        } catch (err) {
          // Only root makes device nodes (as with rsync -a run by a user): counted, not fatal.
          if (errnoCode(err) !== 'EPERM' || (m.kind !== 'char' && m.kind !== 'block')) throw err;
          this.devicesSkipped++;
          return;
        }
        break;
      case 'file':
        return;
    }
    await this.apply(path, m);
  }

  /** Apply owner, permission bits and times to a restored entry (directories: see `finish`). */
  async apply(path: string, m: RestoreMeta): Promise<void> {
    if (m.kind === 'dir') {
      this.#dirs.push({ path, meta: m });
      return;
    }
    await this.#applyNow(path, m);
  }

  async #applyNow(path: string, m: RestoreMeta): Promise<void> {
    // chown first: it clears setuid/setgid, which chmod then sets.
    if (m.uid !== undefined && m.gid !== undefined) {
      try {
        await this.#fs.lchown(path, m.uid, m.gid);
      } catch (err) {
        if (errnoCode(err) !== 'EPERM') throw err;
        this.ownersSkipped++;
      }
    }
    if (m.mode !== undefined && m.kind !== 'symlink') await this.#fs.chmod(path, m.mode & 0o7777);
    if (m.mtimeNs !== undefined) await this.#fs.lutimes(path, m.atimeNs ?? m.mtimeNs, m.mtimeNs);
  }

  /** Apply the directories' metadata, deepest first. */
  async finish(): Promise<void> {
    // A directory recorded twice keeps its first record.
    const firsts = new Map<string, { path: string; meta: RestoreMeta }>();
    for (const d of this.#dirs) if (!firsts.has(d.path)) firsts.set(d.path, d);
    const dirs = [...firsts.values()];
    dirs.sort((a, b) => b.path.split('/').length - a.path.split('/').length);
    for (const d of dirs) await this.#applyNow(d.path, d.meta);
  }
}
