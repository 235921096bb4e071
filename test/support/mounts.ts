import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

/** True when this process may mount file systems. */
export function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const NEEDS_ROOT = 'needs root to mount tmpfs drives (run the suite as root, as CI does)';

/** Mount a tmpfs of `sizeMiB` at `dir`; returns the unmount function. */
export function mountTmpfs(dir: string, sizeMiB: number): () => void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir]);
  return () => execFileSync('umount', ['-l', dir]);
}

export function remountReadOnly(dir: string): void {
  execFileSync('mount', ['-o', 'remount,ro', dir]);
}
