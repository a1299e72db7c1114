/**
 * A pool: real servers and everything about choosing one and keeping it honest (scheduler,
 * persistence, health check, slow start, outlier detection, sorry server, adaptive agents, the
 * queue for servers at their limit). Pools are protocol neutral: an http, tcp, udp or ftp virtual
 * service (its front end) routes to one, and several virtual services and rules may share it.
 *
 * Written two ways, both valid: a top-level `pools:` entry that virtual services name with
 * `pool:`, or the older inline form (`realServers`, `scheduler`, ... on the virtual service),
 * which is a pool of its own named after the virtual service (resolve-pools.ts builds it).
 */
import { z } from 'zod';
import { AdaptiveSchema, checkAdaptiveScheduler, type AdaptiveConfig } from './adaptive.ts';
import type { HealthCheckConfig } from './health-check.ts';
import { HealthCheckSpecSchema } from './health-check.ts';
import { DrainTimeoutSchema, PersistenceSchema, type PersistenceConfig } from './persistence.ts';
import { duration, field, integer } from './schema-builders.ts';
import { RealServerSchema, outlierDetection, scheduler, slowStart, sorryServer, type OutlierDetectionConfig, type RealServerState } from './service-fields.ts';
import type { HostPort } from './address.ts';
import { PoolTlsSchema, RealServerTlsSchema, type UpstreamTlsConfig } from './upstream-tls.ts';
import type { SchedulingMethod } from '../scheduling/registry.ts';

export const poolName = field(
  z.string().regex(/^[A-Za-z0-9._-]+$/).max(64),
  'Unique name of the pool (letters, digits, ".", "_", "-"); virtual services and rules route to it by this name, and logs and the API show it.',
  { noun: 'a pool name', allowed: 'letters, digits, ".", "_" and "-", at most 64 characters' },
);

export const maxConnections = field(
  z.int().min(1).max(1_000_000).optional(),
  'Most requests (http) or connections (tcp, ftp) this real server takes at once, per worker process; a new one goes to another server, or waits in the pool\'s queue when every server is full; one persisted to this server waits for it (HAProxy\'s maxconn). Default: no limit.',
);

export const PoolRealServerSchema = RealServerSchema.extend({
  maxConnections,
  tls: field(RealServerTlsSchema.optional(), 'TLS to this real server (its SNI name, or another verify or CA than the pool\'s); with it alone, TLS with the defaults.'),
}).describe(
  'A real server (backend): its address, weight, whether it takes traffic, and an optional limit.',
);

export const QueueSchema = z.strictObject({
  size: integer(
    0,
    100_000,
    1000,
    'Most requests or connections that wait at once, in arrival order, for a real server below its maxConnections (and, for tcp and ftp, for a slot under the virtual service\'s maxConnections); past it they are refused (http: 503). 0: refuse at once, never queue.',
  ),
  timeout: duration('5s', 'How long one may wait in the queue before it is refused (http: 503; tcp and ftp: closed).'),
});

export const KeepAliveSchema = z.strictObject({
  idle: duration(
    '4s',
    "How long an idle connection to a real server is kept for reuse (http). Keep it below the server's own keep-alive timeout (5s in Node, 75s in nginx) so Fulcrum never reuses a connection the server is closing.",
  ),
  maxIdlePerServer: integer(1, 100_000, 64, 'Most idle keep-alive connections kept open to each real server (http).'),
});

/** The keys a pool has, written inline on a virtual service or in a `pools:` entry. */
export const POOL_KEYS = [
  'scheduler',
  'slowStart',
  'sorryServer',
  'outlierDetection',
  'adaptive',
  'persistence',
  'drainTimeout',
  'healthCheck',
  'realServers',
] as const;

/**
 * A `pools:` entry. Its health check is resolved later (resolve-pools.ts), once the virtual
 * services that use it say which protocol its real servers speak.
 */
export const PoolSchema = z
  .strictObject({
    name: poolName,
    scheduler,
    slowStart,
    sorryServer,
    outlierDetection,
    adaptive: AdaptiveSchema,
    persistence: PersistenceSchema,
    drainTimeout: DrainTimeoutSchema,
    healthCheck: HealthCheckSpecSchema,
    queue: field(QueueSchema.prefault({}), 'What happens to requests or connections when every real server is at its maxConnections: they wait in an ordered queue, or are refused.'),
    keepAlive: field(KeepAliveSchema.prefault({}), 'HTTP keep-alive connections to the real servers, shared by every http virtual service that uses the pool.'),
    tls: field(
      PoolTlsSchema.optional(),
      'Speak TLS to the real servers (re-encryption): their certificates verified against `ca` by default, each server\'s name by its own tls.serverName. For http and https virtual services; the pool\'s health checks become https checks with the same settings unless healthCheck.type says otherwise.',
    ),
    realServers: field(z.array(PoolRealServerSchema).min(1), 'The real servers (backends) that share the traffic.'),
  })
  .superRefine(checkAdaptiveScheduler)
  .describe('A pool of real servers: how one is chosen (scheduler, persistence) and kept honest (health check, slow start, outlier detection). Virtual services and rules route to it by name.');

export type PoolInput = z.output<typeof PoolSchema>;

/** A real server of a resolved pool. */
export interface PoolRealServerConfig {
  address: HostPort;
  weight: number;
  enabled: boolean;
  state?: RealServerState | undefined;
  maxConnections?: number | undefined;
  healthCheck: HealthCheckConfig;
  /** TLS to this server (the pool's and its own merged); null: clear text. */
  tls: UpstreamTlsConfig | null;
}

/** A pool as the data path and the control plane read it: defaults applied, health checks resolved. */
export interface PoolConfig {
  name: string;
  /** Written inline on the virtual service of the same name (the older form), not under `pools:`. */
  inline: boolean;
  /** Where its keys are written in the config: ['pools', 2], or ['virtualServices', 0] for an inline pool. */
  at: Array<string | number>;
  scheduler: SchedulingMethod;
  slowStart: number;
  sorryServer?: HostPort | undefined;
  outlierDetection: false | OutlierDetectionConfig;
  adaptive?: AdaptiveConfig | undefined;
  persistence: false | PersistenceConfig;
  drainTimeout: number;
  healthCheck: HealthCheckConfig;
  queue: { size: number; timeout: number };
  keepAlive: { idle: number; maxIdlePerServer: number };
  realServers: PoolRealServerConfig[];
}
