/**
 * The storage-account operations seedship's data-center side needs (types only: the boundary the
 * engine sees; the Azure SDK implementation is native/blob-store.ts).
 */
export interface BlobInfo {
  readonly name: string;
  readonly size: number;
  readonly metadata: Record<string, string>;
  readonly kind: 'block' | 'page' | 'append';
}

export interface BlobStore {
  ensureContainer(container: string): Promise<void>;
  /** Undefined when the blob does not exist. */
  getBlob(container: string, blob: string): Promise<BlobInfo | undefined>;
  /** Put Block with its transactional MD5 (the service rejects the block if the bytes differ). */
  stageBlock(container: string, blob: string, id: string, data: Uint8Array, md5: Uint8Array): Promise<void>;
  /** Ids of the blocks staged and not yet committed. */
  uncommittedBlocks(container: string, blob: string): Promise<Set<string>>;
  commitBlocks(
    container: string,
    blob: string,
    ids: readonly string[],
    metadata: Record<string, string>,
  ): Promise<void>;
  createPageBlob(container: string, blob: string, length: number, metadata: Record<string, string>): Promise<void>;
  uploadPages(container: string, blob: string, data: Uint8Array, offset: number, md5: Uint8Array): Promise<void>;
  setMetadata(container: string, blob: string, metadata: Record<string, string>): Promise<void>;
  uploadText(container: string, blob: string, text: string): Promise<void>;
  deleteBlob(container: string, blob: string): Promise<void>;
  listBlobs(container: string, prefix?: string): AsyncIterable<BlobInfo>;
  download(container: string, blob: string, offset: number, length: number): Promise<Buffer>;
  /**
   * The bytes [offset, offset+length) of a blob as one streamed read, in pieces of whatever size the
   * connection delivers; the next piece is fetched only when asked for (backpressure), so memory
   * does not grow with the blob. A dropped connection is resumed where it stopped. Fewer bytes than
   * `length` means the blob is shorter: the caller checks the count.
   */
  downloadStream(
    container: string,
    blob: string,
    offset: number,
    length: number,
    signal?: AbortSignal,
  ): AsyncIterable<Uint8Array>;
  /** The blob's URL, for logs (no credential in it). */
  url(container: string, blob: string): string;
}
