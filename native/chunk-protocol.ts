/**
 * The messages between the worker pool (chunk-pool.ts) and its worker (chunk-worker.ts): every
 * request the worker accepts, and at the type level the reply each kind of request gets.
 */
import type { DecodeResult, DecodeTask, EncodeResult, EncodeTask } from './interfaces.js';

/** Several chunks in one task (see ChunkProcessor.encodeMany). */
export interface EncodeBatchTask {
  readonly kind: 'encode-batch';
  readonly tasks: readonly EncodeTask[];
}

/** Every request the worker accepts; `kind` tells them apart. */
export type ChunkRequest = EncodeTask | EncodeBatchTask | DecodeTask;

export type ChunkKind = ChunkRequest['kind'];

/**
 * The reply to each kind of request. Extending the record over `ChunkKind` makes a request kind
 * without a reply a compile error here.
 */
export interface ReplyMap extends Record<ChunkKind, unknown> {
  readonly encode: EncodeResult;
  /** In the order of the batch's tasks. */
  readonly 'encode-batch': EncodeResult[];
  readonly decode: DecodeResult;
}

/** The reply to request `R`. */
export type ReplyOf<R extends ChunkRequest> = ReplyMap[R['kind']];

/** Any reply. */
export type ChunkReply = ReplyMap[ChunkKind];
