/** The Azure Import/Export job API (ARM) through the real SDK, as core/azure/job-model.ts defines it. */
import { StorageImportExport, type JobResponse, type Location as SdkLocation } from '@azure/arm-storageimportexport';
import { DefaultAzureCredential } from '@azure/identity';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import type { ImportExportApi, JobView, LocationView } from '../core/azure/job-model.js';
import { CLOUDS, type CloudName } from '../core/azure/clouds.js';

export { CLOUDS, armErrorMessage, type CloudName } from '../core/azure/clouds.js';

/** A fixed bearer token (SEEDSHIP_ARM_TOKEN): air-gapped runs and tests. */
class StaticTokenCredential implements TokenCredential {
  constructor(private readonly token: string) {}
  getToken(): Promise<AccessToken> {
    return Promise.resolve({ token: this.token, expiresOnTimestamp: Date.now() + 3600_000 });
  }
}

function jobView(j: JobResponse): JobView {
  const p = j.properties ?? {};
  return {
    ...(j.name !== undefined ? { name: j.name } : {}),
    ...(j.location !== undefined ? { location: j.location } : {}),
    ...(p.state !== undefined ? { state: p.state } : {}),
    ...(p.percentComplete !== undefined ? { percentComplete: p.percentComplete } : {}),
    ...(p.provisioningState !== undefined ? { provisioningState: p.provisioningState } : {}),
    ...(p.shippingInformation
      ? { shippingInformation: p.shippingInformation as NonNullable<JobView['shippingInformation']> }
      : {}),
    ...(p.deliveryPackage ? { deliveryPackage: p.deliveryPackage as NonNullable<JobView['deliveryPackage']> } : {}),
    drives: (p.driveList ?? []).map((d) => ({
      ...(d.driveId !== undefined ? { driveId: d.driveId } : {}),
      ...(d.state !== undefined ? { state: d.state } : {}),
      ...(d.percentComplete !== undefined ? { percentComplete: d.percentComplete } : {}),
      ...(d.copyStatus !== undefined ? { copyStatus: d.copyStatus } : {}),
      ...(d.errorLogUri !== undefined ? { errorLogUri: d.errorLogUri } : {}),
      ...(d.verboseLogUri !== undefined ? { verboseLogUri: d.verboseLogUri } : {}),
      ...(d.manifestUri !== undefined ? { manifestUri: d.manifestUri } : {}),
      ...(d.bytesSucceeded !== undefined ? { bytesSucceeded: d.bytesSucceeded } : {}),
    })),
  };
}

function locationView(l: SdkLocation): LocationView {
  const { supportedCarriers, alternateLocations, ...rest } = l;
  return {
    ...(rest as Omit<LocationView, 'supportedCarriers' | 'alternateLocations'>),
    supportedCarriers: supportedCarriers ?? [],
    alternateLocations: alternateLocations ?? [],
  };
}

/**
 * The Import/Export job API through the real SDK. Credentials: a static token when given, else
 * DefaultAzureCredential for the cloud's authority. Nothing here prints or logs a credential.
 */
export function createImportExportApi(opts: {
  subscription: string;
  cloud: CloudName;
  armEndpoint?: string | undefined;
  staticToken?: string | undefined;
}): ImportExportApi {
  const cloud = CLOUDS[opts.cloud];
  const credential: TokenCredential = opts.staticToken
    ? new StaticTokenCredential(opts.staticToken)
    : new DefaultAzureCredential({ authorityHost: cloud.authority });
  const endpoint = (opts.armEndpoint ?? cloud.arm).replace(/\/$/, '');
  const client = new StorageImportExport(credential, opts.subscription, {
    endpoint,
    credentialScopes: [`${cloud.arm}/.default`],
  });
  return {
    createJob: async (job, rg, body) => jobView(await client.jobs.create(job, rg, body)),
    updateJob: async (job, rg, body) => jobView(await client.jobs.update(job, rg, body)),
    getJob: async (job, rg) => jobView(await client.jobs.get(job, rg)),
    getLocation: async (loc) => locationView(await client.locations.get(loc)),
    listLocations: async () => {
      const out: LocationView[] = [];
      for await (const l of client.locations.list()) out.push(locationView(l));
      return out;
    },
    listBitLockerKeys: async (job, rg) => {
      const out: { driveId?: string; bitLockerKey?: string }[] = [];
      for await (const k of client.bitLockerKeys.list(job, rg)) out.push(k);
      return out;
    },
  };
}
