import { CR, HTAB, LF, SP, TARGET, TCHAR, equalsLower } from './chars.ts';
import { ConnectionToken, FieldTable, connectionTokens, parseDecimal, parseFields } from './fields.ts';
import { HeaderKind, isProtectedFromConnection } from './header-kind.ts';
import { scanHost } from './host.ts';
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
 * What the data path needs to know about one request head: offsets into `buf`, which holds the
 * head's raw bytes. Taken from the worker's RequestHeadPool for one exchange and given back when
 * it ends (src/exchange/tables.ts), so a request allocates none and an idle connection holds none.
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
  /**
   * The target is in absolute-form ("http://a.example/x", RFC 9112 §3.2.2). Its authority is the
   * effective host (hostStart..hostEnd) and the client's Host field is not: the rewriter forwards
   * the origin-form, with `Host: <authority>` as the first field instead of the client's Host.
   */
  absoluteForm = false;
  /**
   * Where the origin-form of the target starts: the target's path, or its query when the path
   * is empty ("http://a?q"), or targetEnd when both are. What goes to the real server is
   * buf[originStart, targetEnd), preceded by "/" when it does not start with one (RFC 9112
   * §3.2.1: an empty path is sent as "/"), or "*" for an OPTIONS request with neither path nor
   * query (§3.2.4). targetStart for origin-form and "*". See originForm.
   */
  originStart = 0;
  /** Offset of the CR that ends the request line. */
  requestLineEnd = 0;
  /** The minor version as received, 0-9. 1 and above are handled (and forwarded) as HTTP/1.1 (RFC 9110 §2.5). */
  minorVersion = 1;
  http10 = false;
  bodyKind: BodyKind = BodyKind.NONE;
  contentLength = 0;
  /** Index of the Content-Length field, or -1. */
  contentLengthField = -1;
  /** Index of the Host field, or -1. */
  hostField = -1;
  /**
   * The effective host, as offsets into `buf`: the authority of an absolute-form target, else
   * the Host field's value (without the OWS around it). -1 for all three when there is none (an
   * HTTP/1.0 request without Host). Validated by scanHost (src/http/host.ts).
   * - buf[hostStart, hostEnd): the whole value, port included ("Shop.Example:8080"); what the
   *   real server gets as Host and X-Forwarded-Host.
   * - buf[hostStart, hostNameEnd): the host name alone, for host-based rules: without ":port"
   *   and without the trailing "." of an FQDN ("a.example." and "a.example" are one host), brackets
   *   kept on an IPv6 literal ("[::1]"). Not lower-cased: ASCII-fold it to compare (RFC 3986 §3.2.2).
   */
  hostStart = -1;
  hostNameEnd = -1;
  hostEnd = -1;
  expectContinue = false;
  connectionClose = false;
  connectionKeepAlive = false;
  connectionUpgrade = false;
  upgradeField = -1;
  /** Fields named by Connection tokens that are not close/keep-alive/upgrade: the rewriter drops them. */
  extraConnectionTokens = false;

  /** The request-target as the client sent it (allocates). */
  get target(): string {
    return this.buf.toString('latin1', this.targetStart, this.targetEnd);
  }

  /** The target as it goes to the real server: origin-form, or "*" (allocates). */
  get originForm(): string {
    const prefix = originPrefix(this);
    const rest = this.buf.toString('latin1', this.originStart, this.targetEnd);
    return prefix === 0 ? rest : String.fromCharCode(prefix) + rest;
  }

  /** The host name alone, as sent (allocates); '' when there is no host. */
  get hostName(): string {
    return this.hostStart < 0 ? '' : this.buf.toString('latin1', this.hostStart, this.hostNameEnd);
  }

  /** Does the client want the connection kept after this exchange? */
  get keepAlive(): boolean {
    return this.http10 ? this.connectionKeepAlive && !this.connectionClose : !this.connectionClose;
  }

  get isUpgrade(): boolean {
    return this.connectionUpgrade && this.upgradeField >= 0;
  }
}


/**
 * The byte the origin-form of an absolute-form target lacks: "/" for an empty path (RFC 9112
 * §3.2.1), "*" for OPTIONS with neither path nor query (§3.2.4); 0 when it lacks none.
 */
export function originPrefix(head: RequestHead): number {
  if (!head.absoluteForm || head.buf[head.originStart] === 0x2f /* / */) return 0;
  return head.originStart === head.targetEnd && head.method === 'OPTIONS' ? 0x2a /* * */ : 0x2f;
}

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
  pos = skipEmptyLines(buf, pos);
  // Two or more empty lines hold a CRLFCRLF of their own: a caller that searched from `from`
  // took it for the end of the head, and the request line lies past headEnd. Parsing on would
  // frame the head without its fields (see findRequestHeadEnd for the search that avoids this).
  if (pos > headEnd) return ParseError.BAD_REQUEST_LINE;
  head.buf = buf;
  head.start = pos;
  head.end = headEnd + 2;

  // method = token (RFC 9110 §9.1): any token, case-sensitive. CONNECT asks for a tunnel,
  // which a reverse proxy does not give.
  const methodStart = pos;
  while (TCHAR[buf[pos]!] === 1) pos++;
  if (buf[pos] !== SP || pos === methodStart) return ParseError.BAD_REQUEST_LINE;
  const method = internMethod(buf, methodStart, pos - methodStart);
  if (method === 'CONNECT') return ParseError.CONNECT_NOT_SUPPORTED;
  head.method = method;
  pos++;

  const targetStart = pos;
  while (TARGET[buf[pos]!] === 1) pos++;
  const targetEnd = pos;
  if (targetEnd - targetStart > limits.maxUriBytes) return ParseError.URI_TOO_LONG;
  if (buf[pos] !== SP || targetEnd === targetStart) return ParseError.BAD_REQUEST_LINE;
  head.targetStart = targetStart;
  head.targetEnd = targetEnd;
  head.originStart = targetStart;
  head.absoluteForm = false;
  head.hostStart = -1;
  head.hostNameEnd = -1;
  head.hostEnd = -1;
  const first = buf[targetStart]!;
  if (first !== 0x2f /* / */ && !(first === 0x2a /* * */ && targetEnd - targetStart === 1 && method === 'OPTIONS')) {
    if (!parseAbsoluteForm(buf, targetStart, targetEnd, head)) return ParseError.BAD_TARGET;
  }
  pos++;

  // "HTTP/" DIGIT "." DIGIT CRLF
  if (
    buf[pos] !== 0x48 || buf[pos + 1] !== 0x54 || buf[pos + 2] !== 0x54 || buf[pos + 3] !== 0x50 ||
    buf[pos + 4] !== 0x2f || buf[pos + 6] !== 0x2e
  ) {
    return ParseError.BAD_VERSION;
  }
  if (pos + 8 > headEnd) return ParseError.BAD_REQUEST_LINE; // the line must end inside the head
  const major = buf[pos + 5]! - 0x30;
  const minor = buf[pos + 7]! - 0x30;
  if (major < 0 || major > 9 || minor < 0 || minor > 9) return ParseError.BAD_VERSION;
  if (buf[pos + 8] !== CR || buf[pos + 9] !== LF) {
    return buf[pos + 8] === LF ? ParseError.BARE_CR_OR_LF : ParseError.BAD_REQUEST_LINE;
  }
  // RFC 9110 §2.5: a higher minor version is handled as the highest we support (1.1); another
  // major version is another protocol.
  if (major !== 1) return ParseError.UNSUPPORTED_VERSION;
  head.minorVersion = minor;
  head.http10 = minor === 0;
  head.requestLineEnd = pos + 8;
  pos += 10;

  const fieldError = parseFields(buf, pos, headEnd, fields, limits.maxHeaders);
  if (fieldError !== ParseError.NONE) return fieldError;
  return interpretRequestFields(buf, head, fields);
}

/**
 * The index of the first byte after the empty lines (CRLF pairs) at buf[from]. A caller looking for
 * the end of a request head must search for CRLFCRLF from here, not from `from`: otherwise
 * "\r\n\r\nGET / ..." ends its head at offset 2.
 */
export function skipEmptyLines(buf: Uint8Array, from: number): number {
  let pos = from;
  while (buf[pos] === CR && buf[pos + 1] === LF) pos += 2;
  return pos;
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/**
 * Where the request head that starts at buf[from] ends: the index to pass to parseRequestHead as
 * headEnd (the final CRLF of CRLFCRLF), or -1 when the head is not complete yet. Skips the empty
 * lines RFC 9112 §2.2 lets a client send before the request line. `scanFrom`: the length of the
 * bytes already searched without success, when the head arrives in pieces.
 */
export function findRequestHeadEnd(buf: Buffer, from: number, scanFrom = from): number {
  const lineStart = skipEmptyLines(buf, from);
  const i = buf.indexOf(CRLFCRLF, Math.max(lineStart, scanFrom - 3));
  return i < 0 ? -1 : i + 2;
}

/**
 * absolute-form (RFC 9112 §3.2.2, which obliges servers to accept it): scheme "://" authority,
 * then the path, query and fragment, whose bytes TARGET already checked. The authority runs to
 * the first "/" or "?" and must be a host scanHost accepts: that refuses an empty one (RFC 9110
 * §4.2.1), userinfo ("@", §4.2.4: "http://trusted@evil/" is a classic way to fool whatever routes
 * on the target), and every byte Node's llhttp refuses there ('"', "<", "\\", "^", "`", "{", "|",
 * "}", "#"...). Sets the host offsets and originStart of `head`.
 */
function parseAbsoluteForm(buf: Uint8Array, start: number, end: number, head: RequestHead): boolean {
  let i = start;
  while (i < end && ((buf[i]! | 0x20) >= 0x61 && (buf[i]! | 0x20) <= 0x7a)) i++;
  if (i === start || i + 3 > end || buf[i] !== 0x3a || buf[i + 1] !== 0x2f || buf[i + 2] !== 0x2f) return false;
  i += 3;
  const authorityStart = i;
  while (i < end && buf[i] !== 0x2f /* / */ && buf[i] !== 0x3f /* ? */) i++;
  const hostNameEnd = scanHost(buf, authorityStart, i);
  if (hostNameEnd < 0) return false;
  head.absoluteForm = true;
  head.hostStart = authorityStart;
  head.hostNameEnd = hostNameEnd;
  head.hostEnd = i;
  head.originStart = i;
  return true;
}

function interpretRequestFields(buf: Buffer, head: RequestHead, fields: FieldTable): ParseError {
  head.bodyKind = BodyKind.NONE;
  head.contentLength = 0;
  head.contentLengthField = -1;
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
      case HeaderKind.HOST: {
        if (head.hostField >= 0) return ParseError.DUPLICATE_HOST;
        head.hostField = i;
        // RFC 9112 §3.2: 400 for a Host with an invalid value, even when an absolute-form target
        // makes it the one we drop.
        const hostNameEnd = scanHost(buf, vs, ve);
        if (hostNameEnd < 0) return ParseError.BAD_HOST;
        if (!head.absoluteForm) {
          head.hostStart = vs;
          head.hostNameEnd = hostNameEnd;
          head.hostEnd = ve;
        }
        break;
      }
      case HeaderKind.CONTENT_LENGTH: {
        if (contentLengthSeen) return ParseError.DUPLICATE_CONTENT_LENGTH;
        contentLengthSeen = true;
        const n = parseDecimal(buf, vs, ve);
        if (n < 0) return ParseError.BAD_CONTENT_LENGTH;
        head.contentLength = n;
        head.contentLengthField = i;
        break;
      }
      case HeaderKind.TRANSFER_ENCODING: {
        transferEncodingSeen = true;
        // Up to the raw end of the line: what follows "chunked" matters, trailing OWS included.
        const verdict = lastCodingIsChunked(buf, vs, fields.lineEnd[i]!, chunkedLast);
        if (verdict < 0) return ParseError.BAD_TRANSFER_ENCODING;
        chunkedLast = verdict === 1;
        break;
      }
      case HeaderKind.CONNECTION:
        fields.drop[i] = 1;
        readConnectionTokens(buf, vs, ve, head, true);
        break;
      case HeaderKind.PROXY_CONNECTION:
        // Not standard, but llhttp (and so every Node server) reads it exactly like Connection:
        // "Proxy-Connection: close" ends the connection there, "upgrade" switches protocols. We
        // must not keep parsing a stream that a server behind us stops parsing.
        fields.drop[i] = 1;
        readConnectionTokens(buf, vs, ve, head, false);
        break;
      case HeaderKind.KEEP_ALIVE:
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
 * coding, -1 when it is malformed. `end` is the raw end of the line (trailing OWS included);
 * `chunkedBefore` says whether an earlier Transfer-Encoding field ended with chunked.
 *
 * RFC 9112 §6.1: chunked at most once, last, and it has no parameters. We hold "last" to what
 * llhttp checks, byte for byte: after "chunked" only spaces may follow up to the CR. A tab, a
 * ";param", a trailing "," or a second word ("chunked gzip") make llhttp see a non-chunked coding
 * and refuse the request, so we refuse it too rather than frame a body it will not frame.
 */
function lastCodingIsChunked(buf: Uint8Array, start: number, end: number, chunkedBefore: boolean): number {
  if (chunkedBefore) return -1; // a coding after chunked, in a later field
  let i = start;
  let any = false;
  while (i < end) {
    while (i < end && (buf[i] === SP || buf[i] === HTAB || buf[i] === 0x2c)) i++;
    if (i >= end) break;
    const ts = i;
    while (i < end && TCHAR[buf[i]!] === 1) i++;
    if (i === ts) return -1;
    if (equalsLower(buf, ts, i - ts, 'chunked')) {
      while (i < end && buf[i] === SP) i++;
      return i === end ? 1 : -1;
    }
    while (i < end && buf[i] !== 0x2c) i++; // the parameters of another coding, opaque to us
    any = true;
  }
  return any ? 0 : -1;
}

/**
 * Records the close / keep-alive / upgrade tokens of a Connection (or Proxy-Connection) value.
 * `nominates`: other tokens name fields the rewriter must drop (Connection only).
 */
function readConnectionTokens(buf: Uint8Array, start: number, end: number, head: RequestHead, nominates: boolean): void {
  const bits = connectionTokens(buf, start, end);
  if (bits & ConnectionToken.CLOSE) head.connectionClose = true;
  if (bits & ConnectionToken.KEEP_ALIVE) head.connectionKeepAlive = true;
  if (bits & ConnectionToken.UPGRADE) head.connectionUpgrade = true;
  if (nominates && bits & ConnectionToken.OTHER) head.extraConnectionTokens = true;
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
