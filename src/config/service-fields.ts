/**
 * The keys every kind of virtual service shares (HTTP, TCP, UDP, FTP): its name and listen
 * address, its real servers, how one is picked and what happens when one fails. schema.ts and
 * l4-services.ts build the protocols' virtual services from these.
 */
import { z } from 'zod';
import { ADDRESS_PATTERN, parseHostPort } from './address.ts';
import { DURATION_ALLOWED, DURATION_PATTERN, parseDurationOrZero } from './duration.ts';
import { HealthCheckOverrideSchema } from './health-check.ts';
import { duration, field, integer, parsedString } from './schema-builders.ts';
import { SCHEDULER_REGISTRY, SCHEDULING_METHODS } from '../scheduling/registry.ts';

export { SCHEDULING_METHODS, type SchedulingMethod } from '../scheduling/registry.ts';

export const REAL_SERVER_STATES = ['enabled', 'disabled', 'drain'] as const;
export type RealServerState = (typeof REAL_SERVER_STATES)[number];

const OutlierDetectionSchema = z.strictObject({
  consecutiveFailures: integer(1, 1000, 5, 'Consecutive failed requests (connect failure, reset, timeout, 5xx) that eject a real server.'),
  ejectFor: duration('30s', 'How long an ejected real server gets no traffic before it is tried again.'),
  maxEjectedPercent: integer(1, 100, 50, 'Never eject more than this share of the real servers at once (Envoy\'s ejection cap): a pool-wide problem is not solved by ejecting everyone.'),
});

export const RealServerSchema = z.strictObject({
  address: field(
    parsedString((text) => parseHostPort(text, { wildcard: false }), ADDRESS_PATTERN),
    'Where the real server listens: an IPv4 address, [IPv6] address or host name, and a port (required).',
    { noun: 'an address', allowed: 'host:port, e.g. 10.0.0.5:80, [2001:db8::1]:8080, localhost:9001' },
  ),
  weight: integer(0, 65_535, 100, "Share of new traffic relative to the other real servers' weights; 0 sends it no new traffic."),
  enabled: field(z.boolean().default(true), 'false takes the real server out of rotation without removing it from the file (the same as state: disabled).'),
  state: field(
    z.enum(REAL_SERVER_STATES).optional(),
    'enabled: takes traffic. disabled: takes none. drain: takes no new clients while requests in flight (and, with persistence, clients persisted to it) finish; use it before patching or live-migrating the server.',
    { noun: 'a real server state' },
  ),
  healthCheck: HealthCheckOverrideSchema,
}).describe('A real server (backend): its address, weight and whether it takes traffic.');

export const name = field(
  z.string().regex(/^[A-Za-z0-9._-]+$/).max(64),
  'Unique name of the virtual service (letters, digits, ".", "_", "-"); logs, metrics and the API refer to it by this name.',
  { noun: 'a virtual service name', allowed: 'letters, digits, ".", "_" and "-", at most 64 characters' },
);

export const listen = field(
  parsedString((text) => parseHostPort(text, { wildcard: true }), ADDRESS_PATTERN),
  'The address and port clients connect to (the VIP). "*" or 0.0.0.0 means every IPv4 address, [::] every address.',
  { noun: 'a listen address', allowed: 'host:port, e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:80, *:80' },
);

/** The name of the pool a virtual service sends its traffic to (unless a rule says otherwise). */
export const poolRef = field(
  z.string().min(1).max(64).optional(),
  'The pool this virtual service sends its traffic to, unless a rule routes elsewhere: one under pools:, or another virtual service\'s own pool (by that service\'s name). Instead of pool:, a virtual service may list realServers (and scheduler, healthCheck, ...) itself: a pool of its own, named after it.',
  { noun: 'a pool name' },
);


export function protocol<P extends string>(value: P) {
  return field(z.literal(value), 'The protocol the virtual service speaks (http, https, tcp, udp or ftp); it decides which other keys apply.', {
    noun: 'a protocol',
  });
}

export const scheduler = field(
  z.enum(SCHEDULING_METHODS).default('round-robin'),
  `How a new request (HTTP) or connection (TCP, FTP) or session (UDP) picks a real server. ${SCHEDULER_REGISTRY.map((m) => `${m.name}: ${m.description}`).join(' ')}`,
  { noun: 'a scheduling method' },
);

export function retries(what: string) {
  return integer(0, 10, 1, `How many other real servers to try when ${what}.`);
}

export const slowStart = field(
  parsedString(parseDurationOrZero, DURATION_PATTERN).prefault('0s'),
  'A real server that comes up or is enabled ramps from a small share to its full weight over this time (0s: at once). Spares a cold application server a thundering herd.',
  { noun: 'a duration', allowed: `0s, or ${DURATION_ALLOWED}` },
);

export const sorryServer = field(
  parsedString((text) => parseHostPort(text, { wildcard: false }), ADDRESS_PATTERN).optional(),
  'Where clients go when no real server is available (host:port). It is not health checked.',
  { noun: 'an address', allowed: 'host:port, e.g. 10.0.0.99:80' },
);

export type OutlierDetectionConfig = z.output<typeof OutlierDetectionSchema>;

export const outlierDetection = field(
  z.union([z.literal(false), z.literal('off').transform((): false => false), OutlierDetectionSchema]).default(false),
  'Passive health: eject a real server after consecutive failures seen on live traffic (connect failures, resets, and for HTTP 5xx answers), for a while. off by default.',
  { noun: 'an outlier detection setting', allowed: 'off, or { consecutiveFailures, ejectFor, maxEjectedPercent }' },
);

export const acceptProxyProtocol = field(
  z.boolean().default(false),
  'Expect a PROXY protocol header (v1 or v2, detected) at the start of every client connection, as sent by another load balancer in front of Fulcrum; the client address it carries is the one Fulcrum uses (X-Forwarded-For, source-IP persistence and scheduling, the access log). A connection without a valid header is closed and logged. Only enable it when every client comes through such a balancer: anyone who can connect could otherwise claim any address.',
);

export const PROXY_PROTOCOL_VERSIONS = ['off', 'v1', 'v2'] as const;
export type ProxyProtocolVersion = (typeof PROXY_PROTOCOL_VERSIONS)[number];

export const sendProxyProtocol = field(
  z.enum(PROXY_PROTOCOL_VERSIONS).default('off'),
  'Send a PROXY protocol header to the real server at the start of each connection, so that it sees the client\'s address and port without routing tricks: v1 (text, HAProxy 1.5+, nginx, IIS with a module) or v2 (binary, also carries IPv6 and the destination). The real server must expect it, or it reads the header as data.',
  { noun: 'a PROXY protocol version' },
);

/** The transport a virtual service listens on: UDP for udp services, TCP for every other protocol (their ports never clash with UDP ones). */
export function transportOf(vs: { protocol: string }): 'udp' | 'tcp' {
  return vs.protocol === 'udp' ? 'udp' : 'tcp';
}
