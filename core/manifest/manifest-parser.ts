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
  const parser = new SaxesParser({ xmlns: false, position: true });
  const out: ParsedBlob[] = [];
  const stack: string[] = [];
  let text = '';
  let failure: Error | undefined;
  let blob:
    | {
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
    | undefined;
  let count = 0;
  const fail = (m: string) => {
    failure ??= new ManifestFormatError(`${m} (line ${parser.line})`);
  };
  parser.on('doctype', () => fail('DOCTYPE is not allowed in a drive manifest'));
  parser.on('error', (e) => fail(e.message));
  parser.on('opentag', (t: SaxesTagPlain) => {
    const parent = stack[stack.length - 1];
    stack.push(t.name);
    text = '';
    if (stack.length === 1) {
      if (t.name !== 'DriveManifest') fail(`root element is <${t.name}>, not <DriveManifest>`);
      header.version = t.attributes.Version as string | undefined;
    } else if (t.name === 'Blob' && parent === 'BlobList') {
      blob = { ranges: [] };
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
        fail((err as Error).message);
      }
    } else if (t.name === 'MetadataPath' && blob && parent === 'Blob') {
      blob.metadataHash = (t.attributes as Record<string, string>).Hash ?? '';
    } else if (t.name === 'BlockList' && blob) blob.kind = 'block';
    else if (t.name === 'PageRangeList' && blob) blob.kind = 'page';
    else if (t.name === 'StorageAccountKey') header.hasAccountKey = true;
  });
  parser.on('text', (t) => {
    if (text.length + t.length > MAX_TEXT_CHARS) fail('text node too long');
    else text += t;
  });
  parser.on('closetag', (t: SaxesTagPlain) => {
    stack.pop();
    // Names are exact: a blob or file name may begin or end with a space.
    const exact = t.name === 'BlobPath' || t.name === 'FilePath' || t.name === 'MetadataPath';
    const v = exact ? text : text.trim();
    text = '';
    if (t.name === 'DriveId' && stack[stack.length - 1] === 'Drive') header.driveId = v;
    else if (t.name === 'ContainerSas') header.containerSas = v;
    else if (blob && stack[stack.length - 1] === 'Blob') {
      if (t.name === 'BlobPath') blob.blobPath = v;
      else if (t.name === 'FilePath') blob.filePath = v;
      else if (t.name === 'ClientData') blob.clientData = v;
      else if (t.name === 'MetadataPath') blob.metadata = { path: v, md5: blob.metadataHash ?? '' };
      else if (t.name === 'Length') {
        try {
          blob.length = num(v, 'Length');
        } catch (err) {
          fail((err as Error).message);
        }
      } else if (t.name === 'ImportDisposition') {
        if (v === 'rename' || v === 'no-overwrite' || v === 'overwrite') blob.disposition = v;
        else fail(`ImportDisposition ${JSON.stringify(v)} is not rename, no-overwrite or overwrite`);
      }
    } else if (t.name === 'Blob' && blob) {
      if (
        blob.blobPath === undefined ||
        blob.filePath === undefined ||
        blob.length === undefined ||
        blob.kind === undefined
      ) {
        fail(`Blob ${count + 1} lacks BlobPath, FilePath, Length or its block/page list`);
      } else {
        out.push({
          index: count,
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
      count++;
      blob = undefined;
    }
  });
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
        parser.close();
      } else {
        parser.write(chunk);
      }
      if (failure) throw failure;
      while (out.length) yield out.shift()!;
      if (n === 0) break;
    }
  } finally {
    await h.close();
  }
  if (stack.length !== 0) throw new ManifestFormatError('manifest ends before its elements are closed');
}
