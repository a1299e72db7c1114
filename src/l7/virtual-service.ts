import { realServerState } from '../config/conflicts.ts';
import type { HttpServiceConfig, VirtualServiceConfig } from '../config/schema.ts';
import { notAvailableResponse } from '../http/error-response.ts';
import type { ForwardingPolicy } from '../http/rewrite.ts';
import { Persistence } from '../persistence/persistence.ts';
import type { AgentVerdict } from '../agent/types.ts';
import { AdaptiveWeights, clearAgentState } from '../scheduling/adaptive.ts';
import { createScheduler } from '../scheduling/index.ts';
import type { PickContext, Scheduler } from '../scheduling/scheduler.ts';
import { ConnectionPool } from '../upstream/pool.ts';
import { RealServer } from '../upstream/real-server.ts';

/** Stands in for the HTTP settings of a Layer 4 service, which nothing reads. */
const NO_HTTP = Object.freeze({});
const EMPTY = Buffer.alloc(0);

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
  /** The HTTP settings (timeouts, limits) the L7 engine reads; for a Layer 4 service, its listener reads config instead. */
  readonly timeouts: HttpServiceConfig['timeouts'];
  readonly limits: HttpServiceConfig['limits'];
  /** false unless the config enables outlier detection (HTTP, TCP and FTP services can). */
  readonly outlierDetection: HttpServiceConfig['outlierDetection'];
  /** Takes the traffic when no real server is available; not health checked. */
  readonly sorryServer: RealServer | null;
  /** The answer when nothing can serve, pre-encoded: [keep-alive, close], and its status. */
  readonly notAvailable: readonly [Buffer, Buffer];
  readonly notAvailableStatus: number;
  /** Keeps clients on their real server (src/persistence); null when off. Its tables outlive a reload that keeps the name and the persistence settings. */
  readonly persistence: Persistence | null;
  /** Adaptive scheduling: turns the agents' reports into weights (src/scheduling/adaptive.ts); null unless scheduler adaptive. */
  readonly adaptive: AdaptiveWeights | null;
  readonly #events: ServiceEventSink;
  #rampStep = 0;
  #lastRamp = 0;

  constructor(config: VirtualServiceConfig, previous: VirtualService | null, events: ServiceEventSink = () => {}) {
    this.name = config.name;
    this.config = config;
    // A Layer 4 service has no HTTP settings: its listener reads its own from config, and no L7
    // connection ever reads these (the cast keeps the L7 hot path free of null checks).
    const http = config.protocol === 'http' ? config : null;
    this.timeouts = http?.timeouts ?? (NO_HTTP as HttpServiceConfig['timeouts']);
    this.limits = http?.limits ?? (NO_HTTP as HttpServiceConfig['limits']);
    this.retries = 'retries' in config ? config.retries : 0;
    this.outlierDetection = 'outlierDetection' in config ? config.outlierDetection : false;
    this.#events = events;
    this.policy = http === null ? (NO_HTTP as ForwardingPolicy) : { ...http.forwardedHeaders, proto: 'http' };
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
      // Only mark the ramp's start here: this.servers does not exist yet, so #startRamp (which
      // scales every server's weight) cannot run; the #applyRamp below does it for all at once.
      if (server !== fresh && !wasAvailable && server.available && config.slowStart > 0) server.availableSince = now;
      if (http !== null) this.#attachPool(server);
      return server;
    });
    for (const gone of reusable.values()) gone.pool?.retire();
    // The sorry server too keeps its warm pool across a reload; a replaced one's pool is retired,
    // since no timer sweeps a pool the running service no longer holds.
    const oldSorry = previous?.sorryServer ?? null;
    const wanted = 'sorryServer' in config ? config.sorryServer : undefined;
    const keepSorry = oldSorry !== null && wanted !== undefined && oldSorry.host === wanted.host && oldSorry.port === wanted.port;
    if (oldSorry !== null && !keepSorry) oldSorry.pool?.retire();
    const sorry = wanted === undefined ? null : keepSorry ? oldSorry : new RealServer(-1, wanted.host, wanted.port, 1, true);
    this.sorryServer = sorry !== null && http !== null ? this.#attachPool(sorry) : sorry;
    this.notAvailableStatus = http === null ? 0 : http.notAvailable.redirect === undefined ? http.notAvailable.status : 302;
    this.notAvailable = http === null ? [EMPTY, EMPTY] : [notAvailableResponse(http.notAvailable, config.name, false), notAvailableResponse(http.notAvailable, config.name, true)];
    this.#rampStep = Math.max(100, Math.floor(config.slowStart / SLOW_START_STEPS));
    // The agents' reports come through setAgent; without adaptive, no agent has a say any more.
    const adaptive = 'adaptive' in config ? config.adaptive : undefined;
    this.adaptive = adaptive === undefined ? null : new AdaptiveWeights(this.servers, adaptive);
    if (this.adaptive === null) clearAgentState(this.servers);
    this.scheduler = createScheduler(config.scheduler, this.servers);
    this.#applyRamp(now);
    this.scheduler.rebuild();
    const keptPersistence = previous !== null && previous.name === config.name ? previous.persistence : null;
    this.persistence = config.persistence === false ? null : new Persistence(config.name, config.persistence, config.drainTimeout, this.servers, this, keptPersistence);
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
    // healthUp, not up: up also holds the agent's say (adaptive scheduling), which is not health's to change.
    if (server.healthUp === up) return true;
    server.up = up;
    if (up && server.available) this.#startRamp(server, now);
    this.scheduler.rebuild();
    this.persistence?.rebuild();
    return true;
  }

  // ---- adaptive scheduling: the agents' reports, relayed by the supervisor (src/agent) --------

  /**
   * What a real server's agent says now (the whole verdict, not a delta). Its say on traffic
   * (down, maint, drain) applies at once; its weight moves smoothly on tick. False when the
   * service is not adaptive or has no such server.
   */
  setAgent(serverId: string, verdict: AgentVerdict, now = Date.now()): boolean {
    const server = this.servers.find((s) => s.id === serverId);
    if (server === undefined || this.adaptive === null) return false;
    const wasAvailable = server.available;
    const wasUp = server.up;
    this.adaptive.report(server, verdict);
    if (!wasAvailable && server.available) this.#startRamp(server, now);
    // Always: cheap, and the adaptive scheduler keeps its rotation across a rebuild.
    this.scheduler.rebuild();
    // The persistence hash (a Maglev table) only when this server came or went; its tick catches the rest.
    if (server.available !== wasAvailable || server.up !== wasUp) this.persistence?.rebuild();
    return true;
  }

  // ---- passive health: outlier detection on this worker's own traffic ------------------------

  /** The real server answered (status < 500): its failure streak ends. */
  noteSuccess(server: RealServer): void {
    server.consecutiveFailures = 0;
  }

  /** Connect failure, reset, timeout or 5xx: may eject the server for `ejectFor`. */
  noteFailure(server: RealServer, reason: string, now = Date.now()): void {
    const od = this.outlierDetection;
    server.consecutiveFailures++;
    if (od === false || server.ejectedUntil !== 0 || server.consecutiveFailures < od.consecutiveFailures) return;
    if (server.index < 0) return; // the sorry server is never ejected: nothing is behind it
    // Envoy's ejection cap: ejecting everyone would turn a pool-wide problem into an outage. It is
    // a share of the servers in rotation (enabled, up, weight > 0; ejected or not): counting
    // disabled or down ones would let two disabled servers of four make room to eject both others.
    let inRotation = 0;
    let ejected = 0;
    for (const s of this.servers) {
      if (s.state !== 'enabled' || !s.up || s.configuredWeight === 0) continue;
      inRotation++;
      if (s.ejectedUntil !== 0) ejected++;
    }
    if ((ejected + 1) * 100 > od.maxEjectedPercent * inRotation) return;
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
    // Adaptive weights move smoothly; the scheduler reads them live, so this needs no rebuild.
    this.adaptive?.tick(now);
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
    // Expires persistence entries, and rebuilds its hash after any change of availability above
    // or elsewhere (an ejection, a state change) within this tick.
    this.persistence?.tick(now);
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
