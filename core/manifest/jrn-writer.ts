/** Writes the WAImportExport-style text journal (`<job>.jrn`). */
import type { FileSystem } from '../../native/interfaces.js';

/**
 * The WAImportExport-style text journal (`<job>.jrn`): append-only records of the documented form
 * `[BeginUpdateRecord][time][Type:…]` … `[EndUpdateRecord]`. seedship writes the records the portal
 * and job creation read (NewJournalFile, the command context, one DriveInfo per sealed drive);
 * its own resume state lives in the binary journal. No key is ever written here unmasked.
 */
export class JrnWriter {
  readonly #fs: FileSystem;
  readonly #path: string;

  constructor(fs: FileSystem, path: string) {
    this.#fs = fs;
    this.#path = path;
  }

  static timestamp(ms: number): string {
    const d = new Date(ms);
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    return (
      `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}` +
      ` ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}`
    );
  }

  static formatRecord(ms: number, type: string, fields: [string, string][]): string {
    let s = `[BeginUpdateRecord][${JrnWriter.timestamp(ms)}][Type:${type}]\r\n`;
    for (const [k, v] of fields) {
      s += v.includes('\n')
        ? `${k}: [BeginValue]\r\n${v.replace(/\r?\n/g, '\r\n').replace(/\r\n$/, '')}\r\n[EndValue]\r\n`
        : `${k}: ${v}\r\n`;
    }
    return `${s}[EndUpdateRecord]\r\n`;
  }

  /** Create the file with its NewJournalFile record if it does not exist yet. */
  async ensureCreated(ms: number): Promise<boolean> {
    if (await this.#fs.exists(this.#path)) return false;
    await this.append(JrnWriter.formatRecord(ms, 'NewJournalFile', [['VocabularyVersion', '2013-02-01']]));
    return true;
  }

  async append(text: string): Promise<void> {
    const h = await this.#fs.open(this.#path, 'a', 0o600);
    try {
      await h.write(Buffer.from(text, 'utf8'), 0);
      await h.datasync();
    } finally {
      await h.close();
    }
  }
}
