/**
 * The error model: one class, a stable string `code` that callers match on, a user-facing
 * one-sentence message, and the original error kept as `cause`. The CLI maps codes to exit codes
 * (cli/shared/exit-codes.ts); docs/errors.md lists every code.
 */
export type ErrorCode =
  | 'E_USAGE' // bad flags or option values
  | 'E_STAGING' // staging missing, not a directory, unreadable
  | 'E_UNSTORABLE' // staged files the session's settings cannot store (page-blob length, block count)
  | 'E_SOURCE_UNREADABLE' // one staged file could not be read (per item)
  | 'E_SOURCE_CHANGED' // one staged file kept changing while being copied (per item)
  | 'E_DRIVE_UNSUITABLE' // drive path missing, read-only, the staging volume, too small
  | 'E_DRIVE_FOREIGN' // drive belongs to another job
  | 'E_NEEDS_DRIVE' // drives given are full and data remains
  | 'E_SESSION_LOCKED' // another prepare holds the session lock
  | 'E_JOURNAL_CORRUPT' // journal header bad or unreadable
  | 'E_INTEGRITY' // a block or chunk does not match its hash, or a manifest is invalid
  | 'E_INTERRUPTED' // SIGINT / SIGTERM
  | 'E_AZURE' // a call to Azure (storage or ARM) failed
  | 'E_INTERNAL'; // a bug

const BRAND = Symbol.for('seedship.error');

/** The one error class of seedship. Match on `code`; `instanceof` works across copies via a brand. */
export class SeedshipError extends Error {
  readonly code: ErrorCode;
  readonly path: string | undefined;
  /** Retrying the same operation will fail again (ENOSPC, EACCES, bad input). */
  readonly permanent: boolean;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, opts: { path?: string; permanent?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SeedshipError';
    this.code = code;
    this.path = opts.path;
    this.permanent = opts.permanent ?? true;
  }

  static [Symbol.hasInstance](x: unknown): boolean {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** A usage error naming the flag and what to do. */
export function usageError(message: string): SeedshipError {
  return new SeedshipError('E_USAGE', message);
}

/** The errno code of a Node system error, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}
