/**
 * The health check of a GSLB site. It goes to `target`, not to the addresses the site hands
 * out: a site's public address is rarely reachable from the checker the same way. tcp, http and
 * https take the keys (and defaults) of the real servers' checks in health-check.ts; icmp needs a
 * host only; fulcrum asks another Fulcrum node's admin API how many real servers of a virtual
 * service are up.
 *
 * One mapping with every key, not a union per type: the docs get one row per key, and a key
 * written on a type that ignores it gets an error that says so, not just "unknown key".
 */
import { isIPv6 } from 'node:net';
import { z } from 'zod';
import { ADDRESS_PATTERN, type HostPort, formatAddress, parseHostPort } from './address.ts';
import { formatDuration } from './duration.ts';
import { type HealthCheckConfig, HealthCheckSpecSchema, type StatusRange } from './health-check.ts';
import { problemHints } from './hints.ts';
import type { ParseResult } from './problem.ts';
import { field, parsedString } from './schema-builders.ts';

export const SITE_CHECK_TYPES = ['none', 'icmp', 'tcp', 'http', 'https', 'fulcrum'] as const;
export type SiteCheckType = (typeof SITE_CHECK_TYPES)[number];

/** A site's check, resolved: every key has its value; the HTTP keys hold their defaults on other types. */
export interface SiteCheckConfig extends Omit<HealthCheckConfig, 'type' | 'port' | 'dns'> {
  type: SiteCheckType;
  /** Where the check goes; null for type none. icmp has a host only (port 0). */
  target: HostPort | null;
  /** Present on fulcrum checks only. */
  fulcrum?: { virtualService: string; minUp: number };
}

const HTTP_KEYS = ['method', 'path', 'httpVersion', 'host', 'headers', 'body', 'expectStatus', 'expectBody'] as const;
const TIMING_KEYS = ['interval', 'timeout', 'fall', 'rise', 'startAs'] as const;

/** The keys each type reads besides `type`. */
const KEYS_BY_TYPE: Record<SiteCheckType, readonly string[]> = {
  none: [],
  icmp: ['target', ...TIMING_KEYS],
  tcp: ['target', ...TIMING_KEYS],
  http: ['target', ...HTTP_KEYS, ...TIMING_KEYS],
  https: ['target', ...HTTP_KEYS, ...TIMING_KEYS, 'tls'],
  fulcrum: ['target', 'virtualService', 'minUp', ...TIMING_KEYS],
};

const DEFAULT_TIMEOUT_MS = 2000;

/** The real servers' check keys, reused for their parsing and hints; health-check.ts owns them. */
const realServerSpec = HealthCheckSpecSchema.unwrap();
const rs = realServerSpec.shape;
/** Their defaults, the same for a site: `healthCheck: {}` parsed. */
const DEFAULTS = realServerSpec.parse({});

/**
 * A real-server check key as an optional GSLB key with its own description: the parser (and
 * problem hint) of health-check.ts, with the default shown in the docs but applied by
 * resolveCheck, so that a key written on the wrong type can be told from a default. zod drops a
 * `default` annotation over a parsed (piped) value, so those keys name their default in the text.
 */
function reused<T extends z.ZodType>(written: z.ZodType, inner: T, description: string, defaultValue?: unknown): z.ZodOptional<T> {
  const schema = inner.optional().describe(description);
  const hint = problemHints.get(inner) ?? problemHints.get(written);
  if (hint !== undefined) problemHints.add(schema, hint);
  return defaultValue === undefined ? schema : schema.meta({ default: defaultValue });
}

function parseTarget(text: string): ParseResult<HostPort> {
  // icmp needs a host only; accept it bare ("192.0.2.1", "2001:db8::1") and with brackets.
  if (isIPv6(text)) return { ok: true, value: { host: text, port: 0 } };
  if (!text.includes(':') || /^\[[^\]]*\]$/.test(text)) {
    const probe = parseHostPort(`${text}:1`, { wildcard: false });
    return probe.ok ? { ok: true, value: { host: probe.value.host, port: 0 } } : probe;
  }
  return parseHostPort(text, { wildcard: false });
}

const CheckInputSchema = z.strictObject({
  type: field(
    z.enum(SITE_CHECK_TYPES),
    'none: no checks, the site counts as up. icmp: an echo request is answered (target is a host). tcp: a connection to target opens. http and https: a request to target gets an expected status (and body). fulcrum: the Fulcrum node whose admin API is at target has at least minUp healthy real servers in virtualService.',
    { noun: 'a site check type' },
  ),
  target: field(
    parsedString(parseTarget, '^(\\[[0-9A-Za-z:.%]+\\]|[^\\s\\[\\]]+)(:[0-9]{1,5})?$').optional(),
    'Where the check goes, host:port (icmp: a host), e.g. 10.0.1.10:80; separate from the addresses the site hands out, which the checker often cannot reach the same way. Required unless type is none. fulcrum: the other node\'s admin API, e.g. 10.0.2.5:9090.',
    { noun: 'a check target', allowed: 'host:port, e.g. 10.0.1.10:80, [2001:db8::1]:443; a host alone for icmp' },
  ),
  method: reused(rs.method, rs.method.unwrap(), 'http, https: the HTTP method of the check request.', DEFAULTS.method),
  path: reused(rs.path, rs.path.unwrap(), 'http, https: the path (and query) to request, e.g. /health.', DEFAULTS.path),
  httpVersion: reused(rs.httpVersion, rs.httpVersion.unwrap(), 'http, https: HTTP version of the check request; "1.1" (default) sends a Host header (host, or the target\'s host).'),
  host: reused(rs.host, rs.host.unwrap(), 'http, https: Host header (HTTP/1.1) and TLS SNI name, e.g. www.example.com; default: the host of target.'),
  headers: reused(rs.headers, rs.headers.unwrap(), 'http, https: extra request headers, e.g. { User-Agent: fulcrum-gslb }. Default: none.'),
  body: reused(rs.body, rs.body.unwrap(), 'http, https: request body (for POST); default: none.'),
  expectStatus: reused(rs.expectStatus, rs.expectStatus.unwrap(), 'http, https: status codes that mean up: codes (404) and ranges ("200-299"). Default: any 2xx, 301, 302 and 401.'),
  expectBody: reused(rs.expectBody, rs.expectBody.unwrap(), 'http, https: a regular expression the first 4 KiB of a 2xx body must match, e.g. "OK|healthy".'),
  tls: field(
    z.strictObject({ verify: field(z.boolean().optional(), 'Verify the certificate chain and that it names host. Default: false (internal servers often use self-signed certificates).') }).optional(),
    'https: TLS settings. SNI is host (without its port) unless host is an IP address.',
  ),
  virtualService: field(z.string().regex(/^[A-Za-z0-9._-]+$/).max(64).optional(), 'fulcrum: the name of the virtual service on the other node whose real servers decide (required).', {
    noun: 'a virtual service name',
  }),
  minUp: field(z.int().min(1).max(100_000).optional().meta({ default: 1 }), 'fulcrum: the site is up while that virtual service has at least this many healthy real servers.'),
  interval: reused(rs.interval, rs.interval.unwrap(), `Time between checks of the site. Default: ${formatDuration(DEFAULTS.interval)}.`),
  timeout: reused(rs.timeout, rs.timeout.unwrap(), 'How long one check may take; at most interval (the next check of a site starts when the last one ended, and never sooner than interval after the last one started). Default: 2s, or half the interval when that is shorter.'),
  fall: reused(rs.fall, rs.fall.unwrap(), 'Consecutive failed checks that mark an up site down (then siteFailure.delay applies).', DEFAULTS.fall),
  rise: reused(rs.rise, rs.rise.unwrap(), 'Consecutive passed checks that bring a down site back (with siteFailure.recovery automatic).', DEFAULTS.rise),
  startAs: reused(rs.startAs, rs.startAs.unwrap(), 'The state before the first check: up (answers include the site at once) or down (only after its first passed check).', DEFAULTS.startAs),
});

type CheckInput = z.output<typeof CheckInputSchema>;

/** What a site without `check` gets; a fresh object each time, as every parsed check is. */
export function noCheck(): SiteCheckConfig {
  return resolveCheck({ type: 'none' }, null);
}

function resolveCheck(input: CheckInput, ctx: z.RefinementCtx | null): SiteCheckConfig {
  const report = (key: string, message: string): void => ctx?.addIssue({ code: 'custom', path: [key], input: undefined, message });
  const allowed = KEYS_BY_TYPE[input.type];
  for (const [key, value] of Object.entries(input)) {
    if (key === 'type' || value === undefined || allowed.includes(key)) continue;
    const users = SITE_CHECK_TYPES.filter((type) => KEYS_BY_TYPE[type].includes(key));
    report(key, `${key} applies to ${users.join(' and ')} checks only, and this check is type ${input.type}; remove it, or change type`);
  }
  if (input.type !== 'none' && input.target === undefined) report('target', `a ${input.type} check needs a target (where the check goes), e.g. ${input.type === 'fulcrum' ? '10.0.2.5:9090' : input.type === 'icmp' ? '10.0.1.10' : '10.0.1.10:80'}`);
  if (input.type === 'icmp' && input.target !== undefined && input.target.port !== 0) {
    report('target', `an icmp check goes to a host, without a port; write ${JSON.stringify(input.target.host)}`);
  }
  if (input.target !== undefined && input.target.port === 0 && input.type !== 'icmp' && input.type !== 'none') {
    report('target', `a ${input.type} check needs a port in its target, e.g. ${formatAddress({ host: input.target.host, port: 80 })}`);
  }
  if (input.type === 'fulcrum' && input.virtualService === undefined) report('virtualService', 'a fulcrum check needs virtualService: the name of the virtual service on the other node');
  const interval = input.interval ?? DEFAULTS.interval;
  const timeout = input.timeout ?? Math.min(DEFAULT_TIMEOUT_MS, Math.floor(interval / 2));
  // Equal is allowed (the issue's sample has interval 1s, timeout 1s): a site's checks run one after another.
  if (timeout > interval) {
    report(input.timeout !== undefined ? 'timeout' : 'interval', `timeout ${formatDuration(timeout)} is longer than interval ${formatDuration(interval)}; lower timeout or raise interval`);
  }
  const check: SiteCheckConfig = {
    type: input.type,
    target: input.type === 'none' ? null : (input.target ?? null),
    method: input.method ?? DEFAULTS.method,
    path: input.path ?? DEFAULTS.path,
    httpVersion: input.httpVersion ?? DEFAULTS.httpVersion,
    host: input.host ?? null,
    headers: { ...(input.headers ?? {}) },
    body: input.body ?? '',
    expectStatus: (input.expectStatus ?? DEFAULTS.expectStatus).map(([low, high]): StatusRange => [low, high]),
    expectBody: input.expectBody ?? null,
    interval,
    timeout,
    fall: input.fall ?? DEFAULTS.fall,
    rise: input.rise ?? DEFAULTS.rise,
    startAs: input.startAs ?? DEFAULTS.startAs,
    tls: { verify: input.tls?.verify ?? DEFAULTS.tls.verify },
  };
  if (input.type === 'fulcrum') check.fulcrum = { virtualService: input.virtualService ?? '', minUp: input.minUp ?? 1 };
  return check;
}

export const SiteCheckSchema = field(
  CheckInputSchema.transform(resolveCheck).optional(),
  'How Fulcrum tells whether the site is up. Default: type none (always up).',
);

/**
 * The check as the real-server probes (src/health) take it, for tcp, http and https; null for
 * the types they do not run. `probe(check.target, asHealthCheck(check))` runs one check.
 */
export function asHealthCheck(check: SiteCheckConfig): HealthCheckConfig | null {
  if (check.type !== 'tcp' && check.type !== 'http' && check.type !== 'https') return null;
  const { target: _target, fulcrum: _fulcrum, ...rest } = check;
  return { ...rest, type: check.type, port: null };
}
