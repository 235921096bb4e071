import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { SeedshipError } from '../core/index.js';
import type { CliContext } from './context.js';
import { EXIT, EXIT_CODE_HELP } from './exit-codes.js';
import { reportError } from './output.js';
import { parseIntervalSeconds, setProgressInterval } from './progress.js';
import { registerPrepare } from './commands/prepare.js';
import { registerVerify } from './commands/verify.js';
import { registerPlan } from './commands/plan.js';
import { registerRestore } from './commands/restore.js';
import { registerDrives } from './commands/drives.js';
import { registerDemo } from './commands/demo.js';
import { registerJob } from './commands/job.js';
import { registerImport } from './commands/import.js';
import { registerSync } from './commands/sync.js';
import { registerBench } from './commands/bench.js';

/** Sets the exit code of the command that ran. */
export type SetExit = (code: number) => void;

/** One command module: adds its subcommand and its action. */
export type Register = (program: Command, ctx: CliContext, setExit: SetExit) => void;

const COMMANDS: Register[] = [registerPrepare, registerVerify, registerPlan, registerRestore, registerDrives, registerDemo, registerJob, registerImport, registerSync, registerBench];

/**
 * AzureOfflineBackupDiskPrep's spelling: `s:<staging>` and `p:<publishsettings>` mean `prepare`,
 * `u:` means shipping update / status. Rewrites argv into seedship's own commands.
 */
export function translateDiskPrepArgs(argv: string[]): string[] {
  const legacy = argv.filter((a) => /^[spu]:/i.test(a));
  if (legacy.length === 0) return argv;
  const rest = argv.filter((a) => !/^[spu]:/i.test(a));
  const get = (k: string) => legacy.find((a) => a.toLowerCase().startsWith(k + ':'))?.slice(2);
  const staging = get('s');
  const publish = get('p');
  if (legacy.some((a) => /^u:/i.test(a))) {
    return ['job', 'u', ...(staging ? ['--staging', staging] : []), ...(publish ? ['--publish-settings', publish] : []), ...rest];
  }
  if (!staging) throw new SeedshipError('E_USAGE', 'p: needs s:<staging location> too (AzureOfflineBackupDiskPrep syntax: s:<staging> [p:<publishsettings>])');
  return ['prepare', '--staging', staging, ...(publish ? ['--publish-settings', publish] : []), ...rest];
}

/** Build the commander program for one invocation. */
export function buildProgram(ctx: CliContext, setExit: SetExit): Command {
  const program = new Command('seedship');
  program
    .description('Seed a cloud backup by shipping drives: copy staging data to drives (Azure Import/Export format), verify, plan and restore.')
    .option('--debug', 'print stacks of unexpected errors')
    .option(
      '--progress-interval <seconds>',
      'seconds between progress lines without a terminal (default 10; env SEEDSHIP_PROGRESS_INTERVAL)',
      progressIntervalOption,
    )
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `\nAzureOfflineBackupDiskPrep spelling: seedship s:<staging> [p:<publishsettings>]  (= prepare)\n\n${EXIT_CODE_HELP}\n`)
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    })
    .exitOverride();
  program.hook('preAction', () => {
    const s = program.opts<{ progressInterval?: number }>().progressInterval;
    if (s !== undefined) setProgressInterval(ctx, s);
  });
  for (const register of COMMANDS) register(program, ctx, setExit);
  for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) });
  return program;
}

function progressIntervalOption(value: string): number {
  const s = parseIntervalSeconds(value);
  if (s === undefined) throw new InvalidArgumentError('give a number of seconds from 0.1 to 86400, e.g. 10');
  return s;
}

/** Run the CLI with `argv` (without node and script) and return the exit code. */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const json = argv.includes('--json');
  const debug = argv.includes('--debug');
  let code: number = EXIT.OK;
  try {
    const args = translateDiskPrepArgs(argv);
    const program = buildProgram(ctx, (c) => {
      code = c;
    });
    if (args.length === 0) {
      program.outputHelp();
      return EXIT.USAGE;
    }
    await program.parseAsync(args, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; everything else commander rejects is a usage error (already printed).
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (ctx.signal.aborted && !(err instanceof SeedshipError)) {
      return reportError(ctx, new SeedshipError('E_INTERRUPTED', 'interrupted; run the same command again to continue', { cause: err }), { json, debug });
    }
    return reportError(ctx, err, { json, debug });
  }
}
