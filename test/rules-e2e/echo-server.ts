/**
 * Real servers for the rule tables: one per pool, each answering every request with JSON that
 * names its pool and echoes the method, target, header lines and body it received. Raw sockets,
 * not node:http, on purpose: llhttp refuses methods outside its list (RPC_IN_DATA), and rules
 * must route any token. It parses Content-Length and chunked bodies, and keeps connections alive.
 */
import { once } from 'node:events';
import net from 'node:net';

/** What a real server received, as its JSON answer tells the client. */
export interface Echo {
  pool: string;
  method: string;
  target: string;
  /** Header lines in order, names as received. */
  headers: Array<[string, string]>;
  body: string;
}

export interface EchoServer {
  pool: string;
  address: string;
  /** Every request received so far, in order. */
  received: Echo[];
  close(): Promise<void>;
}

/** Response headers every echo sends, so that rules can be seen removing them. */
function answer(echo: Echo): Buffer {
  const body = Buffer.from(JSON.stringify(echo));
  const head =
    'HTTP/1.1 200 OK\r\n' +
    `Server: echo-${echo.pool}\r\nX-Powered-By: echo\r\nX-Pool: ${echo.pool}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  return echo.method === 'HEAD' ? Buffer.from(head) : Buffer.concat([Buffer.from(head), body]);
}

export async function startEchoServer(pool: string): Promise<EchoServer> {
  const sockets = new Set<net.Socket>();
  const received: Echo[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const request = parseRequest(buffered, pool);
        if (request === null) return;
        buffered = buffered.subarray(request.end);
        received.push(request.echo);
        socket.write(answer(request.echo));
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    pool,
    address: `127.0.0.1:${port}`,
    received,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One whole request at the start of `buf`, or null when more bytes are needed. */
function parseRequest(buf: Buffer, pool: string): { echo: Echo; end: number } | null {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const lines = buf.toString('latin1', 0, headEnd).split('\r\n');
  const [method = '', target = ''] = (lines[0] ?? '').split(' ');
  const headers: Array<[string, string]> = lines.slice(1).map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon), line.slice(colon + 1).trim()];
  });
  const value = (name: string): string | undefined => headers.find(([n]) => n.toLowerCase() === name)?.[1];
  const start = headEnd + 4;
  let body: Buffer;
  let end: number;
  if (/chunked/i.test(value('transfer-encoding') ?? '')) {
    const chunked = dechunk(buf, start);
    if (chunked === null) return null;
    ({ body, end } = chunked);
  } else {
    const length = Number(value('content-length') ?? 0);
    if (buf.length < start + length) return null;
    body = buf.subarray(start, start + length);
    end = start + length;
  }
  return { echo: { pool, method, target, headers, body: body.toString('utf8') }, end };
}

function dechunk(buf: Buffer, from: number): { body: Buffer; end: number } | null {
  const parts: Buffer[] = [];
  let pos = from;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', pos);
    if (lineEnd < 0) return null;
    const size = parseInt(buf.toString('latin1', pos, lineEnd), 16);
    pos = lineEnd + 2;
    if (size === 0) {
      // Trailer fields, then the blank line.
      for (;;) {
        const trailerEnd = buf.indexOf('\r\n', pos);
        if (trailerEnd < 0) return null;
        const blank = trailerEnd === pos;
        pos = trailerEnd + 2;
        if (blank) return { body: Buffer.concat(parts), end: pos };
      }
    }
    if (buf.length < pos + size + 2) return null;
    parts.push(buf.subarray(pos, pos + size));
    pos += size + 2;
  }
}
