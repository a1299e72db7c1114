/**
 * The one definition of the Fulcrum config: validation, defaults, the JSON Schema for editors,
 * docs/configuration.md and (later) the API's OpenAPI document and console tooltips all come
 * from here. Objects are strict: an unknown key is an error, never silently ignored.
 */
import { z } from 'zod';
import { AdaptiveSchema, checkAdaptiveScheduler } from './adaptive.ts';
import { ADDRESS_PATTERN, parseHostPort } from './address.ts';
import { DURATION_ALLOWED, DURATION_PATTERN, parseDurationOrZero } from './duration.ts';
import { HealthCheckOverrideSchema, HealthCheckSpecSchema, resolveHealthChecks } from './health-check.ts';
import { DrainTimeoutSchema, PersistenceSchema } from './persistence.ts';
import { duration, field, integer, parsedString } from './schema-builders.ts';

export const SCHEDULING_METHODS = [
  'round-robin',
  'weighted-round-robin',
  'least-connections',
  'weighted-least-connections',
  'source-ip-hash',
  'fixed-weight',
  'random-two-choices',
  'adaptive',
] as const;
export type SchedulingMethod = (typeof SCHEDULING_METHODS)[number];

export const REAL_SERVER_STATES = ['enabled', 'disabled', 'drain'] as const;
export type RealServerState = (typeof REAL_SERVER_STATES)[number];





const ForwardedHeadersSchema = z.strictObject({
  xForwardedFor: field(
    z.enum(['append', 'replace', 'off']).default('append'),
    'X-Forwarded-For: "append" adds the client address to the list the client sent; "replace" sends only the client address (use it on the edge, where a client-sent list cannot be trusted); "off" leaves the header untouched.',
    { noun: 'an X-Forwarded-For mode' },
  ),
  xForwardedProto: field(z.boolean().default(true), 'Set X-Forwarded-Proto to the scheme the client used.'),
  xForwardedHost: field(z.boolean().default(true), 'Set X-Forwarded-Host to the Host the client asked for.'),
  forwarded: field(z.boolean().default(false), 'Add an RFC 7239 Forwarded header (for=, proto=, host=).'),
});

const TimeoutsSchema = z.strictObject({
  clientHeader: duration('10s', 'Time a client has to send a complete request head; guards against slow-loris clients.'),
  clientIdle: duration('75s', 'How long a keep-alive client connection may sit idle between requests before it is closed.'),
  connect: duration('3s', 'Time to open a TCP connection to a real server before trying another (see retries).'),
  response: duration('60s', "How long to wait for a real server's response head after sending the request."),
  upstreamIdle: duration(
    '4s',
    "How long an idle connection to a real server is kept for reuse. Keep it below the server's own keep-alive timeout (5s in Node, 75s in nginx) so Fulcrum never reuses a connection the server is closing.",
  ),
});

const LimitsSchema = z.strictObject({
  maxHeaderBytes: integer(1, 1_048_576, 16_384, 'Largest request head (request line and headers) in bytes; a larger one is answered 431.'),
  // 1024: the size of the worker's header offset table (src/l7/engine-context.ts FIELD_TABLE_CAPACITY).
  maxHeaders: integer(1, 1024, 100, 'Most header fields in one request; more are answered 431.'),
  maxUriBytes: integer(1, 1_048_576, 8_192, 'Longest request target (URI) in bytes; a longer one is answered 414.'),
  maxConnections: integer(1, 1_000_000, 10_000, 'Most client connections open at once on this virtual service, per worker process.'),
  maxIdlePerServer: integer(1, 100_000, 64, 'Most idle keep-alive connections kept open to each real server.'),
});

const NotAvailableSchema = z.strictObject({
  status: integer(200, 599, 503, 'HTTP status of the answer Fulcrum gives itself when nothing can serve.'),
  body: field(z.string().max(65_536).optional(), 'Body of that answer (text/plain). Default: a line naming the virtual service and the reason, e.g. 503 Service Unavailable: no real server available (virtual service "web").'),
  redirect: field(
    z.url({ protocol: /^https?$/ }).optional(),
    'Instead of status and body, redirect (302) clients to this URL, e.g. a maintenance page elsewhere.',
    { noun: 'a URL', allowed: 'an http:// or https:// URL' },
  ),
});

const OutlierDetectionSchema = z.strictObject({
  consecutiveFailures: integer(1, 1000, 5, 'Consecutive failed requests (connect failure, reset, timeout, 5xx) that eject a real server.'),
  ejectFor: duration('30s', 'How long an ejected real server gets no traffic before it is tried again.'),
  maxEjectedPercent: integer(1, 100, 50, 'Never eject more than this share of the real servers at once (Envoy\'s ejection cap): a pool-wide problem is not solved by ejecting everyone.'),
});

const RealServerSchema = z.strictObject({
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

const name = field(
  z.string().regex(/^[A-Za-z0-9._-]+$/).max(64),
  'Unique name of the virtual service (letters, digits, ".", "_", "-"); logs, metrics and the API refer to it by this name.',
  { noun: 'a virtual service name', allowed: 'letters, digits, ".", "_" and "-", at most 64 characters' },
);

const listen = field(
  parsedString((text) => parseHostPort(text, { wildcard: true }), ADDRESS_PATTERN),
  'The address and port clients connect to (the VIP). "*" or 0.0.0.0 means every IPv4 address, [::] every address.',
  { noun: 'a listen address', allowed: 'host:port, e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:80, *:80' },
);

const realServers = field(z.array(RealServerSchema).min(1), 'The real servers (backends) that share the traffic.');

/** Each protocol is a strict object with a `protocol` literal; tcp or udp will add their own. */
const HttpVirtualServiceSchema = z.strictObject({
  name,
  listen,
  protocol: field(z.literal('http'), 'The protocol the virtual service speaks; it decides which other keys apply.', {
    noun: 'a protocol',
  }),
  scheduler: field(
    z.enum(SCHEDULING_METHODS).default('round-robin'),
    'How a new request picks a real server: round-robin (in turn); weighted-round-robin (in turn, in proportion to weight); least-connections (fewest requests in flight); weighted-least-connections (fewest in flight relative to weight); source-ip-hash (same client address, same server); fixed-weight (all to the highest weight, the next one on failure); random-two-choices (the less loaded of two random servers); adaptive (in proportion to each server\'s spare capacity as its agent reports it; needs adaptive).',
    { noun: 'a scheduling method' },
  ),
  forwardedHeaders: field(ForwardedHeadersSchema.prefault({}), 'Which headers tell the real server about the client.'),
  timeouts: field(TimeoutsSchema.prefault({}), 'Timeouts, each a duration such as 500ms, 10s or 1m30s.'),
  limits: field(LimitsSchema.prefault({}), 'Size and count limits that protect Fulcrum and the real servers.'),
  retries: integer(0, 10, 1, 'How many other real servers to try when a request could not be delivered; a request that may have reached a server is never replayed.'),
  slowStart: field(
    parsedString(parseDurationOrZero, DURATION_PATTERN).prefault('0s'),
    'A real server that comes up or is enabled ramps from a small share to its full weight over this time (0s: at once). Spares a cold application server a thundering herd.',
    { noun: 'a duration', allowed: `0s, or ${DURATION_ALLOWED}` },
  ),
  sorryServer: field(
    parsedString((text) => parseHostPort(text, { wildcard: false }), ADDRESS_PATTERN).optional(),
    'Where requests go when no real server is available (host:port). It is not health checked.',
    { noun: 'an address', allowed: 'host:port, e.g. 10.0.0.99:80' },
  ),
  notAvailable: field(NotAvailableSchema.prefault({}), 'The answer when no real server (and no sorry server) is available.'),
  outlierDetection: field(
    z.union([z.literal(false), z.literal('off').transform((): false => false), OutlierDetectionSchema]).default(false),
    'Passive health: eject a real server after consecutive failures seen on live traffic (connect failures, resets, 5xx), for a while. off by default.',
    { noun: 'an outlier detection setting', allowed: 'off, or { consecutiveFailures, ejectFor, maxEjectedPercent }' },
  ),
  adaptive: AdaptiveSchema,
  persistence: PersistenceSchema,
  drainTimeout: DrainTimeoutSchema,
  healthCheck: HealthCheckSpecSchema,
  realServers,
});

/** One member per protocol: adding tcp or udp is one more strict object in this list. */
const VirtualServiceSchema = field(
  // The transform gives each real server its resolved health check (service spec + its override).
  z.discriminatedUnion('protocol', [HttpVirtualServiceSchema.superRefine(checkAdaptiveScheduler).transform(resolveHealthChecks)]),
  'A virtual service: a listen address with a protocol, a scheduling method and real servers.',
);

const AccessLogSchema = z.strictObject({
  path: field(z.string().min(1).default('stdout'), '"stdout", "stderr" or a file path to append to.'),
  format: field(z.enum(['json']).default('json'), 'Line format; one JSON object per request.', { noun: 'an access log format' }),
});

const AdminSchema = z.strictObject({
  listen: field(
    parsedString((text) => parseHostPort(text, { wildcard: true }), ADDRESS_PATTERN),
    'Address and port of the admin API (JSON over HTTP), e.g. 127.0.0.1:9090. It has no authentication yet: listen on loopback or a management network only, never where clients reach it.',
    { noun: 'an admin listen address', allowed: 'host:port, e.g. 127.0.0.1:9090, [::1]:9090' },
  ),
});

export const ConfigSchema = z.strictObject({
  workers: field(
    z.union([z.int().min(1).max(256), z.literal('auto')]).default(1),
    'Worker processes that share the listeners; "auto" starts one per CPU core.',
    { noun: 'a worker count', allowed: 'an integer 1..256, or "auto" (one per CPU core)' },
  ),
  accessLog: field(
    z
      .union([z.literal(false), z.literal('off').transform((): false => false), AccessLogSchema])
      .prefault({ path: 'stdout', format: 'json' }),
    'Where to write one line per request, or off (false) for none.',
    { noun: 'an access log setting', allowed: 'off, or { path: stdout | stderr | FILE, format: json }' },
  ),
  virtualServices: field(z.array(VirtualServiceSchema).min(1), 'The virtual services, each with its own listen address.'),
  admin: field(
    AdminSchema.optional(),
    'The admin API (GET /api/v1/status, PUT .../real-servers/ADDRESS/state; `fulcrum status` and `fulcrum rs` use it). Off when absent. No authentication yet: keep it on loopback or a management network.',
  ),
});

export type Config = z.output<typeof ConfigSchema>;
export type VirtualServiceConfig = z.output<typeof VirtualServiceSchema>;
export type RealServerConfig = VirtualServiceConfig['realServers'][number];
export type { HealthCheckConfig } from './health-check.ts';
export type ConfigInput = z.input<typeof ConfigSchema>;
