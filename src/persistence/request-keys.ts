/**
 * Reading persistence keys out of a parsed head: a header's value, a cookie, a query parameter,
 * the path, and a cookie the real server sets. They work on the worker's FieldTable offsets
 * and allocate only the key string they return (nothing when the key is absent).
 *
 * `previous` is the key the same connection sent last time: a keep-alive client repeats its
 * cookie or header on every request, and handing back the same string object (after comparing
 * the bytes) saves the allocation and lets the table lookups reuse its cached hash. Measured:
 * a 33-byte Buffer.toString costs about 120 ns, the comparison about 20.
 */
import { HTAB, SP, equalsLower } from '../http/chars.ts';
import type { FieldTable } from '../http/fields.ts';

const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const AMPERSAND = 0x26;
const QUESTION = 0x3f;
const HASH = 0x23;
const COMMA = 0x2c;

/** The value of the first field named `lowerName` (all lowercase), or null when absent or empty. */
export function headerValue(buf: Buffer, fields: FieldTable, lowerName: string, previous: string | null): string | null {
  const length = lowerName.length;
  for (let i = 0; i < fields.count; i++) {
    const start = fields.lineStart[i]!;
    if (fields.nameEnd[i]! - start !== length || !equalsLower(buf, start, length, lowerName)) continue;
    const vs = fields.valueStart[i]!;
    const ve = fields.valueEnd[i]!;
    return ve > vs ? text(buf, vs, ve, previous) : null;
  }
  return null;
}

/**
 * The value of cookie `name` (case-sensitive, RFC 6265) in the request's Cookie fields, or null.
 * `maxLength` > 0 refuses longer values without allocating them (the active cookie has one size).
 * `empty` is what `name=` with no value gives: null for a persistence key (nothing to stick
 * to), '' for a rule's condition (the cookie is present, as HAProxy's req.cook sees it).
 */
export function cookieValue(buf: Buffer, fields: FieldTable, name: Buffer, maxLength: number, previous: string | null, empty: '' | null = null): string | null {
  for (let i = 0; i < fields.count; i++) {
    const start = fields.lineStart[i]!;
    if (fields.nameEnd[i]! - start !== 6 || !equalsLower(buf, start, 6, 'cookie')) continue;
    const value = pairValue(buf, fields.valueStart[i]!, fields.valueEnd[i]!, name, SEMICOLON, maxLength, previous, empty);
    if (value !== null) return value;
  }
  return null;
}

/**
 * The value a response's `Set-Cookie: name=value; ...` gives cookie `name`, or null. The last
 * such field wins, as in a browser.
 */
export function setCookieValue(buf: Buffer, fields: FieldTable, name: Buffer): string | null {
  let found: string | null = null;
  for (let i = 0; i < fields.count; i++) {
    const start = fields.lineStart[i]!;
    if (fields.nameEnd[i]! - start !== 10 || !equalsLower(buf, start, 10, 'set-cookie')) continue;
    let vs = fields.valueStart[i]!;
    const ve = fields.valueEnd[i]!;
    if (ve - vs <= name.length || buf[vs + name.length] !== EQUALS || !bytesAt(buf, vs, name)) continue;
    vs += name.length + 1;
    let end = buf.indexOf(SEMICOLON, vs);
    if (end < 0 || end > ve) end = ve;
    while (end > vs && (buf[end - 1] === SP || buf[end - 1] === HTAB)) end--;
    // An empty value (or one with Max-Age=0) deletes the cookie: nothing to learn from it.
    found = end > vs ? buf.toString('latin1', vs, end) : null;
  }
  return found;
}

/** The value of query parameter `name` in the request target buf[start, end), or null when absent or empty. */
export function queryValue(buf: Buffer, start: number, end: number, name: Buffer, previous: string | null): string | null {
  // JS loops, not Buffer.indexOf: for a target of a few dozen bytes the native call costs more.
  let q = start;
  while (q < end && buf[q] !== QUESTION) q++;
  if (q === end) return null;
  let queryEnd = q + 1;
  while (queryEnd < end && buf[queryEnd] !== HASH) queryEnd++;
  return pairValue(buf, q + 1, queryEnd, name, AMPERSAND, 0, previous, null);
}

/** The path of the request target buf[start, end): up to "?" (or "#"), without scheme and authority. */
export function pathOf(buf: Buffer, start: number, end: number, previous: string | null): string {
  let from = start;
  if (buf[start] !== 0x2f /* / */) {
    // absolute-form "http://host/path": the path starts at the first "/" after "//".
    const authority = buf.indexOf('//', start);
    const slash = authority < 0 || authority >= end ? -1 : buf.indexOf(0x2f, authority + 2);
    from = slash < 0 || slash >= end ? end : slash;
  }
  let to = from;
  while (to < end && buf[to] !== QUESTION && buf[to] !== HASH) to++;
  return to > from ? text(buf, from, to, previous) : '/';
}

/**
 * In buf[start, end), the value of the first `name=value` pair among pairs separated by
 * `separator` (";" for cookies, "&" for queries), spaces around them ignored. A comma also ends
 * a cookie pair: some clients fold several Cookie fields into one with ", ".
 */
function pairValue(buf: Buffer, start: number, end: number, name: Buffer, separator: number, maxLength: number, previous: string | null, empty: '' | null): string | null {
  const nameLength = name.length;
  let i = start;
  while (i < end) {
    while (i < end && (buf[i] === SP || buf[i] === HTAB || buf[i] === separator)) i++;
    const pairStart = i;
    while (i < end && buf[i] !== separator && !(separator === SEMICOLON && buf[i] === COMMA)) i++;
    const pairEnd = i;
    if (pairEnd - pairStart > nameLength && buf[pairStart + nameLength] === EQUALS && bytesAt(buf, pairStart, name)) {
      const vs = pairStart + nameLength + 1;
      let ve = pairEnd;
      while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
      if (ve === vs) return empty;
      if (maxLength > 0 && ve - vs > maxLength) return null;
      return text(buf, vs, ve, previous);
    }
    if (i < end) i++;
  }
  return null;
}

/** Does buf hold `name` at `at`? A JS loop: names are short, and Buffer.compare is a native call. */
function bytesAt(buf: Buffer, at: number, name: Buffer): boolean {
  for (let i = 0; i < name.length; i++) if (buf[at + i] !== name[i]) return false;
  return true;
}

/** buf[start, end) as latin1 text: `previous` itself when it holds the same bytes. */
function text(buf: Buffer, start: number, end: number, previous: string | null): string {
  if (previous !== null && previous.length === end - start) {
    let i = 0;
    while (i < previous.length && previous.charCodeAt(i) === buf[start + i]) i++;
    if (i === previous.length) return previous;
  }
  return buf.toString('latin1', start, end);
}
