import { realServerState } from '../config/conflicts.ts';
import type { VirtualServiceConfig } from '../config/schema.ts';
import { notAvailableResponse } from '../http/error-response.ts';
import type { ForwardingPolicy } from '../http/rewrite.ts';
import { createScheduler } from '../scheduling/index.ts';
import type { PickContext, Scheduler } from '../scheduling/scheduler.ts';
import { ConnectionPool } from '../upstream/pool.ts';
import { RealServer } from '../upstream/real-server.ts';

/** Slow start moves a server's weight in at most this many steps: smooth, yet a rebuild per step. */
const SLOW_START_STEPS = 20;

/** What a worker tells its operator about real servers (the worker's logger implements it). */
export type ServiceEventSink = (level: 'info' | 'warn', message: string, fields: Record<string, unknown>) => void;

/**
 * A virtual service as one worker runs it: its real servers with their pools, its scheduler and
 * the settings the data path reads per request, resolved once at config load. It also owns the
 * real servers' lifecycle as this worker sees it: health (reported by the supervisor's checks),
 * passive ejection (outlier detection on this worker's traffic) and the slow-start ramp.
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
  /** Takes the traffic when no real server is available; not health checked. */
  readonly sorryServer: RealServer | null;
  /** The answer when nothing can serve, pre-encoded: [keep-alive, close]. */
  readonly notAvailable: readonly [Buffer, Buffer];
  readonly #events: ServiceEventSink;
  #rampStep = 0;
  #lastRamp = 0;

  constructor(config: VirtualServiceConfig, previous: VirtualService | null, events: ServiceEventSink = () => {}) {
    this.name = config.name;
    this.config = config;
    this.timeouts = config.timeouts;
    this.limits = config.limits;
    this.retries = config.retries;
    this.#events = events;
    this.policy = { ...config.forwardedHeaders, proto: 'http' };
    const now = Date.now();
    // Keep the RealServer (and so its warm connection pool, counters and health) of a server
    // that is still configured: a reload must not cost every real server its keep-alive
    // connections, nor make a down server look up for a moment.
    const reusable = new Map<string, RealServer>();
    for (const s of previous?.servers ?? []) reusable.set(s.id, s);
    this.servers = config.realServers.map((rs, index) => {
      const fresh = new RealServer(index, rs.address.host, rs.address.port, rs.weight, realServerState(rs));
      fresh.up = startsUp(rs);
      const old = reusable.get(fresh.id);
      const server = old !== undefined && old.index === index ? old : fresh;
      // Moved in the list: the schedulers key on index, so it starts afresh and the old pool goes.
      if (old !== undefined && old !== server) old.pool?.retire();
      reusable.delete(fresh.id);
      const wasAvailable = server.available;
      server.configuredWeight = rs.weight;
      server.weight = rs.weight;
      server.state = realServerState(rs);
      if (server !== fresh && !wasAvailable && server.available) this.#startRamp(server, now);
      this.#attachPool(server);
      return server;
    });
    for (const gone of reusable.values()) gone.pool?.retire();
    this.sorryServer = config.sorryServer === undefined ? null : this.#attachPool(new RealServer(-1, config.sorryServer.host, config.sorryServer.port, 1, true));
    this.notAvailable = [notAvailableResponse(config.notAvailable, config.name, false), notAvailableResponse(config.notAvailable, config.name, true)];
    this.#rampStep = Math.max(100, Math.floor(config.slowStart / SLOW_START_STEPS));
    this.scheduler = createScheduler(config.scheduler, this.servers);
    this.#applyRamp(now);
    this.scheduler.rebuild();
  }

  #attachPool(server: RealServer): RealServer {
    if (server.pool === null) {
      server.pool = new ConnectionPool(server, this.limits.maxIdlePerServer, this.timeouts.upstreamIdle);
    } else {
      server.pool.maxIdle = this.limits.maxIdlePerServer;
      server.pool.idleTimeoutMs = this.timeouts.upstreamIdle;
    }
    return server;
  }

  /** A server for a new request: the scheduler's choice, else the sorry server on a first attempt. */
  pick(ctx: PickContext): RealServer | null {
    const server = this.scheduler.pick(ctx);
    if (server !== null || ctx.exclude !== null) return server;
    return this.sorryServer;
  }

  // ---- health, reported by the supervisor's active checks ---------------------------------

  setHealth(serverId: string, up: boolean, reason: string, now = Date.now()): boolean {
    const server = this.servers.find((s) => s.id === serverId);
    if (server === undefined) return false;
    server.healthReason = reason;
    if (server.up === up) return true;
    server.up = up;
    if (up && server.available) this.#startRamp(server, now);
    this.scheduler.rebuild();
    return true;
  }

  // ---- passive health: outlier detection on this worker's own traffic ------------------------

  /** The real server answered (status < 500): its failure streak ends. */
  noteSuccess(server: RealServer): void {
    server.consecutiveFailures = 0;
  }

  /** Connect failure, reset, timeout or 5xx: may eject the server for `ejectFor`. */
  noteFailure(server: RealServer, reason: string, now = Date.now()): void {
    const od = this.config.outlierDetection;
    server.consecutiveFailures++;
    if (od === false || server.ejectedUntil !== 0 || server.consecutiveFailures < od.consecutiveFailures) return;
    if (server.index < 0) return; // the sorry server is never ejected: nothing is behind it
    const ejected = this.servers.filter((s) => s.ejectedUntil !== 0).length;
    // Envoy's ejection cap: ejecting everyone would turn a pool-wide problem into an outage.
    if ((ejected + 1) * 100 > od.maxEjectedPercent * this.servers.length) return;
    server.ejectedUntil = now + od.ejectFor;
    this.scheduler.rebuild();
    this.#events('warn', `real server ${server.id} in "${this.name}" is EJECTED for ${od.ejectFor} ms: ${server.consecutiveFailures} consecutive failures, the last: ${reason}`, {
      virtualService: this.name,
      realServer: server.id,
      event: 'ejected',
    });
  }

  // ---- time ---------------------------------------------------------------------------------

  /** Called by the worker's timer: ends ejections that are over and moves slow-start ramps on. */
  tick(now: number): void {
    let changed = false;
    for (const s of this.servers) {
      if (s.ejectedUntil !== 0 && s.ejectedUntil <= now) {
        s.ejectedUntil = 0;
        s.consecutiveFailures = 0;
        changed = true;
        if (s.available) this.#startRamp(s, now);
        this.#events('info', `real server ${s.id} in "${this.name}" is back from ejection`, { virtualService: this.name, realServer: s.id, event: 'unejected' });
      }
    }
    if (now - this.#lastRamp >= this.#rampStep && this.#applyRamp(now)) changed = true;
    if (changed) this.scheduler.rebuild();
  }

  #startRamp(server: RealServer, now: number): void {
    if (this.config.slowStart === 0) return;
    server.availableSince = now;
    this.#applyRamp(now);
  }

  /** Scale the weight of servers in their slow-start window; true when any weight changed. */
  #applyRamp(now: number): boolean {
    this.#lastRamp = now;
    const window = this.config.slowStart;
    let changed = false;
    for (const s of this.servers) {
      let weight = s.configuredWeight;
      if (window > 0 && s.availableSince !== 0) {
        const elapsed = now - s.availableSince;
        if (elapsed >= window) s.availableSince = 0;
        else if (weight > 0) weight = Math.max(1, Math.ceil((weight * Math.max(elapsed, 0)) / window));
      }
      if (s.weight !== weight) {
        s.weight = weight;
        changed = true;
      }
    }
    return changed;
  }

  sweep(now: number): void {
    for (const s of this.servers) s.pool?.sweep(now);
    this.sorryServer?.pool?.sweep(now);
  }

  closeIdle(): void {
    for (const s of this.servers) s.pool?.closeIdle();
    this.sorryServer?.pool?.closeIdle();
  }

  /** This service left the config and its last client is gone: no pool of it is needed again. */
  retire(): void {
    for (const s of this.servers) s.pool?.retire();
    this.sorryServer?.pool?.retire();
  }
}

/** Before any check has run: up, unless the health check says to start down. */
function startsUp(rs: VirtualServiceConfig['realServers'][number]): boolean {
  const check = (rs as { healthCheck?: { type: string; startAs: string } }).healthCheck;
  return check === undefined || check.type === 'none' || check.startAs !== 'down';
}
