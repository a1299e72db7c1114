// The UDP virtual service end to end on loopback: real dgram sockets for clients and real servers,
// the listener built directly, and the worker's tick driven by hand with a chosen `now`.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.ts';
import { UdpListener } from '../../src/l4/udp-listener.ts';
import { EngineContext } from '../../src/worker/engine-context.ts';
import { serviceOf } from '../helpers/service.ts';
import { bound, Client, ECHO, echoServer, MAX_IPV4_PAYLOAD, nudgeUntil, serviceConfig, start, unusedPort, until } from './udp-harness.ts';

function udpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
}

describe('UDP virtual service', () => {
  it('keeps a client on one real server, spreads clients round robin, and replies from the virtual address', async (t) => {
    const [a, b] = [await echoServer(t, 'a'), await echoServer(t, 'b')];
    const { listener, port, vs } = await start(t, [a.port, b.port]);

    const first = await Client.open(t);
    const names = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const { msg, rinfo } = await first.ask(port);
      names.add(msg.toString());
      assert.equal(rinfo.address, '127.0.0.1');
      assert.equal(rinfo.port, port, 'the reply comes from the virtual service port, not the session socket');
    }
    assert.deepEqual([...names], ['a']);
    assert.equal(a.peers.size, 1, 'one session socket towards a');

    const others = await Promise.all(Array.from({ length: 5 }, () => Client.open(t)));
    const chosen: string[] = [];
    for (const client of others) chosen.push(await client.name(port));
    assert.deepEqual(chosen, ['b', 'a', 'b', 'a', 'b']);
    for (const client of others) assert.equal(await client.name(port), chosen[others.indexOf(client)], 'each client stays');

    assert.equal(listener.connectionCount, 6);
    assert.equal(listener.counters.sessionsCreated, 6);
    assert.equal(listener.counters.datagramsIn, 15);
    assert.equal(listener.counters.datagramsOut, 15);
    const [sa, sb] = vs.pool.servers;
    assert.deepEqual([sa!.inflight, sb!.inflight], [3, 3]);
    assert.deepEqual([sa!.requests, sb!.requests], [3, 3]);
  });

  it('expires a silent session after sessionTimeout, logs it, and the next datagram picks again', async (t) => {
    const [a, b] = [await echoServer(t, 'a'), await echoServer(t, 'b')];
    const { listener, port, vs, access } = await start(t, [a.port, b.port], ['udp: { sessionTimeout: 30s }']);
    const t0 = Date.now();
    listener.tick(t0);
    const client = await Client.open(t);
    assert.equal(await client.name(port), 'a');
    assert.equal(await client.name(port), 'a');

    listener.tick(t0 + 29_999);
    assert.equal(listener.connectionCount, 1);
    assert.equal(access.length, 0, 'a session is logged once, when it ends');
    listener.tick(t0 + 30_000);
    assert.equal(listener.connectionCount, 0);
    assert.equal(access.length as number, 1);
    const { durationMs, ...rest } = access[0]!;
    assert.deepEqual(rest, {
      protocol: 'udp',
      client: '127.0.0.1',
      virtualService: 'syslog',
      pool: 'syslog',
      server: `127.0.0.1:${a.port}`,
      bytesIn: 6,
      bytesOut: 2,
      datagramsIn: 2,
      datagramsOut: 2,
      termination: 'session-timeout',
      error: '',
    });
    assert.ok(durationMs >= 0 && durationMs < 2000, `durationMs ${durationMs}`);
    assert.equal(listener.counters.sessionsExpired, 1);
    assert.equal(vs.pool.servers[0]!.inflight, 0);

    assert.equal(await client.name(port), 'b', 'a new session, chosen by the scheduler');
    assert.equal(listener.counters.sessionsCreated, 2);
  });

  it('counts a reply as activity: a session that only receives does not expire', async (t) => {
    const a = await echoServer(t, 'a');
    const { listener, port } = await start(t, [a.port], ['udp: { sessionTimeout: 10s }']);
    const t0 = Date.now();
    listener.tick(t0);
    const client = await Client.open(t);
    await client.name(port);
    listener.tick(t0 + 9_000);
    // The real server speaks on its own (a reply to nothing new): its session socket is a's only peer.
    const [sessionPort] = [...a.peers];
    const unsolicited = once(client.socket, 'message', { signal: AbortSignal.timeout(2000) });
    a.socket.send('push', sessionPort!, '127.0.0.1');
    assert.equal(String((await unsolicited)[0]), 'push');
    listener.tick(t0 + 18_000);
    assert.equal(listener.connectionCount, 1, 'the reply at 9 s renewed it');
    listener.tick(t0 + 19_000);
    assert.equal(listener.connectionCount, 0);
  });

  it('evicts the least recently used session past maxSessions', async (t) => {
    const a = await echoServer(t, 'a');
    const { listener, port, access } = await start(t, [a.port], ['udp: { maxSessions: 2 }']);
    const [x, y, z] = [await Client.open(t), await Client.open(t), await Client.open(t)];
    await x.name(port);
    await y.name(port);
    await x.name(port); // x is now the most recently used; y the least
    await z.name(port);
    assert.equal(listener.connectionCount, 2);
    assert.equal(listener.counters.sessionsEvicted, 1);
    assert.equal(listener.counters.sessionsCreated, 3);

    await x.name(port);
    assert.equal(listener.counters.sessionsCreated, 3, 'x kept its session');
    await y.name(port);
    assert.equal(listener.counters.sessionsCreated, 4, 'y lost its session and got a new one');
    assert.equal(listener.counters.sessionsEvicted, 2, 'z, then the oldest, made room');
    assert.equal(a.peers.size, 4, 'every session had a socket of its own');
    assert.deepEqual(
      access.map((r) => [r.termination, r.error]),
      Array(2).fill(['session-evicted', 'udp.maxSessions (2) reached in this worker']),
    );
  });

  it('passes a 65507-byte datagram, binary content and an empty datagram byte for byte', async (t) => {
    const a = await echoServer(t, 'a');
    const { listener, port } = await start(t, [a.port]);
    const client = await Client.open(t);

    const largest = Buffer.concat([ECHO, randomBytes(MAX_IPV4_PAYLOAD - ECHO.length)]);
    const big = await client.ask(port, largest);
    assert.equal(big.msg.length, MAX_IPV4_PAYLOAD);
    assert.ok(big.msg.equals(largest));

    const everyByte = Buffer.concat([ECHO, Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from([0, 0, 13, 10])]);
    assert.ok((await client.ask(port, everyByte)).msg.equals(everyByte));

    assert.equal((await client.ask(port, Buffer.alloc(0))).msg.toString(), 'a', 'an empty datagram is forwarded too');
    assert.equal(listener.counters.errors, 0);
  });

  it('closes the sessions of a server marked down at the next tick; their clients move', async (t) => {
    const [a, b] = [await echoServer(t, 'a'), await echoServer(t, 'b')];
    const { listener, port, vs, access } = await start(t, [a.port, b.port]);
    const [x, y] = [await Client.open(t), await Client.open(t)];
    assert.equal(await x.name(port), 'a');
    assert.equal(await y.name(port), 'b');

    vs.pool.setHealth(vs.pool.servers[0]!.id, false, 'test');
    assert.equal(listener.connectionCount, 2, 'nothing happens before the tick');
    listener.tick(Date.now());
    assert.equal(listener.connectionCount, 1);
    assert.equal(listener.counters.sessionsMoved, 1);
    assert.equal(vs.pool.servers[0]!.inflight, 0);
    assert.deepEqual(access.map((r) => [r.server, r.termination, r.error]), [[`127.0.0.1:${a.port}`, 'cut', `real server 127.0.0.1:${a.port} is down`]]);

    assert.equal(await x.name(port), 'b');
    assert.equal(await (await Client.open(t)).name(port), 'b');
    assert.equal(await y.name(port), 'b');
    assert.equal(listener.counters.sessionsCreated, 4);
  });

  it('keeps the sessions of a draining server until they expire', async (t) => {
    const [a, b] = [await echoServer(t, 'a'), await echoServer(t, 'b')];
    const { listener, port, vs } = await start(t, [a.port, b.port]);
    const x = await Client.open(t);
    assert.equal(await x.name(port), 'a');
    vs.pool.servers[0]!.state = 'drain';
    vs.pool.scheduler.rebuild();
    listener.tick(Date.now());
    assert.equal(await x.name(port), 'a', 'the session stays');
    assert.equal(await (await Client.open(t)).name(port), 'b', 'a new client does not go to the draining server');
    assert.equal(listener.counters.sessionsMoved, 0);
  });

  it('ends the sessions of a draining server once drainTimeout has passed since it started draining', async (t) => {
    const [a, b] = [await echoServer(t, 'a'), await echoServer(t, 'b')];
    const { listener, port, vs } = await start(t, [a.port, b.port], ['drainTimeout: 10s', 'udp: { sessionTimeout: 1h }']);
    const x = await Client.open(t);
    assert.equal(await x.name(port), 'a');
    vs.pool.servers[0]!.state = 'drain';
    vs.pool.scheduler.rebuild();
    const t0 = Date.now();
    listener.tick(t0);
    assert.equal(await x.name(port), 'a');
    listener.tick(t0 + 9_999);
    assert.equal(listener.connectionCount, 1);
    listener.tick(t0 + 10_000);
    assert.equal(listener.connectionCount, 0);
    assert.equal(listener.counters.sessionsMoved, 1);
    assert.equal(await x.name(port), 'b');
  });

  it('holds the first datagrams of a session while a real server given by name is resolved', async (t) => {
    const a = await echoServer(t, 'a');
    const { listener, port } = await start(t, [`localhost:${a.port}`]);
    const client = await Client.open(t);
    const replies: string[] = [];
    client.socket.on('message', (msg: Buffer) => replies.push(msg.toString()));
    for (const n of [1, 2, 3]) client.send(port, `echo:${n}`);
    await until(() => replies.length === 3, 'three replies');
    assert.deepEqual(replies.sort(), ['echo:1', 'echo:2', 'echo:3']);
    assert.equal(listener.counters.sessionsCreated, 1);
  });

  it('survives ICMP port unreachable from a real server: the session closes and the next datagram picks again', async (t) => {
    const dead = await unusedPort();
    const b = await echoServer(t, 'b');
    const { listener, port, vs, access } = await start(t, [dead, b.port]);
    const client = await Client.open(t);
    client.send(port, 'who'); // round robin: the dead server first
    await nudgeUntil(client, port, () => listener.counters.sessionsFailed === 1, 'the session to close');
    assert.equal(listener.connectionCount, 0);
    assert.equal(vs.pool.servers[0]!.inflight, 0);
    assert.equal(vs.pool.servers[0]!.consecutiveFailures, 1, 'the failure was noted against the server');
    assert.equal(access.length, 1);
    assert.equal(access[0]!.termination, 'upstream-connect-refused');
    assert.equal(access[0]!.error, `127.0.0.1:${dead}: port unreachable (ICMP)`);
    assert.equal(access[0]!.datagramsOut, 0);

    assert.equal(await client.name(port), 'b');
    assert.equal(listener.counters.sessionsCreated, 2);
  });

  it('notices ICMP port unreachable under a steady stream of datagrams, whether a send or a receive meets it', async (t) => {
    const dead = await unusedPort();
    const { listener, port, vs } = await start(t, [dead]);
    const client = await Client.open(t);
    for (let i = 0; i < 500; i++) {
      client.send(port, 'who');
      if (i % 10 === 9) await new Promise(setImmediate);
    }
    await until(() => listener.counters.datagramsIn === 500, 'the stream to arrive');
    await nudgeUntil(client, port, () => listener.connectionCount === 0, 'the last session to fail');
    // Sessions fail within a datagram or two (as many as the kernel sends ICMP errors for): a send
    // that meets the error reports it too, where Node, without a send callback, would drop it and
    // leave the session sending into the void until the stream stops.
    assert.ok(listener.counters.sessionsFailed >= 10, `only ${listener.counters.sessionsFailed} sessions failed`);
    assert.equal(listener.counters.sessionsCreated, listener.counters.sessionsFailed);
    assert.equal(vs.pool.servers[0]!.inflight, 0);
    assert.equal(vs.pool.servers[0]!.consecutiveFailures, listener.counters.sessionsFailed);
  });

  it('drops datagrams when no real server is available, counts them, and logs the client once per interval', async (t) => {
    const a = await echoServer(t, 'a');
    const { listener, port, vs, access } = await start(t, [a.port]);
    vs.pool.setHealth(vs.pool.servers[0]!.id, false, 'test');
    const t0 = Date.now();
    listener.tick(t0);
    const client = await Client.open(t);
    client.send(port, 'who');
    client.send(port, 'who');
    await until(() => listener.counters.datagramsIn === 2, 'both datagrams to arrive');
    assert.equal(listener.counters.dropped, 2);
    assert.equal(listener.connectionCount, 0);
    assert.deepEqual(
      access.map((r) => [r.client, r.server, r.termination, r.datagramsIn, r.bytesIn]),
      [['127.0.0.1', '', 'no-server-available', 1, 3]],
    );
    listener.tick(t0 + 10_000);
    assert.deepEqual(access.slice(1).map((r) => [r.termination, r.datagramsIn, r.bytesIn, r.durationMs]), [['no-server-available', 1, 3, 10_000]]);

    vs.pool.setHealth(vs.pool.servers[0]!.id, true, 'test');
    assert.equal(await client.name(port), 'a');
  });

  it('source-ip persistence: two client sockets of one address reach the same server', async (t) => {
    const [a, b] = [await echoServer(t, 'a'), await echoServer(t, 'b')];
    const { listener, port } = await start(t, [a.port, b.port], ['persistence: { type: source-ip }']);
    const clients = await Promise.all(Array.from({ length: 4 }, () => Client.open(t)));
    const names = new Set<string>();
    for (const client of clients) names.add(await client.name(port));
    assert.equal(names.size, 1, `every client of 127.0.0.1 reached ${[...names].join(' and ')}`);
    assert.equal(listener.counters.sessionsCreated, 4, 'yet each has a session of its own');
  });

  it('on reload, keeps the sessions of servers still configured and closes the others', async (t) => {
    const [a, b] = [await echoServer(t, 'a'), await echoServer(t, 'b')];
    const { listener, port, vs } = await start(t, [a.port, b.port]);
    const [x, y] = [await Client.open(t), await Client.open(t)];
    assert.equal(await x.name(port), 'a');
    assert.equal(await y.name(port), 'b');

    // b moves to index 0, so VirtualService builds a fresh RealServer for it.
    const next = serviceOf(serviceConfig(port, [b.port]), vs);
    const [newB] = next.pool.servers;
    assert.notEqual(newB, vs.pool.servers[1]);
    listener.update(next);
    assert.equal(listener.service, next);
    assert.equal(listener.connectionCount, 1, "a's session ended");
    assert.equal(newB!.inflight, 1, "y's session moved to the new service's b");
    assert.equal(vs.pool.servers[1]!.inflight, 0);

    assert.equal(await y.name(port), 'b');
    assert.equal(await x.name(port), 'b');
    assert.equal(listener.counters.sessionsCreated, 3);
    assert.equal(b.peers.size, 2, 'y kept its session socket');
  });

  it('drain: existing sessions still get replies, new clients get none; destroyAll leaves no socket', async (t) => {
    const a = await echoServer(t, 'a');
    const { listener, port, vs } = await start(t, [a.port]);
    const [x, y] = [await Client.open(t), await Client.open(t)];
    assert.equal(await x.name(port), 'a');
    const handles = udpHandles();

    listener.drain();
    const closed = listener.close();
    let isClosed = false;
    void closed.then(() => (isClosed = true));
    assert.equal(await x.name(port), 'a', 'the session still works');
    y.send(port, 'who');
    await until(() => listener.counters.datagramsIn === 3, "the new client's datagram to arrive");
    assert.equal(listener.counters.dropped, 1);
    assert.equal(listener.counters.sessionsCreated, 1);
    assert.equal(isClosed, false, 'the listening socket stays open for the session');

    listener.destroyAll();
    await closed;
    assert.equal(listener.connectionCount, 0);
    assert.equal(vs.pool.servers[0]!.inflight, 0);
    await until(() => udpHandles() === handles - 2, 'the listening and the session socket to close');
  });

  it('closes the listening socket when the last session of a drained listener expires', async (t) => {
    const a = await echoServer(t, 'a');
    const { listener, port } = await start(t, [a.port], ['udp: { sessionTimeout: 5s }']);
    const t0 = Date.now();
    listener.tick(t0);
    await (await Client.open(t)).name(port);
    const closed = listener.close();
    listener.tick(t0 + 5_000);
    await closed;
    assert.equal(listener.counters.sessionsExpired, 1);
  });

  it('a drained listener ends its sessions one second after the drain, however chatty they are', async (t) => {
    const a = await echoServer(t, 'a');
    const { listener, port, access } = await start(t, [a.port], ['udp: { sessionTimeout: 1h }']);
    const t0 = Date.now();
    listener.tick(t0);
    const client = await Client.open(t);
    assert.equal(await client.name(port), 'a');
    listener.drain();
    const closed = listener.close();
    listener.tick(t0 + 900);
    assert.equal(await client.name(port), 'a', 'within the linger the session still relays');
    assert.equal(listener.connectionCount, 1);
    listener.tick(t0 + 1_000);
    await closed;
    assert.equal(listener.connectionCount, 0);
    assert.deepEqual(access.map((r) => [r.termination, r.error, r.datagramsIn]), [['cut', 'the listener drained (sessions end 1000 ms after)', 2]]);
  });

  it('serves IPv6: an [::1] listen address and real server, replies from the virtual address', async (t) => {
    const bound6 = async (): Promise<Socket> => {
      const socket = createSocket('udp6');
      socket.bind(0, '::1');
      await once(socket, 'listening');
      t.after(() => socket.close());
      return socket;
    };
    const server = await bound6();
    server.on('message', (msg: Buffer, rinfo: RemoteInfo) => server.send(msg, rinfo.port, rinfo.address));
    const client = await bound6();
    const port = await unusedPort();
    const yaml = `virtualServices:\n  - name: v6\n    listen: '[::1]:${port}'\n    protocol: udp\n    realServers: [{ address: '[::1]:${server.address().port}' }]\n`;
    const loaded = loadConfigText(yaml, 'udp.yaml');
    assert.ok(loaded.ok, JSON.stringify(loaded));
    const listener = new UdpListener(serviceOf(loaded.config), { ctx: new EngineContext(), events: () => {}, worker: { index: 0, count: 1 } });
    await listener.listen();
    t.after(() => listener.destroyAll());

    const reply = once(client, 'message', { signal: AbortSignal.timeout(2000) });
    client.send('echo:v6', port, '::1');
    const [msg, rinfo] = (await reply) as [Buffer, RemoteInfo];
    assert.equal(msg.toString(), 'echo:v6');
    assert.deepEqual([rinfo.address, rinfo.port], ['::1', port]);
  });

  it('refuses to bind an address another socket holds without SO_REUSEPORT', async (t) => {
    const holder = await bound();
    t.after(() => holder.close());
    const port = holder.address().port;
    const vs = serviceOf(serviceConfig(port, [9]), null);
    const listener = new UdpListener(vs, { ctx: new EngineContext(), events: () => {}, worker: { index: 0, count: 1 } });
    await assert.rejects(listener.listen(), /EADDRINUSE/);
    await listener.close();
  });

  it('shares its address with another worker through SO_REUSEPORT', async (t) => {
    const a = await echoServer(t, 'a');
    const first = await start(t, [a.port]);
    const vs = serviceOf(serviceConfig(first.port, [a.port]), null);
    const second = new UdpListener(vs, { ctx: new EngineContext(), events: () => {}, worker: { index: 1, count: 2 } });
    await second.listen();
    t.after(() => second.destroyAll());
    assert.equal(second.address.port, first.port);
  });
});
