/**
 * Slow drives for benchmarks: ext4 on loop devices whose reads and writes the kernel holds to a
 * byte rate through the blkio cgroup v1 throttle of the root cgroup. Every process here and the
 * kernel's flusher threads sit in the root cgroup, so buffered write-back is held too, not only
 * direct I/O (checked: 100 MiB `dd` + `sync` takes 4.2 s at 25 MB/s). Root only.
 *
 * Everything made here (images, mount points, loop devices, throttle entries) is undone by
 * `close()`, which is safe to call twice and goes on past a step that fails.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const BLKIO = '/sys/fs/cgroup/blkio';
const WRITE_BPS = `${BLKIO}/blkio.throttle.write_bps_device`;
const READ_BPS = `${BLKIO}/blkio.throttle.read_bps_device`;
const SERVICE_BYTES = `${BLKIO}/blkio.throttle.io_service_bytes`;

/** Bytes a device has read and written so far (blkio.throttle.io_service_bytes of the root cgroup). */
export interface IoBytes {
  readonly read: number;
  readonly write: number;
}

export interface ThrottledDrive {
  /** Mount point. */
  readonly dir: string;
  /** Loop device, e.g. /dev/loop3. */
  readonly dev: string;
  /** "MAJ:MIN" of the loop device, the key of the throttle files. */
  readonly majMin: string;
}

/** Why throttled drives cannot be made here, or undefined when they can. */
export function whyNoThrottledDrives(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (loop devices, mounts and blkio throttle entries)';
  if (!existsSync(WRITE_BPS) || !existsSync(READ_BPS) || !existsSync(SERVICE_BYTES))
    return `no blkio cgroup v1 throttle here (${WRITE_BPS} is missing; cgroup v2 would need io.max instead)`;
  for (const cmd of ['losetup', 'mkfs.ext4', 'lsblk', 'mount', 'umount']) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    } catch {
      return `${cmd} is not installed (apt-get install e2fsprogs util-linux mount)`;
    }
  }
  return undefined;
}

/** Read and write byte counters of every device in `majMins`, from the root cgroup. */
export function readIoBytes(majMins: readonly string[]): Map<string, IoBytes> {
  const out = new Map<string, { read: number; write: number }>(majMins.map((m) => [m, { read: 0, write: 0 }]));
  for (const line of readFileSync(SERVICE_BYTES, 'utf8').split('\n')) {
    const [mm, op, n] = line.split(' ');
    const e = mm === undefined ? undefined : out.get(mm);
    if (!e) continue;
    if (op === 'Read') e.read = Number(n);
    else if (op === 'Write') e.write = Number(n);
  }
  return out;
}

/** A set of throttled drives under one work folder (`root`: images `dN.img`, mount points `dN`). */
export class ThrottledDrives {
  readonly drives: ThrottledDrive[] = [];
  readonly #root: string;
  readonly #images: string[] = [];
  readonly #loops: string[] = [];
  readonly #throttled: string[] = [];
  readonly #mounted: string[] = [];

  private constructor(root: string) {
    this.#root = root;
  }

  /**
   * Make `count` drives of `sizeMiB` each, throttled to `bytesPerSec` for reads and for writes.
   * The file systems are formatted in full before the throttle is set (no lazy inode-table init
   * writing in the background during a timed run). On a failure part way, what was made is undone.
   */
  static create(root: string, count: number, sizeMiB: number, bytesPerSec: number): ThrottledDrives {
    const set = new ThrottledDrives(root);
    mkdirSync(root, { recursive: true });
    try {
      for (let i = 1; i <= count; i++) set.#add(i, sizeMiB, bytesPerSec);
    } catch (err) {
      set.close();
      throw err;
    }
    return set;
  }

  #add(i: number, sizeMiB: number, bytesPerSec: number): void {
    const image = join(this.#root, `d${i}.img`);
    const dir = join(this.#root, `d${i}`);
    execFileSync('truncate', ['-s', `${sizeMiB}M`, image]);
    this.#images.push(image);
    // Direct I/O to the image: the host's page cache does not hold a second copy of the drive.
    const dev = execFileSync('losetup', ['--direct-io=on', '-f', '--show', image], { encoding: 'utf8' }).trim();
    this.#loops.push(dev);
    const majMin = execFileSync('lsblk', ['-dno', 'MAJ:MIN', dev], { encoding: 'utf8' }).trim();
    this.drives.push({ dir, dev, majMin });
    execFileSync('mkfs.ext4', ['-q', '-F', '-E', 'nodiscard,lazy_itable_init=0,lazy_journal_init=0', dev], {
      stdio: 'ignore',
    });
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-o', 'nodiscard', dev, dir]);
    this.#mounted.push(dir);
    this.#throttled.push(majMin);
    writeFileSync(WRITE_BPS, `${majMin} ${bytesPerSec}`);
    writeFileSync(READ_BPS, `${majMin} ${bytesPerSec}`);
  }

  /** Byte counters of every drive, keyed by MAJ:MIN. */
  ioBytes(): Map<string, IoBytes> {
    return readIoBytes(this.drives.map((d) => d.majMin));
  }

  /** Unmount and mount every drive again: their page cache is gone, so the next read hits the device. */
  remount(): void {
    for (const d of this.drives) {
      execFileSync('umount', [d.dir]);
      execFileSync('mount', ['-o', 'nodiscard', d.dev, d.dir]);
    }
  }

  /**
   * Reset the throttle entries to 0 (no limit) first, so that unmounting does not flush at the
   * throttled rate; then unmount, detach and delete. Every step is tried; the first error is
   * thrown at the end.
   */
  close(): void {
    let first: unknown;
    const attempt = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        first ??= err;
      }
    };
    for (const mm of this.#throttled.splice(0)) {
      attempt(() => writeFileSync(WRITE_BPS, `${mm} 0`));
      attempt(() => writeFileSync(READ_BPS, `${mm} 0`));
    }
    for (const dir of this.#mounted.splice(0)) attempt(() => execFileSync('umount', [dir]));
    for (const dev of this.#loops.splice(0)) attempt(() => execFileSync('losetup', ['-d', dev]));
    this.drives.splice(0);
    for (const image of this.#images.splice(0)) attempt(() => rmSync(image, { force: true }));
    if (first !== undefined) throw first;
  }
}
