import { isIPv4, isIPv6 } from 'node:net';

/**
 * The source-ip persistence key of a client address: the address with the host bits beyond the
 * prefix cleared, e.g. 10.1.2.3 with mask 24 → "10.1.2.0/24". A full-length mask keeps the address
 * as Node reports it (no allocation); ClientConnection has already turned "::ffff:a.b.c.d" into
 * a.b.c.d, so an IPv4 client keys the same on a dual-stack listener.
 *
 * Called once per client connection, not per request (PersistSlot caches the result).
 */
export function sourceKey(address: string, mask4: number, mask6: number): string {
  if (isIPv4(address)) return mask4 >= 32 ? address : maskV4(address, mask4);
  if (isIPv6(address)) return mask6 >= 128 ? address : maskV6(address, mask6);
  return address; // not an IP address (a Unix socket path, or empty): key on it as it is
}

function maskV4(address: string, mask: number): string {
  const parts = address.split('.');
  let value = 0;
  for (const part of parts) value = value * 256 + Number(part);
  const bits = mask <= 0 ? 0 : mask >= 32 ? 0xffffffff : (0xffffffff << (32 - mask)) >>> 0;
  const masked = (value & bits) >>> 0;
  return `${masked >>> 24}.${(masked >>> 16) & 255}.${(masked >>> 8) & 255}.${masked & 255}/${mask}`;
}

function maskV6(address: string, mask: number): string {
  const groups = expandV6(address);
  let remaining = mask;
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, remaining));
    groups[i] = keep === 0 ? 0 : groups[i]! & ((0xffff << (16 - keep)) & 0xffff);
    remaining -= 16;
  }
  return `${groups.map((g) => g.toString(16)).join(':')}/${mask}`;
}

/** The eight 16-bit groups of a valid IPv6 address (with "::" and an embedded IPv4 tail). */
function expandV6(address: string): number[] {
  const zone = address.indexOf('%');
  let text = zone < 0 ? address : address.slice(0, zone);
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // ::ffff:10.0.0.1 → ::ffff:a00:1
    const [a = 0, b = 0, c = 0, d = 0] = text.slice(lastColon + 1).split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left = '', right] = text.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const head = parse(left);
  const rest = right === undefined ? [] : parse(right);
  const zeros = 8 - head.length - rest.length;
  return [...head, ...new Array<number>(Math.max(0, zeros)).fill(0), ...rest];
}
