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

/** True when `cmd` is on the PATH. */
export function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Make a `sizeMiB` image file with an ext4 or NTFS file system and loop-mount it at `dir`. */
export function mountLoopImage(image: string, dir: string, sizeMiB: number, fs: 'ext4' | 'ntfs'): () => void {
  mkdirSync(dir, { recursive: true });
  execFileSync('truncate', ['-s', `${sizeMiB}M`, image]);
  if (fs === 'ext4') {
    execFileSync('mkfs.ext4', ['-q', '-F', image], { stdio: 'ignore' });
    execFileSync('mount', ['-o', 'loop', image, dir]);
  } else {
    execFileSync('mkfs.ntfs', ['-q', '-F', '-f', image], { stdio: 'ignore' });
    execFileSync('mount', ['-t', 'ntfs-3g', '-o', 'loop', image, dir]);
  }
  return () => execFileSync('umount', [dir]);
}
