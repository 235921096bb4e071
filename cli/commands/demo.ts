// `seedship demo`: the whole round trip on generated data, with a local Azurite account.
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
  type PrepareResult,
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
      'the whole round trip on generated data, no Azure account: generate a staging tree, prepare it onto ' +
        'small local drives (spanning), read them back, import them into a local Azurite storage account, ' +
        'restore from it and compare byte for byte',
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

/** What every step of the demo shares. */
interface DemoRun {
  readonly ctx: CliContext;
  readonly dir: string;
  readonly staging: string;
  readonly pool: ReturnType<CliContext['deps']['createChunkProcessor']>;
  readonly kit: Awaited<ReturnType<CliContext['deps']['createCodecKit']>>;
}

/** A stage's value and how long it took. */
interface Timed<T> {
  readonly value: T;
  readonly secs: number;
}

/** A line of the demo's story on stdout. */
function say(ctx: CliContext, s: string): void {
  ctx.stdout.write(`${s}\n`);
}

async function timed<T>(ctx: CliContext, f: () => Promise<T> | T): Promise<Timed<T>> {
  const t0 = ctx.deps.clock.monotonic();
  const value = await f();
  const secs = (ctx.deps.clock.monotonic() - t0) / 1000;
  return { value, secs };
}

const rate = (bytes: number, secs: number) => `${formatBytes(secs > 0 ? bytes / secs : 0)}/s`;

/** The six steps, each saying what it did; the work dir is removed after unless --keep. */
async function demo(ctx: CliContext, flags: DemoFlags): Promise<number> {
  if (flags.size < 16 * MiB) throw usageError('--size must be at least 16M');
  const dir = flags.keep ?? mkdtempSync(`${tmpdir()}/seedship-demo-`);
  try {
    const staging = `${dir}/staging`;
    await generate(ctx, staging, flags.size);
    const pool = ctx.deps.createChunkProcessor(ctx.deps.cores);
    const kit = await ctx.deps.createCodecKit();
    try {
      const run: DemoRun = { ctx, dir, staging, pool, kit };
      const prepared = await prepareDrives(run);
      if (!(await verifyDrives(run, prepared))) return EXIT.INTEGRITY;
      const code = await throughAzurite(run, prepared);
      if (code !== EXIT.OK) return code;
      if (flags.keep) say(ctx, `kept in ${dir}`);
      return EXIT.OK;
    } finally {
      await pool.close();
    }
  } finally {
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** Step 1: a staging tree of every kind of file. */
async function generate(ctx: CliContext, staging: string, sizeBytes: number): Promise<void> {
  const gen = await timed(ctx, () => generateStaging(staging, { sizeBytes, shape: 'mixed', seed: 2026 }));
  say(
    ctx,
    `1/6 generated ${gen.value.files} files, ${formatBytes(gen.value.bytes)} ` +
      '(compressible logs, random data, sparse VHDs, small files, unicode and deep names) ' +
      `in ${formatDuration(gen.secs)}`,
  );
}

/** What step 2 leaves for the next: the result and the drives that hold data. */
interface Prepared {
  readonly result: PrepareResult;
  readonly paths: string[];
}

/** Step 2: plan, then prepare onto drives sized so the copy spans at least two of them. */
async function prepareDrives(run: DemoRun): Promise<Prepared> {
  const { ctx, dir, staging } = run;
  const plan = await timed(ctx, () =>
    runPlan(ctx.deps.fs, run.pool, ctx.deps.clock, {
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
  const prep = await timed(ctx, () =>
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
  const ratio = (r.bytes.stored / Math.max(1, r.bytes.raw)).toFixed(2);
  say(
    ctx,
    `2/6 prepared onto ${used.length} drives of ${formatBytes(driveLimit)}: ` +
      `${formatBytes(r.bytes.raw)} -> ${formatBytes(r.bytes.stored)} stored (ratio ${ratio}) ` +
      `in ${formatDuration(prep.secs)}, ${rate(r.bytes.raw, prep.secs)}`,
  );
  for (const d of used) {
    const fill = ((100 * d.storedBytes) / driveLimit).toFixed(0);
    say(ctx, `      drive ${d.driveId}: ${d.blobs} blobs, ${formatBytes(d.storedBytes)} (${fill}% of the drive)`);
  }
  return { result: r, paths: used.map((d) => d.path) };
}

/** Step 3: read every drive back; false when anything does not match. */
async function verifyDrives(run: DemoRun, prepared: Prepared): Promise<boolean> {
  const { ctx } = run;
  const session = prepared.result.sessionDir;
  const ver = await timed(ctx, () =>
    runVerify(ctx.deps.fs, run.pool, { drives: prepared.paths, session, signal: ctx.signal }),
  );
  const problems = ver.value.reduce((a, v) => a + v.problems.length, 0);
  const readBack = ver.value.reduce((a, v) => a + v.bytes, 0);
  say(
    ctx,
    `3/6 verified every block (MD5) and chunk (XXH64) of ${ver.value.length} drives: ` +
      `${problems === 0 ? 'all match' : `${problems} PROBLEMS`} in ${formatDuration(ver.secs)}, ` +
      rate(readBack, ver.secs),
  );
  return problems === 0;
}

/** Steps 4 to 6 against a local Azurite account, stopped after: import, restore, compare. */
async function throughAzurite(run: DemoRun, prepared: Prepared): Promise<number> {
  const { startAzurite } = await import('../../native/azurite.js');
  const az = await startAzurite();
  try {
    const store = await openBlobStore(az.connectionString);
    if (!(await importDrives(run, prepared, { store, port: az.port }))) return EXIT.INTEGRITY;
    const out = `${run.dir}/restored`;
    await restoreAll(run, prepared, { store, out });
    return await compareRestored(run, out);
  } finally {
    await az.stop();
  }
}

type Store = Awaited<ReturnType<typeof openBlobStore>>;

/** Step 4: import each drive as the service does; false when a drive failed. */
async function importDrives(run: DemoRun, prepared: Prepared, to: { store: Store; port: number }): Promise<boolean> {
  const { ctx } = run;
  const imp = await timed(ctx, async () => {
    const rs = [];
    for (const d of prepared.paths)
      rs.push(
        await importDrive(ctx.deps.fs, run.pool, to.store, d, {
          logLevel: 'error',
          signal: ctx.signal,
          now: () => ctx.deps.clock.now(),
        }),
      );
    return rs;
  });
  const up = imp.value.reduce((a, r) => a + r.bytesUploaded, 0);
  const bad = imp.value.filter((r) => r.status !== 'Completed');
  say(
    ctx,
    `4/6 imported ${imp.value.length} drives into a local Azurite storage account (127.0.0.1:${to.port}) ` +
      `as the Import/Export service does: ${formatBytes(up)} in ${formatDuration(imp.secs)}, ${rate(up, imp.secs)}` +
      `${bad.length ? ` — ${bad.length} drive(s) FAILED` : ''}`,
  );
  return bad.length === 0;
}

/** Step 5: restore the container into `out`, every chunk checked against the journal. */
async function restoreAll(run: DemoRun, prepared: Prepared, from: { store: Store; out: string }): Promise<void> {
  const { ctx } = run;
  const r = prepared.result;
  const view = await openSessionView(ctx.deps.fs, r.sessionDir);
  const rest = await timed(ctx, () =>
    restoreFromStorage(ctx.deps.fs, run.kit, from.store, {
      container: r.container,
      to: from.out,
      session: view,
      signal: ctx.signal,
    }),
  );
  say(
    ctx,
    `5/6 restored ${rest.value.files} files, ${formatBytes(rest.value.bytes)} from the storage account, ` +
      `every chunk checked against the journal, in ${formatDuration(rest.secs)}, ${rate(rest.value.bytes, rest.secs)}`,
  );
}

/** Step 6: the restored tree against staging, byte for byte. */
async function compareRestored(run: DemoRun, out: string): Promise<number> {
  const { ctx } = run;
  const cmp = await timed(ctx, () => compareTrees(ctx.deps.fs, run.staging, out));
  if (cmp.value.differences.length > 0) {
    say(ctx, `6/6 the restored tree DIFFERS from staging: ${cmp.value.differences.join(', ')}`);
    return EXIT.INTEGRITY;
  }
  say(
    ctx,
    `6/6 compared ${cmp.value.files} files, ${formatBytes(cmp.value.bytes)} with SHA-256: ` +
      'the tree restored from the storage account is byte-identical to staging',
  );
  return EXIT.OK;
}
