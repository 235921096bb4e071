// `seedship prepare`: copy staging onto drives in the Import/Export format (and, with --create-job, create the job).
import type { Command } from 'commander';
import {
  formatBytes,
  formatDuration,
  MIN_DRIVE_BYTES,
  runPrepare,
  serviceNamingRules,
  usageError,
  type PrepareIO,
  type PrepareResult,
} from '../../core/index.js';
import type { CliContext } from '../shared/context.js';
import { EXIT, EXIT_CODE_HELP } from '../shared/exit-codes.js';
import { CLOUDS } from '../../core/azure/clouds.js';
import { choiceOption, collect, intOption, sessionOption, sizeOption, stagingOption } from '../shared/options.js';
import { printResult } from '../shared/output.js';
import type { SetExit } from '../shared/types.js';
import { startProgress, type StepView } from '../shared/progress.js';
import { ask } from '../shared/prompt.js';
import { addUsageCheck } from '../shared/usage.js';
import { warnServiceCheck } from './check.js';
import { addJobCreateOptions, createJob, missingJobCreateOptions } from './job.js';
import { reportAtEnd } from './report.js';

const CODECS = ['zstd', 'none'];
const BLOB_TYPES = ['block', 'page'];
const DISPOSITIONS = ['rename', 'no-overwrite', 'overwrite'];
const ONE_ENTRY = 'room for the manifest and one entry';

interface PrepareFlags {
  staging: string;
  job?: string;
  drive?: string[];
  session?: string;
  container?: string;
  codec?: 'zstd' | 'none';
  level?: number;
  blobType?: 'block' | 'page';
  encrypt?: boolean;
  bitlockerKey?: string[];
  threads?: number;
  yes?: boolean;
  json?: boolean;
  verify: boolean;
  disposition?: 'rename' | 'no-overwrite' | 'overwrite';
  driveLimit?: number;
  allowStagingVolume?: boolean;
  serviceStrict?: boolean;
  containerSas?: string;
  publishSettings?: string;
  createJob?: boolean;
  cloud?: string;
  force?: boolean;
}

const AFTER_HELP =
  '\nWhen the drives given are full: on a terminal you are asked for the next drive; with --yes, CI or no\n' +
  'terminal, what is done is sealed and the command exits 4 — run it again with another --drive to continue.\n\n' +
  `${EXIT_CODE_HELP}\n`;

export function registerPrepare(program: Command, ctx: CliContext, setExit: SetExit): void {
  const cmd = program
    .command('prepare')
    .description(
      'copy every file under staging onto drives in the Azure Import/Export format; resumable; ' +
        'seals and reads back each drive',
    );
  // In help order: each helper starts its own options group.
  addInputOptions(cmd);
  addCopyOptions(cmd);
  addDriveOptions(cmd);
  addOutputOptions(cmd);
  cmd.addHelpText('after', AFTER_HELP).action(async (flags: PrepareFlags) => setExit(await prepareAction(ctx, flags)));
  addJobCreateOptions(cmd);
  // Without a terminal to ask for a drive on, one is needed now (with --create-job, the job's options too).
  addUsageCheck(cmd, (o) => {
    const drives = (o.drive as string[] | undefined)?.length || (ctx.interactive && !o.yes && !o.json);
    return [
      ...(drives ? [] : ['give at least one --drive PATH (the mount path of a drive to fill)']),
      ...(o.createJob ? missingJobCreateOptions(o) : []),
    ];
  });
}

function addInputOptions(cmd: Command): void {
  cmd
    .optionsGroup('Input and output:')
    .addOption(stagingOption('the staging location to copy').makeOptionMandatory())
    .option('--job <name>', 'Import/Export job name (optional when staging has exactly one session)')
    .addOption(sessionOption('session dir (default <staging>/.seedship/<job>)'))
    .option('--container <name>', 'destination container (default: the job name)');
}

function addCopyOptions(cmd: Command): void {
  cmd
    .optionsGroup('Copy:')
    .addOption(choiceOption('--codec <codec>', 'zstd (default) or none (the bytes the service imports as-is)', CODECS))
    .option('--level <n>', 'zstd level 1-19 (default 3)', intOption('--level', 1, 19))
    .addOption(
      choiceOption(
        '--blob-type <type>',
        'block (default) or page (needs --codec none; skips all-zero pages)',
        BLOB_TYPES,
      ),
    )
    .option('--threads <n>', 'worker threads (default: the number of cores)', intOption('--threads', 1, 256))
    .addOption(
      choiceOption(
        '--disposition <d>',
        'ImportDisposition for every blob: rename (default), no-overwrite or overwrite',
        DISPOSITIONS,
      ),
    )
    .option('--service-strict', 'never split a block blob across drives (the documented format)');
}

function addDriveOptions(cmd: Command): void {
  cmd
    .optionsGroup('Drives:')
    .option(
      '--drive <path>',
      'mount path of a drive to fill (repeat for more drives: all are written at once)',
      collect,
    )
    .option(
      '--drive-limit <size>',
      'write at most SIZE to each drive (e.g. 500GB)',
      sizeOption('--drive-limit', MIN_DRIVE_BYTES, ONE_ENTRY),
    )
    .option('--allow-staging-volume', 'accept a drive on the same volume as staging (tests and demos only)')
    .option('--encrypt', 'encrypt each drive with its own AES-256 key (kept only in the session dir)')
    .option(
      '--bitlocker-key <key>',
      'BitLocker numerical password of a drive encrypted elsewhere (one per --drive, in order)',
      collect,
    )
    .option('--yes', 'never prompt: when the drives are full, seal them and exit 4');
}

/** Integrity, output, and the job creation options of prepare itself (job create's own come after). */
function addOutputOptions(cmd: Command): void {
  cmd
    .optionsGroup('Integrity:')
    .option('--no-verify', 'skip reading each sealed drive back against its manifest')
    .optionsGroup('Output:')
    .option('--json', 'progress as JSON lines on stderr, the result as one JSON object on stdout')
    .optionsGroup('Job creation (with --create-job):')
    .option('--create-job', 'create the Import/Export job when the copy is done (takes the job create options below)')
    .option('--container-sas <sas>', 'container SAS to write into each manifest (container?token)')
    .option(
      '--publish-settings <file>',
      'AzureOfflineBackupDiskPrep p: file (subscription id only; ARM credentials are used)',
    )
    .addOption(
      choiceOption('--cloud <name>', 'Azure cloud for --create-job', Object.keys(CLOUDS)).default('AzureCloud'),
    )
    .option('--arm-endpoint <url>', 'Azure Resource Manager endpoint for --create-job');
}

/** Check the drives, copy (asking for drives on a terminal), print the result, create the job, write the report. */
async function prepareAction(ctx: CliContext, flags: PrepareFlags): Promise<number> {
  const json = flags.json === true;
  const interactive = ctx.interactive && !flags.yes && !json;
  if ((flags.drive ?? []).length === 0 && !interactive)
    throw usageError('give at least one --drive PATH (the mount path of a drive to fill)');
  await warnServiceCheck(ctx, flags);
  const result = await copyToDrives(ctx, flags, interactive);
  printResult(ctx, json, result, () => summary(result));
  if (result.status === 'needs-drive') {
    if (!json) ctx.stderr.write(needsDriveMessage(result));
    return reportAtEnd(ctx, result.sessionDir, json, EXIT.NEEDS_DRIVE);
  }
  const code = result.skipped.length > 0 ? EXIT.SKIPPED : EXIT.OK;
  if (flags.createJob) {
    // As AzureOfflineBackupDiskPrep does: the job is created once the drives are ready.
    const jobCode = await createJob(ctx, {
      ...(flags as unknown as Parameters<typeof createJob>[1]),
      session: result.sessionDir,
      cloud: (flags.cloud ?? 'AzureCloud') as 'AzureCloud',
      json,
    });
    if (jobCode !== EXIT.OK) return reportAtEnd(ctx, result.sessionDir, json, jobCode);
  }
  return reportAtEnd(ctx, result.sessionDir, json, code);
}

/** The copy itself, with its progress view. */
async function copyToDrives(ctx: CliContext, flags: PrepareFlags, interactive: boolean): Promise<PrepareResult> {
  const view = startProgress(ctx, 'prepare', { json: flags.json === true, total: { label: 'all', unit: 'bytes' } });
  try {
    return await runPrepare(
      {
        staging: flags.staging,
        job: flags.job,
        drives: flags.drive ?? [],
        session: flags.session,
        container: flags.container,
        codec: flags.codec,
        level: flags.level,
        blobType: flags.blobType,
        encrypt: flags.encrypt,
        bitlockerKeys: flags.bitlockerKey,
        threads: flags.threads,
        verify: flags.verify,
        containerSas: flags.containerSas,
        disposition: flags.disposition,
        driveLimit: flags.driveLimit,
        allowStagingVolume: flags.allowStagingVolume,
        serviceStrict: flags.serviceStrict,
      },
      ctx.deps,
      {
        board: view.board,
        sessionReady: (dir) => ctx.log.attach(dir),
        notice: (level, message) => view.note(level, message),
        ...(interactive ? { askNextDrive: nextDriveQuestion(ctx, view) } : {}),
      },
      serviceNamingRules,
      ctx.signal,
    );
  } finally {
    view.done();
  }
}

/** On a terminal, full drives ask for the next: its mount path, or undefined to stop. */
function nextDriveQuestion(ctx: CliContext, view: StepView): NonNullable<PrepareIO['askNextDrive']> {
  return async (info) => {
    // The live lines leave the terminal while the operator answers, and come back after.
    view.pause();
    const head = info.sealedDriveId ? `Drive ${info.sealedDriveId} is full and sealed. ` : '';
    const a = await ask(
      ctx,
      `${head}${formatBytes(info.rawRemaining)} in ${info.filesRemaining} files remain.\n` +
        'Attach the next drive and type its mount path (empty to stop): ',
    );
    view.resume();
    return a ? a : undefined;
  };
}

/** What to do when the drives given are full (exit 4), naming entries earlier runs left off. */
function needsDriveMessage(result: PrepareResult): string {
  const m = result.missing;
  const paths = m.paths
    .slice(0, 10)
    .map((p) => JSON.stringify(p))
    .join(', ');
  const named =
    m.count > 0
      ? ` ${m.count} staged entries earlier runs left off the drives are still on no drive: ${paths}` +
        `${m.count > 10 ? ` and ${m.count - 10} more` : ''}.`
      : '';
  return (
    `seedship: needs another drive: ${formatBytes(result.rawRemaining)} remain; what fitted is sealed.${named} ` +
    'Attach a drive with room and run the same command with --drive <next drive> to continue.\n'
  );
}

function summary(r: PrepareResult): string {
  const secs = r.elapsedMs / 1000;
  const ratio = r.bytes.raw > 0 ? (r.bytes.stored / r.bytes.raw).toFixed(2) : '-';
  const lines = [
    `${r.status === 'done' ? 'prepared' : 'partly prepared'} job ${r.job} (container ${r.container}): ` +
      `${r.files.done}/${r.files.total} files, ${formatBytes(r.bytes.raw)} -> ${formatBytes(r.bytes.stored)} ` +
      `stored (ratio ${ratio}) in ${formatDuration(secs)}`,
  ];
  if (r.names.mapped + r.names.escaped > 0) {
    lines.push(
      `names: ${r.names.mapped} given another name on the drives (NTFS would not keep them), ` +
        `${r.names.escaped} escaped in the account (no blob name can carry them); restore gives every original ` +
        `name back${r.names.file ? ` (listed in ${r.names.file})` : ''}`,
    );
  }
  for (const d of r.drives) {
    const info = d.driveInfoFile ? `  drive info: ${d.driveInfoFile}` : '';
    lines.push(
      `  drive ${d.driveId}  ${d.path}  ${d.status}  ${formatBytes(d.storedBytes)}  ${d.blobs} blobs  ` +
        `${driveVerdict(d)}${info}`,
    );
  }
  if (r.skipped.length > 0) {
    lines.push(`skipped ${r.skipped.length} entries${r.skippedFile ? ` (listed in ${r.skippedFile})` : ''}:`);
    for (const s of r.skipped.slice(0, 10)) lines.push(`  ${s.path}: ${s.reason}`);
  }
  lines.push(`session: ${r.sessionDir}`);
  return `${lines.join('\n')}\n`;
}

/** Whether a drive can be shipped, in words. */
function driveVerdict(d: PrepareResult['drives'][number]): string {
  if (d.verified === false) return 'FAILED read-back: do not ship it (what it holds is copied again onto other drives)';
  if (d.status === 'failed') return 'FAILED during the copy: do not ship it (what it held is copied onto other drives)';
  if (d.verified === true) return 'verified';
  if (d.status === 'sealed') return 'sealed, not read back (attach it and run seedship verify)';
  return 'not sealed';
}
