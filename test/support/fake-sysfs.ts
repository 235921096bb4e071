import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { LinuxDriveProbe } from '../../native/drive-probe.js';
import { tempDir } from './tree.js';
import { dirname } from 'node:path';

/**
 * A directory tree laid out like Linux's /sys for block devices, for LinuxDriveProbe's `sysRoot`:
 * `devices/…/block/<disk>[/<partition>]`, `dev/block/MAJ:MIN` and `block/<name>` links, SCSI
 * devices under `bus/scsi/devices/H:C:T:L` with their host in `class/<type>_host/hostH`, dm
 * devices with `dm/uuid` and `slaves/`, loop devices with `loop/backing_file`. Paths and file names
 * are the kernel's (checked against a real /sys); only what seedship reads is made.
 */
export class FakeSysfs {
  readonly root: string;
  readonly #dirs = new Map<string, string>();

  constructor(root: string) {
    this.root = root;
    for (const d of ['dev/block', 'block', 'bus/scsi/devices', 'class/scsi_host', 'devices/virtual/block'])
      mkdirSync(`${root}/${d}`, { recursive: true });
  }

  #device(dir: string, name: string, majMin: string, sizeBytes: number): void {
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/dev`, `${majMin}\n`);
    writeFileSync(`${dir}/size`, `${Math.floor(sizeBytes / 512)}\n`);
    symlinkSync(dir, `${this.root}/dev/block/${majMin}`);
    this.#dirs.set(name, dir);
  }

  /**
   * A SCSI disk on SCSI host `host`, attached by SATA (an ahci host), SAS (a sas_host, mpt3sas) or
   * USB (under a USB controller, usb-storage), with its partitions.
   */
  scsiDisk(
    name: string,
    majMin: string,
    o: {
      host: number;
      via: 'sata' | 'sas' | 'usb';
      sizeBytes: number;
      partitions?: { name: string; majMin: string; sizeBytes: number }[];
    },
  ): void {
    const h = o.host;
    const hctl = `${h}:0:0:0`;
    const parent = {
      sata: `devices/pci0000:00/0000:00:1f.2/ata${h + 1}/host${h}`,
      sas: `devices/pci0000:00/0000:00:03.0/0000:02:00.0/host${h}/port-${h}:0/end_device-${h}:0`,
      usb: `devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host${h}`,
    }[o.via];
    const scsiDev = `${this.root}/${parent}/target${h}:0:0/${hctl}`;
    const disk = `${scsiDev}/block/${name}`;
    this.#device(disk, name, majMin, o.sizeBytes);
    symlinkSync(scsiDev, `${disk}/device`);
    symlinkSync(scsiDev, `${this.root}/bus/scsi/devices/${hctl}`);
    symlinkSync(disk, `${this.root}/block/${name}`);
    mkdirSync(`${this.root}/class/scsi_host/host${h}`, { recursive: true });
    writeFileSync(
      `${this.root}/class/scsi_host/host${h}/proc_name`,
      `${{ sata: 'ahci', sas: 'mpt3sas', usb: 'usb-storage' }[o.via]}\n`,
    );
    if (o.via === 'sas') mkdirSync(`${this.root}/class/sas_host/host${h}`, { recursive: true });
    for (const p of o.partitions ?? []) {
      this.#device(`${disk}/${p.name}`, p.name, p.majMin, p.sizeBytes);
      writeFileSync(`${disk}/${p.name}/partition`, `${p.name.replace(/^\D+/, '')}\n`);
    }
  }

  /** A device-mapper device (`dm/uuid`, e.g. `CRYPT-BITLK-…`) over devices made before. */
  dm(name: string, majMin: string, uuid: string, slaves: string[], sizeBytes: number): void {
    const dir = `${this.root}/devices/virtual/block/${name}`;
    this.#device(dir, name, majMin, sizeBytes);
    mkdirSync(`${dir}/dm`);
    writeFileSync(`${dir}/dm/uuid`, `${uuid}\n`);
    mkdirSync(`${dir}/slaves`);
    for (const s of slaves) symlinkSync(this.#dirs.get(s)!, `${dir}/slaves/${s}`);
    symlinkSync(dir, `${this.root}/block/${name}`);
  }

  /** A loop device whose backing file is `file`. */
  loop(name: string, majMin: string, file: string, sizeBytes: number): void {
    const dir = `${this.root}/devices/virtual/block/${name}`;
    this.#device(dir, name, majMin, sizeBytes);
    mkdirSync(`${dir}/loop`);
    writeFileSync(`${dir}/loop/backing_file`, `${file}\n`);
    symlinkSync(dir, `${this.root}/block/${name}`);
  }
}

/** One /proc/self/mountinfo line (mount points escaped as the kernel does). */
export function mountLine(id: number, majMin: string, mountPoint: string, fsType: string, source: string): string {
  const esc = (s: string) => s.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return `${id} 1 ${majMin} / ${esc(mountPoint)} rw,relatime shared:${id} - ${fsType} ${esc(source)} rw`;
}

/** A file standing in for a volume's device: its first sector carries `oemId` (`NTFS    ` for NTFS). */
export function fakeVolumeDevice(path: string, oemId: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const b = Buffer.alloc(512);
  b.write(oemId.padEnd(8, ' '), 3, 'latin1');
  writeFileSync(path, b);
}

/** A faked machine: /sys under `<dir>/sys`, a mountinfo file, mount points as real directories. */
export interface FakeMachine {
  readonly dir: string;
  readonly sys: FakeSysfs;
  /** Add a mount of `majMin` at `at` (created); returns `at`. */
  mount(majMin: string, at: string, fsType: string, source: string): string;
  /** A probe over this machine (mountinfo as mounted so far). */
  probe(): LinuxDriveProbe;
  cleanup(): void;
}

export function fakeMachine(): FakeMachine {
  const t = tempDir('seedship-svc-');
  const dir = realpathSync(t.dir);
  const sys = new FakeSysfs(`${dir}/sys`);
  const lines = [mountLine(1, '0:20', '/', 'ext4', '/dev/vda')];
  return {
    dir,
    sys,
    cleanup: t.cleanup,
    mount(majMin, at, fsType, source) {
      mkdirSync(at, { recursive: true });
      lines.push(mountLine(lines.length + 1, majMin, at, fsType, source));
      return at;
    },
    probe() {
      writeFileSync(`${dir}/mountinfo`, `${lines.join('\n')}\n`);
      return new LinuxDriveProbe({ sysRoot: sys.root, mountinfo: `${dir}/mountinfo` });
    },
  };
}

/**
 * An empty NTFS drive as a Linux copy computer sees a BitLocker disk opened with
 * `cryptsetup open --type bitlk` and mounted with ntfs-3g: SCSI disk `name` (host `host`, attached
 * `via`) → partition 1 → dm-crypt BITLK mapping `dm-<n>` → fuseblk mount at `<dir>/mnt/<name>`.
 */
export function fakeBitLockerDrive(m: FakeMachine, n: number, via: 'sata' | 'sas' | 'usb', sizeBytes = 2e12): string {
  const name = `sd${String.fromCharCode(98 + n)}`;
  if (n > 14) throw new Error('fakeBitLockerDrive numbers sdb..sdp (major 8) only');
  const major = 8;
  const minor = (n + 1) * 16; // sdb is 8:16, sdc 8:32…
  m.sys.scsiDisk(name, `${major}:${minor}`, {
    host: n + 1,
    via,
    sizeBytes,
    partitions: [{ name: `${name}1`, majMin: `${major}:${minor + 1}`, sizeBytes: sizeBytes - 1e6 }],
  });
  m.sys.dm(
    `dm-${n}`,
    `253:${n}`,
    `CRYPT-BITLK-${String(n).padStart(8, '0')}-0000-4000-8000-000000000000-bitlk-${name}`,
    [`${name}1`],
    sizeBytes - 2e6,
  );
  fakeVolumeDevice(`${m.dir}/dev/dm-${n}`, 'NTFS');
  return m.mount(`253:${n}`, `${m.dir}/mnt/${name}`, 'fuseblk', `${m.dir}/dev/dm-${n}`);
}
