import type { VirtualServiceConfig } from '../config/schema.ts';
import type { ForwardingPolicy } from '../http/rewrite.ts';
import { createScheduler } from '../scheduling/index.ts';
import type { Scheduler } from '../scheduling/scheduler.ts';
import { ConnectionPool } from '../upstream/pool.ts';
import { RealServer } from '../upstream/real-server.ts';

/**
 * A virtual service as one worker runs it: its real servers with their pools, its scheduler and
 * the settings the data path reads per request, resolved once at config load.
 */
export class VirtualService {
  readonly name: string;
  readonly config: VirtualServiceConfig;
  readonly servers: readonly RealServer[];
  readonly scheduler: Scheduler;
  readonly policy: ForwardingPolicy;
  readonly retries: number;
  readonly timeouts: VirtualServiceConfig['timeouts'];
  readonly limits: VirtualServiceConfig['limits'];

  constructor(config: VirtualServiceConfig, previous: VirtualService | null) {
    this.name = config.name;
    this.config = config;
    this.timeouts = config.timeouts;
    this.limits = config.limits;
    this.retries = config.retries;
    this.policy = { ...config.forwardedHeaders, proto: 'http' };
    // Keep the RealServer (and so its warm connection pool and counters) of a server that is
    // still configured: a reload must not cost every real server its keep-alive connections.
    const reusable = new Map<string, RealServer>();
    for (const s of previous?.servers ?? []) reusable.set(s.id, s);
    this.servers = config.realServers.map((rs, index) => {
      const fresh = new RealServer(index, rs.address.host, rs.address.port, rs.weight, rs.enabled);
      const old = reusable.get(fresh.id);
      const server = old !== undefined && old.index === index ? old : fresh;
      // Moved in the list: the schedulers key on index, so it starts afresh and the old pool goes.
      if (old !== undefined && old !== server) old.pool?.retire();
      reusable.delete(fresh.id);
      server.weight = rs.weight;
      server.enabled = rs.enabled;
      if (server.pool === null) {
        server.pool = new ConnectionPool(server, config.limits.maxIdlePerServer, config.timeouts.upstreamIdle);
      } else {
        server.pool.maxIdle = config.limits.maxIdlePerServer;
        server.pool.idleTimeoutMs = config.timeouts.upstreamIdle;
      }
      return server;
    });
    for (const gone of reusable.values()) gone.pool?.retire();
    this.scheduler = createScheduler(config.scheduler, this.servers);
    this.scheduler.rebuild();
  }

  sweep(now: number): void {
    for (const s of this.servers) s.pool?.sweep(now);
  }

  closeIdle(): void {
    for (const s of this.servers) s.pool?.closeIdle();
  }

  /** This service left the config and its last client is gone: no pool of it is needed again. */
  retire(): void {
    for (const s of this.servers) s.pool?.retire();
  }
}
