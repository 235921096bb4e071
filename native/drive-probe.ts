/** The DriveProbe of Linux: mounted volumes and the storage under a path, from df, mountinfo, statfs and sysfs. */
import { readFile, realpath, statfs } from 'node:fs/promises';
import { getDiskInfo } from 'node-disk-info';
import type { DriveProbe, StorageFacts, VolumeInfo } from './interfaces.js';
import { mountOf, parseMountInfo, PSEUDO_FS, type MountEntry } from './mountinfo.js';
import { diskFacts } from './sysfs.js';
import { storageFacts } from './storage-facts.js';
import { SeedshipError } from '../core/errors/errors.js';

/**
 * Mounted volumes on Linux: node-disk-info (df) for the list, /proc/self/mountinfo for file system,
 * device and read-only flag, statfs for exact sizes, and sysfs/udev for the disk's serial,
 * rotational and removable flags. `volumeOf` needs only mountinfo, statfs and sysfs.
 */
export class LinuxDriveProbe implements DriveProbe {
  readonly #mountinfo: string;
  readonly #sysRoot: string;
  readonly #udevRoot: string;

  constructor(opts: { mountinfo?: string; sysRoot?: string; udevRoot?: string } = {}) {
    this.#mountinfo = opts.mountinfo ?? '/proc/self/mountinfo';
    this.#sysRoot = opts.sysRoot ?? '/sys';
    this.#udevRoot = opts.udevRoot ?? '/run/udev/data';
  }

  async #mounts(): Promise<MountEntry[]> {
    return parseMountInfo(await readFile(this.#mountinfo, 'utf8'));
  }

  async listVolumes(): Promise<VolumeInfo[]> {
    const mounts = await this.#mounts();
    let dfMounts: Set<string> | undefined;
    try {
      dfMounts = new Set((await getDiskInfo()).map((d) => d.mounted));
    } catch {
      dfMounts = undefined; // df missing or failing: mountinfo alone still lists the volumes
    }
    const seen = new Set<string>();
    const out: VolumeInfo[] = [];
    for (const m of mounts) {
      if (PSEUDO_FS.has(m.fsType) || seen.has(m.mountPoint)) continue;
      if (dfMounts && !dfMounts.has(m.mountPoint)) continue;
      seen.add(m.mountPoint);
      const v = await this.#volume(m).catch(() => undefined);
      if (v) out.push(v);
    }
    return out;
  }

  async volumeOf(path: string): Promise<VolumeInfo> {
    const real = await realpath(path);
    const m = mountOf(await this.#mounts(), real);
    if (!m) throw noMount(real);
    return this.#volume(m);
  }

  async storageOf(path: string): Promise<StorageFacts> {
    const real = await realpath(path);
    const mounts = await this.#mounts();
    const m = mountOf(mounts, real);
    if (!m) throw noMount(real);
    return storageFacts(m, mounts, real, this.#sysRoot);
  }

  async #volume(m: MountEntry): Promise<VolumeInfo> {
    const s = await statfs(m.mountPoint);
    const blockDevice = !m.majorMinor.startsWith('0:');
    const facts = blockDevice ? await diskFacts(m.majorMinor, this.#sysRoot, this.#udevRoot) : undefined;
    return {
      mountPoint: m.mountPoint,
      device: m.source,
      fsType: m.fsType,
      totalBytes: s.blocks * s.bsize,
      freeBytes: s.bavail * s.bsize,
      readOnly: m.readOnly,
      serial: facts?.serial,
      rotational: facts?.rotational,
      removable: facts?.removable,
      model: facts?.model,
      bus: facts?.bus,
    };
  }
}

/**
 * The mount table names no mount holding `path` (a broken /proc/self/mountinfo, a path outside this
 * mount namespace).
 */
function noMount(path: string): SeedshipError {
  return new SeedshipError('E_DRIVE_UNSUITABLE', `no mount holds ${path}`, { path });
}
