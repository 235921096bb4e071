// `seedship verify`: read prepared drives back and check them as the Import/Export service would.
import type { Command } from 'commander';
import { formatBytes, runVerify, usageError, verifyThreads, type DriveVerifyResult } from '../../core/index.js';
import type { CliContext } from '../shared/context.js';
import { EXIT } from '../shared/exit-codes.js';
import { collect, intOption, sessionOption } from '../shared/options.js';
import { printResult } from '../shared/output.js';
import type { SetExit } from '../shared/types.js';
import { startProgress } from '../shared/progress.js';

interface VerifyFlags {
  drive?: string[];
  session?: string;
  json?: boolean;
  threads?: number;
}

export function registerVerify(program: Command, ctx: CliContext, setExit: SetExit): void {
  program
    .command('verify')
    .description(
      'check each drive as the Import/Export service would (every manifest entry by its rules, the manifest ' +
        'against its hash from sealing) and read every block back from the drive, not the page cache, against ' +
        'the manifest (MD5); with --session also decrypt, decompress and check each chunk against the journal (XXH64)',
    )
    .requiredOption('--drive <path>', 'mount path of a prepared drive (repeat for more)', collect)
    .addOption(sessionOption('the session dir of the prepare run: deeper checks, and needed for encrypted drives'))
    .option(
      '--threads <n>',
      'worker threads for decoding (default: the number of cores; several drives are read at once, ' +
        'each with a worker of its own besides)',
      intOption('--threads', 1, 256),
    )
    .option('--json', 'the result as one JSON object on stdout')
    .addHelpText(
      'after',
      '\nExit 0 when every check passes, 6 on any problem (each named by drive, blob and block), ' +
        "2 when a drive given with --session is not one of that session's job.\n",
    )
    .action(async (flags: VerifyFlags) => setExit(await verifyAction(ctx, flags)));
}

async function verifyAction(ctx: CliContext, flags: VerifyFlags): Promise<number> {
  const drives = flags.drive ?? [];
  if (drives.length === 0) throw usageError('give at least one --drive PATH to verify');
  if (flags.session) ctx.log.attach(flags.session);
  const pool = ctx.deps.createChunkProcessor(verifyThreads(flags.threads ?? ctx.deps.cores, drives.length));
  let results: DriveVerifyResult[];
  const view = startProgress(ctx, 'verify', { json: flags.json === true });
  try {
    const opts = { drives, session: flags.session, signal: ctx.signal, board: view.board };
    results = await runVerify(ctx.deps.fs, pool, opts);
  } finally {
    view.done();
    await pool.close();
  }
  const bad = results.filter((r) => r.problems.length > 0);
  printResult(ctx, flags.json === true, { ok: bad.length === 0, drives: results }, () => verifySummary(results));
  if (bad.length > 0) {
    const p = bad[0]!.problems[0]!;
    if (!flags.json) {
      const block = p.block >= 0 ? ` block ${p.block}` : '';
      ctx.stderr.write(
        `seedship: verify failed: drive ${p.driveId}, ${p.blobPath || '(drive)'}${block}: ${p.message}\n`,
      );
    }
    return EXIT.INTEGRITY;
  }
  return EXIT.OK;
}

/** One line per drive (what was read, which checks, OK or how many problems), then its first 20 problems. */
function verifySummary(results: DriveVerifyResult[]): string {
  const drives = results.map((r) => {
    const checks = r.deep ? 'MD5 + journal XXH64' : 'MD5';
    const verdict = r.problems.length === 0 ? 'OK' : `${r.problems.length} PROBLEM(S)`;
    const head =
      `drive ${r.driveId} (${r.root}): ${r.blobs} blobs, ${r.blocks} blocks, ${formatBytes(r.bytes)} read, ` +
      `${checks}: ${verdict}`;
    const lines = r.problems.slice(0, 20).map((p) => {
      const where = p.block >= 0 ? ` block ${p.block} at offset ${p.offset}` : '';
      return `  ${p.blobPath || '(drive)'}${where}: ${p.message}`;
    });
    return [head, ...lines].join('\n');
  });
  return `${drives.join('\n')}\n`;
}
