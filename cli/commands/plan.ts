// `seedship plan`: estimate stored size, drives needed and copy time, writing nothing.
import { Option, type Command } from 'commander';
import {
  formatBytes,
  formatDuration,
  MIN_DRIVE_BYTES,
  resolveStaging,
  runPlan,
  usageError,
  type PlanResult,
} from '../../core/index.js';
import type { CliContext } from '../shared/context.js';
import { EXIT } from '../shared/exit-codes.js';
import { choiceOption, collect, intOption, sizeOption, stagingOption } from '../shared/options.js';
import { printResult } from '../shared/output.js';
import type { SetExit } from '../shared/types.js';
import { addUsageCheck } from '../shared/usage.js';
import { startProgress } from '../shared/progress.js';

interface PlanFlags {
  staging: string;
  drive?: string[];
  driveSize?: number;
  codec?: 'zstd' | 'none';
  level?: number;
  threads?: number;
  json?: boolean;
}

export function registerPlan(program: Command, ctx: CliContext, setExit: SetExit): void {
  const cmd = program
    .command('plan')
    .description('estimate stored size (zstd on samples), drives needed and copy time, without writing anything')
    .addOption(stagingOption('the staging location').makeOptionMandatory())
    .optionsGroup('Drives (one of):')
    .option('--drive <path>', 'a drive to use, by its free space (repeat for more)', collect)
    .addOption(
      new Option('--drive-size <size>', 'size of each drive, e.g. 8TB')
        .argParser(sizeOption('--drive-size', MIN_DRIVE_BYTES, 'room for the manifest and one entry'))
        .conflicts('drive'),
    )
    .optionsGroup('Copy:')
    .addOption(choiceOption('--codec <codec>', 'zstd (default) or none', ['zstd', 'none']))
    .option('--level <n>', 'zstd level 1-19 (default 3)', intOption('--level', 1, 19))
    .option('--threads <n>', 'worker threads (default: the number of cores)', intOption('--threads', 1, 256))
    .optionsGroup('Output:')
    .option('--json', 'the result as one JSON object on stdout')
    .action(async (flags: PlanFlags) => setExit(await planAction(ctx, flags)));
  addUsageCheck(cmd, (o) =>
    (o.drive as string[] | undefined)?.length || o.driveSize !== undefined
      ? []
      : ['plan needs --drive PATH (repeatable) or --drive-size SIZE'],
  );
}

async function planAction(ctx: CliContext, flags: PlanFlags): Promise<number> {
  if (!flags.drive?.length && flags.driveSize === undefined)
    throw usageError('plan needs --drive PATH (repeatable) or --drive-size SIZE');
  if (flags.drive?.length && flags.driveSize !== undefined)
    throw usageError('give either --drive or --drive-size, not both');
  const staging = await resolveStaging(ctx.deps, flags.staging);
  const sizes: number[] = [];
  for (const d of flags.drive ?? []) sizes.push(await freeBytesOf(ctx, d));
  if (flags.driveSize !== undefined) sizes.push(flags.driveSize);
  const pool = ctx.deps.createChunkProcessor(flags.threads ?? ctx.deps.cores);
  const view = startProgress(ctx, 'plan', { json: flags.json === true, total: { label: `staging ${staging}` } });
  try {
    const r = await runPlan(ctx.deps.fs, pool, ctx.deps.clock, {
      staging,
      codec: flags.codec ?? 'zstd',
      level: flags.level ?? 3,
      driveBytes: sizes,
      repeatLastDrive: flags.driveSize !== undefined,
      signal: ctx.signal,
      board: view.board,
    }).finally(() => view.done());
    printResult(ctx, flags.json === true, r, () => planSummary(r));
    return EXIT.OK;
  } finally {
    await pool.close();
  }
}

/** The free space of drive `d`, the size plan counts it as. */
async function freeBytesOf(ctx: CliContext, d: string): Promise<number> {
  const stat = await ctx.deps.fs.statfs(d).catch(() => {
    throw usageError(`drive ${d} does not exist`);
  });
  return stat.freeBytes;
}

/** One line each: staging, names, codec, stored size, drives needed, time. */
function planSummary(r: PlanResult): string {
  const skipped = r.skipped.length ? ` (${r.skipped.length} would be skipped: unreadable directories or entries)` : '';
  const sampled =
    r.codec === 'zstd'
      ? ` level ${r.level}: ratio ${r.ratio.toFixed(2)} on ${formatBytes(r.sampledBytes)} sampled`
      : '';
  const short =
    r.drivesShort > 0 ? ` — the drives given are not enough: ${r.drivesShort} more of the last one's size` : '';
  const lines = [
    `staging: ${r.files} entries (files, directories, links, special files), ${formatBytes(r.bytes)}${skipped}`,
    `names: ${r.names.mapped} would get another name on the drives (NTFS would not keep them), ` +
      `${r.names.escaped} an escaped blob name; restore gives the originals back`,
    `codec: ${r.codec}${sampled}`,
    `estimated stored: ${formatBytes(r.estimatedStoredBytes)}; ` +
      `with file-system and manifest overhead: ${formatBytes(r.estimatedDriveBytes)}`,
    `drives needed: ${r.drivesNeeded}${short}`,
    `time: about ${formatDuration(r.estimatedSeconds)} at the measured ${formatBytes(r.measuredRate)}/s ` +
      `(read + compress + hash, ${r.threads} threads); a slower drive makes it longer`,
  ];
  return `${lines.join('\n')}\n`;
}
