/** Appends records to the journal with group commit. */
import type { FileHandle, FileSystem } from '../../native/interfaces.js';
import {
  encodeHeader,
  encodeRecord,
  encodeWholeFile,
  HEADER_BYTES,
  JOURNAL_VERSION,
  type JournalRecord,
  type WholeFileRecs,
} from './record-codec.js';
import { SeedshipError } from '../errors/errors.js';

/**
 * Appends records to the journal with group commit: `append` only buffers; `commit` writes the
 * buffer and fdatasyncs. The caller makes the data a record points at durable before appending
 * the record (invariant 1, docs/invariants.md). Owns its handle until `close`.
 */
export class JournalWriter {
  readonly #h: FileHandle;
  #pos: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #pendingRecords = 0;
  /** Records appended since this writer was opened, committed or not. */
  #appended = 0;
  /** Format version of this journal: records are appended in its format (version 1 has no WholeFile). */
  readonly version: number;

  private constructor(h: FileHandle, pos: number, version: number) {
    this.#h = h;
    this.#pos = pos;
    this.version = version;
  }

  /**
   * Create a new journal (fails if one exists) with its header made durable. Published atomically,
   * so a crash leaves either no journal or one with a whole header.
   */
  static async create(
    fs: FileSystem,
    path: string,
    jobId: Uint8Array,
    version = JOURNAL_VERSION,
  ): Promise<JournalWriter> {
    if (await fs.exists(path))
      throw new SeedshipError('E_INTERNAL', `EEXIST: journal ${path} already exists`, { path });
    await fs.writeFileAtomic(path, encodeHeader(jobId, version), 0o600);
    const h = await fs.open(path, 'r+', 0o600);
    return new JournalWriter(h, HEADER_BYTES, version);
  }

  /**
   * Open an existing journal of format `version` (its reader's) for appending after `validEnd`,
   * cutting off any torn tail (`fileSize` beyond it).
   */
  static async openAt(
    fs: FileSystem,
    path: string,
    at: { readonly validEnd: number; readonly fileSize: number; readonly version: number },
  ): Promise<JournalWriter> {
    const { validEnd, fileSize, version } = at;
    const h = await fs.open(path, 'r+', 0o600);
    if (fileSize > validEnd) {
      await h.truncate(validEnd);
      await h.datasync();
    }
    return new JournalWriter(h, validEnd, version);
  }

  append(r: JournalRecord): void {
    this.#push(encodeRecord(r));
  }

  /**
   * Append the three records of a file placed whole in one chunk: as one WholeFile record where
   * the journal's version has it and the three describe exactly that, else one by one.
   */
  appendWholeFile(recs: WholeFileRecs): void {
    const b = this.version >= 2 ? encodeWholeFile(recs, this.version >= 3) : undefined;
    if (b) this.#push(b);
    else for (const r of recs) this.append(r);
  }

  #push(b: Buffer): void {
    this.#pending.push(b);
    this.#pendingBytes += b.length;
    this.#pendingRecords++;
    this.#appended++;
  }

  /** Records appended since this writer was opened (a position that only grows). */
  get appended(): number {
    return this.#appended;
  }

  /** Records appended since this writer was opened that are committed. */
  get committed(): number {
    return this.#appended - this.#pendingRecords;
  }

  get pendingRecords(): number {
    return this.#pendingRecords;
  }

  /**
   * Write buffered records and make them durable: all of them, or only the first `upTo` (a
   * pipelined group commit covers the records whose data was synced before it began; records
   * appended since wait for the next commit). Commits must not overlap; the caller serialises them.
   */
  async commit(upTo = this.#pendingRecords): Promise<void> {
    const n = Math.min(upTo, this.#pendingRecords);
    if (n === 0) return;
    const taken = this.#pending.splice(0, n);
    const bytes = n === this.#pendingRecords ? this.#pendingBytes : taken.reduce((a, b) => a + b.length, 0);
    this.#pendingBytes -= bytes;
    this.#pendingRecords -= n;
    const b = taken.length === 1 ? taken[0]! : Buffer.concat(taken, bytes);
    await this.#h.write(b, this.#pos);
    this.#pos += b.length;
    await this.#h.datasync();
  }

  /** Bytes of the journal, committed part. */
  get size(): number {
    return this.#pos;
  }

  async close(): Promise<void> {
    await this.#h.close();
  }
}
