// `seedship check`: can the Azure Import/Export service import these drives? Also the check prepare and job create run.
import type { Command } from 'commander';
import {
  defaultSessionDir,
  discoverJobSession,
  resolveStaging,
  runServiceCheck,
  SeedshipError,
  sessionDrivesToCheck,
  sessionFiles,
  usageError,
  type CheckFinding,
  type DriveToCheck,
  type ServiceCheckResult,
} from '../../core/index.js';
import type { CliContext } from '../shared/context.js';
import { EXIT, EXIT_CODE_HELP } from '../shared/exit-codes.js';
import { collect, sessionOption } from '../shared/options.js';
import { printNotice, printResult } from '../shared/output.js';
import type { SetExit } from '../shared/types.js';

interface CheckFlags {
  drive?: string[];
  session?: string;
  bitlockerKey?: string[];
  json?: boolean;
}

export function registerCheck(program: Command, ctx: CliContext, setExit: SetExit): void {
  program
    .command('check')
    .description('check drives before they ship: exit 2 on anything the Azure Import/Export service cannot import')
    .option('--drive <path>', 'mount path of a drive (repeat; --session alone: its drives where they were)', collect)
    .addOption(sessionOption('session dir of the job the drives are for (its codec, encryption, drives, keys)'))
    .option('--bitlocker-key <key>', 'BitLocker numerical password of each --drive, in order (as for prepare)', collect)
    .option('--json', 'the result as one JSON object on stdout: {ok, drives: [{path, findings}], findings}')
    .addHelpText(
      'after',
      '\nChecks: NTFS, at most 10 TB, inside BitLocker (cryptsetup --type bitlk or dislocker) with its key given,' +
        '\nattached by SATA/SAS (not USB), empty or a seedship drive of this job, at most 10 drives per job,' +
        '\n--codec none and no --encrypt, the session dir not on a drive (a warning when inside staging).' +
        `\nSee docs/check.md.\n\n${EXIT_CODE_HELP}\n`,
    )
    .action(async (flags: CheckFlags) => setExit(await checkAction(ctx, flags)));
}

async function checkAction(ctx: CliContext, flags: CheckFlags): Promise<number> {
  const drives = flags.drive ?? [];
  const keys = flags.bitlockerKey ?? [];
  const session = flags.session;
  if (drives.length === 0 && !session) {
    throw usageError('check needs --drive PATH (repeat for more drives), or --session DIR for the drives of a session');
  }
  if (keys.length > 0 && keys.length !== drives.length) {
    throw usageError(`give one --bitlocker-key per --drive (${drives.length} drives, ${keys.length} keys)`);
  }
  if (session && !(await ctx.deps.fs.exists(sessionFiles.settings(session)))) {
    throw usageError(`${session} is not a seedship session dir (no session.json); give the --session of prepare`);
  }
  const list: DriveToCheck[] =
    drives.length > 0
      ? drives.map((path, i) => ({ path, bitlockerKey: keys[i] }))
      : await sessionDrivesToCheck(ctx.deps.fs, session!);
  const result = await runServiceCheck(ctx.deps, { drives: list, session });
  printResult(ctx, flags.json === true, result, () => formatCheck(result));
  return result.ok ? EXIT.OK : EXIT.USAGE;
}

function findingLine(f: CheckFinding): string {
  return `${f.severity.toUpperCase()} ${f.message} — ${f.fix}`;
}

/** One line per drive with OK, or one line per finding with its fix; then the job's findings and a verdict. */
export function formatCheck(r: ServiceCheckResult): string {
  const lines: string[] = [];
  for (const d of r.drives) {
    if (d.findings.length === 0) lines.push(`${d.path}: OK`);
    for (const f of d.findings) lines.push(`${d.path}: ${findingLine(f)}`);
  }
  for (const f of r.findings) lines.push(`job: ${findingLine(f)}`);
  const all = [...r.findings, ...r.drives.flatMap((d) => d.findings)];
  const errors = all.filter((f) => f.severity === 'error').length;
  const warnings = all.length - errors;
  if (r.drives.length === 0) lines.push('no drive to check');
  const n = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  lines.push(
    r.ok
      ? `ready for the Azure Import/Export service${warnings > 0 ? ` (${n(warnings, 'warning')} to look at)` : ''}`
      : `not importable by the Azure Import/Export service: ${n(errors, 'error')}, ${n(warnings, 'warning')}`,
  );
  return `${lines.join('\n')}\n`;
}

function noteFindings(ctx: CliContext, json: boolean, r: ServiceCheckResult, withFix = true): void {
  for (const f of [...r.drives.flatMap((d) => d.findings), ...r.findings]) {
    const fix = withFix ? ` — ${f.fix}` : '';
    printNotice(ctx, json, 'warning', `service check: ${f.drive ?? 'job'}: ${f.message}${fix}`, { finding: f });
  }
}

/** What `prepare` was asked for, as far as the service check needs it. */
export interface PrepareCheckFlags {
  staging: string;
  job?: string | undefined;
  session?: string | undefined;
  drive?: string[] | undefined;
  bitlockerKey?: string[] | undefined;
  codec?: 'zstd' | 'none' | undefined;
  encrypt?: boolean | undefined;
  blobType?: 'block' | 'page' | undefined;
  serviceStrict?: boolean | undefined;
  json?: boolean | undefined;
  createJob?: boolean | undefined;
  force?: boolean | undefined;
}

/**
 * The service check at the start of `prepare`: every finding is a warning and prepare goes on
 * (seedship's own importer reads any drive; the demo and tests use tmpfs and ext4) — except with
 * --create-job and no --force, where a drive the service cannot import stops it before the copy.
 * Input prepare itself refuses (staging missing, bad flags) is left to prepare to report.
 */
export async function warnServiceCheck(ctx: CliContext, flags: PrepareCheckFlags): Promise<void> {
  const json = flags.json === true;
  let result: ServiceCheckResult;
  try {
    const staging = await resolveStaging(ctx.deps, flags.staging);
    const discovered = () => discoverJobSession(ctx.deps, staging).catch(() => undefined);
    const session = flags.session ?? (flags.job ? defaultSessionDir(staging, flags.job) : await discovered());
    const drives = (flags.drive ?? []).map((path, i) => ({ path, bitlockerKey: flags.bitlockerKey?.[i] }));
    const { codec, encrypt, blobType, serviceStrict } = flags;
    const requested = { codec, encrypt, blobType, serviceStrict };
    const defined = Object.fromEntries(Object.entries(requested).filter(([, v]) => v !== undefined));
    result = await runServiceCheck(ctx.deps, { drives, session, staging, requested: defined, startsSession: true });
  } catch (err) {
    if (err instanceof SeedshipError) return;
    const why = err instanceof Error ? err.message : String(err);
    printNotice(ctx, json, 'warning', `the service check could not run (${why}); run seedship check before shipping`);
    return;
  }
  if (!result.ok) {
    const head = 'the Azure Import/Export service could not import these drives as they are';
    const how = 'seedship check --drive … says how to fix each';
    printNotice(ctx, json, 'warning', `${head} (seedship's own importer can; prepare goes on; ${how}):`);
  }
  // Prepare names what it found, briefly: the fixes are `seedship check`'s (and in --json's findings).
  noteFindings(ctx, json, result, false);
  if (!result.ok && flags.createJob && !flags.force) {
    throw new SeedshipError(
      'E_DRIVE_UNSUITABLE',
      '--create-job: the Azure Import/Export service cannot import these drives (see the service check above); ' +
        'fix them, or add --force to create the job anyway',
    );
  }
}

/**
 * The service check at the start of `job create`: the session's drives where they last were, its
 * codec and encryption, its keys. Refuses (exit 2) on an error unless `force`; a dry run only warns.
 */
export async function refuseUnlessImportable(
  ctx: CliContext,
  session: string,
  opts: { force: boolean; dryRun: boolean; json: boolean },
): Promise<void> {
  const result = await runServiceCheck(ctx.deps, { drives: await sessionDrivesToCheck(ctx.deps.fs, session), session });
  noteFindings(ctx, opts.json, result);
  if (result.ok || opts.force || opts.dryRun) return;
  throw new SeedshipError(
    'E_DRIVE_UNSUITABLE',
    `the Azure Import/Export service cannot import the drives of ${session} (see the service check above); ` +
      `fix them (seedship check --session ${session}), or pass --force to create the job anyway`,
    { path: session },
  );
}
