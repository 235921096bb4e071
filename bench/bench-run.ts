/**
 * Running benchmark commands: wall time and peak memory of a shell command under GNU time, and a
 * seedship run killed with SIGKILL half-way and then resumed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { SeedshipError } from '../core/errors/errors.js';

const MiB = 1024 * 1024;

export interface Sample {
  readonly secs: number;
  /** Peak resident set of the largest process of the command, KiB. */
  readonly rssKiB: number;
}

/**
 * Run `cmd` with sh under `/usr/bin/time -v`; throws with its output if it fails (exit 3, files
 * skipped, is success).
 */
export function timed(cmd: string, env: NodeJS.ProcessEnv = {}): Sample {
  const r = spawnSync('/usr/bin/time', ['-v', 'sh', '-c', cmd], {
    env: { ...process.env, CI: 'true', ...env },
    encoding: 'utf8',
    maxBuffer: 64 * MiB,
  });
  if (r.status !== 0 && r.status !== 3)
    throw new SeedshipError('E_INTERNAL', `failed (${r.status}): ${cmd}\n${(r.stderr ?? '').slice(-2000)}`);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const secs = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
  return { secs, rssKiB: rss ? Number(rss[1]) : NaN };
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Start `node cli prepare … --json`, SIGKILL it once its progress passes `fraction` of the bytes,
 * then run the same command again to the end. Returns both wall times and where it was killed.
 */
export async function killAndResume(
  node: string,
  args: string[],
  fraction: number,
): Promise<{ killedSecs: number; resumeSecs: number; killedAt: number }> {
  const t0 = performance.now();
  const killedAt = await new Promise<number>((resolve, reject) => {
    const child = spawn(node, [...args, '--json'], {
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let buf = '';
    let at = -1;
    child.stderr.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (at >= 0 || !line.startsWith('{"type":"progress"')) continue;
        const e = JSON.parse(line) as { phase: string; rawDone: number; rawTotal: number };
        if (e.phase === 'copy' && e.rawTotal > 0 && e.rawDone >= fraction * e.rawTotal) {
          at = e.rawDone / e.rawTotal;
          child.kill('SIGKILL');
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) =>
      signal === 'SIGKILL'
        ? resolve(at)
        : reject(
            new SeedshipError(
              'E_INTERNAL',
              `the run to be killed ended by itself (exit ${code}) before ${fraction * 100} %: use more data`,
            ),
          ),
    );
  });
  const killedSecs = (performance.now() - t0) / 1000;
  const resume = timed(`${[node, ...args].map((a) => `'${a}'`).join(' ')} > /dev/null`);
  return { killedSecs, resumeSecs: resume.secs, killedAt };
}
