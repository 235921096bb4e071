import type { NativeDeps } from '../../native/interfaces.js';
import { errnoCode, SeedshipError, usageError } from '../errors/errors.js';
import {
  generateDriveId,
  readDriveJson,
  usableSerial,
  writeDriveJson,
  type DriveJson,
} from '../drives/drive-identity.js';
import { RecordType } from '../journal/record-codec.js';
import type { DriveState } from '../journal/journal-state.js';
import { driveRoom, reserveBytesFor, segmentAllocBytes } from '../drives/drive-space.js';
import { sessionFiles } from '../session/session-layout.js';
import { formatBytes } from '../util/size.js';
import { DriveWriter } from './drive-writer.js';
import { isDriveFault } from './drive-faults.js';
import type { OpenSession } from './open-session.js';

/** Space left unused on every drive, beyond seedship's own accounting: 1 MiB or 0.2 %. */
const SAFETY_MIN_BYTES = 1024 * 1024;
const SAFETY_FRACTION = 0.002;
/** A drive with less room than this for data is refused as "full before anything fits". */
const MIN_USEFUL_ROOM_BYTES = 64 * 1024;

/** A drive the user named, checked before anything is written. */
export interface InspectedDrive {
  readonly input: string;
  readonly root: string;
  readonly json: DriveJson | undefined;
  readonly bitlockerKey: string | undefined;
  /** Its `seedship/drive.json` could not be read: the drive is failing (the error code). */
  readonly unreadable?: string | undefined;
}

/** A drive being filled. */
export interface CurrentDrive {
  readonly state: DriveState;
  readonly writer: DriveWriter;
  readonly key: Uint8Array | undefined;
}

export interface CoordinatorOptions {
  readonly driveLimit: number | undefined;
  readonly allowStagingVolume: boolean;
  readonly notice: (level: 'info' | 'warning', message: string) => void;
}

/**
 * Keeps the drives being filled: checks the drives given, re-attaches the ones a crashed run was
 * filling, attaches every new one given (all are filled at once), asks for more when interactive,
 * and keeps per-drive keys in the session dir. Never writes to a sealed drive or another job's drive.
 */
export class DriveCoordinator {
  /** Drives being filled, by sequence number. */
  readonly open = new Map<number, CurrentDrive>();
  /** Drives of this job given at their last path that cannot be read: failing. */
  readonly unreadable: { readonly state: DriveState; readonly input: string; readonly code: string }[] = [];
  readonly #deps: NativeDeps;
  readonly #s: OpenSession;
  readonly #opts: CoordinatorOptions;
  readonly #queue: InspectedDrive[] = [];
  readonly #keys = new Map<number, Uint8Array>();

  constructor(deps: NativeDeps, session: OpenSession, opts: CoordinatorOptions) {
    this.#deps = deps;
    this.#s = session;
    this.#opts = opts;
  }

  /** Check one drive path the user gave. */
  async inspect(input: string, bitlockerKey: string | undefined): Promise<InspectedDrive> {
    const { fs } = this.#deps;
    let root: string;
    try {
      root = await fs.realpath(input);
    } catch (err) {
      throw new SeedshipError(
        'E_DRIVE_UNSUITABLE',
        `drive ${input} does not exist (${errnoCode(err) ?? 'error'}); mount it and pass its mount path with --drive`,
        { path: input, cause: err },
      );
    }
    const st = await fs.stat(root);
    if (st.kind !== 'dir')
      throw new SeedshipError(
        'E_DRIVE_UNSUITABLE',
        `drive ${input} is not a directory; pass the mount path of the drive`,
        { path: input },
      );
    const staging = this.#s.staging;
    if (root === staging || root.startsWith(`${staging}/`) || staging.startsWith(`${root}/`)) {
      throw new SeedshipError(
        'E_DRIVE_UNSUITABLE',
        `drive ${input} overlaps the staging directory ${staging}; use a separate drive`,
        { path: input },
      );
    }
    if (!this.#opts.allowStagingVolume && st.dev === (await fs.stat(staging)).dev) {
      throw new SeedshipError(
        'E_DRIVE_UNSUITABLE',
        `drive ${input} is on the staging volume; use a separate drive (or --allow-staging-volume for a test)`,
        { path: input },
      );
    }
    let json: DriveJson | undefined;
    try {
      json = await readDriveJson(fs, root);
    } catch (err) {
      if (!isDriveFault(err)) throw err;
      return { input, root, json: undefined, bitlockerKey, unreadable: errnoCode(err) ?? 'EIO' };
    }
    if (json && json.jobId !== this.#s.settings.jobId) {
      throw new SeedshipError(
        'E_DRIVE_FOREIGN',
        `drive ${input} (drive id ${json.driveId}) belongs to job ${json.job}; ` +
          'use another drive, or erase it if that job is abandoned',
        { path: input },
      );
    }
    return { input, root, json, bitlockerKey };
  }

  /**
   * Take the drives given for this run. Sealed ones are reported and left alone; an unsealed drive
   * of this job that holds data must be among them. Returns the sealed drives' ids.
   */
  async setDrives(given: readonly InspectedDrive[]): Promise<void> {
    const seen = new Set<string>();
    for (const d of given) {
      if (seen.has(d.root)) throw usageError(`drive ${d.input} is given twice`);
      seen.add(d.root);
      if (d.unreadable) {
        // It cannot say which drive it is. A drive of this job last at that path (and not known
        // failed) is taken to be it: what it holds is copied again, which is never a loss.
        const known = this.#s.state.drives.find((x) => x && x.path === d.root);
        if (!known)
          throw new SeedshipError(
            'E_DRIVE_UNSUITABLE',
            `drive ${d.input} cannot be read (${d.unreadable}): it is failing; ` +
              'leave it out and give another drive',
            { path: d.input },
          );
        if (known.status === 'failed') this.#noticeFailedBefore(d.input, known.driveId);
        else this.unreadable.push({ state: known, input: d.input, code: d.unreadable });
        continue;
      }
      const known = d.json ? this.#s.state.drives.find((x) => x.driveId === d.json!.driveId) : undefined;
      // The journal decides: a drive.json marked sealed by a seal the journal never recorded
      // (a crash in between) is sealed again, which writes the same manifest.
      if (known?.status === 'failed') {
        this.#noticeFailedBefore(d.input, d.json!.driveId);
        continue;
      }
      if (known?.status === 'sealed') {
        this.#opts.notice('info', `drive ${d.input} (${d.json!.driveId}) is already sealed for this job; left alone`);
        continue;
      }
      this.#queue.push(d);
    }
  }

  /** A drive given that failed in an earlier run: left out. */
  #noticeFailedBefore(input: string, driveId: string): void {
    this.#opts.notice(
      'warning',
      `drive ${input} (${driveId}) failed in an earlier run of this job and is not used again; ` +
        'what it held was copied to other drives — do not ship it',
    );
  }

  /** Drives of this job that a crashed or stopped run left unsealed, with the path given now. */
  unsealed(): { state: DriveState; drive: InspectedDrive | undefined }[] {
    return this.#s.state.drives
      .filter((d) => d && d.status !== 'sealed' && d.status !== 'failed')
      .map((state) => ({ state, drive: this.#queue.find((q) => q.json?.driveId === state.driveId) }));
  }

  /** Re-open a drive the journal knows (after a crash), taking it out of the queue. */
  async reopen(state: DriveState, drive: InspectedDrive): Promise<CurrentDrive> {
    this.#queue.splice(this.#queue.indexOf(drive), 1);
    state.path = drive.root;
    if (!(await this.#deps.fs.canWrite(drive.root)))
      throw new SeedshipError(
        'E_DRIVE_UNSUITABLE',
        `drive ${drive.input} is read-only; remount it read-write to continue`,
        { path: drive.input },
      );
    const writer = await DriveWriter.open(this.#deps.fs, state, drive.root);
    const cur = { state, writer, key: await this.keyOf(state) };
    this.open.set(state.seq, cur);
    return cur;
  }

  /** A drive is no longer being filled (sealed, or left for a later run). */
  forget(seq: number): void {
    this.open.delete(seq);
  }

  /** Attach every new drive given that is not attached yet. */
  async attachGiven(): Promise<void> {
    for (let d = this.#queue.shift(); d; d = this.#queue.shift()) await this.#attach(d);
  }

  /** Attach the next new drive given, or ask for one. Undefined when there is none. */
  async next(ask: (() => Promise<string | undefined>) | undefined): Promise<CurrentDrive | undefined> {
    for (;;) {
      const d = this.#queue.shift();
      if (d) return this.#attach(d);
      const answer = ask ? await ask() : undefined;
      if (answer === undefined) return undefined;
      try {
        const inspected = await this.inspect(answer, undefined);
        await this.setDrives([inspected]);
      } catch (err) {
        if (!(err instanceof SeedshipError)) throw err;
        this.#opts.notice('warning', err.message);
      }
    }
  }

  /** The --encrypt key of a drive, from the session dir. */
  async keyOf(state: DriveState): Promise<Uint8Array | undefined> {
    if (!this.#s.settings.encrypt) return undefined;
    const cached = this.#keys.get(state.seq);
    if (cached) return cached;
    const path = sessionFiles.key(this.#s.dir, state.driveId);
    const b = await this.#deps.fs.readFileIfExists(path);
    if (!b)
      throw new SeedshipError(
        'E_INTEGRITY',
        `the encryption key of drive ${state.driveId} is missing (${path}); its data cannot be read back`,
        { path },
      );
    const key = new Uint8Array(Buffer.from(b.toString('utf8').trim(), 'hex'));
    this.#keys.set(state.seq, key);
    return key;
  }

  /** The BitLocker numerical password recorded for a drive, or ''. */
  async bitlockerKeyOf(state: DriveState): Promise<string> {
    const b = await this.#deps.fs.readFileIfExists(`${sessionFiles.keysDir(this.#s.dir)}/${state.driveId}.bitlocker`);
    return b ? b.toString('utf8').trim() : '';
  }

  /**
   * Attach a new drive: checked writable, with room and no data the journal does not know; its
   * keys stored; then drive.json, its journal record, and its writer.
   */
  async #attach(d: InspectedDrive): Promise<CurrentDrive> {
    const { fs } = this.#deps;
    const s = this.#s;
    if (!(await fs.canWrite(d.root)))
      throw new SeedshipError(
        'E_DRIVE_UNSUITABLE',
        `drive ${d.input} is read-only; remount it read-write or use another drive`,
        { path: d.input },
      );
    const budget = await this.#budgetOf(d);
    await this.#refuseUnknownData(d);
    const driveId = d.json?.driveId ?? (await this.#newDriveId(d.root));
    const seq = s.state.drives.length;
    await this.#storeKeys(d, driveId, seq);
    // drive.json first, then the journal record, then data: a crash in between leaves a drive that
    // is recognised as this job's and attached again.
    await writeDriveJson(fs, d.root, {
      format: 1,
      tool: 'seedship',
      job: s.settings.job,
      jobId: s.settings.jobId,
      driveId,
      seq,
      container: s.settings.container,
      encrypted: s.settings.encrypt,
      sealed: false,
    });
    const rec = { type: RecordType.DriveAttached, drive: seq, driveId, path: d.root, budget } as const;
    s.journal.append(rec);
    s.state.apply(rec);
    await s.journal.commit();
    const state = s.state.drive(seq);
    const writer = await DriveWriter.open(fs, state, d.root);
    const cur = { state, writer, key: await this.keyOf(state) };
    this.open.set(seq, cur);
    this.#opts.notice('info', `drive ${d.input} attached as ${driveId}: ${formatBytes(driveRoom(state))} for data`);
    return cur;
  }

  /** The bytes seedship may use on a drive: its free space less a safety margin, at most the limit. */
  async #budgetOf(d: InspectedDrive): Promise<number> {
    const space = await this.#deps.fs.statfs(d.root);
    let budget = space.freeBytes - Math.max(SAFETY_MIN_BYTES, Math.floor(space.totalBytes * SAFETY_FRACTION));
    if (this.#opts.driveLimit !== undefined) budget = Math.min(budget, this.#opts.driveLimit);
    if (budget - reserveBytesFor(0) - segmentAllocBytes(0) < MIN_USEFUL_ROOM_BYTES) {
      throw new SeedshipError(
        'E_DRIVE_UNSUITABLE',
        `drive ${d.input} is full before anything fits (${formatBytes(Math.max(0, space.freeBytes))} free); ` +
          'free space or use a larger drive',
        { path: d.input },
      );
    }
    return budget;
  }

  /**
   * drive.json is this job's but the journal never recorded the drive: normal after a crash
   * between the two writes, when no data can be there yet. Data means the journal was lost.
   */
  async #refuseUnknownData(d: InspectedDrive): Promise<void> {
    const { fs } = this.#deps;
    const container = `${d.root}/${this.#s.settings.container}`;
    if (!d.json || !(await fs.exists(container)) || (await fs.readdir(container)).length === 0) return;
    throw new SeedshipError(
      'E_JOURNAL_CORRUPT',
      `drive ${d.input} (${d.json.driveId}) holds data of this job that the session's journal does not know; ` +
        'was the session dir replaced? Use the original session dir, or erase the drive',
      { path: d.input },
    );
  }

  /** A new drive's --encrypt key (made now) and BitLocker key (given), in the session dir. */
  async #storeKeys(d: InspectedDrive, driveId: string, seq: number): Promise<void> {
    const { fs } = this.#deps;
    const s = this.#s;
    if (s.settings.encrypt) {
      await fs.mkdir(sessionFiles.keysDir(s.dir), 0o700);
      const key = this.#deps.randomBytes(64);
      await fs.writeFileAtomic(sessionFiles.key(s.dir, driveId), `${Buffer.from(key).toString('hex')}\n`, 0o600);
      this.#keys.set(seq, key);
    }
    if (d.bitlockerKey) {
      await fs.mkdir(sessionFiles.keysDir(s.dir), 0o700);
      await fs.writeFileAtomic(`${sessionFiles.keysDir(s.dir)}/${driveId}.bitlocker`, `${d.bitlockerKey}\n`, 0o600);
    }
  }

  async #newDriveId(root: string): Promise<string> {
    let serial: string | undefined;
    try {
      const vol = await this.#deps.drives.volumeOf(root);
      // Only a whole mounted volume has the disk's serial as its id; a folder on a disk does not.
      if (vol.mountPoint === root) serial = usableSerial(vol.serial);
    } catch {
      serial = undefined;
    }
    if (serial && !this.#s.state.drives.some((x) => x?.driveId === serial)) return serial;
    return generateDriveId(this.#deps.randomBytes(10));
  }
}
