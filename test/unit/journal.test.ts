import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { NodeFileSystem } from '../../native/node-fs.js';
import { JournalWriter } from '../../core/journal/journal-writer.js';
import { readAllRecords, JournalReader } from '../../core/journal/journal-reader.js';
import {
  decodeRecord,
  encodeRecord,
  encodeWholeFile,
  HEADER_BYTES,
  RecordType,
  type JournalRecord,
  type WholeFileRecs,
} from '../../core/journal/record-codec.js';
import { SeedshipError } from '../../core/errors/errors.js';
import { tempDir } from '../support/tree.js';

const fs = new NodeFileSystem();
const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('hex'));

const NP = { noNullPrototype: true } as const;
/** A staged file's identity and where its part starts, as SegmentStarted records carry them. */
const placedFileArbs = {
  size: fc.nat(),
  mtimeMs: fc.double({ min: 0, max: 2e12, noNaN: true }),
  ino: fc.nat(),
  mode: fc.nat(0o777),
  rawOffset: fc.nat(),
  storedOffset: fc.nat(),
};
const extentsArb = fc.array(
  fc.record({ fileOffset: fc.nat(), length: fc.nat(4 * 1024 * 1024), md5: hex(16).map((h) => h.toUpperCase()) }, NP),
  { maxLength: 4 },
);

/** Arbitrary valid journal records of every type. */
const recordArb: fc.Arbitrary<JournalRecord> = fc.oneof(
  fc.record(
    { type: fc.constant(RecordType.SessionStarted as const), run: fc.nat(1000), at: fc.nat(), version: fc.string() },
    NP,
  ),
  fc.record(
    {
      type: fc.constant(RecordType.DriveAttached as const),
      drive: fc.nat(9),
      driveId: fc.string({ minLength: 1 }),
      path: fc.string(),
      budget: fc.nat(),
    },
    NP,
  ),
  fc.record(
    {
      type: fc.constant(RecordType.SegmentStarted as const),
      file: fc.nat(),
      gen: fc.nat(3),
      part: fc.integer({ min: 1, max: 5 }),
      drive: fc.nat(9),
      path: fc.string({ minLength: 1 }),
      ...placedFileArbs,
      firstBlock: fc.nat(),
    },
    NP,
  ),
  fc.record(
    {
      type: fc.constant(RecordType.Chunk as const),
      file: fc.nat(2 ** 32 - 1),
      gen: fc.nat(65535),
      drive: fc.nat(65535),
      index: fc.nat(2 ** 32 - 1),
      rawOffset: fc.nat(),
      rawLength: fc.nat(4 * 1024 * 1024),
      storedOffset: fc.nat(),
      storedLength: fc.nat(4 * 1024 * 1024),
      xxh64: hex(8),
      extents: extentsArb,
    },
    NP,
  ),
  fc.record(
    { type: fc.constant(RecordType.FileDone as const), file: fc.nat(), gen: fc.nat(3), storedLength: fc.nat() },
    NP,
  ),
  fc.record(
    { type: fc.constant(RecordType.FileSkipped as const), file: fc.nat(), path: fc.string(), reason: fc.string() },
    NP,
  ),
  fc.record(
    {
      type: fc.constant(RecordType.DriveSealed as const),
      drive: fc.nat(9),
      manifestHash: hex(16),
      manifestBytes: fc.nat(),
    },
    NP,
  ),
  fc.record({ type: fc.constant(RecordType.DriveVerified as const), drive: fc.nat(9) }, NP),
);

/** The three records of a file placed whole in one chunk, consistent as the copy loop writes them. */
const wholeArb: fc.Arbitrary<WholeFileRecs> = fc
  .record(
    {
      file: fc.nat(2 ** 32 - 1),
      gen: fc.nat(65535),
      part: fc.integer({ min: 1, max: 5 }),
      drive: fc.nat(65535),
      path: fc.string({ minLength: 1, unit: 'binary' }),
      ...placedFileArbs,
      index: fc.nat(2 ** 32 - 1),
      rawLength: fc.nat(4 * 1024 * 1024),
      storedLength: fc.nat(4 * 1024 * 1024),
      xxh64: hex(8),
      extents: extentsArb,
    },
    NP,
  )
  .map(
    (w): WholeFileRecs => [
      {
        type: RecordType.SegmentStarted,
        file: w.file,
        gen: w.gen,
        part: w.part,
        drive: w.drive,
        path: w.path,
        size: w.size,
        mtimeMs: w.mtimeMs,
        ino: w.ino,
        mode: w.mode,
        rawOffset: w.rawOffset,
        storedOffset: w.storedOffset,
        firstBlock: w.index,
      },
      {
        type: RecordType.Chunk,
        file: w.file,
        gen: w.gen,
        drive: w.drive,
        index: w.index,
        rawOffset: w.rawOffset,
        rawLength: w.rawLength,
        storedOffset: w.storedOffset,
        storedLength: w.storedLength,
        xxh64: w.xxh64,
        extents: w.extents,
      },
      { type: RecordType.FileDone, file: w.file, gen: w.gen, storedLength: w.storedOffset + w.storedLength },
    ],
  );

/** What the copy appends: single records, or a whole file's three through appendWholeFile. */
type Entry = { rec: JournalRecord } | { whole: WholeFileRecs };
const entryArb: fc.Arbitrary<Entry> = fc.oneof(
  recordArb.map((rec) => ({ rec })),
  wholeArb.map((whole) => ({ whole })),
);
const appendEntry = (w: JournalWriter, e: Entry) => ('rec' in e ? w.append(e.rec) : w.appendWholeFile(e.whole));
const flatten = (es: Entry[]): JournalRecord[] => es.flatMap((e) => ('rec' in e ? [e.rec] : [...e.whole]));

test('a whole file in one chunk is one record that decodes to its three; a cut or flipped byte never decodes to others', () => {
  fc.assert(
    fc.property(wholeArb, fc.nat(), (whole, at) => {
      const b = encodeWholeFile(whole);
      assert.ok(b, 'a consistent triple is encodable');
      const step = decodeRecord(b);
      assert.equal(step.kind, 'records');
      if (step.kind === 'records') assert.deepEqual(step.records, whole);
      assert.equal(decodeRecord(b.subarray(0, at % b.length)).kind, 'need-more');
      const flipped = Buffer.from(b);
      flipped[at % b.length] = flipped[at % b.length]! ^ 0x5a;
      const f = decodeRecord(flipped);
      assert.ok(
        f.kind === 'torn' ||
          f.kind === 'need-more' ||
          (f.kind === 'records' && JSON.stringify(f.records) === JSON.stringify(whole)),
        `flipped byte ${at % b.length} decoded as ${f.kind}`,
      );
    }),
  );
});

test('three records that are not one whole file stay three records; a version 1 journal never gets a WholeFile record', async () => {
  const t = tempDir();
  try {
    const [seg, chunk, done] = fc.sample(wholeArb, { numRuns: 1, seed: 42 })[0]!;
    const odd: WholeFileRecs = [seg, chunk, { ...done, storedLength: done.storedLength + 1 }];
    assert.equal(encodeWholeFile(odd), undefined);
    const physical = (path: string) => {
      const b = readFileSync(path).subarray(HEADER_BYTES);
      const kinds: string[] = [];
      for (let o = 0; o < b.length; ) {
        const step = decodeRecord(b.subarray(o));
        assert.ok(step.kind === 'record' || step.kind === 'records', step.kind);
        kinds.push(step.kind);
        o += step.bytes;
      }
      return kinds;
    };
    for (const [version, recs, kinds] of [
      [2, [seg, chunk, done], ['records']],
      [2, odd, ['record', 'record', 'record']],
      [1, [seg, chunk, done], ['record', 'record', 'record']],
    ] as const) {
      const path = `${t.dir}/v${version}-${kinds.length}.sjr`;
      const w = await JournalWriter.create(fs, path, Buffer.alloc(16, 9), version);
      w.appendWholeFile(recs);
      assert.equal(w.pendingRecords, kinds.length);
      await w.commit();
      await w.close();
      assert.deepEqual(physical(path), kinds, `version ${version}`);
      const got = await readAllRecords(fs, path);
      assert.equal(got.version, version);
      assert.deepEqual(got.records, recs);
      // Reading only some types parses only those, from whole-file records too.
      const only: JournalRecord[] = [];
      for await (const r of new JournalReader(fs, path).records(new Set([RecordType.FileDone]))) only.push(r);
      assert.deepEqual(only, [recs[2]]);
    }
  } finally {
    t.cleanup();
  }
});

test('every record type round-trips through the codec', () => {
  fc.assert(
    fc.property(recordArb, (r) => {
      const step = decodeRecord(encodeRecord(r));
      assert.equal(step.kind, 'record');
      if (step.kind === 'record') assert.deepEqual(step.record, r);
    }),
  );
});

test('a record cut anywhere needs more bytes; a flipped byte is a torn record, never another record', () => {
  fc.assert(
    fc.property(recordArb, fc.nat(), (r, at) => {
      const b = encodeRecord(r);
      assert.equal(decodeRecord(b.subarray(0, at % b.length)).kind, 'need-more');
      const flipped = Buffer.from(b);
      flipped[at % b.length] = flipped[at % b.length]! ^ 0x5a;
      const step = decodeRecord(flipped);
      assert.notEqual(step.kind === 'record' && JSON.stringify(step.record) !== JSON.stringify(r), true);
    }),
  );
});

test('property: every truncation of a valid journal replays to a prefix of its records', async () => {
  const t = tempDir();
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { maxLength: 12 }), async (entries) => {
        const records = flatten(entries);
        const path = `${t.dir}/j.sjr`;
        const cut = `${t.dir}/cut.sjr`;
        await fs.unlink(path);
        const w = await JournalWriter.create(fs, path, Buffer.alloc(16, 7));
        for (const e of entries) appendEntry(w, e);
        await w.commit();
        await w.close();
        const full = readFileSync(path);
        for (let n = HEADER_BYTES; n <= full.length; n++) {
          copyFileSync(path, cut);
          truncateSync(cut, n);
          const got = await readAllRecords(fs, cut);
          assert.deepEqual(got.records, records.slice(0, got.records.length), `cut at ${n}`);
          assert.ok(got.tail.validEnd <= n);
          if (n === full.length) assert.equal(got.records.length, records.length);
        }
      }),
      { numRuns: 40 },
    );
  } finally {
    t.cleanup();
  }
});

test('property: a journal with one flipped byte after the header replays to a prefix', async () => {
  const t = tempDir();
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { minLength: 1, maxLength: 10 }), fc.nat(), async (entries, pos) => {
        const records = flatten(entries);
        const path = `${t.dir}/j.sjr`;
        await fs.unlink(path);
        const w = await JournalWriter.create(fs, path, Buffer.alloc(16, 1));
        for (const e of entries) appendEntry(w, e);
        await w.commit();
        await w.close();
        const b = readFileSync(path);
        const at = HEADER_BYTES + (pos % (b.length - HEADER_BYTES));
        b[at] = b[at]! ^ 0xff;
        writeFileSync(path, b);
        const got = await readAllRecords(fs, path);
        assert.deepEqual(got.records, records.slice(0, got.records.length));
        assert.ok(got.records.length < records.length, 'the damaged record and what follows are not replayed');
      }),
      { numRuns: 60 },
    );
  } finally {
    t.cleanup();
  }
});

test('appending after a torn tail cuts it off; a bad header is E_JOURNAL_CORRUPT', async () => {
  const t = tempDir();
  try {
    const path = `${t.dir}/j.sjr`;
    const a = { type: RecordType.FileDone, file: 1, gen: 0, storedLength: 10 } as const;
    const b = { type: RecordType.FileDone, file: 2, gen: 0, storedLength: 20 } as const;
    const w = await JournalWriter.create(fs, path, Buffer.alloc(16, 2));
    w.append(a);
    await w.commit();
    await w.close();
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from([200, 0, 0, 0, 9, 9])]));
    const r1 = new JournalReader(fs, path);
    for await (const _ of r1.records());
    assert.ok(r1.tail.fileSize > r1.tail.validEnd);
    const w2 = await JournalWriter.openAt(fs, path, {
      validEnd: r1.tail.validEnd,
      fileSize: r1.tail.fileSize,
      version: r1.version!,
    });
    w2.append(b);
    await w2.commit();
    await w2.close();
    assert.deepEqual((await readAllRecords(fs, path)).records, [a, b]);
    const bad = readFileSync(path);
    bad[4] = 99; // version
    writeFileSync(path, bad);
    await assert.rejects(
      readAllRecords(fs, path),
      (e: unknown) => e instanceof SeedshipError && e.code === 'E_JOURNAL_CORRUPT' && /version 99/.test(e.message),
    );
    await assert.rejects(JournalWriter.create(fs, path, Buffer.alloc(16)), /EEXIST/);
  } finally {
    t.cleanup();
  }
});

test('a pipelined group commit writes only the records appended before it began', async () => {
  const t = tempDir();
  const path = `${t.dir}/partial.journal`;
  const w = await JournalWriter.create(fs, path, Buffer.alloc(16, 3));
  const rec = (drive: number): JournalRecord => ({ type: RecordType.DriveFull, drive });
  w.append(rec(1));
  w.append(rec(2));
  const upTo = w.pendingRecords;
  w.append(rec(3)); // appended while the data sync runs: not covered by it
  await w.commit(upTo);
  assert.equal(w.pendingRecords, 1);
  assert.deepEqual((await readAllRecords(fs, path)).records, [rec(1), rec(2)]);
  await w.commit();
  assert.equal(w.pendingRecords, 0);
  assert.deepEqual((await readAllRecords(fs, path)).records, [rec(1), rec(2), rec(3)]);
  await w.close();
  t.cleanup();
});
