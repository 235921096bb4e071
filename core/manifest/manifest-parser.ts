/** Streams the blobs of a drive manifest, refusing anything outside the documented format. */
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import type { FileSystem } from '../../native/interfaces.js';
import type { ImportDisposition, ManifestRange } from './drive-manifest.js';
import { SeedshipError } from '../errors/errors.js';

/** A `<Blob>` as read from a drive: untrusted input, checked by whoever uses it. */
export interface ParsedBlob {
  readonly index: number;
  readonly blobPath: string;
  readonly filePath: string;
  readonly clientData: string | undefined;
  readonly length: number;
  readonly disposition: ImportDisposition | undefined;
  readonly kind: 'block' | 'page';
  readonly ranges: readonly ManifestRange[];
  /** `<MetadataPath Hash="…">`: the blob's metadata file on the drive and its MD5 (spec §1.6). */
  readonly metadata: { readonly path: string; readonly md5: string } | undefined;
}

export interface ManifestHeader {
  version: string | undefined;
  driveId: string | undefined;
  hasAccountKey: boolean;
  containerSas: string | undefined;
}

const MANIFEST_FORMAT_BRAND = Symbol.for('seedship.manifest-format-error');

/**
 * A manifest that cannot be read as the documented format (E_INTEGRITY). Callers tell it from other
 * errors with `instanceof`, which matches only this class (SeedshipError's brand check would match all).
 */
export class ManifestFormatError extends SeedshipError {
  readonly [MANIFEST_FORMAT_BRAND] = true;

  constructor(message: string) {
    super('E_INTEGRITY', message);
    this.name = 'ManifestFormatError';
  }

  static override [Symbol.hasInstance](x: unknown): boolean {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[MANIFEST_FORMAT_BRAND] === true;
  }
}

const READ_BYTES = 1 << 20;
/** A single text node longer than this is not a manifest (defence against memory blow-up). */
const MAX_TEXT_CHARS = 64 * 1024;

function num(v: string | undefined, what: string): number {
  if (v === undefined || !/^\d{1,16}$/.test(v))
    throw new ManifestFormatError(`${what} ${JSON.stringify(v)} is not a non-negative integer`);
  return Number(v);
}

/**
 * Stream the blobs of a drive manifest. Refuses DOCTYPE (no entity can expand), caps text sizes,
 * and yields each `<Blob>` as it closes, so memory is one blob's ranges. `header` is filled in as
 * the parse passes `<DriveId>` and the credential elements. `fromMedia` first drops the file's
 * cached pages (a hint, see FileHandle.dropCache), so the bytes parsed are read from the drive;
 * `onBytes` sees every byte of the file once, in order (to hash it as it is parsed).
 */
export async function* parseDriveManifest(
  fs: FileSystem,
  path: string,
  header: ManifestHeader,
  opts: { fromMedia?: boolean; onBytes?: (data: Uint8Array) => void } = {},
): AsyncGenerator<ParsedBlob> {
  const sax = new ManifestSax(header);
  const h = await fs.open(path, 'r');
  try {
    if (opts.fromMedia) await h.dropCache();
    const buf = Buffer.alloc(READ_BYTES);
    let pos = 0;
    const decoder = new TextDecoder('utf-8', { fatal: true });
    for (;;) {
      const n = await h.read(buf, 0, READ_BYTES, pos);
      pos += n;
      if (n > 0) opts.onBytes?.(buf.subarray(0, n));
      let chunk: string;
      try {
        chunk = decoder.decode(buf.subarray(0, n), { stream: n > 0 });
      } catch {
        throw new ManifestFormatError('manifest is not valid UTF-8');
      }
      if (n === 0) {
        sax.close();
      } else {
        sax.write(chunk);
      }
      if (sax.failure) throw sax.failure;
      while (sax.out.length) yield sax.out.shift()!;
      if (n === 0) break;
    }
  } finally {
    await h.close();
  }
  if (sax.depth !== 0) throw new ManifestFormatError('manifest ends before its elements are closed');
}

/** A `<Blob>` while it is being parsed. */
interface BlobInProgress {
  blobPath?: string;
  filePath?: string;
  clientData?: string;
  length?: number;
  disposition?: ImportDisposition;
  kind?: 'block' | 'page';
  ranges: ManifestRange[];
  metadataHash?: string;
  metadata?: { path: string; md5: string };
}

/**
 * The SAX side of parseDriveManifest: fed text, it fills in `header`, queues each complete blob on
 * `out` and keeps the first problem as `failure`.
 */
class ManifestSax {
  readonly out: ParsedBlob[] = [];
  failure: Error | undefined;
  readonly #parser = new SaxesParser({ xmlns: false, position: true });
  readonly #header: ManifestHeader;
  readonly #stack: string[] = [];
  #text = '';
  #blob: BlobInProgress | undefined;
  #count = 0;

  constructor(header: ManifestHeader) {
    this.#header = header;
    const parser = this.#parser;
    parser.on('doctype', () => this.#fail('DOCTYPE is not allowed in a drive manifest'));
    parser.on('error', (e) => this.#fail(e.message));
    parser.on('opentag', (t: SaxesTagPlain) => this.#open(t));
    parser.on('text', (t) => {
      if (this.#text.length + t.length > MAX_TEXT_CHARS) this.#fail('text node too long');
      else this.#text += t;
    });
    parser.on('closetag', (t: SaxesTagPlain) => this.#close(t));
  }

  /** Elements open now. */
  get depth(): number {
    return this.#stack.length;
  }

  write(chunk: string): void {
    this.#parser.write(chunk);
  }

  close(): void {
    this.#parser.close();
  }

  #fail(m: string): void {
    this.failure ??= new ManifestFormatError(`${m} (line ${this.#parser.line})`);
  }

  #open(t: SaxesTagPlain): void {
    const stack = this.#stack;
    const header = this.#header;
    const blob = this.#blob;
    const parent = stack[stack.length - 1];
    stack.push(t.name);
    this.#text = '';
    if (stack.length === 1) {
      if (t.name !== 'DriveManifest') this.#fail(`root element is <${t.name}>, not <DriveManifest>`);
      header.version = t.attributes.Version as string | undefined;
    } else if (t.name === 'Blob' && parent === 'BlobList') {
      this.#blob = { ranges: [] };
    } else if ((t.name === 'Block' || t.name === 'PageRange') && blob) {
      const a = t.attributes as Record<string, string>;
      try {
        const r: ManifestRange = {
          offset: num(a.Offset, `${t.name} Offset`),
          length: num(a.Length, `${t.name} Length`),
          md5: a.Hash ?? '',
          ...(a.Id !== undefined ? { id: a.Id } : {}),
        };
        blob.ranges.push(r);
      } catch (err) {
        this.#fail((err as Error).message);
      }
    } else if (t.name === 'MetadataPath' && blob && parent === 'Blob') {
      blob.metadataHash = (t.attributes as Record<string, string>).Hash ?? '';
    } else if (t.name === 'BlockList' && blob) blob.kind = 'block';
    else if (t.name === 'PageRangeList' && blob) blob.kind = 'page';
    else if (t.name === 'StorageAccountKey') header.hasAccountKey = true;
  }

  #close(t: SaxesTagPlain): void {
    const stack = this.#stack;
    const header = this.#header;
    const blob = this.#blob;
    stack.pop();
    // Names are exact: a blob or file name may begin or end with a space.
    const exact = t.name === 'BlobPath' || t.name === 'FilePath' || t.name === 'MetadataPath';
    const v = exact ? this.#text : this.#text.trim();
    this.#text = '';
    if (t.name === 'DriveId' && stack[stack.length - 1] === 'Drive') header.driveId = v;
    else if (t.name === 'ContainerSas') header.containerSas = v;
    else if (blob && stack[stack.length - 1] === 'Blob') this.#blobField(blob, t.name, v);
    else if (t.name === 'Blob' && blob) this.#blobDone(blob);
  }

  /** A child element of `<Blob>` closed with text `v`. */
  #blobField(blob: BlobInProgress, name: string, v: string): void {
    if (name === 'BlobPath') blob.blobPath = v;
    else if (name === 'FilePath') blob.filePath = v;
    else if (name === 'ClientData') blob.clientData = v;
    else if (name === 'MetadataPath') blob.metadata = { path: v, md5: blob.metadataHash ?? '' };
    else if (name === 'Length') {
      try {
        blob.length = num(v, 'Length');
      } catch (err) {
        this.#fail((err as Error).message);
      }
    } else if (name === 'ImportDisposition') {
      if (v === 'rename' || v === 'no-overwrite' || v === 'overwrite') blob.disposition = v;
      else this.#fail(`ImportDisposition ${JSON.stringify(v)} is not rename, no-overwrite or overwrite`);
    }
  }

  /** `</Blob>`: queue it, or fail if it lacks a required part. */
  #blobDone(blob: BlobInProgress): void {
    if (
      blob.blobPath === undefined ||
      blob.filePath === undefined ||
      blob.length === undefined ||
      blob.kind === undefined
    ) {
      this.#fail(`Blob ${this.#count + 1} lacks BlobPath, FilePath, Length or its block/page list`);
    } else {
      this.out.push({
        index: this.#count,
        blobPath: blob.blobPath,
        filePath: blob.filePath,
        clientData: blob.clientData,
        length: blob.length,
        disposition: blob.disposition,
        kind: blob.kind,
        ranges: blob.ranges,
        metadata: blob.metadata,
      });
    }
    this.#count++;
    this.#blob = undefined;
  }
}
