/**
 * Helpers for the admin API tests: a config written the way an administrator writes one (with
 * comments, so a test can check that an API change keeps them), a JSON client for the API, and a
 * real server that holds requests until the test releases them (an "in-flight" request).
 * Also: the API's request handling in process over a stand-in backend (backendHandler), a client
 * for any answer over HTTP or HTTPS (request), and `fulcrum start` in a folder the test keeps, so
 * that a second start finds the first one's state database (startNode, startFailure).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createAdminHandler } from '../../src/admin/api.ts';
import type { AuditLog } from '../../src/admin/audit.ts';
import type { Authenticator } from '../../src/admin/auth/authenticate.ts';
import type { ConfigChanges } from '../../src/admin/config-changes.ts';
import { stateHandlers } from '../../src/admin/handlers/state.ts';
import type { AdminHandler } from '../../src/admin/server.ts';
import type { SetSiteStateOutcome, SiteState, StatusDocument } from '../../src/admin/types.ts';
import { fulcrumBin } from '../helpers/fulcrum.ts';
import { startProcess, trackPid, untrackPid, type Exit, type ManagedProcess } from '../helpers/processes.ts';

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

/** What a stand-in supervisor gives the API in process: its status, and GSLB site state changes. */
export interface FakeBackend {
  status: () => Promise<StatusDocument>;
  setSiteState?: (fqdn: string, site: string, state: SiteState) => Promise<SetSiteStateOutcome>;
}

/**
 * The admin API's real request handling (src/admin/api.ts: Host check, routes, 404/405, body
 * parsing, the state handlers' body checks) over a stand-in backend, for in-process tests without
 * a supervisor: every caller is a loopback admin, nothing is audited, and the one change path is a
 * stub that records each change asked of it (`"ACTION|TARGET"` in `changes`) and answers 404.
 * Serves GET /api/v1/status and the three state routes; any other route answers 501.
 */
export function backendHandler(backend: FakeBackend): { handler: AdminHandler; changes: string[] } {
  const changes: string[] = [];
  const notHere = (what: string): never => {
    throw new Error(`${what} is not part of the in-process test API`);
  };
  const auth: Authenticator = {
    authenticate: () => ({ ok: true, principal: { user: 'local', role: 'admin', via: 'loopback' } }),
    checkCsrf: () => null,
    login: () => notHere('login'),
    logout: () => notHere('logout'),
    sessionCookie: () => notHere('sessionCookie'),
    clearCookie: () => notHere('clearCookie'),
  };
  const audit = { append: () => 0 } as unknown as AuditLog;
  const stub = {
    apply: async (request: { action: string; target: string }) => {
      changes.push(`${request.action}|${request.target}`);
      return { ok: false, failure: { status: 404, code: 'FULCRUM_ERR_ADMIN_NOT_FOUND', message: 'not in this test' } };
    },
  } as unknown as ConfigChanges;
  const handlers = {
    'status.get': async () => ({ status: 200, body: await backend.status() }),
    ...stateHandlers({
      changes: stub,
      running: () => notHere('the running config'),
      status: backend.status,
      setSiteState: backend.setSiteState ?? (async () => ({ ok: false, failure: { status: 404, code: 'FULCRUM_ERR_ADMIN_NOT_FOUND', message: 'not in this test' } }) as SetSiteStateOutcome),
      log: () => {},
    }),
  };
  const handler = createAdminHandler({
    auth,
    audit,
    handlers,
    allowedHosts: () => [],
    metricsPublic: () => false,
    secure: () => false,
    console: () => false,
    log: () => {},
  });
  return { handler, changes };
}

/** An answer of any type: the text, and the JSON when the answer says it is JSON. */
export interface Reply<T = any> {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: T;
}

export interface RequestOptions {
  /** JSON (an object) or text sent as is (YAML with `contentType`). */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  /** HTTPS to an admin.tls listener: the CA that signed its certificate, and the name to check. */
  tls?: { ca: string | Buffer; servername: string };
}

/** One request to the admin listener on 127.0.0.1:port, over HTTP or HTTPS, any answer type. */
export function request<T = any>(port: number, method: string, path: string, options: RequestOptions = {}): Promise<Reply<T>> {
  const { body, tls } = options;
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string | number> = { ...options.headers };
  if (payload !== undefined) {
    headers['content-type'] ??= options.contentType ?? 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  const send = tls === undefined ? http.request : https.request;
  return new Promise((resolve, reject) => {
    const req = send({ host: '127.0.0.1', port, method, path, agent: false, headers, ...(tls !== undefined ? { ca: tls.ca, servername: tls.servername } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = null;
        if (/^application\/json/.test(res.headers['content-type'] ?? '')) {
          try {
            json = JSON.parse(text);
          } catch (error) {
            reject(new Error(`${method} ${path}: the answer says JSON and is not (${res.statusCode}): ${text.slice(0, 200)}`, { cause: error }));
            return;
          }
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: json as T });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export interface FulcrumNode {
  pid: number;
  /** The JSON log lines (stderr) so far. */
  logs: Array<Record<string, unknown>>;
  /** Every stderr line, JSON or not. */
  stderr: () => string;
  exited: Promise<Exit>;
  /** SIGTERM and wait for the exit (SIGKILL after 10 s). */
  stop: () => Promise<Exit>;
}

/**
 * `fulcrum start -c DIR/NAME` in a folder the test owns, so that a second start finds the state
 * database of the first (test/helpers/fulcrum.ts removes its folder at exit). Resolves at the
 * `ready` line; rejects with the log when the process exits first (use startFailure for that case).
 */
export async function startNode(configPath: string, env: Record<string, string> = {}): Promise<FulcrumNode> {
  const node = spawnNode(configPath, env);
  const ready = await Promise.race([node.ready, node.process.exited.then(() => null)]);
  if (ready === null) throw new Error(`fulcrum exited before it was ready:\n${node.process.output.stderr}`);
  for (const pid of ready.workers) trackPid(pid);
  return {
    pid: node.process.pid,
    logs: node.logs,
    stderr: () => node.process.output.stderr,
    exited: node.process.exited,
    stop: async () => {
      const exit = await node.process.stop('SIGTERM', 10_000);
      for (const pid of ready.workers) untrackPid(pid);
      return exit;
    },
  };
}

/** `fulcrum start` that is expected to fail: its exit code and log; kills it if it becomes ready after all. */
export async function startFailure(configPath: string, env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  const node = spawnNode(configPath, env);
  const outcome = await Promise.race([node.ready, node.process.exited]);
  if ('workers' in outcome) {
    for (const pid of outcome.workers) trackPid(pid);
    await node.process.stop('SIGTERM', 10_000);
    throw new Error(`fulcrum started where it should have refused to:\n${node.process.output.stderr}`);
  }
  return { code: outcome.code, stderr: node.process.output.stderr };
}

function spawnNode(configPath: string, env: Record<string, string>): { process: ManagedProcess; logs: Array<Record<string, unknown>>; ready: Promise<{ workers: number[] }> } {
  const logs: Array<Record<string, unknown>> = [];
  let rest = '';
  let onReady!: (ready: { workers: number[] }) => void;
  const ready = new Promise<{ workers: number[] }>((resolve) => (onReady = resolve));
  // Without the variables of the test's own environment: a stray FULCRUM_ADMIN_* must not create users.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FULCRUM_')));
  const proc = startProcess('fulcrum', process.execPath, [fulcrumBin, 'start', '-c', configPath], {
    cwd: path.dirname(configPath),
    env: { ...base, ...env },
    onStderr: (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue; // not a log line: kept in the output only
        }
        logs.push(parsed);
        if (parsed.msg === 'ready') onReady({ workers: Array.isArray(parsed.workers) ? (parsed.workers as number[]) : [] });
      }
    },
  });
  return { process: proc, logs, ready };
}
