/**
 * The naming rules of the Import/Export service, Azure Blob storage and NTFS/Windows, checked on
 * every staged path before the first byte is copied (USERS.md: rules found only at import hurt).
 * Pure functions: no I/O.
 */

/** One rule a staged path breaks; `rule` is a stable id (docs/errors.md, naming-problems.txt). */
export interface NamingProblem {
  readonly rule: string;
  readonly message: string;
  readonly severity: 'error' | 'warning';
}

/** Blob names: 1–1,024 characters (the service counts characters of the name). */
export const MAX_BLOB_NAME_CHARS = 1024;
/** Blob names: at most 254 path segments. */
export const MAX_BLOB_SEGMENTS = 254;
/** NTFS: one path component is at most 255 UTF-16 code units. */
export const MAX_NTFS_COMPONENT_UNITS = 255;
/** Windows: a path is at most 32,767 UTF-16 code units (with the \\?\ prefix). */
export const MAX_WINDOWS_PATH_UNITS = 32_767;
/** Legacy MAX_PATH: tools that do not use long paths fail beyond 259 characters. */
export const LEGACY_MAX_PATH_UNITS = 259;

const RESERVED_DEVICE = /^(CON|PRN|AUX|NUL|COM[1-9¹²³]|LPT[1-9¹²³])(\..*)?$/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const WINDOWS_FORBIDDEN = /[<>:"|?*\\]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a container name is refused, or undefined: 3–63 lowercase letters, digits, single hyphens; or `$root`. */
export function checkContainerName(name: string): string | undefined {
  if (name === '$root') return undefined;
  if (name.length < 3 || name.length > 63) return `container names are 3 to 63 characters long (this one has ${name.length})`;
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

/** The blob path (`container/path+suffix`) of a staged file. */
export function blobPathFor(container: string, relPath: string, suffix: string): string {
  return `${container}/${relPath}${suffix}`;
}

/** The manifest's FilePath (`\container\dir\name+suffix`) of a staged file. */
export function filePathFor(container: string, relPath: string, suffix: string): string {
  return `\\${container}\\${relPath.replaceAll('/', '\\')}${suffix}`;
}

function err(rule: string, message: string): NamingProblem {
  return { rule, message, severity: 'error' };
}

/**
 * Every rule the staged path `relPath` (`/`-separated, relative to staging) breaks as blob
 * `<container>/<relPath><suffix>` and as NTFS file `\<container>\<relPath><suffix>`.
 */
export function checkStagedPath(relPath: string, opts: { container: string; suffix: string }): NamingProblem[] {
  const out: NamingProblem[] = [];
  const segments = relPath.split('/');
  const name = relPath + opts.suffix;
  if (relPath.length === 0) return [err('empty-name', 'the name is empty')];
  if (segments.some((s) => s === '')) out.push(err('empty-segment', 'the path has an empty segment'));
  if (opts.container === '$root' && segments.length > 1) out.push(err('root-container-dir', 'blobs in the $root container cannot have a / in their name'));
  if ([...name].length > MAX_BLOB_NAME_CHARS) out.push(err('blob-name-too-long', `blob names are at most ${MAX_BLOB_NAME_CHARS} characters; this one has ${[...name].length}`));
  if (segments.length > MAX_BLOB_SEGMENTS) out.push(err('too-many-segments', `blob names have at most ${MAX_BLOB_SEGMENTS} path segments; this one has ${segments.length}`));
  if (name.endsWith('.') || name.endsWith('/')) out.push(err('name-trailing-dot', 'blob names must not end with a dot or a slash'));
  if (relPath.includes('\uFFFD')) out.push(err('not-utf8', 'the name is not valid UTF-8 on this system (shown with �)'));
  if (LONE_SURROGATE.test(relPath)) out.push(err('lone-surrogate', 'the name holds an unpaired UTF-16 surrogate'));
  if (CONTROL.test(relPath)) out.push(err('control-character', 'the name holds a control character (such as a newline or tab), which XML manifests and Windows cannot carry'));
  const full = filePathFor(opts.container, relPath, opts.suffix);
  if (full.length > MAX_WINDOWS_PATH_UNITS) out.push(err('path-too-long', `the drive path is ${full.length} UTF-16 units; Windows allows ${MAX_WINDOWS_PATH_UNITS}`));
  else if (full.length > LEGACY_MAX_PATH_UNITS) out.push({ rule: 'path-over-max-path', message: `the drive path is ${full.length} characters; tools limited to MAX_PATH (259) cannot open it`, severity: 'warning' });
  segments.forEach((seg, i) => {
    const comp = i === segments.length - 1 ? seg + opts.suffix : seg;
    if (seg === '') return;
    if (WINDOWS_FORBIDDEN.test(seg)) out.push(err('windows-forbidden-char', `"${seg}" holds a character Windows forbids in names (< > : " | ? * \\)`));
    if (/[ .]$/.test(comp)) out.push(err('trailing-space-or-dot', `"${comp}" ends with a space or a dot, which NTFS drops`));
    if (RESERVED_DEVICE.test(comp)) out.push(err('reserved-device-name', `"${comp}" is a reserved Windows device name`));
    if (comp.length > MAX_NTFS_COMPONENT_UNITS) out.push(err('component-too-long', `"${comp.slice(0, 40)}…" is ${comp.length} UTF-16 units; NTFS allows ${MAX_NTFS_COMPONENT_UNITS} per name`));
  });
  return dedupe(out);
}

function dedupe(ps: NamingProblem[]): NamingProblem[] {
  const seen = new Set<string>();
  return ps.filter((p) => (seen.has(p.rule) ? false : (seen.add(p.rule), true)));
}

/** The key under which NTFS (case-insensitive on Windows) sees a name: NFC, upper-cased. */
export function caseFoldKey(name: string): string {
  // toUpperCase approximates NTFS's upcase table; NFC because Windows does not normalise but
  // Linux staging may hold both forms of one name.
  return name.normalize('NFC').toUpperCase();
}

/** Finds names of one directory that would be the same file on NTFS (`A.txt` and `a.txt`). */
export class SiblingCollisionChecker {
  /** Pairs `{ name, other }` where `name` collides with an earlier `other`. */
  check(names: readonly string[], suffix = ''): { name: string; other: string }[] {
    const seen = new Map<string, string>();
    const out: { name: string; other: string }[] = [];
    for (const n of names) {
      const k = caseFoldKey(n + suffix);
      const prev = seen.get(k);
      if (prev !== undefined) out.push({ name: n, other: prev });
      else seen.set(k, n);
    }
    return out;
  }
}
