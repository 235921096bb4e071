// `seedship import`: import prepared drives into a storage account as the Import/Export service does.
import type { Command } from 'commander';
import { formatBytes, formatDuration, runImport, usageError, type DriveImportResult } from '../../core/index.js';
import type { CliContext } from '../shared/context.js';
import { openBlobStore } from '../shared/lazy-native.js';
import { EXIT } from '../shared/exit-codes.js';
import { choiceOption, collect, connectionStringOption, sessionOption } from '../shared/options.js';
import { printResult } from '../shared/output.js';
import type { SetExit } from '../shared/types.js';
import { startProgress } from '../shared/progress.js';

interface ImportFlags {
  drive?: string[];
  connectionString?: string;
  session?: string;
  logLevel: 'error' | 'verbose';
  json?: boolean;
}

export function registerImport(program: Command, ctx: CliContext, setExit: SetExit): void {
  program
    .command('import')
    .description(
      'import prepared drives into a storage account as the Import/Export service does (Azurite locally): ' +
        'check every block, upload, join parts, honour ImportDisposition, write DriveLog copy logs',
    )
    .requiredOption('--drive <path>', 'mount path of a prepared drive (repeat for more)', collect)
    .addOption(connectionStringOption('storage account connection string').makeOptionMandatory())
    .addOption(sessionOption('the session dir: also checks each manifest against its drive-info hash'))
    .addOption(
      choiceOption('--log-level <level>', 'error: copy log only on errors; verbose: always', [
        'error',
        'verbose',
      ]).default('error'),
    )
    .option('--json', 'the result as one JSON object on stdout')
    .addHelpText(
      'after',
      '\nExit 0 when every drive is Completed, 6 when a drive or blob failed its checks ' +
        '(see the error log named in the output).\n',
    )
    .action(async (f: ImportFlags) => setExit(await importAction(ctx, f)));
}

async function importAction(ctx: CliContext, f: ImportFlags): Promise<number> {
  const drives = f.drive ?? [];
  if (drives.length === 0) throw usageError('give the prepared drives with --drive PATH');
  if (f.session) ctx.log.attach(f.session);
  const cs = f.connectionString ?? ctx.env.AZURE_STORAGE_CONNECTION_STRING;
  if (!cs) throw usageError('give --connection-string (or set AZURE_STORAGE_CONNECTION_STRING)');
  const store = await openBlobStore(cs);
  const pool = ctx.deps.createChunkProcessor(ctx.deps.cores);
  const started = ctx.deps.clock.monotonic();
  const view = startProgress(ctx, 'import', { json: f.json === true });
  let results: DriveImportResult[];
  try {
    const now = () => ctx.deps.clock.now();
    const opts = { drives, session: f.session, logLevel: f.logLevel, signal: ctx.signal, now, board: view.board };
    results = await runImport(ctx.deps.fs, pool, store, opts);
  } finally {
    view.done();
    await pool.close();
  }
  const secs = (ctx.deps.clock.monotonic() - started) / 1000;
  const bytes = results.reduce((a, r) => a + r.bytesUploaded, 0);
  const result = { drives: results, seconds: secs, bytesUploaded: bytes };
  printResult(ctx, f.json === true, result, () => importSummary(results, bytes, secs));
  return results.every((r) => r.status === 'Completed') ? EXIT.OK : EXIT.INTEGRITY;
}

/** One paragraph per drive (status, counts, first problems, its copy logs), then the upload rate. */
function importSummary(results: DriveImportResult[], bytes: number, secs: number): string {
  const drives = results.map((r) =>
    [
      `drive ${r.driveId} (${r.root}): ${r.status} — ${r.created} blobs imported, ` +
        `${r.skipped} already there or skipped, ${r.failed} failed; ${r.blocksUploaded} blocks, ` +
        formatBytes(r.bytesUploaded),
      ...r.problems.slice(0, 10).map((p) => `  ${p}`),
      ...(r.errorLog ? [`  error log: ${r.errorLog}`] : []),
      ...(r.verboseLog ? [`  verbose log: ${r.verboseLog}`] : []),
    ].join('\n'),
  );
  const rate = formatBytes(secs > 0 ? bytes / secs : 0);
  return `${drives.join('\n')}\nuploaded ${formatBytes(bytes)} in ${formatDuration(secs)} (${rate}/s)\n`;
}
