import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

/** A request the loopback ARM server received. */
export interface ArmRequest {
  method: string;
  path: string;
  apiVersion: string | null;
  authorization: string | undefined;
  body: unknown;
}

const LOCATION = (name: string, alternates: string[]) => ({
  id: `/providers/Microsoft.ImportExport/locations/${name}`,
  name: name === 'westus' ? 'West US' : name,
  type: 'Microsoft.ImportExport/locations',
  properties: {
    recipientName: 'Microsoft Azure Import/Export Service',
    streetAddress1: '2045 Lafayette Street',
    streetAddress2: '',
    city: 'Santa Clara',
    stateOrProvince: 'CA',
    postalCode: '95050',
    countryOrRegion: 'USA',
    phone: '4083527600',
    additionalShippingInformation: '',
    supportedCarriers: ['FedEx', 'DHL'],
    alternateLocations: alternates.map((a) => `/providers/Microsoft.ImportExport/locations/${a}`),
  },
});

/**
 * A loopback HTTPS server that answers like the Import/Export ARM service (bodies shaped as the
 * REST spec's 2021-01-01 examples), with a certificate the test makes and trusts through
 * NODE_EXTRA_CA_CERTS. It records every request; `throttleNext` answers the next request 429
 * with Retry-After; a resource group named `denied-rg` gets the service's error body.
 */
export class ArmServer {
  readonly requests: ArmRequest[] = [];
  throttleNext = 0;
  #server: Server | undefined;
  #jobs = new Map<string, Record<string, unknown>>();
  url = '';
  caFile = '';

  async start(dir: string): Promise<void> {
    this.caFile = `${dir}/arm-cert.pem`;
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${dir}/arm-key.pem`,
        '-out',
        this.caFile,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    this.#server = createServer(
      { key: readFileSync(`${dir}/arm-key.pem`), cert: readFileSync(this.caFile) },
      (req, res) => {
        let raw = '';
        req.on('data', (d: Buffer) => (raw += d.toString()));
        req.on('end', () => {
          const u = new URL(req.url ?? '/', 'https://127.0.0.1');
          const body = raw ? (JSON.parse(raw) as unknown) : undefined;
          this.requests.push({
            method: req.method ?? '',
            path: u.pathname,
            apiVersion: u.searchParams.get('api-version'),
            authorization: req.headers.authorization,
            body,
          });
          const send = (status: number, obj: unknown, headers: Record<string, string> = {}) => {
            res.writeHead(status, { 'content-type': 'application/json', ...headers });
            res.end(JSON.stringify(obj));
          };
          if (this.throttleNext > 0) {
            this.throttleNext--;
            send(429, { error: { code: 'TooManyRequests', message: 'throttled' } }, { 'retry-after': '1' });
            return;
          }
          this.#route(req.method ?? '', u, body, send);
        });
      },
    );
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.url = `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  #route(
    method: string,
    u: URL,
    body: unknown,
    send: (s: number, o: unknown, h?: Record<string, string>) => void,
  ): void {
    const p = u.pathname;
    let m = /^\/providers\/Microsoft\.ImportExport\/locations(?:\/([^/]+))?$/.exec(p);
    if (m && method === 'GET') {
      if (m[1]) {
        send(200, m[1] === 'closedus' ? LOCATION('closedus', ['westus']) : LOCATION(m[1], [m[1]]));
        return;
      }
      // The REST spec marks this list as not pageable (nextLinkName null): one page.
      send(200, { value: [LOCATION('westus', ['westus']), LOCATION('eastus', ['eastus'])] });
      return;
    }
    m =
      /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ImportExport\/jobs\/([^/]+)(\/listBitLockerKeys)?$/.exec(
        p,
      );
    if (!m) {
      send(404, { error: { code: 'NotFound', message: `no route ${method} ${p}` } });
      return;
    }
    const [, sub, rg, name, keys] = m;
    if (rg === 'denied-rg') {
      send(403, {
        error: {
          code: 'AuthorizationFailed',
          message: `The client does not have authorization to perform action over scope '/subscriptions/${sub}/resourceGroups/${rg}'.`,
        },
      });
      return;
    }
    const key = `${sub}/${rg}/${name}`;
    const id = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.ImportExport/jobs/${name}`;
    if (keys && method === 'POST') {
      const j = this.#jobs.get(key);
      const drives = ((j?.properties as { driveList?: { driveId: string }[] } | undefined)?.driveList ?? []) as {
        driveId: string;
      }[];
      send(200, {
        value: drives.map((d) => ({
          driveId: d.driveId,
          bitLockerKey: '238810-662376-448998-450120-652806-203390-606320-483076',
        })),
      });
      return;
    }
    if (method === 'PUT') {
      const b = body as {
        location: string;
        properties: Record<string, unknown> & { driveList: Record<string, unknown>[] };
      };
      const job = {
        id,
        name,
        type: 'Microsoft.ImportExport/jobs',
        location: b.location,
        properties: {
          ...b.properties,
          shippingInformation: LOCATION('westus', ['westus']).properties,
          state: 'Creating',
          cancelRequested: false,
          percentComplete: 0,
          driveList: b.properties.driveList.map((d) => ({
            driveId: d.driveId,
            manifestFile: d.manifestFile,
            manifestHash: d.manifestHash,
            state: 'Specified',
            percentComplete: 0,
          })),
          provisioningState: 'Succeeded',
          encryptionKey: { kekType: 'MicrosoftManaged' },
        },
      };
      this.#jobs.set(key, job);
      send(201, job);
      return;
    }
    const j = this.#jobs.get(key);
    if (!j) {
      send(404, {
        error: {
          code: 'ResourceNotFound',
          message: `The Resource 'Microsoft.ImportExport/jobs/${name}' under resource group '${rg}' was not found.`,
        },
      });
      return;
    }
    if (method === 'PATCH') {
      const props = (body as { properties?: Record<string, unknown> }).properties ?? {};
      Object.assign(j.properties as object, props);
      send(200, j);
      return;
    }
    if (method === 'GET') {
      send(200, j);
      return;
    }
    send(405, { error: { code: 'MethodNotAllowed', message: method } });
    return;
  }

  /** Move a job on, as the data center would. */
  setState(sub: string, rg: string, name: string, state: string, driveState: string): void {
    const j = this.#jobs.get(`${sub}/${rg}/${name}`);
    if (!j) throw new Error('no such job');
    const p = j.properties as {
      state: string;
      percentComplete: number;
      driveList: { state: string; percentComplete: number; errorLogUri?: string }[];
    };
    p.state = state;
    p.percentComplete = state === 'Completed' ? 100 : 40;
    for (const d of p.driveList) {
      d.state = driveState;
      d.percentComplete = p.percentComplete;
      d.errorLogUri = 'https://account.blob.core.windows.net/waimportexport/waies/job_drive_error.xml';
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.#server?.close(() => r()));
  }
}
