import type { DirEntry, FileHandle, FileStat, FileSystem, FsSpace, OpenFlags } from '../../native/interfaces.js';

/** Error codes a drive fault answers with. */
export type DriveFaultCode = 'EIO' | 'ENOSPC';

/** One scripted fault; `fired` counts the operations it changed (failed, shortened or delayed). */
export interface DriveFaultRule {
  readonly description: string;
  readonly fired: number;
}

interface Rule extends DriveFaultRule {
  fired: number;
  readonly prefix: string;
  readonly kind: 'limit' | 'short' | 'slow';
  readonly code: DriveFaultCode;
  /** limit: bytes that may still be written before the rule trips. */
  budget: number;
  /** limit: tripped (a dead or a full drive from now on). */
  tripped: boolean;
  /** limit: reads fail too once tripped. */
  readonly reads: boolean;
  /** short: the most bytes one write stores; slow: ms per operation. */
  readonly amount: number;
  /** short: what the shortened write does after storing its part. */
  readonly failWith: DriveFaultCode | 'silent';
  /** short: operations left to shorten. */
  left: number;
  /** slow: delay syncs (datasync, sync, syncFileSystem) too. */
  readonly syncs: boolean;
}

const ERRNO: Record<DriveFaultCode, number> = { EIO: -5, ENOSPC: -28 };
const WRITING_FLAGS: ReadonlySet<OpenFlags> = new Set(['w', 'wx', 'w+', 'a']);

/** An error shaped as Node's fs errors are (code, errno, syscall, path), marked as injected. */
export function injectedError(code: DriveFaultCode, syscall: string, path: string): NodeJS.ErrnoException {
  const text = code === 'EIO' ? 'i/o error' : 'no space left on device';
  return Object.assign(new Error(`${code}: ${text} (injected fault), ${syscall} '${path}'`), {
    code,
    errno: ERRNO[code],
    syscall,
    path,
  });
}

/**
 * Wraps a FileSystem and makes the operations under chosen path prefixes (drives) misbehave the
 * way a failing drive does, while everything else passes through unchanged:
 *
 * - `failAfterBytes(prefix, n, 'EIO')`: a drive that dies after `n` bytes. The write that crosses
 *   the limit stores the bytes up to it (a torn write) and fails; from then on every write, sync,
 *   create, mkdir, rename and link under the prefix fails with EIO (and reads, with `reads: true`).
 *   `n = 0` is a drive that is already dead. `trip(prefix)` kills it on command.
 * - `failAfterBytes(prefix, n, 'ENOSPC')`: a drive that fills up after `n` bytes. Writes, creates
 *   and mkdir fail with ENOSPC from then on; syncs, renames and reads still work, as on a full disk.
 * - `shortWrites(prefix, max, {failWith})`: each write longer than `max` stores only `max` bytes, then
 *   fails with `failWith` (EIO by default: what NodeFileSystem reports when the kernel stops short), or
 *   with `failWith: 'silent'` returns as if it had written everything (a drive that loses data).
 * - `slowWrites(prefix, ms)`: waits `delay(ms)` before each write (and sync, with `syncs: true`).
 *   `delay` is injected, so a test decides when time passes and never sleeps.
 *
 * Bytes count every write under the prefix: handle writes, `writeNewFile` and `writeFileAtomic`
 * (which stores nothing when it crosses a limit: it publishes whole or not at all). Rules are
 * checked in the order they were added. `assertAllFired()` fails a test whose scripted fault never
 * happened (kopia's VerifyAllFaultsExercised). test/support/fault-fs.ts is the other wrapper, for
 * crash points counted over every durability operation.
 *
 * Only what goes through this FileSystem is seen: the worker threads write the small files they
 * encode (and their metadata files) with node:fs themselves (native/chunk-worker.ts). To fail
 * those too, use a real failing drive (`mountFailingDrive` in test/support/mounts.ts).
 */
export class DriveFaultFs implements FileSystem {
  readonly #inner: FileSystem;
  readonly #delay: (ms: number) => Promise<void>;
  readonly #rules: Rule[] = [];

  constructor(inner: FileSystem, opts: { delay?: (ms: number) => Promise<void> } = {}) {
    this.#inner = inner;
    this.#delay = opts.delay ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  #add(r: Pick<Rule, 'prefix' | 'kind' | 'description'> & Partial<Rule>): DriveFaultRule {
    const rule: Rule = {
      fired: 0,
      budget: 0,
      tripped: false,
      reads: false,
      amount: 0,
      failWith: 'EIO',
      left: Infinity,
      syncs: false,
      code: 'EIO',
      ...r,
      prefix: r.prefix.replace(/\/+$/, ''),
    };
    this.#rules.push(rule);
    return rule;
  }

  /** Writes under `prefix` fail with `code` once `bytes` have been written there (see the class comment). */
  failAfterBytes(
    prefix: string,
    bytes: number,
    code: DriveFaultCode = 'EIO',
    opts: { reads?: boolean } = {},
  ): DriveFaultRule {
    return this.#add({
      prefix,
      kind: 'limit',
      code,
      budget: bytes,
      tripped: bytes <= 0,
      reads: opts.reads ?? false,
      description: `${code} under ${prefix} after ${bytes} bytes${opts.reads ? ' (reads too)' : ''}`,
    });
  }

  /** Trip every byte-limit rule under `prefix` now, as if its limit had been reached. */
  trip(prefix: string): void {
    for (const r of this.#rules) if (r.kind === 'limit' && r.prefix === prefix.replace(/\/+$/, '')) r.tripped = true;
  }

  /** Writes over `maxBytes` under `prefix` store `maxBytes` and then fail with `failWith` (or return, `'silent'`). */
  shortWrites(
    prefix: string,
    maxBytes: number,
    opts: { failWith?: DriveFaultCode | 'silent'; times?: number } = {},
  ): DriveFaultRule {
    const failWith = opts.failWith ?? 'EIO';
    return this.#add({
      prefix,
      kind: 'short',
      amount: maxBytes,
      failWith,
      left: opts.times ?? Infinity,
      description: `short writes of ${maxBytes} bytes under ${prefix}, then ${failWith}`,
    });
  }

  /** Each write (and sync, with `syncs`) under `prefix` first waits `delay(msPerOp)`. */
  slowWrites(prefix: string, msPerOp: number, opts: { syncs?: boolean } = {}): DriveFaultRule {
    return this.#add({
      prefix,
      kind: 'slow',
      amount: msPerOp,
      syncs: opts.syncs ?? false,
      description: `${msPerOp} ms per write${opts.syncs ? ' and sync' : ''} under ${prefix}`,
    });
  }

  /** Every rule added, in order. */
  get rules(): readonly DriveFaultRule[] {
    return this.#rules;
  }

  /** Rules that never fired. */
  unfired(): DriveFaultRule[] {
    return this.#rules.filter((r) => r.fired === 0);
  }

  /** Throws when a scripted fault never fired: the test did not exercise what it meant to. */
  assertAllFired(): void {
    const left = this.unfired();
    if (left.length > 0)
      throw new Error(`scripted drive faults that never fired: ${left.map((r) => r.description).join('; ')}`);
  }

  #under(path: string): Rule[] {
    return this.#rules.filter((r) => path === r.prefix || path.startsWith(`${r.prefix}/`));
  }

  /** Fail a mutating operation (create, mkdir, rename…) on a tripped drive. `sync` ops fail only when it is dead (EIO). */
  #refuse(path: string, syscall: string, what: 'create' | 'sync' | 'read'): void {
    for (const r of this.#under(path)) {
      if (r.kind !== 'limit' || !r.tripped) continue;
      if (what === 'sync' && r.code !== 'EIO') continue;
      if (what === 'read' && !r.reads) continue;
      r.fired++;
      throw injectedError(r.code, syscall, path);
    }
  }

  async #slow(path: string, sync: boolean): Promise<void> {
    for (const r of this.#under(path)) {
      if (r.kind !== 'slow' || (sync && !r.syncs)) continue;
      r.fired++;
      await this.#delay(r.amount);
    }
  }

  /**
   * Decide how much of a `length`-byte write under `path` is stored: all of it (undefined), or a
   * prefix of `keep` bytes followed by `error` (or by nothing, for a silent short write).
   */
  #plan(path: string, length: number, syscall: string): { keep: number; error: Error | undefined } | undefined {
    this.#refuse(path, syscall, 'create');
    let plan: { keep: number; error: Error | undefined } | undefined;
    for (const r of this.#under(path)) {
      if (r.kind === 'limit') {
        if (length > r.budget) {
          r.tripped = true;
          r.fired++;
          const keep = Math.min(r.budget, plan?.keep ?? Infinity);
          r.budget = 0;
          plan = { keep, error: injectedError(r.code, syscall, path) };
        } else r.budget -= length;
      } else if (r.kind === 'short' && r.left > 0 && length > r.amount && !plan) {
        r.left--;
        r.fired++;
        plan = {
          keep: r.amount,
          error: r.failWith === 'silent' ? undefined : injectedError(r.failWith, syscall, path),
        };
      }
    }
    return plan;
  }

  async open(path: string, flags: OpenFlags, mode?: number): Promise<FileHandle> {
    if (WRITING_FLAGS.has(flags)) this.#refuse(path, 'open', 'create');
    else this.#refuse(path, 'open', 'read');
    const h = await this.#inner.open(path, flags, mode);
    return {
      path: h.path,
      write: async (data, position) => {
        await this.#slow(path, false);
        const plan = this.#plan(path, data.length, 'write');
        if (!plan) return h.write(data, position);
        if (plan.keep > 0) await h.write(data.subarray(0, plan.keep), position);
        if (plan.error) throw plan.error;
      },
      read: async (into, offset, length, position) => {
        this.#refuse(path, 'read', 'read');
        return h.read(into, offset, length, position);
      },
      datasync: async () => {
        await this.#slow(path, true);
        this.#refuse(path, 'fdatasync', 'sync');
        return h.datasync();
      },
      sync: async () => {
        await this.#slow(path, true);
        this.#refuse(path, 'fsync', 'sync');
        return h.sync();
      },
      dropCache: () => h.dropCache(),
      truncate: (l) => h.truncate(l),
      stat: () => h.stat(),
      close: () => h.close(),
    };
  }

  async writeNewFile(path: string, data: Uint8Array): Promise<void> {
    await this.#slow(path, false);
    const plan = this.#plan(path, data.length, 'write');
    if (!plan) return this.#inner.writeNewFile(path, data);
    await this.#inner.writeNewFile(path, data.subarray(0, plan.keep));
    if (plan.error) throw plan.error;
  }

  async writeFileAtomic(path: string, data: Uint8Array | string, mode?: number): Promise<void> {
    await this.#slow(path, false);
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    const plan = this.#plan(path, bytes, 'write');
    // Atomic: a failed publish leaves nothing behind, and a silent short write is not one it can make.
    if (plan?.error) throw plan.error;
    return this.#inner.writeFileAtomic(path, data, mode);
  }

  async syncFileSystem(path: string): Promise<boolean> {
    await this.#slow(path, true);
    this.#refuse(path, 'syncfs', 'sync');
    return this.#inner.syncFileSystem(path);
  }
  async fsyncDir(path: string): Promise<void> {
    await this.#slow(path, true);
    this.#refuse(path, 'fsync', 'sync');
    return this.#inner.fsyncDir(path);
  }
  async mkdir(path: string, mode?: number): Promise<void> {
    this.#refuse(path, 'mkdir', 'create');
    return this.#inner.mkdir(path, mode);
  }
  async rename(from: string, to: string): Promise<void> {
    this.#refuse(to, 'rename', 'sync'); // a full drive still renames; a dead one does not
    return this.#inner.rename(from, to);
  }
  async link(existing: string, path: string): Promise<void> {
    this.#refuse(path, 'link', 'create');
    return this.#inner.link(existing, path);
  }
  async symlink(target: string, path: string): Promise<void> {
    this.#refuse(path, 'symlink', 'create');
    return this.#inner.symlink(target, path);
  }
  async mknod(path: string, kind: 'fifo' | 'socket' | 'char' | 'block', mode: number, rdev: number): Promise<void> {
    this.#refuse(path, 'mknod', 'create');
    return this.#inner.mknod(path, kind, mode, rdev);
  }
  async readFile(path: string): Promise<Buffer> {
    this.#refuse(path, 'read', 'read');
    return this.#inner.readFile(path);
  }
  async readFileIfExists(path: string): Promise<Buffer | undefined> {
    this.#refuse(path, 'read', 'read');
    return this.#inner.readFileIfExists(path);
  }

  readdir = (p: string): Promise<DirEntry[]> => this.#inner.readdir(p);
  lstat = (p: string): Promise<FileStat> => this.#inner.lstat(p);
  lstatMany = (ps: readonly string[]): Promise<(FileStat | Error)[]> => this.#inner.lstatMany(ps);
  stat = (p: string): Promise<FileStat> => this.#inner.stat(p);
  statfs = (p: string): Promise<FsSpace> => this.#inner.statfs(p);
  realpath = (p: string): Promise<string> => this.#inner.realpath(p);
  unlink = (p: string): Promise<void> => this.#inner.unlink(p);
  rmdir = (p: string): Promise<void> => this.#inner.rmdir(p);
  chmod = (p: string, m: number): Promise<void> => this.#inner.chmod(p, m);
  readlink = (p: string): Promise<string> => this.#inner.readlink(p);
  lchown = (p: string, u: number, g: number): Promise<void> => this.#inner.lchown(p, u, g);
  lutimes = (p: string, a: bigint, m: bigint): Promise<void> => this.#inner.lutimes(p, a, m);
  exists = (p: string): Promise<boolean> => this.#inner.exists(p);
  canWrite = (p: string): Promise<boolean> => this.#inner.canWrite(p);
}
