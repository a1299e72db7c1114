/**
 * Harness for the real-server lifecycle tests: a WorkerRuntime in this process with one virtual
 * service written as a user would (any key: state, slowStart, sorryServer, notAvailable,
 * outlierDetection), a recording event sink, and real servers whose answers a test steers
 * (status per request, held requests). Builds on test/l7/harness.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'undici';
import { stringify } from 'yaml';
import { WorkerRuntime } from '../../src/worker/runtime.ts';
import { freePort } from '../helpers/processes.ts';
import { type AccessLine, listenLocal, parseConfig, sleep } from '../l7/harness.ts';

export { sleep };

/** One virtual service as YAML data: realServers plus any other key; name, listen and protocol are filled in. */
export type ServiceData = Record<string, unknown> & { realServers: Array<string | Record<string, unknown>> };

export interface RecordedEvent {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
  at: number;
}

export interface Service {
  port: number;
  url: string;
  name: string;
  runtime: WorkerRuntime;
  /** What the worker told its operator, in order. */
  events: RecordedEvent[];
  /** Apply a changed virtual service to the running runtime (a reload). */
  reload(data: ServiceData): Promise<void>;
  /** Access log lines written so far (waits until at least `atLeast` are there, up to 2 s). */
  accessLog(atLeast?: number): Promise<AccessLine[]>;
  close(): Promise<void>;
}

export function serviceYaml(data: ServiceData, port: number, accessLogPath: string): string {
  const { realServers, ...rest } = data;
  const vs = {
    name: 'web',
    listen: `127.0.0.1:${port}`,
    protocol: 'http',
    ...rest,
    realServers: realServers.map((rs) => (typeof rs === 'string' ? { address: rs } : rs)),
  };
  return stringify({ workers: 1, accessLog: { path: accessLogPath, format: 'json' }, virtualServices: [vs] });
}

export async function startService(data: ServiceData): Promise<Service> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-lifecycle-'));
  const logPath = path.join(dir, 'access.log');
  const port = await freePort();
  const events: RecordedEvent[] = [];
  const runtime = new WorkerRuntime((level, message, fields) => events.push({ level, message, fields, at: Date.now() }));
  await runtime.apply(parseConfig(serviceYaml(data, port, logPath)));
  const readLog = async (): Promise<AccessLine[]> => {
    let text = '';
    try {
      text = await readFile(logPath, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as AccessLine);
  };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    name: typeof data['name'] === 'string' ? data['name'] : 'web',
    runtime,
    events,
    reload: (next) => runtime.apply(parseConfig(serviceYaml(next, port, logPath))),
    accessLog: async (atLeast = 0) => {
      const deadline = Date.now() + 2000;
      for (;;) {
        const lines = await readLog();
        if (lines.length >= atLeast || Date.now() > deadline) return lines;
        await sleep(10);
      }
    },
    close: async () => {
      await runtime.drain(0);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---- real servers a test steers ------------------------------------------------------------

export interface Steered {
  name: string;
  /** "127.0.0.1:PORT": the config's address and the runtime's server id. */
  address: string;
  /** Requests that arrived so far. */
  requests: number;
  /** TCP connections open now (Fulcrum's upstream connections to this server). */
  readonly openConnections: number;
  /** Statuses for the next requests, in order; when empty, `status`. */
  statuses: number[];
  status: number;
  /** Requests to /hold wait here until `release()`. */
  readonly held: number;
  release(): void;
  close(): Promise<void>;
}

/** An HTTP server that answers its name as the body, with the status the test asks for. */
export async function steered(name: string): Promise<Steered> {
  const waiting: Array<() => void> = [];
  let open = 0;
  const s: Steered = {
    name,
    address: '',
    requests: 0,
    statuses: [],
    status: 200,
    get openConnections() {
      return open;
    },
    get held() {
      return waiting.length;
    },
    release: () => {
      for (const go of waiting.splice(0)) go();
    },
    close: async () => {
      s.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    s.requests++;
    const status = s.statuses.shift() ?? s.status;
    req.resume();
    const answer = (): void => {
      res.writeHead(status, { 'content-type': 'text/plain', 'x-backend': name });
      res.end(name);
    };
    if (req.url === '/hold') waiting.push(answer);
    else answer();
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket: net.Socket) => {
    open++;
    socket.on('close', () => open--);
  });
  s.address = await listenLocal(server);
  return s;
}

export async function closeAll(servers: Array<Steered | undefined>): Promise<void> {
  await Promise.all(servers.map((s) => s?.close()));
}

// ---- clients -------------------------------------------------------------------------------

export interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** `n` sequential GETs on one keep-alive connection. */
export async function send(url: string, n: number, requestPath = '/'): Promise<Answer[]> {
  const client = new Client(url);
  try {
    const out: Answer[] = [];
    for (let i = 0; i < n; i++) {
      const res = await client.request({ path: requestPath, method: 'GET' });
      out.push({ status: res.statusCode, body: await res.body.text(), headers: res.headers });
    }
    return out;
  } finally {
    await client.close();
  }
}

/** Answers counted by body (a steered server's name); others as "STATUS body". */
export function tally(answers: Answer[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const a of answers) {
    const key = a.status === 200 ? a.body : `${a.status} ${a.body.trim()}`;
    t[key] = (t[key] ?? 0) + 1;
  }
  return t;
}

/** Send `n` requests and check every one of them was answered 200 by `name`. */
export async function expectAllFrom(url: string, n: number, name: string): Promise<void> {
  assert.deepEqual(tally(await send(url, n)), { [name]: n });
}

/** Poll `cond` until it holds or `ms` passes; the last value. */
export async function until(cond: () => boolean, ms = 3000, stepMs = 10): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await sleep(stepMs);
  return cond();
}
