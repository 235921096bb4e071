/** A session's settings (`session.json`): reading them and refusing a run with other settings. */
import type { Codec, FileSystem } from '../../native/interfaces.js';
import { SeedshipError, usageError } from '../errors/errors.js';
import type { ImportDisposition } from '../manifest/drive-manifest.js';
import { sessionFiles } from './session-layout.js';

/**
 * What a session was started with. Written at the first run and read by every later command, so
 * a resume copies the rest exactly as the start did; a flag that contradicts it is a usage error.
 */
export interface SessionSettings {
  readonly format: 1;
  readonly job: string;
  /** 32 hex digits; also in the journal header and on every drive. */
  readonly jobId: string;
  readonly container: string;
  readonly staging: string;
  readonly codec: Codec;
  readonly level: number;
  readonly blobType: 'block' | 'page';
  readonly encrypt: boolean;
  readonly disposition: ImportDisposition;
  readonly serviceStrict: boolean;
  readonly chunkBytes: number;
  /** Container SAS to write into manifests (only if the user passed one). */
  readonly containerSas: string | undefined;
  readonly createdAt: number;
}

/** The settings a command asks for; undefined fields take the session's (or the default). */
export type RequestedSettings = Partial<
  Omit<SessionSettings, 'format' | 'jobId' | 'createdAt' | 'chunkBytes' | 'job' | 'staging'>
>;

const FLAG: Record<keyof RequestedSettings, string> = {
  container: '--container',
  codec: '--codec',
  level: '--level',
  blobType: '--blob-type',
  encrypt: '--encrypt',
  disposition: '--disposition',
  serviceStrict: '--service-strict',
  containerSas: '--container-sas',
};

export async function readSettings(fs: FileSystem, dir: string): Promise<SessionSettings | undefined> {
  const path = sessionFiles.settings(dir);
  const b = await fs.readFileIfExists(path);
  if (!b) return undefined;
  try {
    const s = JSON.parse(b.toString('utf8')) as SessionSettings;
    if (s.format !== 1 || typeof s.jobId !== 'string')
      throw new SeedshipError('E_JOURNAL_CORRUPT', 'unknown format', { path });
    return s;
  } catch (err) {
    throw new SeedshipError(
      'E_JOURNAL_CORRUPT',
      `session settings ${path} are unreadable (${(err as Error).message}); ` +
        `restore the file or start a new session dir`,
      { path, cause: err },
    );
  }
}

/** Check that what the user asked now agrees with how the session started. */
export function checkAgainstSession(s: SessionSettings, req: RequestedSettings): void {
  for (const key of Object.keys(FLAG) as (keyof RequestedSettings)[]) {
    const want = req[key];
    if (want === undefined) continue;
    if (key === 'containerSas') continue; // may be supplied again or changed between runs; only used for manifests
    if (want !== s[key]) {
      throw usageError(
        `this session was started with ${FLAG[key]} ${String(s[key])}, not ${String(want)}; ` +
          `leave ${FLAG[key]} out to continue it, or use a new --session dir`,
      );
    }
  }
}

export async function writeSettings(fs: FileSystem, dir: string, s: SessionSettings): Promise<void> {
  // 0600: the settings may hold a container SAS.
  await fs.writeFileAtomic(sessionFiles.settings(dir), `${JSON.stringify(s, null, 2)}\n`, 0o600);
}
