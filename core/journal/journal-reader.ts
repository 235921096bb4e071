/** Reads a journal record by record, finding where its valid part ends. */
import type { FileSystem } from '../../native/interfaces.js';
import { SeedshipError } from '../errors/errors.js';
import { decodeHeader, decodeRecord, HEADER_BYTES, type JournalRecord, type RecordType } from './record-codec.js';

const READ_BLOCK_BYTES = 1 << 20;

/** Where the valid part of a journal ends, and why it ends there. */
export interface JournalTail {
  /** Byte offset just past the last good record. */
  validEnd: number;
  /** File size; greater than validEnd when a torn tail follows. */
  fileSize: number;
  /** Why reading stopped before the end of the file, if it did. */
  tornReason: string | undefined;
}

/**
 * Stream the records of a journal in order, stopping at the first short, over-long or failing
 * record (a torn tail, reported in `tail`, not an error). A bad header is `E_JOURNAL_CORRUPT`.
 * Owns and closes its file handle; memory is one read block plus one record.
 */
export class JournalReader {
  readonly tail: JournalTail = { validEnd: HEADER_BYTES, fileSize: 0, tornReason: undefined };
  jobId: Buffer | undefined;
  /** The journal's format version (from its header), once reading began. */
  version: number | undefined;
  readonly #fs: FileSystem;
  readonly #path: string;

  constructor(fs: FileSystem, path: string) {
    this.#fs = fs;
    this.#path = path;
  }

  /**
   * The records, in order. With `types`, only records of those types are parsed and yielded
   * (the others are still checked, so a torn tail ends the stream the same way).
   */
  async *records(types?: ReadonlySet<RecordType>): AsyncGenerator<JournalRecord> {
    const want = types ? (t: RecordType) => types.has(t) : undefined;
    const h = await this.#fs.open(this.#path, 'r');
    try {
      const size = (await h.stat()).size;
      this.tail.fileSize = size;
      const head = Buffer.alloc(HEADER_BYTES);
      const n = await h.read(head, 0, HEADER_BYTES, 0);
      const dh = decodeHeader(head.subarray(0, n));
      if (!dh.ok) {
        throw new SeedshipError(
          'E_JOURNAL_CORRUPT',
          `journal ${this.#path} is unreadable: ${dh.reason}; restore it from a backup or start a new session dir`,
          { path: this.#path },
        );
      }
      this.jobId = dh.jobId;
      this.version = dh.version;
      let pos = HEADER_BYTES;
      let buf: Buffer = Buffer.alloc(0);
      let readPos = HEADER_BYTES;
      for (;;) {
        const step = decodeRecord(buf, want);
        if (step.kind === 'record' || step.kind === 'records' || step.kind === 'skip') {
          buf = buf.subarray(step.bytes);
          pos += step.bytes;
          this.tail.validEnd = pos;
          if (step.kind === 'record') yield step.record;
          else if (step.kind === 'records') for (const r of step.records) if (!want || want(r.type)) yield r;
          continue;
        }
        if (step.kind === 'torn') {
          this.tail.tornReason = step.reason;
          return;
        }
        if (readPos >= size) {
          if (buf.length > 0) this.tail.tornReason = 'journal ends inside a record';
          return;
        }
        const more = Math.min(Math.max(READ_BLOCK_BYTES, buf.length), size - readPos);
        const next = Buffer.allocUnsafe(buf.length + more);
        buf.copy(next, 0);
        const got = await h.read(next, buf.length, more, readPos);
        readPos += got;
        buf = next.subarray(0, buf.length + got);
        if (got === 0) readPos = size;
      }
    } finally {
      await h.close();
    }
  }
}

/** Convenience: read every record of a journal (tests and small journals). */
export async function readAllRecords(
  fs: FileSystem,
  path: string,
): Promise<{ records: JournalRecord[]; tail: JournalTail; jobId: Buffer | undefined; version: number | undefined }> {
  const r = new JournalReader(fs, path);
  const records: JournalRecord[] = [];
  for await (const rec of r.records()) records.push(rec);
  return { records, tail: r.tail, jobId: r.jobId, version: r.version };
}
