// A UDP virtual service's access list and per-client limits (a datagram that would open a session
// past them is dropped), with the termination code each leaves in the access log, and the bounds
// on the lines refused datagrams may write (one per client per 10 s, 20 new clients a second).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Termination } from '../../src/exchange/termination.ts';
import { FIRST_LINES_PER_SECOND, MAX_TRACKED_CLIENTS, REFUSAL_INTERVAL_MS, UdpRefusalLog, type RefusedClient } from '../../src/l4/udp-refusals.ts';
import { Client, echoServer, start, until } from './udp-harness.ts';

describe('UDP virtual service: access list and per-client limits', () => {
  it('access: a denied client gets no session and one line per interval (denied); an allowed one is served, its session logged when it ends', async (t) => {
    const a = await echoServer(t, 'a');
    const { listener, port, access } = await start(t, [a.port], ['access: { deny: [127.0.0.50/32] }']);
    const t0 = Date.now();
    listener.tick(t0);
    const denied = await Client.open(t, '127.0.0.50');
    for (let i = 0; i < 6; i++) denied.send(port, 'hello');
    await until(() => listener.counters.refused === 6, 'six refusals');
    assert.equal(listener.connectionCount, 0);
    assert.equal(a.peers.size, 0, 'nothing reached the real server');
    assert.deepEqual(
      access.map((r) => [r.client, r.server, r.termination, r.error, r.datagramsIn, r.bytesIn]),
      [['127.0.0.50', '', 'denied', 'refused by the access list of the virtual service', 1, 5]],
      'one line for the first, the others counted',
    );

    const allowed = await Client.open(t, '127.0.0.51');
    assert.equal(await allowed.name(port), 'a');

    listener.tick(t0 + REFUSAL_INTERVAL_MS - 1);
    assert.equal(access.length, 1);
    listener.tick(t0 + REFUSAL_INTERVAL_MS);
    assert.deepEqual(access.slice(1).map((r) => [r.client, r.termination, r.datagramsIn, r.bytesIn, r.durationMs]), [['127.0.0.50', 'denied', 5, 25, REFUSAL_INTERVAL_MS]]);
    listener.tick(t0 + 2 * REFUSAL_INTERVAL_MS);
    assert.equal(access.length, 2, 'a client refused no more gets no more lines');

    listener.destroyAll();
    assert.deepEqual(access.slice(2).map((r) => [r.client, r.termination, r.datagramsIn, r.datagramsOut]), [['127.0.0.51', 'cut', 1, 1]]);
  });

  it('maxConnectionsPerClient: a client address past its open sessions is refused (rate-limited) until one ends', async (t) => {
    const a = await echoServer(t, 'a');
    const { listener, port, access, vs } = await start(t, [a.port], ['rateLimit: { maxConnectionsPerClient: 2 }', 'udp: { sessionTimeout: 30s }']);
    const t0 = Date.now();
    listener.tick(t0);
    const [x, y, z] = [await Client.open(t, '127.0.0.60'), await Client.open(t, '127.0.0.60'), await Client.open(t, '127.0.0.60')];
    assert.equal(await x.name(port), 'a');
    listener.tick(t0 + 10_000);
    assert.equal(await y.name(port), 'a');
    z.send(port, 'who');
    await until(() => listener.counters.refused === 1, 'the third session to be refused');
    assert.equal(vs.pool.servers[0]!.inflight, 2);
    assert.equal(await (await Client.open(t, '127.0.0.61')).name(port), 'a', 'another client address is not affected');
    assert.deepEqual(access.map((r) => [r.client, r.termination, r.error]), [['127.0.0.60', 'rate-limited', 'over syslog/maxConnectionsPerClient']]);

    // x's session expires (30 s after its datagram at t0): its slot comes back.
    listener.tick(t0 + 30_000);
    assert.deepEqual(access.slice(1).map((r) => [r.client, r.termination]), [['127.0.0.60', 'session-timeout']]);
    assert.equal(await z.name(port), 'a');
  });

  it('connectionRate: sessions past the burst are refused (rate-limited); a datagram of an open session is not a new one', async (t) => {
    const a = await echoServer(t, 'a');
    const { listener, port, access } = await start(t, [a.port], ['rateLimit: { connectionRate: { rate: 1/m, burst: 2 } }']);
    const [x, y, z] = [await Client.open(t, '127.0.0.70'), await Client.open(t, '127.0.0.70'), await Client.open(t, '127.0.0.70')];
    assert.equal(await x.name(port), 'a');
    assert.equal(await y.name(port), 'a');
    for (let i = 0; i < 3; i++) assert.equal(await x.name(port), 'a', 'more datagrams in an open session');
    z.send(port, 'who');
    await until(() => listener.counters.refused === 1, 'the third session to be refused');
    assert.equal(listener.counters.sessionsCreated, 2);
    assert.deepEqual(access.map((r) => [r.client, r.termination, r.error]), [['127.0.0.70', 'rate-limited', 'over syslog/connectionRate']]);
  });

  it('a flood of refused datagrams from many addresses writes at most 20 first lines a second, and says so in the operational log', async (t) => {
    const a = await echoServer(t, 'a');
    const { listener, port, access, events } = await start(t, [a.port], ['access: { allow: [10.0.0.0/8] }']);
    const t0 = Date.now();
    listener.tick(t0);
    const senders = await Promise.all(Array.from({ length: 30 }, (_, i) => Client.open(t, `127.0.1.${i + 1}`)));
    for (const sender of senders) for (let i = 0; i < 3; i++) sender.send(port, 'x');
    await until(() => listener.counters.refused === 90, 'ninety refusals');
    assert.equal(access.length, FIRST_LINES_PER_SECOND, 'the first twenty addresses have a line');
    assert.ok(access.every((r) => r.termination === 'denied' && r.datagramsIn === 1));
    assert.equal(listener.unloggedRefusals, 30, 'the ten others are counted');

    listener.tick(t0 + REFUSAL_INTERVAL_MS);
    assert.equal(access.length, 2 * FIRST_LINES_PER_SECOND, 'an interval line for each address followed');
    assert.ok(access.slice(FIRST_LINES_PER_SECOND).every((r) => r.datagramsIn === 2));
    const warning = events.find((e) => e.fields['event'] === 'udp-refusals-unlogged');
    assert.equal(warning?.fields['refusals'], 30);
    assert.match(warning!.message, /30 datagrams refused in the last 10 s had no access-log line/);
  });

  it('a refusal the limits authority answers later (several workers) drops the datagram first and is logged when it comes', async (t) => {
    // With one worker every answer is immediate: the gate is made to answer later, as across workers.
    const a = await echoServer(t, 'a');
    const { listener, port, vs, access } = await start(t, [a.port], ['access: { deny: [127.0.0.80/32] }']);
    const gate = vs.gate!;
    const admit = gate.admit.bind(gate);
    let later: (() => void) | null = null;
    gate.admit = (client, done) => {
      later = () => done(admit(client, () => {}) as Parameters<typeof done>[0]);
      return 'pending';
    };
    const client = await Client.open(t, '127.0.0.80');
    client.send(port, 'who');
    await until(() => later !== null, 'the admission to be asked');
    assert.deepEqual([listener.counters.dropped, listener.counters.refused, access.length], [1, 0, 0]);
    (later as unknown as () => void)();
    assert.equal(listener.counters.refused, 1);
    assert.deepEqual(access.map((r) => [r.client, r.termination, r.datagramsIn]), [['127.0.0.80', 'denied', 1]]);
  });
});

describe('UdpRefusalLog bounds', () => {
  function recorder(): { lines: Array<[string, number]>; unlogged: number[]; log: UdpRefusalLog } {
    const lines: Array<[string, number]> = [];
    const unlogged: number[] = [];
    const log = new UdpRefusalLog((entry: RefusedClient, datagrams) => void lines.push([entry.client, datagrams]), (n) => void unlogged.push(n), 0);
    return { lines, unlogged, log };
  }

  it('one client flooding at any rate: one line at once, then one per interval carrying the count', () => {
    const { lines, log } = recorder();
    for (let now = 0; now < 60_000; now += 100) {
      for (let i = 0; i < 1000; i++) log.refused('192.0.2.1', Termination.DENIED, 'refused', 100, now);
      log.tick(now);
    }
    // A million datagrams in a minute: 1 first line + 5 interval lines (at 10, 20, ... 50 s).
    // The first interval line counts the 999 after the first at 0 s and the 100 ticks up to 10 s;
    // the 99,000 since the last tick at 50 s wait for the line at 60 s.
    assert.deepEqual(
      lines.map(([, datagrams]) => datagrams),
      [1, 100_999, 100_000, 100_000, 100_000, 100_000],
    );
    assert.equal(log.tracked, 1);
  });

  it('a flood from ever new addresses: at most 20 first lines a second, 200 addresses followed, the rest counted', () => {
    const { lines, unlogged, log } = recorder();
    let refusals = 0;
    for (let now = 0; now < 60_000; now += 100) {
      // 1000 datagrams per 100 ms, each from a new address (forged sources).
      for (let i = 0; i < 1000; i++) {
        log.refused(`10.${(refusals >> 16) & 255}.${(refusals >> 8) & 255}.${refusals & 255}`, Termination.DENIED, 'refused', 100, now);
        refusals++;
      }
      log.tick(now);
      assert.ok(log.tracked <= MAX_TRACKED_CLIENTS);
    }
    // 600,000 refusals: a burst of 20 lines, then 20 a second, fewer while 200 addresses are
    // followed at once (each for 10 s, since none is refused twice).
    assert.ok(lines.length <= FIRST_LINES_PER_SECOND * 61, `${lines.length} lines`);
    assert.ok(lines.length >= MAX_TRACKED_CLIENTS, `${lines.length} lines`);
    assert.ok(lines.every(([, datagrams]) => datagrams === 1), 'no address was refused twice: first lines only');
    assert.equal(log.unloggedTotal, refusals - lines.length);
    assert.equal(unlogged.length, 5, 'one report per interval (10 s to 50 s)');
    assert.ok(unlogged.every((n) => n > 90_000), `reports: ${unlogged.join(', ')}`);
  });
});
