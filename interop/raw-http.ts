/**
 * An HTTP/1.1 client that writes exactly the bytes it is given (header name case, a Host with a
 * trailing dot, a method list no library would let through unchanged) over keep-alive
 * connections bound to a chosen local address, and reads the responses back as data. One
 * request at a time per connection; a connection the server closed is replaced on the next
 * request.
 */
import net from 'node:net';

export interface RawResponse {
  status: number;
  /** Header fields in order, names lower case. */
  headers: Array<[string, string]>;
  body: Buffer;
}

/** What one request produced: a response, or the connection closing (or failing) without one. */
export type RawOutcome = { kind: 'response'; response: RawResponse } | { kind: 'closed'; reason: string; bytesReceived: number };

const CRLFCRLF = Buffer.from('\r\n\r\n');
/** Both proxies answer in about a millisecond here; a request still open after this never will be. */
const ANSWER_TIMEOUT_MS = 10_000;

/** One keep-alive connection from `localAddress` to host:port. */
class RawConnection {
  readonly #socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #open = true;
  #wake: (() => void) | null = null;
  #error = '';

  constructor(host: string, port: number, localAddress: string) {
    this.#socket = net.connect({ host, port, localAddress });
    this.#socket.setNoDelay(true);
    this.#socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#wake?.();
    });
    const closed = (): void => {
      this.#open = false;
      this.#wake?.();
    };
    this.#socket.on('error', (err) => {
      this.#error = err.message;
      closed();
    });
    this.#socket.on('close', closed);
  }

  get open(): boolean {
    return this.#open;
  }

  close(): void {
    this.#socket.destroy();
  }

  async exchange(request: Buffer, isHead: boolean): Promise<RawOutcome> {
    this.#buffer = Buffer.alloc(0);
    this.#socket.write(request);
    const timer = setTimeout(() => this.#socket.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`)), ANSWER_TIMEOUT_MS);
    try {
      return await this.#read(isHead);
    } finally {
      clearTimeout(timer);
    }
  }

  async #read(isHead: boolean): Promise<RawOutcome> {
    for (;;) {
      const parsed = parseResponse(this.#buffer, isHead, !this.#open);
      if (parsed === 'invalid') {
        this.close();
        return { kind: 'closed', reason: `unparsable response ${JSON.stringify(this.#buffer.toString('latin1', 0, 200))}`, bytesReceived: this.#buffer.length };
      }
      if (parsed !== null) {
        if (parsed.close) this.close();
        return { kind: 'response', response: parsed.response };
      }
      if (!this.#open) return { kind: 'closed', reason: this.#error || `closed after ${this.#buffer.length} bytes`, bytesReceived: this.#buffer.length };
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = null;
    }
  }
}

/** Keep-alive connections to one server, one per local (client) address. */
export class RawHttpClient {
  readonly #host: string;
  readonly #port: number;
  readonly #connections = new Map<string, RawConnection>();
  /** Connections opened so far: with keep-alive, far fewer than requests. */
  opened = 0;

  constructor(host: string, port: number) {
    this.#host = host;
    this.#port = port;
  }

  /**
   * Sends `request` from `localAddress`. A request whose reused connection closed before any
   * byte came back is sent again once on a fresh connection: the server may have closed it while
   * it sat idle, which says nothing about this request.
   */
  async send(localAddress: string, request: Buffer, isHead: boolean): Promise<RawOutcome> {
    let connection = this.#connections.get(localAddress);
    const reused = connection !== undefined && connection.open;
    if (connection === undefined || !connection.open) {
      connection = new RawConnection(this.#host, this.#port, localAddress);
      this.#connections.set(localAddress, connection);
      this.opened++;
    }
    const outcome = await connection.exchange(request, isHead);
    if (outcome.kind === 'closed' && reused && outcome.bytesReceived === 0) {
      this.#connections.delete(localAddress);
      return this.send(localAddress, request, isHead);
    }
    return outcome;
  }

  close(): void {
    for (const connection of this.#connections.values()) connection.close();
    this.#connections.clear();
  }
}

/**
 * A whole response at the start of `buf`, null when more bytes are needed, 'invalid' when it is
 * not HTTP/1.x. `ended`: the server closed, so a body without framing ends here.
 */
function parseResponse(buf: Buffer, isHead: boolean, ended: boolean): { response: RawResponse; close: boolean } | null | 'invalid' {
  const headEnd = buf.indexOf(CRLFCRLF);
  if (headEnd < 0) return null;
  const lines = buf.toString('latin1', 0, headEnd).split('\r\n');
  const statusLine = /^HTTP\/1\.[01] ([0-9]{3})/.exec(lines[0] ?? '');
  if (statusLine === null) return 'invalid';
  const status = Number(statusLine[1]);
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return 'invalid';
    headers.push([line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]);
  }
  const header = (name: string): string | undefined => headers.find(([n]) => n === name)?.[1];
  const close = /(^|,)\s*close\s*(,|$)/i.test(header('connection') ?? '');
  const bodyStart = headEnd + 4;
  if (status < 200 || status === 204 || status === 304) {
    // 1xx: the final response follows; a request we send never asks for one.
    if (status < 200) return 'invalid';
    return { response: { status, headers, body: Buffer.alloc(0) }, close };
  }
  if (isHead) return { response: { status, headers, body: Buffer.alloc(0) }, close };
  if (/chunked/i.test(header('transfer-encoding') ?? '')) {
    const body = dechunk(buf, bodyStart);
    return body === null ? null : { response: { status, headers, body }, close };
  }
  const length = header('content-length');
  if (length !== undefined) {
    const end = bodyStart + Number(length);
    return buf.length < end ? null : { response: { status, headers, body: buf.subarray(bodyStart, end) }, close };
  }
  return ended ? { response: { status, headers, body: buf.subarray(bodyStart) }, close: true } : null;
}

/** The body of a chunked message starting at buf[from], or null when it is not complete yet. */
function dechunk(buf: Buffer, from: number): Buffer | null {
  const parts: Buffer[] = [];
  let i = from;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', i);
    if (lineEnd < 0) return null;
    const size = parseInt(buf.toString('latin1', i, lineEnd), 16);
    if (size === 0) {
      // The last chunk, then trailer fields (none expected) and an empty line.
      return buf.indexOf(CRLFCRLF, lineEnd) < 0 ? null : Buffer.concat(parts);
    }
    const dataEnd = lineEnd + 2 + size;
    if (buf.length < dataEnd + 2) return null;
    parts.push(buf.subarray(lineEnd + 2, dataEnd));
    i = dataEnd + 2;
  }
}
