/** node:fs stats as the engine's `FileStat` (one place for node-fs.ts and os-extras.ts). */
import type { BigIntStats } from 'node:fs';
import type { FileStat } from './interfaces.js';

type Typed = {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
};

export function kindOf(s: Typed): FileStat['kind'] {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'dir';
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isFIFO()) return 'fifo';
  if (s.isSocket()) return 'socket';
  if (s.isCharacterDevice()) return 'char';
  return 'block';
}

const NS_PER_MS = 1_000_000n;

/** A FileStat from a bigint stat (exact nanosecond times). */
export function toStat(s: BigIntStats): FileStat {
  return {
    kind: kindOf(s),
    size: Number(s.size),
    mtimeMs: Number(s.mtimeNs / NS_PER_MS) + Number(s.mtimeNs % NS_PER_MS) / 1e6,
    ctimeMs: Number(s.ctimeNs / NS_PER_MS) + Number(s.ctimeNs % NS_PER_MS) / 1e6,
    ino: Number(s.ino),
    dev: Number(s.dev),
    mode: Number(s.mode),
    uid: Number(s.uid),
    gid: Number(s.gid),
    nlink: Number(s.nlink),
    rdev: Number(s.rdev),
    blocks: Number(s.blocks),
    atimeNs: s.atimeNs,
    mtimeNs: s.mtimeNs,
    ctimeNs: s.ctimeNs,
    birthtimeNs: s.birthtimeNs,
  };
}
