// Connections per client across workers: the global count never exceeds max, releases free
// slots, spare slots go back, and a dead worker's slots are freed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Verdict } from '../../src/limits/types.ts';
import { Cluster, Tally, toAuthority } from './sim.ts';

/** A tiny deterministic PRNG (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Connection {
  worker: number;
  closesAt: number;
}

function churn(max: number, workers: number, seed: number): { peak: number; cluster: Cluster; refused: number } {
  const cluster = new Cluster({ workers, specs: [{ id: 'c', kind: 'concurrency', max, maxKeys: 100 }], upDelay: 1, downDelay: 1 });
  const rnd = random(seed);
  const open: Connection[] = [];
  let peak = 0;
  let refused = 0;
  const admit = (worker: number) => {
    open.push({ worker, closesAt: cluster.now + 1 + Math.floor(rnd() * 300) });
    peak = Math.max(peak, open.length);
    assert.ok(open.length <= max, `${open.length} connections open at t=${cluster.now}, max ${max}`);
  };
  for (let t = 0; t < 3000; t++) {
    for (let i = open.length - 1; i >= 0; i--) {
      const c = open[i]!;
      if (c.closesAt > cluster.now) continue;
      open.splice(i, 1);
      cluster.workers[c.worker]!.client.release('c', '203.0.113.9', cluster.now);
    }
    for (let n = 0; n < 3; n++) {
      const worker = Math.floor(rnd() * workers);
      const verdict = cluster.workers[worker]!.client.acquire('c', '203.0.113.9', cluster.now, (allowed) => {
        if (allowed) admit(worker);
        else refused++;
      });
      if (verdict === Verdict.ALLOW) admit(worker);
      else if (verdict === Verdict.DENY) refused++;
    }
    cluster.advance();
  }
  // The last answers arrive, then everyone leaves and the spares age out.
  cluster.advance(10);
  for (const c of open.splice(0)) cluster.workers[c.worker]!.client.release('c', '203.0.113.9', cluster.now);
  cluster.advance(1200);
  return { peak, cluster, refused };
}

describe('connections per client across workers', () => {
  for (const [max, workers] of [[10, 4], [3, 2], [200, 4]] as const) {
    it(`never more than ${max} open over ${workers} workers; all slots come back`, () => {
      const { peak, cluster, refused } = churn(max, workers, max * 31 + workers);
      assert.equal(peak, max, 'the limit was reached');
      assert.ok(refused > 0);
      assert.equal(cluster.authority.level('c', '203.0.113.9', cluster.now), 0);
      assert.equal(cluster.authority.size('c'), 0);
      for (const w of cluster.workers) assert.equal(w.client.size('c'), 0);
    });
  }

  it('keeps a spare slot or two only when max is large for the worker count, and returns it when idle', () => {
    const cluster = new Cluster({ workers: 2, specs: [{ id: 'c', kind: 'concurrency', max: 64, maxKeys: 10 }] });
    // spare = min(2, 64 / (16 × 2)) = 2
    const w = cluster.workers[0]!;
    const tally = new Tally();
    tally.count(w.client.acquire('c', 'a', 0, tally.done));
    cluster.settle();
    assert.equal(tally.allowed, 1);
    assert.equal(cluster.authority.level('c', 'a', 0), 3);
    assert.equal(w.client.acquire('c', 'a', 0, tally.done), Verdict.ALLOW, 'a spare: no round trip');
    assert.equal(w.client.acquire('c', 'a', 0, tally.done), Verdict.ALLOW);
    assert.equal(w.client.acquire('c', 'a', 0, tally.done), Verdict.PENDING);
    cluster.settle();
    w.client.release('c', 'a', 1);
    cluster.settle();
    assert.equal(cluster.authority.level('c', 'a', 1), 5, '3 open + 2 spare kept after a release');
    w.client.release('c', 'a', 1);
    w.client.release('c', 'a', 1);
    w.client.release('c', 'a', 1);
    cluster.settle();
    assert.equal(cluster.authority.level('c', 'a', 1), 2, 'no connection left: only the spares');
    cluster.advance(1100);
    assert.equal(cluster.authority.level('c', 'a', cluster.now), 0, 'idle spares go back');
  });

  it('refuses at the max without asking for 20 ms, and a release in the worker ends that at once', () => {
    const cluster = new Cluster({ workers: 2, specs: [{ id: 'c', kind: 'concurrency', max: 2, maxKeys: 10 }] });
    const [a, b] = cluster.workers as [NonNullable<(typeof cluster.workers)[0]>, NonNullable<(typeof cluster.workers)[0]>];
    const tally = new Tally();
    tally.count(a.client.acquire('c', 'x', 0, tally.done));
    tally.count(b.client.acquire('c', 'x', 0, tally.done));
    cluster.settle();
    assert.equal(tally.allowed, 2);
    tally.count(a.client.acquire('c', 'x', 0, tally.done));
    cluster.settle();
    assert.equal(tally.denied, 1);
    const asks = a.client.counters.asks;
    assert.equal(a.client.acquire('c', 'x', 10, tally.done), Verdict.DENY);
    assert.equal(a.client.counters.asks, asks);
    a.client.release('c', 'x', 11);
    cluster.settle();
    tally.count(a.client.acquire('c', 'x', 11, tally.done));
    cluster.settle();
    assert.equal(tally.allowed, 3);
  });

  it('frees the slots of a worker that died', () => {
    const cluster = new Cluster({ workers: 3, specs: [{ id: 'c', kind: 'concurrency', max: 5, maxKeys: 10 }] });
    const tally = new Tally();
    const dying = cluster.workers[1]!;
    for (let i = 0; i < 5; i++) tally.count(dying.client.acquire('c', 'x', 0, tally.done));
    cluster.settle();
    assert.equal(tally.allowed, 5);
    const other = cluster.workers[2]!;
    tally.count(other.client.acquire('c', 'x', 0, tally.done));
    cluster.settle();
    assert.equal(tally.denied, 1);
    cluster.authority.workerGone(1);
    assert.equal(cluster.authority.level('c', 'x', 0), 0);
    cluster.advance(25);
    for (let i = 0; i < 5; i++) tally.count(other.client.acquire('c', 'x', cluster.now, tally.done));
    cluster.settle();
    assert.equal(tally.allowed, 10);
    // A late return from the dead worker (or a confused one) cannot lower the count below the truth.
    cluster.authority.receive(1, toAuthority(0, [], [['c', 'x', 5]]), cluster.now);
    assert.equal(cluster.authority.level('c', 'x', cluster.now), 5);
  });
});
