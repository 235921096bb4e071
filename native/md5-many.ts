/**
 * MD5 of several buffers at once: the addon's multi-buffer kernels (native/addon/md5_many.cc: 16
 * lanes in AVX-512, 8 in AVX2, or its scalar code) hash independent buffers side by side, one per
 * SIMD lane; without the addon, node:crypto hashes them one after another. Digests are upper-case
 * hex, as the manifest's Hash attributes want them. Safe to use on any thread: each worker loads
 * its own copy of the addon.
 *
 * `SEEDSHIP_MD5=node|scalar|avx2|avx512` forces a path (benchmarks, A/B runs); `SEEDSHIP_NO_ADDON=1`
 * means node:crypto.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ADDON_URL } from './os-extras.js';

/** The addon's kernels, as `md5Many`'s `isa` argument names them. */
export type Md5Isa = 'scalar' | 'avx2' | 'avx512';

/** What the addon exports for MD5. */
interface Md5Binding {
  md5Many(buffers: readonly Uint8Array[], isa?: Md5Isa): Uint8Array[];
  /** The kernel used when none is asked for: the fastest this CPU supports. */
  readonly md5Isa: Md5Isa;
  /** Every kernel this CPU supports. */
  readonly md5Isas: readonly Md5Isa[];
}

/** Hashes buffers; `backend` says how. */
export interface Md5Hasher {
  /** 'node:crypto', or the addon kernel in use. */
  readonly backend: 'node:crypto' | Md5Isa;
  /** Why the addon is not used, when `backend` is 'node:crypto'. */
  readonly reason: string | undefined;
  /** Upper-case hex MD5 of each buffer, in order. */
  hexMany(buffers: readonly Uint8Array[]): string[];
}

/** Options for `loadMd5Hasher`; the defaults are what the workers use. */
export interface Md5Options {
  /** The compiled addon. Default: DEFAULT_ADDON_URL. */
  readonly addonPath?: string | URL;
  /**
   * A kernel (even with SEEDSHIP_NO_ADDON=1), or 'node' for node:crypto. Default: `SEEDSHIP_MD5`, else
   * the fastest kernel.
   */
  readonly use?: Md5Isa | 'node';
}

function md5Hex(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex').toUpperCase();
}

function hexOf(d: Uint8Array): string {
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('hex').toUpperCase();
}

function isMd5Binding(x: unknown): x is Md5Binding {
  const b = x as Partial<Md5Binding> | null;
  return (
    typeof b === 'object' &&
    b !== null &&
    typeof b.md5Many === 'function' &&
    Array.isArray(b.md5Isas) &&
    typeof b.md5Isa === 'string'
  );
}

function nodeHasher(reason: string): Md5Hasher {
  return { backend: 'node:crypto', reason, hexMany: (buffers) => buffers.map(md5Hex) };
}

/** The addon's md5Many where it loads (and the forced kernel is supported), else node:crypto. Never throws. */
export function loadMd5Hasher(opts: Md5Options = {}): Md5Hasher {
  const env = process.env.SEEDSHIP_MD5;
  const use = opts.use ?? (env === 'node' || env === 'scalar' || env === 'avx2' || env === 'avx512' ? env : undefined);
  if (use === 'node') return nodeHasher(opts.use ? 'asked for' : 'SEEDSHIP_MD5=node');
  // A kernel or an addon asked for by the caller wins over the environment (tests use that).
  if (opts.use === undefined && opts.addonPath === undefined && process.env.SEEDSHIP_NO_ADDON === '1')
    return nodeHasher('disabled by SEEDSHIP_NO_ADDON=1');
  const where = opts.addonPath ?? DEFAULT_ADDON_URL;
  let b: unknown;
  try {
    b = createRequire(import.meta.url)(typeof where === 'string' ? where : fileURLToPath(where));
  } catch (err) {
    return nodeHasher(`addon not loaded: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isMd5Binding(b))
    return nodeHasher('the addon has no md5Many (built from older sources?); run `npm run build:native`');
  if (use && !b.md5Isas.includes(use)) return nodeHasher(`this CPU cannot run the ${use} kernel`);
  const binding = b;
  const isa = use ?? binding.md5Isa;
  return {
    backend: isa,
    reason: undefined,
    hexMany(buffers) {
      // One buffer fills one lane: OpenSSL's assembly is faster there (bench/MICRO.md), unless a
      // kernel was asked for by name.
      if (buffers.length === 0) return [];
      if (buffers.length === 1 && !use) return [md5Hex(buffers[0]!)];
      return binding.md5Many(buffers, isa).map(hexOf);
    },
  };
}

let cached: Md5Hasher | undefined;

/** The process-wide (thread-wide) hasher, loaded on first use with the default options. */
export function md5Hasher(): Md5Hasher {
  cached ??= loadMd5Hasher();
  return cached;
}

/** Upper-case hex MD5 of each buffer, in order, hashed side by side when the addon is there. */
export function md5HexMany(buffers: readonly Uint8Array[]): string[] {
  return md5Hasher().hexMany(buffers);
}
