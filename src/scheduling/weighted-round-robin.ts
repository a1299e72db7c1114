import type { RealServer } from '../pool/real-server.ts';
import type { PickContext, Scheduler, SchedulerModule } from './scheduler.ts';
import { availableServers } from './usable.ts';

/**
 * Smooth weighted round robin, as nginx's ngx_http_upstream_get_peer does: on every pick each
 * candidate's current weight grows by its weight, the largest current weight wins (the earlier
 * server on a tie), and the winner gives back the sum of the candidates' weights. Over one cycle of
 * sum(weights) picks each server is chosen exactly `weight` times, and the picks are spread out:
 * weights 5,1,1 give a a b a c a a, where a naive WRR would send a burst of five to a.
 *
 * O(n) per pick (one pass over the available servers). Servers a retry already tried sit the pick
 * out entirely, neither gaining weight nor counting in the sum, as in nginx, so a retry does not
 * distort the rotation of the others.
 */
class WeightedRoundRobin implements Scheduler {
  readonly #servers: readonly RealServer[];
  #available: RealServer[] = [];
  /** nginx's current_weight, by position in #available. Float64 so fractional weights work too. */
  #current = new Float64Array(0);

  constructor(servers: readonly RealServer[]) {
    this.#servers = servers;
    this.rebuild();
  }

  rebuild(): void {
    this.#available = availableServers(this.#servers);
    // A fresh cycle: carrying current weights across a change of the set would need a mapping by
    // server and buys at most one cycle of smoothness.
    this.#current = new Float64Array(this.#available.length);
  }

  pick(ctx: PickContext): RealServer | null {
    return smoothWeightedPick(this.#available, this.#current, ctx.exclude, configuredShare);
  }
}

function configuredShare(server: RealServer): number {
  return server.weight;
}

/**
 * One pick of nginx's smooth weighted round robin over `available`, whose current weights are
 * `current` (same positions), each candidate weighing `weightOf(server)`. Shared by
 * weighted-round-robin (the effective weight) and adaptive (the agent-scaled weight).
 */
export function smoothWeightedPick(
  available: readonly RealServer[],
  current: Float64Array,
  exclude: readonly RealServer[] | null,
  weightOf: (server: RealServer) => number,
): RealServer | null {
  let best = -1;
  let total = 0;
  for (let i = 0; i < available.length; i++) {
    const server = available[i]!;
    if (!server.available || (exclude !== null && exclude.includes(server))) continue;
    const weight = weightOf(server);
    const grown = current[i]! + weight;
    current[i] = grown;
    total += weight;
    if (best === -1 || grown > current[best]!) best = i;
  }
  if (best === -1) return null;
  current[best] = current[best]! - total;
  return available[best]!;
}

export const weightedRoundRobin: SchedulerModule = {
  name: 'weighted-round-robin',
  create: (servers) => new WeightedRoundRobin(servers),
};
