/**
 * Cloud names and ARM error wording, apart from the Azure SDK so that commands can name them
 * without loading the SDK (about 0.25 s at start-up).
 */

/** The sovereign clouds Azure Backup's offline-seeding docs list: ARM endpoint and authority. */
export const CLOUDS = {
  AzureCloud: { arm: 'https://management.azure.com', authority: 'https://login.microsoftonline.com' },
  AzureUSGovernment: { arm: 'https://management.usgovcloudapi.net', authority: 'https://login.microsoftonline.us' },
  AzureChinaCloud: { arm: 'https://management.chinacloudapi.cn', authority: 'https://login.chinacloudapi.cn' },
} as const;
export type CloudName = keyof typeof CLOUDS;

/** A readable one-line message from an SDK error (the service's `{error:{code,message}}`). */
export function armErrorMessage(err: unknown): string {
  const e = err as {
    statusCode?: number;
    code?: string;
    message?: string;
    details?: { error?: { code?: string; message?: string } };
  };
  const code = e.details?.error?.code ?? e.code;
  const msg = e.details?.error?.message ?? e.message ?? String(err);
  return `${e.statusCode ? `HTTP ${e.statusCode} ` : ''}${code ? `${code}: ` : ''}${msg}`;
}
