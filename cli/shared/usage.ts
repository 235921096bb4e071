// Usage errors: every problem of a command line reported at once, with the commands' own rules (addUsageCheck).
import { Command, CommanderError, type ErrorOptions, type Option } from 'commander';
import { EXIT } from './exit-codes.js';

/** A rule about a command's options as a whole (one needs another, one of two is needed): its problems. */
export type UsageCheck = (opts: Record<string, unknown>, cmd: Command) => string[];

const checks = new WeakMap<Command, UsageCheck[]>();

/** Add a rule that is checked with commander's own checks, so its problem is reported with theirs. */
export function addUsageCheck<C extends Command>(cmd: C, check: UsageCheck): C {
  checks.set(cmd, [...(checks.get(cmd) ?? []), check]);
  return cmd;
}

/** The problems found in one command line, shared by a program and all its subcommands. */
class UsageProblems {
  readonly #lines: string[] = [];
  add(line: string): void {
    this.#lines.push(line.startsWith('error: ') ? line : `error: ${line}`);
  }
  take(): string[] {
    return this.#lines.splice(0);
  }
}

/**
 * A commander `Command` that reports every problem of a command line at once. Commander stops at
 * the first invalid value or missing required option; an operator who gets one message per run
 * re-runs a long command line several times. Here invalid values and missing options are gathered
 * while commander parses and checks, and reported together (with the command's own rules) as one
 * usage error before the action runs, or with the next error commander raises.
 */
export class SeedshipCommand extends Command {
  readonly #problems: UsageProblems;

  constructor(name?: string, problems: UsageProblems = new UsageProblems()) {
    super(name);
    this.#problems = problems;
  }

  override createCommand(name?: string): SeedshipCommand {
    return new SeedshipCommand(name, this.#problems);
  }

  override addOption(option: Option): this {
    const parse = option.parseArg;
    if (parse) {
      // Commander's own validation (choices, argParser) still decides; its verdict is kept for later.
      option.parseArg = <T>(value: string, previous: T): T => {
        try {
          return parse.call(option, value, previous) as T;
        } catch (err) {
          if (!(err instanceof CommanderError) || err.code !== 'commander.invalidArgument') throw err;
          const env = option.envVar !== undefined && process.env[option.envVar] === value;
          this.#problems.add(
            env
              ? `option '${option.flags}' value '${value}' from env '${option.envVar}' is invalid. ${err.message}`
              : `option '${option.flags}' argument '${value}' is invalid. ${err.message}`,
          );
          return previous;
        }
      };
    }
    return super.addOption(option);
  }

  /**
   * Commander calls this for every problem it finds. A missing required option is noted and
   * commander goes on to check the next one (it loops over them); any other error is reported
   * at once, together with what was noted before it.
   */
  override error(message: string, errorOptions?: ErrorOptions): never {
    if (errorOptions?.code === 'commander.missingMandatoryOptionValue') {
      const flags = /'([^']+)'/.exec(message)?.[1];
      const envVar = this.options.find((o) => o.flags === flags)?.envVar;
      this.#problems.add(envVar ? `${message} (nor $${envVar} set)` : message);
      return undefined as never;
    }
    this.#runChecks();
    const lines = [...this.#problems.take(), message];
    const exitCode = errorOptions?.exitCode === 0 ? 0 : EXIT.USAGE;
    const code = lines.length > 1 ? 'seedship.usage' : (errorOptions?.code ?? 'commander.error');
    return super.error(lines.join('\n'), { code, exitCode });
  }

  #checked = false;
  #runChecks(): void {
    if (this.#checked) return;
    this.#checked = true;
    for (const check of checks.get(this) ?? []) for (const p of check(this.opts(), this)) this.#problems.add(p);
  }

  /** Run the command's rules and raise one usage error naming every problem, if any. */
  reportProblems(): void {
    this.#runChecks();
    const lines = this.#problems.take();
    if (lines.length > 0) super.error(lines.join('\n'), { code: 'seedship.usage', exitCode: EXIT.USAGE });
  }
}

/** The problem lines of a usage error's text, without commander's `error: ` prefix. */
export function usageProblemLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => l.replace(/^error: /, ''));
}
