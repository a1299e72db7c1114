/**
 * The one definition of the Fulcrum config: validation, defaults, the JSON Schema for editors,
 * docs/configuration.md and (later) the API's OpenAPI document and console tooltips all come
 * from here. Objects are strict: an unknown key is an error, never silently ignored.
 */
import { z } from 'zod';
import { AdaptiveSchema, checkAdaptiveScheduler } from './adaptive.ts';
import { AdminSchema } from './admin.ts';
import { ADDRESS_PATTERN, parseHostPort } from './address.ts';
import { GslbSchema } from './gslb.ts';
import { HealthCheckSpecSchema } from './health-check.ts';
import { PoolRealServerSchema, PoolSchema, type PoolConfig } from './pool.ts';
import { resolvePools } from './resolve-pools.ts';
import { AccessSchema, makeRulesSchema } from './rules.ts';
import { RateLimitSchema, RuleRateLimitSchema } from './rate-limit.ts';
import { TrustedProxiesSchema } from './trusted-proxies.ts';
import { RedirectToHttpsSchema, TlsSchema } from './tls.ts';
import { Http2Schema } from './http2.ts';
import { GeoipDatabaseSchema } from './gslb-geo.ts';
import { FtpVirtualServiceSchema, TcpVirtualServiceSchema, UdpVirtualServiceSchema, resolveInlineHealthChecks } from './l4-services.ts';
import { DrainTimeoutSchema, PersistenceSchema } from './persistence.ts';
import { duration, field, integer, parsedString } from './schema-builders.ts';
import { acceptProxyProtocol, listen, name, outlierDetection, poolRef, protocol, retries, scheduler, slowStart, sorryServer } from './service-fields.ts';

export { REAL_SERVER_STATES, SCHEDULING_METHODS, type RealServerState, type SchedulingMethod } from './service-fields.ts';

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
  clientBody: duration(
    '30s',
    'A request body must move on by at least 4 KiB (or end) within each period this long, or the client gets 408 and is closed: a client that trickles a byte now and then cannot hold a connection and a real server for ever.',
  ),
  connect: duration('3s', 'Time to open a TCP connection to a real server before trying another (see retries).'),
  response: duration('60s', "How long to wait for a real server's response head after sending the request."),
  upstreamIdle: duration(
    '4s',
    "How long an idle connection to a real server is kept for reuse (the inline pool's keepAlive.idle; a pool under pools: has its own). Keep it below the server's own keep-alive timeout (5s in Node, 75s in nginx) so Fulcrum never reuses a connection the server is closing.",
  ),
});

const LimitsSchema = z.strictObject({
  maxHeaderBytes: integer(1, 1_048_576, 16_384, 'Largest request head (request line and headers) in bytes; a larger one is answered 431.'),
  // 1024: the size of the worker's header offset table (src/exchange/tables.ts FIELD_TABLE_CAPACITY).
  maxHeaders: integer(1, 1024, 100, 'Most header fields in one request; more are answered 431.'),
  maxUriBytes: integer(1, 1_048_576, 8_192, 'Longest request target (URI) in bytes; a longer one is answered 414.'),
  maxConnections: integer(1, 1_000_000, 10_000, 'Most client connections open at once on this virtual service, per worker process.'),
  maxIdlePerServer: integer(1, 100_000, 64, "Most idle keep-alive connections kept open to each real server (the inline pool's keepAlive.maxIdlePerServer; a pool under pools: has its own)."),
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

const HttpVirtualServiceSchema = z.strictObject({
  name,
  listen,
  protocol: protocol('http'),
  acceptProxyProtocol,
  pool: poolRef,
  scheduler,
  forwardedHeaders: field(ForwardedHeadersSchema.prefault({}), 'Which headers tell the real server about the client.'),
  timeouts: field(TimeoutsSchema.prefault({}), 'Timeouts, each a duration such as 500ms, 10s or 1m30s.'),
  limits: field(LimitsSchema.prefault({}), 'Size and count limits that protect Fulcrum and the real servers.'),
  retries: retries('a request could not be delivered; a request that may have reached a server is never replayed'),
  slowStart,
  sorryServer,
  notAvailable: field(NotAvailableSchema.prefault({}), 'The answer when no real server (and no sorry server) is available.'),
  outlierDetection,
  adaptive: AdaptiveSchema,
  persistence: PersistenceSchema,
  drainTimeout: DrainTimeoutSchema,
  healthCheck: HealthCheckSpecSchema,
  realServers: field(z.array(PoolRealServerSchema).min(1).optional(), 'The real servers (backends) of the virtual service\'s own pool, when it names no pool:.'),
  rules: makeRulesSchema(RuleRateLimitSchema).default([]),
  access: field(AccessSchema.optional(), 'Who may use this virtual service, by client network and country; others get its status (403). Checked before the rules.'),
  rateLimit: RateLimitSchema,
  trustedProxies: TrustedProxiesSchema,
  http2: field(Http2Schema.prefault({}), 'HTTP/2: cleartext prior knowledge (h2c) on http services, the SETTINGS announced, and the abuse limits. Every stream is a request on the same path as HTTP/1.1 (rules, limits, pools, logs); real servers are spoken to in HTTP/1.1.'),
  redirectToHttps: field(
    RedirectToHttpsSchema.optional(),
    'Answer every request with a redirect to the same host and path over HTTPS (the HTTP-to-HTTPS service in one line); such a service needs no pool.',
  ),
});

/** An HTTP virtual service that terminates TLS: everything an http one has, and its certificates. */
const HttpsVirtualServiceSchema = HttpVirtualServiceSchema.omit({ redirectToHttps: true }).extend({
  protocol: protocol('https'),
  tls: field(TlsSchema, 'TLS termination: certificates chosen by SNI, the policy (versions and ciphers), ALPN, HSTS.'),
  http2: field(
    Http2Schema.extend({ cleartext: field(z.literal(false).default(false), 'Cleartext HTTP/2 (h2c) is for http services; over TLS, HTTP/2 is on when tls.alpn lists h2.') }).prefault({}),
    'HTTP/2 (on when tls.alpn lists h2): the SETTINGS announced and the abuse limits. Every stream is a request on the same path as HTTP/1.1 (rules, limits, pools, logs); real servers are spoken to in HTTP/1.1.',
  ),
});

/** One member per protocol, each a strict object with its `protocol` literal. */
const VirtualServiceSchema = field(
  // The transform gives each real server its resolved health check (service spec + its override).
  z.discriminatedUnion('protocol', [
    HttpVirtualServiceSchema.superRefine(checkAdaptiveScheduler).transform(resolveInlineHealthChecks),
    HttpsVirtualServiceSchema.superRefine(checkAdaptiveScheduler).transform(resolveInlineHealthChecks),
    TcpVirtualServiceSchema.superRefine(checkAdaptiveScheduler).transform(resolveInlineHealthChecks),
    UdpVirtualServiceSchema.superRefine(checkAdaptiveScheduler).transform(resolveInlineHealthChecks),
    FtpVirtualServiceSchema.superRefine(checkAdaptiveScheduler).transform(resolveInlineHealthChecks),
  ]),
  'A virtual service (front end): a listen address with a protocol (http, https, tcp, udp or ftp) that sends its traffic to a pool of real servers, named with pool: or written inline (realServers, scheduler, ...).',
);

const AccessLogSchema = z.strictObject({
  path: field(z.string().min(1).default('stdout'), '"stdout", "stderr" or a file path to append to.'),
  format: field(z.enum(['json']).default('json'), 'Line format; one JSON object per request.', { noun: 'an access log format' }),
});


const ConfigObjectSchema = z.strictObject({
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
  // Absent means none (a DNS-only config has gslb alone); a written list still needs an entry.
  pools: field(z.array(PoolSchema).optional(), 'Pools of real servers that virtual services and rules route to by name (pool:). A virtual service may instead list its real servers itself.'),
  virtualServices: field(z.array(VirtualServiceSchema).min(1).optional(), 'The virtual services, each with its own listen address. A config needs virtualServices, gslb, or both.'),
  gslb: GslbSchema,
  geoipDatabase: field(
    GeoipDatabaseSchema,
    'A MaxMind DB file (.mmdb, GeoLite2 or GeoIP2 Country or City) that tells the country of a client, for rules that match on country and access lists by country; null (default): the GSLB section\'s geoipDatabase when it has one, else none (a country condition then never holds).',
  ),
  admin: field(
    AdminSchema.optional(),
    'The admin listener: the REST API (/api/v1, described at /api/v1/openapi.json), the web console (/) and Prometheus metrics (/metrics); `fulcrum status`, `rs`, `config` and the console use it. Off when absent. Users and API tokens guard it; without any user it answers only on loopback.',
  ),
});

export const ConfigSchema = ConfigObjectSchema
  .superRefine((config, ctx) => {
    if (config.virtualServices === undefined && config.gslb === undefined) {
      ctx.addIssue({ code: 'custom', path: [], input: undefined, message: 'a config needs virtualServices, gslb, or both' });
    }
  })
  // The rest of Fulcrum reads lists: a gslb-only config has no virtual services, not an unknown
  // number; every pool, inline or not, is in `pools`, and every virtual service names its pool.
  .transform(resolvePools);

export type Config = z.output<typeof ConfigSchema>;
/** A virtual service as parsed, with its inline pool keys (resolvePools moves them into a pool). */
export type ParsedVirtualServiceConfig = z.output<typeof VirtualServiceSchema>;
export type ParsedConfig = z.output<typeof ConfigObjectSchema>;
export type VirtualServiceConfig = Config['virtualServices'][number];
export type { PoolConfig };
export type RealServerConfig = PoolConfig['realServers'][number];
export type HttpServiceConfig = Extract<VirtualServiceConfig, { protocol: 'http' | 'https' }>;
export type HttpsServiceConfig = Extract<VirtualServiceConfig, { protocol: 'https' }>;
export type TcpServiceConfig = Extract<VirtualServiceConfig, { protocol: 'tcp' }>;
export type UdpServiceConfig = Extract<VirtualServiceConfig, { protocol: 'udp' }>;
export type FtpServiceConfig = Extract<VirtualServiceConfig, { protocol: 'ftp' }>;
export type { HealthCheckConfig } from './health-check.ts';
export type { GslbConfig } from './gslb.ts';
export type ConfigInput = z.input<typeof ConfigSchema>;

/** The settings only an HTTP virtual service has; the data path reads them through VirtualService.http. */
export type HttpSettings = Pick<HttpServiceConfig, 'timeouts' | 'limits' | 'forwardedHeaders' | 'notAvailable'>;
