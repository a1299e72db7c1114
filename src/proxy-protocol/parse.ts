/**
 * The PROXY protocol header at the start of a connection (HAProxy's proxy-protocol.txt), v1 text
 * or v2 binary, read incrementally: call it with everything received so far. It says 'error' as
 * soon as the bytes can no longer become a valid header (the spec asks to abort early so the
 * sender notices), so an HTTP request sent to a PROXY listener fails at its first byte instead of
 * waiting for a timeout. It never throws.
 */
import { formatIPv4, formatIPv6, normalizeIPv6, writeIPv4 } from './ip.ts';
import type { ProxyEndpoint, ProxyHeader, ProxyParse } from './types.ts';

export type { ProxyEndpoint, ProxyHeader, ProxyParse } from './types.ts';

/** "PROXY " */
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** "PROXY UNKNOWN <39> <39> 65535 65535\r\n": the longest v1 line the spec allows, CRLF included. */
export const V1_MAX_LENGTH = 107;
/** Signature, version/command, family/transport, 16-bit length. */
const V2_FIXED = 16;
/** Bytes of the address block per v2 family (AF_UNSPEC, AF_INET, AF_INET6, AF_UNIX). */
const V2_ADDRESS_LENGTH = [0, 12, 36, 216] as const;
const V2_FAMILY_NAME = ['AF_UNSPEC', 'IPv4', 'IPv6', 'AF_UNIX'] as const;
const V2_TRANSPORT = ['unspec', 'stream', 'dgram'] as const;
/** How much of an unrecognised start goes into the error, quoted. */
const SHOWN_BYTES = 5;

const NEED_MORE: ProxyParse = Object.freeze({ kind: 'need-more' });

function error(reason: string): ProxyParse {
  return { kind: 'error', reason };
}

export function parseProxyHeader(buf: Buffer): ProxyParse {
  if (buf.length === 0) return NEED_MORE;
  const signature = buf[0] === 0x50 ? V1_PREFIX : buf[0] === 0x0d ? V2_SIGNATURE : null;
  const compare = signature === null ? 0 : Math.min(buf.length, signature.length);
  if (signature === null || buf.compare(signature, 0, compare, 0, compare) !== 0) {
    return error(`not a PROXY protocol header: starts with ${JSON.stringify(buf.toString('latin1', 0, Math.min(buf.length, SHOWN_BYTES)))}`);
  }
  if (buf.length <= signature.length) return NEED_MORE;
  return signature === V1_PREFIX ? parseV1(buf) : parseV2(buf);
}

// ---- v1: one line of text ------------------------------------------------------------------

const CR = 0x0d;
const LF = 0x0a;

function parseV1(buf: Buffer): ProxyParse {
  const limit = Math.min(buf.length, V1_MAX_LENGTH);
  let cr = -1;
  for (let i = V1_PREFIX.length; i < limit; i++) {
    const c = buf[i];
    if (c === LF) return error('PROXY v1 header with a bare LF (lines end in CRLF)');
    if (c === CR) {
      cr = i;
      break;
    }
  }
  if (cr < 0) {
    if (buf.length >= V1_MAX_LENGTH) return error(`PROXY v1 header longer than ${V1_MAX_LENGTH} bytes (no CRLF)`);
    const partial = checkV1Line(buf.toString('latin1', V1_PREFIX.length, buf.length), false);
    return partial === null ? NEED_MORE : error(partial);
  }
  if (cr + 2 > V1_MAX_LENGTH) return error(`PROXY v1 header longer than ${V1_MAX_LENGTH} bytes`);
  if (cr + 1 === buf.length) {
    // The CR is there, its LF not yet: judge the line now, the LF cannot make it valid.
    const partial = checkV1Line(buf.toString('latin1', V1_PREFIX.length, cr), true);
    return partial === null ? NEED_MORE : error(partial);
  }
  if (buf[cr + 1] !== LF) return error('PROXY v1 header with a bare CR (lines end in CRLF)');
  const line = buf.toString('latin1', V1_PREFIX.length, cr);
  const problem = checkV1Line(line, true);
  if (problem !== null) return error(problem);
  return { kind: 'ok', length: cr + 2, header: v1Header(line) };
}

const V1_PROTOCOLS = ['TCP4', 'TCP6', 'UNKNOWN'] as const;
/** Longest text of each field after the protocol: IPv4 15, IPv6 45 (with a dotted tail), port 5. */
const V1_FIELD_MAX = [0, 45, 45, 5, 5] as const;
const V1_FIELD_NAME = ['protocol', 'source address', 'destination address', 'source port', 'destination port'] as const;

/**
 * What is wrong with the line after "PROXY " (CRLF excluded), or null. A line not `complete` yet
 * is judged as far as it goes: its last field may still grow.
 */
function checkV1Line(line: string, complete: boolean): string | null {
  const fields = line.split(' ');
  const protocol = fields[0]!;
  if (!complete && fields.length === 1) {
    return V1_PROTOCOLS.some((p) => p.startsWith(protocol)) ? null : `PROXY v1 header with an unknown protocol ${quote(protocol)}`;
  }
  // UNKNOWN: the receiver ignores whatever follows, up to the CRLF.
  if (protocol === 'UNKNOWN') return null;
  if (protocol !== 'TCP4' && protocol !== 'TCP6') return `PROXY v1 header with an unknown protocol ${quote(protocol)} (TCP4, TCP6 or UNKNOWN)`;
  for (let f = 1; f < fields.length && f < 5; f++) {
    const text = fields[f]!;
    const last = !complete && f === fields.length - 1;
    const problem = last ? checkPartialField(protocol, f, text) : checkField(protocol, f, text);
    if (problem) return `PROXY v1 header with an invalid ${V1_FIELD_NAME[f]} ${quote(text)}${problem === true ? '' : `: ${problem}`}`;
  }
  if (fields.length > 5) return 'PROXY v1 header with too many fields (or a trailing space)';
  if (complete && fields.length < 5) return `PROXY v1 header with ${fields.length - 1} of 4 fields after ${protocol}`;
  return null;
}

const v4Check = new Uint8Array(4);

/** true or a detail when the complete field is invalid; false when it is fine. */
function checkField(protocol: 'TCP4' | 'TCP6', f: number, text: string): boolean | string {
  if (text === '') return 'empty (one space between fields)';
  if (f >= 3) return checkPort(text);
  if (protocol === 'TCP4') return writeIPv4(text, v4Check, 0) ? false : 'not an IPv4 address';
  return isV6Text(text) && normalizeIPv6(text) !== null ? false : 'not an IPv6 address';
}

/** The field being received: only what can no longer become valid. */
function checkPartialField(protocol: 'TCP4' | 'TCP6', f: number, text: string): boolean | string {
  if (text.length > V1_FIELD_MAX[f]!) return 'too long';
  if (f >= 3) return text === '' ? false : checkPortPrefix(text);
  const ok = protocol === 'TCP4' ? /^[0-9.]*$/.test(text) && text.length <= 15 : isV6Text(text);
  return ok ? false : `not an ${protocol === 'TCP4' ? 'IPv4' : 'IPv6'} address`;
}

function isV6Text(text: string): boolean {
  return /^[0-9A-Fa-f:.]*$/.test(text);
}

function checkPort(text: string): boolean | string {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return 'a port is 0-65535 in decimal, without leading zeros';
  return Number(text) > 65535 ? 'a port is 0-65535' : false;
}

function checkPortPrefix(text: string): boolean | string {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text)) return 'a port is 0-65535 in decimal, without leading zeros';
  return text.length === 5 && Number(text) > 65535 ? 'a port is 0-65535' : false;
}

/** A line checkV1Line accepted as complete. */
function v1Header(line: string): ProxyHeader {
  const fields = line.split(' ');
  if (fields[0] === 'UNKNOWN') return { version: 1, command: 'proxy', transport: 'unspec', source: null, destination: null };
  const v6 = fields[0] === 'TCP6';
  const address = (text: string): string => (v6 ? normalizeIPv6(text)! : text);
  return {
    version: 1,
    command: 'proxy',
    transport: 'stream',
    source: { address: address(fields[1]!), port: Number(fields[3]) },
    destination: { address: address(fields[2]!), port: Number(fields[4]) },
  };
}

function quote(text: string): string {
  return JSON.stringify(text.length > 48 ? `${text.slice(0, 48)}...` : text);
}

// ---- v2: binary ----------------------------------------------------------------------------

function parseV2(buf: Buffer): ProxyParse {
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return error(`PROXY v2 header with an unsupported version ${verCmd >> 4} (byte 0x${hexByte(verCmd)})`);
  const command = verCmd & 0x0f;
  if (command > 1) return error(`PROXY v2 header with an unsupported command 0x${command.toString(16)} (LOCAL 0x0 or PROXY 0x1)`);
  if (buf.length < 14) return NEED_MORE;
  const famByte = buf[13]!;
  const family = famByte >> 4;
  const transport = famByte & 0x0f;
  if (family > 3) return error(`PROXY v2 header with an unsupported address family 0x${hexByte(famByte)}`);
  if (transport > 2) return error(`PROXY v2 header with an unsupported transport protocol 0x${hexByte(famByte)}`);
  if (buf.length < V2_FIXED) return NEED_MORE;
  const length = buf.readUInt16BE(14);
  const total = V2_FIXED + length;
  const isProxy = command === 1;
  // LOCAL: the spec says to ignore the address block entirely, whatever the family claims.
  const addressLength = isProxy ? V2_ADDRESS_LENGTH[family as 0 | 1 | 2 | 3] : 0;
  if (length < addressLength) {
    return error(`PROXY v2 header too short for its addresses: length ${length}, ${V2_FAMILY_NAME[family as 1 | 2 | 3]} needs ${addressLength}`);
  }
  if (buf.length < total) return NEED_MORE;
  // TLVs follow a known address block; after AF_UNSPEC or LOCAL the block is opaque, so skipped whole.
  if (isProxy && family !== 0) {
    const bad = checkTlvs(buf, V2_FIXED + addressLength, total);
    if (bad >= 0) return error(`PROXY v2 header with a TLV that overruns the header at offset ${bad}`);
  }
  const header: ProxyHeader = {
    version: 2,
    command: isProxy ? 'proxy' : 'local',
    transport: V2_TRANSPORT[transport as 0 | 1 | 2],
    source: null,
    destination: null,
  };
  if (isProxy && (family === 1 || family === 2)) {
    const a = V2_FIXED;
    const size = family === 1 ? 4 : 16;
    const format = family === 1 ? formatIPv4 : formatIPv6;
    const ports = a + 2 * size;
    header.source = endpoint(format(buf, a), buf.readUInt16BE(ports));
    header.destination = endpoint(format(buf, a + size), buf.readUInt16BE(ports + 2));
  }
  return { kind: 'ok', length: total, header };
}

function endpoint(address: string, port: number): ProxyEndpoint {
  return { address, port };
}

/** Offset of the first TLV that does not fit in [from, end), or -1 when they all fit exactly. */
function checkTlvs(buf: Buffer, from: number, end: number): number {
  let at = from;
  while (at < end) {
    // type (1), length (2, big endian), value
    if (at + 3 > end || at + 3 + buf.readUInt16BE(at + 1) > end) return at;
    at += 3 + buf.readUInt16BE(at + 1);
  }
  return -1;
}

function hexByte(b: number): string {
  return b.toString(16).padStart(2, '0');
}
