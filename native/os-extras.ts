/**
 * The Linux file calls Node has no binding for — syncfs, fallocate, posix_fadvise and O_DIRECT
 * writes — through the optional addon in native/addon, with a pure-Node fallback when it is not
 * built, does not load, or `SEEDSHIP_NO_ADDON=1` is set.
 */
import { execFile } from 'node:child_process';
import { constants as fsc, fstat, promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osc } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getSystemErrorMap } from 'node:util';
import type { FileHandle, FileStat, OpenFlags } from './interfaces.js';
import { toStat } from './node-fs.js';

/** Position and (except at the end of a file) length alignment that `pwriteDirect` requires. */
export const DIRECT_IO_ALIGNMENT_BYTES = 4096;

/** Where the compiled addon is, relative to this file once compiled (dist/native/os-extras.js). */
export const DEFAULT_ADDON_URL = new URL('../../native/addon/build/Release/seedship_native.node', import.meta.url);

export type FadviseAdvice = 'dontneed' | 'sequential' | 'noreuse';

/** The addon's exports (native/addon/seedship_native.cc). */
interface NativeBinding {
  readonly alignment: number;
  syncfs(fd: number): Promise<void>;
  fallocate(fd: number, offset: number, length: number, keepSize: boolean): Promise<void>;
  fadvise(fd: number, offset: number, length: number, advice: FadviseAdvice): Promise<void>;
  pwriteDirect(fd: number, buffer: Uint8Array, position: number, tailFd: number | undefined): Promise<number>;
}

/** Which path each call takes, for `seedship drives`/`--debug` to report. */
export interface OsExtrasCapabilities {
  /** The addon is loaded. */
  readonly available: boolean;
  /** Why it is not (not built, failed to load, disabled), when `available` is false. */
  readonly reason: string | undefined;
  /** syncfs(2) directly, or by spawning coreutils `sync -f`. */
  readonly syncfs: 'syscall' | 'sync-command';
  readonly fallocate: boolean;
  readonly fadvise: boolean;
  /** O_DIRECT writes from unaligned buffers (`pwriteDirect`, `openDirect`). */
  readonly directIo: boolean;
  /** One line for the CLI. */
  readonly summary: string;
}

/** Flags for `openDirect`: the file is always opened for writing (and reading, for verification). */
export type DirectOpenFlags = Extract<OpenFlags, 'wx' | 'w' | 'r+'>;

/** The calls, whichever path is in use. All reject with Errors carrying `code`, `errno` and `syscall`. */
export interface OsExtras {
  readonly capabilities: OsExtrasCapabilities;
  /**
   * Flush every dirty page and inode of the file system holding `target` (an open fd, or a path
   * of any file or directory on it); since Linux 5.8 this also reports write-back errors. Without
   * the addon, spawns `sync -f` (same syscall); rejects with code 'ENOSYS' when that cannot run.
   */
  syncfs(target: number | string): Promise<void>;
  /**
   * Reserve blocks for [offset, offset+length) (fallocate(2), mode 0 or FALLOC_FL_KEEP_SIZE).
   * Resolves true when done, false when the addon is unavailable; rejects with code 'EOPNOTSUPP'
   * when the file system cannot (the caller then just writes), 'ENOSPC' when it will not fit.
   */
  fallocate(fd: number, offset: number, length: number, opts?: { keepSize?: boolean }): Promise<boolean>;
  /** posix_fadvise(2); length 0 means to the end of the file. Resolves false (a no-op) without the addon. */
  fadvise(fd: number, offset: number, length: number, advice: FadviseAdvice): Promise<boolean>;
  /**
   * Write all of `data` at `position` through `fd`, opened with O_DIRECT, from an aligned copy made
   * by the addon (so `data` may have any alignment). `position` must be a multiple of
   * DIRECT_IO_ALIGNMENT_BYTES; an unaligned length is allowed only for the last write of a file,
   * and its tail (< 4096 bytes) is written through `tailFd`, a buffered fd on the same file.
   * Misalignment, or an unaligned length without `tailFd`, rejects with 'EINVAL'. Resolves the
   * byte count (always data.length). Durable only after fdatasync/syncfs, like any write. Do not
   * transfer or detach `data` until it settles. Rejects with 'ENOSYS' without the addon.
   */
  pwriteDirect(fd: number, data: Uint8Array, position: number, tailFd?: number): Promise<number>;
  /**
   * Open `path` for O_DIRECT writing when the addon and the file system allow it, else for plain
   * buffered writing; `direct` on the result says which. Never fails because of O_DIRECT alone.
   */
  openDirect(path: string, flags: DirectOpenFlags, mode?: number): Promise<DirectFile>;
  /** Create a FIFO, socket inode or device node at `path` with permission bits `mode` (mknod(2)). */
  mknod(path: string, kind: 'fifo' | 'socket' | 'char' | 'block', mode: number, rdev: number): Promise<void>;
  /** utimensat(2) with AT_SYMLINK_NOFOLLOW: access and modification times to the nanosecond. */
  lutimesNs(path: string, atimeNs: bigint, mtimeNs: bigint): Promise<void>;
}

/**
 * A file opened by `openDirect`: writes use O_DIRECT when `direct` is true, plain buffered writes
 * otherwise. With `direct`, every write's position must be a multiple of DIRECT_IO_ALIGNMENT_BYTES
 * and only the file's last write may have an unaligned length (see `OsExtras.pwriteDirect`);
 * anything else rejects with 'EINVAL' rather than silently taking a slower path. Reads, truncate,
 * stat and datasync go through a second, buffered fd: fdatasync works per inode, so it also makes
 * the direct writes' size and block allocation durable.
 */
export interface DirectFile extends FileHandle {
  /** Writes bypass the page cache. */
  readonly direct: boolean;
  /** The buffered fd (for fadvise, fallocate, syncfs). */
  readonly fd: number;
}

/** An Error shaped like Node's fs errors and the addon's: `code`, negative `errno`, `syscall`. */
function errnoError(code: string, message: string, syscall: string): NodeJS.ErrnoException {
  const n = (osc.errno as Record<string, number | undefined>)[code];
  return Object.assign(new Error(`${code}: ${message}, ${syscall}`), { code, errno: n === undefined ? undefined : -n, syscall });
}

/** The errno name for a `sync -f` complaint such as "…: Input/output error", or EIO. */
function codeOfMessage(stderr: string): string {
  const text = /:\s*([^:]+)\s*$/.exec(stderr.trim())?.[1]?.toLowerCase();
  if (text) for (const [name, message] of getSystemErrorMap().values()) if (message.toLowerCase() === text) return name;
  // glibc and libuv word a few messages differently; these are the ones syncfs can give.
  if (text === 'input/output error') return 'EIO';
  if (text === 'no space left on device') return 'ENOSPC';
  return 'EIO';
}

function syncCommand(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('sync', ['-f', path], (err, _out, stderr) => {
      if (!err) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || /invalid option|unrecognized option/.test(stderr)) {
        return reject(errnoError('ENOSYS', 'no syncfs: coreutils `sync -f` is not available', 'syncfs'));
      }
      const detail = stderr.trim() || err.message;
      reject(Object.assign(errnoError(codeOfMessage(detail), detail, 'syncfs'), { path }));
    });
  });
}

function checkFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fstat(fd, (err) => (err ? reject(err) : resolve())));
}

function noAddon(syscall: string): Promise<never> {
  return Promise.reject(errnoError('ENOSYS', 'needs the native addon (not loaded)', syscall));
}

function run(cmd: string, args: readonly string[], syscall: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], (err, _out, stderr) => {
      if (!err) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reject(errnoError('ENOSYS', `${cmd} is not available`, syscall));
      const detail = stderr.trim() || err.message;
      reject(errnoError(codeOfMessage(detail), detail, syscall));
    });
  });
}

const NS_PER_S = 1_000_000_000n;

/** `@seconds.nanoseconds` as touch(1) reads it, exactly (also before 1970). */
function touchStamp(ns: bigint): string {
  const s = ns >= 0n ? ns / NS_PER_S : -((-ns + NS_PER_S - 1n) / NS_PER_S);
  return `@${s}.${String(ns - s * NS_PER_S).padStart(9, '0')}`;
}

/** mknod and utimensat through coreutils, for when the addon is not loaded. */
function commandMknod(path: string, kind: 'fifo' | 'socket' | 'char' | 'block', mode: number, rdev: number): Promise<void> {
  const m = (mode & 0o7777).toString(8);
  if (kind === 'fifo') return run('mkfifo', ['-m', m, '--', path], 'mknod');
  if (kind === 'socket') return run('python3', ['-c', 'import os,stat,sys; os.mknod(sys.argv[1], stat.S_IFSOCK | int(sys.argv[2], 8))', path, m], 'mknod');
  const major = Math.floor(rdev / 256) & 0xfff | (Math.floor(rdev / 2 ** 32) & ~0xfff);
  const minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xff);
  return run('mknod', ['-m', m, '--', path, kind === 'char' ? 'c' : 'b', String(major), String(minor)], 'mknod');
}

async function commandLutimes(path: string, atimeNs: bigint, mtimeNs: bigint): Promise<void> {
  await run('touch', ['-h', '-a', '-d', touchStamp(atimeNs), '--', path], 'utimensat');
  await run('touch', ['-h', '-m', '-d', touchStamp(mtimeNs), '--', path], 'utimensat');
}

/** Calls used when the addon is not loaded. */
class FallbackExtras implements OsExtras {
  readonly capabilities: OsExtrasCapabilities;
  constructor(reason: string) {
    this.capabilities = {
      available: false,
      reason,
      syncfs: 'sync-command',
      fallocate: false,
      fadvise: false,
      directIo: false,
      summary: `native addon not in use (${reason}): syncfs via \`sync -f\`, no preallocation, no O_DIRECT`,
    };
  }
  async syncfs(target: number | string): Promise<void> {
    if (typeof target === 'string') return syncCommand(target);
    // The child cannot see our fds, but it can open the same file through /proc.
    await checkFd(target);
    return syncCommand(`/proc/${process.pid}/fd/${target}`);
  }
  async fallocate(): Promise<boolean> {
    return false;
  }
  async fadvise(): Promise<boolean> {
    return false;
  }
  pwriteDirect(): Promise<number> {
    return noAddon('pwrite');
  }
  mknod(path: string, kind: 'fifo' | 'socket' | 'char' | 'block', mode: number, rdev: number): Promise<void> {
    return commandMknod(path, kind, mode, rdev);
  }
  lutimesNs(path: string, atimeNs: bigint, mtimeNs: bigint): Promise<void> {
    return commandLutimes(path, atimeNs, mtimeNs);
  }
  async openDirect(path: string, flags: DirectOpenFlags, mode = 0o644): Promise<DirectFile> {
    return new DirectFileHandle(path, await fsp.open(path, flags === 'r+' ? 'r+' : `${flags}+`, mode), undefined, undefined);
  }
}

/** Calls through the addon. */
class NativeExtras implements OsExtras {
  readonly capabilities: OsExtrasCapabilities = {
    available: true,
    reason: undefined,
    syncfs: 'syscall',
    fallocate: true,
    fadvise: true,
    directIo: true,
    summary: 'native addon in use: syncfs, fallocate, fadvise, O_DIRECT',
  };
  readonly #b: NativeBinding;
  constructor(binding: NativeBinding) {
    this.#b = binding;
  }
  async syncfs(target: number | string): Promise<void> {
    if (typeof target === 'number') return this.#b.syncfs(target);
    const h = await fsp.open(target, 'r');
    try {
      await this.#b.syncfs(h.fd);
    } finally {
      await h.close();
    }
  }
  async fallocate(fd: number, offset: number, length: number, opts: { keepSize?: boolean } = {}): Promise<boolean> {
    await this.#b.fallocate(fd, offset, length, opts.keepSize ?? false);
    return true;
  }
  async fadvise(fd: number, offset: number, length: number, advice: FadviseAdvice): Promise<boolean> {
    await this.#b.fadvise(fd, offset, length, advice);
    return true;
  }
  async pwriteDirect(fd: number, data: Uint8Array, position: number, tailFd?: number): Promise<number> {
    return this.#b.pwriteDirect(fd, data, position, tailFd);
  }
  mknod(path: string, kind: 'fifo' | 'socket' | 'char' | 'block', mode: number, rdev: number): Promise<void> {
    return commandMknod(path, kind, mode, rdev);
  }
  lutimesNs(path: string, atimeNs: bigint, mtimeNs: bigint): Promise<void> {
    return commandLutimes(path, atimeNs, mtimeNs);
  }
  async openDirect(path: string, flags: DirectOpenFlags, mode = 0o644): Promise<DirectFile> {
    // The buffered handle is opened first, with the caller's flags: it creates the file, so a
    // refused O_DIRECT open below leaves exactly what a plain open would have.
    const buffered = await fsp.open(path, flags === 'r+' ? 'r+' : `${flags}+`, mode);
    try {
      const direct = await fsp.open(path, fsc.O_WRONLY | fsc.O_DIRECT);
      return new DirectFileHandle(path, buffered, direct, this.#b);
    } catch (err) {
      // EINVAL: the file system refuses O_DIRECT (tmpfs before Linux 6.6, procfs, some FUSE).
      if ((err as NodeJS.ErrnoException).code === 'EINVAL') return new DirectFileHandle(path, buffered, undefined, undefined);
      await buffered.close();
      throw err;
    }
  }
}

class DirectFileHandle implements DirectFile {
  readonly #buffered: fsp.FileHandle;
  readonly #direct: fsp.FileHandle | undefined;
  readonly #binding: NativeBinding | undefined;
  constructor(
    readonly path: string,
    buffered: fsp.FileHandle,
    direct: fsp.FileHandle | undefined,
    binding: NativeBinding | undefined,
  ) {
    this.#buffered = buffered;
    this.#direct = direct;
    this.#binding = binding;
  }
  get direct(): boolean {
    return this.#direct !== undefined;
  }
  get fd(): number {
    return this.#buffered.fd;
  }
  async write(data: Uint8Array, position: number): Promise<void> {
    if (this.#direct && this.#binding) {
      await this.#binding.pwriteDirect(this.#direct.fd, data, position, this.#buffered.fd);
      return;
    }
    for (let done = 0; done < data.length; ) {
      const { bytesWritten } = await this.#buffered.write(data, done, data.length - done, position + done);
      if (bytesWritten === 0) throw Object.assign(new Error(`short write to ${this.path}`), { code: 'EIO' });
      done += bytesWritten;
    }
  }
  async read(into: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.#buffered.read(into, offset + done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }
  datasync(): Promise<void> {
    return this.#buffered.datasync();
  }
  async dropCache(): Promise<void> {
    await osExtras().fadvise(this.#buffered.fd, 0, 0, 'dontneed');
  }
  sync(): Promise<void> {
    return this.#buffered.sync();
  }
  truncate(length: number): Promise<void> {
    return this.#buffered.truncate(length);
  }
  async stat(): Promise<FileStat> {
    return toStat(await this.#buffered.stat({ bigint: true }));
  }
  async close(): Promise<void> {
    await Promise.all([this.#buffered.close(), this.#direct?.close()]);
  }
}

function isBinding(x: unknown): x is NativeBinding {
  const b = x as Partial<NativeBinding> | null;
  return typeof b === 'object' && b !== null && typeof b.syncfs === 'function' && typeof b.fallocate === 'function'
    && typeof b.fadvise === 'function' && typeof b.pwriteDirect === 'function' && b.alignment === DIRECT_IO_ALIGNMENT_BYTES;
}

/** Options for `loadOsExtras`; the defaults are what the CLI uses. */
export interface LoadOptions {
  /** The compiled addon. Default: DEFAULT_ADDON_URL. */
  readonly addonPath?: string | URL;
  /** Use the fallback. Default: `SEEDSHIP_NO_ADDON=1` in the environment. */
  readonly disabled?: boolean;
}

/** Load the addon, or the fallback with the reason why. Never throws. */
export function loadOsExtras(opts: LoadOptions = {}): OsExtras {
  if (opts.disabled) return new FallbackExtras('disabled');
  if (opts.disabled === undefined && process.env['SEEDSHIP_NO_ADDON'] === '1') return new FallbackExtras('disabled by SEEDSHIP_NO_ADDON=1');
  if (process.platform !== 'linux') return new FallbackExtras(`${process.platform} is not Linux`);
  const where = opts.addonPath ?? DEFAULT_ADDON_URL;
  const path = typeof where === 'string' ? where : fileURLToPath(where);
  let loaded: unknown;
  try {
    loaded = createRequire(import.meta.url)(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND') return new FallbackExtras(`not built; run \`npm run build:native\``);
    return new FallbackExtras(`failed to load ${path}: ${e.message.split('\n')[0]}`);
  }
  if (!isBinding(loaded)) return new FallbackExtras(`${path} is not the expected addon`);
  return new NativeExtras(loaded);
}

let cached: OsExtras | undefined;

/** The process-wide instance, loaded on first use with the default options. */
export function osExtras(): OsExtras {
  cached ??= loadOsExtras();
  return cached;
}
