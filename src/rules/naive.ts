/**
 * A direct interpreter of rule matches: every condition evaluated as written, rule after rule.
 * It is the oracle the compiled matcher (match-compile.ts) is tested against, and the reference
 * for what each condition means; it favours obviousness over speed (regexes are looked up in a
 * cache, CIDRs parsed on each use).
 */
import { parseCidr } from '../ip/bytes.ts';
import type { ClientCertificate } from '../tls/client-certificate.ts';
import { conjunctPathRegex, type ClientCertificateCondition, type FieldCondition, type HostCondition, type MatchConfig, type PathCondition } from '../config/rule-match.ts';
import { MAX_CAPTURES } from './captures.ts';
import type { Captures, MatchInput } from './types.ts';

/** The index of the first match that holds for `input`, or -1; fills `captures` as the compiled matcher does. */
export function naiveMatch(matches: readonly MatchConfig[], input: MatchInput, captures: Captures): number {
  captures.count = 0;
  for (let i = 0; i < matches.length; i++) {
    if (!naiveHolds(matches[i]!, input)) continue;
    const source = conjunctPathRegex(matches[i]!);
    if (source !== null) {
      const found = cachedRegex(source).exec(input.path)!;
      captures.count = Math.min(found.length - 1, MAX_CAPTURES);
      for (let g = 0; g < captures.count; g++) captures.groups[g] = found[g + 1] ?? '';
    }
    return i;
  }
  return -1;
}

/** Does every key of `match` hold? */
export function naiveHolds(match: MatchConfig, input: MatchInput): boolean {
  if (match.host !== undefined && !hostHolds(match.host, input.host)) return false;
  if (match.path !== undefined && !pathHolds(match.path, input.path)) return false;
  if (match.method !== undefined && !match.method.includes(input.method)) return false;
  if (match.header !== undefined && !fieldHolds(match.header, input.header(match.header.name))) return false;
  if (match.query !== undefined && !fieldHolds(match.query, queryParameter(input.query, match.query.name))) return false;
  if (match.cookie !== undefined && !fieldHolds(match.cookie, input.cookie(match.cookie.name))) return false;
  if (match.clientAddress !== undefined && !match.clientAddress.some((cidr) => inNetwork(cidr, input))) return false;
  if (match.country !== undefined) {
    const country = input.country();
    if (country === null || !match.country.includes(country)) return false;
  }
  if (match.clientCertificate !== undefined && !clientCertificateHolds(match.clientCertificate, input.clientCertificate())) return false;
  if (match.all !== undefined && !match.all.every((inner) => naiveHolds(inner, input))) return false;
  if (match.any !== undefined && !match.any.some((inner) => naiveHolds(inner, input))) return false;
  if (match.not !== undefined && naiveHolds(match.not, input)) return false;
  return true;
}

/** verified: the certificate is present and verified (or, false, it is not); subject: a verified one's subject. */
export function clientCertificateHolds(condition: ClientCertificateCondition, facts: ClientCertificate | null): boolean {
  const verified = facts !== null && facts.verified;
  if (condition.verified !== undefined && condition.verified !== verified) return false;
  const subject = condition.subject;
  if (subject === undefined) return true;
  if (!verified) return false;
  return 'equals' in subject ? facts.subject === subject.equals : cachedRegex(subject.regex).test(facts.subject);
}

export function hostHolds(condition: HostCondition, host: string): boolean {
  if ('regex' in condition) return cachedRegex(condition.regex).test(host);
  return condition.names.some((pattern) => hostPatternAccepts(pattern, host));
}

/** "*.example.com" accepts any name ending in ".example.com" (not example.com itself); other patterns are exact. */
export function hostPatternAccepts(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return pattern === host;
  const suffix = pattern.slice(1);
  return host.length > suffix.length && host.endsWith(suffix);
}

export function pathHolds(condition: PathCondition, path: string): boolean {
  if ('exact' in condition) return condition.exact.includes(path);
  if ('prefix' in condition) return condition.prefix.some((prefix) => path.startsWith(prefix));
  if ('suffix' in condition) return condition.suffix.some((suffix) => path.endsWith(suffix));
  return cachedRegex(condition.regex).test(path);
}

/** `value` is the field's value, null when the request has none. */
export function fieldHolds(condition: FieldCondition, value: string | null): boolean {
  if ('present' in condition) return (value !== null) === condition.present;
  if (value === null) return false;
  if ('equals' in condition) return condition.ignoreCase ? asciiLower(value) === asciiLower(condition.equals) : value === condition.equals;
  return cachedRegex(condition.regex).test(value);
}

/** The raw value of the first `name` or `name=value` pair of the query, or null. */
export function queryParameter(query: string, name: string): string | null {
  for (const pair of query.split('&')) {
    const equals = pair.indexOf('=');
    const pairName = equals === -1 ? pair : pair.slice(0, equals);
    if (pair !== '' && pairName === name) return equals === -1 ? '' : pair.slice(equals + 1);
  }
  return null;
}

/** Bit by bit; an IPv4-mapped IPv6 client (::ffff:a.b.c.d) counts as IPv4, as in CidrSet. */
function inNetwork(cidrText: string, input: MatchInput): boolean {
  const parsed = parseCidr(cidrText);
  if (!parsed.ok) return false;
  let family: number = input.clientFamily;
  let bytes = input.clientBytes;
  if (family === 6 && bytes.subarray(0, 12).every((byte, i) => byte === (i < 10 ? 0 : 0xff))) {
    family = 4;
    bytes = bytes.subarray(12);
  }
  if (parsed.value.family !== family) return false;
  for (let bit = 0; bit < parsed.value.prefixLength; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((parsed.value.bytes[bit >> 3]! & mask) !== (bytes[bit >> 3]! & mask)) return false;
  }
  return true;
}

function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

const regexCache = new Map<string, RegExp>();

function cachedRegex(source: string): RegExp {
  let regex = regexCache.get(source);
  if (regex === undefined) {
    regex = new RegExp(source);
    regexCache.set(source, regex);
  }
  return regex;
}
