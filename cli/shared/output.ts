// What a command prints: its result (human or --json), notices, and errors.
import { SeedshipError } from '../../core/index.js';
import type { CliContext } from './context.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

/** Write the command's result: one JSON object on stdout with --json, else human lines. */
export function printResult(ctx: CliContext, json: boolean, result: unknown, human: () => string): void {
  if (json) ctx.stdout.write(`${JSON.stringify(result)}\n`);
  else ctx.stdout.write(human());
}

/** A warning or notice for the user on stderr (a JSON line with --json), kept in the run log too. */
export function printNotice(
  ctx: CliContext,
  json: boolean,
  level: 'warning' | 'info',
  message: string,
  extra: object = {},
): void {
  if (level === 'warning') ctx.log.warn(message, extra);
  else ctx.log.info(message, extra);
  if (json) ctx.stderr.write(`${JSON.stringify({ type: level, message, ...extra })}\n`);
  else ctx.stderr.write(`seedship: ${level === 'warning' ? 'warning: ' : ''}${message}\n`);
}

/** Print an error the way the user should see it and return the exit code for it. */
export function reportError(ctx: CliContext, err: unknown, opts: { json: boolean; debug: boolean }): number {
  if (err instanceof SeedshipError) {
    if (opts.json) {
      ctx.stderr.write(`${JSON.stringify({ type: 'error', code: err.code, message: err.message, path: err.path })}\n`);
    } else {
      ctx.stderr.write(`seedship: ${err.message}\n`);
      if (opts.debug && err.cause !== undefined) ctx.stderr.write(`cause: ${describeCause(err.cause)}\n`);
    }
    return exitCodeFor(err.code);
  }
  const message = err instanceof Error ? err.message : String(err);
  if (opts.json) {
    ctx.stderr.write(`${JSON.stringify({ type: 'error', code: 'E_INTERNAL', message })}\n`);
  } else {
    ctx.stderr.write(`seedship: unexpected error: ${message}\n`);
    if (opts.debug && err instanceof Error && err.stack) ctx.stderr.write(`${err.stack}\n`);
    else ctx.stderr.write('seedship: this is a bug; rerun with --debug and report the stack.\n');
  }
  return EXIT.UNEXPECTED;
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return String(cause);
}
