import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import type { SetExit } from '../program.js';

/** TEMPORARY during the bootstrap commit; replaced by the real command in this session. */
export function registerRestore(program: Command, _ctx: CliContext, setExit: SetExit): void {
  program.command('restore').description('(being built)').action(() => setExit(1));
}
