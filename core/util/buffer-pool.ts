/**
 * A free list of equal-sized chunk buffers that travel to a worker with a task and come back with
 * its result (moved, not copied), so a copy allocates its large buffers once instead of once per
 * chunk: no page faults on fresh memory and no garbage collections of detached 4 MiB buffers on
 * the main thread (measured: 0.9 s of 4.3 s on the main thread for 1 GiB at --codec none).
 * `take` never waits: an empty pool allocates, and `give` keeps at most `capacity` buffers.
 */
export class BufferPool {
  readonly bytes: number;
  readonly #capacity: number;
  readonly #free: ArrayBuffer[] = [];

  constructor(bytes: number, capacity: number) {
    this.bytes = bytes;
    this.#capacity = capacity;
  }

  take(): ArrayBuffer {
    return this.#free.pop() ?? new ArrayBuffer(this.bytes);
  }

  /** Return a buffer once nothing reads it any more; buffers of another size are left to the GC. */
  give(buf: ArrayBufferLike): void {
    if (buf instanceof ArrayBuffer && buf.byteLength === this.bytes && this.#free.length < this.#capacity)
      this.#free.push(buf);
  }

  get free(): number {
    return this.#free.length;
  }
}
