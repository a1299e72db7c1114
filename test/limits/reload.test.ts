// A reload: a limit whose id and spec are unchanged keeps its state, a changed one starts fresh,
// a gone one is dropped; in the authority and in the workers alike.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitAuthority } from '../../src/limits/authority.ts';
import { LimitClient } from '../../src/limits/client.ts';
import { LocalLink } from '../../src/limits/links.ts';
import { Verdict, type LimitSpec } from '../../src/limits/types.ts';
import { Cluster, Tally } from './sim.ts';

const fail = () => assert.fail('local mode never waits');
const perClient = (rate: number, burst: number, maxKeys = 100): LimitSpec => ({ id: 'web/perClient', kind: 'rate', rate, burst, maxKeys });
const maxConn = (max: number): LimitSpec => ({ id: 'web/maxConnectionsPerClient', kind: 'concurrency', max, maxKeys: 100 });

function drain(client: LimitClient, now: number): number {
  let n = 0;
  while (client.take('web/perClient', 'a', now, fail) === Verdict.ALLOW) n++;
  return n;
}

describe('reload', () => {
  it('keeps an unchanged limit\'s buckets, resets a changed one, drops a gone one (authority)', () => {
    const client = new LimitClient(new LocalLink(new LimitAuthority()));
    client.configure([perClient(1, 5)]);
    assert.equal(drain(client, 0), 5);
    client.configure([perClient(1, 5)]);
    assert.equal(drain(client, 0), 0, 'same id and spec: still empty');
    client.configure([perClient(1, 5, 50)]);
    assert.equal(drain(client, 0), 0, 'only maxKeys changed: still empty');
    client.configure([perClient(2, 5)]);
    assert.equal(drain(client, 0), 5, 'another rate: a fresh bucket');
    client.configure([]);
    assert.equal(client.take('web/perClient', 'a', 0, fail), Verdict.ALLOW, 'gone: no limit');
    client.configure([perClient(2, 5)]);
    assert.equal(drain(client, 0), 5, 'back again: fresh');
  });

  it('keeps connection counts across a new max: they are connections that are open', () => {
    const authority = new LimitAuthority();
    const client = new LimitClient(new LocalLink(authority));
    client.configure([maxConn(3)]);
    for (let i = 0; i < 3; i++) assert.equal(client.acquire('web/maxConnectionsPerClient', 'a', 0, fail), Verdict.ALLOW);
    client.configure([maxConn(2)]);
    assert.equal(authority.level('web/maxConnectionsPerClient', 'a', 0), 3);
    client.release('web/maxConnectionsPerClient', 'a', 0);
    assert.equal(client.acquire('web/maxConnectionsPerClient', 'a', 0, fail), Verdict.DENY, 'still 2 open: at the new max');
    client.configure([maxConn(4)]);
    assert.equal(client.acquire('web/maxConnectionsPerClient', 'a', 0, fail), Verdict.ALLOW);
  });

  it('keeps a worker\'s leases for an unchanged limit, returns them for a changed one, lets its waiters through', () => {
    const specs = [perClient(1000, 1000)];
    const cluster = new Cluster({ workers: 2, specs });
    const w = cluster.workers[0]!;
    const tally = new Tally();
    tally.count(w.client.take('web/perClient', 'a', 0, tally.done));
    cluster.settle();
    assert.equal(tally.allowed, 1);
    // lease = min(1000 / 8, 1000 × 20 ms) = 20: 19 left in the worker.
    assert.equal(cluster.authority.level('web/perClient', 'a', 0), 980);
    cluster.authority.configure(specs);
    w.client.configure(specs);
    assert.equal(w.client.take('web/perClient', 'a', 0, tally.done), Verdict.ALLOW, 'the lease survived');
    // A request waiting when its limit changes is let through, and the lease goes back.
    const other = cluster.workers[1]!;
    tally.count(other.client.take('web/perClient', 'b', 0, tally.done));
    assert.equal(tally.pending, 1);
    const changed = [perClient(500, 1000)];
    cluster.authority.configure(changed);
    w.client.configure(changed);
    other.client.configure(changed);
    assert.equal(tally.pending, 0);
    cluster.settle();
    assert.deepEqual(w.sent.at(-1)!.returnCounts, [18]);
    assert.equal(w.client.take('web/perClient', 'a', 0, tally.done), Verdict.PENDING, 'a fresh table: ask again');
    cluster.settle();
    assert.equal(cluster.authority.level('web/perClient', 'a', 0), 1000 - 10, 'a fresh bucket (lease 10 at 500/s)');
  });

  it('moves between a LocalLink and an IpcLink (a reload that changes workers) with fresh limits', () => {
    const cluster = new Cluster({ workers: 2, specs: [perClient(1, 2)] });
    const w = cluster.workers[0]!;
    const local = new LimitAuthority();
    w.client.setLink(new LocalLink(local));
    assert.equal(w.client.take('web/perClient', 'a', 0, fail), Verdict.ALLOW);
    assert.equal(w.client.take('web/perClient', 'a', 0, fail), Verdict.ALLOW);
    assert.equal(w.client.take('web/perClient', 'a', 0, fail), Verdict.DENY, 'the local authority has the specs');
  });

  it('rejects specs that cannot work, naming the limit', () => {
    const authority = new LimitAuthority();
    assert.throws(() => authority.configure([perClient(0, 1)]), /limit "web\/perClient": rate must be a positive number/);
    assert.throws(() => authority.configure([perClient(1, 0.5)]), /burst must be an integer >= 1/);
    assert.throws(() => authority.configure([perClient(1, 1), perClient(2, 2)]), /configured twice/);
    assert.throws(() => authority.configure([maxConn(0)]), /max must be an integer >= 1/);
  });
});
