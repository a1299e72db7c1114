import type { RealServer } from '../pool/real-server.ts';
import type { PickContext, Scheduler, SchedulerModule } from './scheduler.ts';
import { availableServers, isUsable } from './usable.ts';

/**
 * Least connections: the available server with the fewest requests in flight (`inflight`, kept by
 * the engine; Caddy's least_conn counts requests the same way). Weights are ignored.
 *
 * Ties are broken by rotation: the scan starts one past the previous winner and keeps the first
 * server with the lowest count. Without it an idle pool (every count 0, the usual state at low
 * load, where each request finishes before the next arrives) would send everything to the first
 * server. O(n) per pick.
 *
 * `LeastLoaded` is that scan with the comparison as a parameter: fewer in flight here, fewer in
 * flight relative to weight in weighted-least-connections.ts.
 */
export class LeastLoaded implements Scheduler {
  readonly #servers: readonly RealServer[];
  /** Is the first server less loaded than the second? */
  readonly #less: (a: RealServer, b: RealServer) => boolean;
  #available: RealServer[] = [];
  /** Position in #available where the next scan starts. */
  #start = 0;

  constructor(servers: readonly RealServer[], less: (a: RealServer, b: RealServer) => boolean) {
    this.#servers = servers;
    this.#less = less;
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
      if (best === null || this.#less(server, best)) {
        best = server;
        bestPosition = position;
      }
    }
    if (best !== null) this.#start = (bestPosition + 1) % n;
    return best;
  }
}

function fewerInFlight(a: RealServer, b: RealServer): boolean {
  return a.inflight < b.inflight;
}

export const leastConnections: SchedulerModule = {
  name: 'least-connections',
  create: (servers) => new LeastLoaded(servers, fewerInFlight),
};
