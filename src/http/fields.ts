import { COLON, CR, FIELD_VALUE, HTAB, LF, SP, TCHAR, equalsLower } from './chars.ts';
import { classifyHeader, type HeaderKind } from './header-kind.ts';
import { ParseError } from './parse-error.ts';

/**
 * The header fields of one message head, as offsets into the buffer that holds the head.
 * One table per worker is enough: a head is parsed and rewritten synchronously, so nothing
 * survives into the next event-loop turn. Offsets instead of strings keep the hot path free of
 * per-header allocations.
 */
export class FieldTable {
  count = 0;
  readonly lineStart: Int32Array;
  readonly nameEnd: Int32Array;
  readonly valueStart: Int32Array;
  readonly valueEnd: Int32Array;
  /** Index of the CR that ends the line. */
  readonly lineEnd: Int32Array;
  readonly kind: Uint8Array;
  /** 1 when the rewriter must not forward this field. */
  readonly drop: Uint8Array;

  constructor(capacity: number) {
    this.lineStart = new Int32Array(capacity);
    this.nameEnd = new Int32Array(capacity);
    this.valueStart = new Int32Array(capacity);
    this.valueEnd = new Int32Array(capacity);
    this.lineEnd = new Int32Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.drop = new Uint8Array(capacity);
  }

  get capacity(): number {
    return this.kind.length;
  }
}

/**
 * Parse the field lines in buf[pos, headEnd), where headEnd is the index of the CRLF that closes
 * the head (the second half of CRLFCRLF). Fills `table`; returns ParseError.NONE or the error.
 */
export function parseFields(
  buf: Uint8Array,
  pos: number,
  headEnd: number,
  table: FieldTable,
  maxFields: number,
): ParseError {
  let count = 0;
  while (pos < headEnd) {
    const lineStart = pos;
    let b = buf[pos]!;
    if (b === SP || b === HTAB) return ParseError.OBS_FOLD;
    while (TCHAR[b] === 1) b = buf[++pos]!;
    const nameEnd = pos;
    if (b !== COLON || nameEnd === lineStart) return ParseError.BAD_HEADER_NAME;
    pos++;
    b = buf[pos]!;
    while (b === SP || b === HTAB) b = buf[++pos]!;
    const valueStart = pos;
    while (FIELD_VALUE[b] === 1) b = buf[++pos]!;
    if (b !== CR) return b === LF ? ParseError.BARE_CR_OR_LF : ParseError.BAD_HEADER_VALUE;
    if (buf[pos + 1] !== LF) return ParseError.BARE_CR_OR_LF;
    const lineEnd = pos;
    let valueEnd = pos;
    while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) valueEnd--;
    if (count === maxFields || count === table.capacity) return ParseError.TOO_MANY_HEADERS;
    table.lineStart[count] = lineStart;
    table.nameEnd[count] = nameEnd;
    table.valueStart[count] = valueStart;
    table.valueEnd[count] = valueEnd;
    table.lineEnd[count] = lineEnd;
    table.kind[count] = classifyHeader(buf, lineStart, nameEnd - lineStart);
    table.drop[count] = 0;
    count++;
    pos = lineEnd + 2;
  }
  table.count = count;
  return ParseError.NONE;
}

export function kindAt(table: FieldTable, i: number): HeaderKind {
  return table.kind[i] as HeaderKind;
}

/**
 * Parse a decimal Content-Length value in buf[start, end). Returns -1 when it is not 1*DIGIT
 * (RFC 9110 §8.6) or its value exceeds 2^53 - 1, the largest length a double holds exactly.
 * The bound is on the value, not the digits: the grammar allows leading zeros, and llhttp,
 * HAProxy and nginx take any number of them ("0000000000000005" is 5).
 */
export function parseDecimal(buf: Uint8Array, start: number, end: number): number {
  if (start >= end) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    // n <= 2^53 - 1 here, so n * 10 + d is rounded at most once; an exact result above
    // 2^53 - 1 is at least 2^53, which rounds to at least 2^53: the test cannot miss.
    n = n * 10 + d;
    if (n > Number.MAX_SAFE_INTEGER) return -1;
  }
  return n;
}

/** Is the Content-Length value buf[start, end), already parsed, in canonical form (no leading zero)? */
export function isCanonicalDecimal(buf: Uint8Array, start: number, end: number): boolean {
  return buf[start] !== 0x30 || end - start === 1;
}

/** The Connection tokens the data path acts on, as bits; OTHER means a field is nominated. */
export const ConnectionToken = { CLOSE: 1, KEEP_ALIVE: 2, UPGRADE: 4, OTHER: 8 } as const;

/** The ConnectionToken bits present in the Connection-style list buf[start, end). */
export function connectionTokens(buf: Uint8Array, start: number, end: number): number {
  let bits = 0;
  let i = start;
  while (i < end) {
    while (i < end && (buf[i] === SP || buf[i] === HTAB || buf[i] === 0x2c)) i++;
    const ts = i;
    while (i < end && buf[i] !== 0x2c) i++;
    let te = i;
    while (te > ts && (buf[te - 1] === SP || buf[te - 1] === HTAB)) te--;
    const len = te - ts;
    if (len === 0) continue;
    if (equalsLower(buf, ts, len, 'close')) bits |= ConnectionToken.CLOSE;
    else if (equalsLower(buf, ts, len, 'keep-alive')) bits |= ConnectionToken.KEEP_ALIVE;
    else if (equalsLower(buf, ts, len, 'upgrade')) bits |= ConnectionToken.UPGRADE;
    else bits |= ConnectionToken.OTHER;
  }
  return bits;
}
