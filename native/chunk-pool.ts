import { Piscina } from 'piscina';
import type { ChunkProcessor, DecodeResult, DecodeTask, EncodeResult, EncodeTask } from './interfaces.js';

/**
 * The worker pool behind `ChunkProcessor`. Callers (the pipeline's bounded window) never have more
 * than a few tasks per thread outstanding, so the queue stays small; piscina's own queue limit is
 * left unbounded rather than rejecting with TaskQueueAtLimit.
 */
export class PiscinaChunkProcessor implements ChunkProcessor {
  readonly threads: number;
  readonly #pool: Piscina;
  constructor(threads: number) {
    this.threads = threads;
    this.#pool = new Piscina({
      filename: new URL('./chunk-worker.js', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 60_000,
    });
  }
  encode(task: EncodeTask, signal?: AbortSignal): Promise<EncodeResult> {
    return this.#pool.run(task, signal ? { signal } : {}) as Promise<EncodeResult>;
  }
  decode(task: DecodeTask, signal?: AbortSignal): Promise<DecodeResult> {
    return this.#pool.run(task, signal ? { signal } : {}) as Promise<DecodeResult>;
  }
  close(): Promise<void> {
    return this.#pool.destroy();
  }
}
