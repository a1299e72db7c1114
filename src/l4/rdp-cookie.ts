/**
 * The first packet of a Remote Desktop connection, as far as a load balancer reads it: a TPKT
 * (RFC 1006 / T.123 section 8) holding an X.224 Connection Request TPDU (ISO 8073 section 13.3),
 * whose variable part may start with a routing token or a cookie line (MS-RDPBCGR 2.2.1.1):
 *
 *   03 00 LL LL            TPKT: version 3, reserved 0, length (big-endian, the whole packet)
 *   LI E0 00 00 00 00 00   X.224: length indicator, CR code (high nibble 0xE) and credit,
 *                          DST-REF, SRC-REF, class and options (class 0)
 *   Cookie: mstshash=USER\r\n      (the user name; mstsc sends at most 9 characters of it)
 *   or Cookie: msts=IP.PORT.0000\r\n  (a broker's routing token: the server holding the session)
 *   01 00 08 00 PP PP PP PP        optional RDP Negotiation Request (not read here)
 *
 * The cookie line is read as HAProxy's `req.rdp_cookie` reads it (src/payload.c): "Cookie:"
 * compared case-insensitively, spaces skipped, the name compared case-insensitively up to '=',
 * the value up to CRLF. This module also checks the framing, so that a TLS ClientHello or an
 * HTTP request on an RDP port is told apart at its first byte instead of waiting for more.
 */
import type { RealServer } from '../pool/real-server.ts';

export type RdpParse =
  | { kind: 'need-more' }
  /** The first bytes are not an RDP Connection Request as a client sends one (the listener may forward it keyed by the fallback, or close it). */
  | { kind: 'not-rdp'; reason: string }
  /** `cookie`: the mstshash value (the user name, as sent); `routingToken`: the msts value; null when absent or empty. */
  | { kind: 'request'; cookie: string | null; routingToken: string | null };

const TPKT_VERSION = 3;
const TPKT_HEADER = 4;
/** TPKT header, then the X.224 CR fixed part: LI, code, DST-REF (2), SRC-REF (2), class. */
const FIXED_PART = TPKT_HEADER + 7;
/** X.224 length indicator of a CR with no variable part: the 6 bytes after the LI itself. */
const MIN_LENGTH_INDICATOR = 6;
/** X.224 reserves LI 255 for an extension; a CR's LI is at most 254. */
const MAX_LENGTH_INDICATOR = 254;
const CONNECTION_REQUEST = 0xe0;

/**
 * The most bytes a TCP service waits for before it can choose a server: a whole Connection
 * Request, 4 (TPKT) + 1 (LI) + at most 254 bytes that the one-byte LI can count. The client
 * sends nothing more until the server's Connection Confirm, so a longer wait cannot be an RDP client.
 */
export const RDP_PEEK_LIMIT = TPKT_HEADER + 1 + MAX_LENGTH_INDICATOR;

const NEED_MORE: RdpParse = Object.freeze({ kind: 'need-more' });
const COOKIE_PREFIX = 'cookie:';
const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const EQUALS = 0x3d;
const DEL = 0x7f;

function notRdp(reason: string): RdpParse {
  return { kind: 'not-rdp', reason };
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

/**
 * Read the Connection Request at the start of `buf` (the bytes received so far). 'need-more'
 * until the whole TPKT has arrived; a verdict as soon as a byte rules RDP out. Bytes after the
 * TPKT are not read. Never throws.
 */
export function parseRdpConnectionRequest(buf: Buffer): RdpParse {
  const have = buf.length;
  if (have === 0) return NEED_MORE;
  if (buf[0] !== TPKT_VERSION) return notRdp(`not a TPKT: first byte ${hex(buf[0]!)}, an RDP client sends 0x03`);
  if (have < 2) return NEED_MORE;
  if (buf[1] !== 0) return notRdp(`not a TPKT: reserved byte ${hex(buf[1]!)}, expected 0x00`);
  if (have < TPKT_HEADER) return NEED_MORE;
  const length = buf.readUInt16BE(2);
  if (length < FIXED_PART) return notRdp(`TPKT length ${length} is shorter than an X.224 Connection Request (${FIXED_PART} bytes)`);
  if (length > RDP_PEEK_LIMIT) return notRdp(`TPKT length ${length} is longer than an X.224 Connection Request can be (${RDP_PEEK_LIMIT} bytes)`);
  if (have < TPKT_HEADER + 1) return NEED_MORE;
  const indicator = buf[TPKT_HEADER]!;
  if (indicator !== length - TPKT_HEADER - 1) return notRdp(`X.224 length indicator ${indicator} does not match the TPKT length ${length} (expected ${length - TPKT_HEADER - 1})`);
  if (have < TPKT_HEADER + 2) return NEED_MORE;
  const code = buf[TPKT_HEADER + 1]!;
  if ((code & 0xf0) !== CONNECTION_REQUEST) return notRdp(`X.224 TPDU code ${hex(code & 0xf0)} is not a Connection Request (0xe0)`);
  if (have < FIXED_PART) return NEED_MORE;
  // MS-RDPBCGR 3.3.5.3.1: a server drops a Connection Request that is not class 0.
  const classOption = buf[FIXED_PART - 1]!;
  if ((classOption & 0xf0) !== 0) return notRdp(`X.224 class ${classOption >> 4}, RDP uses class 0`);
  if (have < length) return NEED_MORE;
  return readVariablePart(buf, FIXED_PART, length);
}

/** The routing token or cookie at the start of the variable part [start, end), if any. */
function readVariablePart(buf: Buffer, start: number, end: number): RdpParse {
  if (end - start < COOKIE_PREFIX.length || !asciiEqualsIgnoreCase(buf, start, COOKIE_PREFIX)) {
    // No cookie line: a bare request, an RDP Negotiation Request, or another kind of routing
    // token (an RD Connection Broker's "tsv://..."), none of which names a user.
    return { kind: 'request', cookie: null, routingToken: null };
  }
  let i = start + COOKIE_PREFIX.length;
  while (i < end && buf[i] === SPACE) i++;
  const nameStart = i;
  while (i < end && buf[i] !== EQUALS) {
    if (isControl(buf[i]!)) return notRdp(`the cookie line has a control byte ${hex(buf[i]!)} before its '='`);
    i++;
  }
  if (i === end) return notRdp("the cookie line has no '='");
  const nameEnd = i++;
  const valueStart = i;
  while (i < end && buf[i] !== CR) {
    if (isControl(buf[i]!)) return notRdp(`the cookie value has a control byte ${hex(buf[i]!)}`);
    i++;
  }
  if (i + 1 >= end || buf[i + 1] !== LF) return notRdp('the cookie line does not end with CRLF inside the Connection Request');
  // latin1: mstsc sends the user name in the client's ANSI code page; one byte, one character,
  // so the same bytes always make the same key.
  const value = i === valueStart ? null : buf.toString('latin1', valueStart, i);
  const nameLength = nameEnd - nameStart;
  if (nameLength === 8 && asciiEqualsIgnoreCase(buf, nameStart, 'mstshash')) return { kind: 'request', cookie: value, routingToken: null };
  if (nameLength === 4 && asciiEqualsIgnoreCase(buf, nameStart, 'msts')) return { kind: 'request', cookie: null, routingToken: value };
  return { kind: 'request', cookie: null, routingToken: null };
}

function isControl(byte: number): boolean {
  return byte < SPACE || byte === DEL;
}

/** Does `buf` hold `lower` (lowercase ASCII letters and punctuation) at `at`, in any case? */
function asciiEqualsIgnoreCase(buf: Buffer, at: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k++) {
    const byte = buf[at + k]!;
    // A-Z to a-z (bit 0x20); `lower` is lowercase already.
    const folded = byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
    if (folded !== lower.charCodeAt(k)) return false;
  }
  return true;
}

// ---- routing tokens (a session broker's redirect) ------------------------------------------

export interface RoutingTarget {
  /** IPv4 address, dotted. */
  address: string;
  port: number;
}

const ROUTING_TOKEN = /^(\d{1,10})\.(\d{1,5})\.\d*$/;

/**
 * The server an msts routing token names: "IP.PORT.RESERVED", where IP is the IPv4 address's
 * four bytes in network order read as a little-endian uint32, and PORT the port's two bytes in
 * network order read as a little-endian uint16, both in decimal (MSFT-SDLBTS "Routing Token
 * Format"; HAProxy's tcp_persist_rdp_cookie compares the first to sin_addr.s_addr and the second,
 * through ntohs, to the port). So 192.168.0.89:3389 is "1493215424.15629.0000". null when the
 * token is not of that form.
 */
export function decodeRoutingToken(token: string): RoutingTarget | null {
  const match = ROUTING_TOKEN.exec(token);
  if (match === null) return null;
  const ip = Number(match[1]);
  const swappedPort = Number(match[2]);
  if (ip > 0xffff_ffff || swappedPort > 0xffff) return null;
  const port = ((swappedPort & 0xff) << 8) | (swappedPort >> 8);
  if (port === 0) return null;
  const address = `${ip & 0xff}.${(ip >>> 8) & 0xff}.${(ip >>> 16) & 0xff}.${ip >>> 24}`;
  return { address, port };
}

/** The routing token for an IPv4 address and port, as a broker writes it (the inverse of decodeRoutingToken). */
export function encodeRoutingToken(address: string, port: number): string {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) throw new RangeError(`${address} is not an IPv4 address`);
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) throw new RangeError(`${port} is not a TCP port`);
  const ip = (octets[0]! + octets[1]! * 0x100 + octets[2]! * 0x1_0000 + octets[3]! * 0x100_0000) >>> 0;
  const swappedPort = ((port & 0xff) << 8) | (port >> 8);
  return `${ip}.${swappedPort}.0000`;
}

/**
 * The configured real server a routing token sends the client to, when it may take the client:
 * up (health and agent), not disabled and not ejected. A draining server qualifies, since the
 * broker redirects a user to the session already open there (HAProxy: any server not stopped).
 * null when the token names no configured server, or one that may not serve: the connection is
 * then placed by persistence (the cookie, or the fallback) like any other.
 */
export function redirectTarget(token: string, servers: readonly RealServer[]): RealServer | null {
  const target = decodeRoutingToken(token);
  if (target === null) return null;
  for (const server of servers) {
    if (server.port === target.port && server.host === target.address) {
      return server.up && server.state !== 'disabled' && server.ejectedUntil === 0 ? server : null;
    }
  }
  return null;
}
