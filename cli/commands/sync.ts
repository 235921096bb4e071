// `seedship sync`: after seeding, bring the container up to date with what changed in staging.
import type { Command } from 'commander';
import {
  discoverJobSession,
  formatBytes,
  formatDuration,
  openSessionView,
  runSync,
  usageError,
} from '../../core/index.js';
import type { CliContext } from '../shared/context.js';
import { openBlobStore } from '../shared/lazy-native.js';
import { EXIT } from '../shared/exit-codes.js';
import { printResult } from '../shared/output.js';
import type { SetExit } from '../shared/types.js';
import { connectionStringOption, sessionOption, stagingOption } from '../shared/options.js';
import { startProgress } from '../shared/progress.js';

interface SyncFlags {
  staging: string;
  job?: string;
  connectionString?: string;
  session?: string;
  json?: boolean;
}

export function registerSync(program: Command, ctx: CliContext, setExit: SetExit): void {
  program
    .command('sync')
    .description(
      'after seeding: upload to the container what changed or appeared in staging since the copy ' +
        '(size, mtime, then hash), delete blobs of files gone, in the same blob format',
    )
    .addOption(stagingOption('the staging location').makeOptionMandatory())
    .option('--job <name>', 'the job (optional when staging has one session)')
    .addOption(connectionStringOption('storage account connection string').makeOptionMandatory())
    .addOption(sessionOption('session dir (default <staging>/.seedship/<job>)'))
    .option('--json', 'the result as one JSON object on stdout')
    .action(async (f: SyncFlags) => setExit(await syncAction(ctx, f)));
}

async function syncAction(ctx: CliContext, f: SyncFlags): Promise<number> {
  const cs = f.connectionString ?? ctx.env.AZURE_STORAGE_CONNECTION_STRING;
  if (!cs) throw usageError('give --connection-string (or set AZURE_STORAGE_CONNECTION_STRING)');
  const staging = await ctx.deps.fs.realpath(f.staging).catch(() => {
    throw usageError(`staging ${f.staging} does not exist`);
  });
  const session = f.session ?? (f.job ? `${staging}/.seedship/${f.job}` : await discoverJobSession(ctx.deps, staging));
  ctx.log.attach(session);
  const view = await openSessionView(ctx.deps.fs, session);
  const started = ctx.deps.clock.monotonic();
  const store = await openBlobStore(cs);
  const pool = ctx.deps.createChunkProcessor(ctx.deps.cores);
  const progress = startProgress(ctx, 'sync', { json: f.json === true });
  try {
    const r = await runSync(ctx.deps.fs, pool, store, {
      view,
      staging,
      signal: ctx.signal,
      board: progress.board,
    }).finally(() => progress.done());
    const secs = (ctx.deps.clock.monotonic() - started) / 1000;
    printResult(
      ctx,
      f.json === true,
      { ...r, seconds: secs },
      () =>
        `sync: ${r.uploaded} uploaded (${formatBytes(r.bytesUploaded)}), ${r.unchanged} unchanged, ` +
        `${r.deleted} deleted in ${formatDuration(secs)}; state in ${r.statePath}\n`,
    );
    return EXIT.OK;
  } finally {
    await pool.close();
  }
}
