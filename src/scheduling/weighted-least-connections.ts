import type { RealServer } from '../upstream/real-server.ts';
import type { PickContext, Scheduler, SchedulerModule } from './scheduler.ts';
import { availableServers, isUsable } from './usable.ts';

/**
 * Is `a` less loaded than `b` relative to their weights?
 *
 * The load key is HAProxy's lb_fwlc key: 0 for an idle server, otherwise (inflight + 1) / weight,
 * the load the server would carry with this request added. Plain inflight / weight would call a
 * weight-1 server with 1 request and a weight-3 server with 3 a tie and could give the weight-1
 * server a second request (2/1 against 4/3 with it counted); the +1 sends it to the weight-3 one.
 * Idle servers all key 0 so that at low load, where every count is 0, they take turns instead of
 * the heaviest server taking everything.
 *
 * Compared by cross-multiplication, (ia + 1) * wb < (ib + 1) * wa, so there is no division and no
 * rounding: weights up to 65535 times counts up to 2^36 stay exact below 2^53.
 */
function lessLoaded(a: RealServer, b: RealServer): boolean {
  if (a.inflight === 0) return b.inflight !== 0;
  if (b.inflight === 0) return false;
  return (a.inflight + 1) * b.weight < (b.inflight + 1) * a.weight;
}

/**
 * Weighted least connections: the available server with the lowest load key (see `lessLoaded`);
 * ties broken by rotation as in least-connections. O(n) per pick.
 */
class WeightedLeastConnections implements Scheduler {
  readonly #servers: readonly RealServer[];
  #available: RealServer[] = [];
  #start = 0;

  constructor(servers: readonly RealServer[]) {
    this.#servers = servers;
    this.rebuild();
  }

  rebuild(): void {
    this.#available = availableServers(this.#servers);
    this.#start = this.#available.length === 0 ? 0 : this.#start % this.#available.length;
  }

  pick(ctx: PickContext): RealServer | null {
    const available = this.#available;
    const n = available.length;
    let best: RealServer | null = null;
    let bestPosition = 0;
    for (let step = 0; step < n; step++) {
      const position = (this.#start + step) % n;
      const server = available[position]!;
      if (!isUsable(server, ctx.exclude)) continue;
      if (best === null || lessLoaded(server, best)) {
        best = server;
        bestPosition = position;
      }
    }
    if (best !== null) this.#start = (bestPosition + 1) % n;
    return best;
  }
}

export const weightedLeastConnections: SchedulerModule = {
  name: 'weighted-least-connections',
  needs: 'address',
  description:
    'The real server with the fewest requests in flight relative to its weight; idle servers take turns.',
  create: (servers) => new WeightedLeastConnections(servers),
};
