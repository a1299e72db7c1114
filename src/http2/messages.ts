/**
 * HTTP/2 messages in and out of the one request path. A stream's request becomes the HTTP/1.1
 * head the exchange, rules, persistence and the forwarder already read (parsed by the same
 * strict parser as a client's HTTP/1.1 head), and a real server's HTTP/1.1 response head becomes
 * an HTTP/2 header list. That keeps one pipeline for both protocols, as HAProxy's HTX and nginx's
 * request struct do; the head is written once per stream (a few hundred bytes), next to nghttp2's
 * own decoding of it.
 *
 * nghttp2 has refused what RFC 9113 §8.2 forbids before we see a stream: uppercase names,
 * connection-specific fields, `te` other than trailers, a missing or repeated pseudo-header,
 * pseudo-headers after regular fields, CR/LF/NUL in values. What is left to map:
 * - :method, :path, :authority → the request line and Host (§8.3.1);
 * - cookies in several fields → one Cookie line, joined with "; " (§8.2.3);
 * - a body without content-length → chunked towards the real server, which frames it as
 *   HTTP/1.1 needs (the downstream writes the chunk framing).
 */
import type { IncomingHttpHeaders } from 'node:http2';
import { HeaderKind } from '../http/header-kind.ts';
import { dropConnectionNominated } from '../http/request-head.ts';
import type { UpstreamResponseHead } from '../exchange/types.ts';

/** A stream's request as an HTTP/1.1 head, and how its body must be framed. */
export interface MappedRequest {
  readonly head: Buffer;
  /** The body goes out chunked (no content-length was sent, and the stream has DATA to come). */
  readonly chunked: boolean;
  /** A client-safe reason the request cannot be mapped (400), or ''. */
  readonly error: string;
}

const NO_HEAD = Buffer.alloc(0);

/**
 * `raw` is nghttp2's header list as Node hands it (name, value, name, value...), in the order
 * sent; values are read as Latin-1, bytes for bytes, as the HTTP/1.1 parser reads them.
 */
export function mapRequest(raw: readonly string[], endStream: boolean): MappedRequest {
  let method = '';
  let path = '';
  let authority = '';
  let host = '';
  let cookie = '';
  let contentLength = false;
  let lines = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 0x3a /* : */) {
      if (name === ':method') method = value;
      else if (name === ':path') path = value;
      else if (name === ':authority') authority = value;
      // :scheme is the client's to its proxy; X-Forwarded-Proto tells the real server ours.
      continue;
    }
    switch (name) {
      case 'cookie':
        cookie = cookie === '' ? value : `${cookie}; ${value}`;
        continue;
      case 'host':
        host = value;
        continue;
      case 'te':
        continue; // "trailers" only (nghttp2 checked): a hop-by-hop promise of ours, not the real server's
      case 'content-length':
        contentLength = true;
        break;
    }
    lines += `${name}: ${value}\r\n`;
  }
  if (authority !== '' && host !== '' && host !== authority) return refused('Host and :authority disagree');
  const hostValue = authority !== '' ? authority : host;
  if (hostValue === '') return refused('missing :authority and Host');
  const target = method === 'CONNECT' ? hostValue : path;
  let text = `${method} ${target} HTTP/1.1\r\nhost: ${hostValue}\r\n${lines}`;
  if (cookie !== '') text += `cookie: ${cookie}\r\n`;
  const chunked = !endStream && !contentLength;
  if (chunked) text += 'transfer-encoding: chunked\r\n';
  text += '\r\n';
  return { head: Buffer.from(text, 'latin1'), chunked, error: '' };
}

function refused(error: string): MappedRequest {
  return { head: NO_HEAD, chunked: false, error };
}

/**
 * A real server's response head as an HTTP/2 header list: its status, its fields less the
 * connection-specific ones (RFC 9113 §8.2.2: Connection and what it names, Keep-Alive,
 * Proxy-Connection, Transfer-Encoding, Upgrade), and the lines filters added.
 */
export function mapResponse(res: UpstreamResponseHead): IncomingHttpHeaders & { ':status': number } {
  const headers: Record<string, string | string[] | number> = { ':status': res.head.status };
  const { buf, fields } = res;
  if (res.head.extraConnectionTokens) dropConnectionNominated(buf, fields);
  for (let i = 0; i < fields.count; i++) {
    if (fields.drop[i] === 1) continue;
    const kind = fields.kind[i];
    if (kind === HeaderKind.TRANSFER_ENCODING || kind === HeaderKind.CONNECTION || kind === HeaderKind.KEEP_ALIVE || kind === HeaderKind.PROXY_CONNECTION || kind === HeaderKind.UPGRADE) continue;
    add(headers, buf.toString('latin1', fields.lineStart[i]!, fields.nameEnd[i]!).toLowerCase(), buf.toString('latin1', fields.valueStart[i]!, fields.valueEnd[i]!));
  }
  if (res.additions !== '') addLines(headers, res.additions);
  return headers as IncomingHttpHeaders & { ':status': number };
}

/** An answer of our own as an HTTP/2 header list. */
export function mapLocal(status: number, fields: ReadonlyArray<readonly [string, string]>, contentLength: number): Record<string, string | string[] | number> {
  const headers: Record<string, string | string[] | number> = { ':status': status };
  for (const [name, value] of fields) {
    const lower = name.toLowerCase();
    if (lower === 'connection' || lower === 'content-length') continue;
    add(headers, lower, value);
  }
  headers['content-length'] = contentLength;
  return headers;
}

/** "Name: value" lines (CRLF-separated; a status line or blank lines are skipped) into a header list. */
export function addLines(headers: Record<string, string | string[] | number>, text: string): void {
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) add(headers, line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
}

function add(headers: Record<string, string | string[] | number>, name: string, value: string): void {
  const had = headers[name];
  if (had === undefined) headers[name] = value;
  else if (Array.isArray(had)) had.push(value);
  else headers[name] = [String(had), value];
}
