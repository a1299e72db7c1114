import type { RealServer } from '../pool/real-server.ts';
import type { PickContext, Scheduler, SchedulerModule } from './scheduler.ts';
import { availableServers, isUsable } from './usable.ts';

/**
 * Fixed weighting (KEMP LoadMaster's primary/backup): every request goes to the available server
 * with the highest weight, the earlier in the list on equal weight. When it becomes unavailable
 * the next highest takes over, and traffic returns to it as soon as it is available again (the
 * runtime calls `rebuild`). A retry walks down the same order past the servers it tried.
 *
 * `rebuild` sorts the available servers once, so a pick is O(1) unless the first ones are excluded.
 */
class FixedWeight implements Scheduler {
  readonly #servers: readonly RealServer[];
  #order: RealServer[] = [];

  constructor(servers: readonly RealServer[]) {
    this.#servers = servers;
    this.rebuild();
  }

  rebuild(): void {
    this.#order = availableServers(this.#servers).sort((a, b) => b.weight - a.weight || a.index - b.index);
  }

  pick(ctx: PickContext): RealServer | null {
    const order = this.#order;
    for (let i = 0; i < order.length; i++) {
      const server = order[i]!;
      if (isUsable(server, ctx.exclude)) return server;
    }
    return null;
  }
}

export const fixedWeight: SchedulerModule = {
  name: 'fixed-weight',
  create: (servers) => new FixedWeight(servers),
};
