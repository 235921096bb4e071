/** What sysfs and the udev database tell about the disk behind a block device (serial, model, bus…). */
import { readFile, realpath } from 'node:fs/promises';

/** What sysfs and udev tell about the disk behind a block device. */
export interface DiskFacts {
  readonly serial: string | undefined;
  readonly rotational: boolean | undefined;
  readonly removable: boolean | undefined;
  readonly model: string | undefined;
  readonly bus: string | undefined;
}

async function text(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'latin1')).trim();
  } catch {
    return undefined;
  }
}

/** Parse a udev database entry (`/run/udev/data/b8:0`): the `E:KEY=value` lines. */
export function parseUdevData(data: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of data.split('\n')) {
    const x = /^E:([^=]+)=(.*)$/.exec(line.trim());
    if (x) m.set(x[1]!, x[2]!);
  }
  return m;
}

/** A serial as the service wants a drive id: printable ASCII, no spaces; undefined if none. */
export function cleanSerial(s: string | undefined): string | undefined {
  const c = s?.replace(/[^\x21-\x7e]/g, '');
  return c ? c : undefined;
}

/**
 * Facts of the disk behind block device `majorMinor`, from `sysRoot` (default `/sys`) and
 * `udevRoot` (default `/run/udev/data`). A partition is resolved to its parent disk.
 */
export async function diskFacts(majorMinor: string, sysRoot = '/sys', udevRoot = '/run/udev/data'): Promise<DiskFacts> {
  let dev: string;
  try {
    dev = await realpath(`${sysRoot}/dev/block/${majorMinor}`);
  } catch {
    return { serial: undefined, rotational: undefined, removable: undefined, model: undefined, bus: undefined };
  }
  // A partition's directory has a `partition` file and sits inside its disk's directory.
  const disk = (await text(`${dev}/partition`)) !== undefined ? dev.slice(0, dev.lastIndexOf('/')) : dev;
  const diskMajMin = (await text(`${disk}/dev`)) ?? majorMinor;
  const udev = parseUdevData((await text(`${udevRoot}/b${diskMajMin}`)) ?? '');
  const vpd = await text(`${disk}/device/vpd_pg80`);
  const serial = cleanSerial(
    udev.get('ID_SERIAL_SHORT') ??
      (await text(`${disk}/device/serial`)) ??
      (await text(`${disk}/serial`)) ??
      (vpd && vpd.length > 4 ? vpd.slice(4) : undefined),
  );
  const rot = await text(`${disk}/queue/rotational`);
  const rem = await text(`${disk}/removable`);
  return {
    serial,
    rotational: rot === undefined ? undefined : rot === '1',
    removable: rem === undefined ? undefined : rem === '1',
    model: (await text(`${disk}/device/model`)) ?? udev.get('ID_MODEL'),
    bus: udev.get('ID_BUS') ?? (disk.includes('/usb') ? 'usb' : disk.includes('/nvme') ? 'nvme' : undefined),
  };
}
