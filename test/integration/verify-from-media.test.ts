import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { osExtras } from '../../native/os-extras.js';
import { tempDir, writeTree } from '../support/tree.js';
import { runSeedship } from '../support/cli.js';
import {
  blkioReadBytes,
  canMount,
  countBlkio,
  have,
  mountExt4LoopDrive,
  NEEDS_ROOT,
  resetBlkio,
  whyNoBlkio,
  type Ext4LoopDrive,
} from '../support/mounts.js';

const MiB = 1024 * 1024;

test('verify reads a freshly written drive back from the media, not the page cache (ext4 loop drive, blkio read bytes)', async (ctx) => {
  if (!canMount()) return ctx.skip(NEEDS_ROOT);
  if (!have('mkfs.ext4') || !have('losetup'))
    return ctx.skip('needs mkfs.ext4 (e2fsprogs) and losetup (util-linux); CI installs them');
  const caps = osExtras().capabilities;
  if (!caps.fadvise)
    return ctx.skip(
      `the native addon is not loaded (${caps.reason}): without posix_fadvise, verify cannot drop cached pages; run npm run build:native`,
    );
  const noBlkio = whyNoBlkio();
  if (noBlkio) return ctx.skip(noBlkio);
  const t = tempDir('verify-media-');
  let drive: Ext4LoopDrive | undefined;
  try {
    const staging = `${t.dir}/staging`;
    const spec = {
      'a.bin': { size: 5 * MiB + 17, seed: 1 },
      'dir/b.bin': { size: 3 * MiB, seed: 2 },
      'dir/small.txt': 'small',
    };
    writeTree(staging, spec);
    const dataBytes = 5 * MiB + 17 + 3 * MiB + 5;
    const d = `${t.dir}/drive`;
    drive = mountExt4LoopDrive(`${t.dir}/drive.img`, d, 64);
    countBlkio(drive.majMin);
    // No read-back at the end of prepare: the pages it wrote are all still in the cache.
    const r = await runSeedship([
      'prepare',
      '--staging',
      staging,
      '--job',
      'media-job',
      '--drive',
      d,
      '--codec',
      'none',
      '--no-verify',
      '--allow-staging-volume',
    ]);
    assert.equal(r.code, 0, r.stderr);
    execFileSync('sync', ['-f', d]);
    // Warm the cache with every file of the drive, so a verify that read from it would read nothing.
    execFileSync('sh', ['-c', 'find "$1" -type f -exec cat {} + > /dev/null', 'sh', d]);

    const before = blkioReadBytes(drive.majMin);
    const v = await runSeedship(['verify', '--drive', d]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const read = blkioReadBytes(drive.majMin) - before;
    ctx.diagnostic(`verify read ${read} bytes from ${drive.device} for ${dataBytes} bytes of data`);
    assert.ok(
      read >= dataBytes,
      `verify read only ${read} bytes from ${drive.device}; the drive holds ${dataBytes} bytes of data, so the rest came from the page cache`,
    );
  } finally {
    try {
      if (drive) resetBlkio(drive.majMin);
    } finally {
      drive?.unmount();
    }
    t.cleanup();
  }
});
