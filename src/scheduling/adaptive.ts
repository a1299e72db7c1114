import type { AdaptiveConfig } from '../config/adaptive.ts';
import type { AgentVerdict } from '../agent/types.ts';
import type { RealServer } from '../pool/real-server.ts';
import type { PickContext, Scheduler, SchedulerModule } from './scheduler.ts';
import { availableServers } from './usable.ts';
import { smoothWeightedPick } from './weighted-round-robin.ts';

/**
 * Adaptive (resource-based) scheduling, in two parts:
 *
 * - AdaptiveWeights (per virtual service, in each worker) turns what each real server's agent
 *   reports (src/agent, polled by the supervisor) into `RealServer.adaptiveFactor`, the share of
 *   its configured weight it should get, and moves that share smoothly on the worker's tick.
 * - The `adaptive` scheduler is smooth weighted round robin (as weighted-round-robin.ts) over
 *   configuredWeight x adaptiveFactor, composed with slow start.
 *
 * The factor stays out of `RealServer.weight` on purpose: persistence hashes over `weight`, and a
 * weight that moved on every tick would rebuild its Maglev table (a few ms) ten times a second and
 * move url-hash clients with every change of load.
 */

/**
 * A saturated server (load 95-100) keeps 5 % of its configured share, a trickle: its reported
 * load lags by up to one poll interval, so a server that has just recovered still gets requests
 * and its pooled connections stay warm, and its weight never steps from zero to full.
 */
export const LOAD_FLOOR = 0.05;
/** Closer than this (0.1 % of the configured weight) to its target, a factor takes the target: the approach ends. */
const SNAP = 0.001;

/** What AdaptiveWeights needs of the `adaptive` settings. */
export type AdaptiveSettings = Pick<AdaptiveConfig, 'type' | 'minLoad' | 'interval'>;

/**
 * The weight the adaptive scheduler gives `server`: its configured weight scaled by what its agent
 * reports. Slow start scales `weight` the same way, and the lower of the two factors wins rather
 * than their product: a server that comes back idle after a restart reports a low load, and a
 * cold server would otherwise be held down twice (ramp x load) for no reason. An agent's weight
 * above 100 % (HAProxy allows 150%) applies in full once the ramp is over.
 */
export function adaptiveWeight(server: RealServer): number {
  const configured = server.configuredWeight;
  const adaptive = configured * server.adaptiveFactor;
  return server.weight < configured ? Math.min(server.weight, adaptive) : adaptive;
}

/** No agent, or an agent's say withdrawn (the service is no longer adaptive): full share, no objection. */
export function clearAgentState(servers: readonly RealServer[]): void {
  for (const server of servers) {
    server.agentDown = false;
    server.adaptiveFactor = 1;
  }
}

export class AdaptiveWeights {
  readonly #servers: readonly RealServer[];
  readonly #settings: AdaptiveSettings;
  /** The latest verdict by position in #servers; null before any. */
  readonly #verdicts: (AgentVerdict | null)[];
  /** The factor each server is moving towards, by position. */
  readonly #targets: Float64Array;
  #fallback = true;
  #lastTick = 0;

  constructor(servers: readonly RealServer[], settings: AdaptiveSettings) {
    this.#servers = servers;
    this.#settings = settings;
    this.#verdicts = servers.map(() => null);
    // Targets start where each server is: a reused server keeps its factor across a reload until
    // the runtime re-applies its verdict (at once, before any request).
    this.#targets = Float64Array.from(servers, (s) => s.adaptiveFactor);
  }

  /**
   * Every server reported a load below minLoad (or none has reported yet): the loads are noise,
   * and the service balances as plain weighted round robin on the configured weights.
   */
  get fallback(): boolean {
    return this.#fallback;
  }

  /** The factor `server` is moving towards. */
  target(server: RealServer): number {
    const i = this.#servers.indexOf(server);
    return i === -1 ? 1 : this.#targets[i]!;
  }

  /**
   * A server's agent said something new. Its say on traffic applies at once (down and maint:
   * none; drain or 0 %: no new clients), because an agent that takes a server out means now;
   * only the weight moves gradually (see tick).
   */
  report(server: RealServer, verdict: AgentVerdict): void {
    const i = this.#servers.indexOf(server);
    if (i === -1) return;
    this.#verdicts[i] = verdict;
    server.agentDown = verdict.operational === 'down' || verdict.admin === 'maint';
    this.#retarget();
    for (let j = 0; j < this.#servers.length; j++) {
      const s = this.#servers[j]!;
      const target = this.#targets[j]!;
      if (target === 0) s.adaptiveFactor = 0;
      // Out of a drain: from a trickle upwards, as slow start would, never straight to full.
      else if (s.adaptiveFactor === 0) s.adaptiveFactor = Math.min(target, LOAD_FLOOR);
    }
  }

  /**
   * The worker's tick: move every factor towards its target, exponentially with a half-life of
   * one poll interval. A load is sampled once per interval, so no single sample (a GC pause, a
   * cron job) moves a server more than half-way, and two servers cannot trade all their traffic
   * back and forth in step with the polls (herding); a lasting change is 94 % applied after four
   * intervals. Never changes availability: factors only reach 0 through report().
   */
  tick(now: number): void {
    const elapsed = this.#lastTick === 0 ? 0 : now - this.#lastTick;
    this.#lastTick = now;
    if (elapsed <= 0) return;
    const step = 1 - 2 ** (-elapsed / this.#settings.interval);
    for (let i = 0; i < this.#servers.length; i++) {
      const server = this.#servers[i]!;
      const factor = server.adaptiveFactor;
      const target = this.#targets[i]!;
      if (factor === target || factor === 0 || target === 0) continue;
      const next = factor + (target - factor) * step;
      server.adaptiveFactor = Math.abs(target - next) < SNAP ? target : next;
    }
  }

  #retarget(): void {
    const { type, minLoad } = this.#settings;
    // LoadMaster's rule: below minLoad everywhere, behave as weighted round robin. Only servers
    // whose agent lets them take traffic count: a drained server's load says nothing about the rest.
    this.#fallback =
      type !== 'http' ||
      !this.#verdicts.some((v) => v !== null && v.load !== null && v.operational === 'up' && v.admin === 'ready' && v.load >= (minLoad ?? 0));
    for (let i = 0; i < this.#servers.length; i++) this.#targets[i] = this.#targetOf(this.#verdicts[i] ?? null);
  }

  #targetOf(verdict: AgentVerdict | null): number {
    if (verdict === null) return 1;
    if (verdict.admin === 'drain') return 0;
    if (this.#settings.type === 'agent') return verdict.weightPercent === null ? 1 : verdict.weightPercent / 100;
    if (verdict.load === null || this.#fallback) return 1;
    // New work in proportion to spare capacity: a server at load 80 has 20 % left, one at 10 has
    // 90 %, so the idle one gets 4.5 times the new requests and the two loads converge instead of
    // the busy one being pushed further. configuredWeight scales it: twice the weight is twice
    // the capacity, so twice the spare capacity at the same load.
    return Math.max(LOAD_FLOOR, (100 - verdict.load) / 100);
  }
}

/**
 * Smooth weighted round robin (nginx's, as in weighted-round-robin.ts) over adaptiveWeight(). It
 * reads the weights live on every pick, so the worker's tick moves them without a rebuild; and
 * its rebuild keeps each server's place in the rotation (current weights carried over by
 * server), because slow start and agent reports rebuild often, and a rotation restarted before
 * every pick at a low request rate would send everything to the heaviest server.
 */
class AdaptiveScheduler implements Scheduler {
  readonly #servers: readonly RealServer[];
  #available: RealServer[] = [];
  /** nginx's current_weight, by position in #available. */
  #current = new Float64Array(0);

  constructor(servers: readonly RealServer[]) {
    this.#servers = servers;
    this.rebuild();
  }

  rebuild(): void {
    const previous = this.#available;
    const previousCurrent = this.#current;
    this.#available = availableServers(this.#servers);
    this.#current = new Float64Array(this.#available.length);
    for (let i = 0; i < this.#available.length; i++) {
      const was = previous.indexOf(this.#available[i]!);
      if (was !== -1) this.#current[i] = previousCurrent[was]!;
    }
  }

  pick(ctx: PickContext): RealServer | null {
    return smoothWeightedPick(this.#available, this.#current, ctx.exclude, adaptiveWeight);
  }
}

export const adaptive: SchedulerModule = {
  name: 'adaptive',
  create: (servers) => new AdaptiveScheduler(servers),
};
