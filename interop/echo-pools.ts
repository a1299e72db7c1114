/**
 * Real servers for the rules differential test: one small Node HTTP server per pool member,
 * each answering every request with what it received (its pool, the method, the target, every
 * request header) so that a client can tell where a proxy sent a request and what the proxy
 * changed on the way. The echo goes in the body and, for HEAD (which has no body), in the
 * X-Echo header as base64 JSON.
 *
 * Each answer carries Server, X-Powered-By and Cache-Control headers, so that rules which set
 * or remove response headers have something visible to change.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Echo {
  pool: string;
  method: string;
  /** The request-target as the real server received it: path and query. */
  target: string;
  /** Every request field as received, names lower case, in order. */
  headers: Array<[string, string]>;
}

export const ECHO_HEADER = 'x-echo';

/** The response headers every echo answer carries, before any rule edits them. */
export const ECHO_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  Server: 'interop-echo/1.0',
  'X-Powered-By': 'node-echo',
  'Cache-Control': 'private',
};

export interface EchoPools {
  /** Pool name -> "127.0.0.1:PORT" of each of its servers. */
  addresses: Record<string, string[]>;
  close(): Promise<void>;
}

/** Starts `servers[pool]` echo servers for each pool. */
export async function startEchoPools(servers: Record<string, number>): Promise<EchoPools> {
  const started: http.Server[] = [];
  const addresses: Record<string, string[]> = {};
  const close = async (): Promise<void> => {
    for (const server of started) server.closeAllConnections();
    await Promise.all(started.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  };
  try {
    for (const [pool, count] of Object.entries(servers)) {
      addresses[pool] = [];
      for (let i = 0; i < count; i++) {
        const server = echoServer(pool);
        started.push(server);
        server.listen(0, '127.0.0.1');
        await once(server, 'listening');
        addresses[pool].push(`127.0.0.1:${(server.address() as AddressInfo).port}`);
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { addresses, close };
}

function echoServer(pool: string): http.Server {
  // keepAliveTimeout above the test's length: a proxy's pooled upstream connection must not be
  // closed under it mid-run, which would show up as a divergence that is about timing.
  const server = http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      const headers: Array<[string, string]> = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!.toLowerCase(), req.rawHeaders[i + 1]!]);
      const echo: Echo = { pool, method: req.method ?? '', target: req.url ?? '', headers };
      const body = Buffer.from(JSON.stringify(echo));
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Content-Length', body.length);
      for (const [name, value] of Object.entries(ECHO_RESPONSE_HEADERS)) res.setHeader(name, value);
      res.setHeader(ECHO_HEADER, body.toString('base64'));
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  return server;
}

/** The echo a response carries, or null when no real server wrote it. */
export function readEcho(headers: ReadonlyArray<readonly [string, string]>): Echo | null {
  const value = headers.find(([name]) => name === ECHO_HEADER)?.[1];
  return value === undefined ? null : (JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as Echo);
}
