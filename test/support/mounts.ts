import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

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

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/**
 * How long the waits below give the kernel, FUSE or a mount helper (ms): they end as soon as what
 * they wait for happens, so this only has to be long enough for a machine under heavy load.
 */
const PATIENCE_MS = 60_000;
function sleepMs(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** Why NTFS drives cannot be mounted here, or undefined when they can (root, mkntfs, ntfs-3g, losetup, a usable /dev/fuse). */
export function whyNoNtfs(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to set up loop devices and mount ntfs-3g';
  for (const cmd of ['mkntfs', 'ntfs-3g', 'losetup', 'umount'])
    if (!have(cmd)) return `${cmd} is not installed (apt-get install ntfs-3g util-linux)`;
  try {
    closeSync(openSync('/dev/fuse', 'r+'));
  } catch (err) {
    return `/dev/fuse is not usable: ${(err as Error).message}`;
  }
  return undefined;
}

/** True when `mountNtfsDrive` can work here (see `whyNoNtfs`). */
export function haveNtfs(): boolean {
  return whyNoNtfs() === undefined;
}

/** Is `dir` a mount point now (per /proc/self/mountinfo)? */
export function isMounted(dir: string): boolean {
  const target = join(realpathSync(dirname(dir)), basename(dir)); // not stat-ing a possibly dead FUSE root
  const unoctal = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] !== undefined && unoctal(l.split(' ')[4]!) === target);
}

/**
 * Make a `sizeMiB` NTFS drive in `image` and mount it at `dir` the way a Linux copy computer does:
 * `losetup -f --show image`, `mkntfs -Q -F <loop>` (quick format), `ntfs-3g -o windows_names <loop> dir`
 * (FUSE, otherwise default options). Returns the unmount function: `umount` (retried while FUSE is
 * briefly busy), wait until the mount is gone, `losetup -d` (retried), wait until the loop device is
 * free. On a failure part way, what was set up is undone before the error is thrown.
 *
 * What such a drive does (ntfs-3g 2022.10.3, checked on Linux 6.18; test/unit/posix-compare.test.ts
 * asserts these, except the remarks in parentheses):
 * - Refused names, EINVAL: every one of `< > : " | ? * \`, the reserved names (`CON`, `nul`,
 *   `aux.txt`, `com1.log`: case-insensitive, with or without an extension), a trailing dot
 *   (`notes.`) or space (`memo `), and control characters 0x01–0x1F (so a newline or tab in a
 *   name). Names that are not valid UTF-8 (bytes 0xFF 0xFE) fail with EILSEQ, with or without
 *   `windows_names`. Accepted: NFC and NFD twins as two names (no normalisation), 0x7F. The tool
 *   must map all the refused names. (Without `windows_names`, `a:b`, `CON`, `memo ` and a newline
 *   were accepted; the non-UTF-8 name still failed.)
 * - Case-sensitive: `a` and `A`, `Readme.md`/`README.md`/`readme.md`, a dir `Docs` beside a file
 *   `docs` all live in one directory (POSIX namespace) - though Windows would not handle them.
 * - Linux modes and owners are NOT stored with the default options (no `permissions`, no user
 *   mapping): everything shows as 0777 root:root (the mounting user), and chmod/chown succeed
 *   silently without effect, so setuid/setgid/sticky, 0600 and other owners are lost. Symlinks,
 *   FIFOs and hard links are stored: symlinks and FIFOs as ntfs-3g's own Interix-style special
 *   files (system files, no reparse point, so Windows does not follow them); a hard link is a
 *   second NTFS name (nlink 2). Sparse files stay sparse.
 * - Name length: at most 255 UTF-16 code units, not bytes: a 765-byte name of 255 `あ` is accepted,
 *   256 ASCII bytes fail with ENAMETOOLONG, and a character outside the BMP counts 2 (so 127
 *   emoji fit, 128 do not). statfs f_namelen says 255.
 * - Times are kept to 100 ns (NTFS units): 2020-02-29T12:34:56.123456789Z reads back as …123456700;
 *   1970-01-01 and 2100-01-01 are kept exactly; a symlink's own mtime can be set.
 * - statfs f_type is 0x65735546 (FUSE_SUPER_MAGIC; the kernel shows the type as `fuseblk`), not
 *   NTFS_SB_MAGIC 0x5346544e (that is the in-kernel ntfs/ntfs3 drivers').
 */
export function mountNtfsDrive(image: string, dir: string, sizeMiB: number): () => void {
  mkdirSync(dir, { recursive: true });
  execFileSync('truncate', ['-s', `${sizeMiB}M`, image]);
  const loop = execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8' }).trim();
  const detach = () => {
    for (let i = 0; ; i++) {
      try {
        execFileSync('losetup', ['-d', loop], { stdio: ['ignore', 'ignore', 'pipe'] });
        break;
      } catch (err) {
        if (i >= PATIENCE_MS / 100) throw err;
        sleepMs(100);
      }
    }
    // Wait until the kernel has let go of the device (detach can be deferred while it is open).
    const backing = `/sys/block/${loop.replace('/dev/', '')}/loop/backing_file`;
    for (let i = 0; i < PATIENCE_MS / 100 && existsSync(backing); i++) sleepMs(100);
  };
  try {
    execFileSync('mkntfs', ['-Q', '-F', loop], { stdio: 'ignore' });
    execFileSync('ntfs-3g', ['-o', 'windows_names', loop, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    detach();
    throw err;
  }
  let done = false;
  return () => {
    if (done) return;
    for (let i = 0; ; i++) {
      try {
        execFileSync('umount', [dir], { stdio: ['ignore', 'ignore', 'pipe'] });
        break;
      } catch (err) {
        if (!isMounted(dir)) break; // someone else unmounted it
        if (i >= PATIENCE_MS / 150) throw new Error(`umount ${dir} kept failing: ${(err as Error).message}`);
        sleepMs(150); // FUSE is busy for a moment after the last close
      }
    }
    for (let i = 0; i < PATIENCE_MS / 100 && isMounted(dir); i++) sleepMs(100);
    if (isMounted(dir)) throw new Error(`${dir} is still mounted after umount`);
    detach();
    done = true;
  };
}

/** An ext4 drive on a loop device of our own, so its block I/O can be counted (blkio). */
export interface Ext4LoopDrive {
  /** `/dev/loopN`. */
  readonly device: string;
  /** `MAJ:MIN` of the loop device, as the blkio files name it. */
  readonly majMin: string;
  /** Unmount, detach the loop device and wait until the kernel has let go of it. */
  readonly unmount: () => void;
}

/**
 * Make a `sizeMiB` ext4 file system in `image` on a loop device of its own (`losetup -f --show`)
 * and mount it at `dir`. Unlike `mount -o loop`, this names the device, whose I/O the kernel
 * counts. On a failure part way, what was set up is undone before the error is thrown.
 */
export function mountExt4LoopDrive(image: string, dir: string, sizeMiB: number): Ext4LoopDrive {
  mkdirSync(dir, { recursive: true });
  execFileSync('truncate', ['-s', `${sizeMiB}M`, image]);
  const device = execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8' }).trim();
  const name = device.replace('/dev/', '');
  const detach = () => {
    execFileSync('losetup', ['-d', device]);
    for (let i = 0; i < PATIENCE_MS / 100 && existsSync(`/sys/block/${name}/loop/backing_file`); i++) sleepMs(100);
  };
  try {
    execFileSync('mkfs.ext4', ['-q', '-F', device], { stdio: 'ignore' });
    execFileSync('mount', [device, dir]);
  } catch (err) {
    detach();
    throw err;
  }
  const majMin = readFileSync(`/sys/block/${name}/dev`, 'utf8').trim();
  let done = false;
  return {
    device,
    majMin,
    unmount: () => {
      if (done) return;
      execFileSync('umount', [dir]);
      detach();
      done = true;
    },
  };
}

/** This process's blkio cgroup directory (cgroup v1); child processes start in it too. */
function blkioDir(): string {
  const line = readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[1]?.split(',').includes('blkio'));
  return `/sys/fs/cgroup/blkio${line?.split(':')[2] ?? '/'}`.replace(/\/$/, '');
}

/** Why block reads cannot be counted per device here (cgroup v1 blkio), or undefined when they can. */
export function whyNoBlkio(): string | undefined {
  const dir = blkioDir();
  if (!existsSync(`${dir}/blkio.throttle.io_service_bytes`))
    return `${dir}/blkio.throttle.io_service_bytes does not exist (needs the cgroup v1 blkio controller)`;
  if (!(process.getuid?.() === 0)) return 'needs root to write blkio throttle entries';
  return undefined;
}

const FAILING_FS = fileURLToPath(new URL('../../../test/support/failing-fs.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

/** A FUSE drive that fails (test/support/failing-fs.py), mounted by `mountFailingDrive`. */
export interface FailingDrive {
  /** Mount point: write here. */
  readonly path: string;
  /** The directory behind it: what reached the "disk". */
  readonly backing: string;
  /** Fail from now on, whatever has been written (creates the control file). */
  fail(): void;
  /** Unmount, and wait until the FUSE process has ended. Safe to call twice. */
  unmount(): Promise<void>;
}

/**
 * Why `mountFailingDrive` cannot work here, or undefined when it can: it needs root, a usable
 * /dev/fuse and fusepy for /usr/bin/python3. Installs nothing (CI's `.ci/run` installs
 * python3-fusepy); a test skips with this message.
 */
export function whyNoFailingDrive(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a FUSE drive';
  try {
    closeSync(openSync('/dev/fuse', 'r+'));
  } catch (err) {
    return `/dev/fuse is not usable: ${(err as Error).message}`;
  }
  const probe = 'try:\n from fuse import FUSE\nexcept ImportError:\n from fusepy import FUSE';
  try {
    execFileSync(PYTHON, ['-c', probe], { stdio: 'ignore' });
  } catch {
    return `${PYTHON} has no fusepy (apt-get install -y python3-fusepy, as .ci/run does)`;
  }
  return undefined;
}

/**
 * Start counting the block I/O of `majMin` in this cgroup's blkio.throttle.io_service_bytes. The
 * kernel counts a device's bytes there only once throttling is set up on its queue; writing a
 * limit of 0 (no limit) sets it up without slowing anything. Only for devices the test created.
 */
export function countBlkio(majMin: string): void {
  writeFileSync(`${blkioDir()}/blkio.throttle.read_bps_device`, `${majMin} 0\n`);
}

/** Remove every throttle entry of `majMin` (writes 0, which is also what countBlkio wrote). */
export function resetBlkio(majMin: string): void {
  for (const f of ['read_bps_device', 'write_bps_device', 'read_iops_device', 'write_iops_device']) {
    writeFileSync(`${blkioDir()}/blkio.throttle.${f}`, `${majMin} 0\n`);
  }
}

/** Bytes read from the device `majMin` by this cgroup so far (blkio.throttle.io_service_bytes, `MAJ:MIN Read n`). */
export function blkioReadBytes(majMin: string): number {
  const line = readFileSync(`${blkioDir()}/blkio.throttle.io_service_bytes`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${majMin} Read `));
  return line ? Number(line.split(' ')[2]) : 0;
}

/**
 * Mount a drive at `<dir>/drive` that stores into `<dir>/backing` and answers EIO to every write,
 * fsync, new file, mkdir and rename once `failAfterBytes` have been written through it (the write
 * that crosses the limit still succeeds), or once `fail()` is called; with `failReads`, reads of
 * files opened after that fail too. Throws with the reason of `whyNoFailingDrive` when it cannot
 * mount, and with the FUSE process's stderr when that process gives up.
 */
export async function mountFailingDrive(
  dir: string,
  failAfterBytes: number,
  opts: { failReads?: boolean } = {},
): Promise<FailingDrive> {
  const why = whyNoFailingDrive();
  if (why) throw new Error(`cannot mount a failing drive: ${why}`);
  const path = join(dir, 'drive');
  const backing = join(dir, 'backing');
  // Outside the backing directory, so the drive does not list it.
  const control = join(dir, 'fail-now');
  mkdirSync(path, { recursive: true });
  mkdirSync(backing, { recursive: true });
  rmSync(control, { force: true });
  const args = [
    FAILING_FS,
    backing,
    path,
    String(failAfterBytes),
    '--control',
    control,
    ...(opts.failReads ? ['--fail-reads'] : []),
  ];
  const child = spawn(PYTHON, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let running = true;
  void exited.then(() => (running = false));
  // Mounting takes the FUSE process a moment; it either shows up in mountinfo or the process ends.
  for (let i = 0; i < (2 * PATIENCE_MS) / 50 && running && !isMounted(path); i++) await sleep(50);
  if (!isMounted(path)) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`failing-fs.py did not mount ${path}: ${stderr.trim() || 'no output'}`);
  }
  let done = false;
  return {
    path,
    backing,
    fail: () => writeFileSync(control, ''),
    unmount: async () => {
      if (done) return;
      for (let i = 0; isMounted(path); i++) {
        try {
          execFileSync('umount', [path], { stdio: ['ignore', 'ignore', 'pipe'] });
        } catch (err) {
          if (i >= PATIENCE_MS / 150) throw new Error(`umount ${path} kept failing: ${(err as Error).message}`);
          await sleep(150); // FUSE is busy for a moment after the last close
        }
      }
      // The FUSE loop ends once its mount is gone; a process that hangs on is ended.
      const ended = await Promise.race([
        exited.then(() => true),
        sleep(PATIENCE_MS, undefined, { ref: false }).then(() => false),
      ]);
      if (!ended) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(control, { force: true });
      done = true;
    },
  };
}
