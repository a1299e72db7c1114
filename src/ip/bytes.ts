/**
 * IP addresses as bytes, for prefix matching: a parser that writes into a caller's buffer (no
 * allocation per query, unlike node:net's BlockList or a split('.')), CIDR parsing for the
 * config, and the common prefix length of two addresses.
 */
import type { ParseResult } from '../config/problem.ts';
/** 4 or 6. */
export type AddressFamily = 4 | 6;

export interface Cidr {
  family: AddressFamily;
  /** 4 or 16 bytes, host bits zero. */
  bytes: Uint8Array;
  prefixLength: number;
}

/**
 * Parse `text` into `out` (16 bytes): 4 for IPv4 (out[0..3]), 6 for IPv6 (out[0..15]), 0 when
 * invalid. An IPv4-mapped IPv6 address (::ffff:10.1.2.3, what a dual-stack socket reports for an
 * IPv4 client) gives 4, so one IPv4 table serves both kinds of socket. A zone id (%eth0) is ignored.
 */
export function parseIpInto(text: string, out: Uint8Array): 0 | AddressFamily {
  let end = text.indexOf('%');
  if (end === -1) end = text.length;
  if (text.indexOf(':') === -1) return parseIPv4(text, 0, end, out, 0) ? 4 : 0;
  if (!parseIPv6(text, end, out)) return 0;
  if (isMappedIPv4(out)) {
    out[0] = out[12]!;
    out[1] = out[13]!;
    out[2] = out[14]!;
    out[3] = out[15]!;
    return 4;
  }
  return 6;
}

/** "10.1.0.0/16", "2001:db8::/32"; a bare address is a /32 or /128. Host bits must be zero. */
export function parseCidr(text: string): ParseResult<Cidr> {
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const bytes = new Uint8Array(16);
  const family = parseIpInto(addressText, bytes);
  if (family === 0 || addressText.includes('%')) return { ok: false, message: `"${addressText}" is not an IPv4 or IPv6 address` };
  const max = family === 4 ? 32 : 128;
  const lengthText = slash === -1 ? String(max) : text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(lengthText) || Number(lengthText) > max) {
    return { ok: false, message: `prefix length "${lengthText}" in "${text}" is not a number from 0 to ${max}` };
  }
  const prefixLength = Number(lengthText);
  const value = bytes.slice(0, family === 4 ? 4 : 16);
  const masked = value.slice();
  maskBytes(masked, prefixLength);
  if (!equalBytes(value, masked)) {
    const network = formatBytes(family, masked);
    return { ok: false, message: `"${text}" has bits set after the first ${prefixLength}; the network is ${network}/${prefixLength}`, suggestion: `${network}/${prefixLength}` };
  }
  return { ok: true, value: { family, bytes: value, prefixLength } };
}

/** Zero every bit after the first `prefixLength` of `bytes` (in place). */
export function maskBytes(bytes: Uint8Array, prefixLength: number): void {
  for (let i = 0; i < bytes.length; i++) {
    const keep = prefixLength - i * 8;
    if (keep >= 8) continue;
    bytes[i] = keep <= 0 ? 0 : bytes[i]! & (0xff << (8 - keep));
  }
}

/** How many leading bits `a` and `b` share, up to `bits`. */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array, bits: number): number {
  const bytes = bits >> 3;
  for (let i = 0; i < bytes; i++) {
    const diff = a[i]! ^ b[i]!;
    if (diff !== 0) return i * 8 + Math.clz32(diff) - 24;
  }
  return bits;
}

/** Canonical text: dotted IPv4, or IPv6 as node's URL prints it. */
export function formatBytes(family: AddressFamily, bytes: Uint8Array): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isMappedIPv4(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function parseIPv4(text: string, start: number, end: number, out: Uint8Array, offset: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i <= end; i++) {
    const c = i === end ? 46 /* . */ : text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      // "010" is octal to some parsers and invalid to node:net: reject a leading zero, as it does.
      if (digits === 1 && value === 0) return false;
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return false;
      continue;
    }
    if (c !== 46 || digits === 0 || part === 4) return false;
    out[offset + part++] = value;
    value = 0;
    digits = 0;
  }
  return part === 4;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function parseIPv6(text: string, end: number, out: Uint8Array): boolean {
  let groups = 0;
  let gap = -1;
  let i = 0;
  if (end >= 2 && text.charCodeAt(0) === 58 && text.charCodeAt(1) === 58) {
    gap = 0;
    i = 2;
  }
  while (i < end) {
    let value = 0;
    let j = i;
    for (let h: number; j < end && (h = hexValue(text.charCodeAt(j))) !== -1; j++) value = value * 16 + h;
    if (j < end && text.charCodeAt(j) === 46) {
      // An IPv4 tail (::ffff:10.1.2.3) fills the last two groups.
      if (groups > 6 || !parseIPv4(text, i, end, out, groups * 2)) return false;
      groups += 2;
      break;
    }
    if (j === i || j - i > 4 || groups === 8) return false;
    out[groups * 2] = value >> 8;
    out[groups * 2 + 1] = value & 0xff;
    groups++;
    i = j;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && text.charCodeAt(i) === 58) {
      if (gap !== -1) return false;
      gap = groups;
      i++;
    } else if (i === end) {
      return false;
    }
  }
  if (gap === -1) return groups === 8;
  if (groups > 7) return false;
  // Move the groups after "::" to the end and zero the gap.
  const tail = (groups - gap) * 2;
  out.copyWithin(16 - tail, gap * 2, groups * 2);
  out.fill(0, gap * 2, 16 - tail);
  return true;
}
