import type { RealServer } from '../pool/real-server.ts';
import type { PickContext, Scheduler, SchedulerModule } from './scheduler.ts';
import { availableServers, isUsable } from './usable.ts';

/**
 * Round robin: each available server in list order, one request each, weights ignored (a weight
 * only matters as 0 = no traffic). O(1) per pick without retries; a retry skips the servers it
 * already tried, O(n) worst case.
 */
class RoundRobin implements Scheduler {
  readonly #servers: readonly RealServer[];
  #available: RealServer[] = [];
  /** Position in #available of the next server to try. */
  #next = 0;

  constructor(servers: readonly RealServer[]) {
    this.#servers = servers;
    this.rebuild();
  }

  rebuild(): void {
    this.#available = availableServers(this.#servers);
    // Keep the cursor where it was rather than restarting at the first server: a pool whose health
    // flaps would otherwise hand every restart's first request to server 0.
    this.#next = this.#available.length === 0 ? 0 : this.#next % this.#available.length;
  }

  pick(ctx: PickContext): RealServer | null {
    const available = this.#available;
    const n = available.length;
    for (let step = 0; step < n; step++) {
      const position = (this.#next + step) % n;
      const server = available[position]!;
      if (isUsable(server, ctx.exclude)) {
        this.#next = (position + 1) % n;
        return server;
      }
    }
    return null;
  }
}

export const roundRobin: SchedulerModule = {
  name: 'round-robin',
  create: (servers) => new RoundRobin(servers),
};
