import type { RealServer } from '../pool/real-server.ts';
import { LeastLoaded } from './least-connections.ts';
import type { SchedulerModule } from './scheduler.ts';

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

/** Weighted least connections: least-connections' scan and tie rotation, ordered by `lessLoaded`. */
export const weightedLeastConnections: SchedulerModule = {
  name: 'weighted-least-connections',
  create: (servers) => new LeastLoaded(servers, lessLoaded),
};
