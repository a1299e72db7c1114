// The UDP virtual service end to end on loopback: real dgram sockets for clients and real servers,
// the listener built directly, and the worker's tick driven by hand with a chosen `now`.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it, type TestContext } from 'node:test';
import { loadConfigText } from '../../src/config/load.ts';
import { UdpListener } from '../../src/l4/udp-listener.ts';
import { EngineContext } from '../../src/worker/engine-context.ts';
import type { VirtualService } from '../../src/frontend/virtual-service.ts';
import { serviceOf } from '../helpers/service.ts';

/** The largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header). */
const MAX_IPV4_PAYLOAD = 65_507;
/** A datagram starting with this is echoed byte for byte; any other is answered with the server's name. */
const ECHO = Buffer.from('echo:');

interface EchoServer {
  readonly name: string;
  readonly port: number;
  /** Client-side ports (the listener's session sockets) this server heard from. */
  readonly peers: Set<number>;
  readonly socket: Socket;
}

async function bound(): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return socket;
}

async function echoServer(t: TestContext, name: string): Promise<EchoServer> {
  const socket = await bound();
  t.after(() => socket.close());
  const server: EchoServer = { name, port: socket.address().port, peers: new Set(), socket };
  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    server.peers.add(rinfo.port);
    const echo = msg.length >= ECHO.length && msg.subarray(0, ECHO.length).equals(ECHO);
    socket.send(echo ? msg : Buffer.from(name), rinfo.port, rinfo.address);
  });
  return server;
}

/** A UDP port nothing listens on: free to bind, and answered with ICMP port unreachable meanwhile. */
async function unusedPort(): Promise<number> {
  const socket = await bound();
  const { port } = socket.address();
  socket.close();
  await once(socket, 'close');
  return port;
}

class Client {
  readonly socket: Socket;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  static async open(t: TestContext): Promise<Client> {
    const socket = await bound();
    t.after(() => socket.close());
    return new Client(socket);
  }

  send(to: number, payload: string | Buffer): void {
    this.socket.send(payload, to, '127.0.0.1');
  }

  /** Send and wait for one reply (failing after 2 s rather than hanging). */
  async ask(to: number, payload: string | Buffer = 'who'): Promise<{ msg: Buffer; rinfo: RemoteInfo }> {
    const reply = once(this.socket, 'message', { signal: AbortSignal.timeout(2000) });
    this.send(to, payload);
    const [msg, rinfo] = (await reply) as [Buffer, RemoteInfo];
    return { msg, rinfo };
  }

  async name(to: number): Promise<string> {
    return (await this.ask(to)).msg.toString();
  }
}

/** Wait for a condition the listener reaches on its own (a datagram counted, a socket closed). */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Send a datagram every 20 ms until `condition` holds. The kernel rate-limits ICMP errors
 * (net.ipv4.icmp_msgs_per_sec: 1000 a second with a burst of 50, loopback included), so a
 * datagram to a closed port may go unanswered while this or another test makes ICMP traffic.
 */
async function nudgeUntil(client: Client, port: number, condition: () => boolean, what: string): Promise<void> {
  const timer = setInterval(() => {
    if (!condition()) client.send(port, 'who');
  }, 20);
  try {
    await until(condition, what);
  } finally {
    clearInterval(timer);
  }
}

/** Real servers as ports on 127.0.0.1, or as host:port. */
function serviceConfig(listenPort: number, servers: readonly (number | string)[], extra: readonly string[] = []) {
  const yaml = [
    'virtualServices:',
    '  - name: syslog',
    `    listen: 127.0.0.1:${listenPort}`,
    '    protocol: udp',
    ...extra.map((line) => `    ${line}`),
    `    realServers: [${servers.map((s) => `{ address: ${typeof s === 'number' ? `127.0.0.1:${s}` : s} }`).join(', ')}]`,
    '',
  ].join('\n');
  const result = loadConfigText(yaml, 'udp.yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.problems, null, 2));
  return result.config;
}

interface Running {
  vs: VirtualService;
  listener: UdpListener;
  port: number;
}

async function start(t: TestContext, servers: readonly (number | string)[], extra: readonly string[] = []): Promise<Running> {
  const port = await unusedPort();
  const vs = serviceOf(serviceConfig(port, servers, extra), null);
  const listener = new UdpListener(vs, { ctx: new EngineContext(), events: () => {}, worker: { index: 0, count: 1 } });
  await listener.listen();
  t.after(() => listener.destroyAll());
  return { vs, listener, port };
}

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

  it('expires a silent session after sessionTimeout, and the next datagram picks again', async (t) => {
    const [a, b] = [await echoServer(t, 'a'), await echoServer(t, 'b')];
    const { listener, port, vs } = await start(t, [a.port, b.port], ['udp: { sessionTimeout: 30s }']);
    const t0 = Date.now();
    listener.tick(t0);
    const client = await Client.open(t);
    assert.equal(await client.name(port), 'a');

    listener.tick(t0 + 29_999);
    assert.equal(listener.connectionCount, 1);
    listener.tick(t0 + 30_000);
    assert.equal(listener.connectionCount, 0);
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
    const { listener, port } = await start(t, [a.port], ['udp: { maxSessions: 2 }']);
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
    const { listener, port, vs } = await start(t, [a.port, b.port]);
    const [x, y] = [await Client.open(t), await Client.open(t)];
    assert.equal(await x.name(port), 'a');
    assert.equal(await y.name(port), 'b');

    vs.pool.setHealth(vs.pool.servers[0]!.id, false, 'test');
    assert.equal(listener.connectionCount, 2, 'nothing happens before the tick');
    listener.tick(Date.now());
    assert.equal(listener.connectionCount, 1);
    assert.equal(listener.counters.sessionsMoved, 1);
    assert.equal(vs.pool.servers[0]!.inflight, 0);

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
    const { listener, port, vs } = await start(t, [dead, b.port]);
    const client = await Client.open(t);
    client.send(port, 'who'); // round robin: the dead server first
    await nudgeUntil(client, port, () => listener.counters.sessionsFailed === 1, 'the session to close');
    assert.equal(listener.connectionCount, 0);
    assert.equal(vs.pool.servers[0]!.inflight, 0);
    assert.equal(vs.pool.servers[0]!.consecutiveFailures, 1, 'the failure was noted against the server');

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

  it('drops datagrams when no real server is available, and counts them', async (t) => {
    const a = await echoServer(t, 'a');
    const { listener, port, vs } = await start(t, [a.port]);
    vs.pool.setHealth(vs.pool.servers[0]!.id, false, 'test');
    const client = await Client.open(t);
    client.send(port, 'who');
    client.send(port, 'who');
    await until(() => listener.counters.datagramsIn === 2, 'both datagrams to arrive');
    assert.equal(listener.counters.dropped, 2);
    assert.equal(listener.connectionCount, 0);

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
    const { listener, port } = await start(t, [a.port], ['udp: { sessionTimeout: 1h }']);
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
