/**
 * Names read from an X509Certificate's printed fields: the DNS names it covers, and its subject
 * and issuer on one line for messages.
 *
 * Node prints subjectAltName as `DNS:a, DNS:b, IP Address:1.2.3.4` and a distinguished name as
 * one `KEY=value` per line; since Node 17.3.1 (CVE-2021-44532) a value holding a comma, quote or
 * other special character is printed as a JSON string, so only a quoted value can hold ", ".
 */
import type { X509Certificate } from 'node:crypto';

const SAN_ENTRY = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;

/** SAN DNS names, lowercased; the subject CN only when the certificate has no SAN DNS name. */
export function certificateNames(x509: X509Certificate): string[] {
  const dns = sanDnsNames(x509.subjectAltName ?? '');
  const names = dns.length > 0 ? dns : commonNames(x509.subject);
  return [...new Set(names.map((n) => n.toLowerCase()))];
}

function sanDnsNames(san: string): string[] {
  const names: string[] = [];
  for (const [, type, value] of san.matchAll(SAN_ENTRY)) {
    if (type === 'DNS' && value !== undefined) names.push(unquote(value));
  }
  return names;
}

function commonNames(dn: string): string[] {
  return dn
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .map((line) => unquote(line.slice(3)));
}

function unquote(value: string): string {
  return value.startsWith('"') ? (JSON.parse(value) as string) : value;
}

/** `O=Fulcrum Test, CN=Fulcrum Test Intermediate CA`: a distinguished name on one line. */
export function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}

/** How messages name a certificate: its first name, or its subject when it has none. */
export function displayName(names: readonly string[], subject: string): string {
  if (names.length === 0) return `'${oneLine(subject)}'`;
  const more = names.length - 1;
  return more === 0 ? names[0]! : `${names[0]} (and ${more} more name${more === 1 ? '' : 's'})`;
}
