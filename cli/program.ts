import { Command, CommanderError } from 'commander';
import { SeedshipError } from '../core/index.js';
import type { CliContext } from './context.js';
import { EXIT, EXIT_CODE_HELP } from './exit-codes.js';
import { reportError } from './output.js';
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
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `\nAzureOfflineBackupDiskPrep spelling: seedship s:<staging> [p:<publishsettings>]  (= prepare)\n\n${EXIT_CODE_HELP}\n`)
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    })
    .exitOverride();
  for (const register of COMMANDS) register(program, ctx, setExit);
  for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) });
  return program;
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
    const program = buildProgram(ctx, (c) => {
      code = c;
    });
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
    if (ctx.signal.aborted && !(err instanceof SeedshipError)) {
      err = new SeedshipError('E_INTERRUPTED', 'interrupted; run the same command again to continue', { cause: err });
    }
    ctx.log.error(err);
    return reportError(ctx, err, { json, debug });
  }
}
