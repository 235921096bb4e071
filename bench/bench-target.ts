/**
 * The disk every command of a benchmark writes to. As root: a fresh ext4 file system on a loop
 * device over an image file (direct I/O to the image, mounted without online discard), so that
 * every run starts on the same empty file system and no other file system's writeback or discards
 * land in the middle of a timing. Otherwise: a directory the user names (`--target`).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';

export interface BenchTarget {
  /** Where the commands write. */
  readonly dir: string;
  /** How it was made, for the report. */
  readonly describe: string;
  /** Remove everything written on it, and make that durable, between runs. */
  clean(): void;
  /** Unmount and delete what `open` made. */
  close(): void;
}

function sh(cmd: string): { ok: boolean; out: string } {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
}

/** Empty `dir` and sync its file system. */
function cleaner(dir: string): () => void {
  return () => {
    sh(`rm -rf ${dir}/* ${dir}/.[!.]* 2>/dev/null; sync -f ${dir}`);
  };
}

/**
 * A loop-mounted ext4 of `sizeGiB` GiB under `imageDir` when root and the tools are there;
 * else `fallbackDir` as it is, with the reason in `describe`.
 */
export function openTarget(opts: {
  imageDir: string;
  sizeGiB: number;
  fallbackDir: string;
  useLoop: boolean;
}): BenchTarget {
  const why = !opts.useLoop
    ? 'a directory given with --target'
    : process.getuid?.() !== 0
      ? 'not root: a plain directory (loop-mounted ext4 needs root)'
      : !sh('command -v mkfs.ext4 && command -v losetup').ok
        ? 'mkfs.ext4 or losetup missing: a plain directory'
        : undefined;
  if (why === undefined) {
    const img = `${opts.imageDir}/target.img`;
    const mnt = `${opts.imageDir}/mnt`;
    mkdirSync(mnt, { recursive: true });
    sh(`umount ${mnt} 2>/dev/null; losetup -j ${img} | cut -d: -f1 | xargs -r losetup -d; rm -f ${img}`);
    const steps = [
      // Written in full once, not sparse: a real drive has no first-touch cost, while a sparse
      // image makes the host allocate blocks during the timed runs (dd measured 0.5 s vs 2.7 s).
      `dd if=/dev/zero of=${img} bs=16M count=${opts.sizeGiB * 64} oflag=direct status=none`,
      // No background init during the runs.
      `mkfs.ext4 -q -F -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 ${img}`,
      `LOOP=$(losetup --direct-io=on -f --show ${img}) && mount -o nodiscard $LOOP ${mnt}`,
    ];
    for (const s of steps) {
      const r = sh(s);
      if (!r.ok) {
        process.stderr.write(
          `bench: could not set up the loop-mounted target (${s}: ${r.out}); using ${opts.fallbackDir}\n`,
        );
        return dirTarget(opts.fallbackDir, `a plain directory (the loop mount failed: ${r.out.split('\n')[0]})`);
      }
    }
    const dev = sh(`findmnt -n -o SOURCE ${mnt}`).out;
    return {
      dir: mnt,
      describe:
        `ext4 on ${dev} (a ${opts.sizeGiB} GiB image file on the VM disk, written in full beforehand, loop ` +
        'device with direct I/O, mounted nodiscard), made fresh for this run',
      clean: cleaner(mnt),
      close: () => {
        sh(`umount ${mnt}; losetup -d ${dev}; rm -f ${img}`);
      },
    };
  }
  return dirTarget(opts.fallbackDir, why);
}

function dirTarget(dir: string, why: string): BenchTarget {
  mkdirSync(dir, { recursive: true });
  const fsType = sh(`stat -f -c %T ${dir}`).out;
  return {
    dir,
    describe: `${dir} (${fsType}; ${why})`,
    clean: cleaner(dir),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
