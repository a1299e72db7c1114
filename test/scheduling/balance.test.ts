// Declarative distribution tests in the spirit of HAProxy's reg-tests/balance: servers with their
// weights and state, a number of picks, and the exact order the method must produce.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createScheduler } from '../../src/scheduling/index.ts';
import { type ServerSpec, ctx, makeServers, sequence } from './helpers.ts';

interface OrderCase {
  name: string;
  method: string;
  servers: ReadonlyArray<number | ServerSpec>;
  /** Letters of the servers to exclude on every pick (a retry that already tried them). */
  exclude?: string;
  expected: string;
}

const CASES: OrderCase[] = [
  { name: 'rr rotates in list order', method: 'round-robin', servers: [1, 1, 1], expected: 'a b c a b c a' },
  { name: 'rr ignores weights', method: 'round-robin', servers: [5, 1, 1], expected: 'a b c a b c' },
  {
    name: 'rr skips disabled, down and weight 0',
    method: 'round-robin',
    servers: [1, { weight: 1, enabled: false }, 1, { weight: 1, up: false }, 0, 1],
    expected: 'a c f a c f',
  },
  { name: 'rr skips the excluded', method: 'round-robin', servers: [1, 1, 1], exclude: 'b', expected: 'a c a c' },

  // nginx's own example (ngx_http_upstream_round_robin.c): weights 5,1,1 give a a b a c a a.
  { name: 'swrr 5,1,1 as nginx', method: 'weighted-round-robin', servers: [5, 1, 1], expected: 'a a b a c a a a a b a c a a' },
  // 100:300 interleaves b a b b, never a burst of three b.
  { name: 'swrr 100:300', method: 'weighted-round-robin', servers: [100, 300], expected: 'b a b b b a b b' },
  { name: 'swrr equal weights is rr', method: 'weighted-round-robin', servers: [2, 2, 2], expected: 'a b c a b c' },
  { name: 'swrr 3,2,1', method: 'weighted-round-robin', servers: [3, 2, 1], expected: 'a b a c b a' },
  {
    name: 'swrr excluded servers sit out',
    method: 'weighted-round-robin',
    servers: [5, 1, 1],
    exclude: 'a',
    expected: 'b c b c',
  },
  {
    name: 'swrr skips weight 0 and disabled',
    method: 'weighted-round-robin',
    servers: [0, 2, { weight: 9, enabled: false }, 1],
    expected: 'b d b b d b',
  },

  {
    name: 'lc picks the fewest in flight (counts held still)',
    method: 'least-connections',
    servers: [{ weight: 1, inflight: 3 }, { weight: 1, inflight: 1 }, { weight: 1, inflight: 2 }],
    expected: 'b b b',
  },
  {
    name: 'lc rotates among ties instead of always the first',
    method: 'least-connections',
    servers: [{ weight: 1, inflight: 0 }, { weight: 1, inflight: 5 }, { weight: 1, inflight: 0 }, { weight: 1, inflight: 0 }],
    expected: 'a c d a c d',
  },
  { name: 'lc ignores weights', method: 'least-connections', servers: [10, 1], expected: 'a b a b' },

  {
    name: 'wlc: idle servers take turns whatever their weight',
    method: 'weighted-least-connections',
    servers: [1, 3],
    expected: 'a b a b',
  },
  {
    name: 'wlc: (inflight+1)/weight, 1 on weight 1 loses to 3 on weight 3',
    method: 'weighted-least-connections',
    servers: [{ weight: 1, inflight: 1 }, { weight: 3, inflight: 3 }],
    expected: 'b b b',
  },
  {
    name: 'wlc: equal keys rotate',
    method: 'weighted-least-connections',
    servers: [{ weight: 2, inflight: 3 }, { weight: 1, inflight: 1 }, { weight: 4, inflight: 9 }],
    expected: 'a b a b',
  },

  { name: 'fixed: highest weight, earlier on a tie', method: 'fixed-weight', servers: [2, 5, 5, 1], expected: 'b b b' },
  {
    name: 'fixed: next highest when the primary is down',
    method: 'fixed-weight',
    servers: [2, { weight: 5, up: false }, 4, 1],
    expected: 'c c c',
  },
  { name: 'fixed: next highest on retry', method: 'fixed-weight', servers: [2, 5, 4, 1], exclude: 'bc', expected: 'a a' },
];

describe('exact orders', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const servers = makeServers(c.servers);
      const scheduler = createScheduler(c.method, servers);
      const exclude = c.exclude === undefined ? null : servers.filter((s) => c.exclude!.includes(s.host));
      assert.equal(sequence(scheduler, c.expected.split(' ').length, ctx('192.0.2.1', exclude)), c.expected);
    });
  }
});

/** Picks `count` times as an engine would with requests that never finish: each pick adds one in flight. */
function sequenceUnderLoad(method: string, specs: ReadonlyArray<number | ServerSpec>, count: number): string {
  const servers = makeServers(specs);
  const scheduler = createScheduler(method, servers);
  const picks: string[] = [];
  for (let i = 0; i < count; i++) {
    const picked = scheduler.pick(ctx());
    assert.ok(picked !== null);
    picked.inflight++;
    picks.push(picked.host);
  }
  return picks.join(' ');
}

describe('orders under load (each pick adds a request in flight)', () => {
  it('lc fills the least loaded first, then rotates among equals', () => {
    assert.equal(
      sequenceUnderLoad('least-connections', [{ weight: 1, inflight: 2 }, 1, { weight: 1, inflight: 1 }], 6),
      'b c b c a b',
    );
  });

  it('wlc 1:3 from idle: one each, then b until its key (n+1)/3 reaches a\'s 2/1', () => {
    assert.equal(sequenceUnderLoad('weighted-least-connections', [1, 3], 8), 'a b b b b b a b');
  });

  it('wlc holds in-flight counts in the ratio of the weights', () => {
    const servers = makeServers([1, 3, 6]);
    const scheduler = createScheduler('weighted-least-connections', servers);
    for (let i = 0; i < 1000; i++) scheduler.pick(ctx())!.inflight++;
    // 1000 split 1:3:6 is 100:300:600; the +1 in the key lets each lag by at most one request.
    assert.ok(Math.abs(servers[0]!.inflight - 100) <= 1, `a ${servers[0]!.inflight}`);
    assert.ok(Math.abs(servers[1]!.inflight - 300) <= 1, `b ${servers[1]!.inflight}`);
    assert.ok(Math.abs(servers[2]!.inflight - 600) <= 1, `c ${servers[2]!.inflight}`);
  });
});
