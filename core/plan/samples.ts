/** Picks the byte ranges of staged files `plan` and `bench` compress as samples. */
import type { Codec, EncodeTask, FileSystem } from '../../native/interfaces.js';
import { walkStaging } from '../staging/scan.js';

/** One byte range of a staged file to read as a sample, with the file's identity when listed. */
export interface SampleRange {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  readonly expect: { readonly size: number; readonly mtimeMs: number; readonly ino: number };
}

/**
 * Pick up to `count` ranges of `sampleBytes` spread evenly over the `totalBytes` of the staging
 * tree (walk order), so large files weigh as they should. Files shorter than `sampleBytes` give a
 * shorter range. Used by `plan` and `bench`.
 */
export async function pickSamples(
  fs: FileSystem,
  root: string,
  opts: { totalBytes: number; count: number; sampleBytes: number; exclude: (rel: string) => boolean },
): Promise<SampleRange[]> {
  const count = Math.min(opts.count, Math.ceil(opts.totalBytes / opts.sampleBytes));
  const step = opts.totalBytes / Math.max(1, count);
  const out: SampleRange[] = [];
  let pos = 0;
  let next = step / 2;
  for await (const f of walkStaging(fs, root, { exclude: opts.exclude, onSkip: () => undefined })) {
    while (opts.totalBytes > 0 && next < pos + f.size && out.length < count) {
      const offset = Math.max(0, Math.min(f.size - opts.sampleBytes, Math.floor(next - pos)));
      const length = Math.min(opts.sampleBytes, f.size);
      out.push({ path: f.abs, offset, length, expect: { size: f.size, mtimeMs: f.mtimeMs, ino: f.ino } });
      next += step;
    }
    pos += f.size;
    if (out.length >= count) break;
  }
  return out;
}

/** The worker task that reads, hashes and compresses one sample as `prepare` would its chunk. */
export function sampleEncodeTask(s: SampleRange, codec: Codec, level: number): EncodeTask {
  return {
    kind: 'encode',
    path: s.path,
    offset: s.offset,
    length: s.length,
    expect: s.expect,
    codec,
    level,
    pages: false,
    cipher: undefined,
    tweakSeed: undefined,
    unitOffset: s.offset,
  };
}
