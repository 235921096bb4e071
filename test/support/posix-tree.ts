/**
 * A POSIX staging tree with every awkward case a backup can hold, and a comparator as strict as
 * `rsync -aHS --numeric-ids` (plus nanosecond mtimes), for exact-restore tests.
 *
 * `buildPosixTree` makes the tree; `comparePosixTrees` lists every difference between two trees
 * (empty = equal); `rsyncDiff` asks rsync itself, as a second opinion.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  ftruncateSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
  type BigIntStats,
} from 'node:fs';
import { bytesOf } from './tree.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** How many of /usr/share/doc's package dirs the tree copies (the awkward ones first, `pickDocs`). */
const DOCS_PACKAGES = 120;
/** At most this many package dirs of each awkward kind (a link, an executable, an odd name…). */
const DOCS_PER_KIND = 8;

/** A relative path inside the tree: a string, or a Buffer where the name is not valid UTF-8. */

export type RelPath = string | Buffer;

/** Entry counts of a whole tree, by kind (`countPosixTree`). */
export interface PosixTreeCounts {
  /** Every entry below the root (the root itself not counted). */
  entries: number;
  files: number;
  dirs: number;
  symlinks: number;
  fifos: number;
  sockets: number;
  devices: number;
  /** Inodes with two or more names in the tree, and how many names those have in all. */
  hardLinkGroups: number;
  hardLinkNames: number;
  /** Regular files with st_blocks*512 < size. */
  sparseFiles: number;
  /** Sum of regular file sizes (each inode once) and of their allocation (st_blocks*512). */
  bytes: number;
  allocatedBytes: number;
}

export interface PosixTreeInfo {
  root: string;
  counts: PosixTreeCounts;
  /** The copy of this machine's /usr/share/doc (cp -a), or why there is none. */
  debianDocs:
    | { included: true; rel: string; entries: number; bytes: number; copyMs: number }
    | { included: false; reason: string };
  /** Whether files could be given other owners (root, and the uids mapped); `reason` when not. */
  chown: { possible: boolean; reason?: string };
  /** Relative paths of the special cases, so tests can name them. */
  paths: {
    /** One file per Windows-forbidden character, keyed by the character. */
    forbiddenChars: Record<string, string>;
    reserved: string[]; // aux.txt, CON, nul, com1.log
    trailingDot: string;
    trailingSpace: string;
    caseTwins: string[]; // Readme.md, README.md, readme.md in one dir
    caseDirTwin: { dir: string; file: string }; // Docs/ beside docs
    nfc: string;
    nfd: string;
    nonUtf8: Buffer; // contains the bytes 0xFF 0xFE
    newline: string;
    name255Multibyte: string; // 255 bytes, 128 chars
    name255Ascii: string;
    deepDir: string; // 40 levels
    deepFile: string;
    symlinkRelative: string;
    symlinkAbsolute: string;
    symlinkDangling: string;
    symlinkLoop: [string, string];
    symlinkToDir: string;
    hardLinks3: [string, string, string];
    hardLinks2: [string, string];
    emptyDir: string;
    nestedEmptyDir: string; // nest/a/b/c
    modes: Record<'0600' | '0755' | '04755' | '02755' | '0444', string>;
    stickyDir: string; // 01777
    privateDir: string; // 0700
    /** Owned by uid:gid (only when `chown.possible`; else owned by the caller). */
    owners: Record<'1234:5678' | '0:100' | '65534:65534', string>;
    ownedDir: string; // 1234:5678
    ownedSymlink: string; // lchown 1234:5678
    timeEpoch: string; // 1970-01-01T00:00:00Z
    time2100: string; // 2100-01-01T00:00:00Z
    timeNanos: string; // 2020-02-29T12:34:56.123456789Z
    timeDir: string; // a directory with ns mtime
    timeSymlink: string; // a symlink whose own mtime has ns
    fifo: string;
    sparse: string;
    zero: string;
    random5MiB: string;
  };
  /** The mtimes (ns since the epoch) given to the `time*` entries and the timed dirs, by relative path. */
  mtimesNs: Record<string, bigint>;
  sparse: { size: number; allocated: number; dataOffsets: number[]; dataLength: number };
  buildMs: number;
}

/** Nanoseconds since the epoch of the timed entries. */
export const TIME_EPOCH_NS = 0n;
export const TIME_2100_NS = 4102444800n * 1_000_000_000n; // 2100-01-01T00:00:00Z
export const TIME_NANOS_NS = 1582979696n * 1_000_000_000n + 123456789n; // 2020-02-29T12:34:56.123456789Z
export const TIME_DIR_NS = 1234567890n * 1_000_000_000n + 987654321n; // 2009-02-13T23:31:30.987654321Z
export const TIME_LINK_NS = 1700000000n * 1_000_000_000n + 1n; // 2023-11-14T22:13:20.000000001Z

/** Join path parts into a Buffer (names may be non-UTF-8). */
export function bjoin(...parts: (string | Buffer)[]): Buffer {
  const bufs: Buffer[] = [];
  parts.forEach((p, i) => {
    if (i > 0) bufs.push(Buffer.from('/'));
    bufs.push(typeof p === 'string' ? Buffer.from(p) : p);
  });
  return Buffer.concat(bufs);
}

/**
 * Set atime and mtime of `paths` (not following symlinks, in the order given) to `ns` nanoseconds
 * since the epoch, exactly, with GNU `touch -h -d @SEC.NSEC` (Node's utimes goes through a double).
 * Paths must be valid UTF-8 (they are passed as arguments).
 */
export function setTimesNs(paths: string | string[], ns: bigint): void {
  if (ns < 0n) throw new Error('setTimesNs: times before 1970 are not supported');
  const sec = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  const list = typeof paths === 'string' ? [paths] : paths;
  if (list.length)
    execFileSync('touch', ['-h', '-d', `@${sec}.${frac}`, '--', ...list], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `n` of `xs`, spread evenly over it (all of them when it has no more). */
function spread<T>(xs: readonly T[], n: number): T[] {
  if (xs.length <= n) return [...xs];
  const step = xs.length / n;
  return Array.from({ length: n }, (_, i) => xs[Math.floor(i * step)]!);
}

/**
 * The awkward kinds a package dir of /usr/share/doc can hold: a link for the whole dir, links,
 * executables, other file types, hard links, owners other than root, modes other than
 * 0644/0755/0777, names outside [A-Za-z0-9._+-] (a space, a non-ASCII byte). Empty for a plain one.
 */
function docsKinds(path: string): Set<string> {
  const kinds = new Set<string>();
  const visit = (p: string, top: boolean): void => {
    const st = lstatSync(p);
    const name = p.slice(p.lastIndexOf('/') + 1);
    if (!/^[A-Za-z0-9._+-]+$/.test(name)) kinds.add('odd name');
    if (st.uid !== 0 || st.gid !== 0) kinds.add('owner');
    const perm = st.mode & 0o7777;
    if (st.isSymbolicLink()) kinds.add(top ? 'dir link' : 'link');
    else if (st.isDirectory()) {
      if (perm !== 0o755) kinds.add('mode');
      for (const e of readdirSync(p)) visit(`${p}/${e}`, false);
    } else if (st.isFile()) {
      if (perm !== 0o644 && perm !== 0o755) kinds.add('mode');
      if (perm & 0o111) kinds.add('executable');
      if (st.nlink > 1) kinds.add('hard link');
    } else kinds.add('special file');
  };
  visit(path, true);
  return kinds;
}

/**
 * Which of `src`'s package dirs to copy, at most `max`: up to DOCS_PER_KIND of each awkward kind
 * (`docsKinds`), spread over the alphabet, then plain ones spread evenly to make up `max`. Sorted.
 */
function pickDocs(src: string, max: number): string[] {
  const names = readdirSync(src).sort();
  const byKind = new Map<string, string[]>();
  for (const n of names) for (const k of docsKinds(`${src}/${n}`)) byKind.set(k, [...(byKind.get(k) ?? []), n]);
  const picked = new Set<string>();
  for (const members of byKind.values()) for (const n of spread(members, DOCS_PER_KIND)) picked.add(n);
  const rest = names.filter((n) => !picked.has(n));
  for (const n of spread(rest, Math.max(0, max - picked.size))) picked.add(n);
  return [...picked].sort();
}

/**
 * Build the staging tree under `root` (created if missing; should be empty). Synchronous.
 * With `debianDocs`, also a `cp -a` of this machine's /usr/share/doc under `usr-share-doc/`.
 */
export function buildPosixTree(root: string, opts: { debianDocs?: boolean } = {}): PosixTreeInfo {
  const t0 = performance.now();
  mkdirSync(root, { recursive: true });
  const abs = (rel: RelPath): Buffer => bjoin(root, rel);
  const dir = (rel: string) => mkdirSync(abs(rel), { recursive: true });
  const file = (rel: RelPath, data: string | Buffer = '') =>
    writeFileSync(abs(rel), typeof rel === 'string' ? data || `${rel}\n` : data);

  // Names Windows (and ntfs-3g -o windows_names) refuses.
  dir('win');
  const forbiddenChars: Record<string, string> = {};
  const charNames: [string, string][] = [
    ['<', 'less<than'],
    ['>', 'greater>than'],
    [':', 'colon:name'],
    ['"', 'quote"name'],
    ['|', 'pipe|name'],
    ['?', 'question?name'],
    ['*', 'star*name'],
    ['\\', 'back\\slash'],
  ];
  for (const [c, n] of charNames) {
    forbiddenChars[c] = `win/${n}`;
    file(`win/${n}`);
  }
  const reserved = ['aux.txt', 'CON', 'nul', 'com1.log'].map((n) => `win/${n}`);
  for (const r of reserved) file(r);
  const trailingDot = 'win/notes.';
  const trailingSpace = 'win/memo ';
  file(trailingDot);
  file(trailingSpace);

  // Case twins.
  dir('case');
  const caseTwins = ['case/Readme.md', 'case/README.md', 'case/readme.md'];
  for (const r of caseTwins) file(r);
  const caseDirTwin = { dir: 'case/Docs', file: 'case/docs' };
  dir(caseDirTwin.dir);
  file(`${caseDirTwin.dir}/inside.txt`);
  file(caseDirTwin.file);

  // Unicode and raw bytes.
  dir('unicode');
  const nfc = 'unicode/caf\u00e9';
  const nfd = 'unicode/cafe\u0301';
  file(nfc, 'composed\n');
  file(nfd, 'decomposed\n');
  const nonUtf8 = Buffer.concat([Buffer.from('unicode/bad-'), Buffer.from([0xff, 0xfe]), Buffer.from('-name')]);
  file(nonUtf8, 'not utf-8\n');
  const newline = 'unicode/line\nbreak';
  file(newline);
  const long = `${'é'.repeat(127)}a`; // 255 bytes, 128 chars (128 UTF-16 units)
  if (Buffer.byteLength(long) !== 255) throw new Error('255-byte name is not 255 bytes');
  const name255Multibyte = `unicode/${long}`;
  const name255Ascii = `unicode/${'x'.repeat(255)}`;
  file(name255Multibyte);
  file(name255Ascii);

  // 40 levels deep.
  const deepDir = ['deep', ...Array.from({ length: 39 }, (_, i) => `d${String(i + 2).padStart(2, '0')}`)].join('/');
  dir(deepDir);
  const deepFile = `${deepDir}/bottom.txt`;
  file(deepFile);

  // Empty dirs.
  const emptyDir = 'empty';
  const nestedEmptyDir = 'nest/a/b/c';
  dir(emptyDir);
  dir(nestedEmptyDir);

  // Symlinks.
  dir('symlinks');
  dir('files');
  file('files/plain.txt', 'plain\n');
  const link = (target: string, rel: string) => symlinkSync(target, abs(rel));
  const symlinkRelative = 'symlinks/relative';
  const symlinkAbsolute = 'symlinks/absolute';
  const symlinkDangling = 'symlinks/dangling';
  const symlinkLoop: [string, string] = ['symlinks/loop-a', 'symlinks/loop-b'];
  const symlinkToDir = 'symlinks/to-dir';
  link('../files/plain.txt', symlinkRelative);
  link('/etc/passwd', symlinkAbsolute);
  link('does/not/exist', symlinkDangling);
  link('loop-b', symlinkLoop[0]);
  link('loop-a', symlinkLoop[1]);
  link('../nest', symlinkToDir);

  // Hard links: 3 names in different dirs, and 2 in one.
  dir('links/one');
  dir('links/two');
  const hardLinks3: [string, string, string] = ['links/one/h3', 'links/two/h3-second', 'links/h3-third'];
  file(hardLinks3[0], 'three names\n');
  linkSync(abs(hardLinks3[0]), abs(hardLinks3[1]));
  linkSync(abs(hardLinks3[0]), abs(hardLinks3[2]));
  const hardLinks2: [string, string] = ['links/h2-a', 'links/h2-b'];
  file(hardLinks2[0], 'two names\n');
  linkSync(abs(hardLinks2[0]), abs(hardLinks2[1]));

  // Owners (before modes: chown clears setuid/setgid).
  dir('owners');
  const owners = {
    '1234:5678': 'owners/u1234-g5678',
    '0:100': 'owners/u0-g100',
    '65534:65534': 'owners/nobody',
  } as const;
  const ownedDir = 'owners/dir-u1234-g5678';
  const ownedSymlink = 'owners/link-u1234-g5678';
  for (const r of Object.values(owners)) file(r);
  dir(ownedDir);
  file(`${ownedDir}/child.txt`);
  link('u1234-g5678', ownedSymlink);
  const chown: { possible: boolean; reason?: string } = { possible: false };
  if (process.getuid?.() !== 0) chown.reason = 'not root';
  else {
    try {
      for (const [ug, r] of Object.entries(owners)) {
        const [u, g] = ug.split(':').map(Number) as [number, number];
        lchownSync(abs(r), u, g);
      }
      lchownSync(abs(ownedDir), 1234, 5678);
      lchownSync(abs(ownedSymlink), 1234, 5678);
      chown.possible = true;
    } catch (err) {
      chown.reason = `chown failed: ${(err as Error).message}`; // e.g. a user namespace without those ids
    }
  }

  // Modes.
  dir('modes');
  const modes = {
    '0600': 'modes/m0600',
    '0755': 'modes/m0755',
    '04755': 'modes/m4755-setuid',
    '02755': 'modes/m2755-setgid',
    '0444': 'modes/m0444',
  } as const;
  for (const [m, r] of Object.entries(modes)) {
    file(r);
    chmodSync(abs(r), parseInt(m, 8));
  }
  const stickyDir = 'modes/sticky-1777';
  const privateDir = 'modes/private-0700';
  dir(stickyDir);
  file(`${stickyDir}/tmpfile`);
  dir(privateDir);
  file(`${privateDir}/secret`);
  chmodSync(abs(stickyDir), 0o1777);
  chmodSync(abs(privateDir), 0o700);

  // Special files and sizes.
  dir('special');
  const fifo = 'special/fifo';
  execFileSync('mkfifo', ['-m', '0640', '--', `${root}/${fifo}`]);
  dir('sizes');
  const zero = 'sizes/zero';
  writeFileSync(abs(zero), '');
  const random5MiB = 'sizes/random-5MiB';
  writeFileSync(abs(random5MiB), bytesOf(5 * MiB, 0x5eed));
  const sparse = 'sizes/sparse-64MiB';
  const sparseSize = 64 * MiB;
  const dataOffsets = [1 * MiB, 30 * MiB, 50 * MiB]; // holes at the start, between, and at the end
  const dataLength = 1 * MiB;
  {
    const fd = openSync(abs(sparse), 'w');
    try {
      ftruncateSync(fd, sparseSize);
      dataOffsets.forEach((off, i) => {
        writeSync(fd, bytesOf(dataLength, 0x5a + i), 0, dataLength, off);
      });
    } finally {
      closeSync(fd);
    }
  }
  const sst = lstatSync(abs(sparse));
  const sparseAllocated = sst.blocks * 512;
  if (sparseAllocated >= sparseSize)
    throw new Error(`${sparse} is not sparse here (${sparseAllocated} bytes allocated)`);

  // Times, last: files and symlinks first, then directories deepest first (after their children).
  dir('times');
  const timeEpoch = 'times/epoch';
  const time2100 = 'times/y2100';
  const timeNanos = 'times/nanos';
  const timeDir = 'times/dir-nanos';
  const timeSymlink = 'times/link-nanos';
  file(timeEpoch);
  file(time2100);
  file(timeNanos);
  dir(timeDir);
  file(`${timeDir}/child.txt`);
  link('nanos', timeSymlink);
  const mtimesNs: Record<string, bigint> = {
    [timeEpoch]: TIME_EPOCH_NS,
    [time2100]: TIME_2100_NS,
    [timeNanos]: TIME_NANOS_NS,
    [timeSymlink]: TIME_LINK_NS,
    [timeDir]: TIME_DIR_NS,
  };
  for (const [r, ns] of Object.entries(mtimesNs)) if (r !== timeDir) setTimesNs(`${root}/${r}`, ns);
  // Directories last, deepest first: times/dir-nanos, and the same ns time on the empty dirs and
  // every level of nest/a/b/c and deep/…/d40 (one touch: starting processes is slow).
  const chain = (path: string) => path.split('/').map((_, i, a) => a.slice(0, i + 1).join('/'));
  const timedDirs = [timeDir, ...chain(nestedEmptyDir), ...chain(deepDir), emptyDir];
  timedDirs.sort((x, y) => y.split('/').length - x.split('/').length);
  setTimesNs(
    timedDirs.map((d) => `${root}/${d}`),
    TIME_DIR_NS,
  );
  for (const d of timedDirs) mtimesNs[d] = TIME_DIR_NS;

  // A copy of this machine's docs, as is (a bounded part of them).
  let debianDocs: PosixTreeInfo['debianDocs'] = { included: false, reason: 'not asked for' };
  if (opts.debianDocs) {
    const src = '/usr/share/doc';
    const rel = 'usr-share-doc';
    if (!existsSync(src)) debianDocs = { included: false, reason: `${src} does not exist on this machine` };
    else {
      const c0 = performance.now();
      // At most DOCS_PACKAGES of its package dirs (links and all): the suite's time should not grow
      // with what the machine installs (chromium alone adds 240), and each awkward kind stays in.
      const some = pickDocs(src, DOCS_PACKAGES).map((n) => `${src}/${n}`);
      mkdirSync(`${root}/${rel}`);
      const r = spawnSync('cp', ['-a', '--', ...some, `${root}/${rel}/`], { encoding: 'utf8' });
      if (r.status !== 0) {
        rmSync(`${root}/${rel}`, { recursive: true, force: true });
        debianDocs = {
          included: false,
          reason: `cp -a ${src} failed (${r.status ?? r.signal}): ${r.stderr.trim().split('\n')[0]}`,
        };
      } else {
        const copyMs = Math.round(performance.now() - c0);
        const c = countPosixTree(`${root}/${rel}`);
        debianDocs = { included: true, rel, entries: c.entries, bytes: c.bytes, copyMs };
      }
    }
  }

  return {
    root,
    counts: countPosixTree(root),
    debianDocs,
    chown,
    paths: {
      forbiddenChars,
      reserved,
      trailingDot,
      trailingSpace,
      caseTwins,
      caseDirTwin,
      nfc,
      nfd,
      nonUtf8,
      newline,
      name255Multibyte,
      name255Ascii,
      deepDir,
      deepFile,
      symlinkRelative,
      symlinkAbsolute,
      symlinkDangling,
      symlinkLoop,
      symlinkToDir,
      hardLinks3,
      hardLinks2,
      emptyDir,
      nestedEmptyDir,
      modes,
      stickyDir,
      privateDir,
      owners,
      ownedDir,
      ownedSymlink,
      timeEpoch,
      time2100,
      timeNanos,
      timeDir,
      timeSymlink,
      fifo,
      sparse,
      zero,
      random5MiB,
    },
    mtimesNs,
    sparse: { size: sparseSize, allocated: sparseAllocated, dataOffsets, dataLength },
    buildMs: Math.round(performance.now() - t0),
  };
}

// ---------------------------------------------------------------------------------------------
// Walking and comparing

interface Entry {
  rel: Buffer;
  st: BigIntStats;
}

type Kind = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'char device' | 'block device' | 'unknown';

function kindOf(st: BigIntStats): Kind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'char device';
  if (st.isBlockDevice()) return 'block device';
  return 'unknown';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A raw name made printable: valid UTF-8 kept; `\`, control characters and invalid bytes escaped (`\n`, `\xff`). */
export function escapeName(name: Buffer): string {
  let out = '';
  for (let i = 0; i < name.length; ) {
    const b0 = name[i]!;
    const len =
      b0 < 0x80 ? 1 : b0 >= 0xc2 && b0 < 0xe0 ? 2 : b0 >= 0xe0 && b0 < 0xf0 ? 3 : b0 >= 0xf0 && b0 < 0xf5 ? 4 : 0;
    let ch: string | undefined;
    if (len > 0 && i + len <= name.length) {
      try {
        ch = utf8.decode(name.subarray(i, i + len));
      } catch {
        ch = undefined;
      }
    }
    if (ch === undefined) {
      out += `\\x${b0.toString(16).padStart(2, '0')}`;
      i++;
      continue;
    }
    i += len;
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

/** Every entry below `root` by raw relative name (latin1 key); directories that cannot be read go to `unreadable`. */
function walk(
  root: Buffer,
  skip: (rel: Buffer, relUtf8: string) => boolean,
  unreadable: { rel: Buffer; code: string }[] = [],
): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const stack: Buffer[] = [Buffer.alloc(0)];
  while (stack.length) {
    const rel = stack.pop()!;
    let names: Buffer[];
    try {
      names = readdirSync(rel.length ? bjoin(root, rel) : root, { encoding: 'buffer' });
    } catch (err) {
      unreadable.push({ rel, code: (err as NodeJS.ErrnoException).code ?? String(err) });
      continue;
    }
    for (const name of names) {
      const r = rel.length ? bjoin(rel, name) : Buffer.from(name);
      if (skip(r, r.toString('utf8'))) continue;
      const st = lstatSync(bjoin(root, r), { bigint: true });
      out.set(r.toString('latin1'), { rel: r, st });
      if (st.isDirectory()) stack.push(r);
    }
  }
  return out;
}

/** Counts per kind of everything under `root`. */
export function countPosixTree(root: string): PosixTreeCounts {
  const c: PosixTreeCounts = {
    entries: 0,
    files: 0,
    dirs: 0,
    symlinks: 0,
    fifos: 0,
    sockets: 0,
    devices: 0,
    hardLinkGroups: 0,
    hardLinkNames: 0,
    sparseFiles: 0,
    bytes: 0,
    allocatedBytes: 0,
  };
  const inodes = new Map<bigint, number>();
  for (const { st } of walk(Buffer.from(root), () => false).values()) {
    c.entries++;
    const k = kindOf(st);
    if (k === 'dir') c.dirs++;
    else if (k === 'symlink') c.symlinks++;
    else if (k === 'fifo') c.fifos++;
    else if (k === 'socket') c.sockets++;
    else if (k === 'char device' || k === 'block device') c.devices++;
    else if (k === 'file') {
      c.files++;
      if (st.nlink > 1n) inodes.set(st.ino, (inodes.get(st.ino) ?? 0) + 1);
      if (st.nlink > 1n && inodes.get(st.ino)! > 1) continue; // size counted once per inode
      c.bytes += Number(st.size);
      c.allocatedBytes += Number(st.blocks) * 512;
      if (st.blocks * 512n < st.size) c.sparseFiles++;
    }
  }
  for (const n of inodes.values())
    if (n > 1) {
      c.hardLinkGroups++;
      c.hardLinkNames += n;
    }
  return c;
}

let bufA: Buffer | undefined; // read buffers shared by all files (allocating per file is mostly GC)
let bufB: Buffer | undefined;

/** Offset of the first byte where two files of equal size differ, or -1 when they are equal. */
function firstDifference(pathA: Buffer, pathB: Buffer): number {
  bufA ??= Buffer.allocUnsafe(1 * MiB);
  bufB ??= Buffer.allocUnsafe(1 * MiB);
  const x = bufA;
  const y = bufB;
  const fa = openSync(pathA, 'r');
  try {
    const fb = openSync(pathB, 'r');
    try {
      for (let off = 0; ; ) {
        const n = readSync(fa, x, 0, x.length, null);
        let m = 0;
        while (m < n) {
          const k = readSync(fb, y, m, n - m, null);
          if (k <= 0) break;
          m += k;
        }
        if (m !== n) return off + m;
        if (n <= 0) return -1;
        if (!x.subarray(0, n).equals(y.subarray(0, n))) {
          let i = 0;
          while (x[i] === y[i]) i++;
          return off + i;
        }
        off += n;
      }
    } finally {
      closeSync(fb);
    }
  } finally {
    closeSync(fa);
  }
}

const octal = (m: number) => `0${(m & 0o7777).toString(8).padStart(3, '0')}`;

/** ISO time with all 9 digits of nanoseconds, e.g. 2020-02-29T12:34:56.123456789Z (and the raw ns). */
export function nsToIso(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const frac = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const iso = new Date(Number(ms)).toISOString();
  return `${iso.slice(0, 19)}.${frac.toString().padStart(9, '0')}Z`;
}

export interface CompareOptions {
  /** Leave out entries (and what is below them); `rel` is the path decoded as UTF-8 (bad bytes → U+FFFD). Applies to both sides. */
  ignore?: (rel: string) => boolean;
  /** Also compare atimes (off by default: rsync -a does not keep them). */
  checkAtime?: boolean;
  /** Also compare the mode, owner and mtime of the two root directories (off by default). */
  checkRoot?: boolean;
  /** Skip `.seedship` at the root of `a` (the tool's session dir); default true. */
  skipSeedship?: boolean;
  /** Stop after this many differences (default 200); a last line says how many more there were. */
  maxLines?: number;
}

/**
 * Every difference between trees `a` (the original) and `b` (the copy), as lines `path: what`;
 * empty when `b` is what `rsync -aHS --numeric-ids` of `a` would give, with nanosecond mtimes:
 * type; permission bits incl. setuid/setgid/sticky (not for symlinks); uid and gid; mtime to the
 * nanosecond (files, dirs, symlinks, specials); symlink targets (raw bytes); file bytes (read and compared);
 * the partition of names into hard-link groups; holes (a file sparse in `a` must not allocate in
 * `b` more than a's allocation + 64 KiB + 10%); type and rdev of FIFOs, sockets, devices; entries on
 * one side only. Names are raw bytes; messages show them escaped (`escapeName`).
 */
export function comparePosixTrees(a: string, b: string, opts: CompareOptions = {}): string[] {
  const max = opts.maxLines ?? 200;
  const skipSeedship = opts.skipSeedship ?? true;
  const out: string[] = [];
  let dropped = 0;
  const report = (rel: Buffer, what: string): number => {
    if (out.length < max) return out.push(`${escapeName(rel) || '.'}: ${what}`) - 1;
    dropped++;
    return -1;
  };
  // An entry only on one side is one line; what is below it is counted in that line.
  const onlyTops = new Map<string, { side: 'a' | 'b'; line: number; below: number }>();
  const ignore = opts.ignore;
  const skipA = (_rel: Buffer, s: string) => (skipSeedship && s === '.seedship') || (ignore ? ignore(s) : false);
  const skipB = (_rel: Buffer, s: string) => (ignore ? ignore(s) : false);

  const ra = lstatSync(a, { bigint: true });
  const rb = lstatSync(b, { bigint: true });
  if (!ra.isDirectory() || !rb.isDirectory())
    return [`.: root is not a directory on both sides (a ${kindOf(ra)}, b ${kindOf(rb)})`];
  if (opts.checkRoot) compareMeta(Buffer.alloc(0), ra, rb, opts, report);

  const unreadableA: { rel: Buffer; code: string }[] = [];
  const unreadableB: { rel: Buffer; code: string }[] = [];
  const ea = walk(Buffer.from(a), skipA, unreadableA);
  const eb = walk(Buffer.from(b), skipB, unreadableB);
  for (const u of unreadableA) report(u.rel, `cannot read the directory in a (${u.code})`);
  for (const u of unreadableB) report(u.rel, `cannot read the directory in b (${u.code})`);
  const keys = [...new Set([...ea.keys(), ...eb.keys()])].sort();

  // Hard-link groups: key → all keys of the tree sharing its inode (non-dirs with nlink > 1).
  const groups = (m: Map<string, Entry>) => {
    const byIno = new Map<string, string[]>();
    for (const [k, e] of m) {
      if (e.st.isDirectory() || e.st.nlink < 2n) continue;
      const ino = `${e.st.dev}:${e.st.ino}`;
      const g = byIno.get(ino);
      if (g) g.push(k);
      else byIno.set(ino, [k]);
    }
    const of = new Map<string, string[]>();
    for (const g of byIno.values()) {
      g.sort();
      for (const k of g) of.set(k, g);
    }
    return of;
  };
  const ga = groups(ea);
  const gb = groups(eb);
  const reportedGroups = new Set<string>();
  const showGroup = (g: string[]) => `{${g.map((k) => escapeName(Buffer.from(k, 'latin1'))).join(', ')}}`;

  for (const k of keys) {
    const x = ea.get(k);
    const y = eb.get(k);
    if (!x || !y) {
      const side = x ? 'a' : 'b';
      const slash = k.lastIndexOf('/');
      const top = slash >= 0 ? onlyTops.get(k.slice(0, slash)) : undefined;
      if (top && top.side === side) {
        top.below++;
        onlyTops.set(k, top);
        continue;
      }
      const e = (x ?? y)!;
      const what = `only in ${side} (${kindOf(e.st)})`;
      onlyTops.set(k, { side, line: report(e.rel, what), below: 0 });
      continue;
    }
    const rel = x.rel;
    const kx = kindOf(x.st);
    const ky = kindOf(y.st);
    if (kx !== ky) {
      report(rel, `type a=${kx} b=${ky}`);
      continue;
    }
    compareMeta(rel, x.st, y.st, opts, report);
    if (kx === 'symlink') {
      const tx = readlinkSync(bjoin(a, rel), { encoding: 'buffer' });
      const ty = readlinkSync(bjoin(b, rel), { encoding: 'buffer' });
      if (!tx.equals(ty)) report(rel, `symlink target a=${escapeName(tx)} b=${escapeName(ty)}`);
    } else if (kx === 'char device' || kx === 'block device') {
      if (x.st.rdev !== y.st.rdev) report(rel, `rdev a=${x.st.rdev} b=${y.st.rdev}`);
    } else if (kx === 'file') {
      if (x.st.size !== y.st.size) report(rel, `size a=${x.st.size} b=${y.st.size}`);
      else {
        let at: number | string;
        try {
          at = firstDifference(bjoin(a, rel), bjoin(b, rel));
        } catch (err) {
          at = (err as NodeJS.ErrnoException).code ?? String(err);
        }
        if (typeof at === 'string') report(rel, `cannot read the file to compare its bytes (${at})`);
        else if (at >= 0) report(rel, `contents differ from byte ${at}`);
      }
      const allocA = x.st.blocks * 512n;
      const allocB = y.st.blocks * 512n;
      if (allocA < x.st.size && allocB > allocA + 64n * 1024n + allocA / 10n)
        report(rel, `holes filled: a is sparse (${allocA} of ${x.st.size} bytes allocated), b allocates ${allocB}`);
    }
    if (kx !== 'dir') {
      const gx = ga.get(k) ?? [k];
      const gy = gb.get(k) ?? [k];
      const sx = gx.join('\0');
      const sy = gy.join('\0');
      if (sx !== sy && !reportedGroups.has(`${sx}|${sy}`)) {
        reportedGroups.add(`${sx}|${sy}`);
        report(rel, `hard links a=${showGroup(gx)} b=${showGroup(gy)}`);
      }
    }
  }
  for (const t of new Set(onlyTops.values()))
    if (t.below > 0 && t.line >= 0)
      out[t.line] = out[t.line]!.replace(/\)$/, `, ${t.below} ${t.below === 1 ? 'entry' : 'entries'} below)`);
  if (dropped) out.push(`… and ${dropped} more difference${dropped === 1 ? '' : 's'}`);
  return out;
}

function compareMeta(
  rel: Buffer,
  x: BigIntStats,
  y: BigIntStats,
  opts: CompareOptions,
  report: (rel: Buffer, what: string) => void,
): void {
  if (!x.isSymbolicLink()) {
    const mx = Number(x.mode) & 0o7777;
    const my = Number(y.mode) & 0o7777;
    if (mx !== my) report(rel, `mode a=${octal(mx)} b=${octal(my)}`);
  }
  if (x.uid !== y.uid || x.gid !== y.gid) report(rel, `owner a=${x.uid}:${x.gid} b=${y.uid}:${y.gid}`);
  const isRoot = rel.length === 0;
  if ((!isRoot || opts.checkRoot) && x.mtimeNs !== y.mtimeNs)
    report(rel, `mtime a=${nsToIso(x.mtimeNs)} b=${nsToIso(y.mtimeNs)} (Δ ${y.mtimeNs - x.mtimeNs} ns)`);
  if (opts.checkAtime && x.atimeNs !== y.atimeNs) report(rel, `atime a=${nsToIso(x.atimeNs)} b=${nsToIso(y.atimeNs)}`);
}

/**
 * rsync's own opinion: the itemized changes of
 * `rsync -aHS --numeric-ids --dry-run --itemize-changes --checksum --delete --modify-window=-1 a/ b/`
 * (`--delete` so entries only in b show as `*deleting`; `--modify-window=-1` because rsync compares
 * whole seconds by default), skipping `.seedship` at the root of a. Empty = rsync would change
 * nothing; undefined when rsync is not installed. It does not see filled holes, and the root dir's
 * own line (`./`) is left out unless `checkRoot`.
 */
export function rsyncDiff(a: string, b: string, opts: { checkRoot?: boolean } = {}): string[] | undefined {
  const args = [
    '-aHS',
    '--numeric-ids',
    '--dry-run',
    '--itemize-changes',
    '--checksum',
    '--delete',
    '--modify-window=-1',
    '--filter=-s /.seedship',
    `${a.replace(/\/+$/, '')}/`,
    `${b.replace(/\/+$/, '')}/`,
  ];
  const r = spawnSync('rsync', args, { encoding: 'utf8', maxBuffer: 64 * MiB });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .filter((l) => opts.checkRoot || !/^\S+ \.\/$/.test(l));
  if (r.status !== 0) lines.push(`rsync exit ${r.status ?? r.signal}: ${r.stderr.trim()}`);
  return lines;
}
