import type { PhaseChange, ProgressSnapshot } from '../core/index.js';

/**
 * The record every run keeps: JSON lines in `<session>/logs/` (command line with keys masked,
 * version, start, every phase, progress samples, warnings, errors, exit code). Records made before
 * the command knows its session dir are kept in memory and written when `attach` is called; a run
 * that never learns one writes to the fallback directory when it ends.
 *
 * This first implementation keeps the records in memory only (the contract other parts code
 * against); the pino-backed file writer replaces it.
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
  /** The run ends with `code`; flushes and closes the file. */
  end(code: number): Promise<void>;
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
}
