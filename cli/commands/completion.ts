// `seedship completion <shell>`: print the shell completion script.
import { Argument, type Command } from 'commander';
import type { CliContext } from '../shared/context.js';
import { COMPLETION_SHELLS, completionScript, type CompletionShell } from '../shared/completion.js';
import { EXIT } from '../shared/exit-codes.js';
import type { SetExit } from '../shared/types.js';

export function registerCompletion(program: Command, ctx: CliContext, setExit: SetExit): void {
  program
    .command('completion')
    .description('print a shell completion script for every command, option and choice (see docs/cli.md to install it)')
    .addArgument(new Argument('<shell>', 'the shell to complete in').choices(COMPLETION_SHELLS))
    .addHelpText(
      'after',
      `
Examples:
  source <(seedship completion bash)     # bash, this shell
  seedship completion bash > ~/.local/share/bash-completion/completions/seedship
  seedship completion zsh > "\${fpath[1]}/_seedship"   # zsh, then start a new shell`,
    )
    .action((shell: CompletionShell) => {
      // The whole program, as built for this run: commands other modules add complete too.
      ctx.stdout.write(completionScript(program, shell));
      // Printing a script records nothing worth keeping; a shell sourcing it at every start would fill the log dir.
      ctx.log.discard();
      setExit(EXIT.OK);
    });
}
