/** The data sets `bench` times: chunks sampled from staging, or synthetic samples of typical kinds. */
import type { FileSystem } from '../../native/interfaces.js';
import { errnoCode, SeedshipError } from '../errors/errors.js';
import { rawChunkBytes } from '../manifest/chunking.js';
import { pickSamples, type SampleRange } from '../plan/samples.js';
import { walkStaging } from '../staging/scan.js';
import { SESSION_ROOT_NAME } from '../session/session-layout.js';
import { formatBytes } from '../util/size.js';
import { syntheticBytes, type SyntheticKind } from './sample-data.js';

/** Chunks of one data set: as files for the worker pool and as bytes for the per-core timings. */
export interface BenchDataset {
  readonly name: string;
  readonly ranges: readonly SampleRange[];
  readonly chunks: readonly Uint8Array[];
}

/** The size of a chunk `prepare` compresses. */
export const BENCH_CHUNK_BYTES = rawChunkBytes('zstd');
/** Staging chunks sampled: enough to average over content, little enough to hold in memory. */
const STAGING_CHUNKS = 8;
/** Chunks per synthetic data set: its content is uniform, so fewer do. */
const SYNTHETIC_CHUNKS = 4;
const SYNTHETIC_KINDS: readonly SyntheticKind[] = ['text', 'random'];

/**
 * Samples of a staging tree: its totals, and up to 8 chunk-sized ranges spread over its bytes
 * (as `plan` picks them), read into memory. The session dir `.seedship` is left out.
 */
export async function stagingDataset(
  fs: FileSystem,
  staging: string,
  signal: AbortSignal,
): Promise<{ dataset: BenchDataset; files: number; bytes: number }> {
  const exclude = (rel: string) => rel === SESSION_ROOT_NAME;
  let files = 0;
  let bytes = 0;
  for await (const f of walkStaging(fs, staging, { exclude, onSkip: () => undefined })) {
    signal.throwIfAborted();
    files++;
    bytes += f.size;
  }
  const ranges = await pickSamples(fs, staging, {
    totalBytes: bytes,
    count: STAGING_CHUNKS,
    sampleBytes: BENCH_CHUNK_BYTES,
    exclude,
  });
  const chunks: Uint8Array[] = [];
  for (const r of ranges) {
    const fh = await fs.open(r.path, 'r');
    try {
      const buf = Buffer.allocUnsafe(r.length);
      let n = 0;
      while (n < r.length) {
        const got = await fh.read(buf, n, r.length - n, r.offset + n);
        if (got === 0) break;
        n += got;
      }
      chunks.push(buf.subarray(0, n));
    } finally {
      await fh.close();
    }
  }
  return { dataset: { name: 'staging', ranges, chunks }, files, bytes };
}

/**
 * The built-in data sets (log-like text, random bytes), generated in memory and also written to a
 * new directory `dir` because pool workers read their chunks from files. `cleanup` removes it.
 */
export async function syntheticDatasets(
  fs: FileSystem,
  dir: string,
): Promise<{ datasets: BenchDataset[]; cleanup: () => Promise<void> }> {
  const written: string[] = [];
  let made = false;
  const cleanup = async () => {
    for (const p of written) await fs.unlink(p);
    if (made) await fs.rmdir(dir);
  };
  try {
    if (await fs.exists(dir)) throw new SeedshipError('E_INTERNAL', `${dir} exists already`);
    await fs.mkdir(dir, 0o700);
    made = true;
    const datasets: BenchDataset[] = [];
    for (const [i, kind] of SYNTHETIC_KINDS.entries()) {
      const data = syntheticBytes(kind, SYNTHETIC_CHUNKS * BENCH_CHUNK_BYTES, 1 + i);
      const path = `${dir}/${kind}.bin`;
      written.push(path);
      await fs.writeNewFile(path, data);
      const st = await fs.stat(path);
      const expect = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
      const ranges = Array.from({ length: SYNTHETIC_CHUNKS }, (_, c) => ({
        path,
        offset: c * BENCH_CHUNK_BYTES,
        length: BENCH_CHUNK_BYTES,
        expect,
      }));
      datasets.push({ name: kind, ranges, chunks: ranges.map((r) => data.subarray(r.offset, r.offset + r.length)) });
    }
    return { datasets, cleanup };
  } catch (err) {
    await cleanup().catch(() => undefined);
    if (err instanceof SeedshipError) throw err;
    throw new SeedshipError(
      'E_USAGE',
      `could not write the synthetic sample files to ${dir} (${errnoCode(err) ?? 'error'}); ` +
        `they need ${formatBytes(SYNTHETIC_KINDS.length * SYNTHETIC_CHUNKS * BENCH_CHUNK_BYTES)}` +
        `: set TMPDIR to another directory or give --staging`,
      { path: dir, cause: err },
    );
  }
}
