/** This process and host as the session lock sees them (pid, hostname, process start time), and the clock. */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Clock, ProcessInfo } from './interfaces.js';

/** Linux process facts from /proc; the start time guards the session lock against pid reuse. */
export class LinuxProcessInfo implements ProcessInfo {
  readonly pid = process.pid;
  readonly hostname = hostname();
  async processStartTime(pid: number): Promise<string | undefined> {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // Field 22 (starttime); the command name (field 2) may hold spaces and parentheses.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return rest[19];
    } catch {
      try {
        process.kill(pid, 0);
        return 'unknown';
      } catch (err) {
        return (err as { code?: string }).code === 'EPERM' ? 'unknown' : undefined;
      }
    }
  }
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};
