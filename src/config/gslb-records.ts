/**
 * The static records of a gslb zone: their value, written in zone-file syntax, parsed at load
 * into the fields the DNS engine encodes, so that a bad value is an error at its line and never
 * a malformed answer.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { parseZoneFileName } from './gslb-names.ts';
import { quotedString, quotedStrings, splitCharacterString } from './gslb-text.ts';
import type { ParseResult } from './problem.ts';

export const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'NS', 'MX', 'TXT', 'SRV', 'CAA', 'PTR'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** The parsed value of each record type; names are absolute, lower case, without the final dot ("" is the root). */
export interface RecordDataByType {
  A: { address: string };
  /** Canonical (RFC 5952) text. */
  AAAA: { address: string };
  CNAME: { target: string };
  NS: { host: string };
  /** exchange "" is the null MX of RFC 7505 ("0 ."). */
  MX: { preference: number; exchange: string };
  /** Character-strings of at most 255 bytes (UTF-8) each; a longer value is split on character boundaries. */
  TXT: { strings: string[] };
  /** target "" means "no such service here" (RFC 2782). */
  SRV: { priority: number; weight: number; port: number; target: string };
  /** tag in lower case; value as text, sent as UTF-8 (see gslb-text.ts). */
  CAA: { flags: number; tag: string; value: string };
  PTR: { target: string };
}

export type RecordData = RecordDataByType[RecordType];

/** A zone record as the engine reads it: `value` is the text as written (for the API and logs), `data` its parse. */
export type ZoneRecord = {
  [T in RecordType]: { name: string; type: T; ttl: number; value: string; data: RecordDataByType[T] };
}[RecordType];

/** RDLENGTH is 16 bits. */
const MAX_RDATA = 65_535;

/** Parse `text` as the value of a `type` record in `zone`. */
export function parseRecordValue(type: RecordType, text: string, zone: string): ParseResult<RecordData> {
  const value = text.trim();
  switch (type) {
    case 'A':
      if (isIPv4(value)) return { ok: true, value: { address: value } };
      return fail(isIPv6(value) ? `${JSON.stringify(text)} is an IPv6 address; an A record holds IPv4, use type AAAA` : `${JSON.stringify(text)} is not an IPv4 address`);
    case 'AAAA':
      if (isIPv6(value) && !value.includes('%')) return { ok: true, value: { address: canonicalIPv6(value) } };
      return fail(isIPv4(value) ? `${JSON.stringify(text)} is an IPv4 address; an AAAA record holds IPv6, use type A` : `${JSON.stringify(text)} is not an IPv6 address`);
    case 'CNAME':
    case 'PTR':
      return map(oneName(value, zone, type), (target) => ({ target }));
    case 'NS':
      return map(oneName(value, zone, type), (host) => ({ host }));
    case 'MX':
      return parseMx(value, zone);
    case 'SRV':
      return parseSrv(value, zone);
    case 'TXT':
      return parseTxt(value);
    case 'CAA':
      return parseCaa(value);
  }
}

function oneName(value: string, zone: string, type: RecordType): ParseResult<string> {
  if (/\s/.test(value) || value === '') return fail(`${JSON.stringify(value)} is not a name; a ${type} record holds one domain name, e.g. www.example.com.`);
  return parseZoneFileName(value, zone);
}

function parseMx(value: string, zone: string): ParseResult<RecordData> {
  const parts = value.split(/\s+/);
  if (parts.length !== 2) return fail(`${JSON.stringify(value)} is not an MX value; write PREFERENCE NAME, e.g. "10 mail.example.com."`);
  const preference = uint16(parts[0]!, 'preference');
  if (!preference.ok) return preference;
  return map(parseZoneFileName(parts[1]!, zone, { root: true }), (exchange) => ({ preference: preference.value, exchange }));
}

function parseSrv(value: string, zone: string): ParseResult<RecordData> {
  const parts = value.split(/\s+/);
  if (parts.length !== 4) return fail(`${JSON.stringify(value)} is not an SRV value; write PRIORITY WEIGHT PORT TARGET, e.g. "0 5 5060 sip.example.com."`);
  const numbers: number[] = [];
  for (const [index, what] of (['priority', 'weight', 'port'] as const).entries()) {
    const number = uint16(parts[index]!, what);
    if (!number.ok) return number;
    numbers.push(number.value);
  }
  const [priority, weight, port] = numbers as [number, number, number];
  return map(parseZoneFileName(parts[3]!, zone, { root: true }), (target) => ({ priority, weight, port, target }));
}

/**
 * TXT as in a zone file: one or more quoted strings ("a" "b", with \", \\ and \DDD escapes, see
 * gslb-text.ts), or plain text, which is one string taken as written (";" and "\" included).
 * Strings longer than 255 bytes are split into several, as SPF and DKIM records need (RFC 7208
 * 3.3: the reader joins them).
 */
function parseTxt(value: string): ParseResult<RecordData> {
  const pieces = value.startsWith('"') ? quotedStrings(value) : { ok: true as const, value: [value] };
  if (!pieces.ok) return pieces;
  const strings = pieces.value.flatMap(splitCharacterString);
  const size = strings.reduce((total, s) => total + 1 + Buffer.byteLength(s), 0);
  if (size > MAX_RDATA) return fail(`the TXT value is ${size} bytes on the wire; the most a record holds is ${MAX_RDATA}`);
  return { ok: true, value: { strings } };
}

/**
 * RFC 8659: FLAGS TAG VALUE, e.g. 0 issue "letsencrypt.org". The value is one quoted string
 * (escapes as in TXT) or plain text to the end; the tag is sent in lower case.
 */
function parseCaa(value: string): ParseResult<RecordData> {
  const match = /^([0-9]{1,3})\s+([A-Za-z0-9]{1,15})\s+(.*)$/s.exec(value);
  if (match === null) return fail(`${JSON.stringify(value)} is not a CAA value; write FLAGS TAG VALUE, e.g. 0 issue "letsencrypt.org"`);
  const flags = Number(match[1]);
  if (flags > 255) return fail(`CAA flags ${flags} is above 255`);
  const raw = match[3]!;
  const text = raw.startsWith('"') ? quotedString(raw) : { ok: true as const, value: raw };
  if (!text.ok) return text;
  const tag = match[2]!.toLowerCase();
  // FLAGS, the tag's length byte, the tag, then the value.
  const size = 2 + tag.length + Buffer.byteLength(text.value);
  if (size > MAX_RDATA) return fail(`the CAA value is ${size} bytes on the wire; the most a record holds is ${MAX_RDATA}`);
  return { ok: true, value: { flags, tag, value: text.value } };
}

function uint16(text: string, what: string): ParseResult<number> {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65_535) return fail(`${what} ${JSON.stringify(text)} is not a number 0..65535`);
  return { ok: true, value: Number(text) };
}

/** The RDATA bytes of `record` written without compression. */
export function rdataLength(record: ZoneRecord): number {
  switch (record.type) {
    case 'A':
      return 4;
    case 'AAAA':
      return 16;
    case 'CNAME':
    case 'PTR':
      return nameLength(record.data.target);
    case 'NS':
      return nameLength(record.data.host);
    case 'MX':
      return 2 + nameLength(record.data.exchange);
    case 'SRV':
      return 6 + nameLength(record.data.target);
    case 'TXT':
      return record.data.strings.reduce((total, s) => total + 1 + Buffer.byteLength(s), 0);
    case 'CAA':
      return 2 + record.data.tag.length + Buffer.byteLength(record.data.value);
  }
}

/** A config name (no final dot, no escapes) on the wire: a length byte per label and the root's 0. */
function nameLength(name: string): number {
  return name === '' ? 1 : name.length + 2;
}

/** 2001:DB8:0::1 and 2001:db8::1 are one address; keep one spelling so duplicates are found. */
export function canonicalIPv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

function map<T, U>(result: ParseResult<T>, f: (value: T) => U): ParseResult<U> {
  return result.ok ? { ok: true, value: f(result.value) } : result;
}

function fail<T>(message: string, suggestion?: string): ParseResult<T> {
  return suggestion === undefined ? { ok: false, message } : { ok: false, message, suggestion };
}
