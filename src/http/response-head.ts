import { CR, LF, SP, equalsLower } from './chars.ts';
import { ConnectionToken, FieldTable, connectionTokens, parseDecimal, parseFields } from './fields.ts';
import { HeaderKind } from './header-kind.ts';
import { BodyKind } from './request-head.ts';
import { ParseError } from './parse-error.ts';

/** What the data path needs to know about one response head from a real server. */
export class ResponseHead {
  status = 0;
  http10 = false;
  /** Offset just past the CRLFCRLF that ends the head. */
  end = 0;
  /** Offset of the CR that ends the status line. */
  statusLineEnd = 0;
  bodyKind: BodyKind = BodyKind.NONE;
  contentLength = 0;
  connectionClose = false;
  connectionKeepAlive = false;
  /** Index of a Transfer-Encoding field (the rewriter drops it when it de-chunks for HTTP/1.0). */
  transferEncodingField = -1;
  extraConnectionTokens = false;

  /** May the upstream connection carry another request after this response? */
  get reusable(): boolean {
    if (this.bodyKind === BodyKind.UNTIL_CLOSE || this.connectionClose) return false;
    return this.http10 ? this.connectionKeepAlive : true;
  }
}

/**
 * Parse a response head in buf[from, headEnd + 2). `requestMethod` decides whether a body
 * follows (HEAD never has one, RFC 9112 §6.3).
 */
export function parseResponseHead(
  buf: Buffer,
  from: number,
  headEnd: number,
  head: ResponseHead,
  fields: FieldTable,
  maxFields: number,
  isHeadRequest: boolean,
): ParseError {
  let pos = from;
  // "HTTP/1." DIGIT SP 3DIGIT [SP reason] CRLF
  if (
    buf[pos] !== 0x48 || buf[pos + 1] !== 0x54 || buf[pos + 2] !== 0x54 || buf[pos + 3] !== 0x50 ||
    buf[pos + 4] !== 0x2f || buf[pos + 5] !== 0x31 || buf[pos + 6] !== 0x2e || buf[pos + 8] !== SP
  ) {
    return ParseError.BAD_STATUS_LINE;
  }
  const minor = buf[pos + 7]! - 0x30;
  if (minor !== 0 && minor !== 1) return ParseError.BAD_STATUS_LINE;
  head.http10 = minor === 0;
  const d0 = buf[pos + 9]! - 0x30;
  const d1 = buf[pos + 10]! - 0x30;
  const d2 = buf[pos + 11]! - 0x30;
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return ParseError.BAD_STATUS_LINE;
  head.status = d0 * 100 + d1 * 10 + d2;
  pos += 12;
  if (buf[pos] === SP) {
    pos++;
    // reason-phrase = *( HTAB / SP / VCHAR / obs-text )
    while (pos < headEnd && buf[pos] !== CR) {
      const b = buf[pos]!;
      if (b < 0x20 && b !== 0x09) return ParseError.BAD_STATUS_LINE;
      if (b === 0x7f) return ParseError.BAD_STATUS_LINE;
      pos++;
    }
  }
  if (buf[pos] !== CR || buf[pos + 1] !== LF) return ParseError.BAD_STATUS_LINE;
  head.statusLineEnd = pos;
  head.end = headEnd + 2;
  pos += 2;
  const fieldError = parseFields(buf, pos, headEnd, fields, maxFields);
  if (fieldError !== ParseError.NONE) return ParseError.BAD_STATUS_LINE;
  return interpretResponseFields(buf, head, fields, isHeadRequest);
}

function interpretResponseFields(buf: Buffer, head: ResponseHead, fields: FieldTable, isHeadRequest: boolean): ParseError {
  head.contentLength = -1;
  head.connectionClose = false;
  head.connectionKeepAlive = false;
  head.transferEncodingField = -1;
  head.extraConnectionTokens = false;
  let chunked = false;
  for (let i = 0; i < fields.count; i++) {
    const vs = fields.valueStart[i]!;
    const ve = fields.valueEnd[i]!;
    switch (fields.kind[i]) {
      case HeaderKind.CONTENT_LENGTH: {
        const n = parseListOfSameDecimal(buf, vs, ve);
        if (n < 0 || (head.contentLength >= 0 && head.contentLength !== n)) return ParseError.BAD_STATUS_LINE;
        head.contentLength = n;
        break;
      }
      case HeaderKind.TRANSFER_ENCODING:
        head.transferEncodingField = i;
        chunked = endsWithChunked(buf, vs, ve);
        break;
      case HeaderKind.CONNECTION:
        fields.drop[i] = 1;
        readResponseConnection(buf, vs, ve, head);
        break;
      case HeaderKind.KEEP_ALIVE:
      case HeaderKind.PROXY_CONNECTION:
      case HeaderKind.UPGRADE:
        fields.drop[i] = 1;
        break;
    }
  }
  const status = head.status;
  if (isHeadRequest || status < 200 || status === 204 || status === 304) {
    head.bodyKind = BodyKind.NONE;
  } else if (head.transferEncodingField >= 0) {
    // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; a non-chunked coding means the
    // body runs until the server closes.
    head.bodyKind = chunked ? BodyKind.CHUNKED : BodyKind.UNTIL_CLOSE;
    if (head.contentLength >= 0) head.connectionClose = true; // never reuse a connection that sent both
  } else if (head.contentLength >= 0) {
    head.bodyKind = head.contentLength > 0 ? BodyKind.LENGTH : BodyKind.NONE;
  } else {
    head.bodyKind = BodyKind.UNTIL_CLOSE;
  }
  if (head.contentLength < 0) head.contentLength = 0;
  return ParseError.NONE;
}

/** RFC 9110 §8.6: a list of identical values ("42, 42") may be taken as one. Returns -1 on mismatch. */
function parseListOfSameDecimal(buf: Uint8Array, start: number, end: number): number {
  let result = -1;
  let i = start;
  while (i <= end) {
    let j = i;
    while (j < end && buf[j] !== 0x2c) j++;
    let s = i;
    let e = j;
    while (s < e && (buf[s] === SP || buf[s] === 0x09)) s++;
    while (e > s && (buf[e - 1] === SP || buf[e - 1] === 0x09)) e--;
    const n = parseDecimal(buf, s, e);
    if (n < 0 || (result >= 0 && n !== result)) return -1;
    result = n;
    i = j + 1;
  }
  return result;
}

function endsWithChunked(buf: Uint8Array, start: number, end: number): boolean {
  let e = end;
  let s = e;
  while (s > start && buf[s - 1] !== 0x2c) s--;
  while (s < e && (buf[s] === SP || buf[s] === 0x09)) s++;
  return equalsLower(buf, s, e - s, 'chunked');
}

function readResponseConnection(buf: Uint8Array, start: number, end: number, head: ResponseHead): void {
  const bits = connectionTokens(buf, start, end);
  if (bits & ConnectionToken.CLOSE) head.connectionClose = true;
  if (bits & ConnectionToken.KEEP_ALIVE) head.connectionKeepAlive = true;
  if (bits & ConnectionToken.OTHER) head.extraConnectionTokens = true;
}
