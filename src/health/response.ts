/**
 * Reads what a health check needs of a response: the status code and, when asked, the first
 * 4 KiB of the body (Content-Length, chunked or read to close). Lenient by design: the check
 * judges the server's health, not its HTTP conformance, so only what it must understand is parsed.
 */
import { BODY_LIMIT_BYTES } from '../config/health-check.ts';

/** A status line and headers larger than this are not a health endpoint's answer. */
export const HEAD_LIMIT_BYTES = 16_384;
/** Raw chunked bytes read to decode the first 4 KiB; chunk framing rarely adds more than a few bytes. */
const RAW_BODY_LIMIT_BYTES = 4 * BODY_LIMIT_BYTES;

export type ResponseOutcome =
  | { kind: 'response'; status: number; body: Buffer | null }
  /** Not HTTP: `start` holds the first bytes received. */
  | { kind: 'not-http'; start: Buffer }
  | { kind: 'head-too-large' }
  /** The connection ended before a complete status line and headers: `received` bytes came. */
  | { kind: 'incomplete'; received: number };

export interface ReaderOptions {
  /** A HEAD response has no body, whatever its headers say. */
  head: boolean;
  /** Read the body of a response with this status? */
  wantBody: (status: number) => boolean;
}

type BodyMode = { kind: 'length'; remaining: number } | { kind: 'chunked' } | { kind: 'close' };

export class ResponseReader {
  readonly #options: ReaderOptions;
  #buffer: Buffer = Buffer.alloc(0);
  #status = 0;
  #body: BodyMode | null = null;
  #received = 0;

  constructor(options: ReaderOptions) {
    this.#options = options;
  }

  /** The status code once the head is read (0 before), e.g. to word a timeout while the body is read. */
  get status(): number {
    return this.#status;
  }

  /** Feed bytes; returns the outcome once there is one, else null (more is needed). */
  push(chunk: Buffer): ResponseOutcome | null {
    this.#received += chunk.length;
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    return this.#body === null ? this.#readHead() : this.#readBody(false);
  }

  /** The connection ended: the outcome from what arrived. */
  end(): ResponseOutcome {
    if (this.#body === null) {
      const outcome = this.#readHead();
      return outcome ?? { kind: 'incomplete', received: this.#received };
    }
    return this.#readBody(true) ?? { kind: 'response', status: this.#status, body: this.#buffer };
  }

  #readHead(): ResponseOutcome | null {
    for (;;) {
      const buffer = this.#buffer;
      const notHttp = notHttpStart(buffer);
      if (notHttp) return { kind: 'not-http', start: buffer.subarray(0, 64) };
      const end = headEnd(buffer);
      if (end === null) return buffer.length > HEAD_LIMIT_BYTES ? { kind: 'head-too-large' } : null;
      if (end.headLength > HEAD_LIMIT_BYTES) return { kind: 'head-too-large' };
      const lines = buffer.subarray(0, end.headLength).toString('latin1').split(/\r?\n/);
      const status = /^HTTP\/[0-9]\.[0-9] ([0-9]{3})(?:[ \t].*)?$/.exec(lines[0] ?? '');
      if (status === null) return { kind: 'not-http', start: buffer.subarray(0, 64) };
      const code = Number(status[1]);
      this.#buffer = buffer.subarray(end.bodyStart);
      // 1xx (103 Early Hints, a stray 100 Continue) precede the real answer: read on.
      if (code >= 100 && code < 200 && code !== 101) continue;
      this.#status = code;
      const noBody = this.#options.head || code === 204 || code === 304 || code < 200;
      if (noBody || !this.#options.wantBody(code)) return { kind: 'response', status: code, body: null };
      this.#body = bodyMode(lines.slice(1));
      return this.#readBody(false);
    }
  }

  #readBody(ended: boolean): ResponseOutcome | null {
    const mode = this.#body;
    const buffer = this.#buffer;
    const done = (body: Buffer): ResponseOutcome => ({ kind: 'response', status: this.#status, body: body.subarray(0, BODY_LIMIT_BYTES) });
    switch (mode?.kind) {
      case 'length':
        return buffer.length >= Math.min(mode.remaining, BODY_LIMIT_BYTES) || ended ? done(buffer.subarray(0, mode.remaining)) : null;
      case 'chunked': {
        const decoded = decodeChunked(buffer);
        return decoded.complete || decoded.body.length >= BODY_LIMIT_BYTES || buffer.length >= RAW_BODY_LIMIT_BYTES || ended
          ? done(decoded.body)
          : null;
      }
      default:
        return buffer.length >= BODY_LIMIT_BYTES || ended ? done(buffer) : null;
    }
  }
}

/** A TLS record (0x15 alert, 0x16 handshake) or anything not starting "HTTP/" is not an HTTP response. */
function notHttpStart(buffer: Buffer): boolean {
  const prefix = 'HTTP/';
  const length = Math.min(buffer.length, prefix.length);
  return buffer.toString('latin1', 0, length) !== prefix.slice(0, length);
}

function headEnd(buffer: Buffer): { headLength: number; bodyStart: number } | null {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { headLength: crlf, bodyStart: crlf + 4 };
  if (lf !== -1) return { headLength: lf, bodyStart: lf + 2 };
  return null;
}

function bodyMode(headerLines: readonly string[]): BodyMode {
  let length: number | null = null;
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim().toLowerCase();
    // Chunked wins over Content-Length (RFC 9112 section 6.3).
    if (name === 'transfer-encoding' && value.split(',').at(-1)?.trim() === 'chunked') return { kind: 'chunked' };
    if (name === 'content-length' && /^[0-9]+$/.test(value)) length = Number(value);
  }
  return length === null ? { kind: 'close' } : { kind: 'length', remaining: length };
}

/** Decode as much of a chunked body as has arrived; `complete` once the last (0) chunk is seen. */
export function decodeChunked(raw: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\n', offset);
    if (lineEnd === -1) break;
    const size = Number.parseInt(raw.toString('latin1', offset, lineEnd).split(';')[0]?.trim() ?? '', 16);
    if (!Number.isFinite(size)) break;
    if (size === 0) return { body: Buffer.concat(parts), complete: true };
    const start = lineEnd + 1;
    parts.push(raw.subarray(start, Math.min(start + size, raw.length)));
    if (start + size + 2 > raw.length) break;
    offset = start + size + 2;
  }
  return { body: Buffer.concat(parts), complete: false };
}
