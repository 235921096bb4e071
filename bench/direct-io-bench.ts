#!/usr/bin/env node
/**
 * Ways to write a large file in 4 MiB chunks from the main thread, against dd on the same disk:
 * buffered + one fdatasync, O_DIRECT through the addon, fallocate first, and fadvise(DONTNEED)
 * after each synced 64 MiB. Reports wall time, MiB/s and how much of the file is left in the page
 * cache (fincore), as JSON on stdout and a table on stderr. Never part of the tests.
 *
 *   npm run bench:direct
 *   node dist/bench/direct-io-bench.js [--dir /tmp] [--size-mib 1024] [--runs 2]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { constants as fsc, promises as fsp, rmSync, statfsSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { randomFillSync } from 'node:crypto';
import { join } from 'node:path';
import { loadOsExtras } from '../native/os-extras.js';

const MiB = 1024 * 1024;
const CHUNK_BYTES = 4 * MiB;
const DONTNEED_EVERY_BYTES = 64 * MiB;

interface Args {
  dir: string;
  sizeMiB: number;
  runs: number;
}

function parseArgs(): Args {
  const a = process.argv.slice(2);
  const get = (k: string, d: string) => {
    const i = a.indexOf(k);
    return i >= 0 ? a[i + 1]! : d;
  };
  return { dir: get('--dir', '/tmp'), sizeMiB: Number(get('--size-mib', '1024')), runs: Number(get('--runs', '2')) };
}

const extras = loadOsExtras();

type Mode = 'buffered' | 'direct' | 'fallocate' | 'dontneed';

/** Writes `total` bytes of `chunk` repeated; the file is closed and durable when it resolves. */
async function writeFile(path: string, mode: Mode, total: number, chunk: Buffer): Promise<void> {
  const h = await fsp.open(path, 'wx');
  const direct = mode === 'direct' ? await fsp.open(path, fsc.O_WRONLY | fsc.O_DIRECT) : undefined;
  try {
    if (mode === 'fallocate') await extras.fallocate(h.fd, 0, total);
    let synced = 0;
    for (let pos = 0; pos < total; pos += chunk.length) {
      const data = chunk.subarray(0, Math.min(chunk.length, total - pos));
      if (direct) await extras.pwriteDirect(direct.fd, data, pos, h.fd);
      else
        for (let done = 0; done < data.length; )
          done += (await h.write(data, done, data.length - done, pos + done)).bytesWritten;
      if (mode === 'dontneed' && pos + data.length - synced >= DONTNEED_EVERY_BYTES) {
        // DONTNEED drops only clean pages, so the range is synced first.
        await h.datasync();
        await extras.fadvise(h.fd, synced, pos + data.length - synced, 'dontneed');
        synced = pos + data.length;
      }
    }
    await h.datasync();
  } finally {
    await direct?.close();
    await h.close();
  }
}

function cachedBytes(path: string): number | undefined {
  const r = spawnSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : undefined;
}

interface Result {
  name: string;
  run: number;
  secs: number;
  mibPerSec: number;
  cachedMiB: number | undefined;
}

async function measure(
  name: string,
  path: string,
  sizeBytes: number,
  run: number,
  body: () => Promise<void>,
): Promise<Result> {
  rmSync(path, { force: true });
  const t0 = process.hrtime.bigint();
  await body();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cached = cachedBytes(path);
  rmSync(path, { force: true });
  return {
    name,
    run,
    secs,
    mibPerSec: sizeBytes / MiB / secs,
    cachedMiB: cached === undefined ? undefined : cached / MiB,
  };
}

function dd(path: string, count: number, extra: string[]): () => Promise<void> {
  return async () => {
    execFileSync('dd', ['if=/dev/zero', `of=${path}`, 'bs=4M', `count=${count}`, ...extra], { stdio: 'ignore' });
  };
}

async function main(): Promise<void> {
  const args = parseArgs();
  const size = args.sizeMiB * MiB;
  const path = join(args.dir, `seedship-direct-bench-${process.pid}.bin`);
  // Like the engine's chunks: a plain Buffer (no alignment promise) of incompressible bytes.
  const chunk = randomFillSync(Buffer.allocUnsafe(CHUNK_BYTES));
  const cases: [string, () => Promise<void>][] = [
    ['a: fs.promises write + fdatasync at end', () => writeFile(path, 'buffered', size, chunk)],
    ['c: (a) after fallocate of the full size', () => writeFile(path, 'fallocate', size, chunk)],
    ['d: (a) + fdatasync & fadvise DONTNEED per 64 MiB', () => writeFile(path, 'dontneed', size, chunk)],
    ['dd conv=fdatasync', dd(path, size / CHUNK_BYTES, ['conv=fdatasync'])],
    ['dd oflag=direct conv=fdatasync', dd(path, size / CHUNK_BYTES, ['oflag=direct', 'conv=fdatasync'])],
  ];
  if (extras.capabilities.directIo)
    cases.splice(1, 0, ['b: pwriteDirect O_DIRECT + fdatasync at end', () => writeFile(path, 'direct', size, chunk)]);
  else process.stderr.write(`direct-io-bench: ${extras.capabilities.summary}; case b skipped\n`);

  const results: Result[] = [];
  // Runs interleaved (a b c d dd dd, a b c d dd dd) so drift on a shared machine hits every case.
  for (let run = 1; run <= args.runs; run++) {
    for (const [name, body] of cases) {
      const r = await measure(name, path, size, run, body);
      results.push(r);
      process.stderr.write(
        `${name.padEnd(50)} run ${run}: ${r.secs.toFixed(2)} s  ${r.mibPerSec.toFixed(0).padStart(5)} MiB/s  ` +
          `cached after: ${r.cachedMiB?.toFixed(0) ?? '?'} MiB\n`,
      );
    }
  }
  const fs = statfsSync(args.dir);
  const fsType = spawnSync('findmnt', ['-n', '-o', 'FSTYPE', '--target', args.dir], { encoding: 'utf8' }).stdout.trim();
  const machine = {
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    memGiB: Math.round(totalmem() / 1024 ** 3),
    kernel: release(),
    node: process.version,
    dir: args.dir,
    fsType,
    freeGiB: Math.round((fs.bavail * fs.bsize) / 1024 ** 3),
    addon: extras.capabilities.summary,
  };
  process.stdout.write(
    `${JSON.stringify({ machine, sizeMiB: args.sizeMiB, chunkMiB: CHUNK_BYTES / MiB, results }, null, 2)}\n`,
  );
}

await main();
