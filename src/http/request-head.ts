import { CR, LF, SP, TARGET, TCHAR, equalsLower } from './chars.ts';
import { FieldTable, parseDecimal, parseFields } from './fields.ts';
import { HeaderKind, isProtectedFromConnection } from './header-kind.ts';
import { internMethod } from './methods.ts';
import { ParseError } from './parse-error.ts';

export interface RequestLimits {
  readonly maxHeaderBytes: number;
  readonly maxHeaders: number;
  readonly maxUriBytes: number;
}

/** Request body framing (RFC 9112 §6.3). */
export const BodyKind = { NONE: 0, LENGTH: 1, CHUNKED: 2, UNTIL_CLOSE: 3 } as const;
export type BodyKind = (typeof BodyKind)[keyof typeof BodyKind];

/**
 * What the data path needs to know about one request head. A single instance per client
 * connection, overwritten for every request: the head's raw bytes stay in `buf`.
 */
export class RequestHead {
  buf: Buffer = Buffer.alloc(0);
  /** Offset of the first byte of the request line (leading CRLFs are skipped). */
  start = 0;
  /** Offset just past the CRLFCRLF that ends the head. */
  end = 0;
  method = 'GET';
  targetStart = 0;
  targetEnd = 0;
  /** Offset of the CR that ends the request line. */
  requestLineEnd = 0;
  http10 = false;
  bodyKind: BodyKind = BodyKind.NONE;
  contentLength = 0;
  hostField = -1;
  expectContinue = false;
  connectionClose = false;
  connectionKeepAlive = false;
  connectionUpgrade = false;
  upgradeField = -1;
  /** Fields named by Connection tokens that are not close/keep-alive/upgrade: the rewriter drops them. */
  extraConnectionTokens = false;

  get target(): string {
    return this.buf.toString('latin1', this.targetStart, this.targetEnd);
  }

  /** Does the client want the connection kept after this exchange? */
  get keepAlive(): boolean {
    return this.http10 ? this.connectionKeepAlive && !this.connectionClose : !this.connectionClose;
  }

  get isUpgrade(): boolean {
    return this.connectionUpgrade && this.upgradeField >= 0;
  }
}

const TOKEN_CLOSE = 'close';
const TOKEN_KEEP_ALIVE = 'keep-alive';
const TOKEN_UPGRADE = 'upgrade';

/**
 * Parse the request head in buf[from, headEnd + 2), where headEnd is the index of the final CRLF.
 * Fills `head` and `fields`; returns ParseError.NONE or why the request must be refused.
 */
export function parseRequestHead(
  buf: Buffer,
  from: number,
  headEnd: number,
  head: RequestHead,
  fields: FieldTable,
  limits: RequestLimits,
): ParseError {
  let pos = from;
  // RFC 9112 §2.2: a server SHOULD ignore empty lines received before the request line.
  while (buf[pos] === CR && buf[pos + 1] === LF) pos += 2;
  head.buf = buf;
  head.start = pos;
  head.end = headEnd + 2;

  const methodStart = pos;
  while (TCHAR[buf[pos]!] === 1) pos++;
  if (buf[pos] !== SP || pos === methodStart) return ParseError.BAD_REQUEST_LINE;
  const method = internMethod(buf, methodStart, pos - methodStart);
  if (method === null) return ParseError.UNKNOWN_METHOD;
  if (method === 'CONNECT') return ParseError.CONNECT_NOT_SUPPORTED;
  head.method = method;
  pos++;

  const targetStart = pos;
  while (TARGET[buf[pos]!] === 1) pos++;
  const targetEnd = pos;
  if (targetEnd - targetStart > limits.maxUriBytes) return ParseError.URI_TOO_LONG;
  if (buf[pos] !== SP || targetEnd === targetStart) return ParseError.BAD_REQUEST_LINE;
  const first = buf[targetStart]!;
  if (first !== 0x2f /* / */ && !(first === 0x2a /* * */ && targetEnd - targetStart === 1 && method === 'OPTIONS')) {
    if (!isAbsoluteForm(buf, targetStart, targetEnd)) return ParseError.BAD_TARGET;
  }
  head.targetStart = targetStart;
  head.targetEnd = targetEnd;
  pos++;

  // "HTTP/" DIGIT "." DIGIT CRLF
  if (
    buf[pos] !== 0x48 || buf[pos + 1] !== 0x54 || buf[pos + 2] !== 0x54 || buf[pos + 3] !== 0x50 ||
    buf[pos + 4] !== 0x2f || buf[pos + 6] !== 0x2e
  ) {
    return ParseError.BAD_VERSION;
  }
  const major = buf[pos + 5]! - 0x30;
  const minor = buf[pos + 7]! - 0x30;
  if (major < 0 || major > 9 || minor < 0 || minor > 9) return ParseError.BAD_VERSION;
  if (buf[pos + 8] !== CR || buf[pos + 9] !== LF) {
    return buf[pos + 8] === LF ? ParseError.BARE_CR_OR_LF : ParseError.BAD_REQUEST_LINE;
  }
  if (major !== 1 || minor > 1) return ParseError.UNSUPPORTED_VERSION;
  head.http10 = minor === 0;
  head.requestLineEnd = pos + 8;
  pos += 10;

  const fieldError = parseFields(buf, pos, headEnd, fields, limits.maxHeaders);
  if (fieldError !== ParseError.NONE) return fieldError;
  return interpretRequestFields(buf, head, fields);
}

function isAbsoluteForm(buf: Uint8Array, start: number, end: number): boolean {
  // scheme "://" — we forward absolute-form as is (RFC 9112 §3.2.2 obliges servers to accept it).
  let i = start;
  while (i < end && ((buf[i]! | 0x20) >= 0x61 && (buf[i]! | 0x20) <= 0x7a)) i++;
  return i > start && i + 3 <= end && buf[i] === 0x3a && buf[i + 1] === 0x2f && buf[i + 2] === 0x2f;
}

function interpretRequestFields(buf: Buffer, head: RequestHead, fields: FieldTable): ParseError {
  head.bodyKind = BodyKind.NONE;
  head.contentLength = 0;
  head.hostField = -1;
  head.expectContinue = false;
  head.connectionClose = false;
  head.connectionKeepAlive = false;
  head.connectionUpgrade = false;
  head.upgradeField = -1;
  head.extraConnectionTokens = false;
  let contentLengthSeen = false;
  let transferEncodingSeen = false;
  let chunkedLast = false;

  for (let i = 0; i < fields.count; i++) {
    const vs = fields.valueStart[i]!;
    const ve = fields.valueEnd[i]!;
    switch (fields.kind[i]) {
      case HeaderKind.HOST:
        if (head.hostField >= 0) return ParseError.DUPLICATE_HOST;
        head.hostField = i;
        break;
      case HeaderKind.CONTENT_LENGTH: {
        if (contentLengthSeen) return ParseError.DUPLICATE_CONTENT_LENGTH;
        contentLengthSeen = true;
        const n = parseDecimal(buf, vs, ve);
        if (n < 0) return ParseError.BAD_CONTENT_LENGTH;
        head.contentLength = n;
        break;
      }
      case HeaderKind.TRANSFER_ENCODING: {
        transferEncodingSeen = true;
        const verdict = lastCodingIsChunked(buf, vs, ve, chunkedLast);
        if (verdict < 0) return ParseError.BAD_TRANSFER_ENCODING;
        chunkedLast = verdict === 1;
        break;
      }
      case HeaderKind.CONNECTION:
        fields.drop[i] = 1;
        readConnectionTokens(buf, vs, ve, head);
        break;
      case HeaderKind.KEEP_ALIVE:
      case HeaderKind.PROXY_CONNECTION:
      case HeaderKind.TE:
        fields.drop[i] = 1;
        break;
      case HeaderKind.UPGRADE:
        head.upgradeField = i;
        break;
      case HeaderKind.EXPECT:
        head.expectContinue = equalsLower(buf, vs, ve - vs, '100-continue');
        break;
    }
  }

  if (transferEncodingSeen) {
    if (contentLengthSeen) return ParseError.CONTENT_LENGTH_AND_TRANSFER_ENCODING;
    if (head.http10) return ParseError.TRANSFER_ENCODING_IN_HTTP10;
    if (!chunkedLast) return ParseError.BAD_TRANSFER_ENCODING;
    head.bodyKind = BodyKind.CHUNKED;
  } else if (contentLengthSeen && head.contentLength > 0) {
    head.bodyKind = BodyKind.LENGTH;
  }
  if (head.hostField < 0 && !head.http10) return ParseError.MISSING_HOST;
  if (!head.isUpgrade && head.upgradeField >= 0) fields.drop[head.upgradeField] = 1;
  if (head.extraConnectionTokens) dropConnectionNominated(buf, fields);
  return ParseError.NONE;
}

/**
 * Returns 1 when the list in buf[start, end) ends with "chunked", 0 when it ends with another
 * coding, -1 when "chunked" appears anywhere but last (RFC 9112 §6.1: chunked at most once, last).
 * `chunkedBefore` says whether an earlier Transfer-Encoding field ended with chunked.
 */
function lastCodingIsChunked(buf: Uint8Array, start: number, end: number, chunkedBefore: boolean): number {
  let last = chunkedBefore ? 1 : 0;
  let i = start;
  let any = false;
  while (i < end) {
    while (i < end && (buf[i] === SP || buf[i] === 0x09 || buf[i] === 0x2c)) i++;
    if (i >= end) break;
    const ts = i;
    while (i < end && buf[i] !== 0x2c && buf[i] !== SP && buf[i] !== 0x09 && buf[i] !== 0x3b) i++;
    const te = i;
    while (i < end && buf[i] !== 0x2c) i++; // skip transfer parameters
    if (te === ts) return -1;
    for (let k = ts; k < te; k++) if (TCHAR[buf[k]!] !== 1) return -1;
    if (last === 1) return -1; // something follows chunked
    last = equalsLower(buf, ts, te - ts, 'chunked') ? 1 : 0;
    any = true;
  }
  return any ? last : -1;
}

function readConnectionTokens(buf: Uint8Array, start: number, end: number, head: RequestHead): void {
  let i = start;
  while (i < end) {
    while (i < end && (buf[i] === SP || buf[i] === 0x09 || buf[i] === 0x2c)) i++;
    const ts = i;
    while (i < end && buf[i] !== 0x2c) i++;
    let te = i;
    while (te > ts && (buf[te - 1] === SP || buf[te - 1] === 0x09)) te--;
    const len = te - ts;
    if (len === 0) continue;
    if (equalsLower(buf, ts, len, TOKEN_CLOSE)) head.connectionClose = true;
    else if (equalsLower(buf, ts, len, TOKEN_KEEP_ALIVE)) head.connectionKeepAlive = true;
    else if (equalsLower(buf, ts, len, TOKEN_UPGRADE)) head.connectionUpgrade = true;
    else head.extraConnectionTokens = true;
  }
}

/**
 * RFC 9110 §7.6.1: fields named in Connection are hop-by-hop and must not be forwarded, except
 * the ones isProtectedFromConnection lists. The rare path, so it may allocate.
 */
export function dropConnectionNominated(buf: Buffer, fields: FieldTable): void {
  const nominated = new Set<string>();
  for (let i = 0; i < fields.count; i++) {
    if (fields.kind[i] !== HeaderKind.CONNECTION) continue;
    for (const token of buf.toString('latin1', fields.valueStart[i]!, fields.valueEnd[i]!).split(',')) {
      const name = token.trim().toLowerCase();
      if (name) nominated.add(name);
    }
  }
  for (let i = 0; i < fields.count; i++) {
    const kind = fields.kind[i] as HeaderKind;
    if (isProtectedFromConnection(kind)) continue;
    if (kind === HeaderKind.UPGRADE) continue; // handled by the upgrade logic
    const name = buf.toString('latin1', fields.lineStart[i]!, fields.nameEnd[i]!).toLowerCase();
    if (nominated.has(name)) fields.drop[i] = 1;
  }
}
