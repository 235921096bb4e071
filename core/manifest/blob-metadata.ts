/**
 * POSIX metadata of a staged entry and the blob metadata it becomes. The keys and value formats
 * are the ones AzCopy 10 writes with `--preserve-posix-properties` (and `--preserve-symlinks`), so
 * AzCopy and seedship read each other's blobs (docs/azcopy-posix.md); seedship adds only its own
 * `seedship_*` keys. Pure functions: no I/O.
 */
import type { EntryKind, FileStat } from '../../native/interfaces.js';
import { SeedshipError } from '../errors/errors.js';
import { xmlEscape } from '../util/xml.js';

/** What a restore needs to recreate an entry exactly, taken from lstat when it was staged. */
export interface PosixMeta {
  readonly kind: EntryKind;
  /** Full st_mode (type and permission bits, setuid/setgid/sticky included). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly nlink: number;
  readonly ino: number;
  readonly dev: number;
  readonly rdev: number;
  readonly atimeNs: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  /** Birth time, where the file system keeps one (statx); 0 where it does not. */
  readonly btimeNs: bigint;
}

/** The metadata of an entry, from its lstat. */
export function posixMetaOf(st: FileStat): PosixMeta {
  return {
    kind: st.kind,
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    nlink: st.nlink,
    ino: st.ino,
    dev: st.dev,
    rdev: st.rdev,
    atimeNs: st.atimeNs,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    btimeNs: st.birthtimeNs,
  };
}

/** PosixMeta as the journal's JSON records carry it (times as decimal nanosecond strings). */
export interface PosixMetaJson {
  readonly k: EntryKind;
  readonly m: number;
  readonly u: number;
  readonly g: number;
  readonly n: number;
  readonly i: number;
  readonly d: number;
  readonly r: number;
  readonly a: string;
  readonly t: string;
  readonly c: string;
  readonly b?: string;
}

export function metaToJson(m: PosixMeta): PosixMetaJson {
  return {
    k: m.kind,
    m: m.mode,
    u: m.uid,
    g: m.gid,
    n: m.nlink,
    i: m.ino,
    d: m.dev,
    r: m.rdev,
    a: String(m.atimeNs),
    t: String(m.mtimeNs),
    c: String(m.ctimeNs),
    ...(m.btimeNs !== 0n ? { b: String(m.btimeNs) } : {}),
  };
}

export function metaFromJson(j: PosixMetaJson): PosixMeta {
  return {
    kind: j.k,
    mode: j.m,
    uid: j.u,
    gid: j.g,
    nlink: j.n,
    ino: j.i,
    dev: j.d,
    rdev: j.r,
    atimeNs: BigInt(j.a),
    mtimeNs: BigInt(j.t),
    ctimeNs: BigInt(j.c),
    btimeNs: j.b !== undefined ? BigInt(j.b) : 0n,
  };
}

/** AzCopy's POSIX metadata keys (its `common/unixStatAdapter.go`). */
export const POSIX_KEYS = {
  mode: 'permissions',
  mtime: 'modtime',
  atime: 'posix_atime',
  ctime: 'posix_ctime',
  owner: 'posix_owner',
  group: 'posix_group',
  ino: 'posix_ino',
  nlink: 'posix_nlink',
  dev: 'posix_dev',
  rdev: 'posix_rdev',
  btime: 'linux_btime',
  folder: 'hdi_isfolder',
  symlink: 'is_symlink',
  fifo: 'is_fifo',
  socket: 'is_socket',
  char: 'is_char_dev',
  block: 'is_block_dev',
} as const;

/**
 * seedship's own keys: how the blob was stored, and the staged name's bytes where the blob name could not carry them.
 */
export const SEEDSHIP_KEYS = {
  /** `zstd` when the blob is zstd frames (its name then ends in `.zst`). */
  codec: 'seedship_codec',
  /** base64 of the staged path's bytes, when the blob name is an escaped one. */
  name: 'seedship_name',
} as const;

/**
 * The type flags AzCopy sets, each when `(st_mode & S_IFxxx) == S_IFxxx` — which is how it tests
 * them, so a symlink also gets `is_char_dev`, a block device `hdi_isfolder` and `is_char_dev`, a
 * socket `hdi_isfolder` (docs/azcopy-posix.md). seedship writes the same; readers go by the type
 * bits of `permissions` first.
 */
const TYPE_FLAGS: readonly (readonly [number, string])[] = [
  [0o040000, POSIX_KEYS.folder],
  [0o120000, POSIX_KEYS.symlink],
  [0o020000, POSIX_KEYS.char],
  [0o060000, POSIX_KEYS.block],
  [0o010000, POSIX_KEYS.fifo],
  [0o140000, POSIX_KEYS.socket],
];

/**
 * The blob metadata of an entry: AzCopy's POSIX keys with its values for the same lstat, and
 * seedship's keys. (AzCopy also writes statx's `linux_statx_mask`, `linux_attribute` and
 * `linux_attribute_mask`, which Node does not report, and `posix_atime`, which is the moment of
 * the copy's own read: a resumed run would record another than an uninterrupted one, and the
 * drives must not depend on it, invariant 2, docs/invariants.md.) Ordered, so the metadata file written for it has
 * the same bytes every time.
 */
export function blobMetadataOf(
  m: PosixMeta,
  opts: { codec: 'zstd' | 'none'; rawName?: Uint8Array | undefined },
): Record<string, string> {
  const md: Record<string, string> = {};
  const type = m.mode & 0o170000;
  for (const [bits, key] of TYPE_FLAGS) if ((type & bits) === bits) md[key] = 'true';
  md[POSIX_KEYS.mode] = String(m.mode);
  md[POSIX_KEYS.mtime] = String(m.mtimeNs);
  md[POSIX_KEYS.ctime] = String(m.ctimeNs);
  if (m.btimeNs !== 0n) md[POSIX_KEYS.btime] = String(m.btimeNs);
  md[POSIX_KEYS.owner] = String(m.uid);
  md[POSIX_KEYS.group] = String(m.gid);
  md[POSIX_KEYS.ino] = String(m.ino);
  md[POSIX_KEYS.nlink] = String(m.nlink);
  md[POSIX_KEYS.dev] = String(m.dev);
  if (md[POSIX_KEYS.char] || md[POSIX_KEYS.block]) md[POSIX_KEYS.rdev] = String(m.rdev);
  if (opts.codec === 'zstd') md[SEEDSHIP_KEYS.codec] = 'zstd';
  if (opts.rawName) md[SEEDSHIP_KEYS.name] = Buffer.from(opts.rawName).toString('base64');
  return md;
}

const KIND_FLAG: Partial<Record<EntryKind, string>> = {
  dir: POSIX_KEYS.folder,
  symlink: POSIX_KEYS.symlink,
  fifo: POSIX_KEYS.fifo,
  socket: POSIX_KEYS.socket,
  char: POSIX_KEYS.char,
  block: POSIX_KEYS.block,
};

const S_IFMT = 0o170000;
const TYPE_BITS: Record<EntryKind, number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  fifo: 0o010000,
  socket: 0o140000,
  char: 0o020000,
  block: 0o060000,
};

/**
 * The kind a blob's metadata says it is: the type bits of `permissions`, else the flags (AzCopy's overlap: symlink
 * before char device).
 */
export function kindOfBlobMetadata(md: Readonly<Record<string, string>>): EntryKind {
  const lower = lowerKeys(md);
  const mode = Number(lower[POSIX_KEYS.mode]);
  if (Number.isSafeInteger(mode))
    for (const [kind, bits] of Object.entries(TYPE_BITS) as [EntryKind, number][])
      if ((mode & S_IFMT) === bits) return kind;
  for (const kind of ['symlink', 'socket', 'block', 'dir', 'char', 'fifo'] as const)
    if (lower[KIND_FLAG[kind]!] === 'true') return kind;
  return 'file';
}

/** Azure returns metadata keys in the case they were set in; compare without case. */
function lowerKeys(md: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md)) out[k.toLowerCase()] = v;
  return out;
}

function int(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

function ns(v: string | undefined): bigint | undefined {
  return v !== undefined && /^-?\d+$/.test(v) ? BigInt(v) : undefined;
}

/**
 * What a restore knows of an entry (from the journal or from a blob's metadata); undefined where nothing usable is
 * known.
 */
export interface RestoreMeta {
  readonly kind: EntryKind;
  readonly mode: number | undefined;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  readonly nlink: number | undefined;
  readonly ino: number | undefined;
  readonly dev: number | undefined;
  readonly rdev: number | undefined;
  readonly atimeNs: bigint | undefined;
  readonly mtimeNs: bigint | undefined;
}

/** What a blob's metadata says of the entry, with how it is stored. */
export interface BlobPosix extends RestoreMeta {
  readonly codec: 'zstd' | 'none';
  /** The staged path's bytes, when the blob name is an escaped one. */
  readonly rawName: Buffer | undefined;
}

/** Read the POSIX keys (and seedship's) back from a blob's metadata. */
export function blobPosixOf(md: Readonly<Record<string, string>>): BlobPosix {
  const l = lowerKeys(md);
  const name = l[SEEDSHIP_KEYS.name];
  return {
    kind: kindOfBlobMetadata(l),
    mode: int(l[POSIX_KEYS.mode]),
    uid: int(l[POSIX_KEYS.owner]),
    gid: int(l[POSIX_KEYS.group]),
    nlink: int(l[POSIX_KEYS.nlink]),
    ino: int(l[POSIX_KEYS.ino]),
    dev: int(l[POSIX_KEYS.dev]),
    rdev: int(l[POSIX_KEYS.rdev]),
    atimeNs: ns(l[POSIX_KEYS.atime]),
    mtimeNs: ns(l[POSIX_KEYS.mtime]),
    codec: l[SEEDSHIP_KEYS.codec] === 'zstd' ? 'zstd' : 'none',
    rawName: name !== undefined ? Buffer.from(name, 'base64') : undefined,
  };
}

/**
 * The metadata file the service reads for a blob (spec §1.6): `<Metadata><key>value</key>…</Metadata>`.
 * CRLF like the manifest; the same metadata always gives the same bytes (its MD5 is in the manifest).
 */
export function formatMetadataFile(md: Readonly<Record<string, string>>): string {
  let s = '<?xml version="1.0" encoding="UTF-8"?>\r\n<Metadata>\r\n';
  for (const [k, v] of Object.entries(md)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
      throw new SeedshipError('E_INTERNAL', `metadata key ${JSON.stringify(k)} is not a valid name`);
    s += `  <${k}>${xmlEscape(v)}</${k}>\r\n`;
  }
  return `${s}</Metadata>\r\n`;
}

/** Upper bound of a metadata file's size and of the manifest element naming it. */
export const METADATA_FILE_MAX_BYTES = 4096;
