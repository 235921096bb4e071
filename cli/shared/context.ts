// CliContext: what a command reaches the outside world through (streams, env, native deps, signal, run log).
import type { Readable, Writable } from 'node:stream';
import { makeNodeDeps, type NativeDeps } from '../../native/index.js';
import { FileRunLog, type RunLog } from './run-log.js';

/**
 * What a command needs from the outside world. `main.ts` builds the real one; crash tests build
 * one whose file system kills the process at a chosen sync point.
 */
export interface CliContext {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdin: Readable;
  /** stdin and stderr are terminals and no CI variable is set: prompts and live progress allowed. */
  readonly interactive: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly deps: NativeDeps;
  /** Aborted on SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  /** This run's log (cli/shared/run-log.ts). */
  readonly log: RunLog;
}

/** The real context of a CLI process. */
export function makeProcessContext(signal: AbortSignal, deps: NativeDeps = makeNodeDeps()): CliContext {
  const env = process.env;
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  const cwd = process.cwd();
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY) && !ci,
    env,
    cwd,
    deps,
    signal,
    log: new FileRunLog({ deps, env, cwd, stderr: process.stderr }),
  };
}
