import { InvalidArgumentError } from 'commander';
import { parseSize } from '../core/index.js';

/** Repeatable option collector. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function intOption(flag: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${flag} takes a whole number from ${min} to ${max}`);
    return n;
  };
}

export function sizeOption(flag: string): (v: string) => number {
  return (v: string) => {
    try {
      return parseSize(v, flag);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

export function choiceOption<T extends string>(flag: string, choices: readonly T[]): (v: string) => T {
  return (v: string) => {
    if (!(choices as readonly string[]).includes(v)) throw new InvalidArgumentError(`${flag} takes one of: ${choices.join(', ')}`);
    return v as T;
  };
}
