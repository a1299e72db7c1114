// A flood of distinct client addresses cannot grow memory: every table, in the authority and in
// each worker, holds at most maxKeys keys, the least recently used going first.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitAuthority } from '../../src/limits/authority.ts';
import { LimitClient } from '../../src/limits/client.ts';
import { LocalLink } from '../../src/limits/links.ts';
import { Verdict } from '../../src/limits/types.ts';
import { Cluster, Tally } from './sim.ts';

const KEYS = 1_000_000;
const CAP = 10_000;

/** 10.a.b.c for i < 2^24. */
function address(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

describe('bounded memory', () => {
  it('local mode: 1,000,000 addresses against a cap of 10,000', () => {
    const authority = new LimitAuthority();
    const client = new LimitClient(new LocalLink(authority));
    client.configure([
      { id: 'r', kind: 'rate', rate: 1, burst: 1, maxKeys: CAP },
      { id: 'c', kind: 'concurrency', max: 1, maxKeys: CAP },
    ]);
    const fail = () => assert.fail('local mode never waits');
    for (let i = 0; i < KEYS; i++) {
      assert.equal(client.take('r', address(i), 0, fail), Verdict.ALLOW);
      assert.equal(client.acquire('c', address(i), 0, fail), Verdict.ALLOW);
    }
    assert.equal(authority.size('r'), CAP);
    assert.equal(authority.size('c'), CAP);
    // The most recent keys are the ones kept.
    assert.equal(client.take('r', address(KEYS - 1), 0, fail), Verdict.DENY);
    assert.equal(client.take('r', address(0), 0, fail), Verdict.ALLOW, 'the first key was forgotten: a fresh bucket');
  });

  it('workers: 1,000,000 addresses through a worker against a cap of 10,000, in the worker and the authority', () => {
    const cluster = new Cluster({
      workers: 2,
      specs: [
        { id: 'r', kind: 'rate', rate: 1, burst: 1, maxKeys: CAP },
        { id: 'c', kind: 'concurrency', max: 1, maxKeys: CAP },
      ],
    });
    const tally = new Tally();
    const w = cluster.workers[0]!;
    let maxWorkerSize = 0;
    // 1000 new addresses per turn, every turn its own ms.
    for (let i = 0; i < KEYS; i++) {
      tally.count(w.client.take('r', address(i), cluster.now, tally.done));
      if (i % 1000 === 999) {
        cluster.advance();
        maxWorkerSize = Math.max(maxWorkerSize, w.client.size('r'));
      }
    }
    cluster.advance(10);
    assert.equal(tally.pending, 0);
    assert.equal(tally.allowed, KEYS, 'each new address had a full bucket');
    assert.ok(maxWorkerSize <= CAP, `worker table reached ${maxWorkerSize}`);
    assert.ok(cluster.authority.size('r') <= CAP);
    // Connections: each client holds one for a while; the cap still bounds both sides.
    for (let i = 0; i < 200_000; i++) {
      tally.count(w.client.acquire('c', address(i), cluster.now, tally.done));
      if (i % 1000 === 999) cluster.advance();
    }
    cluster.advance(10);
    assert.ok(w.client.size('c') <= CAP);
    assert.ok(cluster.authority.size('c') <= CAP);
    // Everything idle ages out of the worker.
    cluster.advance(1500);
    assert.equal(w.client.size('r'), 0);
  });

  it('lets a request through when its waiting entry is evicted, after take returns', async () => {
    const cluster = new Cluster({ workers: 2, specs: [{ id: 'r', kind: 'rate', rate: 1, burst: 1, maxKeys: 100 }] });
    const w = cluster.workers[0]!;
    const tally = new Tally();
    for (let i = 0; i < 150; i++) tally.count(w.client.take('r', address(i), 0, tally.done));
    assert.equal(tally.pending, 150, 'no answer from inside take');
    await Promise.resolve();
    assert.equal(tally.allowed, 50, 'the 50 evicted went through');
    assert.equal(w.client.counters.failedOpen, 50);
    cluster.settle();
    assert.equal(w.sent[0]!.askKeys.length, 100, 'only the tracked keys were asked for');
    assert.equal(tally.allowed, 150);
  });
});
