import { Piscina } from 'piscina';
import type { ChunkProcessor, DecodeResult, DecodeTask, EncodeResult, EncodeTask } from './interfaces.js';
import type { EncodeBatchTask } from './chunk-worker.js';

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
    const transferList = task.into ? [task.into] : undefined;
    return this.#pool.run(task, {
      ...(signal ? { signal } : {}),
      ...(transferList ? { transferList } : {}),
    }) as Promise<EncodeResult>;
  }
  encodeMany(tasks: readonly EncodeTask[], signal?: AbortSignal): Promise<EncodeResult[]> {
    const transferList = tasks.flatMap((t) => (t.into ? [t.into] : []));
    const batch: EncodeBatchTask = { kind: 'encode-batch', tasks };
    return this.#pool.run(batch, {
      ...(signal ? { signal } : {}),
      ...(transferList.length ? { transferList } : {}),
    }) as Promise<EncodeResult[]>;
  }
  decode(task: DecodeTask, signal?: AbortSignal): Promise<DecodeResult> {
    return this.#pool.run(task, signal ? { signal } : {}) as Promise<DecodeResult>;
  }
  close(): Promise<void> {
    return this.#pool.destroy();
  }
}
