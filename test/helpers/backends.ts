/**
 * Real servers for tests: small Node HTTP servers that say who they are, and a raw-socket server for
 * writing exactly the bytes a test wants (malformed, truncated or slow responses).
 * Everything listens on 127.0.0.1, port 0.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';

export interface EchoReply {
  name: string;
  method: string;
  url: string;
  httpVersion: string;
  headers: http.IncomingHttpHeaders;
  /** Raw header list as received (names in their original case, repeated headers kept). */
  rawHeaders: string[];
  /** Peer address of the connection the request arrived on (the proxy's side). */
  remoteAddress: string;
  remotePort: number;
  body: string;
}

export interface ChecksumReply {
  name: string;
  method: string;
  bytes: number;
  sha256: string;
  /** True when the request arrived chunked (no Content-Length). */
  chunked: boolean;
}

export interface Backend {
  name: string;
  port: number;
  /** "127.0.0.1:PORT", the form a Fulcrum config's realServers[].address takes. */
  address: string;
  url: string;
  server: http.Server;
  /** Requests answered so far. */
  requests: number;
  /** TCP connections accepted so far. */
  connections: number;
}

export interface Backends {
  servers: Backend[];
  /** Requests per backend name. */
  counts(): Record<string, number>;
  close(): Promise<void>;
}

/**
 * Starts `n` HTTP servers named backend-1..backend-n (or `${prefix}-i`). Routes:
 * - `/echo` (any method): JSON {@link EchoReply} of what arrived, body included (max 1 MiB kept).
 * - `/sha256` (any method): streams the body into SHA-256 and answers JSON {@link ChecksumReply}.
 * - `/status/NNN`: answers with that status code and the name as body.
 * - anything else: `200`, body `backend-i\n`, header `x-backend: backend-i`.
 */
export async function startBackends(n: number, opts: { prefix?: string } = {}): Promise<Backends> {
  const prefix = opts.prefix ?? 'backend';
  const servers: Backend[] = [];
  try {
    for (let i = 1; i <= n; i++) servers.push(await startBackend(`${prefix}-${i}`));
  } catch (err) {
    await Promise.all(servers.map((b) => closeServer(b.server)));
    throw err;
  }
  return {
    servers,
    counts: () => Object.fromEntries(servers.map((b) => [b.name, b.requests])),
    close: async () => {
      await Promise.all(servers.map((b) => closeServer(b.server)));
    },
  };
}

async function startBackend(name: string): Promise<Backend> {
  const backend: Backend = { name, port: 0, address: '', url: '', server: http.createServer(), requests: 0, connections: 0 };
  const { server } = backend;
  server.keepAliveTimeout = 30_000;
  server.on('connection', () => {
    backend.connections++;
  });
  server.on('request', (req, res) => {
    backend.requests++;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/sha256') {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => {
        const reply: ChecksumReply = {
          name,
          method: req.method ?? '',
          bytes,
          sha256: hash.digest('hex'),
          chunked: req.headers['content-length'] === undefined,
        };
        sendJson(res, name, reply);
      });
      return;
    }
    if (path === '/echo') {
      const chunks: Buffer[] = [];
      let kept = 0;
      req.on('data', (chunk: Buffer) => {
        if (kept < 1024 * 1024) {
          chunks.push(chunk);
          kept += chunk.length;
        }
      });
      req.on('end', () => {
        const reply: EchoReply = {
          name,
          method: req.method ?? '',
          url: req.url ?? '',
          httpVersion: req.httpVersion,
          headers: req.headers,
          rawHeaders: req.rawHeaders,
          remoteAddress: req.socket.remoteAddress ?? '',
          remotePort: req.socket.remotePort ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        sendJson(res, name, reply);
      });
      return;
    }
    // Drain any body so the connection can be reused, then answer.
    req.resume();
    req.on('end', () => {
      const status = /^\/status\/(\d{3})$/.exec(path);
      const body = `${name}\n`;
      res.writeHead(status ? Number(status[1]) : 200, {
        'content-type': 'text/plain',
        'content-length': Buffer.byteLength(body),
        'x-backend': name,
      });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('unexpected server address');
  backend.port = address.port;
  backend.address = `127.0.0.1:${address.port}`;
  backend.url = `http://127.0.0.1:${address.port}`;
  return backend;
}

function sendJson(res: http.ServerResponse, name: string, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-backend': name,
  });
  res.end(body);
}

async function closeServer(server: http.Server | net.Server): Promise<void> {
  if (!server.listening) return;
  const closed = once(server, 'close');
  server.close();
  if (server instanceof http.Server) server.closeAllConnections();
  await closed;
}

// ---------------------------------------------------------------------------------------------
// Raw-socket server

export interface RawRequest {
  /** Request line and headers, up to but excluding the blank line. */
  head: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Index of this request on its connection (0 for the first). */
  index: number;
}

export interface RawServerOptions {
  /**
   * Called for each complete request (head plus a Content-Length body; chunked bodies are not
   * parsed). Write whatever bytes you want to `socket`; end or destroy it as the test needs.
   * If omitted, `response` is written instead.
   */
  onRequest?: (req: RawRequest, socket: net.Socket) => void;
  /** Bytes to write after each request when `onRequest` is not given. */
  response?: string | Buffer;
  /** After writing `response`: keep the connection, end it (FIN) or destroy it (RST). Default "keep". */
  after?: 'keep' | 'end' | 'destroy';
  /** Called for each new connection before any bytes are read; return true to take it over entirely. */
  onConnection?: (socket: net.Socket) => boolean | void;
}

export interface RawServer {
  port: number;
  address: string;
  server: net.Server;
  /** Every request received, in order. */
  requests: RawRequest[];
  connections: number;
  close(): Promise<void>;
}

/** A TCP server that parses HTTP/1 request heads and answers with raw bytes of the test's choosing. */
export async function startRawServer(options: RawServerOptions): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const raw: RawServer = {
    port: 0,
    address: '',
    server: net.createServer(),
    requests: [],
    connections: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await closeServer(raw.server);
    },
  };
  raw.server.on('connection', (socket) => {
    raw.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (options.onConnection?.(socket) === true) return;
    let buffered = Buffer.alloc(0);
    let index = 0;
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString('latin1');
        const lines = head.split('\r\n');
        const [method = '', url = ''] = (lines[0] ?? '').split(' ');
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = Number(headers['content-length'] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const body = buffered.subarray(end + 4, end + 4 + length);
        buffered = buffered.subarray(end + 4 + length);
        const req: RawRequest = { head, method, url, headers, body, index: index++ };
        raw.requests.push(req);
        if (options.onRequest) {
          options.onRequest(req, socket);
        } else {
          socket.write(options.response ?? '');
          if (options.after === 'end') socket.end();
          if (options.after === 'destroy') socket.destroy();
        }
        if (socket.destroyed || !socket.writable) return;
      }
    });
  });
  raw.server.listen(0, '127.0.0.1');
  await once(raw.server, 'listening');
  const address = raw.server.address();
  if (address === null || typeof address === 'string') throw new Error('unexpected server address');
  raw.port = address.port;
  raw.address = `127.0.0.1:${address.port}`;
  return raw;
}
