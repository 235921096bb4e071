import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite, type RunningAzurite } from '../../native/azurite.js';
import { runSeedship } from '../support/cli.js';
import { canMount, haveNtfs, mountNtfsDrive, NEEDS_ROOT, whyNoNtfs } from '../support/mounts.js';
import { buildPosixTree, comparePosixTrees, escapeName, rsyncDiff, type PosixTreeInfo } from '../support/posix-tree.js';
import { tempDir } from '../support/tree.js';
import {
  accountSas,
  AZCOPY_STATX_KEYS,
  AZCOPY_UNSTABLE_KEYS,
  azcopyBlobName,
  azcopyDownload,
  azcopyUnavailableReason,
  azcopyUpload,
  diffPosixMetadata,
} from '../support/azcopy.js';

// The bar of "any real Linux tree, exactly": a stock Debian docs tree plus every awkward name,
// link, mode, owner and time, prepared onto two NTFS drives as a Linux copy computer writes them
// (mkntfs -Q, ntfs-3g -o windows_names), imported into Azurite, and restored from the drives and
// from the account, with and without the session: not one difference, as strict as
// rsync -aHS --numeric-ids. AzCopy, the reference client, agrees on every blob's POSIX metadata.

const t = tempDir('seedship-posix-');
let az: RunningAzurite | undefined;
let tree: PosixTreeInfo | undefined;
const unmount: (() => void)[] = [];
const staging = `${t.dir}/staging`;
const drives = [`${t.dir}/d1`, `${t.dir}/d2`];
const session = `${staging}/.seedship/posix`;
/** A real tree takes minutes on a loaded 2-core machine (the import is ~5,000 blobs). */
const LONG = { timeoutMs: 900_000 };
const why = !canMount() ? NEEDS_ROOT : !haveNtfs() ? `needs ntfs-3g drives (${whyNoNtfs()})` : undefined;

before(async () => {
  if (why) return;
  tree = buildPosixTree(staging, { debianDocs: true });
  // Two small drives, filled at once (each takes part of the tree): the copy spans them.
  unmount.push(mountNtfsDrive(`${t.dir}/d1.img`, drives[0]!, 128), mountNtfsDrive(`${t.dir}/d2.img`, drives[1]!, 160));
  az = await startAzurite();
});

after(async () => {
  for (const u of unmount.reverse()) u();
  await az?.stop();
  t.cleanup();
});

function same(a: string, b: string, what: string): void {
  const diffs = comparePosixTrees(a, b);
  assert.deepEqual(diffs, [], `${what}: ${diffs.length} difference(s)`);
  const rs = rsyncDiff(a, b);
  if (rs) assert.deepEqual(rs, [], `${what} (rsync -aHS --numeric-ids --checksum)`);
}

test('prepare of a real tree onto two ntfs-3g drives: exit 0, every name kept or mapped, none refused', async (ctx) => {
  if (why) return ctx.skip(why);
  assert.ok(tree!.debianDocs.included, 'the Debian docs tree is part of it');
  const r = await runSeedship(
    [
      'prepare',
      '--staging',
      staging,
      '--job',
      'posix',
      ...drives.flatMap((d) => ['--drive', d]),
      '--codec',
      'none',
      '--json',
    ],
    LONG,
  );
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const res = JSON.parse(r.stdout) as {
    drives: { status: string; verified: boolean; blobs: number }[];
    files: { total: number; done: number; skipped: number };
    names: { mapped: number; escaped: number; file: string };
  };
  assert.equal(res.drives.length, 2);
  for (const d of res.drives) assert.deepEqual([d.status, d.verified], ['sealed', true]);
  assert.equal(res.files.total, tree!.counts.entries);
  assert.deepEqual([res.files.done, res.files.skipped], [tree!.counts.entries, 0]);
  assert.ok(res.names.mapped >= 15, `mapped ${res.names.mapped}`);
  assert.equal(
    res.names.escaped,
    3,
    'the non-UTF-8 name, the newline and the backslash (which the service reads as /)',
  );
  assert.match(readFileSync(res.names.file, 'utf8'), /^mapped,escaped\t"unicode\/line\\nbreak"/m);
});

test('restore from the drives with the session: the same tree, no difference', async (ctx) => {
  if (why) return ctx.skip(why);
  const out = `${t.dir}/from-drives`;
  const r = await runSeedship(
    ['restore', ...drives.flatMap((d) => ['--drive', d]), '--session', session, '--to', out],
    LONG,
  );
  assert.equal(r.code, 0, r.stderr);
  same(staging, out, 'restore from the drives');
});

test('import into Azurite, then restore from the account with and without the session: no difference', async (ctx) => {
  if (why) return ctx.skip(why);
  const r = await runSeedship(
    ['import', ...drives.flatMap((d) => ['--drive', d]), '--connection-string', az!.connectionString, '--json'],
    LONG,
  );
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const withSession = `${t.dir}/from-account-session`;
  const a = await runSeedship(
    [
      'restore',
      '--connection-string',
      az!.connectionString,
      '--container',
      'posix',
      '--session',
      session,
      '--to',
      withSession,
    ],
    LONG,
  );
  assert.equal(a.code, 0, a.stderr);
  same(staging, withSession, 'restore from the account with the session');
  const bare = `${t.dir}/from-account`;
  const b = await runSeedship(
    ['restore', '--connection-string', az!.connectionString, '--container', 'posix', '--to', bare],
    LONG,
  );
  assert.equal(b.code, 0, b.stderr);
  same(staging, bare, 'restore from the account without the session (the copy computer is gone)');
});

test('AzCopy agrees: every blob it writes of the tree has the same POSIX keys and values as the imported one, and it downloads at least as much from ours', async (ctx) => {
  if (why) return ctx.skip(why);
  const noAzcopy = azcopyUnavailableReason();
  if (noAzcopy) return ctx.skip(noAzcopy);
  const svc = BlobServiceClient.fromConnectionString(az!.connectionString);
  const ours = new Map<string, Record<string, string>>();
  const ourNames = new Map<string, string>();
  // Ours by the entry's staged path (an escaped name's original is in seedship_name), as AzCopy names it.
  for await (const b of svc.getContainerClient('posix').listBlobsFlat({ includeMetadata: true })) {
    const original = b.metadata?.seedship_name;
    const key = azcopyBlobName(original !== undefined ? Buffer.from(original, 'base64').toString('utf8') : b.name);
    ours.set(key, b.metadata ?? {});
    ourNames.set(key, b.name);
  }
  assert.ok(ours.size >= tree!.counts.entries);
  // AzCopy cannot send the name that is not UTF-8 (Azurite answers 500): it goes on without it.
  const ref = accountSas(az!.connectionString, 'azcopy-ref');
  await azcopyUpload(staging, ref, { contentsOnly: true, allowFailure: true });
  let compared = 0;
  const problems: string[] = [];
  for await (const b of svc.getContainerClient('azcopy-ref').listBlobsFlat({ includeMetadata: true })) {
    if (b.name === '.seedship' || b.name.startsWith('.seedship/')) continue;
    const mine = ours.get(b.name);
    if (!mine) {
      problems.push(`${b.name}: AzCopy wrote it, the import did not`);
      continue;
    }
    // atime moves when AzCopy reads; statx's mask and attributes are not in Node's lstat.
    for (const d of diffPosixMetadata(b.metadata ?? {}, mine, [...AZCOPY_UNSTABLE_KEYS, ...AZCOPY_STATX_KEYS]))
      problems.push(`${b.name}: ${d}`);
    compared++;
  }
  assert.deepEqual(problems.slice(0, 30), [], `${problems.length} problem(s)`);
  assert.ok(compared >= tree!.counts.entries - 2, `compared ${compared} blobs`);

  // Downloaded by AzCopy, our container gives back at least what AzCopy's own upload gives back.
  const theirs = `${t.dir}/azcopy-theirs`;
  const mineDir = `${t.dir}/azcopy-ours`;
  mkdirSync(theirs);
  mkdirSync(mineDir);
  await azcopyDownload(ref, theirs, { contentsOnly: true, allowFailure: true });
  const mineRun = await azcopyDownload(accountSas(az!.connectionString, 'posix'), mineDir, {
    contentsOnly: true,
    allowFailure: true,
  });
  // AzCopy restores no folder's mode, owner or times from either container (docs/azcopy-posix.md):
  // those are the moment and user of each download, not something either upload lost.
  // Nor a symlink's owner or times. And a name with a control character is escaped in our
  // container (the rule: no manifest or Windows tool carries it), so AzCopy downloads it
  // under the escaped name; seedship's own restore gives the original back.
  const notKept = (rel: string) => {
    const st = lstatSync(`${theirs}/${rel}`, { throwIfNoEntry: false });
    return st?.isDirectory() === true || st?.isSymbolicLink() === true;
  };
  const escaped = escapeName(Buffer.from(tree!.paths.newline));
  const lostIn = (dir: string) =>
    comparePosixTrees(theirs, dir, { maxLines: 100_000 }).filter((l) => {
      const m = /^(.*): (mtime|mode|owner|uid|gid)\b/.exec(l);
      return !/only in b/.test(l) && !(m && notKept(m[1]!)) && !l.startsWith(`${escaped}: only in a`);
    });
  // AzCopy now and then leaves out a symlink when it downloads a container of some thousand blobs,
  // reporting no failure (seen on both containers, a different link each time). Such a link is
  // not lost if our container holds its blob with AzCopy's content and the same POSIX keys (the
  // keys were compared above).
  const content = (container: string, name: string) =>
    svc.getContainerClient(container).getBlobClient(name).downloadToBuffer();
  const lost: string[] = [];
  for (const l of lostIn(mineDir)) {
    const link = /^(.*): only in a \(symlink\)$/.exec(l)?.[1];
    const mine = link !== undefined ? ourNames.get(link) : undefined;
    if (
      link !== undefined &&
      mine !== undefined &&
      ours.get(link)?.is_symlink === 'true' &&
      (await content('posix', mine)).equals(await content('azcopy-ref', link))
    )
      continue;
    lost.push(l);
  }
  assert.deepEqual(
    lost,
    [],
    `what AzCopy restores from its own upload, it restores from ours (AzCopy's failed transfers: ${JSON.stringify(mineRun.summary?.FailedTransfers ?? []).slice(0, 800)})`,
  );
});
