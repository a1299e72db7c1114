/**
 * The `healthCheck` part of the config: the virtual service's spec, each real server's override
 * (any subset of the same keys), and the merge of the two into one resolved HealthCheckConfig
 * per real server. Kept apart from schema.ts because it is one concept with its own rules;
 * schema.ts places it in the virtual service and the real server.
 */
import { z } from 'zod';
import type { HostPort } from './address.ts';
import { DURATION_ALLOWED, DURATION_PATTERN, formatDuration, parseDuration } from './duration.ts';
import type { ParseResult, PathSegment } from './problem.ts';
import { HOST_HEADER_PATTERN, field, parsedString } from './schema-builders.ts';

export const HEALTH_CHECK_TYPES = ['none', 'tcp', 'http', 'https', 'ftp', 'dns'] as const;
export type HealthCheckType = (typeof HEALTH_CHECK_TYPES)[number];
/** The record types a dns check may ask for: the ones a service's name is usually published as. */
export const DNS_QUERY_TYPES = ['A', 'AAAA', 'NS', 'SOA', 'MX', 'TXT', 'CNAME', 'SRV', 'PTR'] as const;
export type DnsQueryType = (typeof DNS_QUERY_TYPES)[number];
export type VirtualServiceProtocol = 'http' | 'https' | 'tcp' | 'udp' | 'ftp';
export const HEALTH_CHECK_METHODS = ['HEAD', 'GET', 'POST', 'OPTIONS'] as const;
export type HealthCheckMethod = (typeof HEALTH_CHECK_METHODS)[number];
export type HttpVersion = '1.0' | '1.1';
export type StartAs = 'up' | 'down';
/** An inclusive range of HTTP status codes; a single code is [code, code]. */
export type StatusRange = [number, number];

/** The question a dns check asks: `query` as written ("." is the root), `queryType` resolved. */
export interface DnsQuestion {
  query: string;
  queryType: DnsQueryType;
}

/** The health check of one real server, resolved: the virtual service's spec, its override, defaults. */
export interface HealthCheckConfig {
  type: HealthCheckType;
  method: HealthCheckMethod;
  path: string;
  httpVersion: HttpVersion;
  /** Host header (1.1) and TLS SNI; null means the real server's address as written. */
  host: string | null;
  headers: Record<string, string>;
  body: string;
  expectStatus: StatusRange[];
  /** A regular expression source tested against the first 4 KiB of a 2xx body; null: no test. */
  expectBody: string | null;
  /** The port to check; null means the real server's port. */
  port: number | null;
  /** Milliseconds between checks. */
  interval: number;
  /** Milliseconds a check may take; always below interval. */
  timeout: number;
  fall: number;
  rise: number;
  startAs: StartAs;
  /**
   * `ca`: a PEM file of the CAs to trust (a pool's tls.ca), else Node's public ones; `cert` and
   * `key`: the pool's client certificate, sent when the server asks for one.
   */
  tls: { verify: boolean; ca?: string; cert?: string; key?: string };
  /** Present on dns checks only, so that other checks resolve (and compare) as before. */
  dns?: DnsQuestion;
}

/** KEMP LoadMaster's "up" codes, which its users know: every 2xx, the two common redirects and 401. */
export const DEFAULT_EXPECT_STATUS = ['200-299', 301, 302, 401] as const;

const DEFAULTS = {
  method: 'GET',
  path: '/',
  httpVersion: '1.1',
  headers: {},
  expectStatus: [...DEFAULT_EXPECT_STATUS],
  interval: '5s',
  timeout: '2s',
  fall: 3,
  rise: 2,
  startAs: 'up',
  verify: false,
} as const;

/**
 * The check a written `healthCheck` without `type` gets: the protocol's own. udp gets dns
 * because a UDP service has no connection to open; DNS is the UDP service Fulcrum balances most.
 */
export const DEFAULT_HEALTH_CHECK_TYPE: Record<VirtualServiceProtocol, HealthCheckType> = { http: 'http', https: 'http', tcp: 'tcp', udp: 'dns', ftp: 'ftp' };

/**
 * The check types that can work against each protocol's real servers. A udp service's servers
 * take datagrams, so TCP-based checks say nothing about them, except tcp itself: a DNS server
 * also answers on TCP 53. dns checks ask over UDP only (DNS over TCP is not implemented), so
 * only udp services have them. http and https stay allowed on ftp and tcp services, whose
 * servers often have a status page on another port.
 */
export const HEALTH_CHECK_TYPES_BY_PROTOCOL: Record<VirtualServiceProtocol, readonly HealthCheckType[]> = {
  http: ['none', 'tcp', 'http', 'https'],
  https: ['none', 'tcp', 'http', 'https'],
  tcp: ['none', 'tcp', 'http', 'https', 'ftp'],
  udp: ['none', 'dns', 'tcp'],
  ftp: ['none', 'ftp', 'tcp', 'http', 'https'],
};

/**
 * The question of a dns check that names none: the root's name servers, which every recursive
 * resolver holds (its root hints). The root has no A record, hence NS.
 */
export const DEFAULT_DNS_QUESTION: Readonly<DnsQuestion> = { query: '.', queryType: 'NS' };

/** Body bytes a check reads and expectBody sees: the LoadMaster's "first 4 KB". */
export const BODY_LIMIT_BYTES = 4096;

/**
 * Header names that the check itself writes: Host comes from `host`, the body decides
 * Content-Length, and each check uses one connection (Connection: close).
 */
const RESERVED_HEADERS: Record<string, string> = {
  host: 'the Host header comes from the host key; write host: NAME instead',
  'content-length': 'Content-Length is computed from body',
  'transfer-encoding': 'the body is sent with Content-Length',
  connection: 'each check opens its own connection and sends Connection: close',
};

const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A host name or IP address with an optional port, as a Host header carries it. */
/** Origin-form (/path?query) or "*" (OPTIONS *); no spaces or control characters, which would break the request line. */
const REQUEST_PATH_PATTERN = '^(\\*|/[^\\s\\x00-\\x1f\\x7f]*)$';



/** "200-299", "404" (or the integer 404): an inclusive status range. */
export function parseStatusRange(text: string): ParseResult<StatusRange> {
  const match = /^\s*([0-9]{3})\s*(?:-\s*([0-9]{3})\s*)?$/.exec(text);
  if (match === null) {
    const family = /^([1-5])xx$/i.exec(text.trim());
    const message = `${JSON.stringify(text)} is not a status code or range`;
    return family === null ? { ok: false, message } : { ok: false, message, suggestion: `${family[1]}00-${family[1]}99` };
  }
  const low = Number(match[1]);
  const high = match[2] === undefined ? low : Number(match[2]);
  if (low < 100 || high > 599) return { ok: false, message: `${JSON.stringify(text)} is outside 100..599` };
  if (low > high) return { ok: false, message: `${JSON.stringify(text)} runs backwards`, suggestion: `${high}-${low}` };
  return { ok: true, value: [low, high] };
}

function parseRegex(text: string): ParseResult<string | null> {
  if (text === '') return { ok: true, value: null };
  try {
    new RegExp(text);
    return { ok: true, value: text };
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^Invalid regular expression: /, '') : String(error);
    return { ok: false, message: `${JSON.stringify(text)} is not a valid regular expression: ${reason}` };
  }
}

/**
 * A domain name as a DNS question carries it: "." (the root) or labels of letters, digits, "-"
 * and "_" (SRV and DKIM names), 1..63 characters each, 253 in all (RFC 1035 section 2.3.4).
 * A trailing dot is allowed and dropped.
 */
export function parseDomainName(text: string): ParseResult<string> {
  const name = text.trim();
  if (name === '.') return { ok: true, value: '.' };
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  const labels = bare.split('.');
  const valid = bare.length > 0 && bare.length <= 253 && labels.every((label) => /^[A-Za-z0-9_-]{1,63}$/.test(label));
  if (!valid) return { ok: false, message: `${JSON.stringify(text)} is not a domain name; write a name such as www.example.com, or . for the root` };
  return { ok: true, value: bare };
}

function headerMap(input: Record<string, string | number | boolean>, ctx: z.RefinementCtx): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, raw] of Object.entries(input)) {
    const value = String(raw);
    const reserved = RESERVED_HEADERS[name.toLowerCase()];
    if (!TOKEN_RE.test(name)) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(name)} is not a valid header name (letters, digits and !#$%&'*+.^_\`|~-)`, path: [name] });
    } else if (reserved !== undefined) {
      ctx.addIssue({ code: 'custom', message: `header ${JSON.stringify(name)} cannot be set here: ${reserved}`, path: [name] });
    } else if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) {
      // A line break in a value would let config text inject headers or a second request.
      ctx.addIssue({ code: 'custom', message: `the value of header ${JSON.stringify(name)} contains a line break or control character`, path: [name] });
    } else {
      headers[name] = value.trim();
    }
  }
  return headers;
}

/** The keys with a default, each built fresh per use (a shared instance would become a JSON Schema $ref). */
function defaultedFields() {
  return {
    method: field(z.enum(HEALTH_CHECK_METHODS), 'The HTTP method of the check request.', { noun: 'a health check method' }),
    path: field(z.string().max(2048).regex(new RegExp(REQUEST_PATH_PATTERN)), 'The path (and query) to request, e.g. /health or /status?full=1.', {
      noun: 'a request path',
      allowed: 'a path starting with /, without spaces, e.g. /health',
    }),
    httpVersion: field(
      // YAML reads an unquoted 1.0 as the number 1 and 1.1 as 1.1; take them as meant.
      z.preprocess((value) => (value === 1 ? '1.0' : value === 1.1 ? '1.1' : value), z.enum(['1.0', '1.1'])),
      'HTTP version of the check request. "1.1" sends a Host header (host, or the real server\'s address), which servers that serve sites by host name (IIS host-header bindings, nginx server_name) need; "1.0" sends none, and such servers answer 400 or 404.',
      { noun: 'an HTTP version', allowed: '"1.0" or "1.1"' },
    ),
    headers: field(
      z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).transform(headerMap),
      "Extra request headers, e.g. { User-Agent: fulcrum-health }. A real server's headers are added to the virtual service's (same name: the real server's wins).",
      { noun: 'a mapping of header names to values' },
    ),
    expectStatus: field(
      z
        .array(
          z.union([
            z.int().min(100).max(599).transform((code): StatusRange => [code, code]),
            parsedString(parseStatusRange, '^[0-9]{3}(-[0-9]{3})?$'),
          ]),
        )
        .min(1),
      "Status codes that mean healthy: codes (404) and ranges (\"200-299\"). The default is the LoadMaster's: any 2xx, 301, 302 and 401.",
      { noun: 'a status code or range', allowed: 'a code 100..599 or a range such as "200-299"' },
    ),
    interval: field(parsedString(parseDuration, DURATION_PATTERN), 'Time between checks of one real server; checks are spread over it with jitter.', {
      noun: 'a duration',
      allowed: DURATION_ALLOWED,
    }),
    timeout: field(parsedString(parseDuration, DURATION_PATTERN), 'How long one check may take (connect, send, answer); must be shorter than interval. Default: 2s, or half the interval when that is shorter.', {
      noun: 'a duration',
      allowed: DURATION_ALLOWED,
    }),
    fall: field(z.int().min(1).max(1000), 'Consecutive failed checks that mark an up server down.'),
    rise: field(z.int().min(1).max(1000), 'Consecutive passed checks that mark a down server up again.'),
    startAs: field(
      z.enum(['up', 'down']),
      'The state before the first check. up: the server takes traffic at once, and the first failed check marks it down without waiting for fall. down: it takes none until its first passed check.',
      { noun: 'a starting state' },
    ),
  };
}

type DefaultedFields = ReturnType<typeof defaultedFields>;

/**
 * The keys without a fixed default: left out, they mean "the protocol's own" (type), "the real
 * server's own" (host, port), "none" (expectBody) or the dns defaults (query, queryType).
 */
function optionalFields() {
  return {
    type: field(
      z.enum(HEALTH_CHECK_TYPES).optional(),
      'none: no checks, the server counts as up. tcp: a connection that opens is healthy. http and https: send a request and check the status (and body). ftp: the server greets with 220. dns: a UDP query (query, queryType) is answered NOERROR. Default: the protocol\'s own (http: http, tcp: tcp, ftp: ftp, udp: dns). An http service can use none, tcp, http, https; tcp: none, tcp, http, https, ftp; udp: none, dns, tcp; ftp: none, ftp, tcp, http, https.',
      { noun: 'a health check type' },
    ),
    host: field(
      z.string().max(261).regex(new RegExp(HOST_HEADER_PATTERN)).optional(),
      "Host header (HTTP/1.1) and TLS SNI name for the check, e.g. www.example.com; default: the real server's address as written. Set it when the server serves sites by host name.",
      { noun: 'a host name', allowed: 'a host name or IP address, optionally with :port, e.g. www.example.com' },
    ),
    expectBody: field(
      parsedString(parseRegex).optional(),
      'A regular expression the first 4 KiB of a 2xx response body must match, e.g. "OK|healthy". Not tested on HEAD checks, whose responses have no body (the check result says so). "" turns off a pattern set on the virtual service.',
      { noun: 'a regular expression' },
    ),
    port: field(z.int().min(1).max(65_535).optional(), "Port to check when it differs from the real server's port (a separate health or status port)."),
    body: field(z.string().max(65_536).optional(), 'Request body (for POST); sent with Content-Length when not empty. Default: none.'),
    query: field(
      parsedString(parseDomainName, '^(\\.|[A-Za-z0-9_.-]+)$').optional(),
      'dns checks only: the name to ask for, e.g. www.example.com. Default: "." (the root), asked as NS, which a recursive resolver answers from its root hints; an authoritative server refuses it, so for one set a name in its zones.',
      { noun: 'a domain name', allowed: 'a name such as www.example.com, or . for the root' },
    ),
    queryType: field(
      z.enum(DNS_QUERY_TYPES).optional(),
      'dns checks only: the record type to ask for. Default: A, or NS when query is the root. The check passes on NOERROR, with or without records; NXDOMAIN, SERVFAIL, REFUSED and the rest fail it.',
      { noun: 'a DNS record type' },
    ),
  };
}

const TLS_DESCRIPTION = 'TLS settings for https checks. SNI is always host (without its port) unless host is an IP address.';

function verifyField() {
  return field(
    z.boolean(),
    'Verify the certificate chain and that it names host. Off by default because internal servers often use self-signed certificates; expiry is reported either way.',
  );
}

function specShape() {
  const fields = defaultedFields();
  const d = Object.fromEntries(
    Object.entries(fields).map(([key, schema]) => [key, (schema as z.ZodType).prefault(DEFAULTS[key as keyof DefaultedFields] as never)]),
  ) as { [K in keyof DefaultedFields]: z.ZodPrefault<DefaultedFields[K]> };
  const o = optionalFields();
  const tls = field(z.strictObject({ verify: verifyField().default(DEFAULTS.verify) }).prefault({}), TLS_DESCRIPTION);
  // The order users read them in (the issue's example); the docs and "allowed:" lists follow it.
  return {
    ...{ type: o.type, method: d.method, path: d.path, httpVersion: d.httpVersion, host: o.host, headers: d.headers, body: o.body },
    ...{ expectStatus: d.expectStatus, expectBody: o.expectBody, port: o.port, interval: d.interval, timeout: fields.timeout.optional() },
    ...{ fall: d.fall, rise: d.rise, startAs: d.startAs, tls, query: o.query, queryType: o.queryType },
  };
}

const DEFAULT_TIMEOUT_MS = 2000;

/** Unwritten, the timeout is 2s, or half the interval when that is shorter (a 2s interval gets a 1s timeout). */
function defaultTimeout(interval: number): number {
  return Math.min(DEFAULT_TIMEOUT_MS, Math.floor(interval / 2));
}

function overrideShape() {
  const fields = defaultedFields();
  const d = Object.fromEntries(Object.entries(fields).map(([key, schema]) => [key, schema.optional()])) as {
    [K in keyof DefaultedFields]: z.ZodOptional<DefaultedFields[K]>;
  };
  const o = optionalFields();
  const tls = field(z.strictObject({ verify: verifyField().optional() }).optional(), TLS_DESCRIPTION);
  return {
    ...{ type: o.type, method: d.method, path: d.path, httpVersion: d.httpVersion, host: o.host, headers: d.headers, body: o.body },
    ...{ expectStatus: d.expectStatus, expectBody: o.expectBody, port: o.port, interval: d.interval, timeout: d.timeout },
    ...{ fall: d.fall, rise: d.rise, startAs: d.startAs, tls, query: o.query, queryType: o.queryType },
  };
}

/** The virtual service's `healthCheck`: every key has a default; leaving the whole key out means type none. */
export const HealthCheckSpecSchema = field(
  z.strictObject(specShape()).optional(),
  'Active health checks of every real server; leave out for none (every server counts as up). A real server may override any key.',
);

/** A real server's `healthCheck`: any subset of the same keys, applied over the virtual service's. */
export const HealthCheckOverrideSchema = field(
  z.strictObject(overrideShape()).optional(),
  "This real server's changes to the virtual service's healthCheck (any of its keys), e.g. { host: www.example.com } or { port: 8081 }.",
);

type HealthCheckSpec = NonNullable<z.output<typeof HealthCheckSpecSchema>>;
type HealthCheckOverride = NonNullable<z.output<typeof HealthCheckOverrideSchema>>;

/** What the merge needs of a virtual service; the protocol's own keys pass through untouched. */
interface HealthCheckedService {
  protocol: VirtualServiceProtocol;
  healthCheck?: HealthCheckSpec | undefined;
  realServers: ReadonlyArray<{ address: HostPort; healthCheck?: HealthCheckOverride | undefined }>;
}

export type WithResolvedHealthChecks<VS extends HealthCheckedService> = Omit<VS, 'healthCheck' | 'realServers'> & {
  healthCheck: HealthCheckConfig;
  realServers: Array<Omit<VS['realServers'][number], 'healthCheck'> & { healthCheck: HealthCheckConfig }>;
};

/** The keys only a dns check reads. */
const DNS_KEYS = ['query', 'queryType'] as const;

/**
 * Put a resolved healthCheck on the virtual service and on each real server, and report settings
 * that cannot work together (a timeout not below the interval, a check type the protocol's servers
 * cannot answer, dns keys on another type), each at a key the user wrote: the server's override
 * when the override takes part, else the virtual service's.
 */
export function resolveHealthChecks<VS extends HealthCheckedService>(vs: VS, ctx: z.RefinementCtx): WithResolvedHealthChecks<VS> {
  const spec = vs.healthCheck;
  const written = spec !== undefined;
  const protocolType = DEFAULT_HEALTH_CHECK_TYPE[vs.protocol];
  // merge(x, {}) copies: no two outputs share a headers object or a status list.
  const base = withQuestion(written ? fromSpec(spec, protocolType) : merge({ ...DEFAULT_CONFIG, type: 'none' }, {}), spec);
  const report = (path: PathSegment[], message: string): void => ctx.addIssue({ code: 'custom', message, path, input: undefined });
  if (written) {
    // Unwritten keys hold their defaults, and the defaults agree with each other, so the first
    // key that differs from its default was written.
    for (const problem of contradictions(base)) {
      const key = problem.keys.find((k) => JSON.stringify(base[k]) !== JSON.stringify(DEFAULT_CONFIG[k])) ?? 'interval';
      report(['healthCheck', key], problem.message);
    }
    const misfit = typeMisfit(base.type, vs.protocol);
    if (misfit !== null) report(['healthCheck', 'type'], misfit);
  }
  const realServers = vs.realServers.map((rs, index) => {
    const override = rs.healthCheck;
    if (override === undefined) return { ...rs, healthCheck: withQuestion(merge(base, {}), spec) };
    // "When present, type defaults to the protocol's": an override on a service without checks asks for one.
    const start = written ? base : { ...base, type: protocolType };
    const resolved = withQuestion(merge(start, override), spec, override);
    const at = (key: string): PathSegment[] => ['realServers', index, 'healthCheck', key];
    for (const problem of contradictions(resolved)) {
      const key = problem.keys.find((k) => override[k as keyof HealthCheckOverride] !== undefined);
      if (key !== undefined) report(at(key), problem.message);
    }
    const misfit = override.type === undefined ? null : typeMisfit(resolved.type, vs.protocol);
    if (misfit !== null) report(at('type'), misfit);
    for (const key of DNS_KEYS) if (override[key] !== undefined && resolved.type !== 'dns') report(at(key), dnsOnly(key, resolved.type, vs.protocol));
    return { ...rs, healthCheck: resolved };
  });
  // The service's dns keys are in the right place when some check that inherits them is dns.
  for (const key of DNS_KEYS) {
    const inherited = realServers.some((rs, index) => rs.healthCheck.type === 'dns' && vs.realServers[index]?.healthCheck?.[key] === undefined);
    if (spec?.[key] !== undefined && base.type !== 'dns' && !inherited) report(['healthCheck', key], dnsOnly(key, base.type, vs.protocol));
  }
  return { ...vs, healthCheck: base, realServers } as WithResolvedHealthChecks<VS>;
}

/** Why `type` cannot check the real servers of a `protocol` service, or null when it can. */
function typeMisfit(type: HealthCheckType, protocol: VirtualServiceProtocol): string | null {
  const allowed = HEALTH_CHECK_TYPES_BY_PROTOCOL[protocol];
  if (allowed.includes(type)) return null;
  const service = `${protocol.startsWith('http') || protocol === 'ftp' ? 'an' : 'a'} ${protocol} virtual service`;
  let why: string;
  if (type === 'dns') {
    why = 'dns checks ask over UDP, and DNS over TCP checks are not implemented (type tcp tells whether a TCP port is open)';
  } else if (protocol === 'udp') {
    why = `${type} checks need a TCP connection, and ${service}'s real servers take datagrams`;
  } else {
    why = `${type} checks expect ${type === 'ftp' ? 'an FTP server' : type.toUpperCase()}, and ${service}'s real servers speak ${protocol.toUpperCase()}`;
  }
  const list = `${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1) ?? 'none'}`;
  return `type ${type} does not apply to ${service}: ${why}; it can use ${list}`;
}

function dnsOnly(key: (typeof DNS_KEYS)[number], type: HealthCheckType, protocol: VirtualServiceProtocol): string {
  const fix = HEALTH_CHECK_TYPES_BY_PROTOCOL[protocol].includes('dns') ? `remove ${key}, or set type dns` : `remove ${key}`;
  return `${key} applies to dns checks only, and this check is type ${type}; ${fix}`;
}

type DnsKeys = { query?: string | undefined; queryType?: DnsQueryType | undefined } | undefined;

/** Give a dns check its question, from the layers written (later ones win) and the defaults; other checks get none. */
function withQuestion(check: HealthCheckConfig, ...layers: DnsKeys[]): HealthCheckConfig {
  if (check.type !== 'dns') return check;
  let query: string | undefined;
  let queryType: DnsQueryType | undefined;
  for (const layer of layers) {
    query = layer?.query ?? query;
    queryType = layer?.queryType ?? queryType;
  }
  const name = query ?? DEFAULT_DNS_QUESTION.query;
  check.dns = { query: name, queryType: queryType ?? (name === DEFAULT_DNS_QUESTION.query ? DEFAULT_DNS_QUESTION.queryType : 'A') };
  return check;
}

function fromSpec(spec: HealthCheckSpec, defaultType: HealthCheckType): HealthCheckConfig {
  return {
    type: spec.type ?? defaultType,
    method: spec.method,
    path: spec.path,
    httpVersion: spec.httpVersion,
    host: spec.host ?? null,
    headers: { ...spec.headers },
    body: spec.body ?? '',
    expectStatus: spec.expectStatus.map(([low, high]): StatusRange => [low, high]),
    expectBody: spec.expectBody ?? null,
    port: spec.port ?? null,
    interval: spec.interval,
    timeout: spec.timeout ?? defaultTimeout(spec.interval),
    fall: spec.fall,
    rise: spec.rise,
    startAs: spec.startAs,
    tls: { verify: spec.tls.verify },
  };
}

function merge(base: HealthCheckConfig, override: HealthCheckOverride): HealthCheckConfig {
  const headers = { ...base.headers };
  for (const [name, value] of Object.entries(override.headers ?? {})) {
    for (const existing of Object.keys(headers)) if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
    headers[name] = value;
  }
  return {
    type: override.type ?? base.type,
    method: override.method ?? base.method,
    path: override.path ?? base.path,
    httpVersion: override.httpVersion ?? base.httpVersion,
    host: override.host ?? base.host,
    headers,
    body: override.body ?? base.body,
    expectStatus: (override.expectStatus ?? base.expectStatus).map(([low, high]): StatusRange => [low, high]),
    expectBody: override.expectBody === undefined ? base.expectBody : override.expectBody,
    port: override.port ?? base.port,
    interval: override.interval ?? base.interval,
    timeout: override.timeout ?? base.timeout,
    fall: override.fall ?? base.fall,
    rise: override.rise ?? base.rise,
    startAs: override.startAs ?? base.startAs,
    tls: { verify: override.tls?.verify ?? base.tls.verify },
  };
}

/** What `healthCheck: {}` resolves to. */
const DEFAULT_CONFIG: HealthCheckConfig = fromSpec(z.strictObject(specShape()).parse({}), 'http');

type CheckKey = keyof HealthCheckConfig;

/** Settings that make every check fail whatever the server does; keys in the order to blame them. */
function contradictions(check: HealthCheckConfig): { keys: CheckKey[]; message: string }[] {
  const problems: { keys: CheckKey[]; message: string }[] = [];
  if (check.timeout >= check.interval) {
    problems.push({
      keys: ['timeout', 'interval'],
      message: `timeout ${formatDuration(check.timeout)} must be shorter than interval ${formatDuration(check.interval)}, or one check would still run when the next starts; lower timeout or raise interval`,
    });
  }
  return problems;
}
