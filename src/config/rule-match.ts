/**
 * The `match` of a content rule: conditions on the request (host, path, method, a header, a
 * query parameter, a cookie, the client's address or country) combined with all, any and not.
 * The output is plain data in one normal form per key (lists always lists, names lower-cased
 * where matching ignores case), so that the compiler (src/rules/match-compile.ts) and the naive
 * interpreter (src/rules/naive.ts) read one shape, and a config still crosses to the workers
 * as JSON.
 */
import { z } from 'zod';
import { formatBytes, parseCidr } from '../ip/bytes.ts';
import { isRecord } from './schema-walk.ts';
import type { ParseResult } from './problem.ts';
import { oneOrMany, parseRegexSource, report, reportFailure, scalarText, TOKEN_RE } from './rule-fields.ts';
import { field } from './schema-builders.ts';

/** Exact names ("www.example.com") and wildcards ("*.example.com"), lower case; or a regex on the host. */
export type HostCondition = { names: string[] } | { regex: string };
export type PathCondition = { exact: string[] } | { prefix: string[] } | { suffix: string[] } | { regex: string };
/** A header (name lower case), query parameter or cookie: present (or absent), equal to a value, or matching a regex. */
export type FieldCondition =
  | { name: string; present: boolean }
  | { name: string; equals: string; ignoreCase: boolean }
  | { name: string; regex: string };
/**
 * The client's certificate (mTLS, tls.clientAuth): verified or not, and the subject of a verified
 * one. Both keys given: both must hold.
 */
export interface ClientCertificateCondition {
  verified?: boolean;
  /** The subject DN as RFC 4514 writes it ("CN=client.example,O=Example"), of a verified certificate. */
  subject?: { equals: string } | { regex: string };
}

/** A rule's match: every key given must hold. */
export interface MatchConfig {
  host?: HostCondition;
  path?: PathCondition;
  method?: string[];
  header?: FieldCondition;
  query?: FieldCondition;
  cookie?: FieldCondition;
  /** Canonical CIDR text, e.g. "10.0.0.0/8", "2001:db8::/32". */
  clientAddress?: string[];
  /** ISO 3166-1 alpha-2 codes, upper case. */
  country?: string[];
  clientCertificate?: ClientCertificateCondition;
  all?: MatchConfig[];
  any?: MatchConfig[];
  not?: MatchConfig;
}

/**
 * The path regex whose groups a matched rule hands to its actions: the first one among the
 * conditions that must all hold (the match's own keys, then its `all` entries in order, depth
 * first). Only such a regex is sure to have matched when the rule matched.
 */
export function conjunctPathRegex(match: MatchConfig): string | null {
  if (match.path !== undefined && 'regex' in match.path) return match.path.regex;
  for (const inner of match.all ?? []) {
    const found = conjunctPathRegex(inner);
    if (found !== null) return found;
  }
  return null;
}

export const MATCH_ALL_HINT = 'to match every request, write match: { path: { prefix: / } }';

/** "www.Example.com." -> "www.example.com"; "*.example.com" stays a wildcard. */
export function parseHostPattern(text: string): ParseResult<string> {
  let host = text.trim().toLowerCase();
  if (host.endsWith('.') && host.length > 1) host = host.slice(0, -1);
  const url = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/.exec(host);
  if (url !== null) {
    const bare = url[1]!.replace(/:[0-9]*$/, '');
    return { ok: false, message: `${JSON.stringify(text)} is a URL; a host condition is the host name alone: write "${bare}"`, suggestion: bare };
  }
  const port = /^([^:[\]]+|\[[^\]]*\]):[0-9]*$/.exec(host);
  if (port !== null) {
    return { ok: false, message: `${JSON.stringify(text)} has a port; hosts are matched without it: write "${port[1]}"`, suggestion: port[1]! };
  }
  const wildcard = host.startsWith('*.');
  const name = wildcard ? host.slice(2) : host;
  if (name.includes('*')) {
    return { ok: false, message: `${JSON.stringify(text)} has a "*" inside; a wildcard is a whole first label, e.g. "*.example.com", or use host: { regex: ... }` };
  }
  const valid = /^\[[0-9a-f:.]+\]$/.test(name) || (name.length <= 253 && name.split('.').every((label) => /^[a-z0-9_-]{1,63}$/.test(label)));
  if (!valid) return { ok: false, message: `${JSON.stringify(text)} is not a host name; write a name such as www.example.com or *.example.com` };
  return { ok: true, value: host };
}

function parsePathPattern(kind: 'exact' | 'prefix' | 'suffix') {
  return (text: string): ParseResult<string> => {
    if (text.length === 0) return { ok: false, message: `an empty ${kind} path matches nothing useful; ${MATCH_ALL_HINT}` };
    if (/[\s\x00-\x1f\x7f]/.test(text)) return { ok: false, message: `${JSON.stringify(text)} contains a space or control character; request paths have none (they arrive percent-encoded, e.g. %20)` };
    const mark = /[?#]/.exec(text);
    if (mark !== null) {
      return { ok: false, message: `${JSON.stringify(text)} contains "${mark[0]}"; the path is matched without the query string: match the query with query: { name, equals }` };
    }
    if (kind !== 'suffix' && !text.startsWith('/') && !(kind === 'exact' && text === '*')) {
      return { ok: false, message: `${JSON.stringify(text)} does not start with "/"; write "/${text}"`, suggestion: `/${text}` };
    }
    return { ok: true, value: text };
  };
}

const WELL_KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];

function parseMethod(text: string): ParseResult<string> {
  if (!TOKEN_RE.test(text)) return { ok: false, message: `${JSON.stringify(text)} is not a method (a token such as GET or RPC_IN_DATA)` };
  const upper = text.toUpperCase();
  if (upper !== text && WELL_KNOWN_METHODS.includes(upper)) {
    return { ok: false, message: `methods are case-sensitive and clients send "${upper}"; write "${upper}"`, suggestion: upper };
  }
  return { ok: true, value: text };
}

function parseCidrText(text: string): ParseResult<string> {
  const result = parseCidr(text.trim());
  if (!result.ok) return result;
  const { family, bytes, prefixLength } = result.value;
  return { ok: true, value: `${formatBytes(family, bytes)}/${prefixLength}` };
}

export function parseCountryCode(text: string): ParseResult<string> {
  if (/^[A-Z]{2}$/.test(text)) return { ok: true, value: text };
  if (/^[a-z]{2}$/i.test(text)) return { ok: false, message: `country codes are upper case: write "${text.toUpperCase()}"`, suggestion: text.toUpperCase() };
  return { ok: false, message: `${JSON.stringify(text)} is not a country code; write an ISO 3166-1 alpha-2 code such as DE, US or JP` };
}

export const countryList = oneOrMany(parseCountryCode);
export const cidrList = oneOrMany(parseCidrText);

const hostCondition = z
  .union([z.string(), z.array(z.string()).min(1), z.strictObject({ regex: z.string() })])
  .transform((value, ctx): HostCondition => {
    if (isRecord(value) && 'regex' in value) return { regex: checkedRegex(value.regex, ctx, ['regex']) };
    const list = Array.isArray(value) ? value : [value];
    const names: string[] = [];
    list.forEach((entry, index) => {
      const result = parseHostPattern(entry);
      if (result.ok) names.push(result.value);
      else reportFailure(ctx, Array.isArray(value) ? [index] : [], entry, result);
    });
    return { names };
  });

const PATH_KINDS = ['exact', 'prefix', 'suffix', 'regex'] as const;
const pathStrings = z.union([z.string(), z.array(z.string()).min(1)]);

const pathCondition = z
  .union([
    z.string(),
    z.strictObject({ exact: pathStrings.optional(), prefix: pathStrings.optional(), suffix: pathStrings.optional(), regex: z.string().optional() }),
  ])
  .transform((value, ctx): PathCondition => {
    if (typeof value === 'string') return { exact: checkedPaths('exact', value, ctx, []) };
    const given = PATH_KINDS.filter((kind) => value[kind] !== undefined);
    if (given.length !== 1) {
      report(ctx, given.length === 0 ? [] : [given[1]!], `write exactly one of exact, prefix, suffix or regex${given.length > 1 ? `, not both ${given[0]} and ${given[1]}; to accept either, use any: [...]` : ''}`);
      return { exact: [] };
    }
    const kind = given[0]!;
    if (kind === 'regex') return { regex: checkedRegex(value.regex!, ctx, ['regex']) };
    const paths = checkedPaths(kind, value[kind]!, ctx, [kind]);
    return kind === 'exact' ? { exact: paths } : kind === 'prefix' ? { prefix: paths } : { suffix: paths };
  });

function checkedPaths(kind: 'exact' | 'prefix' | 'suffix', value: string | string[], ctx: z.RefinementCtx, path: (string | number)[]): string[] {
  const parse = parsePathPattern(kind);
  const list = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  list.forEach((entry, index) => {
    const result = parse(entry);
    if (result.ok) out.push(result.value);
    else reportFailure(ctx, Array.isArray(value) ? [...path, index] : path, entry, result);
  });
  return out;
}

function checkedRegex(source: string, ctx: z.RefinementCtx, path: (string | number)[]): string {
  const result = parseRegexSource(source);
  if (!result.ok) reportFailure(ctx, path, source, result);
  return source;
}

/** A header, query parameter or cookie condition. Header names are lower-cased (they ignore case); the others are kept as written. */
function fieldCondition(what: 'header' | 'query parameter' | 'cookie') {
  const isHeader = what === 'header';
  return z
    .strictObject({
      name: field(z.string().min(1), `The ${what}'s name${isHeader ? ' (any case)' : ' (case-sensitive)'}.`),
      present: field(z.boolean().optional(), `true: the ${what} is present (any value); false: it is absent.`),
      equals: field(scalarText.optional(), `The ${what}'s value equals this text${isHeader ? ' (case-sensitive unless ignoreCase)' : ' (case-sensitive, compared as sent, not percent-decoded)'}.`),
      ...(isHeader ? { ignoreCase: field(z.boolean().optional(), 'With equals: compare letters A-Z without regard to case.') } : {}),
      regex: field(z.string().optional(), `The ${what}'s value matches this regular expression (it may match part of the value; anchor it with ^ and $ to match all of it).`),
    })
    .transform((value, ctx): FieldCondition => {
      const name = isHeader ? value.name.toLowerCase() : value.name;
      const nameProblem = fieldNameProblem(what, value.name);
      if (nameProblem !== null) report(ctx, ['name'], nameProblem);
      const given = (['present', 'equals', 'regex'] as const).filter((key) => value[key] !== undefined);
      if (given.length !== 1) {
        report(ctx, given.length === 0 ? [] : [given[1]!], `write exactly one of present, equals or regex${given.length > 1 ? `, not both ${given[0]} and ${given[1]}` : ''}`);
        return { name, present: true };
      }
      const ignoreCase = 'ignoreCase' in value && value.ignoreCase === true;
      if (ignoreCase && given[0] !== 'equals') report(ctx, ['ignoreCase'], 'ignoreCase applies to equals only; a regex can list both cases, e.g. [Yy]es');
      if (value.equals !== undefined) return { name, equals: value.equals, ignoreCase };
      if (value.regex !== undefined) return { name, regex: checkedRegex(value.regex, ctx, ['regex']) };
      return { name, present: value.present! };
    });
}

/** A name that no request could carry is refused rather than left to never match. */
function fieldNameProblem(what: 'header' | 'query parameter' | 'cookie', name: string): string | null {
  if (what === 'query parameter') {
    const bad = /[&=#\s]/.exec(name);
    return bad === null ? null : `a query parameter name cannot contain ${JSON.stringify(bad[0])}: parameters are split on "&" and "=" (write the name as sent, percent-encoded)`;
  }
  if (TOKEN_RE.test(name)) return null;
  return `${JSON.stringify(name)} is not a valid ${what} name (letters, digits and !#$%&'*+.^_\`|~-)`;
}

const clientCertificateCondition = z
  .strictObject({
    verified: field(z.boolean().optional(), 'true: the client sent a certificate that verified against tls.clientAuth.ca (and crl); false: it sent none, or one that did not verify.'),
    subject: field(
      z.union([z.string().min(1), z.strictObject({ equals: z.string().min(1).optional(), regex: z.string().optional() })]).optional(),
      'The subject of a verified certificate, as RFC 4514 writes it with the most specific part first ("CN=client.example,O=Example", as in X-SSL-Client-S-DN): a string or { equals: ... } for the whole name (case-sensitive), or { regex: "..." }. An unverified certificate\'s subject matches nothing: anyone can write any subject into a certificate of their own.',
      { noun: 'a subject condition', allowed: 'CN=...,O=..., { equals: ... } or { regex: "..." }' },
    ),
  })
  .transform((value, ctx): ClientCertificateCondition => {
    const out: ClientCertificateCondition = {};
    if (value.verified !== undefined) out.verified = value.verified;
    const subject = value.subject;
    if (typeof subject === 'string') out.subject = { equals: subject };
    else if (subject !== undefined) {
      if ((subject.equals === undefined) === (subject.regex === undefined)) report(ctx, ['subject'], 'write exactly one of equals or regex');
      else if (subject.regex !== undefined) out.subject = { regex: checkedRegex(subject.regex, ctx, ['subject', 'regex']) };
      else out.subject = { equals: subject.equals! };
    }
    if (value.verified === undefined && value.subject === undefined) report(ctx, [], 'write verified, subject or both');
    if (value.verified === false && value.subject !== undefined) report(ctx, ['subject'], 'a subject is matched on verified certificates only, so with verified: false it never holds; to match an unverified client, use verified: false alone');
    return out;
  });

const CONDITION_KEYS = ['host', 'path', 'method', 'header', 'query', 'cookie', 'clientAddress', 'country', 'clientCertificate', 'all', 'any', 'not'] as const;

export const MatchSchema: z.ZodType<MatchConfig> = z
  .strictObject({
    host: field(
      hostCondition.optional(),
      'The host the client asked for (Host header, without port; any case): a name, "*.example.com" for any name ending in .example.com (not example.com itself), a list of these (any may match), or { regex: "..." } tested against the lower-case host.',
      { noun: 'a host condition', allowed: 'www.example.com, *.example.com, a list of these, or { regex: "..." }' },
    ),
    path: field(
      pathCondition.optional(),
      'The request path, without the query string (case-sensitive): a string for an exact path, or exactly one of { exact: ... }, { prefix: ... }, { suffix: ... } (each a string or a list, any may match) or { regex: "..." }. The groups of a path regex are $1..$9 in the rule\'s redirect and rewrite.',
      { noun: 'a path condition', allowed: '/exact/path, { exact | prefix | suffix: PATH or [PATH, ...] }, or { regex: "..." }' },
    ),
    method: field(oneOrMany(parseMethod).optional(), 'The request method (case-sensitive), or a list of methods, e.g. [GET, HEAD].', { noun: 'a method or list of methods' }),
    header: field(fieldCondition('header').optional(), 'A request header, by name: { name, present: true }, { name, equals: VALUE, ignoreCase: true|false } or { name, regex: "..." }. The first field of that name is tested.'),
    query: field(fieldCondition('query parameter').optional(), 'A query string parameter, by name, as sent (not percent-decoded; pairs split on "&"): { name, present: true }, { name, equals: VALUE } or { name, regex: "..." }. A name without "=" has the value "".'),
    cookie: field(fieldCondition('cookie').optional(), 'A request cookie, by name (case-sensitive): { name, present: true }, { name, equals: VALUE } or { name, regex: "..." }.'),
    clientAddress: field(
      cidrList.optional(),
      "The client's address is in this network (CIDR, e.g. 10.0.0.0/8; a bare address is one host) or in one of a list of them. IPv4 clients on a dual-stack listener are matched as IPv4.",
      { noun: 'a network or list of networks', allowed: 'CIDR such as 10.0.0.0/8 or 2001:db8::/32, or a list of them' },
    ),
    country: field(
      countryList.optional(),
      "The client's country (ISO 3166-1 alpha-2, e.g. DE), or a list; needs a GeoIP database. A client whose country is unknown matches none.",
      { noun: 'a country code or list of codes', allowed: 'two upper-case letters, e.g. DE, or a list of them' },
    ),
    clientCertificate: field(
      clientCertificateCondition.optional(),
      "The client's certificate, on an https virtual service with tls.clientAuth (optional or required): { verified: true|false } and/or { subject: ... }.",
      { noun: 'a client certificate condition' },
    ),
    get all() {
      return field(z.array(MatchSchema).min(1).optional(), 'A list of matches that must all hold.');
    },
    get any() {
      return field(z.array(MatchSchema).min(1).optional(), 'A list of matches of which at least one must hold.');
    },
    get not() {
      return field(MatchSchema.optional(), 'A match that must not hold.');
    },
  })
  .superRefine((match, ctx) => {
    if (!CONDITION_KEYS.some((key) => match[key] !== undefined)) {
      report(ctx, [], `a match needs at least one condition (${CONDITION_KEYS.join(', ')}); ${MATCH_ALL_HINT}`);
    }
  });
