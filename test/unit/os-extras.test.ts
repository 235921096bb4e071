import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, constants as fsc, fstatSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DIRECT_IO_ALIGNMENT_BYTES, loadOsExtras, type OsExtras } from '../../native/os-extras.js';
import { bytesOf, tempDir } from '../support/tree.js';
import { canMount, mountTmpfs, NEEDS_ROOT } from '../support/mounts.js';

const A = DIRECT_IO_ALIGNMENT_BYTES;
const MiB = 1024 * 1024;

// Loaded explicitly enabled, so a SEEDSHIP_NO_ADDON=1 in the environment does not hide the addon.
const native = loadOsExtras({ disabled: false });
const fallback = loadOsExtras({ disabled: true });

/** Skip when the addon did not build (its build is optional); SEEDSHIP_REQUIRE_ADDON=1 makes that a failure. */
function needAddon(t: TestContext): boolean {
  if (native.capabilities.available) return true;
  const why = `native addon not loaded (${native.capabilities.reason}); see native/addon/build/build-native.log`;
  if (process.env.SEEDSHIP_REQUIRE_ADDON === '1') assert.fail(why);
  t.skip(why);
  return false;
}

async function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const { dir, cleanup } = tempDir('seedship-os-extras-');
  try {
    return await fn(dir);
  } finally {
    cleanup();
  }
}

/** A closed fd number (nothing else opens files while this test file runs its tests in order). */
function closedFd(dir: string): number {
  const fd = openSync(join(dir, 'closed'), 'w');
  closeSync(fd);
  return fd;
}

async function rejectsWith(p: Promise<unknown>, code: string, syscall?: string): Promise<void> {
  await assert.rejects(p, (err: NodeJS.ErrnoException) => {
    assert.ok(err instanceof Error, 'an Error object');
    assert.equal(err.code, code);
    if (syscall) assert.equal(err.syscall, syscall);
    return true;
  });
}

/** Open for O_DIRECT, or undefined (after skipping the test) where the file system refuses it. */
function openDirectFd(t: TestContext, path: string): number | undefined {
  try {
    return openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_DIRECT, 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
    t.skip(`the file system of ${path} refuses O_DIRECT (EINVAL), e.g. tmpfs before Linux 6.6`);
    return undefined;
  }
}

test('addon: loads from the build and reports every capability', (t) => {
  if (!needAddon(t)) return;
  const c = native.capabilities;
  assert.equal(c.reason, undefined);
  assert.equal(c.syncfs, 'syscall');
  assert.ok(c.fallocate && c.fadvise && c.directIo);
});

test('addon: syncfs on an fd and on a path resolves', async (t) => {
  if (!needAddon(t)) return;
  await withTemp(async (dir) => {
    const path = join(dir, 'f');
    writeFileSync(path, 'dirty data');
    const fd = openSync(path, 'r');
    try {
      assert.equal(await native.syncfs(fd), undefined);
    } finally {
      closeSync(fd);
    }
    await native.syncfs(dir);
    await rejectsWith(native.syncfs(join(dir, 'missing')), 'ENOENT');
  });
});

test('addon: fallocate allocates blocks; keepSize leaves the size', async (t) => {
  if (!needAddon(t)) return;
  await withTemp(async (dir) => {
    for (const keepSize of [false, true]) {
      const path = join(dir, `f-${keepSize}`);
      const fd = openSync(path, 'w');
      try {
        assert.equal(fstatSync(fd).blocks, 0);
        assert.equal(await native.fallocate(fd, 0, 4 * MiB, { keepSize }), true);
        const st = fstatSync(fd);
        assert.ok(st.blocks * 512 >= 4 * MiB, `st_blocks ${st.blocks} covers 4 MiB`);
        assert.equal(st.size, keepSize ? 0 : 4 * MiB);
      } finally {
        closeSync(fd);
      }
    }
  });
});

test('addon: fallocate where the file system cannot rejects with EOPNOTSUPP', async (t) => {
  if (!needAddon(t)) return;
  // procfs has no fallocate; opening our own comm for writing changes nothing unless written.
  const fd = openSync('/proc/self/comm', 'r+');
  try {
    await rejectsWith(native.fallocate(fd, 0, A), 'EOPNOTSUPP', 'fallocate');
  } finally {
    closeSync(fd);
  }
});

test('addon: fallocate beyond the free space rejects with ENOSPC', async (t) => {
  if (!needAddon(t)) return;
  if (!canMount()) return t.skip(NEEDS_ROOT);
  await withTemp(async (dir) => {
    const unmount = mountTmpfs(dir, 1);
    try {
      const fd = openSync(join(dir, 'big'), 'w');
      try {
        await rejectsWith(native.fallocate(fd, 0, 4 * MiB), 'ENOSPC', 'fallocate');
      } finally {
        closeSync(fd);
      }
    } finally {
      unmount();
    }
  });
});

test('addon: fadvise accepts each advice and refuses others', async (t) => {
  if (!needAddon(t)) return;
  await withTemp(async (dir) => {
    const path = join(dir, 'f');
    writeFileSync(path, bytesOf(MiB, 1));
    const fd = openSync(path, 'r');
    try {
      for (const advice of ['sequential', 'noreuse', 'dontneed'] as const)
        assert.equal(await native.fadvise(fd, 0, 0, advice), true);
      await assert.rejects(native.fadvise(fd, 0, 0, 'willneed' as 'dontneed'), {
        name: 'TypeError',
        code: 'ERR_INVALID_ARG_VALUE',
      });
    } finally {
      closeSync(fd);
    }
  });
});

test('addon: pwriteDirect writes unaligned sources, an unaligned tail, and concurrent chunks', async (t) => {
  if (!needAddon(t)) return;
  await withTemp(async (dir) => {
    const path = join(dir, 'direct.bin');
    const fd = openDirectFd(t, path);
    if (fd === undefined) return;
    const tailFd = openSync(path, 'r+');
    try {
      // Sixteen chunks of 1 MiB written at once (the bounce pool is shared), each from a buffer
      // starting at an odd address, and a last chunk with a 1000-byte tail.
      const whole = bytesOf(17 * MiB + 1 + 1000, 7);
      const src = whole.subarray(1);
      const writes = [];
      for (let i = 0; i < 17; i++) {
        const end = i === 16 ? src.length : (i + 1) * MiB;
        writes.push(native.pwriteDirect(fd, src.subarray(i * MiB, end), i * MiB, i === 16 ? tailFd : undefined));
      }
      const counts = await Promise.all(writes);
      assert.deepEqual(counts, [...Array(16).fill(MiB), MiB + 1000]);
      await fsp.open(path, 'r').then(async (h) => {
        await h.datasync();
        await h.close();
      });
      assert.equal(statSync(path).size, src.length);
      assert.ok(readFileSync(path).equals(src), 'the file reads back identical');
    } finally {
      closeSync(fd);
      closeSync(tailFd);
    }
  });
});

test('addon: pwriteDirect refuses misalignment with EINVAL', async (t) => {
  if (!needAddon(t)) return;
  await withTemp(async (dir) => {
    const path = join(dir, 'direct.bin');
    const fd = openDirectFd(t, path);
    if (fd === undefined) return;
    try {
      await rejectsWith(native.pwriteDirect(fd, Buffer.alloc(A), 512), 'EINVAL', 'pwrite');
      // An unaligned length needs the buffered fd for its tail.
      await rejectsWith(native.pwriteDirect(fd, Buffer.alloc(A + 1), 0), 'EINVAL', 'pwrite');
      await assert.rejects(native.pwriteDirect(fd, 'text' as unknown as Uint8Array, 0), {
        name: 'TypeError',
        code: 'ERR_INVALID_ARG_TYPE',
      });
    } finally {
      closeSync(fd);
    }
  });
});

test('addon: errors carry code, errno and syscall (EBADF for a closed fd)', async (t) => {
  if (!needAddon(t)) return;
  await withTemp(async (dir) => {
    await rejectsWith(native.syncfs(closedFd(dir)), 'EBADF', 'syncfs');
    await rejectsWith(native.fallocate(closedFd(dir), 0, A), 'EBADF', 'fallocate');
    await rejectsWith(native.fadvise(closedFd(dir), 0, 0, 'dontneed'), 'EBADF', 'posix_fadvise');
    await rejectsWith(native.pwriteDirect(closedFd(dir), Buffer.alloc(A), 0), 'EBADF', 'pwrite');
    await assert.rejects(native.syncfs(closedFd(dir)), { errno: -9, message: /^EBADF: .*, syncfs$/ });
  });
});

async function roundTrip(x: OsExtras, dir: string): Promise<boolean> {
  const path = join(dir, 'df.bin');
  const f = await x.openDirect(path, 'wx');
  const src = bytesOf(2 * MiB + 777 + 3, 3).subarray(3);
  try {
    await f.write(src.subarray(0, MiB), 0);
    await f.write(src.subarray(MiB), MiB);
    await f.datasync();
    const back = Buffer.alloc(src.length);
    assert.equal(await f.read(back, 0, back.length, 0), src.length);
    assert.ok(back.equals(src));
    assert.equal((await f.stat()).size, src.length);
  } finally {
    await f.close();
  }
  assert.ok(readFileSync(path).equals(src));
  await rejectsWith(x.openDirect(path, 'wx'), 'EEXIST');
  return f.direct;
}

test('addon: openDirect writes with O_DIRECT where allowed, buffered where refused', async (t) => {
  if (!needAddon(t)) return;
  await withTemp(async (dir) => {
    const direct = await roundTrip(native, dir);
    if (!direct) t.diagnostic(`O_DIRECT refused under ${dir}; the buffered path was tested`);
  });
  // procfs refuses O_DIRECT with EINVAL, as tmpfs did before Linux 6.6: openDirect must fall back.
  const f = await native.openDirect('/proc/self/comm', 'r+');
  assert.equal(f.direct, false);
  await f.close();
});

test('fallback: reports unavailable, syncfs still works, the rest degrade', async () => {
  const c = fallback.capabilities;
  assert.equal(c.available, false);
  assert.equal(c.reason, 'disabled');
  assert.equal(c.syncfs, 'sync-command');
  assert.equal(c.directIo, false);
  await withTemp(async (dir) => {
    const path = join(dir, 'f');
    writeFileSync(path, 'dirty data');
    const fd = openSync(path, 'r+');
    try {
      await fallback.syncfs(fd);
      await fallback.syncfs(dir);
      assert.equal(await fallback.fallocate(fd, 0, MiB), false);
      assert.equal(fstatSync(fd).size, 'dirty data'.length);
      assert.equal(await fallback.fadvise(fd, 0, 0, 'dontneed'), false);
      await rejectsWith(fallback.pwriteDirect(fd, Buffer.alloc(A), 0), 'ENOSYS');
    } finally {
      closeSync(fd);
    }
    await rejectsWith(fallback.syncfs(closedFd(dir)), 'EBADF');
    await rejectsWith(fallback.syncfs(join(dir, 'missing')), 'ENOENT', 'syncfs');
    assert.equal(await roundTrip(fallback, dir), false);
  });
});

test('fallback: a missing addon file is reported as not built', () => {
  const x = loadOsExtras({ addonPath: '/nonexistent/seedship_native.node', disabled: false });
  assert.equal(x.capabilities.available, false);
  assert.match(x.capabilities.reason ?? '', /not built/);
});

test('fallback: SEEDSHIP_NO_ADDON=1 forces it in a real process', async () => {
  await withTemp(async (dir) => {
    const module = new URL('../../native/os-extras.js', import.meta.url).href;
    const script = `import { osExtras } from ${JSON.stringify(module)};
      const x = osExtras(); await x.syncfs(${JSON.stringify(dir)}); console.log(JSON.stringify(x.capabilities));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, SEEDSHIP_NO_ADDON: '1' },
    });
    const c = JSON.parse(stdout) as { available: boolean; reason: string };
    assert.equal(c.available, false);
    assert.match(c.reason, /SEEDSHIP_NO_ADDON=1/);
  });
});
