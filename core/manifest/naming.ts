/**
 * Names, three ways. The blob name is the user's: every staged name that is a valid blob name
 * lands in the account exactly, and one that is not gets a deterministic escaped name (the
 * original bytes travel in the blob's metadata). The drive name is seedship's: a name NTFS and
 * Windows keep apart, picked deterministically from the directory's listing. Container and job
 * names are checked. Pure functions: no I/O.
 */
import { createHash } from 'node:crypto';
import type { Codec } from '../../native/interfaces.js';
import { encodeBytes, hasEscapedBytes } from '../../native/raw-names.js';

/** Blob names: 1–1,024 characters (the service counts characters of the name). */
export const MAX_BLOB_NAME_CHARS = 1024;
/** Blob names: at most 254 path segments. */
export const MAX_BLOB_SEGMENTS = 254;
/** NTFS: one path component is at most 255 UTF-16 code units. */
export const MAX_NTFS_COMPONENT_UNITS = 255;
/** Windows: a path is at most 32,767 UTF-16 code units (with the \\?\ prefix). */
export const MAX_WINDOWS_PATH_UNITS = 32_767;

const RESERVED_DEVICE = /^(CON|PRN|AUX|NUL|COM[1-9¹²³]|LPT[1-9¹²³])(\..*)?$/i;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point (NTFS refuses them)
const CONTROL = /[\u0000-\u001f\u007f]/;
const WINDOWS_FORBIDDEN = /[<>:"|?*\\]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a container name is refused, or undefined: 3–63 lowercase letters, digits, single hyphens; or `$root`. */
export function checkContainerName(name: string): string | undefined {
  if (name === '$root') return undefined;
  if (name.length < 3 || name.length > 63)
    return `container names are 3 to 63 characters long (this one has ${name.length})`;
  if (!/^[a-z0-9-]+$/.test(name)) return 'container names hold only lowercase letters, digits and hyphens';
  if (!/^[a-z0-9]/.test(name)) return 'container names start with a letter or a digit';
  if (name.endsWith('-')) return 'container names do not end with a hyphen';
  if (name.includes('--')) return 'container names have no two hyphens in a row';
  return undefined;
}

/**
 * Why a job name is refused, or undefined. The classic portal's rule: lowercase letters, digits,
 * hyphens and underscores, starting with a letter; 3–64 characters here. The exact ARM regex is
 * UNCONFIRMED (spec §4.3); this is the stricter documented one.
 */
export function checkJobName(name: string): string | undefined {
  if (name.length < 3 || name.length > 64) return `job names are 3 to 64 characters long (this one has ${name.length})`;
  if (!/^[a-z]/.test(name)) return 'job names start with a lowercase letter';
  if (!/^[a-z0-9_-]+$/.test(name)) return 'job names hold only lowercase letters, digits, hyphens and underscores';
  return undefined;
}

/** A staged path's blob name (without container), and whether it had to be escaped. */
export interface BlobName {
  readonly name: string;
  readonly escaped: boolean;
}

/** Why `name` (container-relative, suffix included) cannot be a blob name as it stands, or undefined. */
export function blobNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (hasEscapedBytes(name)) return 'the name is not valid UTF-8';
  if (CONTROL.test(name)) return 'the name holds a control character';
  // The service (and AzCopy) read a backslash in a blob name as a '/'.
  if (name.includes('\\')) return 'the name holds a backslash, which the service reads as "/"';
  if ([...name].length > MAX_BLOB_NAME_CHARS) return `blob names are at most ${MAX_BLOB_NAME_CHARS} characters`;
  const segments = name.split('/');
  if (segments.length > MAX_BLOB_SEGMENTS) return `blob names have at most ${MAX_BLOB_SEGMENTS} path segments`;
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return 'the name has an empty, "." or ".." segment';
  return undefined;
}

/** Short stable hash of raw name bytes, for escaped and mapped names. */
function nameHash(bytes: Uint8Array, hexChars: number): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, hexChars);
}

/** Prefix of the blob names of staged paths too long or too deep to keep their shape. */
export const ESCAPED_BLOB_PREFIX = 'seedship-escaped/';

/** The suffix of every blob name under `codec`: '.zst' for zstd frames, none for plain data (docs/formats.md). */
export function blobSuffix(codec: Codec): string {
  return codec === 'zstd' ? ZST_SUFFIX : '';
}

/** `name` without the zstd suffix when it has one. */
export function stripZstSuffix(name: string): string {
  return name.endsWith(ZST_SUFFIX) ? name.slice(0, -ZST_SUFFIX.length) : name;
}

/** The suffix zstd blobs carry. */
export const ZST_SUFFIX = '.zst';

/**
 * The blob name of staged path `rel` with `suffix` (`.zst` for compressed files). A valid name is
 * kept exactly. A backslash becomes `/`, as AzCopy names the same file, where that gives a valid
 * name. Otherwise each segment holding a byte that is not UTF-8, a control character or a
 * backslash becomes readable (`%XX` for those and for `%`) and ends in `~` and a hash of the path's
 * bytes, so it cannot meet a real name; a path still too long or deep becomes
 * `seedship-escaped/<hash>`. Deterministic: a resumed run, `sync` and restore agree.
 */
export function blobNameOf(rel: string, suffix: string): BlobName {
  const plain = rel + suffix;
  if (blobNameProblem(plain) === undefined) return { name: plain, escaped: false };
  // A backslash is a separator to the service and to AzCopy: where reading it as one gives a
  // valid name, that is the blob name AzCopy gives the same file, and the metadata keeps the original.
  if (rel.includes('\\')) {
    const slashed = rel.replaceAll('\\', '/') + suffix;
    if (blobNameProblem(slashed) === undefined) return { name: slashed, escaped: true };
  }
  const raw = encodeBytes(rel);
  const hash = nameHash(raw, 12);
  const segments = rel.split('/').map((seg) => {
    if (!hasEscapedBytes(seg) && !CONTROL.test(seg) && !seg.includes('\\')) return seg;
    let out = '';
    for (const ch of seg) {
      const c = ch.charCodeAt(0);
      if (c >= 0xdc80 && c <= 0xdcff)
        out += `%${(c - 0xdc00).toString(16).toUpperCase()}`; // an escaped byte
      else if (c < 0x20 || c === 0x7f || c === 0x25 || c === 0x5c)
        out += `%${c.toString(16).toUpperCase().padStart(2, '0')}`;
      else out += ch;
    }
    return `${out}~${hash}`;
  });
  const shaped = segments.join('/') + suffix;
  if (blobNameProblem(shaped) === undefined) return { name: shaped, escaped: true };
  return { name: `${ESCAPED_BLOB_PREFIX}${nameHash(raw, 40)}${suffix}`, escaped: true };
}

/** The key under which NTFS (case-insensitive on Windows) sees a name: NFC, upper-cased. */
export function caseFoldKey(name: string): string {
  // toUpperCase approximates NTFS's upcase table; NFC because one tool on the way (a Mac, an
  // archive tool) may normalise, and mapping one of two NFC/NFD twins costs nothing.
  return name.normalize('NFC').toUpperCase();
}

/** True when NTFS and Windows keep `component` exactly as it is (case aside). */
export function isNtfsSafe(component: string): boolean {
  return (
    component.length > 0 &&
    component.length <= MAX_NTFS_COMPONENT_UNITS &&
    !WINDOWS_FORBIDDEN.test(component) &&
    !CONTROL.test(component) &&
    !LONE_SURROGATE.test(component) &&
    !/[ .]$/.test(component) &&
    !RESERVED_DEVICE.test(component)
  );
}

/** A drive name for `name` that NTFS keeps: forbidden characters replaced, a hash of its bytes added. */
function mappedComponent(name: string, suffix: string, hashChars: number): string {
  const hash = nameHash(encodeBytes(name), hashChars);
  const clean = (s: string) => s.replace(LONE_SURROGATE_G, '_').replace(FORBIDDEN_OR_CONTROL_G, '_');
  const dot = name.lastIndexOf('.');
  // Keep a short extension readable after the hash (`README~1a2b3c4d.md`), so `CON.txt` becomes
  // `CON~….txt`, which is no device name.
  const hasExt = dot > 0 && name.length - dot <= 16 && dot < name.length - 1;
  let stem = clean(hasExt ? name.slice(0, dot) : name);
  const ext = hasExt ? clean(name.slice(dot)).replace(/[ .]+$/, '') : '';
  const room = MAX_NTFS_COMPONENT_UNITS - suffix.length - ext.length - hashChars - 1;
  if (stem.length > room) stem = stem.slice(0, room);
  // Never cut a surrogate pair in two.
  if (/[\ud800-\udbff]$/.test(stem)) stem = stem.slice(0, -1);
  return `${stem}~${hash}${ext}${suffix}`;
}

const LONE_SURROGATE_G = new RegExp(LONE_SURROGATE.source, 'g');
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point (they get mapped)
const FORBIDDEN_OR_CONTROL_G = /[<>:"|?*\\\u0000-\u001f\u007f]/g;

/** One name of a directory listing, as the drive-name mapping sees it. */
export interface ListedName {
  readonly name: string;
  /** A regular file: its drive name takes the session's suffix (`.zst`). */
  readonly file: boolean;
}

/**
 * The drive names of one directory's entries (same order as `names`, which must be the walk's
 * sorted order). A name NTFS keeps is kept, unless an earlier name of the directory is the same
 * file to Windows (case, NFC); every other name gets a mapped name with a hash of its bytes.
 * Deterministic from the listing, so a resumed run picks the same names.
 */
export function mapDirectoryNames(names: readonly ListedName[], suffix: string): string[] {
  const taken = new Set<string>();
  const out: (string | undefined)[] = names.map((n) => {
    const full = n.file ? n.name + suffix : n.name;
    if (!isNtfsSafe(full)) return undefined;
    const k = caseFoldKey(full);
    if (taken.has(k)) return undefined;
    taken.add(k);
    return full;
  });
  return names.map((n, i) => {
    const kept = out[i];
    if (kept !== undefined) return kept;
    for (let chars = 8; ; chars += 8) {
      const m = mappedComponent(n.name, n.file ? suffix : '', chars);
      const k = caseFoldKey(m);
      if (!taken.has(k) || chars >= 64) {
        taken.add(k);
        return m;
      }
    }
  });
}

/** The drive path of a long path: where Windows' path limit would be passed, a flat hashed name. */
export function fitDrivePath(driveRel: string): string {
  // `\\?\X:\` + container (at most 63) + separators.
  if (driveRel.length + 72 <= MAX_WINDOWS_PATH_UNITS) return driveRel;
  return `seedship-long/${nameHash(encodeBytes(driveRel), 40)}`;
}
