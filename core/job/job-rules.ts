/** Checks of what the user gives `job create` and `job ship`: names, return address, delivery package. */
import type { Clock } from '../../native/interfaces.js';
import { usageError } from '../errors/errors.js';
import type { DeliveryPackage, ReturnAddress, ReturnShipping } from '../azure/job-model.js';

/** The service takes at most 10 drives per job. */
export const MAX_DRIVES_PER_JOB = 10;

const ADDRESS_REQUIRED: (keyof ReturnAddress)[] = [
  'recipientName',
  'streetAddress1',
  'city',
  'postalCode',
  'countryOrRegion',
  'phone',
  'email',
];
const ADDRESS_FIELDS: (keyof ReturnAddress)[] = [...ADDRESS_REQUIRED, 'streetAddress2', 'stateOrProvince'];
/** Field lengths are not published for the ARM API; these generous bounds catch pasted garbage. */
const MAX_FIELD_CHARS = 256;

/** Check a return address from the user's JSON file; returns it typed or throws naming the field. */
export function checkReturnAddress(x: unknown, source: string): ReturnAddress {
  if (typeof x !== 'object' || x === null || Array.isArray(x))
    throw usageError(
      `${source} must hold a JSON object with the return address fields (${ADDRESS_REQUIRED.join(', ')})`,
    );
  const o = x as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !ADDRESS_FIELDS.includes(k as keyof ReturnAddress));
  if (unknown.length)
    throw usageError(`${source}: unknown field(s) ${unknown.join(', ')}; the fields are ${ADDRESS_FIELDS.join(', ')}`);
  for (const k of ADDRESS_FIELDS) {
    const v = o[k];
    if (v === undefined) {
      if (ADDRESS_REQUIRED.includes(k)) throw usageError(`${source}: the return address needs ${k}`);
      continue;
    }
    if (typeof v !== 'string' || v.trim() === '') throw usageError(`${source}: ${k} must be a non-empty string`);
    if (v.length > MAX_FIELD_CHARS) throw usageError(`${source}: ${k} is longer than ${MAX_FIELD_CHARS} characters`);
  }
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(o.email as string))
    throw usageError(`${source}: email ${JSON.stringify(o.email)} is not an e-mail address`);
  if (!/^[+()\d\s.-]{5,32}$/.test(o.phone as string))
    throw usageError(`${source}: phone ${JSON.stringify(o.phone)} is not a phone number`);
  return o as unknown as ReturnAddress;
}

export function checkReturnShipping(s: Partial<ReturnShipping>): ReturnShipping {
  if (!s.carrierName?.trim())
    throw usageError('--return-carrier is needed (the carrier that returns the drives, e.g. FedEx)');
  if (!s.carrierAccountNumber?.trim())
    throw usageError('--return-carrier-account is needed (your account number with that carrier)');
  return { carrierName: s.carrierName.trim(), carrierAccountNumber: s.carrierAccountNumber.trim() };
}

/** Check the package details of `job ship`; the ship date defaults to today (UTC) by the clock. */
export function checkDeliveryPackage(
  p: Partial<DeliveryPackage>,
  expectedDrives: number,
  clock: Pick<Clock, 'now'>,
): DeliveryPackage {
  if (!p.carrierName?.trim())
    throw usageError('--carrier is needed (the carrier delivering the drives to the data center)');
  if (!p.trackingNumber?.trim()) throw usageError('--tracking is needed (the tracking number of the package)');
  if (!/^[A-Za-z0-9-]{4,40}$/.test(p.trackingNumber.trim()))
    throw usageError(
      `--tracking ${JSON.stringify(p.trackingNumber)} is not a tracking number (4-40 letters, digits or hyphens)`,
    );
  const driveCount = p.driveCount ?? expectedDrives;
  if (!Number.isInteger(driveCount) || driveCount < 1 || driveCount > MAX_DRIVES_PER_JOB)
    throw usageError(`--drive-count must be 1 to ${MAX_DRIVES_PER_JOB}`);
  const shipDate = p.shipDate ?? new Date(clock.now()).toISOString().slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(shipDate) || Number.isNaN(Date.parse(shipDate)))
    throw usageError(`--ship-date ${JSON.stringify(shipDate)} is not a date (YYYY-MM-DD)`);
  return { carrierName: p.carrierName.trim(), trackingNumber: p.trackingNumber.trim(), driveCount, shipDate };
}

/** ARM resource group names: 1–90 of letters, digits, `._-()`, not ending in `.`. */
export function checkResourceGroup(rg: string): void {
  if (!/^[-\w._()]{1,90}$/.test(rg) || rg.endsWith('.'))
    throw usageError(`--resource-group ${JSON.stringify(rg)} is not a resource group name`);
}

/** Storage account names: 3–24 lowercase letters and digits. */
export function checkAccountName(a: string): void {
  if (!/^[a-z0-9]{3,24}$/.test(a))
    throw usageError(
      `--account ${JSON.stringify(a)} is not a storage account name (3-24 lowercase letters and digits)`,
    );
}

export function checkSubscription(id: string): void {
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(id))
    throw usageError(`--subscription ${JSON.stringify(id)} is not a subscription id (a GUID)`);
}
