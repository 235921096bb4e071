// `seedship restore`: rebuild the staging tree from prepared drives or from the storage account.
import type { Command } from 'commander';
import {
  formatBytes,
  formatDuration,
  openSessionView,
  restoreFromDrives,
  restoreFromStorage,
  usageError,
} from '../../core/index.js';
import type { CliContext } from '../shared/context.js';
import { openBlobStore } from '../shared/lazy-native.js';
import { EXIT } from '../shared/exit-codes.js';
import { collect, connectionStringOption, ENV, intOption, sessionOption } from '../shared/options.js';
import { printResult } from '../shared/output.js';
import type { SetExit } from '../shared/types.js';
import { addUsageCheck } from '../shared/usage.js';
import { startProgress } from '../shared/progress.js';

interface RestoreFlags {
  drive?: string[];
  connectionString?: string;
  container?: string;
  session?: string;
  to: string;
  json?: boolean;
  threads?: number;
}

export function registerRestore(program: Command, ctx: CliContext, setExit: SetExit): void {
  const cmd = program
    .command('restore')
    .description(
      'rebuild the original staging tree from prepared drives (or, after import, from the storage account), ' +
        'checking every chunk',
    )
    .requiredOption('--to <dir>', 'an empty or new directory to restore into')
    .addOption(sessionOption('the session dir of the prepare run (journal and keys; needed with --drive)'))
    .option('--threads <n>', 'worker threads (default: the number of cores)', intOption('--threads', 1, 256))
    .optionsGroup('From drives:')
    .option('--drive <path>', 'mount path of a prepared drive (repeat: every drive that holds data)', collect)
    .optionsGroup('From a storage account (after import):')
    .option('--container <name>', 'the container to restore from (restores from the account instead of drives)')
    .addOption(connectionStringOption('the storage account to restore from (with --container)'))
    .optionsGroup('Output:')
    .option('--json', 'the result as one JSON object on stdout')
    .action(async (flags: RestoreFlags) => setExit(await restoreAction(ctx, flags)));
  // From the account with --container (or a --connection-string typed here), else from drives.
  addUsageCheck(cmd, (o, c) => {
    const drives = (o.drive as string[] | undefined)?.length ?? 0;
    const typedConnection = o.connectionString !== undefined && c.getOptionValueSource('connectionString') !== 'env';
    const problems: string[] = [];
    if (o.container !== undefined || typedConnection) {
      if (o.container === undefined)
        problems.push('--connection-string needs --container (the container to restore from)');
      if (o.connectionString === undefined) {
        problems.push(`restore from a storage account needs --connection-string (or $${ENV.connectionString})`);
      }
      if (drives > 0) problems.push('give either --drive or --container, not both');
      return problems;
    }
    if (drives === 0)
      problems.push('give the prepared drives with --drive PATH (repeat for each), or --container for an account');
    if (o.session === undefined) {
      problems.push(
        `restore from drives needs --session DIR (or $${ENV.session}): the journal holds the file list and checksums`,
      );
    }
    return problems;
  });
}

async function restoreAction(ctx: CliContext, flags: RestoreFlags): Promise<number> {
  if (flags.session) ctx.log.attach(flags.session);
  // The account is chosen by --container: a connection string from the environment alone means drives.
  if (flags.container) return restoreStorageAction(ctx, flags);
  const drives = flags.drive ?? [];
  if (drives.length === 0) throw usageError('give the prepared drives with --drive PATH (repeat for each)');
  if (!flags.session)
    throw usageError('restore from drives needs --session DIR (the journal holds the file list and checksums)');
  const started = ctx.deps.clock.monotonic();
  const pool = ctx.deps.createChunkProcessor(flags.threads ?? ctx.deps.cores);
  const view = startProgress(ctx, 'restore', { json: flags.json === true });
  try {
    const opts = { drives, session: flags.session, to: flags.to, signal: ctx.signal, board: view.board };
    const r = await restoreFromDrives(ctx.deps.fs, pool, opts).finally(() => view.done());
    const secs = (ctx.deps.clock.monotonic() - started) / 1000;
    printResult(ctx, flags.json === true, { ...r, seconds: secs }, () => {
      const skipped = r.skippedInPrepare
        ? ` (${r.skippedInPrepare} files were skipped by prepare and are not on the drives)`
        : '';
      const head = `restored ${r.files} files, ${formatBytes(r.bytes)} into ${r.to} in ${formatDuration(secs)}`;
      return `${head}; every chunk matched its journal checksum${skipped}\n`;
    });
    return EXIT.OK;
  } finally {
    await pool.close();
  }
}

async function restoreStorageAction(ctx: CliContext, flags: RestoreFlags): Promise<number> {
  const cs = flags.connectionString ?? ctx.env.AZURE_STORAGE_CONNECTION_STRING;
  if (!cs || !flags.container)
    throw usageError('restore from a storage account needs --connection-string and --container');
  if (flags.drive?.length) throw usageError('give either --drive or --connection-string, not both');
  const started = ctx.deps.clock.monotonic();
  const session = flags.session ? await openSessionView(ctx.deps.fs, flags.session) : undefined;
  const kit = await ctx.deps.createCodecKit();
  const store = await openBlobStore(cs);
  const view = startProgress(ctx, 'restore', { json: flags.json === true });
  let r: Awaited<ReturnType<typeof restoreFromStorage>>;
  try {
    const opts = { container: flags.container, to: flags.to, session, signal: ctx.signal, board: view.board };
    r = await restoreFromStorage(ctx.deps.fs, kit, store, opts);
  } finally {
    view.done();
  }
  const secs = (ctx.deps.clock.monotonic() - started) / 1000;
  printResult(ctx, flags.json === true, { ...r, seconds: secs }, () => {
    const head = `restored ${r.files} files, ${formatBytes(r.bytes)} from container ${flags.container} into ${r.to}`;
    const checked = r.checked
      ? '; every chunk matched its journal checksum'
      : ' (no --session: nothing to check the bytes against)';
    return `${head} in ${formatDuration(secs)}${checked}\n`;
  });
  return EXIT.OK;
}
