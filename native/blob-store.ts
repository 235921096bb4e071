/** The storage-account operations of blob-store-types.ts over the Azure SDK (`@azure/storage-blob`). */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { BlobInfo, BlobStore } from './blob-store-types.js';
import { SeedshipError } from '../core/errors/errors.js';

/** Reconnects of one streamed download before it fails (the SDK's default, stated). */
const DOWNLOAD_RETRY_REQUESTS = 5;

/**
 * BlobStore over `@azure/storage-blob`: a connection string (real Azure or Azurite). Every call is
 * one REST call (a streamed download resumes with more); transactional MD5s go with each block
 * and page so the service checks them too.
 */
export class AzureBlobStore implements BlobStore {
  readonly #svc: BlobServiceClient;
  readonly #containers = new Map<string, ContainerClient>();

  constructor(connectionString: string) {
    this.#svc = BlobServiceClient.fromConnectionString(connectionString);
  }

  #c(name: string): ContainerClient {
    let c = this.#containers.get(name);
    if (!c) {
      c = this.#svc.getContainerClient(name);
      this.#containers.set(name, c);
    }
    return c;
  }

  async ensureContainer(container: string): Promise<void> {
    await this.#c(container).createIfNotExists();
  }
  async getBlob(container: string, blob: string): Promise<BlobInfo | undefined> {
    try {
      const p = await this.#c(container).getBlobClient(blob).getProperties();
      return {
        name: blob,
        size: p.contentLength ?? 0,
        metadata: p.metadata ?? {},
        kind: p.blobType === 'PageBlob' ? 'page' : p.blobType === 'AppendBlob' ? 'append' : 'block',
      };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }
  async stageBlock(container: string, blob: string, id: string, data: Uint8Array, md5: Uint8Array): Promise<void> {
    await this.#c(container)
      .getBlockBlobClient(blob)
      .stageBlock(id, data, data.length, { transactionalContentMD5: md5 });
  }
  async uncommittedBlocks(container: string, blob: string): Promise<Set<string>> {
    try {
      const l = await this.#c(container).getBlockBlobClient(blob).getBlockList('uncommitted');
      return new Set((l.uncommittedBlocks ?? []).map((b) => b.name));
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return new Set();
      throw err;
    }
  }
  async commitBlocks(
    container: string,
    blob: string,
    ids: readonly string[],
    metadata: Record<string, string>,
  ): Promise<void> {
    await this.#c(container)
      .getBlockBlobClient(blob)
      .commitBlockList([...ids], { metadata });
  }
  async createPageBlob(
    container: string,
    blob: string,
    length: number,
    metadata: Record<string, string>,
  ): Promise<void> {
    await this.#c(container).getPageBlobClient(blob).create(length, { metadata });
  }
  async uploadPages(container: string, blob: string, data: Uint8Array, offset: number, md5: Uint8Array): Promise<void> {
    await this.#c(container)
      .getPageBlobClient(blob)
      .uploadPages(data, offset, data.length, { transactionalContentMD5: md5 });
  }
  async setMetadata(container: string, blob: string, metadata: Record<string, string>): Promise<void> {
    await this.#c(container).getBlobClient(blob).setMetadata(metadata);
  }
  async uploadText(container: string, blob: string, text: string): Promise<void> {
    const b = Buffer.from(text, 'utf8');
    await this.#c(container)
      .getBlockBlobClient(blob)
      .upload(b, b.length, { blobHTTPHeaders: { blobContentType: 'application/xml' } });
  }
  async deleteBlob(container: string, blob: string): Promise<void> {
    await this.#c(container).getBlobClient(blob).deleteIfExists();
  }
  async *listBlobs(container: string, prefix?: string): AsyncGenerator<BlobInfo> {
    for await (const b of this.#c(container).listBlobsFlat({ includeMetadata: true, ...(prefix ? { prefix } : {}) })) {
      yield {
        name: b.name,
        size: b.properties.contentLength ?? 0,
        metadata: b.metadata ?? {},
        kind:
          b.properties.blobType === 'PageBlob' ? 'page' : b.properties.blobType === 'AppendBlob' ? 'append' : 'block',
      };
    }
  }
  async download(container: string, blob: string, offset: number, length: number): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    return this.#c(container).getBlobClient(blob).downloadToBuffer(offset, length);
  }
  async *downloadStream(
    container: string,
    blob: string,
    offset: number,
    length: number,
    signal?: AbortSignal,
  ): AsyncGenerator<Uint8Array> {
    if (length === 0) return;
    // One GET instead of a ranged GET per 4 MiB: 3x the throughput from Azurite (2.2 GiB: 12 s
    // vs 35 s). The SDK's body resumes with a ranged GET from where a dropped connection stopped.
    const r = await this.#c(container)
      .getBlobClient(blob)
      .download(offset, length, {
        maxRetryRequests: DOWNLOAD_RETRY_REQUESTS,
        ...(signal ? { abortSignal: signal } : {}),
      });
    const body = r.readableStreamBody;
    if (!body)
      throw new SeedshipError('E_AZURE', `blob ${container}/${blob}: the download has no body`, { permanent: false });
    try {
      for await (const piece of body as AsyncIterable<Buffer>) yield piece;
    } finally {
      // A consumer that stops early (an error, an abort) must not leave the socket half read.
      (body as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    }
  }
  url(container: string, blob: string): string {
    return this.#c(container).getBlobClient(blob).url;
  }
}
