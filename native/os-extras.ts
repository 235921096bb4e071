/**
 * The Linux file calls Node has no binding for — syncfs, fallocate, posix_fadvise, O_DIRECT
 * writes, utimensat to the nanosecond and mknod — through the optional addon in native/addon, with
 * a pure-Node fallback (spawning coreutils, or python3 where they cannot) when it is not built,
 * does not load, or `SEEDSHIP_NO_ADDON=1` is set. Paths are strings as in native/raw-names.ts.
 */
import { execFile } from 'node:child_process';
import { constants as fsc, fstat, promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osc } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getSystemErrorMap } from 'node:util';
import type { FileHandle, FileStat, OpenFlags } from './interfaces.js';
import { toStat } from './stat.js';
import { encodeBytes, encodePath } from './raw-names.js';

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
  utimensat(path: Uint8Array, atimeNs: bigint, mtimeNs: bigint): Promise<void>;
  mknod(path: Uint8Array, kind: SpecialKind, mode: number, rdev: number): Promise<void>;
}

export type SpecialKind = 'fifo' | 'socket' | 'char' | 'block';

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
  /**
   * `lutimesNs` and `mknod` as syscalls, or by spawning touch/mkfifo/mknod (python3 for sockets and
   * non-UTF-8 paths).
   */
  readonly metadata: 'syscall' | 'commands';
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
  /**
   * Create a FIFO, socket inode or device node at `path` (mknod(2)) with permission bits exactly
   * `mode` (& 0o7777; the umask does not apply). `rdev` is a device's st_rdev as Linux encodes
   * dev_t; ignored for a FIFO or socket.
   */
  mknod(path: string, kind: SpecialKind, mode: number, rdev: number): Promise<void>;
  /**
   * utimensat(2) with AT_SYMLINK_NOFOLLOW: access and modification times to the nanosecond (a
   * symbolic link's own times). Negative times are before 1970. The file system may clamp a time
   * outside its range (ext4: 1901..2446) or round it to its granularity.
   */
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
  return Object.assign(new Error(`${code}: ${message}, ${syscall}`), {
    code,
    errno: n === undefined ? undefined : -n,
    syscall,
  });
}

/**
 * glibc's strerror wording where libuv's (getSystemErrorMap) differs, for the errors sync, touch,
 * mkfifo, mknod and chmod can give.
 */
const GLIBC_MESSAGES: Readonly<Record<string, string>> = {
  'input/output error': 'EIO',
  'file exists': 'EEXIST',
  'file name too long': 'ENAMETOOLONG',
  'too many levels of symbolic links': 'ELOOP',
  'is a directory': 'EISDIR',
  'disk quota exceeded': 'EDQUOT',
  'operation not supported': 'EOPNOTSUPP',
  'device or resource busy': 'EBUSY',
};

/** The errno name for a coreutils complaint such as "…: Input/output error", or EIO. */
function codeOfMessage(stderr: string): string {
  const text = /:\s*([^:]+)\s*$/.exec(stderr.trim())?.[1]?.toLowerCase();
  if (!text) return 'EIO';
  const glibc = GLIBC_MESSAGES[text];
  if (glibc) return glibc;
  for (const [name, message] of getSystemErrorMap().values()) if (message.toLowerCase() === text) return name;
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
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return reject(errnoError('ENOSYS', `${cmd} is not available`, syscall));
      const detail = stderr.trim() || err.message;
      reject(errnoError(codeOfMessage(detail), detail, syscall));
    });
  });
}

const NS_PER_S = 1_000_000_000n;

/**
 * `@seconds.nanoseconds` as touch(1) reads it, exactly. touch takes the sign for the whole
 * number (`@-1.25` is 1.25 s before 1970), so a negative time is written as its magnitude.
 */
export function touchStamp(ns: bigint): string {
  const abs = ns < 0n ? -ns : ns;
  return `@${ns < 0n ? '-' : ''}${abs / NS_PER_S}.${String(abs % NS_PER_S).padStart(9, '0')}`;
}

/**
 * Major and minor (32 bits each) of a dev_t as glibc's gnu_dev_major/minor split it: the major's
 * low 12 bits are bits 8..19 of the number and its high 20 bits are bits 44..63; the minor's low 8
 * bits are bits 0..7 and its high 24 bits are bits 20..43. In BigInt, so no bit above 31 is lost.
 */
export function splitDev(rdev: number): { major: bigint; minor: bigint } {
  const d = BigInt(rdev);
  return {
    major: ((d >> 8n) & 0xfffn) | ((d >> 32n) & 0xfffff000n),
    minor: (d & 0xffn) | ((d >> 12n) & 0xffffff00n),
  };
}

/** S_IFxxx for a special kind (Linux values). */
const S_IF: Record<SpecialKind, number> = { fifo: 0o010000, socket: 0o140000, char: 0o020000, block: 0o060000 };

/**
 * Run a python3 one-liner on a path given as hex (a child's argv is text: Node would turn the
 * bytes of a non-UTF-8 name into U+FFFD). The script's errors come back as the errno name alone.
 */
function runPython(body: string, path: string, args: readonly string[], syscall: string): Promise<void> {
  const script = `import errno, os, sys
p = bytes.fromhex(sys.argv[1])
try:
    ${body}
except OSError as e:
    sys.stderr.write(errno.errorcode.get(e.errno, 'EIO'))
    sys.exit(1)`;
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', script, encodeBytes(path).toString('hex'), ...args], (err, _out, stderr) => {
      if (!err) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return reject(errnoError('ENOSYS', 'python3 is not available', syscall));
      const code = /^E[A-Z0-9]+$/.test(stderr.trim()) ? stderr.trim() : codeOfMessage(stderr.trim() || err.message);
      reject(errnoError(code, stderr.trim() || err.message, syscall));
    });
  });
}

/** True when `path` can go to a child process as an argument unchanged (no escaped bytes). */
function isText(path: string): boolean {
  return typeof encodePath(path) === 'string';
}

/** mknod and utimensat through coreutils (python3 where they cannot), for when the addon is not loaded. */
async function commandMknod(path: string, kind: SpecialKind, mode: number, rdev: number): Promise<void> {
  const m = (mode & 0o7777).toString(8);
  if (kind === 'socket' || !isText(path)) {
    // No coreutils command makes a socket inode. chmod after mknod: mknod applies the umask.
    const dev = kind === 'char' || kind === 'block' ? String(rdev) : '0';
    return runPython(
      'os.mknod(p, int(sys.argv[2]), int(sys.argv[3])); os.chmod(p, int(sys.argv[2]) & 0o7777)',
      path,
      [String(S_IF[kind] | (mode & 0o7777)), dev],
      'mknod',
    );
  }
  // mkfifo and mknod refuse setuid, setgid and sticky bits in -m: those are set by chmod after.
  const perm = (mode & 0o777).toString(8);
  const { major, minor } = splitDev(rdev);
  await (kind === 'fifo'
    ? run('mkfifo', ['-m', perm, '--', path], 'mknod')
    : run('mknod', ['-m', perm, '--', path, kind === 'char' ? 'c' : 'b', String(major), String(minor)], 'mknod'));
  if (mode & 0o7000) await run('chmod', [m, '--', path], 'chmod');
}

async function commandLutimes(path: string, atimeNs: bigint, mtimeNs: bigint): Promise<void> {
  if (!isText(path)) {
    return runPython(
      'os.utime(p, ns=(int(sys.argv[2]), int(sys.argv[3])), follow_symlinks=False)',
      path,
      [String(atimeNs), String(mtimeNs)],
      'utimensat',
    );
  }
  await run('touch', ['-h', '-a', '-d', touchStamp(atimeNs), '--', path], 'utimensat');
  await run('touch', ['-h', '-m', '-d', touchStamp(mtimeNs), '--', path], 'utimensat');
}

/** Node's fs errors name the path (`…, utimensat '/a/b'`); so do ours, for the same messages upstream. */
async function naming<T>(path: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e instanceof Error && typeof e.code === 'string' && e.code.startsWith('E') && e.path === undefined) {
      e.path = path;
      e.message = `${e.message} '${path}'`;
    }
    throw e;
  }
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
      metadata: 'commands',
      summary:
        `native addon not in use (${reason}): syncfs via \`sync -f\`, ` +
        'times and special files via touch/mknod, no preallocation, no O_DIRECT',
    };
  }
  async syncfs(target: number | string): Promise<void> {
    if (typeof target === 'string' && isText(target)) return syncCommand(target);
    if (typeof target === 'string') {
      // A path with non-UTF-8 bytes cannot be an argument: hand the child our fd through /proc.
      const h = await fsp.open(encodePath(target), 'r');
      try {
        return await syncCommand(`/proc/${process.pid}/fd/${h.fd}`);
      } finally {
        await h.close();
      }
    }
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
  mknod(path: string, kind: SpecialKind, mode: number, rdev: number): Promise<void> {
    return naming(path, () => commandMknod(path, kind, mode, rdev));
  }
  lutimesNs(path: string, atimeNs: bigint, mtimeNs: bigint): Promise<void> {
    return naming(path, () => commandLutimes(path, atimeNs, mtimeNs));
  }
  async openDirect(path: string, flags: DirectOpenFlags, mode = 0o644): Promise<DirectFile> {
    return new DirectFileHandle(
      path,
      await fsp.open(encodePath(path), flags === 'r+' ? 'r+' : `${flags}+`, mode),
      undefined,
      undefined,
    );
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
    metadata: 'syscall',
    summary: 'native addon in use: syncfs, fallocate, fadvise, O_DIRECT, utimensat, mknod',
  };
  readonly #b: NativeBinding;
  constructor(binding: NativeBinding) {
    this.#b = binding;
  }
  async syncfs(target: number | string): Promise<void> {
    if (typeof target === 'number') return this.#b.syncfs(target);
    const h = await fsp.open(encodePath(target), 'r');
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
  mknod(path: string, kind: SpecialKind, mode: number, rdev: number): Promise<void> {
    return naming(path, async () => this.#b.mknod(encodeBytes(path), kind, mode, rdev));
  }
  lutimesNs(path: string, atimeNs: bigint, mtimeNs: bigint): Promise<void> {
    return naming(path, async () => this.#b.utimensat(encodeBytes(path), atimeNs, mtimeNs));
  }
  async openDirect(path: string, flags: DirectOpenFlags, mode = 0o644): Promise<DirectFile> {
    // The buffered handle is opened first, with the caller's flags: it creates the file, so a
    // refused O_DIRECT open below leaves exactly what a plain open would have.
    const raw = encodePath(path);
    const buffered = await fsp.open(raw, flags === 'r+' ? 'r+' : `${flags}+`, mode);
    try {
      const direct = await fsp.open(raw, fsc.O_WRONLY | fsc.O_DIRECT);
      return new DirectFileHandle(path, buffered, direct, this.#b);
    } catch (err) {
      // EINVAL: the file system refuses O_DIRECT (tmpfs before Linux 6.6, procfs, some FUSE).
      if ((err as NodeJS.ErrnoException).code === 'EINVAL')
        return new DirectFileHandle(path, buffered, undefined, undefined);
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
  return (
    typeof b === 'object' &&
    b !== null &&
    typeof b.syncfs === 'function' &&
    typeof b.fallocate === 'function' &&
    typeof b.fadvise === 'function' &&
    typeof b.pwriteDirect === 'function' &&
    typeof b.utimensat === 'function' &&
    typeof b.mknod === 'function' &&
    b.alignment === DIRECT_IO_ALIGNMENT_BYTES
  );
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
  if (opts.disabled === undefined && process.env.SEEDSHIP_NO_ADDON === '1')
    return new FallbackExtras('disabled by SEEDSHIP_NO_ADDON=1');
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
  // An addon built from older sources lacks calls: rebuilding fixes it.
  if (!isBinding(loaded))
    return new FallbackExtras(
      `${path} is not the expected addon (built from older sources?); run \`npm run build:native\``,
    );
  return new NativeExtras(loaded);
}

let cached: OsExtras | undefined;

/** The process-wide instance, loaded on first use with the default options. */
export function osExtras(): OsExtras {
  cached ??= loadOsExtras();
  return cached;
}
