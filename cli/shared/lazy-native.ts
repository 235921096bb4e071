// Native clients loaded on first use, so start-up does not pay for them.
import type { BlobStore } from '../../native/blob-store-types.js';

/**
 * The storage account client, loaded on first use: @azure/storage-blob takes about 0.25 s to
 * load, which every command paid at start-up when it was imported eagerly.
 */
export async function openBlobStore(connectionString: string): Promise<BlobStore> {
  const { AzureBlobStore } = await import('../../native/blob-store.js');
  return new AzureBlobStore(connectionString);
}
