import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temp dir removed by `cleanup()`. */
export function tempDir(prefix = 'seedship-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic bytes: `kind` random (incompressible) or text (compressible). */
export function bytesOf(size: number, seed: number, kind: 'random' | 'text' | 'zero' = 'random'): Buffer {
  const out = Buffer.alloc(size);
  if (kind === 'zero') return out;
  if (kind === 'text') {
    const words = ['alpha', 'backup', 'chunk', 'drive', 'error', 'file', 'journal', 'manifest', 'seed', 'ship', 'zstd'];
    let s = seed >>> 0 || 1;
    let o = 0;
    while (o < size) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const w = `${words[(s >>> 0) % words.length]} ${(s >>> 8) % 1000}\n`;
      o += out.write(w, o);
    }
    return out;
  }
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  for (let i = size - (size % 4); i < size; i++) out[i] = i & 0xff;
  return out;
}

/** A tree description: relative path → contents (a string, a Buffer, or a recipe). */
export type TreeSpec = Record<
  string,
  string | Buffer | { size: number; seed: number; kind?: 'random' | 'text' | 'zero' }
>;

export function writeTree(root: string, spec: TreeSpec): void {
  for (const [rel, c] of Object.entries(spec)) {
    const p = join(root, rel);
    mkdirSync(p.slice(0, p.lastIndexOf('/')), { recursive: true });
    writeFileSync(p, typeof c === 'string' || Buffer.isBuffer(c) ? c : bytesOf(c.size, c.seed, c.kind ?? 'random'));
  }
}

/** Map of relative path → sha256 of every regular file under root (skipping `.seedship`). */
export function hashTree(root: string, skip: (rel: string) => boolean = (r) => r === '.seedship'): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const st = lstatSync(join(root, r));
      if (st.isDirectory()) walk(r);
      else if (st.isFile())
        out.set(
          r,
          createHash('sha256')
            .update(readFileSync(join(root, r)))
            .digest('hex'),
        );
    }
  };
  walk('');
  return out;
}

/** Every regular file under `root`, concatenated (to search a drive for bytes that must not be there). */
export function readAllFiles(root: string): Buffer {
  const parts: Buffer[] = [];
  const walk = (p: string) => {
    for (const name of readdirSync(p)) {
      const q = join(p, name);
      const st = lstatSync(q);
      if (st.isDirectory()) walk(q);
      else if (st.isFile()) parts.push(readFileSync(q));
    }
  };
  walk(root);
  return Buffer.concat(parts);
}
