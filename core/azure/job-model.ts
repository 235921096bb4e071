/**
 * (types only: the ARM boundary, like interfaces.ts)
 * The parts of the ARM Import/Export job model seedship uses (spec §5), as plain types, so the
 * engine does not depend on the SDK. Field names are the SDK's (`@azure/arm-storageimportexport`).
 */
export interface ReturnAddress {
  recipientName: string;
  streetAddress1: string;
  streetAddress2?: string;
  city: string;
  stateOrProvince?: string;
  postalCode: string;
  countryOrRegion: string;
  phone: string;
  email: string;
}

export interface ReturnShipping {
  carrierName: string;
  carrierAccountNumber: string;
}

export interface DeliveryPackage {
  carrierName: string;
  trackingNumber: string;
  driveCount?: number;
  shipDate?: string;
}

export interface DriveStatusBody {
  driveId: string;
  bitLockerKey: string;
  manifestFile: string;
  manifestHash: string;
}

export interface PutJobBody {
  location: string;
  properties: {
    storageAccountId: string;
    jobType: 'Import';
    returnAddress: ReturnAddress;
    returnShipping: ReturnShipping;
    diagnosticsPath: string;
    logLevel: 'Error' | 'Verbose';
    backupDriveManifest: boolean;
    driveList: DriveStatusBody[];
  };
}

export interface UpdateJobBody {
  deliveryPackage?: DeliveryPackage;
  returnAddress?: ReturnAddress;
  returnShipping?: ReturnShipping;
  state?: 'Shipping';
}

export interface JobDrive {
  driveId?: string;
  state?: string;
  percentComplete?: number;
  copyStatus?: string;
  errorLogUri?: string;
  verboseLogUri?: string;
  manifestUri?: string;
  bytesSucceeded?: number;
}

export interface JobView {
  name?: string;
  location?: string;
  state?: string;
  percentComplete?: number;
  provisioningState?: string;
  shippingInformation?: Partial<ReturnAddress> & { additionalInformation?: string };
  deliveryPackage?: DeliveryPackage;
  drives: JobDrive[];
}

export interface LocationView {
  id?: string;
  name?: string;
  recipientName?: string;
  streetAddress1?: string;
  streetAddress2?: string;
  city?: string;
  stateOrProvince?: string;
  postalCode?: string;
  countryOrRegion?: string;
  phone?: string;
  additionalShippingInformation?: string;
  supportedCarriers: string[];
  alternateLocations: string[];
}

/** The ARM calls seedship makes; the SDK-backed implementation is native/arm-client.ts. */
export interface ImportExportApi {
  createJob(job: string, resourceGroup: string, body: PutJobBody): Promise<JobView>;
  updateJob(job: string, resourceGroup: string, body: UpdateJobBody): Promise<JobView>;
  getJob(job: string, resourceGroup: string): Promise<JobView>;
  getLocation(location: string): Promise<LocationView>;
  listLocations(): Promise<LocationView[]>;
  listBitLockerKeys(job: string, resourceGroup: string): Promise<{ driveId?: string; bitLockerKey?: string }[]>;
}
