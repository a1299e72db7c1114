/**
 * Helpers for the admin API tests: a config written the way an administrator writes one (with
 * comments, so a test can check that an API change keeps them), a JSON client for the API, and a
 * real server that holds requests until the test releases them (an "in-flight" request).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StatusDocument } from '../../src/admin/types.ts';

export interface AdminConfigOptions {
  adminPort: number;
  vsPort: number;
  /** Real server addresses, "127.0.0.1:PORT". */
  servers: string[];
  workers?: number;
  /** Extra lines for the virtual service, indented 4 spaces (e.g. a healthCheck). */
  vsExtra?: string[];
}

/** A config with comments everywhere an API edit could disturb them. */
export function adminConfig(o: AdminConfigOptions): string {
  return [
    '# Fulcrum config for the admin API tests',
    `workers: ${o.workers ?? 1}`,
    'accessLog: off',
    '',
    'admin:',
    `  listen: 127.0.0.1:${o.adminPort}   # loopback only: no authentication yet`,
    '',
    'virtualServices:',
    '  - name: web            # the public site',
    `    listen: 127.0.0.1:${o.vsPort}`,
    '    protocol: http',
    '    scheduler: round-robin',
    ...(o.vsExtra ?? []),
    '    realServers:',
    ...o.servers.flatMap((address, i) => [`      # node ${i + 1}`, `      - address: ${address}   # rack ${i + 1}`, '        weight: 100']),
    '',
  ].join('\n');
}

export interface ApiAnswer<T = unknown> {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: T;
}

/** One request to the admin API; the body is parsed as JSON (every answer of the API is JSON). */
export function api<T = unknown>(port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer<T>> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: { ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: (text === '' ? null : JSON.parse(text)) as T });
          } catch (error) {
            reject(new Error(`not JSON (${res.statusCode}): ${text}`, { cause: error }));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export async function status(port: number): Promise<StatusDocument> {
  const answer = await api<StatusDocument>(port, 'GET', '/api/v1/status');
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

export function setState(port: number, vs: string, address: string, state: unknown): Promise<ApiAnswer<Record<string, unknown>>> {
  return api(port, 'PUT', `/api/v1/virtual-services/${encodeURIComponent(vs)}/real-servers/${encodeURIComponent(address)}/state`, { state });
}

/** Poll `read` until `ok` accepts its value (or fail after `timeoutMs` with the last value). */
export async function waitFor<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000, what = 'a condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    last = await read();
    if (ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GET through the load balancer: the answering backend's name (the body's first line) and status. */
export function get(port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').trim() }));
    });
    req.on('error', reject);
  });
}

export interface HoldingServer {
  address: string;
  /** Requests that arrived so far. */
  requests: number;
  /** Requests waiting now. */
  readonly held: number;
  /** Answer every held request. */
  release(): void;
  close(): Promise<void>;
}

/** A real server whose /slow requests wait until release(); anything else answers its name at once. */
export async function holdingServer(name: string): Promise<HoldingServer> {
  const waiting: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    holding.requests++;
    const answer = (): void => {
      res.end(`${name}\n`);
    };
    if (req.url === '/slow') waiting.push(answer);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const holding: HoldingServer = {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: 0,
    get held() {
      return waiting.length;
    },
    release: () => {
      for (const answer of waiting.splice(0)) answer();
    },
    close: async () => {
      holding.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return holding;
}
