/**
 * DnsRecord values from text, parsed once when a zone or a site set is loaded, so that the
 * writer only copies bytes. Names lose a trailing dot (the writer's form); they keep their case.
 */
import { formatIPv4, formatIPv6, writeIPv4, writeIPv6 } from '../proxy-protocol/ip.ts';
import type { ParsedQuery } from './query.ts';
import { EcsFamily, type DnsRecord } from './types.ts';

export function dnsName(text: string): string {
  return text.endsWith('.') ? text.slice(0, -1) : text;
}

/** An A record, or an AAAA record for an IPv6 address; null when `address` is neither. */
export function addressRecord(name: string, ttl: number, address: string): DnsRecord | null {
  const v4 = new Uint8Array(4);
  if (writeIPv4(address, v4, 0)) return { type: 'A', name: dnsName(name), ttl, address: v4 };
  const v6 = new Uint8Array(16);
  if (writeIPv6(address, v6, 0)) return { type: 'AAAA', name: dnsName(name), ttl, address: v6 };
  return null;
}

/** TXT: each string becomes one or more 255-byte character-strings, UTF-8 encoded. */
export function txtRecord(name: string, ttl: number, strings: readonly string[]): DnsRecord {
  return { type: 'TXT', name: dnsName(name), ttl, strings: strings.map((s) => Buffer.from(s, 'utf8')) };
}

/** CAA (RFC 8659): tag and value as UTF-8 bytes; the config allows only ASCII letters and digits in the tag. */
export function caaRecord(name: string, ttl: number, flags: number, tag: string, value: string): DnsRecord {
  return { type: 'CAA', name: dnsName(name), ttl, flags, tag: Buffer.from(tag, 'utf8'), value: Buffer.from(value, 'utf8') };
}

/** The query's ECS address as text ("192.0.2.0", "2001:db8::"), or null without ECS. */
export function ecsAddressText(q: ParsedQuery): string | null {
  if (!q.hasEcs) return null;
  return q.ecsFamily === EcsFamily.IPV4 ? formatIPv4(q.ecsAddress, 0) : formatIPv6(q.ecsAddress, 0);
}
