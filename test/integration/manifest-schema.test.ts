import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tempDir, writeTree, bytesOf } from '../support/tree.js';
import { runSeedship } from '../support/cli.js';
import { checkManifestRules, validateManifestXml } from '../support/manifest-schema.js';

const MiB = 1024 * 1024;

test('manifests seedship writes validate against the documented schema and its rules (zstd, none, page, spanning)', async () => {
  const t = tempDir();
  try {
    const vhd = Buffer.alloc(3 * MiB);
    bytesOf(5000, 4).copy(vhd, 1024);
    writeTree(`${t.dir}/s`, {
      "a & b 'c'.bin": { size: 9 * MiB, seed: 1 },
      'logs/x.log': { size: 5 * MiB, seed: 2, kind: 'text' },
      empty: '',
    });
    writeTree(`${t.dir}/p`, { 'disk.vhd': vhd, 'zero.vhd': Buffer.alloc(4096) });
    const runs: [string, string[]][] = [
      ['s', ['--drive-limit', '6M']],
      ['s', ['--codec', 'none', '--drive-limit', '7M']],
      ['p', ['--codec', 'none', '--blob-type', 'page', '--drive-limit', '3M']],
    ];
    let n = 0;
    for (const [src, extra] of runs) {
      n++;
      const drives = [1, 2, 3, 4].map((i) => `${t.dir}/r${n}d${i}`);
      for (const d of drives) mkdirSync(d);
      const r = await runSeedship([
        'prepare',
        '--staging',
        `${t.dir}/${src}`,
        '--job',
        `schema-${n}`,
        '--session',
        `${t.dir}/session${n}`,
        ...drives.flatMap((d) => ['--drive', d]),
        '--allow-staging-volume',
        ...extra,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const manifests = drives.filter((d) => existsSync(`${d}/DriveManifest.xml`));
      assert.ok(manifests.length >= 1);
      for (const d of manifests) {
        const xml = readFileSync(`${d}/DriveManifest.xml`, 'utf8');
        const v = await validateManifestXml(xml);
        assert.ok(v.valid, `${d}: ${v.errors.join('; ')}`);
        assert.deepEqual(checkManifestRules(xml), [], d);
      }
    }
  } finally {
    t.cleanup();
  }
});

const GOOD = `<?xml version="1.0" encoding="UTF-8"?>
<DriveManifest Version="2014-11-01"><Drive><DriveId>9WM35C3U</DriveId><ClientCreator>x</ClientCreator>
<BlobList><Blob><BlobPath>c/a.jpg</BlobPath><FilePath>\\c\\a.jpg</FilePath><Length>8</Length>
<BlockList><Block Offset="0" Length="4" Id="AAAAAA==" Hash="263DC9C4B99C2177769C5EBE04787037"/><Block Offset="4" Length="4" Id="AQAAAA==" Hash="263DC9C4B99C2177769C5EBE04787037"/></BlockList>
</Blob></BlobList></Drive></DriveManifest>`;

test('the schema and the rule checker catch what the format forbids', async () => {
  assert.ok((await validateManifestXml(GOOD)).valid);
  assert.deepEqual(checkManifestRules(GOOD), []);
  const bad = async (xml: string) => (await validateManifestXml(xml)).valid;
  assert.equal(
    await bad(
      GOOD.replace('<Length>8</Length>', '').replace(
        '</FilePath>',
        '</FilePath><Length>8</Length><ClientData>late</ClientData>',
      ),
    ),
    false,
    'element order',
  );
  assert.equal(
    await bad(
      GOOD.replace(
        'Hash="263DC9C4B99C2177769C5EBE04787037"/><Block',
        'Hash="263dc9c4b99c2177769c5ebe04787037"/><Block',
      ),
    ),
    false,
    'lower-case hash',
  );
  assert.equal(
    await bad(GOOD.replace('Length="4" Id="AAAAAA=="', 'Length="4194305" Id="AAAAAA=="')),
    false,
    'block over 4 MiB',
  );
  assert.equal(await bad(GOOD.replace('Version="2014-11-01"', '')), false, 'Version required');
  assert.match(checkManifestRules(GOOD.replace('Offset="4"', 'Offset="5"')).join(), /gap/);
  assert.match(checkManifestRules(GOOD.replace('Id="AQAAAA=="', 'Id="AQAAAAAAAA=="')).join(), /different lengths/);
  const page = GOOD.replace('<BlockList>', '<PageRangeList>')
    .replace('</BlockList>', '</PageRangeList>')
    .replaceAll('<Block ', '<PageRange ')
    .replaceAll(' Id="AAAAAA=="', '')
    .replaceAll(' Id="AQAAAA=="', '');
  assert.match(checkManifestRules(page).join(), /multiple of 512|512-aligned/);
});
