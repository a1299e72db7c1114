import type { RealServer } from '../pool/real-server.ts';
import type { PickContext, Scheduler, SchedulerModule } from './scheduler.ts';
import { availableServers, isUsable } from './usable.ts';

/**
 * Power of two choices (Envoy's least_request with choice_count 2): draw two distinct available
 * servers at random and take the one with fewer requests in flight. Mitzenmacher's result: the
 * most loaded server's excess drops from O(log n / log log n) for one random choice to
 * O(log log n) for two, at the cost of reading two counters instead of n (O(1) per pick).
 * Because the choice is random, several balancer processes with stale counts do not all pile
 * onto the same "least loaded" server, which a full least-connections scan would.
 *
 * On equal counts (an idle pool) the first is kept with probability wa / (wa + wb), so weights
 * still tilt the traffic at low load: with two servers the shares are exactly the weights'; with
 * more they lean the same way but flatter (weights 1,1,2 give the heavy one 4/9, not 1/2), since a
 * server only competes against the one other server drawn with it.
 *
 * A retry draws among the servers it has not tried, by counting them: O(n) on that rare path only.
 */
class RandomTwoChoices implements Scheduler {
  readonly #servers: readonly RealServer[];
  #available: RealServer[] = [];

  constructor(servers: readonly RealServer[]) {
    this.#servers = servers;
    this.rebuild();
  }

  rebuild(): void {
    this.#available = availableServers(this.#servers);
  }

  pick(ctx: PickContext): RealServer | null {
    const available = this.#available;
    const n = available.length;
    if (ctx.exclude === null || ctx.exclude.length === 0) {
      if (n === 0) return null;
      if (n === 1) return this.#pickAmongUsable(ctx);
      const i = Math.floor(Math.random() * n);
      let j = Math.floor(Math.random() * (n - 1));
      if (j >= i) j++;
      const a = available[i]!;
      const b = available[j]!;
      // Both were available at the last rebuild; if one has gone since, take the careful path.
      if (!a.available || !b.available) return this.#pickAmongUsable(ctx);
      return better(a, b);
    }
    return this.#pickAmongUsable(ctx);
  }

  /** Two random choices among the servers that are available and not excluded, O(n). */
  #pickAmongUsable(ctx: PickContext): RealServer | null {
    const available = this.#available;
    let usable = 0;
    for (let k = 0; k < available.length; k++) if (isUsable(available[k]!, ctx.exclude)) usable++;
    if (usable === 0) return null;
    if (usable === 1) return this.#nthUsable(0, ctx);
    const i = Math.floor(Math.random() * usable);
    let j = Math.floor(Math.random() * (usable - 1));
    if (j >= i) j++;
    return better(this.#nthUsable(i, ctx)!, this.#nthUsable(j, ctx)!);
  }

  #nthUsable(nth: number, ctx: PickContext): RealServer | null {
    const available = this.#available;
    let seen = 0;
    for (let k = 0; k < available.length; k++) {
      const server = available[k]!;
      if (!isUsable(server, ctx.exclude)) continue;
      if (seen === nth) return server;
      seen++;
    }
    return null;
  }
}

/** The less loaded of two; on a tie, each with probability proportional to its weight. */
function better(a: RealServer, b: RealServer): RealServer {
  if (a.inflight !== b.inflight) return a.inflight < b.inflight ? a : b;
  return Math.random() * (a.weight + b.weight) < a.weight ? a : b;
}

export const randomTwoChoices: SchedulerModule = {
  name: 'random-two-choices',
  create: (servers) => new RandomTwoChoices(servers),
};
