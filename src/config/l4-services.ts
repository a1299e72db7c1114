/**
 * The Layer 4 virtual services: tcp (any stream: NTRIP, RDP, SMTP, HTTP passed through untouched),
 * udp (datagrams in sessions: DNS, syslog) and ftp (a control connection whose passive and active
 * data connections Fulcrum follows). They share the real servers, schedulers, health checks and
 * persistence of the HTTP service (service-fields.ts); what differs is here.
 */
import { z } from 'zod';
import { AdaptiveSchema } from './adaptive.ts';
import { DURATION_ALLOWED, DURATION_PATTERN, parseDurationOrZero } from './duration.ts';
import { HealthCheckSpecSchema, resolveHealthChecks, type VirtualServiceProtocol } from './health-check.ts';
import { DrainTimeoutSchema, PersistenceSchema } from './persistence.ts';
import type { ParseResult } from './problem.ts';
import { duration, field, integer, parsedString } from './schema-builders.ts';
import { PoolRealServerSchema } from './pool.ts';
import { RateLimitSchema } from './rate-limit.ts';
import { AccessSchema } from './rules.ts';
import { StreamTlsSchema } from './tls.ts';
import {
  acceptProxyProtocol,
  listen,
  name,
  outlierDetection,
  poolRef,
  protocol,
  retries,
  scheduler,
  sendProxyProtocol,
  slowStart,
  sorryServer,
} from './service-fields.ts';

const StreamTimeoutsSchema = z.strictObject({
  connect: duration('3s', 'Time to open a TCP connection to a real server before trying another (see retries).'),
  idle: duration('15m', 'A connection on which neither side sent anything for this long is closed. Long-lived streams that can be silent (RDP, idle NTRIP clients) need a long one.'),
  drainCut: field(
    parsedString(parseDurationOrZero, DURATION_PATTERN).prefault('0s'),
    'Connections to a real server that is drained or disabled are cut this long after it stopped taking new clients. 0s (default): never; they end by themselves.',
    { noun: 'a duration', allowed: `0s (never), or ${DURATION_ALLOWED}` },
  ),
});

const QueueSchema = z.strictObject({
  size: integer(0, 100_000, 1000, 'Most connections that wait at once, in arrival order, for a free slot when the virtual service or every available real server is at its maxConnections; past it, new connections are refused (closed). 0: refuse at once, never queue.'),
  timeout: duration('5s', 'How long a connection may wait in the queue before it is closed.'),
});

const StreamLimitsSchema = z.strictObject({
  maxConnections: integer(1, 1_000_000, 10_000, 'Most client connections served at once by this virtual service, per worker process; more wait in the queue.'),
  queue: field(QueueSchema.prefault({}), 'What happens to connections over a limit: they wait in an ordered queue (HAProxy\'s maxconn queue) or are refused.'),
});

const streamRealServers = field(
  z.array(PoolRealServerSchema).min(1).optional(),
  "The real servers (backends) of the virtual service's own pool, when it names no pool:.",
);

/**
 * The inline pool's health checks, resolved against the virtual service's protocol (a
 * virtual service that names a pool: has none of its own; resolve-pools.ts resolves that pool's).
 */
export function resolveInlineHealthChecks<VS extends { protocol: VirtualServiceProtocol; healthCheck?: unknown; realServers?: readonly unknown[] | undefined }>(vs: VS, ctx: z.RefinementCtx): VS {
  if (vs.realServers === undefined) return vs;
  return resolveHealthChecks(vs as unknown as Parameters<typeof resolveHealthChecks>[0], ctx) as unknown as VS;
}

export const TcpVirtualServiceSchema = z.strictObject({
  name,
  listen,
  protocol: protocol('tcp'),
  acceptProxyProtocol,
  pool: poolRef,
  sendProxyProtocol,
  scheduler,
  timeouts: field(StreamTimeoutsSchema.prefault({}), 'Timeouts, each a duration such as 500ms, 10s or 1h.'),
  limits: field(StreamLimitsSchema.prefault({}), 'Connection limits and the queue for connections over them.'),
  retries: retries('a connection to a real server cannot be opened (refused, unreachable or past timeouts.connect)'),
  slowStart,
  sorryServer,
  outlierDetection,
  adaptive: AdaptiveSchema,
  persistence: PersistenceSchema,
  drainTimeout: DrainTimeoutSchema,
  healthCheck: HealthCheckSpecSchema,
  realServers: streamRealServers,
  access: field(AccessSchema.optional(), 'Who may connect, by client network and country; a connection from anyone else is closed at once (the status is not used).'),
  rateLimit: RateLimitSchema,
  tls: field(
    StreamTlsSchema.optional(),
    'Terminate TLS for this TCP service (an NTRIP caster or any line protocol behind TLS): certificates by SNI, the policy, session tickets as for https; the real servers get the decrypted bytes. The handshake runs after access, connection limits and the PROXY header, before rdp-cookie reads the first packet.',
  ),
});

const UdpSettingsSchema = z.strictObject({
  sessionTimeout: duration('30s', 'A client (address and port) that sent nothing for this long loses its session; its next datagram may go to another real server.'),
  maxSessions: integer(1, 1_000_000, 10_000, 'Most client sessions (each holds one socket towards its real server) per worker process; past it the least recently used session is closed.'),
});

export const UdpVirtualServiceSchema = z.strictObject({
  name,
  listen,
  protocol: protocol('udp'),
  pool: poolRef,
  scheduler,
  udp: field(UdpSettingsSchema.prefault({}), 'How datagrams are grouped into sessions: each client address and port sticks to one real server while it keeps sending.'),
  slowStart,
  adaptive: AdaptiveSchema,
  persistence: PersistenceSchema,
  drainTimeout: DrainTimeoutSchema,
  healthCheck: HealthCheckSpecSchema,
  realServers: field(z.array(PoolRealServerSchema).min(1).optional(), "The real servers (backends) of the virtual service's own pool, when it names no pool:."),
  access: field(AccessSchema.optional(), 'Who may connect, by client network and country; a connection from anyone else is closed at once (the status is not used).'),
  rateLimit: RateLimitSchema,
});

export const FTP_MODES = ['alg', 'port-following'] as const;
export type FtpMode = (typeof FTP_MODES)[number];

export interface PortRange {
  first: number;
  last: number;
}

export function parsePortRange(text: string): ParseResult<PortRange> {
  const match = /^([0-9]{1,5})-([0-9]{1,5})$/.exec(text);
  if (match === null) return { ok: false, message: `"${text}" is not a port range; write FIRST-LAST, e.g. 30000-30199` };
  const first = Number(match[1]);
  const last = Number(match[2]);
  if (first < 1024 || last > 65_535) return { ok: false, message: `"${text}" is outside 1024-65535; passive ports are unprivileged ports, e.g. 30000-30199` };
  if (last < first) return { ok: false, message: `"${text}" ends before it starts`, suggestion: `${last}-${first}` };
  if (last - first >= 10_000) return { ok: false, message: `"${text}" has ${last - first + 1} ports; at most 10000` };
  return { ok: true, value: { first, last } };
}

const FtpSettingsSchema = z.strictObject({
  mode: field(
    z.enum(FTP_MODES).default('alg'),
    'alg: Fulcrum reads the control connection, answers PASV and EPSV with a port of its own from passivePorts and carries the data connection to the same real server (plain FTP). port-following: for explicit FTPS (AUTH TLS), whose control connection cannot be read; Fulcrum listens on passivePorts and forwards each data connection to the real server holding that client\'s control connection, on the same port, so the real servers must use the same passive range and announce the virtual service\'s address.',
    { noun: 'an FTP mode' },
  ),
  passivePorts: field(
    parsedString(parsePortRange, '^[0-9]{1,5}-[0-9]{1,5}$'),
    'The ports Fulcrum listens on for passive data connections, e.g. 30000-30199 (open them in the firewall). alg: Fulcrum picks one per transfer. port-following: the same range the real servers use.',
    { noun: 'a port range', allowed: 'FIRST-LAST within 1024-65535, e.g. 30000-30199' },
  ),
  activeMode: field(
    z.enum(['proxy', 'refuse']).default('proxy'),
    'alg: what to do with active mode (PORT, EPRT), where the server connects back to the client. proxy: Fulcrum takes the server\'s data connection on an address of its own and connects to the client. refuse: answer 502 so that the client falls back to passive mode.',
    { noun: 'an active mode setting' },
  ),
});

export const FtpVirtualServiceSchema = z.strictObject({
  name,
  listen,
  protocol: protocol('ftp'),
  pool: poolRef,
  scheduler,
  ftp: field(FtpSettingsSchema, 'How Fulcrum follows FTP data connections.'),
  timeouts: field(StreamTimeoutsSchema.prefault({}), 'Timeouts of the control connection, each a duration such as 500ms, 10s or 1h; a data connection in progress keeps its control connection open.'),
  limits: field(StreamLimitsSchema.prefault({}), 'Control connection limits and the queue for connections over them.'),
  retries: retries('a connection to a real server cannot be opened'),
  slowStart,
  outlierDetection,
  adaptive: AdaptiveSchema,
  persistence: PersistenceSchema,
  drainTimeout: DrainTimeoutSchema,
  healthCheck: HealthCheckSpecSchema,
  realServers: streamRealServers,
  access: field(AccessSchema.optional(), 'Who may connect, by client network and country; a connection from anyone else is closed at once (the status is not used).'),
  rateLimit: RateLimitSchema,
});
