// `seedship drives`: list mounted volumes and whether each can be an import drive.
import type { Command } from 'commander';
import { driveUnsuitability, formatBytes, type VolumeInfo } from '../../core/index.js';
import type { CliContext } from '../shared/context.js';
import { EXIT } from '../shared/exit-codes.js';
import { printResult } from '../shared/output.js';
import type { SetExit } from '../shared/types.js';

export function registerDrives(program: Command, ctx: CliContext, setExit: SetExit): void {
  program
    .command('drives')
    .description(
      'list mounted volumes: size, free space, file system, serial, and why one is unsuitable as an import drive',
    )
    .option('--staging <dir>', 'mark the volume holding this staging directory')
    .option('--json', 'the result as one JSON object on stdout')
    .action(async (flags: { json?: boolean; staging?: string }) => {
      const vols = await ctx.deps.drives.listVolumes();
      const stagingMount = flags.staging ? (await ctx.deps.drives.volumeOf(flags.staging)).mountPoint : undefined;
      const rows = vols.map((v) => ({ ...v, unsuitable: driveUnsuitability(v, { stagingMount }) }));
      printResult(ctx, flags.json === true, { volumes: rows }, () => table(rows));
      setExit(EXIT.OK);
    });
}

function table(rows: (VolumeInfo & { unsuitable: string[] })[]): string {
  const head = ['MOUNT', 'DEVICE', 'FS', 'SIZE', 'FREE', 'SERIAL', 'KIND', 'SUITABLE'];
  const body = rows.map((r) => [
    r.mountPoint,
    r.device,
    r.fsType,
    formatBytes(r.totalBytes),
    formatBytes(r.freeBytes),
    r.serial ?? '-',
    r.rotational === undefined ? '-' : r.rotational ? 'HDD' : 'SSD',
    r.unsuitable.length ? `no: ${r.unsuitable.join('; ')}` : 'yes',
  ]);
  const widths = head.map((h, i) => Math.min(40, Math.max(h.length, ...body.map((b) => b[i]!.length))));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return `${[line(head), ...body.map(line)].join('\n')}\n`;
}
