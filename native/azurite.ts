/** Starts and stops a local Azurite blob service, for the demo and the tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SeedshipError } from '../core/errors/errors.js';

/** Azurite's well-known development account (public, documented; not a secret). */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface RunningAzurite {
  readonly connectionString: string;
  readonly port: number;
  /** The folder Azurite keeps blobs in (removed by `stop`). */
  readonly location: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Start Azurite's blob service on 127.0.0.1, a free port and a temporary folder (telemetry off, so
 * it never reaches outside), and wait until it listens. `stop` kills it and removes the folder.
 */
export async function startAzurite(): Promise<RunningAzurite> {
  const req = createRequire(import.meta.url);
  const pkg = dirname(req.resolve('azurite/package.json'));
  const main = join(pkg, 'dist', 'src', 'blob', 'main.js');
  const dir = mkdtempSync(join(tmpdir(), 'seedship-azurite-'));
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      main,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--location',
      dir,
      '--silent',
      '--skipApiVersionCheck',
      '--loose',
      '--disableTelemetry',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    // A wait for an event, capped only so a broken install fails: on a loaded machine (the test
    // suite beside a benchmark) Azurite has taken more than 30 s to listen.
    const timer = setTimeout(
      () => reject(new SeedshipError('E_AZURE', `Azurite did not start within 120 s: ${out.slice(-500)}`)),
      120_000,
    );
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/successfully listens|is listening/i.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new SeedshipError('E_AZURE', `Azurite exited with ${code}: ${out.slice(-500)}`));
    });
  });
  child.removeAllListeners('exit');
  return {
    port,
    location: dir,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};` +
      `BlobEndpoint=http://127.0.0.1:${port}/${DEV_ACCOUNT};`,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
