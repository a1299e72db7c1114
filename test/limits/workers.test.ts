// Several workers against one authority over a simulated IPC channel (asynchronous, ordered,
// with delays): the total let through never exceeds burst + rate × time and comes within 2 % of it,
// however the kernel spreads a client's requests over the workers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Verdict } from '../../src/limits/types.ts';
import { Cluster, Tally } from './sim.ts';

interface FloodCase {
  name: string;
  /** Requests per ms arriving at each worker. */
  perWorker: number[];
  rate: number;
  burst: number;
  seconds: number;
  upDelay?: number;
  downDelay?: number;
}

/** Flood one client; after every ms, what was let through so far must not exceed burst + rate × elapsed. */
function flood(c: FloodCase): { allowed: number; ceiling: number; cluster: Cluster } {
  const cluster = new Cluster({
    workers: c.perWorker.length,
    specs: [{ id: 'web/perClient', kind: 'rate', rate: c.rate, burst: c.burst, maxKeys: 1000 }],
    upDelay: c.upDelay ?? 0,
    downDelay: c.downDelay ?? 0,
  });
  const tally = new Tally();
  const end = c.seconds * 1000;
  for (;;) {
    cluster.workers.forEach((w, i) => {
      for (let n = 0; n < c.perWorker[i]!; n++) tally.count(w.client.take('web/perClient', '198.51.100.7', cluster.now, tally.done), w.client.retryAfterMs);
    });
    cluster.settle();
    const ceiling = c.burst + (c.rate * cluster.now) / 1000;
    assert.ok(tally.allowed <= ceiling + 1e-9, `${c.name}: ${tally.allowed} let through by t=${cluster.now} ms, more than ${ceiling}`);
    if (cluster.now >= end) break;
    cluster.advance();
  }
  // Let the last answers arrive (no new requests): they may only allow what was asked for before.
  cluster.advance(20);
  const ceiling = c.burst + (c.rate * end) / 1000;
  assert.ok(tally.allowed <= ceiling + (c.rate * 20) / 1000, `${c.name}: late answers let through too many`);
  return { allowed: tally.allowed, ceiling, cluster };
}

describe('several workers share one limit', () => {
  const cases: FloodCase[] = [
    { name: '2 workers, even', perWorker: [3, 3], rate: 1000, burst: 200, seconds: 5 },
    { name: '4 workers, even', perWorker: [2, 2, 2, 2], rate: 1000, burst: 200, seconds: 5 },
    { name: '4 workers, uneven', perWorker: [5, 2, 1, 0], rate: 1000, burst: 200, seconds: 5 },
    { name: '4 workers, all on one', perWorker: [8, 0, 0, 0], rate: 1000, burst: 200, seconds: 5 },
    { name: '4 workers, even, 3 ms each way', perWorker: [2, 2, 2, 2], rate: 1000, burst: 200, seconds: 5, upDelay: 3, downDelay: 3 },
    { name: '4 workers, uneven, 5 ms up 1 ms down', perWorker: [6, 1, 1, 1], rate: 1000, burst: 200, seconds: 5, upDelay: 5, downDelay: 1 },
    { name: '4 workers, the sample 50/s burst 100, 10 s', perWorker: [1, 1, 1, 1], rate: 50, burst: 100, seconds: 10, upDelay: 1, downDelay: 1 },
    { name: '2 workers, the sample 50/s burst 100, uneven, 10 s', perWorker: [3, 1], rate: 50, burst: 100, seconds: 10, upDelay: 2, downDelay: 2 },
    { name: '4 workers, 20,000/s with large leases', perWorker: [20, 10, 10, 5], rate: 20_000, burst: 20_000, seconds: 3, upDelay: 1, downDelay: 1 },
  ];
  for (const c of cases) {
    it(`${c.name}: within 2 % of burst + rate × time, never above`, () => {
      const { allowed, ceiling } = flood(c);
      assert.ok(allowed >= ceiling * 0.98, `${c.name}: only ${allowed} of ${ceiling} let through`);
    });
  }

  it('gives a client on a single worker its full burst at once', () => {
    const cluster = new Cluster({ workers: 4, specs: [{ id: 'r', kind: 'rate', rate: 10, burst: 100, maxKeys: 10 }], upDelay: 1, downDelay: 1 });
    const tally = new Tally();
    const w = cluster.workers[0]!;
    for (let i = 0; i < 150; i++) tally.count(w.client.take('r', 'a', cluster.now, tally.done), w.client.retryAfterMs);
    assert.equal(tally.pending, 150, 'nothing leased yet: all wait for the authority');
    assert.equal(w.sent.length, 0, 'the asks of a turn leave together, at its end');
    cluster.settle();
    assert.equal(w.sent.length, 1);
    assert.deepEqual(w.sent[0]!.askWants, [150], 'one ask for every waiting request');
    cluster.advance(2);
    assert.equal(tally.allowed, 100);
    assert.equal(tally.denied, 50);
    assert.ok(tally.retryAfters.every((ms) => ms === 100), 'refused with the time until the next token');
    // The refusal is remembered: a flood is refused without asking again.
    const asks = w.client.counters.asks;
    for (let i = 0; i < 1000; i++) assert.equal(w.client.take('r', 'a', cluster.now, tally.done), Verdict.DENY);
    assert.ok(w.client.retryAfterMs > 0 && w.client.retryAfterMs <= 100);
    cluster.settle();
    assert.equal(w.client.counters.asks, asks);
  });

  it('batches every ask of a turn (many keys, many limits) into one message', () => {
    const cluster = new Cluster({
      workers: 2,
      specs: [
        { id: 'a', kind: 'rate', rate: 10, burst: 10, maxKeys: 100 },
        { id: 'b', kind: 'concurrency', max: 5, maxKeys: 100 },
      ],
    });
    const tally = new Tally();
    const w = cluster.workers[1]!;
    for (let k = 0; k < 20; k++) {
      tally.count(w.client.take('a', `10.0.0.${k}`, 0, tally.done));
      tally.count(w.client.acquire('b', `10.0.0.${k}`, 0, tally.done));
    }
    cluster.settle();
    assert.equal(w.sent.length, 1);
    assert.equal(w.sent[0]!.askKeys.length, 40);
    assert.equal(tally.allowed, 40);
  });

  it('uses leased tokens synchronously and gives unused ones back after a second', () => {
    const cluster = new Cluster({ workers: 2, specs: [{ id: 'r', kind: 'rate', rate: 1000, burst: 1000, maxKeys: 10 }] });
    // lease = max(1, min(1000 / 8, 1000 × 20 ms)) = 20
    const tally = new Tally();
    const w = cluster.workers[0]!;
    tally.count(w.client.take('r', 'a', 0, tally.done));
    cluster.settle();
    assert.equal(tally.allowed, 1);
    for (let i = 0; i < 19; i++) assert.equal(w.client.take('r', 'a', 0, tally.done), Verdict.ALLOW);
    assert.equal(w.client.take('r', 'a', 0, tally.done), Verdict.PENDING);
    cluster.settle();
    assert.equal(cluster.authority.level('r', 'a', 0), 1000 - 40);
    cluster.advance(1100);
    assert.equal(w.client.size('r'), 0, 'the idle entry is gone');
    assert.equal(cluster.authority.level('r', 'a', cluster.now), 1000, 'its 19 unused tokens came back (and the bucket refilled)');
  });
});
