/**
 * A pool's real servers as this worker judges them: health (the supervisor's checks report it),
 * the agents' say (adaptive scheduling), passive ejection (outlier detection on this worker's own
 * traffic) and the slow-start ramp. Every change that moves who may take new traffic ends in
 * `rebuild`, which the pool wires to its scheduler and persistence hash.
 */
import type { AgentVerdict } from '../agent/types.ts';
import type { OutlierDetectionConfig } from '../config/service-fields.ts';
import type { AdaptiveWeights } from '../scheduling/adaptive.ts';
import type { RealServer } from './real-server.ts';
import type { PoolEventSink } from './types.ts';

/** Slow start moves a server's weight in at most this many steps: smooth, yet a rebuild per step. */
const SLOW_START_STEPS = 20;

export interface LifecycleHooks {
  /** Availability or weights changed: recompute the scheduler's tables. */
  rebuildScheduler(): void;
  /** A server came or went: recompute the persistence hash too. */
  rebuildPersistence(): void;
}

export class ServerLifecycle {
  readonly #pool: string;
  readonly #servers: readonly RealServer[];
  readonly #slowStart: number;
  readonly #outlier: false | OutlierDetectionConfig;
  readonly #adaptive: AdaptiveWeights | null;
  readonly #hooks: LifecycleHooks;
  readonly #events: PoolEventSink;
  readonly #rampStep: number;
  #lastRamp = 0;

  constructor(pool: string, servers: readonly RealServer[], slowStart: number, outlier: false | OutlierDetectionConfig, adaptive: AdaptiveWeights | null, hooks: LifecycleHooks, events: PoolEventSink) {
    this.#pool = pool;
    this.#servers = servers;
    this.#slowStart = slowStart;
    this.#outlier = outlier;
    this.#adaptive = adaptive;
    this.#hooks = hooks;
    this.#events = events;
    this.#rampStep = Math.max(100, Math.floor(slowStart / SLOW_START_STEPS));
  }

  // ---- health, reported by the supervisor's active checks ---------------------------------

  setHealth(serverId: string, up: boolean, reason: string, now: number): boolean {
    const server = this.#servers.find((s) => s.id === serverId);
    if (server === undefined) return false;
    server.healthReason = reason;
    // healthUp, not up: up also holds the agent's say (adaptive scheduling), which is not health's to change.
    if (server.healthUp === up) return true;
    server.up = up;
    if (up && server.available) this.startRamp(server, now);
    this.#hooks.rebuildScheduler();
    this.#hooks.rebuildPersistence();
    return true;
  }

  // ---- adaptive scheduling: the agents' reports, relayed by the supervisor (src/agent) --------

  /**
   * What a real server's agent says now (the whole verdict, not a delta). Its say on traffic
   * (down, maint, drain) applies at once; its weight moves smoothly on tick. False when the pool
   * is not adaptive or has no such server.
   */
  setAgent(serverId: string, verdict: AgentVerdict, now: number): boolean {
    const server = this.#servers.find((s) => s.id === serverId);
    if (server === undefined || this.#adaptive === null) return false;
    const wasAvailable = server.available;
    const wasUp = server.up;
    this.#adaptive.report(server, verdict);
    if (!wasAvailable && server.available) this.startRamp(server, now);
    // Always: cheap, and the adaptive scheduler keeps its rotation across a rebuild.
    this.#hooks.rebuildScheduler();
    // The persistence hash (a Maglev table) only when this server came or went; its tick catches the rest.
    if (server.available !== wasAvailable || server.up !== wasUp) this.#hooks.rebuildPersistence();
    return true;
  }

  // ---- passive health: outlier detection on this worker's own traffic ------------------------

  /** The real server answered (status < 500, or a connection opened): its failure streak ends. */
  noteSuccess(server: RealServer): void {
    server.consecutiveFailures = 0;
  }

  /** Connect failure, reset, timeout or 5xx: may eject the server for `ejectFor`. */
  noteFailure(server: RealServer, reason: string, now: number): void {
    const od = this.#outlier;
    server.consecutiveFailures++;
    if (od === false || server.ejectedUntil !== 0 || server.consecutiveFailures < od.consecutiveFailures) return;
    if (server.index < 0) return; // the sorry server is never ejected: nothing is behind it
    // Envoy's ejection cap: ejecting everyone would turn a pool-wide problem into an outage. It is
    // a share of the servers in rotation (enabled, up, weight > 0; ejected or not): counting
    // disabled or down ones would let two disabled servers of four make room to eject both others.
    let inRotation = 0;
    let ejected = 0;
    for (const s of this.#servers) {
      if (s.state !== 'enabled' || !s.up || s.configuredWeight === 0) continue;
      inRotation++;
      if (s.ejectedUntil !== 0) ejected++;
    }
    if ((ejected + 1) * 100 > od.maxEjectedPercent * inRotation) return;
    server.ejectedUntil = now + od.ejectFor;
    this.#hooks.rebuildScheduler();
    this.#events('warn', `real server ${server.id} in pool "${this.#pool}" is EJECTED for ${od.ejectFor} ms: ${server.consecutiveFailures} consecutive failures, the last: ${reason}`, {
      pool: this.#pool,
      realServer: server.id,
      event: 'ejected',
    });
  }

  // ---- time ---------------------------------------------------------------------------------

  /** The worker's tick: ends ejections that are over and moves slow-start ramps on; true when weights or availability moved. */
  tick(now: number): boolean {
    // Adaptive weights move smoothly; the scheduler reads them live, so this needs no rebuild.
    this.#adaptive?.tick(now);
    let changed = false;
    for (const s of this.#servers) {
      if (s.ejectedUntil !== 0 && s.ejectedUntil <= now) {
        s.ejectedUntil = 0;
        s.consecutiveFailures = 0;
        changed = true;
        if (s.available) this.startRamp(s, now);
        this.#events('info', `real server ${s.id} in pool "${this.#pool}" is back from ejection`, { pool: this.#pool, realServer: s.id, event: 'unejected' });
      }
    }
    if (now - this.#lastRamp >= this.#rampStep && this.applyRamp(now)) changed = true;
    if (changed) this.#hooks.rebuildScheduler();
    return changed;
  }

  startRamp(server: RealServer, now: number): void {
    if (this.#slowStart === 0) return;
    server.availableSince = now;
    this.applyRamp(now);
  }

  /** Scale the weight of servers in their slow-start window; true when any weight changed. */
  applyRamp(now: number): boolean {
    this.#lastRamp = now;
    const window = this.#slowStart;
    let changed = false;
    for (const s of this.#servers) {
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
}
