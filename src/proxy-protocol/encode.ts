/**
 * PROXY protocol headers to send ahead of a connection to a real server, byte for byte as HAProxy's
 * send-proxy / send-proxy-v2 write them (no TLVs). Both ends IPv4 (Node's "::ffff:1.2.3.4" counts
 * as IPv4): TCP4 / AF_INET. Otherwise TCP6 / AF_INET6, an IPv4 end written IPv4-mapped. An end
 * that is not an IP address and port (a socket already closed) makes "PROXY UNKNOWN" in v1 and a
 * PROXY command with AF_UNSPEC in v2: the real server then uses the connection's own addresses.
 */
import { V2_SIGNATURE } from './parse.ts';
import { formatIPv4, formatIPv6, writeIPv4, writeIPv6 } from './ip.ts';
import type { ProxyEndpoint } from './types.ts';

/** What encodeProxyHeader reads from a socket; a net.Socket is one. */
export interface SocketEndpoints {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
}

const V1_UNKNOWN = 'PROXY UNKNOWN\r\n';
/** version 2 (high nibble), command PROXY (low nibble) */
const V2_PROXY = 0x21;
const V2_FAMILY_INET = 0x10;
const V2_FAMILY_INET6 = 0x20;
const V2_TRANSPORT = { stream: 0x01, dgram: 0x02 } as const;

/** Two endpoints as IPv6 bytes (IPv4 mapped), ports, and whether both are IPv4. */
interface Pair {
  readonly bytes: Uint8Array; // source 0..15, destination 16..31
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly ipv4: boolean;
}

/** Writes `address` at out[at] as 16 bytes, IPv4 as ::ffff:a.b.c.d; false when it is not an IP address. */
function writeAddress(address: string, out: Uint8Array, at: number): boolean {
  const zone = address.indexOf('%');
  const text = zone < 0 ? address : address.slice(0, zone); // a link-local scope means nothing to the peer
  if (writeIPv4(text, out, at + 12)) {
    out.fill(0, at, at + 10);
    out[at + 10] = 0xff;
    out[at + 11] = 0xff;
    return true;
  }
  return writeIPv6(text, out, at);
}

function isMappedIPv4(bytes: Uint8Array, at: number): boolean {
  for (let i = at; i < at + 10; i++) if (bytes[i] !== 0) return false;
  return bytes[at + 10] === 0xff && bytes[at + 11] === 0xff;
}

function isPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65535;
}

function pair(source: ProxyEndpoint | null, destination: ProxyEndpoint | null): Pair | null {
  if (source === null || destination === null || !isPort(source.port) || !isPort(destination.port)) return null;
  if (typeof source.address !== 'string' || typeof destination.address !== 'string') return null;
  const bytes = new Uint8Array(32);
  if (!writeAddress(source.address, bytes, 0) || !writeAddress(destination.address, bytes, 16)) return null;
  return { bytes, sourcePort: source.port, destinationPort: destination.port, ipv4: isMappedIPv4(bytes, 0) && isMappedIPv4(bytes, 16) };
}

/** "PROXY TCP4 src dst sport dport\r\n" (or TCP6, or UNKNOWN). */
export function encodeProxyV1(source: ProxyEndpoint | null, destination: ProxyEndpoint | null): Buffer {
  const p = pair(source, destination);
  if (p === null) return Buffer.from(V1_UNKNOWN, 'latin1');
  const line = p.ipv4
    ? `PROXY TCP4 ${formatIPv4(p.bytes, 12)} ${formatIPv4(p.bytes, 28)} ${p.sourcePort} ${p.destinationPort}\r\n`
    : `PROXY TCP6 ${formatIPv6(p.bytes, 0)} ${formatIPv6(p.bytes, 16)} ${p.sourcePort} ${p.destinationPort}\r\n`;
  return Buffer.from(line, 'latin1');
}

/** The 16-byte v2 header and its address block: 28 bytes for IPv4, 52 for IPv6, 16 when unknown. */
export function encodeProxyV2(source: ProxyEndpoint | null, destination: ProxyEndpoint | null, transport: 'stream' | 'dgram' = 'stream'): Buffer {
  const p = pair(source, destination);
  const addressLength = p === null ? 0 : p.ipv4 ? 12 : 36;
  const out = Buffer.alloc(16 + addressLength);
  V2_SIGNATURE.copy(out, 0);
  out[12] = V2_PROXY;
  out.writeUInt16BE(addressLength, 14);
  if (p === null) return out; // family and transport 0x00: AF_UNSPEC
  out[13] = (p.ipv4 ? V2_FAMILY_INET : V2_FAMILY_INET6) | V2_TRANSPORT[transport];
  if (p.ipv4) {
    out.set(p.bytes.subarray(12, 16), 16);
    out.set(p.bytes.subarray(28, 32), 20);
    out.writeUInt16BE(p.sourcePort, 24);
    out.writeUInt16BE(p.destinationPort, 26);
  } else {
    out.set(p.bytes, 16);
    out.writeUInt16BE(p.sourcePort, 48);
    out.writeUInt16BE(p.destinationPort, 50);
  }
  return out;
}

/**
 * The header for a connection to a real server made on behalf of the client on `socket`: the
 * client's endpoint (`clientOverride`, e.g. from a PROXY header the client's connection came
 * with, else the socket's peer) and the address it connected to (the socket's local end).
 */
export function encodeProxyHeader(version: 'v1' | 'v2', socket: SocketEndpoints, clientOverride: ProxyEndpoint | null = null): Buffer {
  const source = clientOverride ?? endpointOf(socket.remoteAddress, socket.remotePort);
  const destination = endpointOf(socket.localAddress, socket.localPort);
  return version === 'v1' ? encodeProxyV1(source, destination) : encodeProxyV2(source, destination);
}

function endpointOf(address: string | undefined, port: number | undefined): ProxyEndpoint | null {
  return address === undefined || port === undefined ? null : { address, port };
}
