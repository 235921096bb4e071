/**
 * `import`: import the given drives one after another, each with what the session knows of it
 * (its manifest's hash, an encrypted drive's key), with progress per drive.
 */
import type { ChunkProcessor, FileSystem } from '../../native/interfaces.js';
import type { BlobStore } from '../../native/blob-store-types.js';
import { readDriveJson } from '../drives/drive-identity.js';
import { SeedshipError, usageError } from '../errors/errors.js';
import { driveBlobs, type DriveBlob } from '../journal/drive-blobs.js';
import { manifestTotals } from '../manifest/manifest-totals.js';
import { blobTweakSeed } from '../chunks/chunk-task.js';
import { openSessionView, type SessionView } from '../session/session-view.js';
import type { ProgressBoard, ProgressTrack } from '../util/progress.js';
import { boardFor, sumOfTotals } from '../util/step-board.js';
import { importDrive, type DriveImportResult, type ImportOptions } from './import-drive.js';

export interface RunImportOptions {
  readonly drives: readonly string[];
  /** The session dir: the keys of encrypted drives, and each manifest's hash from its drive-info file. */
  readonly session: string | undefined;
  readonly logLevel: 'error' | 'verbose';
  readonly signal: AbortSignal;
  readonly now: () => number;
  readonly board?: ProgressBoard | undefined;
}

/**
 * `import`: import the given drives one after another (`importDrive`), in the order given, each
 * with what the session knows of it. Progress on `board`: phase `reading manifests` (each drive's
 * manifest counted: its blobs and bytes), then `uploading` for each drive in turn; a track per
 * drive (bytes of its manifest uploaded or settled without an upload, blobs as items), the
 * board's total the sum of them. A failure of the account is E_AZURE.
 */
export async function runImport(
  fs: FileSystem,
  pool: ChunkProcessor,
  store: BlobStore,
  opts: RunImportOptions,
): Promise<DriveImportResult[]> {
  const board = boardFor('import', opts.board);
  board.setPhase('reading manifests', `${opts.drives.length} drive(s)`);
  const tracks: ProgressTrack[] = [];
  for (const d of opts.drives) {
    const root = await fs.realpath(d).catch((err: unknown) => {
      const message = `drive ${d} does not exist; pass the mount path of a prepared drive`;
      throw new SeedshipError('E_USAGE', message, { path: d, cause: err });
    });
    const m = await manifestTotals(fs, root, opts.signal);
    const t = board.track({ key: root, label: m?.driveId ? `${m.driveId} ${d}` : d, unit: 'bytes', total: m?.bytes });
    if (m) t.setItems(0, m.blobs);
    t.setState('waiting');
    tracks.push(t);
  }
  const sumTotals = () => sumOfTotals(tracks);
  board.total.setTotal(sumTotals());
  let view: Promise<SessionView> | undefined;
  const dir = opts.session;
  const session = dir === undefined ? undefined : { dir, view: () => (view ??= openSessionView(fs, dir)) };
  const results: DriveImportResult[] = [];
  for (const [i, d] of opts.drives.entries()) {
    const track = tracks[i]!;
    board.setPhase('uploading', `drive ${i + 1} of ${opts.drives.length}: ${track.label}`);
    track.setState('importing');
    const count = (n: number) => {
      track.add(n);
      board.total.add(n);
    };
    let r: DriveImportResult;
    try {
      const known = await sessionOf(fs, session, d);
      r = await importDrive(fs, pool, store, d, {
        logLevel: opts.logLevel,
        signal: opts.signal,
        now: opts.now,
        ...known,
        onBytes: count,
        onBlobDone: (rest) => {
          count(rest);
          track.setItems((track.items ?? 0) + 1);
        },
      });
    } catch (err) {
      track.setState('failed');
      if (err instanceof SeedshipError) throw err;
      throw new SeedshipError('E_AZURE', `importing drive ${d} failed: ${(err as Error).message}`, { cause: err });
    }
    // A drive that stopped early (a manifest broken half-way) is done at what it did.
    track.setTotal(track.done);
    board.total.setTotal(sumTotals());
    track.setState(r.status === 'Completed' ? 'done' : 'failed');
    results.push(r);
  }
  return results;
}

/** What the session knows of the drive at `d`: its manifest's hash, and for an encrypted drive its key and blobs. */
async function sessionOf(
  fs: FileSystem,
  session: { dir: string; view: () => Promise<SessionView> } | undefined,
  d: string,
): Promise<Pick<ImportOptions, 'manifestHash' | 'decrypt'>> {
  const dj = await readDriveJson(fs, d);
  if (!dj) return {};
  let decrypt: ImportOptions['decrypt'];
  if (dj.encrypted) {
    if (!session) throw usageError(`drive ${d} is encrypted by seedship; pass --session DIR so import can use its key`);
    // The journal is read only for encrypted drives: the others need no more than the drive-info file.
    const view = await session.view();
    const seq = view.state.drives.find((x) => x?.driveId === dj.driveId)?.seq;
    const key = await view.keyOf(dj.driveId);
    if (seq === undefined || !key) throw usageError(`drive ${d} (${dj.driveId}) is not in the session ${session.dir}`);
    const blobs = new Map<string, DriveBlob>();
    for await (const jb of driveBlobs(fs, view.journalPath, seq, view.naming)) {
      blobs.set(`${jb.manifest.blobPath}\0${jb.part}`, jb);
    }
    decrypt = { key, tweakSeed: (p) => blobTweakSeed(view.settings.jobId, p), blobs };
  }
  let manifestHash: string | undefined;
  if (session) {
    const info = await fs.readFileIfExists(`${session.dir}/${dj.driveId}.xml`);
    manifestHash = info ? /<ManifestHash>([0-9A-F]+)<\/ManifestHash>/.exec(info.toString('utf8'))?.[1] : undefined;
  }
  return { manifestHash, decrypt };
}
