/** Why a mounted volume should not be an import drive (virtual file system, USB, staging or system volume). */
import type { VolumeInfo } from '../../native/interfaces.js';

/** File systems that live in memory or over other file systems: fine for tests, never shipped. */
const VIRTUAL_FS = new Set([
  'tmpfs',
  'ramfs',
  'overlay',
  'squashfs',
  'nfs',
  'nfs4',
  'cifs',
  'smb3',
  '9p',
  'virtiofs',
  'fuse.sshfs',
]);

/**
 * Why a mounted volume should not be an import drive, or an empty list when it can be. The service
 * takes internal SATA HDDs and SSDs (not USB sticks, not disks in USB enclosures), processes only
 * the first NTFS volume, and the staging or system volume must never be written to.
 */
export function driveUnsuitability(
  v: VolumeInfo,
  ctx: { stagingMount?: string | undefined; systemMount?: string } = {},
): string[] {
  const out: string[] = [];
  if (v.mountPoint === (ctx.systemMount ?? '/')) out.push('system volume');
  if (ctx.stagingMount !== undefined && v.mountPoint === ctx.stagingMount) out.push('the staging volume');
  if (v.readOnly) out.push('read-only');
  if (VIRTUAL_FS.has(v.fsType)) out.push(`not a fixed disk (${v.fsType}): fine for tests, not for shipping`);
  else if (v.device.startsWith('/dev/loop'))
    out.push('not a fixed disk (loop device): fine for tests, not for shipping');
  else if (v.bus === 'usb' || v.removable === true)
    out.push('not a fixed disk (removable or USB): the service takes internal SATA drives only');
  if (v.fsType !== 'ntfs' && v.fsType !== 'ntfs3' && v.fsType !== 'fuseblk' && !VIRTUAL_FS.has(v.fsType)) {
    out.push(`file system ${v.fsType}: the service reads only NTFS (format it NTFS, BitLocker-encrypt it on Windows)`);
  }
  return out;
}
