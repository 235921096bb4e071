// The exit codes of seedship and the error code each maps to.
import type { ErrorCode } from '../../core/index.js';

/** The fixed table of exit codes; also in docs/errors.md, README.md and `--help`. */
export const EXIT = {
  OK: 0,
  UNEXPECTED: 1,
  USAGE: 2,
  SKIPPED: 3,
  NEEDS_DRIVE: 4,
  LOCKED: 5,
  INTEGRITY: 6,
  INTERRUPTED: 130,
} as const;

export const EXIT_CODE_HELP = `Exit codes:
  0    done
  1    unexpected error (a bug; rerun with --debug for the stack)
  2    usage or configuration error; a drive that cannot be used (check: the service cannot import it)
  3    done, but some staged entries were skipped (listed)
  4    needs another drive: what fits is sealed; run again with another --drive
  5    session locked by another running prepare
  6    integrity failure (hash mismatch, corrupt journal or manifest)
  130  interrupted`;

/** Map an error code to the process exit code. */
export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'E_USAGE':
    case 'E_STAGING':
    case 'E_UNSTORABLE':
    case 'E_DRIVE_UNSUITABLE':
    case 'E_DRIVE_FOREIGN':
      return EXIT.USAGE;
    case 'E_SOURCE_UNREADABLE':
    case 'E_SOURCE_CHANGED':
      return EXIT.SKIPPED;
    case 'E_NEEDS_DRIVE':
      return EXIT.NEEDS_DRIVE;
    case 'E_SESSION_LOCKED':
      return EXIT.LOCKED;
    case 'E_JOURNAL_CORRUPT':
    case 'E_INTEGRITY':
      return EXIT.INTEGRITY;
    case 'E_INTERRUPTED':
      return EXIT.INTERRUPTED;
    case 'E_AZURE':
    case 'E_INTERNAL':
      return EXIT.UNEXPECTED;
  }
}
