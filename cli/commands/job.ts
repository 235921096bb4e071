// `seedship job …`: create and follow the Azure Import/Export job of a prepared session (ARM).
import { Option, type Command } from 'commander';
import { job as J, SeedshipError, usageError, discoverJobSession } from '../../core/index.js';
import { armErrorMessage, CLOUDS, type CloudName } from '../../core/azure/clouds.js';
import type { CliContext } from '../shared/context.js';
import { EXIT } from '../shared/exit-codes.js';
import { choiceOption, intOption, sessionOption } from '../shared/options.js';
import { printNotice, printResult } from '../shared/output.js';
import type { SetExit } from '../shared/types.js';
import { ask } from '../shared/prompt.js';
import { refuseUnlessImportable } from './check.js';

const API_VERSION = '2021-01-01';
const NO_SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';

interface ArmFlags {
  cloud: CloudName;
  armEndpoint?: string;
  json?: boolean;
}

/** Options every job subcommand takes; they come after the subcommand's own, each in its help group. */
function addArm(c: Command): Command {
  return c
    .addOption(
      choiceOption('--cloud <name>', 'Azure cloud', Object.keys(CLOUDS)).default('AzureCloud').helpGroup('Azure:'),
    )
    .addOption(
      new Option('--arm-endpoint <url>', 'Azure Resource Manager endpoint (overrides --cloud)').helpGroup('Azure:'),
    )
    .addOption(new Option('--json', 'the result as one JSON object on stdout').helpGroup('Output:'));
}

function api(ctx: CliContext, f: ArmFlags, subscription: string): J.ImportExportApi {
  // The Azure SDK is loaded when a call is made, not at start-up: most commands never need it.
  let loaded: Promise<J.ImportExportApi> | undefined;
  const load = () =>
    (loaded ??= import('../../native/arm-client.js').then((m) =>
      m.createImportExportApi({
        subscription,
        cloud: f.cloud,
        armEndpoint: f.armEndpoint,
        staticToken: ctx.env.SEEDSHIP_ARM_TOKEN || undefined,
      }),
    ));
  const inner = {
    createJob: async (...a: Parameters<J.ImportExportApi['createJob']>) => (await load()).createJob(...a),
    updateJob: async (...a: Parameters<J.ImportExportApi['updateJob']>) => (await load()).updateJob(...a),
    getJob: async (...a: Parameters<J.ImportExportApi['getJob']>) => (await load()).getJob(...a),
    getLocation: async (...a: Parameters<J.ImportExportApi['getLocation']>) => (await load()).getLocation(...a),
    listLocations: async (...a: Parameters<J.ImportExportApi['listLocations']>) => (await load()).listLocations(...a),
    listBitLockerKeys: async (...a: Parameters<J.ImportExportApi['listBitLockerKeys']>) =>
      (await load()).listBitLockerKeys(...a),
  };
  // Every ARM failure becomes one clear line; credentials never appear in it.
  const wrap =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>, what: string) =>
    async (...a: A): Promise<R> => {
      try {
        return await fn(...a);
      } catch (err) {
        throw new SeedshipError('E_AZURE', `${what} failed: ${armErrorMessage(err)}`, { cause: err });
      }
    };
  return {
    createJob: wrap(inner.createJob, 'creating the Import/Export job'),
    updateJob: wrap(inner.updateJob, 'updating the Import/Export job'),
    getJob: wrap(inner.getJob, 'reading the Import/Export job'),
    getLocation: wrap(inner.getLocation, 'reading the Import/Export location'),
    listLocations: wrap(inner.listLocations, 'listing Import/Export locations'),
    listBitLockerKeys: wrap(inner.listBitLockerKeys, 'listing BitLocker keys'),
  };
}

async function readJson(ctx: CliContext, path: string, flag: string): Promise<unknown> {
  const b = await ctx.deps.fs.readFileIfExists(path);
  if (!b) throw usageError(`${flag} ${path} does not exist`);
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    throw usageError(`${flag} ${path} is not valid JSON`);
  }
}

interface CreateFlags extends ArmFlags {
  session: string;
  subscription: string;
  resourceGroup: string;
  account: string;
  location: string;
  returnAddressFile: string;
  returnCarrier: string;
  returnCarrierAccount: string;
  logLevel: 'error' | 'verbose';
  backupManifests?: boolean;
  dryRun?: boolean;
  force?: boolean;
}

/** The options `job create` needs, with the flag and attribute name of each. */
const ACCOUNT = 'Storage account:';
const RETURN = 'Return shipping:';
const ADDRESS_FIELDS =
  'recipientName, streetAddress1, streetAddress2, city, stateOrProvince, postalCode, countryOrRegion, phone, email';
const JOB_CREATE_REQUIRED = [
  ['subscription', '--subscription <id>', 'Azure subscription id of the storage account', ACCOUNT],
  [
    'resourceGroup',
    '--resource-group <rg>',
    'resource group of the storage account (the job is created there)',
    ACCOUNT,
  ],
  ['account', '--account <name>', 'storage account to import into', ACCOUNT],
  ['location', '--location <region>', 'Azure region of the storage account, e.g. westus', ACCOUNT],
  ['returnAddressFile', '--return-address-file <file>', `JSON file with ${ADDRESS_FIELDS}`, RETURN],
  ['returnCarrier', '--return-carrier <name>', 'carrier that returns the drives (e.g. FedEx)', RETURN],
  ['returnCarrierAccount', '--return-carrier-account <n>', 'your account number with that carrier', RETURN],
] as const;

/**
 * The options `job create` and `prepare --create-job` share: required and grouped by purpose for
 * `job create` (commander reports every one missing); for prepare checked only with --create-job,
 * in the help group prepare has set.
 */
export function addJobCreateOptions(c: Command, required = false): Command {
  const group = (o: Option, heading: string) => (required ? o.helpGroup(heading) : o);
  for (const [, flags, description, heading] of JOB_CREATE_REQUIRED) {
    c.addOption(group(new Option(flags, description).makeOptionMandatory(required), heading));
  }
  const logLevel = choiceOption('--log-level <level>', 'error: copy logs only on errors; verbose: always', [
    'error',
    'verbose',
  ]);
  return c
    .addOption(group(logLevel.default('error'), 'Import:'))
    .addOption(
      group(new Option('--backup-manifests', 'have the service keep a copy of each drive manifest'), 'Import:'),
    )
    .addOption(
      group(
        new Option('--force', 'create the job even when seedship check finds drives the service cannot import'),
        'Import:',
      ),
    );
}

/** One problem line per job create option missing from `o`, as commander words it. */
export function missingJobCreateOptions(o: Record<string, unknown>): string[] {
  return JOB_CREATE_REQUIRED.filter(([k]) => !o[k]).map(([, flags]) => `required option '${flags}' not specified`);
}

type CreateInputs = Awaited<ReturnType<typeof J.readJobInputs>>;

/** `job create`: check the flags and the drives, then print the request (--dry-run) or send it and save the job. */
export async function createJob(ctx: CliContext, f: CreateFlags): Promise<number> {
  checkCreateFlags(f);
  ctx.log.attach(f.session);
  const inputs = await J.readJobInputs(ctx.deps.fs, f.session);
  const checkOpts = { force: f.force === true, dryRun: f.dryRun === true, json: f.json === true };
  await refuseUnlessImportable(ctx, f.session, checkOpts);
  const body = await jobBody(ctx, f, inputs.drives);
  const path =
    `/subscriptions/${f.subscription}/resourceGroups/${f.resourceGroup}` +
    `/providers/Microsoft.ImportExport/jobs/${inputs.settings.job}?api-version=${API_VERSION}`;
  if (f.dryRun) {
    printDryRun(ctx, f, path, body);
    return EXIT.OK;
  }
  await sendCreate(ctx, f, inputs, body);
  return EXIT.OK;
}

/** Every required option given, and subscription, resource group and account well formed. */
function checkCreateFlags(f: CreateFlags): void {
  const missing = missingJobCreateOptions(f as unknown as Record<string, unknown>);
  const flags = missing.map((m) => m.replace(/^required option '(\S+).*/, '$1'));
  if (missing.length > 0) throw usageError(`job create needs ${flags.join(', ')}`);
  J.checkSubscription(f.subscription);
  J.checkResourceGroup(f.resourceGroup);
  J.checkAccountName(f.account);
}

/** The PUT body: the drives, the account, the return address (read from its file) and carrier. */
async function jobBody(ctx: CliContext, f: CreateFlags, drives: CreateInputs['drives']): Promise<J.PutJobBody> {
  const returnAddress = J.checkReturnAddress(
    await readJson(ctx, f.returnAddressFile, '--return-address-file'),
    f.returnAddressFile,
  );
  const returnShipping = J.checkReturnShipping({
    carrierName: f.returnCarrier,
    carrierAccountNumber: f.returnCarrierAccount,
  });
  return J.buildJobBody({
    drives,
    location: f.location,
    subscription: f.subscription,
    resourceGroup: f.resourceGroup,
    account: f.account,
    returnAddress,
    returnShipping,
    logLevel: f.logLevel,
    backupManifests: f.backupManifests === true,
  });
}

/** The exact request, except that BitLocker keys are masked: no key is ever printed. */
function printDryRun(ctx: CliContext, f: CreateFlags, path: string, body: J.PutJobBody): void {
  const shown = {
    ...body,
    properties: {
      ...body.properties,
      driveList: body.properties.driveList.map((d) => ({ ...d, bitLockerKey: d.bitLockerKey ? '******' : '' })),
    },
  };
  printResult(
    ctx,
    f.json === true,
    { method: 'PUT', path, body: shown },
    () => `PUT ${path}\n${JSON.stringify(shown, null, 2)}\n(BitLocker keys masked; nothing was sent)\n`,
  );
}

/**
 * Create the job (shipping to the location's alternate when it takes no drives now), save job.json,
 * and say where to ship the drives.
 */
async function sendCreate(ctx: CliContext, f: CreateFlags, inputs: CreateInputs, body: J.PutJobBody): Promise<void> {
  const { settings, drives } = inputs;
  const arm = api(ctx, f, f.subscription);
  let shipTo = await arm.getLocation(f.location);
  const alternate = J.shippingLocationName(shipTo);
  if (alternate) {
    printNotice(
      ctx,
      f.json === true,
      'warning',
      `location ${f.location} is not accepting drives now; ship to its alternate ${alternate}`,
    );
    shipTo = await arm.getLocation(alternate);
  }
  const created = await arm.createJob(settings.job, f.resourceGroup, body);
  const record: J.JobRecord = {
    job: settings.job,
    subscription: f.subscription,
    resourceGroup: f.resourceGroup,
    account: f.account,
    location: f.location,
    shipTo,
    createdAt: ctx.deps.clock.now(),
    drives: drives.map((d) => d.driveId),
  };
  await ctx.deps.fs.writeFileAtomic(`${f.session}/${J.JOB_FILE}`, `${JSON.stringify(record, null, 2)}\n`);
  printResult(
    ctx,
    f.json === true,
    { job: settings.job, state: created.state, shipTo, drives: record.drives },
    () =>
      `${[
        `created Import/Export job ${settings.job} (${created.state ?? 'Creating'}) ` +
          `for ${drives.length} drive(s): ${record.drives.join(', ')}`,
        `ship the drives to:\n  ${J.formatAddress(shipTo)}`,
        `carriers: ${shipTo.supportedCarriers.join(', ') || '(not listed)'}`,
        `then enter carrier and tracking number within two weeks: seedship job ship --session ${f.session}`,
      ].join('\n')}\n`,
  );
}

interface ShipFlags extends ArmFlags {
  session: string;
  carrier?: string;
  tracking?: string;
  shipDate?: string;
  driveCount?: number;
  returnAddressFile?: string;
  returnCarrier?: string;
  returnCarrierAccount?: string;
  yes?: boolean;
}

/** A new return address and carrier, when the flags give them. */
interface ReturnChanges {
  returnAddress: J.ReturnAddress | undefined;
  returnShipping: J.ReturnShipping | undefined;
}

/** `job ship`: the package (asked for on a terminal), reviewed and confirmed there, sent, saved (0600). */
async function shipJob(ctx: CliContext, f: ShipFlags): Promise<number> {
  ctx.log.attach(f.session);
  const rec = await J.readJobRecord(ctx.deps.fs, f.session);
  const interactive = ctx.interactive && !f.yes && !f.json;
  const pkg = await deliveryPackage(ctx, f, rec, interactive);
  const changes = await returnChanges(ctx, f);
  if (interactive) {
    ctx.stderr.write(`\nReview:\n${shipReview(rec, pkg, changes)}\n`);
    const answer = await ask(ctx, 'Type yes to send these shipping details: ');
    if (answer !== 'yes') {
      ctx.stderr.write('seedship: nothing was sent.\n');
      return EXIT.USAGE;
    }
  }
  const { returnAddress, returnShipping } = changes;
  const arm = api(ctx, f, rec.subscription);
  const updated = await arm.updateJob(rec.job, rec.resourceGroup, {
    deliveryPackage: pkg,
    ...(returnAddress ? { returnAddress } : {}),
    ...(returnShipping ? { returnShipping } : {}),
    state: 'Shipping',
  });
  const saved: J.ShippingRecord = {
    job: rec.job,
    deliveryPackage: pkg,
    returnAddress,
    returnShipping,
    sentAt: ctx.deps.clock.now(),
  };
  const file = `${f.session}/${J.SHIPPING_FILE}`;
  await ctx.deps.fs.writeFileAtomic(file, `${JSON.stringify(saved, null, 2)}\n`, 0o600);
  printResult(
    ctx,
    f.json === true,
    { job: rec.job, state: updated.state, saved: file },
    () =>
      `shipping details sent (job state ${updated.state ?? 'Shipping'}); saved in ${file}\n` +
      `${J.explainState(updated.state)}\n`,
  );
  return EXIT.OK;
}

/** Carrier, tracking number, drive count and ship date: from the flags, else asked on a terminal; checked. */
async function deliveryPackage(
  ctx: CliContext,
  f: ShipFlags,
  rec: J.JobRecord,
  interactive: boolean,
): Promise<J.DeliveryPackage> {
  const field = async (value: string | undefined, question: string): Promise<string | undefined> =>
    value !== undefined || !interactive ? value : (await ask(ctx, question)) || undefined;
  const carrierName = await field(
    f.carrier,
    `Carrier delivering the drives (${rec.shipTo?.supportedCarriers.join(', ') || 'e.g. FedEx'}): `,
  );
  const trackingNumber = await field(f.tracking, 'Tracking number: ');
  const countText = await field(f.driveCount?.toString(), `Number of drives in the package [${rec.drives.length}]: `);
  const shipDate = await field(
    f.shipDate,
    `Ship date (YYYY-MM-DD) [${new Date(ctx.deps.clock.now()).toISOString().slice(0, 10)}]: `,
  );
  const pkg = J.checkDeliveryPackage(
    {
      ...(carrierName ? { carrierName } : {}),
      ...(trackingNumber ? { trackingNumber } : {}),
      ...(countText ? { driveCount: Number(countText) } : {}),
      ...(shipDate ? { shipDate } : {}),
    },
    rec.drives.length,
    ctx.deps.clock,
  );
  const used = (await J.trackingNumbersOfOtherJobs(ctx.deps.fs, f.session)).get(pkg.trackingNumber);
  if (used)
    throw usageError(
      `tracking number ${pkg.trackingNumber} is already used by job ${used}; ` +
        'every job ships in its own package with its own tracking number',
    );
  return pkg;
}

async function returnChanges(ctx: CliContext, f: ShipFlags): Promise<ReturnChanges> {
  const returnAddress = f.returnAddressFile
    ? J.checkReturnAddress(await readJson(ctx, f.returnAddressFile, '--return-address-file'), f.returnAddressFile)
    : undefined;
  const returnShipping =
    f.returnCarrier || f.returnCarrierAccount
      ? J.checkReturnShipping({
          ...(f.returnCarrier ? { carrierName: f.returnCarrier } : {}),
          ...(f.returnCarrierAccount ? { carrierAccountNumber: f.returnCarrierAccount } : {}),
        })
      : undefined;
  return { returnAddress, returnShipping };
}

/** What is about to be sent, for the operator to confirm. */
function shipReview(rec: J.JobRecord, pkg: J.DeliveryPackage, changes: ReturnChanges): string {
  const { returnAddress: a, returnShipping } = changes;
  return [
    `job ${rec.job} (resource group ${rec.resourceGroup}, account ${rec.account})`,
    `  carrier ${pkg.carrierName}, tracking ${pkg.trackingNumber}, ${pkg.driveCount} drive(s), shipped ${pkg.shipDate}`,
    a ? `  return address: ${[a.recipientName, a.streetAddress1, a.city, a.countryOrRegion].join(', ')}` : undefined,
    returnShipping ? `  return carrier: ${returnShipping.carrierName}` : undefined,
    'The drives must reach the data center within two weeks of this update.',
  ]
    .filter(Boolean)
    .join('\n');
}

type StatusFlags = ArmFlags & { session: string; watch?: boolean };

/** `job status`: print the job's state once, or with --watch until it ends (polling with back-off). */
async function showStatus(ctx: CliContext, f: StatusFlags): Promise<number> {
  ctx.log.attach(f.session);
  const rec = await J.readJobRecord(ctx.deps.fs, f.session);
  const arm = api(ctx, f, rec.subscription);
  let delay = 30_000;
  for (;;) {
    const j = await arm.getJob(rec.job, rec.resourceGroup);
    const result = {
      job: rec.job,
      state: j.state,
      percentComplete: j.percentComplete,
      meaning: J.explainState(j.state),
      drives: j.drives,
    };
    printResult(ctx, f.json === true, result, () => statusText(rec.job, j));
    if (!f.watch || ['Completed', 'Closed', 'Canceled'].includes(j.state ?? '')) return EXIT.OK;
    await sleepUnlessStopped(ctx, delay);
    delay = Math.min(delay * 2, 15 * 60_000);
  }
}

function statusText(job: string, j: J.JobView): string {
  const percent = (n: number | undefined, pre: string) => (n !== undefined ? `${pre}${n}%` : '');
  const drives = j.drives.map(
    (d) =>
      `  drive ${d.driveId ?? '?'}: ${d.state ?? '?'}${percent(d.percentComplete, ' ')}` +
      `${d.copyStatus ? ` — ${d.copyStatus}` : ''}` +
      `${d.errorLogUri ? `\n    error log: ${d.errorLogUri}` : ''}` +
      `${d.verboseLogUri ? `\n    verbose log: ${d.verboseLogUri}` : ''}`,
  );
  const head = `job ${job}: ${j.state ?? '?'}${j.percentComplete !== undefined ? ` (${j.percentComplete}%)` : ''}`;
  return `${[head, `  ${J.explainState(j.state)}`, ...drives].join('\n')}\n`;
}

/** Wait `ms`; Ctrl-C ends the wait with E_INTERRUPTED. */
function sleepUnlessStopped(ctx: CliContext, ms: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    const stop = () => {
      clearTimeout(t);
      reject(new SeedshipError('E_INTERRUPTED', 'stopped watching'));
    };
    ctx.signal.addEventListener('abort', stop, { once: true });
  });
}

/** `job locations`: the data centers, or one, with address and carriers. */
async function listLocations(ctx: CliContext, f: ArmFlags & { location?: string }): Promise<number> {
  const arm = api(ctx, f, NO_SUBSCRIPTION);
  const locs = f.location ? [await arm.getLocation(f.location)] : await arm.listLocations();
  printResult(
    ctx,
    f.json === true,
    { locations: locs },
    () =>
      `${locs
        .map((l) => `${l.name ?? l.id}:\n  ${J.formatAddress(l)}\n  carriers: ${l.supportedCarriers.join(', ')}`)
        .join('\n')}\n`,
  );
  return EXIT.OK;
}

/** `job keys`: the BitLocker keys the service holds for the job's drives. */
async function listKeys(ctx: CliContext, f: ArmFlags & { session: string }): Promise<number> {
  ctx.log.attach(f.session);
  const rec = await J.readJobRecord(ctx.deps.fs, f.session);
  const keys = await api(ctx, f, rec.subscription).listBitLockerKeys(rec.job, rec.resourceGroup);
  printResult(
    ctx,
    f.json === true,
    { keys },
    () => `${keys.map((k) => `${k.driveId}  ${k.bitLockerKey}`).join('\n')}\n`,
  );
  return EXIT.OK;
}

type UFlags = ArmFlags & { session?: string; staging?: string; publishSettings?: string; yes?: boolean };

/** `job u` (AzureOfflineBackupDiskPrep's u:): ship when no shipping details were sent yet, else the status. */
async function jobU(ctx: CliContext, f: UFlags): Promise<number> {
  if (f.publishSettings) await notePublishSettings(ctx, f.publishSettings, f.json === true);
  const session = f.session ?? (f.staging ? await discoverJobSession(ctx.deps, f.staging) : undefined);
  if (!session) throw usageError('u: needs --session DIR or s:<staging>');
  const shipped = await ctx.deps.fs.exists(`${session}/${J.SHIPPING_FILE}`);
  return shipped ? await showStatus(ctx, { ...f, session }) : await shipJob(ctx, { ...f, session });
}

/** A p: file names the subscription; say why its certificate is not used. */
async function notePublishSettings(ctx: CliContext, file: string, json: boolean): Promise<void> {
  const text = (await ctx.deps.fs.readFileIfExists(file))?.toString('utf8');
  if (text === undefined) throw usageError(`p: ${file} does not exist`);
  const subs = J.parsePublishSettings(text, file);
  printNotice(
    ctx,
    json,
    'info',
    `publish settings name subscription ${subs.map((s) => `${s.id} (${s.name})`).join(', ')}; ` +
      'their management certificate belongs to the retired classic API, so seedship signs in to ' +
      'Azure Resource Manager instead (DefaultAzureCredential, or SEEDSHIP_ARM_TOKEN)',
  );
}

export function registerJob(program: Command, ctx: CliContext, setExit: SetExit): void {
  const job = program
    .command('job')
    .description('create and follow the Azure Import/Export job of a prepared session (Azure Resource Manager)');
  registerJobCreate(job, ctx, setExit);
  registerJobShip(job, ctx, setExit);
  registerJobStatus(job, ctx, setExit);
  registerJobLocations(job, ctx, setExit);
  registerJobKeys(job, ctx, setExit);
  registerJobU(job, ctx, setExit);
}

function registerJobCreate(job: Command, ctx: CliContext, setExit: SetExit): void {
  addArm(
    addJobCreateOptions(
      job
        .command('create')
        .description(
          "create the import job from the session's drive-info files; prints the data center's shipping address",
        )
        .optionsGroup('Session:')
        .addOption(sessionOption('the session dir of the prepare run').makeOptionMandatory())
        .option('--dry-run', 'print the exact request (BitLocker keys masked) without sending it'),
      true,
    ),
  ).action(async (f: CreateFlags) => setExit(await createJob(ctx, f)));
}

function registerJobShip(job: Command, ctx: CliContext, setExit: SetExit): void {
  addArm(
    job
      .command('ship')
      .description(
        'enter carrier, tracking number, drive count and ship date (asks on a terminal), review, ' +
          'send after you type yes, save locally (0600)',
      )
      .optionsGroup('Session:')
      .addOption(sessionOption('the session dir').makeOptionMandatory())
      .option('--yes', 'never prompt')
      .optionsGroup('Package:')
      .option('--carrier <name>', 'carrier delivering the drives')
      .option('--tracking <number>', 'tracking number of the package')
      .option('--ship-date <date>', 'YYYY-MM-DD (default today)')
      .option('--drive-count <n>', 'drives in the package', intOption('--drive-count', 1, 10))
      .optionsGroup('Return shipping (to change it):')
      .option('--return-address-file <file>', 'new return address (JSON)')
      .option('--return-carrier <name>', 'new return carrier')
      .option('--return-carrier-account <n>', 'new return carrier account number'),
  ).action(async (f: ShipFlags) => setExit(await shipJob(ctx, f)));
}

function registerJobStatus(job: Command, ctx: CliContext, setExit: SetExit): void {
  addArm(
    job
      .command('status')
      .description("show the job's state, each drive's state, progress and log URIs, and what it means"),
  )
    .addOption(sessionOption('the session dir').makeOptionMandatory())
    .option('--watch', 'poll with back-off until the job completes')
    .action(async (f: StatusFlags) => setExit(await showStatus(ctx, f)));
}

function registerJobLocations(job: Command, ctx: CliContext, setExit: SetExit): void {
  addArm(
    job.command('locations').description('list the Import/Export data centers, or show one, with address and carriers'),
  )
    .option('--location <region>', 'one location')
    .action(async (f: ArmFlags & { location?: string }) => setExit(await listLocations(ctx, f)));
}

function registerJobKeys(job: Command, ctx: CliContext, setExit: SetExit): void {
  addArm(
    job
      .command('keys')
      .description(
        "list the BitLocker keys the service holds for the job's drives (printed: that is what this command is for)",
      ),
  )
    .addOption(sessionOption('the session dir').makeOptionMandatory())
    .action(async (f: ArmFlags & { session: string }) => setExit(await listKeys(ctx, f)));
}

function registerJobU(job: Command, ctx: CliContext, setExit: SetExit): void {
  addArm(
    job
      .command('u')
      .description(
        "AzureOfflineBackupDiskPrep's u: — enter shipping details if they are missing, else show the status",
      ),
  )
    .addOption(sessionOption('the session dir'))
    .option('--staging <dir>', 'staging location (its only job is used)')
    .option('--publish-settings <file>', 'p: .publishsettings file (subscription only; its certificate is not used)')
    .option('--yes', 'never prompt')
    .action(async (f: UFlags) => setExit(await jobU(ctx, f)));
}
