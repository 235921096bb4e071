// The run log: one JSON-lines file per run, in the session dir or the fallback log dir.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { SEEDSHIP_VERSION, SeedshipError, type PhaseChange, type ProgressSnapshot } from '../../core/index.js';
import type { NativeDeps } from '../../native/index.js';
import { SecretMasker } from './log-mask.js';

/**
 * The record every run keeps: JSON lines in `<session>/logs/` (command line with keys masked,
 * version, start, every phase, progress samples, warnings, errors, exit code). Records made before
 * the command knows its session dir are kept in memory and written when `attach` is called; a run
 * that never learns one writes to the fallback directory (`fallbackLogDir`) when it ends.
 * docs/logging.md describes the file and its records.
 */
export interface RunLog {
  /** The run starts: its argv (keys are masked before anything is written). */
  start(argv: readonly string[]): void;
  /** The command knows its session dir now: the log file goes to `<sessionDir>/logs/`. */
  attach(sessionDir: string): void;
  phase(change: PhaseChange): void;
  /** A progress sample (the plain-line cadence, every 10 s by default, and at each phase change). */
  progress(snapshot: ProgressSnapshot): void;
  info(message: string, extra?: object): void;
  warn(message: string, extra?: object): void;
  /** Written only with --debug. */
  debug(message: string, extra?: object): void;
  error(err: unknown): void;
  /** The run ends with `code`; flushes and closes the file. Later calls do nothing. */
  end(code: number): Promise<void>;
  /** The run did nothing worth a record (help, version): nothing is written, now or at `end`. */
  discard(): void;
  /** The file written to, once there is one. */
  readonly file: string | undefined;
}

/** Keeps the run's records in memory (tests read them; nothing reaches a disk). */
export class MemoryRunLog implements RunLog {
  readonly records: Record<string, unknown>[] = [];
  file: string | undefined = undefined;

  start(argv: readonly string[]): void {
    this.records.push({ msg: 'start', argv: [...argv] });
  }
  attach(_sessionDir: string): void {}
  phase(change: PhaseChange): void {
    this.records.push({ msg: 'phase', ...change });
  }
  progress(snapshot: ProgressSnapshot): void {
    this.records.push({ msg: 'progress', progress: snapshot });
  }
  info(message: string, extra: object = {}): void {
    this.records.push({ msg: message, level: 'info', ...extra });
  }
  warn(message: string, extra: object = {}): void {
    this.records.push({ msg: message, level: 'warn', ...extra });
  }
  debug(message: string, extra: object = {}): void {
    this.records.push({ msg: message, level: 'debug', ...extra });
  }
  error(err: unknown): void {
    this.records.push({ msg: 'error', error: err instanceof Error ? err.message : String(err) });
  }
  async end(code: number): Promise<void> {
    this.records.push({ msg: 'end', exitCode: code });
  }
  discard(): void {
    this.records.length = 0;
  }
}

/** Records kept in memory before there is a file; past this the fallback file is opened early. */
const BUFFER_CAP_BYTES = 1024 * 1024;

/**
 * Where the log of a run that never learns a session dir goes: `$SEEDSHIP_LOG_DIR`, else
 * `$XDG_STATE_HOME/seedship/logs`, else `~/.local/state/seedship/logs` (the XDG base-directory
 * place for logs that outlive a run).
 */
export function fallbackLogDir(env: NodeJS.ProcessEnv, cwd: string): string {
  if (env.SEEDSHIP_LOG_DIR) return resolve(cwd, env.SEEDSHIP_LOG_DIR);
  if (env.XDG_STATE_HOME) return resolve(cwd, env.XDG_STATE_HOME, 'seedship', 'logs');
  return join(env.HOME || homedir(), '.local', 'state', 'seedship', 'logs');
}

/** The command's words in argv (`job create` → `job-create`) for the file name; `seedship` when none. */
export function commandOf(argv: readonly string[]): string {
  // AzureOfflineBackupDiskPrep's spelling (translateDiskPrepArgs): u: is job u, s:/p: is prepare.
  if (argv.some((a) => /^u:/i.test(a))) return 'job-u';
  if (argv.some((a) => /^[sp]:/i.test(a))) return 'prepare';
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-')) {
      // Options before the command (--debug) are skipped; the first one after it ends the words.
      if (words.length > 0) break;
      continue;
    }
    if (words.length === 2 || !/^[a-z][a-z0-9-]{0,31}$/i.test(a)) break;
    words.push(a.toLowerCase());
  }
  return words.length > 0 ? words.join('-') : 'seedship';
}

export interface FileRunLogOptions {
  /** The clock stamps every record; `proc` gives pid and host. */
  readonly deps: Pick<NativeDeps, 'clock' | 'proc'>;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Where the one-line warning goes when the log cannot be written. */
  readonly stderr: Writable;
}

/**
 * The run log of a CLI process: pino formats each record as a JSON line, written with a blocking
 * `write` as it is made (so a record is on disk, not in a buffer, when the process exits, however
 * it exits), to `<session>/logs/<UTC start>-<command>.jsonl` once `attach` names the session, else
 * to the fallback dir at `end`. A log that cannot be written costs one warning line on stderr,
 * never the command.
 */
export class FileRunLog implements RunLog {
  readonly #o: FileRunLogOptions;
  readonly #mask = new SecretMasker();
  readonly #logger: Logger;
  #debug = false;
  #json = false;
  #command = 'seedship';
  #startedAt: number;
  #startedMono: number;
  #pending: string[] = [];
  #pendingBytes = 0;
  #fd: number | undefined;
  #file: string | undefined;
  #sessionDir: string | undefined;
  #state: 'running' | 'ended' | 'discarded' = 'running';
  /** Writing failed once: nothing more is tried (one warning per run). */
  #broken = false;

  constructor(o: FileRunLogOptions) {
    this.#o = o;
    this.#startedAt = o.deps.clock.now();
    this.#startedMono = o.deps.clock.monotonic();
    this.#logger = pino(
      {
        level: 'info',
        base: null,
        timestamp: () => `,"time":${o.deps.clock.now()}`,
        formatters: { level: (label) => ({ level: label }) },
      },
      { write: (line: string) => this.#write(line) },
    );
  }

  get file(): string | undefined {
    return this.#file;
  }

  start(argv: readonly string[]): void {
    const { clock, proc } = this.#o.deps;
    this.#debug = argv.includes('--debug');
    this.#json = argv.includes('--json');
    if (this.#debug) this.#logger.level = 'debug';
    this.#command = commandOf(argv);
    this.#startedAt = clock.now();
    this.#startedMono = clock.monotonic();
    const record = {
      argv: this.#mask.maskArgv(argv),
      command: this.#command,
      version: SEEDSHIP_VERSION,
      node: process.version,
      host: proc.hostname,
      pid: proc.pid,
      cwd: this.#o.cwd,
      startedAt: new Date(this.#startedAt).toISOString(),
    };
    this.#logger.info(record, 'start');
  }

  attach(sessionDir: string): void {
    if (this.#state !== 'running') return;
    const dir = resolve(this.#o.cwd, sessionDir);
    if (dir === this.#sessionDir) return;
    if (this.#fd !== undefined || this.#broken) {
      // The file is already elsewhere (a long run before it knew its session): say where it belongs.
      this.#logger.info({ sessionDir: dir }, 'session');
      return;
    }
    const logs = join(dir, 'logs');
    try {
      // Not recursive: a log never creates a session dir that is not there.
      mkdirSync(logs, { mode: 0o700 });
    } catch (err) {
      // No session dir (yet): the command says so itself; the log ends in the fallback dir.
      if (errnoOf(err) === 'ENOENT') return;
      if (errnoOf(err) !== 'EEXIST') {
        this.#openFallback(`cannot write the run log in ${logs} (${describe(err)})`);
        return;
      }
    }
    this.#sessionDir = dir;
    try {
      this.#open(logs);
    } catch (err) {
      this.#openFallback(`cannot write the run log in ${logs} (${describe(err)})`);
    }
  }

  phase(change: PhaseChange): void {
    const message = change.message === undefined ? undefined : this.#mask.maskText(change.message);
    this.#logger.info({ step: change.step, phase: change.phase, message, elapsedMs: change.elapsedMs }, 'phase');
  }

  progress(snapshot: ProgressSnapshot): void {
    this.#logger.info({ progress: snapshot }, 'progress');
  }

  info(message: string, extra: object = {}): void {
    this.#logger.info(this.#mask.maskValue(extra) as object, this.#mask.maskText(message));
  }

  warn(message: string, extra: object = {}): void {
    this.#logger.warn(this.#mask.maskValue(extra) as object, this.#mask.maskText(message));
  }

  debug(message: string, extra: object = {}): void {
    if (!this.#debug) return;
    this.#logger.debug(this.#mask.maskValue(extra) as object, this.#mask.maskText(message));
  }

  error(err: unknown): void {
    const message = this.#mask.maskText(err instanceof Error ? err.message : String(err));
    const record: Record<string, unknown> = { code: err instanceof SeedshipError ? err.code : 'E_INTERNAL', message };
    if (err instanceof SeedshipError && err.path !== undefined) record.path = this.#mask.maskText(err.path);
    if (this.#debug && err instanceof Error) {
      if (err.stack) record.stack = this.#mask.maskText(err.stack);
      const cause = err.cause;
      if (cause !== undefined) {
        record.cause = this.#mask.maskText(cause instanceof Error ? (cause.stack ?? cause.message) : String(cause));
      }
    }
    this.#logger.error(record, 'error');
  }

  /** Synchronous inside: a second Ctrl-C that exits at once still leaves a complete file. */
  async end(code: number): Promise<void> {
    if (this.#state !== 'running') return;
    const elapsedMs = Math.round(this.#o.deps.clock.monotonic() - this.#startedMono);
    this.#logger.info({ exitCode: code, elapsedMs }, 'end');
    this.#state = 'ended';
    if (this.#fd === undefined && !this.#broken) this.#openFallback();
    this.#close();
    if (this.#debug && this.#file !== undefined) this.#say('info', `run log: ${this.#file}`);
  }

  discard(): void {
    if (this.#state !== 'running') return;
    this.#state = 'discarded';
    this.#pending = [];
    this.#close();
  }

  #write(line: string): void {
    if (this.#broken || this.#state === 'discarded') return;
    if (this.#fd !== undefined) {
      this.#writeOut(line);
      return;
    }
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (this.#pendingBytes > BUFFER_CAP_BYTES && this.#state === 'running') this.#openFallback();
  }

  /** Create the file in `dir` (never over another run's) and write what was kept in memory. */
  #open(dir: string): void {
    const base = join(dir, `${fileStamp(this.#startedAt)}-${this.#command}`);
    let file = `${base}.jsonl`;
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
      file = `${base}-${this.#o.deps.proc.pid}.jsonl`;
      fd = openSync(file, 'wx', 0o600);
    }
    this.#fd = fd;
    this.#file = file;
    const pending = this.#pending.join('');
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#writeOut(pending);
  }

  #openFallback(why?: string): void {
    const dir = fallbackLogDir(this.#o.env, this.#o.cwd);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.#open(dir);
    } catch (err) {
      this.#broken = true;
      this.#pending = [];
      const head = why ? `${why}, nor` : 'cannot write the run log';
      this.#say('warning', `${head} in ${dir} (${describe(err)}); the command goes on without it`);
      return;
    }
    if (why) this.#say('warning', `${why}; it is in ${this.#file} instead`);
  }

  #writeOut(text: string): void {
    if (text === '' || this.#fd === undefined) return;
    try {
      const bytes = Buffer.from(text, 'utf8');
      for (let off = 0; off < bytes.length; ) off += writeSync(this.#fd, bytes, off);
    } catch (err) {
      this.#broken = true;
      this.#close();
      this.#say('warning', `cannot write the run log ${this.#file} (${describe(err)}); the command goes on without it`);
    }
  }

  #close(): void {
    if (this.#fd === undefined) return;
    try {
      closeSync(this.#fd);
    } catch {
      // Every record was written with a blocking write before this; a failed close loses none.
    }
    this.#fd = undefined;
  }

  /** A line for the operator on stderr; never into the log (it may be what failed). */
  #say(level: 'warning' | 'info', message: string): void {
    const text = `seedship: ${level === 'warning' ? 'warning: ' : ''}${message}`;
    const line = this.#json ? JSON.stringify({ type: level, message }) : text;
    try {
      this.#o.stderr.write(`${line}\n`);
    } catch {
      // stderr closed (EPIPE): nowhere left to say it.
    }
  }
}

/** UTC start time fit for a file name on any file system (no colons): 2026-12-02T14-22-20.123Z. */
function fileStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/:/g, '-');
}

function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describe(err: unknown): string {
  return errnoOf(err) ?? (err instanceof Error ? err.message : String(err));
}
