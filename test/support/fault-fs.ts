import type { FileHandle, FileSystem, OpenFlags } from '../../native/interfaces.js';

/** Operations a fault can target. */
export type FaultOp =
  | 'datasync'
  | 'sync'
  | 'rename'
  | 'fsyncDir'
  | 'write'
  | 'writeFileAtomic'
  | 'writeNewFile'
  | 'syncFileSystem';

/**
 * Wraps a FileSystem and calls `onOp(op, n, path)` before each targeted operation (`n` counts all
 * targeted operations so far, from 1). The hook may throw (inject an error) or kill the process
 * (a crash at an exact point). `fired` records what the hook did, so a test can check that every
 * scripted fault happened (kopia's VerifyAllFaultsExercised).
 */
export class FaultFs implements FileSystem {
  count = 0;
  readonly #inner: FileSystem;
  readonly #onOp: (op: FaultOp, n: number, path: string) => void;

  constructor(inner: FileSystem, onOp: (op: FaultOp, n: number, path: string) => void) {
    this.#inner = inner;
    this.#onOp = onOp;
  }

  #hit(op: FaultOp, path: string): void {
    this.count++;
    this.#onOp(op, this.count, path);
  }

  async open(path: string, flags: OpenFlags, mode?: number): Promise<FileHandle> {
    const h = await this.#inner.open(path, flags, mode);
    const hit = (op: FaultOp) => this.#hit(op, path);
    return {
      path: h.path,
      write: async (d, p) => {
        hit('write');
        return h.write(d, p);
      },
      read: (i, o, l, p) => h.read(i, o, l, p),
      datasync: async () => {
        hit('datasync');
        return h.datasync();
      },
      sync: async () => {
        hit('sync');
        return h.sync();
      },
      dropCache: () => h.dropCache(),
      truncate: (l) => h.truncate(l),
      stat: () => h.stat(),
      close: () => h.close(),
    };
  }
  readdir = (p: string) => this.#inner.readdir(p);
  lstat = (p: string) => this.#inner.lstat(p);
  lstatMany = (ps: readonly string[]) => this.#inner.lstatMany(ps);
  stat = (p: string) => this.#inner.stat(p);
  statfs = (p: string) => this.#inner.statfs(p);
  realpath = (p: string) => this.#inner.realpath(p);
  mkdir = (p: string, m?: number) => this.#inner.mkdir(p, m);
  async rename(a: string, b: string): Promise<void> {
    this.#hit('rename', b);
    return this.#inner.rename(a, b);
  }
  unlink = (p: string) => this.#inner.unlink(p);
  rmdir = (p: string) => this.#inner.rmdir(p);
  chmod = (p: string, m: number) => this.#inner.chmod(p, m);
  readlink = (p: string) => this.#inner.readlink(p);
  symlink = (t: string, p: string) => this.#inner.symlink(t, p);
  link = (a: string, p: string) => this.#inner.link(a, p);
  mknod = (p: string, k: 'fifo' | 'socket' | 'char' | 'block', m: number, r: number) => this.#inner.mknod(p, k, m, r);
  lchown = (p: string, u: number, g: number) => this.#inner.lchown(p, u, g);
  lutimes = (p: string, a: bigint, m: bigint) => this.#inner.lutimes(p, a, m);
  readFile = (p: string) => this.#inner.readFile(p);
  readFileIfExists = (p: string) => this.#inner.readFileIfExists(p);
  exists = (p: string) => this.#inner.exists(p);
  canWrite = (p: string) => this.#inner.canWrite(p);
  async writeFileAtomic(p: string, d: Uint8Array | string, m?: number): Promise<void> {
    this.#hit('writeFileAtomic', p);
    return this.#inner.writeFileAtomic(p, d, m);
  }
  async writeNewFile(p: string, d: Uint8Array): Promise<void> {
    this.#hit('writeNewFile', p);
    return this.#inner.writeNewFile(p, d);
  }
  async syncFileSystem(p: string): Promise<boolean> {
    this.#hit('syncFileSystem', p);
    return this.#inner.syncFileSystem(p);
  }
  async fsyncDir(p: string): Promise<void> {
    this.#hit('fsyncDir', p);
    return this.#inner.fsyncDir(p);
  }
}
