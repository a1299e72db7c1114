/**
 * A raw HTTP/1.1 client for the rule tables: one request per connection, from a chosen loopback
 * address (any 127.x.y.z can be bound on Linux), its bytes exactly as the table writes them (an
 * unknown method, a percent-encoded or dotted path, header names in odd case), and the response
 * framed by the L7 harness's reader, which shares no code with the engine under test.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ParsedResponse } from '../l7/harness.ts';
import { openConnection } from '../helpers/keep-alive-client.ts';

export interface TableRequest {
  /** Default GET. */
  method?: string;
  /** The request target as sent, query included. */
  path: string;
  /** The Host header; default www.example.com. */
  host?: string;
  /** Extra header lines, in order, names as written. */
  headers?: Record<string, string> | Array<[string, string]>;
  /** The address the client binds to (127.x.y.z); default 127.0.0.1. */
  clientAddress?: string;
  /** A body with Content-Length, or a chunked one (each string one chunk). */
  body?: string | { chunks: string[] };
  /** Chunked only: send the head first and each chunk in its own write, `gapMs` apart (default: all in one write). */
  gapMs?: number;
}

export function requestBytes(req: TableRequest): Buffer[] {
  const method = req.method ?? 'GET';
  let head = `${method} ${req.path} HTTP/1.1\r\nHost: ${req.host ?? 'www.example.com'}\r\n`;
  const headers = Array.isArray(req.headers) ? req.headers : Object.entries(req.headers ?? {});
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  const body = req.body;
  if (body === undefined) return [Buffer.from(`${head}\r\n`, 'latin1')];
  if (typeof body === 'string') return [Buffer.from(`${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, 'latin1')];
  const chunks = body.chunks.map((chunk) => `${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n`);
  const parts = [`${head}Transfer-Encoding: chunked\r\n\r\n`, ...chunks, '0\r\n\r\n'];
  return req.gapMs === undefined ? [Buffer.from(parts.join(''), 'latin1')] : parts.map((p) => Buffer.from(p, 'latin1'));
}

export interface Reply {
  response: ParsedResponse;
  /** The proxy closed the connection after the response. */
  closed: boolean;
}

/** Send `req` on a new connection and read one response (the connection is then closed). */
export async function send(port: number, req: TableRequest, timeoutMs = 3000): Promise<Reply> {
  const conn = await openConnection(port, req.clientAddress ?? '127.0.0.1', timeoutMs);
  let connectionClosed = false;
  void conn.closed.then(() => (connectionClosed = true));
  const [head, ...rest] = requestBytes(req);
  const writing = (async () => {
    for (const part of rest) {
      await sleep(req.gapMs ?? 0);
      if (connectionClosed) return;
      conn.socket.write(part);
    }
  })();
  try {
    const response = await conn.request(head!, { isHead: req.method === 'HEAD' });
    if (response === 'closed') throw new Error('the connection closed with no complete response');
    // A proxy that says close closes at once.
    if (/close/i.test(response.headers['connection'] ?? '')) await Promise.race([conn.closed, sleep(1000)]);
    return { response, closed: connectionClosed };
  } finally {
    await writing;
    conn.destroy();
  }
}
