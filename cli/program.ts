// The commander program: global options, the commands in their help groups, and running one command line.
import { CommanderError, InvalidArgumentError, type Command } from 'commander';
import { SEEDSHIP_VERSION, SeedshipError } from '../core/index.js';
import type { CliContext } from './shared/context.js';
import { EXIT, EXIT_CODE_HELP } from './shared/exit-codes.js';
import { reportError } from './shared/output.js';
import { parseIntervalSeconds, setProgressInterval } from './shared/progress.js';
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
import { registerCompletion } from './commands/completion.js';
import { SeedshipCommand, usageProblemLines } from './shared/usage.js';
import type { Register, SetExit } from './shared/types.js';
import { registerCheck } from './commands/check.js';
import { registerReport } from './commands/report.js';

// In the order of a job: the help lists the groups of COMMAND_GROUPS in the order their first command comes here.
const COMMANDS: Register[] = [
  registerDrives,
  registerBench,
  registerPlan,
  registerCheck,
  registerPrepare,
  registerVerify,
  registerReport,
  registerJob,
  registerImport,
  registerSync,
  registerRestore,
  registerDemo,
  registerCompletion,
];

/** The help group of each command, by purpose; a command not named here is listed under "Other:". */
const COMMAND_GROUPS: Record<string, string> = {
  drives: 'Before the copy:',
  bench: 'Before the copy:',
  plan: 'Before the copy:',
  check: 'Before the copy:',
  prepare: 'Copy and check the drives:',
  verify: 'Copy and check the drives:',
  report: 'Copy and check the drives:',
  job: 'Ship and import:',
  import: 'Ship and import:',
  sync: 'Ship and import:',
  restore: 'Restore:',
};

/**
 * AzureOfflineBackupDiskPrep's spelling: `s:<staging>` and `p:<publishsettings>` mean `prepare`,
 * `u:` means shipping update / status. Rewrites argv into seedship's own commands.
 */
export function translateDiskPrepArgs(argv: string[]): string[] {
  const legacy = argv.filter((a) => /^[spu]:/i.test(a));
  if (legacy.length === 0) return argv;
  const rest = argv.filter((a) => !/^[spu]:/i.test(a));
  const get = (k: string) => legacy.find((a) => a.toLowerCase().startsWith(`${k}:`))?.slice(2);
  const staging = get('s');
  const publish = get('p');
  if (legacy.some((a) => /^u:/i.test(a))) {
    return [
      'job',
      'u',
      ...(staging ? ['--staging', staging] : []),
      ...(publish ? ['--publish-settings', publish] : []),
      ...rest,
    ];
  }
  if (!staging)
    throw new SeedshipError(
      'E_USAGE',
      'p: needs s:<staging location> too (AzureOfflineBackupDiskPrep syntax: s:<staging> [p:<publishsettings>])',
    );
  return ['prepare', '--staging', staging, ...(publish ? ['--publish-settings', publish] : []), ...rest];
}

const ENV_HELP = `
Options can also come from the environment (each command's --help shows them as "env:"; see docs/cli.md):
  SEEDSHIP_SESSION, SEEDSHIP_STAGING, AZURE_STORAGE_CONNECTION_STRING
`;

/**
 * Build the commander program for one invocation. With `json`, commander's own usage errors are
 * written as one `{type:'error', code:'E_USAGE', message}` line on stderr, as every other error is.
 */
export function buildProgram(ctx: CliContext, setExit: SetExit, opts: { json?: boolean } = {}): Command {
  const program = new SeedshipCommand('seedship');
  const output = {
    writeOut: (s: string) => ctx.stdout.write(s),
    writeErr: (s: string) => ctx.stderr.write(s),
    outputError: (s: string, write: (s: string) => void) => {
      if (!opts.json) return write(s);
      const problems = usageProblemLines(s);
      const many = problems.length > 1 ? { problems } : {};
      const error = { type: 'error', code: 'E_USAGE', message: problems.join('; '), ...many };
      write(`${JSON.stringify(error)}\n`);
    },
  };
  program
    .description(
      'Seed a cloud backup by shipping drives: copy staging data to drives (Azure Import/Export format), ' +
        'verify, plan and restore.',
    )
    .version(SEEDSHIP_VERSION, '-V, --version', 'print the version and exit')
    .option('--debug', 'print stacks of unexpected errors; debug records (options as parsed, samples) in the run log')
    .option(
      '--progress-interval <seconds>',
      'seconds between progress lines without a terminal (default 10; env SEEDSHIP_PROGRESS_INTERVAL)',
      progressIntervalOption,
    )
    .showHelpAfterError(opts.json ? false : '(run with --help for usage)')
    .addHelpText(
      'after',
      '\nAzureOfflineBackupDiskPrep spelling: seedship s:<staging> [p:<publishsettings>]  (= prepare)\n\n' +
        `${EXIT_CODE_HELP}\n${ENV_HELP}`,
    )
    .configureOutput(output)
    .exitOverride()
    // Root hooks run first: no action starts while a problem of the command line is unreported.
    .hook('preAction', (_program, action) => {
      if (action instanceof SeedshipCommand) action.reportProblems();
    });
  program.hook('preAction', () => {
    const s = program.opts<{ progressInterval?: number }>().progressInterval;
    if (s !== undefined) setProgressInterval(ctx, s);
  });
  for (const register of COMMANDS) register(program, ctx, setExit);
  for (const c of program.commands) c.helpGroup(COMMAND_GROUPS[c.name()] ?? 'Other:');
  program.commandsGroup('Other:').helpCommand('help [command]', 'show the help of a command');
  const configure = (c: Command): void => {
    c.exitOverride().configureOutput(output);
    if (opts.json) c.showHelpAfterError(false);
    c.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  return program;
}

function progressIntervalOption(value: string): number {
  const s = parseIntervalSeconds(value);
  if (s === undefined) throw new InvalidArgumentError('give a number of seconds from 0.1 to 86400, e.g. 10');
  return s;
}

/** Run the CLI with `argv` (without node and script) and return the exit code. */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  ctx.log.start(argv);
  const code = await runCommand(argv, ctx);
  await ctx.log.end(code);
  return code;
}

async function runCommand(argv: string[], ctx: CliContext): Promise<number> {
  const json = argv.includes('--json');
  const debug = argv.includes('--debug');
  let code: number = EXIT.OK;
  try {
    const args = translateDiskPrepArgs(argv);
    const program = buildProgram(
      ctx,
      (c) => {
        code = c;
      },
      { json },
    );
    program.hook('preAction', (_program, action) => {
      const names: string[] = [];
      for (let c: Command | null = action; c && c !== program; c = c.parent) names.unshift(c.name());
      ctx.log.debug('options', { command: names.join(' '), options: action.opts() });
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
      // Help and version leave no run log: nothing happened worth a record.
      if (err.exitCode === 0) ctx.log.discard();
      else ctx.log.error(new SeedshipError('E_USAGE', err.message.replace(/^error: /, '')));
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const interrupted = ctx.signal.aborted && !(err instanceof SeedshipError);
    const shown = interrupted
      ? new SeedshipError('E_INTERRUPTED', 'interrupted; run the same command again to continue', { cause: err })
      : err;
    ctx.log.error(shown);
    return reportError(ctx, shown, { json, debug });
  }
}
