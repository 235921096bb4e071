/**
 * The worker pool behind `ChunkProcessor`: sends chunk requests (chunk-protocol.ts) to the worker
 * threads of chunk-worker.ts and hands back their typed replies.
 */
import { Piscina } from 'piscina';
import type { ChunkReply, ChunkRequest, ReplyOf } from './chunk-protocol.js';
import type { ChunkProcessor, DecodeResult, DecodeTask, EncodeResult, EncodeTask } from './interfaces.js';

/**
 * Callers (the pipeline's bounded window) never have more than a few tasks per thread outstanding,
 * so the queue stays small; piscina's own queue limit is left unbounded rather than rejecting with
 * TaskQueueAtLimit.
 */
export class PiscinaChunkProcessor implements ChunkProcessor {
  readonly threads: number;
  readonly #pool: Piscina<ChunkRequest, ChunkReply>;
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
    return this.run(task, signal);
  }
  encodeMany(tasks: readonly EncodeTask[], signal?: AbortSignal): Promise<EncodeResult[]> {
    return this.run({ kind: 'encode-batch', tasks }, signal);
  }
  decode(task: DecodeTask, signal?: AbortSignal): Promise<DecodeResult> {
    return this.run(task, signal);
  }
  close(): Promise<void> {
    return this.#pool.destroy();
  }

  /** Run one request on a worker. The buffers it lends the worker (`into`) are moved, not copied. */
  run<R extends ChunkRequest>(req: R, signal?: AbortSignal): Promise<ReplyOf<R>> {
    const transferList = lentBuffers(req);
    const reply = this.#pool.run(req, {
      ...(signal ? { signal } : {}),
      ...(transferList.length ? { transferList } : {}),
    });
    // The one cast of the protocol: a reply crosses a thread boundary, so its type cannot follow
    // the request's. chunk-worker.ts's handler answers each kind with ReplyMap's reply for it
    // (checked there, kind by kind, by the compiler).
    return reply as Promise<ReplyOf<R>>;
  }
}

/** The pool buffers a request lends the worker to hold stored bytes (EncodeTask.into). */
function lentBuffers(req: ChunkRequest): ArrayBuffer[] {
  switch (req.kind) {
    case 'encode':
      return req.into ? [req.into] : [];
    case 'encode-batch':
      return req.tasks.flatMap((t) => (t.into ? [t.into] : []));
    case 'decode':
      return [];
  }
}
