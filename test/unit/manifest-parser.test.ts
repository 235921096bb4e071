import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { NodeFileSystem } from '../../native/node-fs.js';
import { parseDriveManifest, ManifestFormatError, type ManifestHeader } from '../../core/manifest/manifest-parser.js';
import {
  blockId,
  formatBlob,
  formatManifestHead,
  MANIFEST_TAIL,
  parseClientData,
  type ManifestBlob,
} from '../../core/manifest/drive-manifest.js';
import { tempDir } from '../support/tree.js';

const fs = new NodeFileSystem();
const header = (): ManifestHeader => ({
  version: undefined,
  driveId: undefined,
  hasAccountKey: false,
  containerSas: undefined,
});

async function parse(xml: string | Buffer): Promise<unknown[]> {
  const t = tempDir();
  try {
    writeFileSync(`${t.dir}/m.xml`, xml);
    const out: unknown[] = [];
    for await (const b of parseDriveManifest(fs, `${t.dir}/m.xml`, header())) out.push(b);
    return out;
  } finally {
    t.cleanup();
  }
}

test('what seedship writes parses back the same, escaping included', async () => {
  const blobs: ManifestBlob[] = [
    {
      blobPath: `c/a & b <c> "d" 'e'.zst`,
      filePath: `\\c\\a & b <c> "d" 'e'.zst`,
      length: 10,
      disposition: 'overwrite',
      kind: 'block',
      segment: { codec: 'zstd', part: 2, final: true, blobOffset: 4128874, rawSize: 8388608 },
      ranges: [{ offset: 0, length: 10, md5: 'A'.repeat(32), id: blockId(1) }],
    },
    {
      blobPath: 'c/disk.vhd',
      filePath: '\\c\\disk.vhd',
      length: 4096,
      disposition: 'rename',
      kind: 'page',
      segment: { codec: 'none', part: 1, final: true, blobOffset: 0, rawSize: 4096 },
      ranges: [{ offset: 512, length: 1024, md5: 'B'.repeat(32) }],
    },
  ];
  const xml = formatManifestHead({ driveId: 'D1', creator: 'test' }) + blobs.map(formatBlob).join('') + MANIFEST_TAIL;
  const got = (await parse(xml)) as {
    blobPath: string;
    clientData: string;
    ranges: unknown[];
    kind: string;
    length: number;
    disposition: string;
  }[];
  assert.equal(got.length, 2);
  assert.equal(got[0]!.blobPath, blobs[0]!.blobPath);
  assert.deepEqual(parseClientData(got[0]!.clientData), blobs[0]!.segment);
  assert.deepEqual(got[0]!.ranges, blobs[0]!.ranges);
  assert.equal(got[1]!.kind, 'page');
  assert.deepEqual(got[1]!.ranges, blobs[1]!.ranges);
  assert.equal(got[0]!.disposition, 'overwrite');
});

test('block ids are 8 base64 characters for every index', () => {
  for (const i of [0, 1, 255, 65536, 2 ** 32 - 1]) assert.equal(blockId(i).length, 8);
  assert.equal(blockId(0), 'AAAAAA==');
  assert.equal(blockId(1), 'AQAAAA==');
});

test('hostile manifests are refused: DOCTYPE and entities, bad UTF-8, wrong root, bad numbers, missing Length', async () => {
  const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><DriveManifest Version="1"><Drive><DriveId>&lol2;</DriveId></Drive></DriveManifest>`;
  await assert.rejects(parse(laughs), (e: unknown) => e instanceof ManifestFormatError && /DOCTYPE/.test(e.message));
  const ext = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><DriveManifest><Drive><DriveId>&xxe;</DriveId></Drive></DriveManifest>`;
  await assert.rejects(parse(ext), ManifestFormatError);
  await assert.rejects(parse(Buffer.from([0x3c, 0x61, 0xff, 0xfe, 0x3e])), /UTF-8/);
  await assert.rejects(parse('<Other/>'), /root element/);
  const blob = (inner: string) =>
    `<DriveManifest Version="1"><Drive><DriveId>X</DriveId><BlobList><Blob><BlobPath>c/a</BlobPath><FilePath>\\c\\a</FilePath>${inner}</Blob></BlobList></Drive></DriveManifest>`;
  await assert.rejects(parse(blob('<Length>1e3</Length><BlockList/>')), /not a non-negative integer/);
  await assert.rejects(
    parse(blob('<Length>3</Length><BlockList><Block Offset="-1" Length="3" Hash="x"/></BlockList>')),
    /Offset/,
  );
  await assert.rejects(parse(blob('<BlockList/>')), /lacks BlobPath, FilePath, Length/);
  await assert.rejects(
    parse(blob('<Length>1</Length><ImportDisposition>replace</ImportDisposition><BlockList/>')),
    /ImportDisposition/,
  );
});

test('a manifest of 20,000 blobs streams through', async () => {
  const one = (i: number) =>
    `<Blob><BlobPath>c/f${i}</BlobPath><FilePath>\\c\\f${i}</FilePath><Length>0</Length><BlockList/></Blob>`;
  const xml = `<DriveManifest Version="1"><Drive><DriveId>X</DriveId><BlobList>${Array.from({ length: 20000 }, (_, i) => one(i)).join('')}</BlobList></Drive></DriveManifest>`;
  assert.equal((await parse(xml)).length, 20000);
});
