/** The Import/Export job's files in the session dir, and the ARM job body built from the sealed drives. */
import type { FileSystem } from '../../native/interfaces.js';
import { SeedshipError, usageError } from '../errors/errors.js';
import { parseDriveInfo, type DriveInfo } from '../manifest/drive-info.js';
import { readSettings, type SessionSettings } from '../session/session-settings.js';
import type {
  DeliveryPackage,
  JobView,
  LocationView,
  PutJobBody,
  ReturnAddress,
  ReturnShipping,
} from '../azure/job-model.js';
import { MAX_DRIVES_PER_JOB } from './job-rules.js';

/** What `job create` recorded in the session dir (`job.json`). No secret in it. */
export interface JobRecord {
  readonly job: string;
  readonly subscription: string;
  readonly resourceGroup: string;
  readonly account: string;
  readonly location: string;
  readonly shipTo: LocationView | undefined;
  readonly createdAt: number;
  readonly drives: string[];
}

/** What `job ship` sent, saved locally (`shipping.json`, 0600). */
export interface ShippingRecord {
  readonly job: string;
  readonly deliveryPackage: DeliveryPackage;
  readonly returnAddress?: ReturnAddress | undefined;
  readonly returnShipping?: ReturnShipping | undefined;
  readonly sentAt: number;
}

export const JOB_FILE = 'job.json';
export const SHIPPING_FILE = 'shipping.json';

/** The session's settings and the drive-info files of its sealed drives. */
export async function readJobInputs(
  fs: FileSystem,
  dir: string,
): Promise<{ settings: SessionSettings; drives: DriveInfo[] }> {
  const settings = await readSettings(fs, dir);
  if (!settings)
    throw usageError(`${dir} is not a seedship session dir (no session.json); pass the --session of the prepare run`);
  const drives: DriveInfo[] = [];
  for (const e of (await fs.readdir(dir))
    .filter((x) => x.kind === 'file' && /^[^.].*\.xml$/.test(x.name))
    .sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = `${dir}/${e.name}`;
    drives.push(parseDriveInfo((await fs.readFile(path)).toString('utf8'), path));
  }
  if (drives.length === 0)
    throw usageError(`session ${dir} has no sealed drive yet (no <DriveId>.xml); run prepare first`);
  if (drives.length > MAX_DRIVES_PER_JOB)
    throw usageError(
      `session ${dir} has ${drives.length} drives; one Import/Export job takes at most ${MAX_DRIVES_PER_JOB}` +
        ` — split the copy into several jobs`,
    );
  return { settings, drives };
}

export function storageAccountId(subscription: string, resourceGroup: string, account: string): string {
  return (
    `/subscriptions/${subscription}/resourceGroups/${resourceGroup}` +
    `/providers/Microsoft.Storage/storageAccounts/${account}`
  );
}

/** The body of `jobs.create` (PUT), from the session's drives and the user's return details. */
export function buildJobBody(p: {
  drives: DriveInfo[];
  location: string;
  subscription: string;
  resourceGroup: string;
  account: string;
  returnAddress: ReturnAddress;
  returnShipping: ReturnShipping;
  logLevel: 'error' | 'verbose';
  backupManifests: boolean;
}): PutJobBody {
  return {
    location: p.location,
    properties: {
      storageAccountId: storageAccountId(p.subscription, p.resourceGroup, p.account),
      jobType: 'Import',
      returnAddress: p.returnAddress,
      returnShipping: p.returnShipping,
      diagnosticsPath: 'waimportexport',
      logLevel: p.logLevel === 'verbose' ? 'Verbose' : 'Error',
      backupDriveManifest: p.backupManifests,
      driveList: p.drives.map((d) => ({
        driveId: d.driveId,
        bitLockerKey: d.bitLockerKey,
        manifestFile: d.manifestFile,
        manifestHash: d.manifestHash,
      })),
    },
  };
}

/** Where to ship: the location itself when it lists itself as an alternate, else its first alternate. */
export function shippingLocationName(loc: LocationView): string | undefined {
  const self = loc.id?.toLowerCase();
  if (loc.alternateLocations.length === 0 || loc.alternateLocations.some((a) => a.toLowerCase() === self))
    return undefined;
  return loc.alternateLocations[0]!.split('/').pop();
}

export function formatAddress(l: LocationView | JobView['shippingInformation']): string {
  if (!l) return '(no address given by the service)';
  return [
    l.recipientName,
    l.streetAddress1,
    l.streetAddress2,
    [l.city, l.stateOrProvince, l.postalCode].filter(Boolean).join(' '),
    l.countryOrRegion,
    l.phone ? `phone ${l.phone}` : undefined,
  ]
    .filter(Boolean)
    .join('\n  ');
}

/** What a job state means for the user, in the words of the DiskPrep flow where they apply. */
export function explainState(state: string | undefined): string {
  switch (state) {
    case 'Creating':
      return (
        'Awaiting shipment information: ' +
        'ship the drives and enter carrier and tracking number (seedship job ship) ' +
        'within two weeks, or the job may be deleted.'
      );
    case 'Shipping':
      return (
        'Waiting for Azure Import Job to complete. ' +
        'Please check on Azure Management portal for more information on job status. ' +
        '(Drives shipped; they must reach the data center within two weeks.)'
      );
    case 'Received':
    case 'Transferring':
    case 'Packaging':
      return (
        `Waiting for Azure Import Job to complete. ` +
        `Please check on Azure Management portal for more information on job status. ` +
        `(${state}.)`
      );
    case 'Completed':
      return (
        'Import completed: Azure Backup copies the data into the vault at the next scheduled backup; ' +
        'then the container and staging data can be deleted.'
      );
    case 'Closed':
      return 'Closed with errors: read each drive’s error log (errorLogUri) before retrying.';
    case 'Canceled':
      return 'The job was canceled.';
    default:
      return `Job state ${state ?? 'unknown'}.`;
  }
}

export async function readJobRecord(fs: FileSystem, dir: string): Promise<JobRecord> {
  const b = await fs.readFileIfExists(`${dir}/${JOB_FILE}`);
  if (!b) throw usageError(`no job was created from ${dir} yet; run seedship job create first`);
  try {
    return JSON.parse(b.toString('utf8')) as JobRecord;
  } catch (err) {
    throw new SeedshipError('E_INTEGRITY', `${dir}/${JOB_FILE} is damaged; create the job again or restore the file`, {
      cause: err,
    });
  }
}

/** Tracking numbers used by other jobs whose session dirs sit beside this one. */
export async function trackingNumbersOfOtherJobs(fs: FileSystem, dir: string): Promise<Map<string, string>> {
  const parent = dir.slice(0, dir.lastIndexOf('/')) || '/';
  const out = new Map<string, string>();
  for (const e of await fs.readdir(parent).catch(() => [])) {
    const other = `${parent}/${e.name}`;
    if (e.kind !== 'dir' || other === dir) continue;
    const b = await fs.readFileIfExists(`${other}/${SHIPPING_FILE}`).catch(() => undefined);
    if (!b) continue;
    try {
      const s = JSON.parse(b.toString('utf8')) as ShippingRecord;
      out.set(s.deliveryPackage.trackingNumber, s.job);
    } catch {
      // a damaged file of another job is not ours to judge
    }
  }
  return out;
}
