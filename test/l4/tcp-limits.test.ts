import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startBlackhole } from '../helpers/blackhole.ts';
import { closed, connectTo, readBytes, startRawBackend, startTcpService, tcpYaml, waitFor } from './tcp-harness.ts';

describe('tcp virtual service: limits, queue and drain', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('queues connections over maxConnections in arrival order and refuses past the queue size', async () => {
    const backend = await startRawBackend('a');
    const svc = await startTcpService(tcpYaml(['limits: { maxConnections: 2, queue: { size: 2, timeout: 5s } }'], [backend.address]));
    cleanup.push(backend.close, svc.stop);
    const first = await connectTo(svc.port);
    const second = await connectTo(svc.port);
    await readBytes(first, 'line');
    await readBytes(second, 'line');
    const third = await connectTo(svc.port);
    const fourth = await connectTo(svc.port);
    const fifth = await connectTo(svc.port);
    await closed(fifth);
    assert.equal(backend.accepted, 2, 'the queued ones have not reached the real server');
    const order: string[] = [];
    const thirdServed = readBytes(third, 'line').then(() => order.push('third'));
    const fourthServed = readBytes(fourth, 'line').then(() => order.push('fourth'));
    first.destroy();
    await thirdServed;
    assert.equal(backend.accepted, 3);
    second.destroy();
    await fourthServed;
    assert.deepEqual(order, ['third', 'fourth']);
    assert.match(svc.access.find((r) => r.error.includes('queue'))?.error ?? '', /queue is full/);
    third.destroy();
    fourth.destroy();
  });

  it('closes a connection that waited past queue.timeout; size 0 refuses at once', async () => {
    const backend = await startRawBackend('a');
    const svc = await startTcpService(tcpYaml(['limits: { maxConnections: 1, queue: { size: 5, timeout: 300ms } }'], [backend.address]));
    const refuse = await startTcpService(tcpYaml(['limits: { maxConnections: 1, queue: { size: 0 } }'], [backend.address]));
    cleanup.push(backend.close, svc.stop, refuse.stop);
    const holder = await connectTo(svc.port);
    await readBytes(holder, 'line');
    const waiter = await connectTo(svc.port);
    const started = Date.now();
    await closed(waiter);
    const waited = Date.now() - started;
    assert.ok(waited >= 250 && waited < 2000, `closed after ${waited} ms`);
    holder.destroy();
    const held = await connectTo(refuse.port);
    await readBytes(held, 'line');
    const refused = await connectTo(refuse.port);
    await closed(refused);
    assert.ok(refuse.access.some((r) => /queue size 0/.test(r.error)));
    held.destroy();
  });

  it('sends a client past a full real server (maxConnections) to the next, and queues when all are full', async () => {
    const a = await startRawBackend('a');
    const b = await startRawBackend('b');
    const svc = await startTcpService(
      tcpYaml(['limits: { queue: { size: 10, timeout: 5s } }'], [`{ address: ${a.address}, maxConnections: 1 }`, `{ address: ${b.address}, maxConnections: 1 }`]),
    );
    cleanup.push(a.close, b.close, svc.stop);
    const one = await connectTo(svc.port);
    const two = await connectTo(svc.port);
    const names = [(await readBytes(one, 'line')).toString(), (await readBytes(two, 'line')).toString()].sort();
    assert.deepEqual(names, ['a\n', 'b\n']);
    const three = await connectTo(svc.port);
    const served = readBytes(three, 'line');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(a.accepted + b.accepted, 2, 'the third waits while both servers are full');
    one.destroy();
    assert.ok(['a\n', 'b\n'].includes((await served).toString()));
    two.destroy();
    three.destroy();
  });

  it('drain: established connections keep flowing, new ones go elsewhere; drainCut cuts them later', async () => {
    const a = await startRawBackend('a');
    const b = await startRawBackend('b');
    const svc = await startTcpService(tcpYaml([], [a.address, b.address]));
    cleanup.push(a.close, b.close, svc.stop);
    const onA = await connectTo(svc.port);
    assert.equal((await readBytes(onA, 'line')).toString(), 'a\n');
    svc.reload(tcpYaml([], [`{ address: ${a.address}, state: drain }`, b.address]));
    const drainedAt = Date.now();
    for (let i = 0; i < 3; i++) {
      const next = await connectTo(svc.port);
      assert.equal((await readBytes(next, 'line')).toString(), 'b\n');
      next.destroy();
    }
    // Well past any tick: the drained connection still relays.
    await new Promise((r) => setTimeout(r, 300));
    onA.write('still here\n');
    assert.equal((await readBytes(onA, 'line')).toString(), 'still here\n');
    // drainCut counts from when the server stopped taking new clients, not from this reload.
    svc.reload(tcpYaml(['timeouts: { drainCut: 600ms }'], [`{ address: ${a.address}, state: drain }`, b.address]));
    await closed(onA);
    const took = Date.now() - drainedAt;
    assert.ok(took >= 550 && took < 2000, `cut ${took} ms after the drain began`);
    await waitFor(() => svc.access.some((r) => r.error === 'cut'), 'an access record for the cut connection');
  });

  it('a reload keeps established connections and applies to new ones', async () => {
    const a = await startRawBackend('a');
    const b = await startRawBackend('b');
    const svc = await startTcpService(tcpYaml([], [a.address]));
    cleanup.push(a.close, b.close, svc.stop);
    const old = await connectTo(svc.port);
    assert.equal((await readBytes(old, 'line')).toString(), 'a\n');
    svc.reload(tcpYaml([], [b.address]));
    const fresh = await connectTo(svc.port);
    assert.equal((await readBytes(fresh, 'line')).toString(), 'b\n');
    old.write('ping\n');
    assert.equal((await readBytes(old, 'line')).toString(), 'ping\n');
    old.destroy();
    fresh.destroy();
  });

  it('entries that left the queue (timed out) do not count toward its size', async () => {
    const backend = await startRawBackend('a');
    const svc = await startTcpService(tcpYaml(['limits: { maxConnections: 1, queue: { size: 2, timeout: 300ms } }'], [backend.address]));
    cleanup.push(backend.close, svc.stop);
    const holder = await connectTo(svc.port);
    await readBytes(holder, 'line');
    const waiters = [await connectTo(svc.port), await connectTo(svc.port)];
    await Promise.all(waiters.map((w) => closed(w)));
    // The queue is empty again: a new client waits its 300 ms instead of being refused at once.
    const started = Date.now();
    const next = await connectTo(svc.port);
    await closed(next);
    assert.ok(Date.now() - started >= 250, `waited ${Date.now() - started} ms`);
    assert.ok(!svc.access.some((r) => /queue is full/.test(r.error)), JSON.stringify(svc.access.map((r) => r.error)));
    holder.destroy();
  });

  it('queued clients that find no server are closed, and the next ones are still served in order', async () => {
    const backend = await startRawBackend('a');
    const svc = await startTcpService(tcpYaml(['limits: { maxConnections: 1, queue: { size: 10, timeout: 5s } }'], [backend.address]));
    cleanup.push(backend.close, svc.stop);
    const id = svc.service.pool.servers[0]!.id;
    const holder = await connectTo(svc.port);
    await readBytes(holder, 'line');
    const doomed = [await connectTo(svc.port), await connectTo(svc.port)];
    await waitFor(() => svc.listener.connectionCount === 3, 'two queued connections');
    svc.service.pool.setHealth(id, false, 'test');
    holder.destroy();
    await Promise.all(doomed.map((d) => closed(d)));
    svc.service.pool.setHealth(id, true, 'test');
    const first = await connectTo(svc.port);
    assert.equal((await readBytes(first, 'line')).toString(), 'a\n');
    const second = await connectTo(svc.port);
    const third = await connectTo(svc.port);
    const order: string[] = [];
    const served = [readBytes(second, 'line').then(() => order.push('second')), readBytes(third, 'line').then(() => order.push('third'))];
    first.destroy();
    await served[0];
    second.destroy();
    await served[1];
    assert.deepEqual(order, ['second', 'third']);
    third.destroy();
  });

  it('a connection cut while it connects releases its server (destroyAll during a connect)', async () => {
    const hole = await startBlackhole();
    const svc = await startTcpService(tcpYaml(['timeouts: { connect: 10s }'], [hole.address]));
    cleanup.push(hole.close, svc.stop);
    const client = await connectTo(svc.port);
    await waitFor(() => [...svc.listener.connections].some((c) => c.phase === 'connecting'), 'a connection in its connect phase');
    svc.listener.destroyAll();
    await closed(client);
    assert.equal(svc.service.pool.servers[0]!.inflight, 0);
    assert.equal(svc.listener.connectionCount, 0);
  });
});

