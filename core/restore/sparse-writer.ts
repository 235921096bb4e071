/**
 * Sparse writing: data written with its all-zero 4 KiB blocks left out as holes, at an offset
 * (`writeNonZero`) or front to back in pieces (`SparseWriter`).
 */
import type { FileHandle } from '../../native/interfaces.js';

/** The block a zero run is measured in: the page and file system block size of Linux file systems. */
export const SPARSE_BLOCK_BYTES = 4096;
/** What a SparseWriter gathers before it writes: the chunk size, so a write is one chunk. */
const GATHER_BYTES = 4 * 1024 * 1024;
/** The first buffer of a SparseWriter: small files never get a 4 MiB one. */
const FIRST_BUFFER_BYTES = 64 * 1024;
const ZERO_BLOCK = new Uint8Array(SPARSE_BLOCK_BYTES);

function isZero(data: Uint8Array, from: number, to: number): boolean {
  return Buffer.compare(data.subarray(from, to), ZERO_BLOCK.subarray(0, to - from)) === 0;
}

/**
 * Write `data` at `position`, leaving out every 4 KiB block (aligned to the file, not to `data`)
 * that is all zeros: runs of non-zero blocks go out as one write each. The file must read as zeros
 * there already (new, truncated, or extended by `truncate`), which is what makes the skipped blocks
 * holes, as `rsync -S` and `cp --sparse` do. Returns the bytes written.
 */
export async function writeNonZero(h: FileHandle, data: Uint8Array, position: number): Promise<number> {
  let written = 0;
  let run = -1; // start of the current non-zero run, -1 when none
  let at = 0;
  while (at < data.length) {
    const end = Math.min(data.length, at + SPARSE_BLOCK_BYTES - ((position + at) % SPARSE_BLOCK_BYTES));
    if (!isZero(data, at, end)) {
      if (run < 0) run = at;
    } else if (run >= 0) {
      await h.write(data.subarray(run, at), position + run);
      written += at - run;
      run = -1;
    }
    at = end;
  }
  if (run >= 0) {
    await h.write(data.subarray(run), position + run);
    written += data.length - run;
  }
  return written;
}

/**
 * Writes a new file front to back in pieces of any size, gathered into up to 4 MiB and written
 * with `writeNonZero`, so zero regions become holes; `finish` sets the length (a file that ends in
 * zeros ends in a hole). Two buffers (each grown from 64 KiB to 4 MiB as the file turns out
 * larger): one fills while the other is being written, so the caller's download goes on during a
 * write. Owns the buffers, not the handle: the caller opens it with 'w'/'wx' and closes it, after
 * `finish` or `settle`. One append at a time.
 */
export class SparseWriter {
  readonly #h: FileHandle;
  #buf: Buffer = Buffer.alloc(0);
  /** The buffer of the write in flight, free again once it settles. */
  #spare: Buffer = Buffer.alloc(0);
  #inFlight: Promise<number> | undefined;
  #fill = 0;
  /** File offset of #buf[0]; a multiple of the block size until `finish`. */
  #base = 0;
  #written = 0;

  constructor(h: FileHandle) {
    this.#h = h;
  }

  /** Bytes appended so far (the file's length after `finish`). */
  get length(): number {
    return this.#base + this.#fill;
  }

  /** Bytes that went to disk (the rest were zero blocks left as holes); final after `finish`. */
  get written(): number {
    return this.#written;
  }

  /** Append `data`; it is copied or written before this resolves, so the caller may reuse it. */
  async append(data: Uint8Array): Promise<void> {
    let at = 0;
    while (at < data.length) {
      const whole = data.length - at - ((data.length - at) % SPARSE_BLOCK_BYTES);
      if (this.#fill === 0 && whole >= GATHER_BYTES) {
        // Already chunk-sized and block-aligned: write straight from the caller's buffer.
        await this.#wait();
        this.#written += await writeNonZero(this.#h, data.subarray(at, at + whole), this.#base);
        this.#base += whole;
        at += whole;
        continue;
      }
      if (this.#fill === this.#buf.length) {
        if (this.#buf.length < GATHER_BYTES) this.#grow();
        else await this.#flush();
      }
      const n = Math.min(data.length - at, this.#buf.length - this.#fill);
      this.#buf.set(data.subarray(at, at + n), this.#fill);
      this.#fill += n;
      at += n;
    }
  }

  /** Write what is gathered and set the file's length; returns it. */
  async finish(): Promise<number> {
    await this.#flush();
    await this.#wait();
    await this.#h.truncate(this.#base);
    return this.#base;
  }

  /** Wait for a write still in flight, ignoring its failure (before closing the handle after an error). */
  async settle(): Promise<void> {
    await this.#wait().catch(() => undefined);
  }

  #grow(): void {
    const next = Buffer.allocUnsafe(Math.min(GATHER_BYTES, Math.max(FIRST_BUFFER_BYTES, this.#buf.length * 2)));
    this.#buf.copy(next, 0, 0, this.#fill);
    this.#buf = next;
  }

  async #wait(): Promise<void> {
    const p = this.#inFlight;
    this.#inFlight = undefined;
    if (p) this.#written += await p;
  }

  /** Start writing the gathered bytes and go on with the other buffer (after its write settled). */
  async #flush(): Promise<void> {
    if (this.#fill === 0) return;
    await this.#wait();
    const full = this.#buf;
    const p = writeNonZero(this.#h, full.subarray(0, this.#fill), this.#base);
    p.catch(() => undefined); // observed here; thrown by the next #wait
    this.#inFlight = p;
    this.#base += this.#fill;
    this.#fill = 0;
    this.#buf = this.#spare.length >= full.length ? this.#spare : Buffer.allocUnsafe(full.length);
    this.#spare = full;
  }
}
