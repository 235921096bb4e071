/** The stack of block devices under a mounted volume (partition, dm, md, loop, disk), read from sysfs. */
import { readdir, readFile, readlink, realpath, stat } from 'node:fs/promises';
import type { BlockLayer } from './interfaces.js';

/** Device-mapper and md stacks are a few layers deep; a loop in a (faked) tree must not hang us. */
const MAX_DEPTH = 16;

async function text(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'latin1')).trim();
  } catch {
    return undefined;
  }
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function sizeOf(dev: string): Promise<number | undefined> {
  const sectors = Number(await text(`${dev}/size`));
  return Number.isFinite(sectors) && sectors > 0 ? sectors * 512 : undefined;
}

/**
 * How disk `dev` (its real sysfs directory, named `name`) is attached, in the order and with the
 * names of lsblk's TRAN column (util-linux misc-utils/lsblk.c get_transport, lib/sysfs.c): the
 * SCSI host of the disk's H:C:T:L decides (spi, fc, sas, sbp, iscsi), then `usb` anywhere in the
 * SCSI device's sysfs path, then the host driver's proc_name (ahci/sata… → sata, …ata… → ata); an
 * `nvme…` name is nvme. Beyond lsblk: a non-SCSI disk under a USB controller is usb, `vd…` virtio,
 * `mmcblk…` mmc.
 */
export async function transportOf(sysRoot: string, dev: string, name: string): Promise<string | undefined> {
  let hctl: string | undefined;
  try {
    const link = await readlink(`${dev}/device`);
    hctl = /^\d+:\d+:\d+:\d+$/.exec(link.slice(link.lastIndexOf('/') + 1))?.[0];
  } catch {
    hctl = undefined;
  }
  if (hctl) {
    const host = hctl.split(':')[0]!;
    const hostDir = (type: string) => `${sysRoot}/class/${type}_host/host${host}`;
    const scsiDev = `${sysRoot}/bus/scsi/devices/${hctl}`;
    if (await isDir(hostDir('spi'))) return 'spi';
    if (await isDir(hostDir('fc'))) {
      return (await text(`${hostDir('fc')}/symbolic_name`))?.includes(' over ') ? 'fcoe' : 'fc';
    }
    if ((await isDir(hostDir('sas'))) || (await exists(`${scsiDev}/sas_device`))) return 'sas';
    if (await exists(`${scsiDev}/ieee1394_id`)) return 'sbp';
    if (await isDir(hostDir('iscsi'))) return 'iscsi';
    const scsiPath = await readlink(scsiDev).catch(() => '');
    if (scsiPath.includes('usb')) return 'usb';
    if (await isDir(hostDir('scsi'))) {
      const proc = await text(`${hostDir('scsi')}/proc_name`);
      if (proc?.startsWith('ahci') || proc?.startsWith('sata')) return 'sata';
      if (proc?.includes('ata')) return 'ata';
    }
  } else if (name.startsWith('nvme')) {
    return 'nvme';
  }
  if (dev.includes('/usb')) return 'usb';
  if (name.startsWith('vd')) return 'virtio';
  if (name.startsWith('mmcblk')) return 'mmc';
  return undefined;
}

/**
 * The block devices under `majorMinor`, top-down, from `sysRoot` (`/sys`): a partition leads to
 * its disk (the directory it sits in), a dm or md device to its `slaves/`, a loop device ends the
 * walk (its `backing_file` is reported). Empty when sysfs does not know the device.
 */
export async function blockLayers(sysRoot: string, majorMinor: string): Promise<BlockLayer[]> {
  const out: BlockLayer[] = [];
  const seen = new Set<string>();
  const visit = async (dev: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH || seen.has(dev)) return;
    seen.add(dev);
    const name = dev.slice(dev.lastIndexOf('/') + 1);
    const sizeBytes = await sizeOf(dev);
    if ((await text(`${dev}/partition`)) !== undefined) {
      out.push({ name, kind: 'partition', sizeBytes });
      await visit(dev.slice(0, dev.lastIndexOf('/')), depth + 1);
      return;
    }
    const dmUuid = await text(`${dev}/dm/uuid`);
    const backingFile = await text(`${dev}/loop/backing_file`);
    let kind: BlockLayer['kind'] = 'disk';
    if (dmUuid !== undefined || (await isDir(`${dev}/dm`))) kind = 'dm';
    else if (backingFile !== undefined || name.startsWith('loop')) kind = 'loop';
    else if (await isDir(`${dev}/md`)) kind = 'md';
    const slaves = kind === 'loop' ? [] : await readdir(`${dev}/slaves`).catch(() => [] as string[]);
    if (kind === 'disk' && slaves.length > 0) {
      out.push({ name, kind: 'other', sizeBytes });
    } else if (kind === 'disk') {
      out.push({ name, kind, sizeBytes, transport: await transportOf(sysRoot, dev, name) });
    } else {
      const extra = kind === 'dm' ? { dmUuid } : kind === 'loop' ? { backingFile } : {};
      out.push({ name, kind, sizeBytes, ...extra });
    }
    for (const s of slaves.sort()) {
      const real = await realpath(`${dev}/slaves/${s}`).catch(() => undefined);
      if (real) await visit(real, depth + 1);
    }
  };
  const top = await realpath(`${sysRoot}/dev/block/${majorMinor}`).catch(() => undefined);
  if (top) await visit(top, 0);
  return out;
}
