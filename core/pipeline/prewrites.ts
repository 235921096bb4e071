/**
 * Small whole files that workers write onto a drive ahead of the main thread (with their
 * metadata files): tracked from the encode that writes them until the copy records them or
 * removes them, so nothing unrecorded stays on a drive and a seal waits for every such write.
 */
import type { EncodeResult, FileSystem } from '../../native/interfaces.js';
import type { ChunkJob, Prewrite } from './copy-run.js';

export class Prewrites {
  readonly #fs: FileSystem;
  /** Files written by workers whose results were not handled yet (removed if never handled). */
  readonly #written = new Set<string>();
  /** Encodes of files in flight: each may write whole files ahead to the drive it started on. */
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(fs: FileSystem) {
    this.#fs = fs;
  }

  /** Track an encode that may write files ahead, from its start until it settles. */
  track<T>(p: Promise<T>): Promise<T> {
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  /** An encode's results came back: note the files its workers wrote. */
  noteResults(batch: readonly ChunkJob[], results: readonly EncodeResult[]): void {
    results.forEach((r, i) => {
      const pre = batch[i]!.prewrite;
      if (pre && r.ok && r.written === true) {
        this.#written.add(pre.path);
        if (pre.meta) this.#written.add(pre.meta);
      }
    });
  }

  /** The file a worker wrote for `job`, which is the caller's to record or to remove from here on. */
  claim(job: ChunkJob, res: EncodeResult): Prewrite | undefined {
    const pre = written(job, res);
    if (pre) {
      this.#written.delete(pre.path);
      if (pre.meta) this.#written.delete(pre.meta);
    }
    return pre;
  }

  /** Remove a file (and its metadata file) written ahead that was claimed and is not recorded. */
  async remove(pre: Prewrite | undefined): Promise<void> {
    if (pre) await this.#fs.unlink(pre.path);
    if (pre?.meta) await this.#fs.unlink(pre.meta);
  }

  /** A chunk its pump will not write (its drive stopped): remove what a worker wrote ahead for it. */
  async drop(job: ChunkJob, res: EncodeResult): Promise<void> {
    const pre = written(job, res);
    if (!pre) return;
    this.#written.delete(pre.path);
    await this.#fs.unlink(pre.path);
    if (pre.meta) {
      this.#written.delete(pre.meta);
      await this.#fs.unlink(pre.meta);
    }
  }

  /** Let every encode that may still write files ahead finish. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }

  /**
   * Remove the files written ahead under `root` whose results were never handled (nothing records
   * them). `ignoreErrors`: an unlink that fails is let go (the pump is ending on an error).
   */
  async removeUnhandled(root: string, ignoreErrors: boolean): Promise<void> {
    for (const path of this.#written) {
      if (!path.startsWith(`${root}/`)) continue;
      this.#written.delete(path);
      if (ignoreErrors) await this.#fs.unlink(path).catch(() => undefined);
      else await this.#fs.unlink(path);
    }
  }
}

/** The file a worker wrote whole for `job`, if it did. */
function written(job: ChunkJob, res: EncodeResult): Prewrite | undefined {
  return job.prewrite && res.ok && res.written === true ? job.prewrite : undefined;
}
