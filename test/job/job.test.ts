import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tempDir, writeTree } from '../support/tree.js';
import { CLI, jsonLines, runSeedship } from '../support/cli.js';
import { ArmServer } from '../support/arm-server.js';
import { havePty, runInPty } from '../support/pty.js';

const SUB = '11111111-2222-3333-4444-555555555555';
const t = tempDir('seedship-job-');
const server = new ArmServer();
const session = `${t.dir}/staging/.seedship/jobtest`;
const drives = [`${t.dir}/d1`, `${t.dir}/d2`];
let env: NodeJS.ProcessEnv;

before(async () => {
  writeTree(`${t.dir}/staging`, { 'a.bin': { size: 5 * 1024 * 1024, seed: 1 }, 'b.txt': 'b' });
  for (const d of drives) mkdirSync(d);
  const r = await runSeedship([
    'prepare',
    '--staging',
    `${t.dir}/staging`,
    '--job',
    'jobtest',
    ...drives.flatMap((d) => ['--drive', d]),
    '--allow-staging-volume',
    '--drive-limit',
    '6M',
    '--codec',
    'none',
  ]);
  assert.equal(r.code, 0, r.stderr);
  writeFileSync(
    `${t.dir}/addr.json`,
    JSON.stringify({
      recipientName: 'Ada Admin',
      streetAddress1: '1 Backup Way',
      city: 'Redmond',
      stateOrProvince: 'WA',
      postalCode: '98007',
      countryOrRegion: 'USA',
      phone: '4250000000',
      email: 'ada@example.com',
    }),
  );
  await server.start(t.dir);
  env = { NODE_EXTRA_CA_CERTS: server.caFile, SEEDSHIP_ARM_TOKEN: 'test-token-not-secret-xyz' };
});
after(async () => {
  await server.stop();
  t.cleanup();
});

const createArgs = (extra: string[] = []) => [
  'job',
  'create',
  '--session',
  session,
  '--subscription',
  SUB,
  '--resource-group',
  'backup-rg',
  '--account',
  'backupacct',
  '--location',
  'westus',
  '--return-address-file',
  `${t.dir}/addr.json`,
  '--return-carrier',
  'FedEx',
  '--return-carrier-account',
  '989ffff',
  '--arm-endpoint',
  server.url,
  '--force',
  ...extra,
];

test('job create --dry-run: the body lists every drive with the MD5 of the manifest on it', async () => {
  const r = await runSeedship([...createArgs(['--dry-run', '--json'])], { env });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    method: string;
    path: string;
    body: {
      location: string;
      properties: {
        storageAccountId: string;
        jobType: string;
        driveList: { driveId: string; manifestFile: string; manifestHash: string }[];
      };
    };
  };
  assert.equal(out.method, 'PUT');
  assert.equal(
    out.path,
    `/subscriptions/${SUB}/resourceGroups/backup-rg/providers/Microsoft.ImportExport/jobs/jobtest?api-version=2021-01-01`,
  );
  assert.equal(out.body.properties.jobType, 'Import');
  assert.equal(
    out.body.properties.storageAccountId,
    `/subscriptions/${SUB}/resourceGroups/backup-rg/providers/Microsoft.Storage/storageAccounts/backupacct`,
  );
  assert.equal(out.body.properties.driveList.length, 2);
  for (const d of drives) {
    const id = (JSON.parse(readFileSync(`${d}/seedship/drive.json`, 'utf8')) as { driveId: string }).driveId;
    const entry = out.body.properties.driveList.find((x) => x.driveId === id)!;
    assert.ok(entry, id);
    assert.equal(entry.manifestFile, '\\DriveManifest.xml');
    assert.equal(
      entry.manifestHash,
      createHash('md5')
        .update(readFileSync(`${d}/DriveManifest.xml`))
        .digest('hex')
        .toUpperCase(),
    );
  }
  assert.equal(server.requests.length, 0, 'a dry run sends nothing');
});

test('job create refuses drives the service cannot import, and goes on with --force', async () => {
  const puts = () => server.requests.filter((q) => q.method === 'PUT').length;
  const before = puts();
  const refused = await runSeedship(
    createArgs().filter((a) => a !== '--force'),
    { env },
  );
  assert.equal(refused.code, 2, refused.stderr);
  // The test drives are folders on the test machine's disk, not NTFS volumes inside BitLocker.
  assert.match(refused.stderr, /service check: .*d1: the volume .* is not inside BitLocker/);
  assert.match(refused.stderr, /cannot import the drives of .*jobtest .*pass --force to create the job anyway/);
  assert.equal(puts(), before, 'nothing was sent');
  const forced = await runSeedship(createArgs(['--json']), { env });
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(puts(), before + 1);
  assert.ok(
    jsonLines(forced.stderr).some(
      (l) => l.type === 'warning' && (l.finding as { rule?: string } | undefined)?.rule === 'bitlocker',
    ),
    'the findings are still shown',
  );
});

test('create -> ship -> status through the real SDK: method, path, api-version, body, bearer token', async () => {
  const c = await runSeedship(createArgs(), { env });
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /2045 Lafayette Street/);
  assert.match(c.stdout, /FedEx, DHL/);
  assert.ok(!c.stdout.includes('test-token') && !c.stderr.includes('test-token'), 'the token is never printed');
  const put = server.requests.find((q) => q.method === 'PUT')!;
  assert.equal(
    put.path,
    `/subscriptions/${SUB}/resourceGroups/backup-rg/providers/Microsoft.ImportExport/jobs/jobtest`,
  );
  assert.equal(put.apiVersion, '2021-01-01');
  assert.equal(put.authorization, 'Bearer test-token-not-secret-xyz');
  const pb = put.body as {
    location: string;
    properties: {
      returnAddress: { email: string };
      returnShipping: { carrierName: string };
      logLevel: string;
      diagnosticsPath: string;
      driveList: unknown[];
    };
  };
  assert.equal(pb.location, 'westus');
  assert.equal(pb.properties.returnAddress.email, 'ada@example.com');
  assert.equal(pb.properties.returnShipping.carrierName, 'FedEx');
  assert.equal(pb.properties.logLevel, 'Error');
  assert.equal(pb.properties.driveList.length, 2);
  assert.ok(existsSync(`${session}/job.json`));

  const s = await runSeedship(
    [
      'job',
      'ship',
      '--session',
      session,
      '--carrier',
      'FedEx',
      '--tracking',
      '1Z999AA10123456784',
      '--ship-date',
      '2026-11-24',
      '--arm-endpoint',
      server.url,
    ],
    { env },
  );
  assert.equal(s.code, 0, s.stderr);
  const patch = server.requests.find((q) => q.method === 'PATCH')!;
  assert.equal(patch.apiVersion, '2021-01-01');
  assert.deepEqual((patch.body as { properties: unknown }).properties, {
    deliveryPackage: {
      carrierName: 'FedEx',
      trackingNumber: '1Z999AA10123456784',
      driveCount: 2,
      shipDate: '2026-11-24',
    },
    state: 'Shipping',
  });
  assert.equal(statSync(`${session}/shipping.json`).mode & 0o777, 0o600);
  assert.match(s.stdout, /Waiting for Azure Import Job to complete/);

  server.setState(SUB, 'backup-rg', 'jobtest', 'Transferring', 'Transferring');
  const st = await runSeedship(['job', 'status', '--session', session, '--arm-endpoint', server.url, '--json'], {
    env,
  });
  assert.equal(st.code, 0, st.stderr);
  const sj = JSON.parse(st.stdout) as {
    state: string;
    meaning: string;
    drives: { state: string; percentComplete: number; errorLogUri: string }[];
  };
  assert.equal(sj.state, 'Transferring');
  assert.match(sj.meaning, /Waiting for Azure Import Job to complete/);
  assert.equal(sj.drives[0]!.state, 'Transferring');
  assert.match(sj.drives[0]!.errorLogUri, /waies/);
  const get = server.requests.filter((q) => q.method === 'GET' && q.path.endsWith('/jobs/jobtest'));
  assert.ok(get.length >= 1 && get.every((q) => q.apiVersion === '2021-01-01'));

  const k = await runSeedship(['job', 'keys', '--session', session, '--arm-endpoint', server.url], { env });
  assert.equal(k.code, 0, k.stderr);
  assert.match(k.stdout, /238810-662376/);
});

test('throttling (429 with Retry-After) is retried, then the locations are listed', async () => {
  server.throttleNext = 1;
  const before = server.requests.length;
  const r = await runSeedship(['job', 'locations', '--arm-endpoint', server.url, '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  const locs = (JSON.parse(r.stdout) as { locations: { name: string }[] }).locations.map((l) => l.name);
  assert.deepEqual(locs, ['West US', 'eastus']);
  assert.equal(server.requests.length - before, 2, 'one throttled try, then the list');
});

test("the service's error body surfaces as one clear line, without the token", async () => {
  const args = createArgs().map((a) => (a === 'backup-rg' ? 'denied-rg' : a));
  const r = await runSeedship(args, { env });
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /creating the Import\/Export job failed: HTTP 403 AuthorizationFailed: The client does not have authorization/,
  );
  assert.ok(!r.stderr.includes('test-token'));
  assert.equal(
    r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('seedship: warning: service check:')).length,
    1,
  );
});

test('an alternate location is used when the one asked for is closed', async () => {
  const r = await runSeedship([...createArgs(['--json']).map((a) => (a === 'westus' ? 'closedus' : a))], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /alternate westus/);
});

test('rules are checked before calling: drive count, address fields, names', async () => {
  writeFileSync(`${t.dir}/bad-addr.json`, JSON.stringify({ recipientName: 'x', city: 'y' }));
  let r = await runSeedship(
    createArgs(['--dry-run']).map((a) => (a === `${t.dir}/addr.json` ? `${t.dir}/bad-addr.json` : a)),
    { env },
  );
  assert.equal(r.code, 2);
  assert.match(r.stderr, /needs streetAddress1/);
  r = await runSeedship(
    createArgs(['--dry-run']).map((a) => (a === 'backupacct' ? 'Bad_Account' : a)),
    { env },
  );
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--account/);
  r = await runSeedship(
    createArgs(['--dry-run']).map((a) => (a === SUB ? 'not-a-guid' : a)),
    { env },
  );
  assert.equal(r.code, 2);
});

test('a tracking number used by another job in the same place is refused', async () => {
  const other = `${t.dir}/staging/.seedship/other-job`;
  mkdirSync(other, { recursive: true });
  writeFileSync(
    `${other}/shipping.json`,
    JSON.stringify({ job: 'other-job', deliveryPackage: { carrierName: 'FedEx', trackingNumber: 'TRACK-SHARED-1' } }),
  );
  const r = await runSeedship(
    [
      'job',
      'ship',
      '--session',
      session,
      '--carrier',
      'FedEx',
      '--tracking',
      'TRACK-SHARED-1',
      '--arm-endpoint',
      server.url,
    ],
    { env },
  );
  assert.equal(r.code, 2);
  assert.match(r.stderr, /already used by job other-job/);
});

test('ship on a terminal: one prompt at a time, a review, sent only after "yes"', async (ctx) => {
  if (!(await havePty())) return ctx.skip('needs util-linux script(1) for a pseudo-terminal');
  const patches = () => server.requests.filter((q) => q.method === 'PATCH').length;
  const n0 = patches();
  const refused = await runInPty(
    [process.execPath, CLI, 'job', 'ship', '--session', session, '--arm-endpoint', server.url],
    [
      { when: /Carrier delivering/, send: 'FedEx\r' },
      { when: /Tracking number/, send: 'TTY-TRACK-2\r' },
      { when: /Number of drives/, send: '\r' },
      { when: /Ship date/, send: '2026-11-25\r' },
      { when: /Type yes/, send: 'no\r' },
    ],
    env,
  );
  assert.equal(refused.code, 2, refused.output);
  assert.match(refused.output, /Review:[\s\S]*TTY-TRACK-2[\s\S]*two weeks/);
  assert.match(refused.output, /nothing was sent/);
  assert.equal(patches(), n0);
  const ok = await runInPty(
    [process.execPath, CLI, 'job', 'ship', '--session', session, '--arm-endpoint', server.url],
    [
      { when: /Carrier delivering/, send: 'FedEx\r' },
      { when: /Tracking number/, send: 'TTY-TRACK-2\r' },
      { when: /Number of drives/, send: '2\r' },
      { when: /Ship date/, send: '2026-11-25\r' },
      { when: /Type yes/, send: 'yes\r' },
    ],
    env,
  );
  assert.equal(ok.code, 0, ok.output);
  assert.equal(patches(), n0 + 1);
  assert.match(ok.output, /shipping details sent/);
  assert.equal(
    (JSON.parse(readFileSync(`${session}/shipping.json`, 'utf8')) as { deliveryPackage: { trackingNumber: string } })
      .deliveryPackage.trackingNumber,
    'TTY-TRACK-2',
  );
});

test("DiskPrep's u: with p:<publishsettings> says the certificate is not used, then shows the status", async () => {
  writeFileSync(
    `${t.dir}/my.publishsettings`,
    `<?xml version="1.0" encoding="utf-8"?><PublishData><PublishProfile SchemaVersion="2.0" PublishMethod="AzureServiceManagementAPI"><Subscription ServiceManagementUrl="https://management.core.windows.net" Id="${SUB}" Name="Backup Sub" ManagementCertificate="MIIKPAIBAzCCCfwGCSqGSIb3DQEHAaCCCe0EggnpMIIJ5TCCBe4GCSqGSIb3DQEHAaCCBd8EggXbMIIF1zCCBdMGCyqGSIb3DQEMCgECoIIE7jCCBOowHAYKKoZIhvcNAQwBAzAOBAhRdummy" /></PublishProfile></PublishData>`,
  );
  const r = await runSeedship(
    ['u:', `s:${t.dir}/staging`, `p:${t.dir}/my.publishsettings`, '--session', session, '--arm-endpoint', server.url],
    { env },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /retired classic API/);
  assert.match(r.stdout, /job jobtest: /);
  assert.ok(!r.stdout.includes('MIIKPAIB') && !r.stderr.includes('MIIKPAIB'), 'the certificate is never printed');
});

test('prepare --create-job creates the job once the drives are sealed and read back', async () => {
  writeTree(`${t.dir}/staging2`, { 'c.txt': 'c' });
  mkdirSync(`${t.dir}/d3`);
  const puts = () => server.requests.filter((q) => q.method === 'PUT' && q.path.endsWith('/jobs/second-job')).length;
  const args = [
    'prepare',
    '--staging',
    `${t.dir}/staging2`,
    '--job',
    'second-job',
    '--drive',
    `${t.dir}/d3`,
    '--allow-staging-volume',
    '--create-job',
    '--subscription',
    SUB,
    '--resource-group',
    'backup-rg',
    '--account',
    'backupacct',
    '--location',
    'westus',
    '--return-address-file',
    `${t.dir}/addr.json`,
    '--return-carrier',
    'FedEx',
    '--return-carrier-account',
    '989ffff',
    '--arm-endpoint',
    server.url,
  ];
  const refused = await runSeedship(args, { env });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /--create-job: the Azure Import\/Export service cannot import these drives/);
  assert.ok(!existsSync(`${t.dir}/d3/seedship`), 'refused before anything was copied');
  const r = await runSeedship([...args, '--force'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(puts(), 1);
  assert.match(r.stdout, /created Import\/Export job second-job/);
  assert.ok(existsSync(`${t.dir}/staging2/.seedship/second-job/job.json`));
});
