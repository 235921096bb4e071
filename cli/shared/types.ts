// Types shared by program.ts and the command modules (so commands never import program.ts).
import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** Sets the exit code of the command that ran. */
export type SetExit = (code: number) => void;

/** One command module: adds its subcommand and its action. */
export type Register = (program: Command, ctx: CliContext, setExit: SetExit) => void;
