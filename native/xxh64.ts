/**
 * XXH64 (seed 0) as 16 lower-case hex digits, the form the journal keeps: the addon's portable C
 * (native/addon/xxh64.cc, ~2× xxhash-wasm's h64Raw on 4 MiB, bench/MICRO.md) where it loads, else
 * xxhash-wasm. `SEEDSHIP_NO_ADDON=1` means xxhash-wasm.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import xxhash from 'xxhash-wasm';
import { DEFAULT_ADDON_URL } from './os-extras.js';

/** Hashes one buffer; `backend` says how. */
export interface Xxh64Hasher {
  readonly backend: 'addon' | 'xxhash-wasm';
  /** Why the addon is not used, when `backend` is 'xxhash-wasm'. */
  readonly reason: string | undefined;
  hex(data: Uint8Array): string;
}

/** Options for `createXxh64Hasher`; the defaults are what the workers use. */
export interface Xxh64Options {
  /** The compiled addon. Default: DEFAULT_ADDON_URL. */
  readonly addonPath?: string | URL;
  /**
   * 'wasm' for xxhash-wasm even when the addon loads; 'addon' for the addon even with
   * SEEDSHIP_NO_ADDON=1. Default: the addon unless SEEDSHIP_NO_ADDON=1.
   */
  readonly use?: 'addon' | 'wasm';
}

async function wasmHasher(reason: string): Promise<Xxh64Hasher> {
  const h = await xxhash();
  return { backend: 'xxhash-wasm', reason, hex: (data) => h.h64Raw(data).toString(16).padStart(16, '0') };
}

/** The addon's xxh64Hex where it loads, else xxhash-wasm. Never rejects for want of the addon. */
export async function createXxh64Hasher(opts: Xxh64Options = {}): Promise<Xxh64Hasher> {
  if (opts.use === 'wasm') return wasmHasher('asked for');
  // The addon asked for by the caller wins over the environment (tests use that).
  if (opts.use === undefined && opts.addonPath === undefined && process.env.SEEDSHIP_NO_ADDON === '1')
    return wasmHasher('disabled by SEEDSHIP_NO_ADDON=1');
  const where = opts.addonPath ?? DEFAULT_ADDON_URL;
  let b: { xxh64Hex?: unknown };
  try {
    b = createRequire(import.meta.url)(typeof where === 'string' ? where : fileURLToPath(where)) as {
      xxh64Hex?: unknown;
    };
  } catch (err) {
    return wasmHasher(`addon not loaded: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof b.xxh64Hex !== 'function')
    return wasmHasher('the addon has no xxh64Hex (built from older sources?); run `npm run build:native`');
  const fn = b.xxh64Hex as (data: Uint8Array) => string;
  return { backend: 'addon', reason: undefined, hex: fn };
}
