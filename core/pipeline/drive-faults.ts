import { errnoCode } from '../errors/errors.js';

/** Errors that mean the drive itself failed (not staging, not seedship). */
const DRIVE_FAULTS = new Set(['EIO', 'EROFS', 'ENOTCONN', 'ENODEV', 'ENXIO', 'ESTALE', 'EREMOTEIO', 'EUCLEAN']);

/**
 * Whether `err` means the drive failed: an I/O-class error, or (given the drive's root) a path on
 * the drive gone missing under seedship's own hands (a dying drive drops directories it made).
 */
export function isDriveFault(err: unknown, root?: string): boolean {
  const code = errnoCode(err);
  if (code !== undefined && DRIVE_FAULTS.has(code)) return true;
  const raw = (err as { path?: unknown } | undefined)?.path;
  const path =
    typeof raw === 'string' ? raw : raw instanceof Uint8Array ? Buffer.from(raw).toString('utf8') : undefined;
  return code === 'ENOENT' && root !== undefined && path?.startsWith(`${root}/`) === true;
}
