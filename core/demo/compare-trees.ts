/** Compares two directory trees byte for byte, for the demo's round trip. */
import { createHash } from 'node:crypto';
import type { FileSystem } from '../../native/interfaces.js';
import { SESSION_ROOT_NAME } from '../session/session-layout.js';
import { walkStaging } from '../staging/scan.js';

const READ_BYTES = 4 * 1024 * 1024;

export interface TreeDiff {
  readonly files: number;
  readonly bytes: number;
  /** Paths missing on one side or different in content (at most 20). */
  readonly differences: readonly string[];
}

async function digest(fs: FileSystem, path: string): Promise<string> {
  const h = await fs.open(path, 'r');
  const md = createHash('sha256');
  const buf = Buffer.alloc(READ_BYTES);
  try {
    for (let pos = 0; ; ) {
      const n = await h.read(buf, 0, READ_BYTES, pos);
      if (n === 0) break;
      md.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    await h.close();
  }
  return md.digest('hex');
}

/** Compare two trees file by file (SHA-256 of every byte), leaving out `.seedship`. */
export async function compareTrees(fs: FileSystem, a: string, b: string): Promise<TreeDiff> {
  const differences: string[] = [];
  const exclude = (rel: string) => rel === SESSION_ROOT_NAME;
  const seen = new Set<string>();
  let files = 0;
  let bytes = 0;
  for await (const f of walkStaging(fs, a, { exclude, onSkip: () => undefined })) {
    files++;
    bytes += f.size;
    seen.add(f.path);
    const other = `${b}/${f.path}`;
    if (!(await fs.exists(other)) || (await digest(fs, f.abs)) !== (await digest(fs, other))) {
      if (differences.length < 20) differences.push(f.path);
    }
  }
  for await (const f of walkStaging(fs, b, { exclude, onSkip: () => undefined })) {
    if (!seen.has(f.path) && differences.length < 20) differences.push(`${f.path} (only in ${b})`);
  }
  return { files, bytes, differences };
}
