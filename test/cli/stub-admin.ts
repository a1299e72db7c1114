/**
 * A stand-in admin API for the CLI tests: a real HTTP (or HTTPS) server on port 0 that records
 * what the CLI sends (method, path, headers, body) and answers what the test scripted, as
 * docs/api.md says the real one does. Also runs bin/fulcrum.js as a child process with a clean
 * environment (its own HOME, no FULCRUM_TOKEN), as users run it.
 */
import { execFile } from 'node:child_process';
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/fulcrum.js', import.meta.url));

export interface Recorded {
  method: string;
  /** Path and query, as sent: /api/v1/config?dryRun=true */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  /** Sent as is instead of JSON. */
  text?: string;
  headers?: Record<string, string>;
}

export interface StubAdmin {
  /** http://127.0.0.1:PORT or https://... */
  url: string;
  port: number;
  requests: Recorded[];
  /** What "METHOD /path?query" answers (the next call too, until replaced). */
  reply(route: string, reply: Reply): void;
  close(): Promise<void>;
}

export async function startStubAdmin(tls?: { key: string; cert: string }): Promise<StubAdmin> {
  const replies = new Map<string, Reply>();
  const requests: Recorded[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = req.url ?? '/';
      requests.push({ method: req.method ?? '', url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const reply = replies.get(`${req.method} ${url}`) ?? { status: 404, body: { error: { code: 'FULCRUM_ERR_ADMIN_NOT_FOUND', message: `no route ${req.method} ${url}` } } };
      const headers: Record<string, string> = { ...reply.headers };
      let payload = '';
      if (reply.text !== undefined) payload = reply.text;
      else if (reply.body !== undefined) {
        payload = JSON.stringify(reply.body);
        headers['content-type'] = 'application/json; charset=utf-8';
      }
      res.writeHead(reply.status, headers);
      res.end(payload);
    });
  };
  const server = tls === undefined ? createHttpServer(handle) : createHttpsServer(tls, handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    port,
    requests,
    reply: (route, reply) => replies.set(route, reply),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** bin/fulcrum.js with this Node (the bundled Node 24), HOME set, no token or CA in the environment; `input` on its stdin. */
export function fulcrum(args: readonly string[], env: { home: string } & Record<string, string>, input = ''): Promise<Run> {
  const { home, ...extra } = env;
  const clean: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !['FULCRUM_TOKEN', 'FULCRUM_CA', 'XDG_CONFIG_HOME', 'NODE_OPTIONS'].includes(name)) clean[name] = value;
  }
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { cwd: REPO, timeout: 20_000, env: { ...clean, HOME: home, ...extra } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}
