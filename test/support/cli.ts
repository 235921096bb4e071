import { spawn, type ChildProcess } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { CliContext } from '../../cli/shared/context.js';
import { runCli } from '../../cli/program.js';
import { MemoryRunLog } from '../../cli/shared/run-log.js';
import type { FileSystem, NativeDeps } from '../../native/interfaces.js';
import { makeNodeDeps } from '../../native/index.js';
import { fileURLToPath } from 'node:url';

/** Path of the compiled CLI entry. */
export const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

/**
 * How long a child CLI may run before it is killed as hung (ms). Not a measure of speed: a run
 * that takes seconds on a quiet machine can take minutes beside a benchmark on two cores, and
 * only a run that never ends should fail for its time.
 */
export const HUNG_MS = 600_000;

let logDir: string | undefined;

/**
 * The command line that runs `seedship args…` as root without the capabilities that let root read
 * any file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH): a staged file of mode 000 is unreadable to it,
 * as it is to any user, while the program itself stays readable even when the clone sits in a
 * directory only root can enter (a run as user nobody could not load it there).
 */
export function withoutFileCapabilities(args: string[]): [string, string[]] {
  const caps = '-dac_override,-dac_read_search';
  return ['setpriv', [`--bounding-set=${caps}`, `--inh-caps=${caps}`, process.execPath, CLI, ...args]];
}

/**
 * Where the children's run logs go when they have no session dir (SEEDSHIP_LOG_DIR): one temp dir
 * per test process, removed when it exits, so tests leave nothing in ~/.local/state.
 */
export function testLogDir(): string {
  if (logDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'seedship-logs-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    logDir = dir;
  }
  return logDir;
}

function childEnv(env: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  return { ...process.env, CI: 'true', SEEDSHIP_LOG_DIR: process.env.SEEDSHIP_LOG_DIR ?? testLogDir(), ...env };
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `seedship args…` as a child process (CI=true, no TTY) and collect its output. */
export function runSeedship(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd,
      env: childEnv(opts.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const limit = opts.timeoutMs ?? HUNG_MS;
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, limit);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (hung) stderr += `\nrunSeedship: killed after ${limit} ms without exiting (hung?)\n`;
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Start `seedship args…` and return the child, for kill tests. */
export function startSeedship(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Parse the JSON lines a `--json` run wrote to stderr. */
export function jsonLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * Run the CLI in this process with `fs` as its file system (a fault-injecting one) and other native
 * parts replaced by `overrides` (a drive probe over a faked /sys); returns the exit code and output.
 */
export async function runSeedshipWith(
  fs: FileSystem,
  argv: string[],
  overrides: Partial<NativeDeps> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const ctx: CliContext = {
    stdout,
    stderr,
    stdin: new PassThrough(),
    interactive: false,
    env: { ...process.env, CI: 'true' },
    cwd: process.cwd(),
    deps: makeNodeDeps({ fs, ...overrides }),
    signal: controller.signal,
    log: new MemoryRunLog(),
  };
  const code = await runCli(argv, ctx);
  return { code, stdout: out, stderr: err };
}
