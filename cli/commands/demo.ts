import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Command } from 'commander';
import {
  compareTrees,
  formatBytes,
  formatDuration,
  importDrive,
  openSessionView,
  restoreFromStorage,
  runPlan,
  runPrepare,
  runVerify,
  serviceNamingRules,
  usageError,
} from '../../core/index.js';
import { generateStaging } from '../../fixtures/generate.js';
import type { CliContext } from '../shared/context.js';
import { openBlobStore } from '../shared/lazy-native.js';
import { EXIT } from '../shared/exit-codes.js';
import { sizeOption } from '../shared/options.js';
import type { SetExit } from '../shared/types.js';

interface DemoFlags {
  size: number;
  keep?: string;
}

const MiB = 1024 * 1024;

export function registerDemo(program: Command, ctx: CliContext, setExit: SetExit): void {
  program
    .command('demo')
    .description(
      'the whole round trip on generated data, no Azure account: generate a staging tree, prepare it onto small local drives (spanning), read them back, import them into a local Azurite storage account, restore from it and compare byte for byte',
    )
    .option(
      '--size <size>',
      'size of the generated staging tree (at least 16M)',
      sizeOption('--size', 16 * MiB),
      256 * MiB,
    )
    .option('--keep <dir>', 'work in DIR and keep it (default: a temporary dir, removed after)')
    .action(async (flags: DemoFlags) => setExit(await demo(ctx, flags)));
}

async function demo(ctx: CliContext, flags: DemoFlags): Promise<number> {
  if (flags.size < 16 * MiB) throw usageError('--size must be at least 16M');
  const dir = flags.keep ?? mkdtempSync(`${tmpdir()}/seedship-demo-`);
  const say = (s: string) => ctx.stdout.write(`${s}\n`);
  const clock = ctx.deps.clock;
  const stage = async <T>(f: () => Promise<T> | T): Promise<{ value: T; secs: number }> => {
    const t0 = clock.monotonic();
    const value = await f();
    const secs = (clock.monotonic() - t0) / 1000;
    return { value, secs };
  };
  const rate = (bytes: number, secs: number) => `${formatBytes(secs > 0 ? bytes / secs : 0)}/s`;
  try {
    const staging = `${dir}/staging`;
    const gen = await stage(() => generateStaging(staging, { sizeBytes: flags.size, shape: 'mixed', seed: 2026 }));
    say(
      `1/6 generated ${gen.value.files} files, ${formatBytes(gen.value.bytes)} (compressible logs, random data, sparse VHDs, small files, unicode and deep names) in ${formatDuration(gen.secs)}`,
    );
    const pool = ctx.deps.createChunkProcessor(ctx.deps.cores);
    const kit = await ctx.deps.createCodecKit();
    try {
      const plan = await stage(() =>
        runPlan(ctx.deps.fs, pool, clock, {
          staging,
          codec: 'zstd',
          level: 3,
          driveBytes: [],
          repeatLastDrive: true,
          signal: ctx.signal,
        }),
      );
      // Drives sized so the copy spans at least two of them.
      const driveLimit = Math.max(24 * MiB, Math.ceil(plan.value.estimatedDriveBytes / 2.4) + 8 * MiB);
      const drives = [1, 2, 3, 4].map((i) => `${dir}/drive${i}`);
      for (const d of drives) await ctx.deps.fs.mkdir(d);
      const prep = await stage(() =>
        runPrepare(
          { staging, job: 'demo', drives, allowStagingVolume: true, driveLimit, verify: false },
          ctx.deps,
          { notice: () => undefined },
          serviceNamingRules,
          ctx.signal,
        ),
      );
      const r = prep.value;
      const used = r.drives.filter((d) => d.blobs > 0);
      say(
        `2/6 prepared onto ${used.length} drives of ${formatBytes(driveLimit)}: ${formatBytes(r.bytes.raw)} -> ${formatBytes(r.bytes.stored)} stored (ratio ${(r.bytes.stored / Math.max(1, r.bytes.raw)).toFixed(2)}) in ${formatDuration(prep.secs)}, ${rate(r.bytes.raw, prep.secs)}`,
      );
      for (const d of used)
        say(
          `      drive ${d.driveId}: ${d.blobs} blobs, ${formatBytes(d.storedBytes)} (${((100 * d.storedBytes) / driveLimit).toFixed(0)}% of the drive)`,
        );
      const paths = used.map((d) => d.path);
      const ver = await stage(() =>
        runVerify(ctx.deps.fs, pool, { drives: paths, session: r.sessionDir, signal: ctx.signal }),
      );
      const problems = ver.value.reduce((a, v) => a + v.problems.length, 0);
      const readBack = ver.value.reduce((a, v) => a + v.bytes, 0);
      say(
        `3/6 verified every block (MD5) and chunk (XXH64) of ${ver.value.length} drives: ${problems === 0 ? 'all match' : `${problems} PROBLEMS`} in ${formatDuration(ver.secs)}, ${rate(readBack, ver.secs)}`,
      );
      if (problems > 0) return EXIT.INTEGRITY;
      const { startAzurite } = await import('../../native/azurite.js');
      const az = await startAzurite();
      try {
        const store = await openBlobStore(az.connectionString);
        const imp = await stage(async () => {
          const rs = [];
          for (const d of paths)
            rs.push(
              await importDrive(ctx.deps.fs, pool, store, d, {
                logLevel: 'error',
                signal: ctx.signal,
                now: () => clock.now(),
              }),
            );
          return rs;
        });
        const up = imp.value.reduce((a, r) => a + r.bytesUploaded, 0);
        const bad = imp.value.filter((r) => r.status !== 'Completed');
        say(
          `4/6 imported ${imp.value.length} drives into a local Azurite storage account (127.0.0.1:${az.port}) as the Import/Export service does: ${formatBytes(up)} in ${formatDuration(imp.secs)}, ${rate(up, imp.secs)}${bad.length ? ` — ${bad.length} drive(s) FAILED` : ''}`,
        );
        if (bad.length) return EXIT.INTEGRITY;
        const out = `${dir}/restored`;
        const view = await openSessionView(ctx.deps.fs, r.sessionDir);
        const rest = await stage(() =>
          restoreFromStorage(ctx.deps.fs, kit, store, {
            container: r.container,
            to: out,
            session: view,
            signal: ctx.signal,
          }),
        );
        say(
          `5/6 restored ${rest.value.files} files, ${formatBytes(rest.value.bytes)} from the storage account, every chunk checked against the journal, in ${formatDuration(rest.secs)}, ${rate(rest.value.bytes, rest.secs)}`,
        );
        const cmp = await stage(() => compareTrees(ctx.deps.fs, staging, out));
        if (cmp.value.differences.length > 0) {
          say(`6/6 the restored tree DIFFERS from staging: ${cmp.value.differences.join(', ')}`);
          return EXIT.INTEGRITY;
        }
        say(
          `6/6 compared ${cmp.value.files} files, ${formatBytes(cmp.value.bytes)} with SHA-256: the tree restored from the storage account is byte-identical to staging`,
        );
      } finally {
        await az.stop();
      }
      if (flags.keep) say(`kept in ${dir}`);
      return EXIT.OK;
    } finally {
      await pool.close();
    }
  } finally {
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
  }
}
