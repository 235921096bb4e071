// Option helpers every command shares: value parsers, choices, and options that also come from the environment.
import { InvalidArgumentError, Option } from 'commander';
import { formatBytes, parseSize } from '../../core/index.js';

/** Repeatable option collector. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** argParser for a whole number from `min` to `max`; commander reports the option and this message. */
export function intOption(flag: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} takes a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

/**
 * argParser for a size (500GB, 1.5TiB, 64M, a byte count) of at least `minBytes`; `why` says what
 * the minimum is for. Zero and negative sizes are refused: no option here means "unlimited" by 0.
 */
export function sizeOption(flag: string, minBytes = 1, why = ''): (v: string) => number {
  return (v: string) => {
    if (/^\s*-/.test(v)) {
      throw new InvalidArgumentError(`${flag} ${JSON.stringify(v)} is negative; give a size larger than 0, e.g. 500GB`);
    }
    let n: number;
    try {
      n = parseSize(v, flag);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    if (n < minBytes) {
      const least = minBytes <= 1 ? 'larger than 0' : `at least ${sizeText(minBytes)}${why ? ` (${why})` : ''}`;
      throw new InvalidArgumentError(`${flag} must be ${least}`);
    }
    return n;
  };
}

/** A minimum for people: "2 MiB" rather than formatBytes' "2.00 MiB" when it is a whole number of units. */
function sizeText(n: number): string {
  for (const [unit, bytes] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (n % bytes === 0) return `${n / bytes} ${unit}`;
  }
  return formatBytes(n);
}

/** An option whose value is one of `choices`, checked by commander (and listed in --help). */
export function choiceOption(flags: string, description: string, choices: readonly string[]): Option {
  return new Option(flags, description).choices(choices);
}

/** Environment variables that stand for options (shown in --help by commander, listed in docs/cli.md). */
export const ENV = {
  session: 'SEEDSHIP_SESSION',
  staging: 'SEEDSHIP_STAGING',
  connectionString: 'AZURE_STORAGE_CONNECTION_STRING',
} as const;

/** `--session <dir>`, also from $SEEDSHIP_SESSION. */
export function sessionOption(description: string): Option {
  return new Option('--session <dir>', description).env(ENV.session);
}

/** `--staging <dir>`, also from $SEEDSHIP_STAGING. */
export function stagingOption(description: string): Option {
  return new Option('--staging <dir>', description).env(ENV.staging);
}

/** `--connection-string <cs>`, also from $AZURE_STORAGE_CONNECTION_STRING (the Azure SDKs' own name). */
export function connectionStringOption(description: string): Option {
  return new Option('--connection-string <cs>', description).env(ENV.connectionString);
}
