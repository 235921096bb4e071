import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync, truncateSync } from 'node:fs';
import { BlobServiceClient } from '@azure/storage-blob';
import { hashTree, tempDir, writeTree, bytesOf } from '../support/tree.js';
import { runSeedship, startSeedship } from '../support/cli.js';
import { startAzurite, type RunningAzurite } from '../../native/azurite.js';

const MiB = 1024 * 1024;
let az: RunningAzurite;
const t = tempDir('seedship-dc-');

before(async () => {
  az = await startAzurite();
});
after(async () => {
  await az.stop();
  t.cleanup();
});

async function prepared(
  name: string,
  spec: Parameters<typeof writeTree>[1],
  extra: string[],
  ndrives = 3,
): Promise<{ staging: string; drives: string[]; session: string }> {
  const staging = `${t.dir}/${name}/staging`;
  writeTree(staging, spec);
  const drives = Array.from({ length: ndrives }, (_, i) => `${t.dir}/${name}/d${i + 1}`);
  for (const d of drives) mkdirSync(d, { recursive: true });
  const r = await runSeedship([
    'prepare',
    '--staging',
    staging,
    '--job',
    name,
    ...drives.flatMap((d) => ['--drive', d]),
    '--allow-staging-volume',
    ...extra,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return {
    staging,
    drives: drives.filter((d) => existsSync(`${d}/DriveManifest.xml`)),
    session: `${staging}/.seedship/${name}`,
  };
}

const importArgs = (drives: string[], extra: string[] = []) => [
  'import',
  ...drives.flatMap((d) => ['--drive', d]),
  '--connection-string',
  az.connectionString,
  '--json',
  ...extra,
];

for (const [label, extra] of [
  ['zstd spanning', ['--drive-limit', '7M']],
  ['codec none', ['--codec', 'none', '--drive-limit', '10M']],
  ['page blobs', ['--codec', 'none', '--blob-type', 'page', '--drive-limit', '7M']],
  ['encrypted', ['--encrypt', '--drive-limit', '7M']],
] as const) {
  test(`prepare (${label}) -> import into Azurite -> restore from the account: byte-identical`, async () => {
    const name = `dc-${label.replace(/\W+/g, '-')}`;
    const vhd = Buffer.alloc(6 * MiB);
    bytesOf(9000, 3).copy(vhd, 4096);
    const spec =
      label === 'page blobs'
        ? { 'disk.vhd': vhd, 'b/zero.vhd': Buffer.alloc(8192) }
        : {
            'big.bin': { size: 11 * MiB, seed: 1 },
            'logs/x.log': { size: 3 * MiB, seed: 2, kind: 'text' as const },
            empty: '',
            'ünï/日本.txt': 'hello',
          };
    const p = await prepared(name, spec, [...extra]);
    const r = await runSeedship(importArgs(p.drives, ['--session', p.session]));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const res = JSON.parse(r.stdout) as { drives: { status: string; created: number }[]; bytesUploaded: number };
    assert.ok(res.drives.every((d) => d.status === 'Completed'));
    assert.ok(res.bytesUploaded > 0);
    const out = `${t.dir}/${name}/restored`;
    const rr = await runSeedship([
      'restore',
      '--connection-string',
      az.connectionString,
      '--container',
      name,
      '--to',
      out,
      '--session',
      p.session,
    ]);
    assert.equal(rr.code, 0, rr.stderr);
    assert.deepEqual(hashTree(out), hashTree(p.staging));
    // Importing again uploads nothing: every blob is recognised as imported.
    const again = await runSeedship(importArgs(p.drives, ['--session', p.session]));
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { bytesUploaded: number }).bytesUploaded, 0);
  });
}

test('a flipped byte: import refuses the blob with Corrupted on the right block and writes the error log', async () => {
  const p = await prepared('dc-flip', { 'a.bin': { size: 9 * MiB, seed: 5 } }, ['--codec', 'none'], 1);
  const f = `${p.drives[0]}/dc-flip/a.bin`;
  const b = readFileSync(f);
  b[4 * MiB + 100] = b[4 * MiB + 100]! ^ 1;
  writeFileSync(f, b);
  const r = await runSeedship(importArgs(p.drives));
  assert.equal(r.code, 6, r.stdout + r.stderr);
  const res = JSON.parse(r.stdout) as { drives: { status: string; errorLog: string }[] };
  assert.equal(res.drives[0]!.status, 'CompletedWithErrors');
  const svc = BlobServiceClient.fromConnectionString(az.connectionString);
  const logName = decodeURIComponent(new URL(res.drives[0]!.errorLog).pathname.split('/waimportexport/')[1]!);
  assert.match(logName, /^waies\/dc-flip_SS[A-Z0-9]+_\d{8}-\d{6}-\d{3}_error\.xml$/);
  const log = (await svc.getContainerClient('waimportexport').getBlobClient(logName).downloadToBuffer()).toString();
  assert.match(log, /<Block Offset="4194304" Length="4194304" Id="AQAAAA==" Hash="[0-9A-F]{32}" Status="Corrupted"\/>/);
  assert.match(log, /<Status>CompletedWithErrors<\/Status>/);
  const exists = await svc.getContainerClient('dc-flip').getBlobClient('a.bin').exists();
  assert.equal(exists, false, 'a corrupted blob is never committed');
});

test('hostile drives: traversal, DOCTYPE, duplicate paths, lying length, bad name, truncated file', async () => {
  const p = await prepared(
    'dc-hostile',
    { 'ok.txt': 'fine', 'two.txt': 'second', 'long.bin': { size: 2 * MiB, seed: 9 } },
    ['--codec', 'none'],
    1,
  );
  const d = p.drives[0]!;
  const manifest = readFileSync(`${d}/DriveManifest.xml`, 'utf8');
  const whole = readFileSync(`${d}/dc-hostile/long.bin`);
  truncateSync(`${d}/dc-hostile/long.bin`, 1000);
  const tr = await runSeedship(importArgs([d]));
  assert.equal(tr.code, 6);
  assert.match(
    (JSON.parse(tr.stdout) as { drives: { problems: string[] }[] }).drives[0]!.problems.join('\n'),
    /long\.bin: CompletedWithErrors \(block at offset 0 could not be read whole/,
  );
  writeFileSync(`${d}/dc-hostile/long.bin`, whole);
  const run = async (xml: string) => {
    writeFileSync(`${d}/DriveManifest.xml`, xml);
    const r = await runSeedship(importArgs([d]));
    const res = JSON.parse(r.stdout || '{"drives":[{}]}') as { drives: { status: string; problems: string[] }[] };
    // Say why when a run gave no problem list at all (it failed before judging the drive).
    if (!res.drives[0]?.problems)
      assert.fail(`import gave no problem list (exit ${r.code}): ${r.stdout.slice(-800)} ${r.stderr.slice(-800)}`);
    return { code: r.code, res, stderr: r.stderr };
  };
  let r = await run(
    manifest.replace('<FilePath>\\dc-hostile\\ok.txt</FilePath>', '<FilePath>\\..\\..\\etc\\passwd</FilePath>'),
  );
  assert.equal(r.code, 6);
  assert.match(r.res.drives[0]!.problems.join('\n'), /ok\.txt: FileNameInvalid \(FilePath .* leaves the drive\)/);
  r = await run(
    manifest.replace(
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x [<!ENTITY big "aaaaaaaaaa">]>',
    ),
  );
  assert.equal(r.res.drives[0]!.status, 'ManifestFormatInvalid');
  const okBlob = /<Blob>\s*<BlobPath>dc-hostile\/ok\.txt<\/BlobPath>[\s\S]*?<\/Blob>/.exec(manifest)![0];
  r = await run(manifest.replace(okBlob, okBlob + okBlob));
  assert.match(r.res.drives[0]!.problems.join('\n'), /listed twice/);
  r = await run(manifest.replace(/(<BlobPath>dc-hostile\/two\.txt<\/BlobPath>[\s\S]*?<Length>)6</, '$1600<'));
  assert.match(r.res.drives[0]!.problems.join('\n'), /two\.txt: Failed \(blocks cover 6 bytes but Length says 600\)/);
  r = await run(
    manifest.replace('<BlobPath>dc-hostile/two.txt</BlobPath>', '<BlobPath>Bad_Container/two.txt</BlobPath>'),
  );
  assert.match(r.res.drives[0]!.problems.join('\n'), /FileNameInvalid/);
});

test('kill -9 during import, then run again: it finishes without uploading committed blobs again', async () => {
  const spec: Record<string, { size: number; seed: number }> = {};
  for (let i = 0; i < 40; i++) spec[`f${String(i).padStart(2, '0')}.bin`] = { size: 1 * MiB + i, seed: 100 + i };
  const p = await prepared('dc-kill', spec, ['--codec', 'none'], 1);
  const child = startSeedship(importArgs(p.drives));
  let out = '';
  child.stdout!.on('data', (x: Buffer) => (out += x.toString()));
  // Kill as soon as the first blobs are committed, mid-way through the drive.
  const svc = BlobServiceClient.fromConnectionString(az.connectionString);
  // However long that takes on a loaded machine; a run that ends first leaves every blob committed.
  while (child.exitCode === null && child.signalCode === null) {
    let n = 0;
    try {
      for await (const _ of svc.getContainerClient('dc-kill').listBlobsFlat()) n++;
    } catch {
      n = 0;
    }
    if (n >= 3) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const r = await runSeedship(importArgs(p.drives));
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { drives: { created: number; skipped: number }[]; bytesUploaded: number };
  assert.equal(res.drives[0]!.created + res.drives[0]!.skipped, 40);
  assert.ok(
    res.drives[0]!.skipped > 0,
    `the first run committed some blobs before the kill (${out.length} bytes of output)`,
  );
  const rr = await runSeedship([
    'restore',
    '--connection-string',
    az.connectionString,
    '--container',
    'dc-kill',
    '--to',
    `${t.dir}/dc-kill/restored`,
    '--session',
    p.session,
  ]);
  assert.equal(rr.code, 0, rr.stderr);
  assert.deepEqual(hashTree(`${t.dir}/dc-kill/restored`), hashTree(p.staging));
});

test('a manifest naming another drive is refused before any upload (ManifestDriveIdMismatch)', async () => {
  const p = await prepared('dc-mismatch', { 'x.txt': 'x' }, ['--codec', 'none'], 1);
  const d = p.drives[0]!;
  const m = readFileSync(`${d}/DriveManifest.xml`, 'utf8');
  writeFileSync(`${d}/DriveManifest.xml`, m.replace(/<DriveId>[^<]+<\/DriveId>/, '<DriveId>OTHERDRIVE1</DriveId>'));
  const r = await runSeedship(importArgs([d]));
  assert.equal(r.code, 6);
  const res = JSON.parse(r.stdout) as { drives: { status: string; bytesUploaded: number }[] };
  assert.equal(res.drives[0]!.status, 'ManifestDriveIdMismatch');
  assert.equal(res.drives[0]!.bytesUploaded, 0);
});

test('sync after seeding: added, changed and deleted files reach the account; chmod and touch are metadata updates; a second sync uploads nothing', async () => {
  const p = await prepared(
    'dc-sync',
    {
      'keep.txt': 'unchanged',
      'change.log': { size: 5 * MiB, seed: 1, kind: 'text' },
      'gone.bin': { size: 100_000, seed: 2 },
      'touched.txt': 'same bytes',
      'mode.txt': 'chmod me',
    },
    [],
    1,
  );
  const imp = await runSeedship(importArgs(p.drives));
  assert.equal(imp.code, 0, imp.stderr);
  writeFileSync(`${p.staging}/added.bin`, bytesOf(3 * MiB, 7));
  writeFileSync(
    `${p.staging}/change.log`,
    Buffer.concat([readFileSync(`${p.staging}/change.log`), Buffer.from('one more line\n')]),
  );
  (await import('node:fs')).unlinkSync(`${p.staging}/gone.bin`);
  const later = new Date(Date.now() + 5000);
  (await import('node:fs')).utimesSync(`${p.staging}/touched.txt`, later, later);
  (await import('node:fs')).chmodSync(`${p.staging}/mode.txt`, 0o600);
  const sync = ['sync', '--staging', p.staging, '--connection-string', az.connectionString, '--json'];
  const s1 = await runSeedship(sync);
  assert.equal(s1.code, 0, s1.stderr);
  const r1 = JSON.parse(s1.stdout) as {
    uploaded: number;
    unchanged: number;
    metadataUpdated: number;
    deleted: number;
    bytesUploaded: number;
  };
  assert.deepEqual([r1.uploaded, r1.deleted], [2, 1], s1.stdout);
  assert.equal(r1.unchanged, 3, 'keep.txt by size and mtime, touched.txt by its hash, mode.txt by size and mtime');
  assert.equal(r1.metadataUpdated, 2, 'touched.txt (mtime) and mode.txt (chmod): metadata only');
  const props = await BlobServiceClient.fromConnectionString(az.connectionString)
    .getContainerClient('dc-sync')
    .getBlobClient('mode.txt.zst')
    .getProperties();
  assert.equal(props.metadata?.permissions, String(0o100600));
  const out = `${t.dir}/dc-sync/restored`;
  const rr = await runSeedship([
    'restore',
    '--connection-string',
    az.connectionString,
    '--container',
    'dc-sync',
    '--to',
    out,
  ]);
  assert.equal(rr.code, 0, rr.stderr);
  assert.deepEqual(hashTree(out), hashTree(p.staging));
  const s2 = await runSeedship(sync);
  assert.equal(s2.code, 0, s2.stderr);
  const r2 = JSON.parse(s2.stdout) as { uploaded: number; deleted: number; bytesUploaded: number };
  assert.deepEqual([r2.uploaded, r2.deleted, r2.bytesUploaded], [0, 0, 0]);
});
