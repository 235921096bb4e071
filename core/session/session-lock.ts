/** The session lock that keeps two `prepare` runs off one session. */
import type { FileSystem, ProcessInfo } from '../../native/interfaces.js';
import { errnoCode, SeedshipError } from '../errors/errors.js';

interface LockBody {
  pid: number;
  host: string;
  start: string | undefined;
  at: number;
}

/**
 * One `prepare` per session: a lock file holding pid, host and the process's start time. A lock
 * whose process is gone (or whose pid now belongs to another process) is stale and taken over;
 * a live one is `E_SESSION_LOCKED` (exit 5).
 */
export class SessionLock {
  readonly #fs: FileSystem;
  readonly #path: string;
  #held = false;

  private constructor(fs: FileSystem, path: string) {
    this.#fs = fs;
    this.#path = path;
  }

  /** Take the lock. `staleTakenOver` tells whether a dead run's lock was replaced. */
  static async acquire(
    fs: FileSystem,
    proc: ProcessInfo,
    path: string,
    now: number,
  ): Promise<{ lock: SessionLock; staleTakenOver: boolean }> {
    const body: LockBody = {
      pid: proc.pid,
      host: proc.hostname,
      start: await proc.processStartTime(proc.pid),
      at: now,
    };
    const lock = new SessionLock(fs, path);
    let staleTakenOver = false;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const h = await fs.open(path, 'wx', 0o600);
        await h.write(Buffer.from(JSON.stringify(body)), 0);
        await h.sync();
        await h.close();
        lock.#held = true;
        return { lock, staleTakenOver };
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      const held = await readLock(fs, path);
      if (held && (await isLive(held, proc))) {
        throw new SeedshipError(
          'E_SESSION_LOCKED',
          `session is locked by prepare pid ${held.pid} on ${held.host} (since ${new Date(held.at).toISOString()}); ` +
            `wait for it to finish, or stop it — if it is gone, delete ${path}`,
          { path },
        );
      }
      // Stale: the process that held it is gone. Remove and retry the exclusive create.
      await fs.unlink(path);
      staleTakenOver = true;
    }
    throw new SeedshipError(
      'E_SESSION_LOCKED',
      `could not take the session lock ${path}: another run keeps taking it`,
      { path },
    );
  }

  async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    await this.#fs.unlink(this.#path);
  }
}

async function readLock(fs: FileSystem, path: string): Promise<LockBody | undefined> {
  const b = await fs.readFileIfExists(path);
  if (!b) return undefined;
  try {
    return JSON.parse(b.toString('utf8')) as LockBody;
  } catch {
    return undefined; // a lock torn by a crash during its own write is stale by definition
  }
}

async function isLive(l: LockBody, proc: ProcessInfo): Promise<boolean> {
  if (l.host !== proc.hostname) return true; // another machine's process: cannot tell, assume alive
  if (l.pid === proc.pid) return false;
  const start = await proc.processStartTime(l.pid);
  if (start === undefined) return false;
  return l.start === undefined || start === 'unknown' || start === l.start;
}
