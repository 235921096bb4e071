/**
 * AzCopy 10 (the real binary from the devDependency `@azure-tools/azcopy-linux`) as a reference
 * client in tests: it runs against Azurite on 127.0.0.1 only, with its home, logs and job plans in a
 * temporary folder, and never reaches outside. docs/azcopy-posix.md records what it writes with
 * `--preserve-posix-properties --preserve-symlinks` and what it restores; `azcopyPosixExpectations`
 * below turns that into "these keys and values for this lstat".
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  copyFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  type BigIntStats,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  ContainerClient,
  SASProtocol,
  StorageSharedKeyCredential,
  generateAccountSASQueryParameters,
} from '@azure/storage-blob';
import { HUNG_MS } from './cli.js';

/** The AzCopy version the findings in docs/azcopy-posix.md and the reference test were made with. */
export const AZCOPY_VERSION = '10.32.2';

let probed: { path?: string; reason?: string } | undefined;

/** Where the package keeps the binary, or undefined when the package is not installed. */
function packagedBinary(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  try {
    const req = createRequire(import.meta.url);
    const p = join(dirname(req.resolve('@azure-tools/azcopy-linux/package.json')), 'dist', 'bin', 'azcopy_linux_amd64');
    return existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

/**
 * npm installs the package's binary without its exec bit (the tarball has mode 0644). Use it where
 * it is executable; otherwise copy it once into a per-user cache under the temp dir (atomically, so
 * two test processes can race) and chmod the copy.
 */
function executableCopy(src: string): string {
  try {
    accessSync(src, constants.X_OK);
    return src;
  } catch {
    /* not executable: copy below */
  }
  const size = statSync(src).size;
  const dir = join(tmpdir(), `seedship-azcopy-${AZCOPY_VERSION}-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dst = join(dir, 'azcopy');
  if (existsSync(dst) && statSync(dst).size === size) {
    try {
      accessSync(dst, constants.X_OK);
      return dst;
    } catch {
      /* recopy */
    }
  }
  const tmp = `${dst}.${process.pid}.tmp`;
  copyFileSync(src, tmp);
  chmodSync(tmp, 0o755);
  renameSync(tmp, dst);
  return dst;
}

/** A fresh environment for one AzCopy run: nothing inherited but PATH, everything in `home`. */
function azcopyEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    TMPDIR: home,
    AZCOPY_LOG_LOCATION: join(home, 'logs'),
    AZCOPY_JOB_PLAN_LOCATION: join(home, 'plans'),
    AZCOPY_DISABLE_SYSLOG: 'true',
    // Small on a 2-core test machine.
    AZCOPY_CONCURRENCY_VALUE: '8',
    AZCOPY_BUFFER_GB: '0.25',
    // No proxy may be used and none may be reached: loopback is never proxied by Go, and anything
    // else would go to a closed local port.
    HTTPS_PROXY: 'http://127.0.0.1:9',
    HTTP_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '127.0.0.1,localhost',
    ...extra,
  };
}

/**
 * The path of a runnable AzCopy binary, or undefined (see `azcopyUnavailableReason()` for why) when
 * the package is not installed, this is not linux-x64, or the binary does not run (e.g. libsecret-1-0
 * missing). Probed once per process with `azcopy --version`.
 */
export function azcopyPath(): string | undefined {
  if (probed) return probed.path;
  const src = packagedBinary();
  if (!src) {
    probed = { reason: 'the devDependency @azure-tools/azcopy-linux is not installed (or this is not linux-x64)' };
    return undefined;
  }
  let bin: string;
  try {
    bin = executableCopy(src);
  } catch (e) {
    probed = { reason: `could not make the AzCopy binary executable: ${(e as Error).message}` };
    return undefined;
  }
  const home = mkdtempSync(join(tmpdir(), 'seedship-azcopy-probe-'));
  try {
    const r = spawnSync(bin, ['--version'], { env: azcopyEnv(home), encoding: 'utf8', timeout: 120_000 });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    if (r.status !== 0 || !/azcopy version 10\./.test(out)) {
      probed = {
        reason: `${bin} --version failed (${r.error?.message ?? `exit ${r.status}`}): ${out.trim().slice(-300)} — is libsecret-1-0 installed?`,
      };
      return undefined;
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  probed = { path: bin };
  return bin;
}

/** Why `azcopyPath()` is undefined (undefined when it is not). */
export function azcopyUnavailableReason(): string | undefined {
  azcopyPath();
  return probed?.reason;
}

function parseConnectionString(cs: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of cs.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

export interface AccountSasOptions {
  /** Lifetime from now; 1 h by default. */
  readonly ttlMs?: number;
}

/**
 * `http://127.0.0.1:PORT/devstoreaccount1/CONTAINER?<account SAS>` for an Azurite connection string:
 * services b, resource types s+c+o, permissions rwdlacup (read, write incl. metadata, delete, list,
 * add, create, update, process), http allowed (Azurite speaks http). Pure: creates nothing
 * (AzCopy 10.32 does not create a missing container when the destination is a container URL:
 * every transfer fails with 404 ContainerNotFound; `azcopyUpload` creates it first).
 */
export function accountSas(connectionString: string, container: string, opts: AccountSasOptions = {}): string {
  const kv = parseConnectionString(connectionString);
  const name = kv.AccountName;
  const key = kv.AccountKey;
  const endpoint = kv.BlobEndpoint;
  if (!name || !key || !endpoint)
    throw new Error('accountSas: the connection string needs AccountName, AccountKey and BlobEndpoint');
  const sas = generateAccountSASQueryParameters(
    {
      startsOn: new Date(Date.now() - 5 * 60_000),
      expiresOn: new Date(Date.now() + (opts.ttlMs ?? 3600_000)),
      permissions: AccountSASPermissions.parse('rwdlacup'),
      resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
      services: AccountSASServices.parse('b').toString(),
      protocol: SASProtocol.HttpsAndHttp,
    },
    new StorageSharedKeyCredential(name, key),
  ).toString();
  return `${endpoint.replace(/\/+$/, '')}/${container}?${sas}`;
}

/** `url` with `suffix` appended to its path, before the SAS query: `withPath(u, '/*')`, `withPath(u, '/dir')`. */
export function withPath(urlWithSas: string, suffix: string): string {
  const q = urlWithSas.indexOf('?');
  return q < 0 ? urlWithSas + suffix : urlWithSas.slice(0, q) + suffix + urlWithSas.slice(q);
}

/** AzCopy's `--output-type json` EndOfJob message (only the fields tests use are typed). */
export interface AzcopyJobSummary {
  readonly JobID: string;
  readonly JobStatus: string;
  readonly TotalTransfers: string;
  readonly FileTransfers: string;
  readonly FolderPropertyTransfers: string;
  readonly SymlinkTransfers: string;
  readonly TransfersCompleted: string;
  readonly TransfersFailed: string;
  readonly TransfersSkipped: string;
  readonly FoldersCompleted: string;
  readonly FoldersFailed: string;
  readonly FoldersSkipped: string;
  readonly SkippedSymlinkCount: string;
  readonly SkippedSpecialFileCount: string;
  readonly SkippedHardlinkCount: string;
  readonly HardlinksConvertedCount: string;
  readonly FailedTransfers: readonly { Src: string; Dst: string; TransferStatus: string; ErrorCode?: number }[];
  readonly SkippedTransfers: readonly { Src: string; Dst: string; TransferStatus: string }[];
  readonly [k: string]: unknown;
}

export interface AzcopyRunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The EndOfJob summary, when AzCopy got that far. */
  readonly summary: AzcopyJobSummary | undefined;
  /** The last part of the job's log file (ERR lines and the summary, at the default log level). */
  readonly logTail: string;
}

export interface AzcopyRunOptions {
  /**
   * Upload: `src/*` instead of `src` — the folder's contents become blobs at the container root and
   * no blob is written for the folder itself (the layout a seedship container has). Download:
   * `container/*` instead of `container` — the container's blobs land directly in `dst` instead of
   * in `dst/<container>/`.
   */
  readonly contentsOnly?: boolean;
  /** Download only: `--include-directory-stub` (see docs/azcopy-posix.md: it restores no folder properties either). */
  readonly includeDirectoryStub?: boolean;
  /**
   * Download only: let AzCopy write into `.azDownload-<job>-<name>` temp files first (AzCopy's
   * default). Off by default here because with it a 255-byte name fails (ENAMETOOLONG).
   */
  readonly downloadToTempPath?: boolean;
  /** `--log-level`; ERROR by default (failed requests only). */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'NONE';
  /** More flags, appended. */
  readonly extraArgs?: readonly string[];
  /** Resolve instead of throwing when AzCopy exits non-zero (its summary says what failed). */
  readonly allowFailure?: boolean;
  /** Kill AzCopy after this long, as hung; HUNG_MS (10 min) by default. */
  readonly timeoutMs?: number;
  /** Upload only: create the container first if it is missing (AzCopy does not); true by default. */
  readonly createContainer?: boolean;
}

function logTailOf(home: string, max = 6000): string {
  const dir = join(home, 'logs');
  if (!existsSync(dir)) return '';
  const logs = readdirSync(dir).filter((n) => n.endsWith('.log'));
  const main = logs.filter((n) => !n.endsWith('-scanning.log'));
  const parts: string[] = [];
  for (const n of [...main, ...logs.filter((l) => l.endsWith('-scanning.log'))]) {
    const text = readFileSync(join(dir, n), 'latin1');
    const errs = text.split('\n').filter((l) => /\bERR(OR)?\b|FAILED|panic/.test(l));
    parts.push(`== ${n}\n${errs.slice(-40).join('\n')}\n${text.slice(-1500)}`);
  }
  const all = parts.join('\n');
  return all.length > max ? all.slice(-max) : all;
}

function parseSummary(stdout: string): AzcopyJobSummary | undefined {
  let summary: AzcopyJobSummary | undefined;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const m = JSON.parse(line) as { MessageType?: string; MessageContent?: string };
      if (m.MessageType === 'EndOfJob' && m.MessageContent) summary = JSON.parse(m.MessageContent) as AzcopyJobSummary;
    } catch {
      /* not one of AzCopy's JSON lines */
    }
  }
  return summary;
}

/** Run `azcopy copy SRC DST ...` with both POSIX flags, in a private home, and collect what it said. */
async function azcopyCopy(
  src: string,
  dst: string,
  fromTo: 'LocalBlob' | 'BlobLocal',
  opts: AzcopyRunOptions,
): Promise<AzcopyRunResult> {
  const bin = azcopyPath();
  if (!bin) throw new Error(`AzCopy is not available: ${azcopyUnavailableReason()}`);
  const home = mkdtempSync(join(tmpdir(), 'seedship-azcopy-'));
  const args = [
    'copy',
    src,
    dst,
    '--from-to',
    fromTo,
    '--recursive',
    '--preserve-posix-properties',
    '--preserve-symlinks',
    '--log-level',
    opts.logLevel ?? 'ERROR',
    '--output-type',
    'json',
    '--check-version=false',
    ...(opts.includeDirectoryStub ? ['--include-directory-stub'] : []),
    ...(opts.extraArgs ?? []),
  ];
  const env = azcopyEnv(
    home,
    fromTo === 'BlobLocal' && !opts.downloadToTempPath ? { AZCOPY_DOWNLOAD_TO_TEMP_PATH: 'false' } : {},
  );
  try {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(bin, args, { env, cwd: home, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
        child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
        const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? HUNG_MS);
        child.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
        child.on('close', (c) => {
          clearTimeout(timer);
          resolve({ code: c, stdout: out, stderr: err });
        });
      },
    );
    const result: AzcopyRunResult = { code, stdout, stderr, summary: parseSummary(stdout), logTail: logTailOf(home) };
    if (code !== 0 && !opts.allowFailure) {
      const failed = result.summary?.FailedTransfers.map((f) => `${f.Src} -> ${f.Dst}`).join('\n') ?? '';
      throw new Error(
        `azcopy ${fromTo} exited ${code} (${result.summary?.JobStatus ?? 'no summary'})\n${failed}\n${stderr.slice(-2000)}\n--- log tail ---\n${result.logTail}`,
      );
    }
    return result;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * Upload the local folder `src` (`--from-to LocalBlob`) to a container URL with SAS (from
 * `accountSas`). With `contentsOnly` the blobs are named by their path relative to `src`, as in a
 * seedship container; without, every name starts with `basename(src)/` and `src` itself gets a
 * folder blob. Throws with the log tail when AzCopy fails, unless `allowFailure`.
 */
export async function azcopyUpload(
  src: string,
  containerUrlWithSas: string,
  opts: AzcopyRunOptions = {},
): Promise<AzcopyRunResult> {
  if (opts.createContainer ?? true) await new ContainerClient(containerUrlWithSas).createIfNotExists();
  const source = opts.contentsOnly ? `${src.replace(/\/+$/, '')}/*` : src;
  return azcopyCopy(source, containerUrlWithSas, 'LocalBlob', opts);
}

/**
 * Download a container (`--from-to BlobLocal`) into the local folder `dst` (created if missing).
 * With `contentsOnly` the blobs land directly under `dst`; without, under `dst/<container>/`.
 */
export function azcopyDownload(
  containerUrlWithSas: string,
  dst: string,
  opts: AzcopyRunOptions = {},
): Promise<AzcopyRunResult> {
  mkdirSync(dst, { recursive: true });
  const source = opts.contentsOnly ? withPath(containerUrlWithSas, '/*') : containerUrlWithSas;
  return azcopyCopy(source, dst, 'BlobLocal', opts);
}

// ---------------------------------------------------------------------------------------------
// What AzCopy 10.32 writes, as a function of one lstat (see docs/azcopy-posix.md).

const S_IFMT = 0o170000;
const S_IFSOCK = 0o140000;
const S_IFLNK = 0o120000;
const S_IFBLK = 0o060000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;

/** Every POSIX metadata key AzCopy 10.32 may write (standard style, Linux, statx available). */
export const AZCOPY_POSIX_KEYS = [
  'permissions',
  'modtime',
  'posix_owner',
  'posix_group',
  'posix_nlink',
  'posix_ino',
  'posix_dev',
  'posix_rdev',
  'posix_atime',
  'posix_ctime',
  'linux_btime',
  'linux_statx_mask',
  'linux_attribute',
  'linux_attribute_mask',
  'hdi_isfolder',
  'is_symlink',
  'is_fifo',
  'is_char_dev',
  'is_block_dev',
  'is_socket',
] as const;

/**
 * Keys whose values come from statx(2) and the filesystem, not from what Node's lstat returns:
 * always present, decimal, equal between two uploads of the same tree on the same filesystem, but
 * not computable here (`linux_statx_mask` is the stx_mask the kernel returned, 8191 on ext4 with
 * Linux ≥ 5.8; `linux_attribute_mask` is stx_attributes_mask, `linux_attribute` is
 * stx_attributes & stx_attributes_mask).
 */
export const AZCOPY_STATX_KEYS = ['linux_statx_mask', 'linux_attribute', 'linux_attribute_mask'] as const;

/**
 * Keys that are not stable: `posix_atime` is taken after AzCopy itself read the file (so a first
 * read under relatime moves it), and reading a directory or a symlink moves theirs too. Under
 * relatime a second upload of the same tree within 24 h writes the same atime again, but nothing
 * guarantees it.
 */
export const AZCOPY_UNSTABLE_KEYS = ['posix_atime'] as const;

/**
 * The POSIX metadata AzCopy 10.32 writes for an entry with this `lstat(path, { bigint: true })`,
 * for every key that follows from the lstat alone (all but AZCOPY_STATX_KEYS and posix_atime, which
 * is included only with `includeAtime`). Values are decimal strings; times are ns since the epoch.
 * Reproduces AzCopy's quirks exactly: the type flags are set by testing `(mode & BIT) === BIT` for
 * S_IFCHR, S_IFBLK, S_IFSOCK, S_IFIFO and S_IFDIR, so a symlink also gets `is_char_dev`, a block
 * device also `is_char_dev` and `hdi_isfolder`, a socket also `hdi_isfolder`; `posix_rdev` is
 * written whenever the S_IFCHR bit is set (so for symlinks too, as "0").
 */
export function azcopyPosixExpectations(
  st: BigIntStats,
  opts: { includeAtime?: boolean } = {},
): Record<string, string> {
  const mode = Number(st.mode);
  const out: Record<string, string> = {
    permissions: String(mode),
    modtime: String(st.mtimeNs),
    posix_owner: String(st.uid),
    posix_group: String(st.gid),
    posix_nlink: String(st.nlink),
    posix_ino: String(st.ino),
    posix_dev: String(st.dev),
    posix_ctime: String(st.ctimeNs),
  };
  if (st.birthtimeNs > 0n) out.linux_btime = String(st.birthtimeNs);
  if (opts.includeAtime) out.posix_atime = String(st.atimeNs);
  const has = (bit: number) => (mode & bit) === bit;
  if (has(S_IFCHR)) out.is_char_dev = 'true';
  if (has(S_IFBLK)) out.is_block_dev = 'true';
  if (has(S_IFSOCK)) out.is_socket = 'true';
  if (has(S_IFIFO)) out.is_fifo = 'true';
  if (has(S_IFDIR)) out.hdi_isfolder = 'true';
  if ((mode & S_IFMT) === S_IFLNK) out.is_symlink = 'true';
  if (has(S_IFCHR) || has(S_IFBLK)) out.posix_rdev = String(st.rdev);
  return out;
}

/**
 * The differences between two blobs' POSIX metadata (e.g. what AzCopy wrote and what seedship
 * imported for the same entry), over AZCOPY_POSIX_KEYS minus `ignore` (posix_atime by default):
 * one line per key whose presence or value differs; empty when they agree. Keys outside
 * AZCOPY_POSIX_KEYS are not compared.
 */
export function diffPosixMetadata(
  expected: Record<string, string>,
  actual: Record<string, string>,
  ignore: readonly string[] = AZCOPY_UNSTABLE_KEYS,
): string[] {
  const out: string[] = [];
  for (const k of AZCOPY_POSIX_KEYS) {
    if (ignore.includes(k)) continue;
    if (expected[k] !== actual[k])
      out.push(`${k}: expected ${expected[k] ?? '(absent)'}, got ${actual[k] ?? '(absent)'}`);
  }
  return out;
}

/**
 * The blob name AzCopy gives a path relative to the upload root (with `contentsOnly`): the path
 * itself, except that every `\` becomes `/` (AzCopy treats backslash as a separator on Linux too,
 * so `back\slash` is uploaded as `back/slash` and comes back as a folder `back` holding `slash`).
 */
export function azcopyBlobName(relativePath: string): string {
  return relativePath.replaceAll('\\', '/');
}

/** S_IF* constants, for tests. */
export const S_IF = {
  FMT: S_IFMT,
  SOCK: S_IFSOCK,
  LNK: S_IFLNK,
  BLK: S_IFBLK,
  DIR: S_IFDIR,
  CHR: S_IFCHR,
  IFO: S_IFIFO,
} as const;
