import { spawn } from 'node:child_process';
import { HUNG_MS } from './cli.js';

/**
 * Run a command in a pseudo-terminal (util-linux `script`), answering prompts: each time the
 * output so far matches `answers[i].when`, `answers[i].before` runs (the operator's hands: a disk
 * swap) and `answers[i].send` is typed. CI is unset so the program
 * sees an interactive terminal. Resolves with the exit code and everything the terminal showed.
 */
export function runInPty(
  argv: string[],
  answers: { when: RegExp; send: string; before?: () => void }[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = HUNG_MS,
): Promise<{ code: number | null; output: string }> {
  const quoted = argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, TERM: 'xterm' };
  delete childEnv.CI;
  const child = spawn('script', ['-qfec', quoted, '/dev/null'], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let next = 0;
  const onData = (d: Buffer) => {
    output += d.toString();
    const a = answers[next];
    if (a?.when.test(output)) {
      next++;
      a.before?.();
      child.stdin.write(a.send);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve) => {
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (hung) output += `\nrunInPty: killed after ${timeoutMs} ms without exiting (hung?)\n`;
      resolve({ code, output });
    });
  });
}

/** `script` is part of util-linux; the pty tests skip without it. */
export async function havePty(): Promise<boolean> {
  return new Promise((resolve) => {
    const c = spawn('script', ['--version'], { stdio: 'ignore' });
    c.on('error', () => resolve(false));
    c.on('close', (code) => resolve(code === 0));
  });
}
