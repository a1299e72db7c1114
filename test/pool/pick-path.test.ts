// The one pick path (src/pool/pool.ts) for every engine. For each scheduler x persistence type
// that some protocol can feed, one named pool is used by a virtual service of every protocol that
// may use it, built the way the worker runtime builds them; one script of picks runs through each
// protocol's way of asking (engine-asks.ts) and must hold the pick path's promises and make the
// same choices whichever front end asks. Then the same with real sockets: IPv4 clients of a
// dual-stack listener, and one pool shared by http, tcp and udp front ends.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import { PERSISTENCE_REGISTRY } from '../../src/persistence/registry.ts';
import type { FrontEndProtocol } from '../../src/pool/needs.ts';
import { SCHEDULER_REGISTRY } from '../../src/scheduling/registry.ts';
import { freePort } from '../helpers/processes.ts';
import { ASKS, Client } from './engine-asks.ts';
import { PROTOCOLS, T0, canFeed, comboConfig, frontEnds, label, real, script, seeded } from './pick-script.ts';
import { dualServer, httpGet, runtimeFor, tcpGet, tcpText, udpAsk, until, type NamedServer } from './sockets.ts';

describe('the pick path: every scheduler x persistence, through every front end that can use it', () => {
  const persistences = [null, ...PERSISTENCE_REGISTRY.map((m) => m.type)];
  for (const { name: scheduler } of SCHEDULER_REGISTRY) {
    for (const persistence of persistences) {
      const needs = persistence === null ? [] : PERSISTENCE_REGISTRY.find((m) => m.type === persistence)!.needs;
      const protocols = PROTOCOLS.filter((p) => canFeed(p, needs));
      it(`${scheduler}, persistence ${persistence ?? 'off'}: ${protocols.join(', ')}`, () => {
        const config = comboConfig(scheduler, persistence, protocols);
        const { pools, services } = frontEnds(config);
        const shared = pools.require('pick');
        assert.deepEqual(services.map((vs) => vs.pool === shared), protocols.map(() => true), 'every front end holds the one pool object');

        const transcripts = protocols.map((protocol) =>
          seeded(7, () => {
            // A fresh set per front end, from the same config, so that each run starts alike.
            const fresh = frontEnds(config).services.find((vs) => vs.config.protocol === protocol)!;
            return script(fresh.pool, ASKS[protocol], persistence !== null);
          }),
        );
        for (const [i, protocol] of protocols.entries()) assert.deepEqual(transcripts[i], transcripts[0], `${protocol} chose otherwise than ${protocols[0]}`);
      });
    }
  }
});

describe('persistence meets maxConnections', () => {
  const persistences = [
    { type: 'source-ip', protocols: PROTOCOLS },
    { type: 'server-cookie', protocols: ['http'] as FrontEndProtocol[] },
    { type: 'active-cookie', protocols: ['http'] as FrontEndProtocol[] },
  ];
  for (const { type, protocols } of persistences) {
    it(`${type}: a client whose server is at maxConnections waits for it (FULL: the queue), and is back on it once it has a slot`, () => {
      const config = comboConfig('round-robin', type, protocols);
      for (const protocol of protocols) {
        const pool = frontEnds(config).services.find((vs) => vs.config.protocol === protocol)!.pool;
        const client = new Client(1);
        const ask = ASKS[protocol];
        const home = real(ask(pool, client, null, T0), 'first visit');
        assert.equal(real(ask(pool, client, null, T0 + 1), 'second visit'), home);
        pool.take(home);
        pool.take(home);
        assert.equal(label(ask(pool, client, null, T0 + 2)), 'FULL', `${protocol}: waits for its own server, as HAProxy queues on it`);
        // A new client is not held up: it goes to a server with a slot.
        assert.notEqual(label(ask(pool, new Client(2, '198.51.100.2'), null, T0 + 2)), 'FULL', `${protocol}: a new client is placed`);
        pool.release(home);
        pool.release(home);
        assert.equal(label(ask(pool, client, null, T0 + 3)), home.id, `${protocol}: back home`);
      }
    });
  }
});

describe('the pick path with real sockets', { timeout: 30_000 }, () => {
  it('IPv4 clients of a dual-stack [::] listener (::ffff:127.0.0.x) share one /24 for source-ip persistence, on tcp, http and udp', async () => {
    // The premise: Node reports an IPv4 client of a [::] listener as an IPv4-mapped IPv6 address.
    const probe = net.createServer((socket) => socket.end(socket.remoteAddress ?? ''));
    probe.listen(0, '::');
    await once(probe, 'listening');
    assert.equal(await tcpText((probe.address() as net.AddressInfo).port, '127.0.0.2'), '::ffff:127.0.0.2');
    probe.close();

    const servers: NamedServer[] = [];
    for (let i = 1; i <= 4; i++) servers.push(await dualServer(`rs-${i}`));
    const [httpPort, tcpPort, udpPort] = [await freePort(), await freePort(), await freePort()];
    // A pool per front end, so that each protocol's clients are keyed by its own engine alone.
    const farm = (name: string): string[] => [
      `  - name: ${name}`,
      '    persistence: { type: source-ip, sourceMask: 24 }',
      '    realServers:',
      ...servers.map((s) => `      - address: ${s.address}`),
    ];
    const runtime = await runtimeFor(
      [
        'accessLog: off',
        'pools:',
        ...farm('farm-http'),
        ...farm('farm-tcp'),
        ...farm('farm-udp'),
        'virtualServices:',
        `  - { name: web, listen: "[::]:${httpPort}", protocol: http, pool: farm-http }`,
        `  - { name: raw, listen: "[::]:${tcpPort}", protocol: tcp, pool: farm-tcp }`,
        `  - { name: dgram, listen: "[::]:${udpPort}", protocol: udp, pool: farm-udp }`,
      ].join('\n'),
    );
    try {
      // Eight addresses of one /24: with the IPv6 mask (128) applied to the mapped form, each would
      // be a key of its own, and eight keys over four servers would almost never meet on one.
      const clients = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);
      const asks = {
        tcp: (client: string) => tcpGet(tcpPort, client),
        http: async (client: string) => (await httpGet(httpPort, client)).body,
        udp: (client: string) => udpAsk(udpPort, client),
      };
      for (const [protocol, ask] of Object.entries(asks)) {
        const answers: string[] = [];
        for (const client of clients) answers.push(await ask(client));
        assert.equal(new Set(answers).size, 1, `${protocol}: ${answers.join(', ')}`);
        assert.match(answers[0]!, /^rs-\d$/);
      }
    } finally {
      await runtime.drain(0);
      for (const s of servers) await s.close();
    }
  });

  it('one pool shared by an http, a tcp and a udp virtual service keeps one round-robin rotation', async () => {
    const servers = [await dualServer('alpha'), await dualServer('beta')];
    const [httpPort, tcpPort, udpPort] = [await freePort(), await freePort(), await freePort()];
    const runtime = await runtimeFor(
      [
        'accessLog: off',
        'pools:',
        '  - name: shared',
        '    scheduler: round-robin',
        '    realServers:',
        ...servers.map((s) => `      - address: ${s.address}`),
        'virtualServices:',
        `  - { name: web, listen: 127.0.0.1:${httpPort}, protocol: http, pool: shared }`,
        `  - { name: raw, listen: 127.0.0.1:${tcpPort}, protocol: tcp, pool: shared }`,
        `  - { name: dgram, listen: 127.0.0.1:${udpPort}, protocol: udp, pool: shared }`,
      ].join('\n'),
    );
    try {
      const order: string[] = [];
      for (let round = 0; round < 2; round++) {
        order.push((await httpGet(httpPort)).body);
        order.push(await tcpGet(tcpPort));
        order.push(await udpAsk(udpPort));
      }
      // Pools of their own would each start their rotation afresh: alpha, alpha, alpha, beta, ...
      const [first, second] = order[0] === 'alpha' ? ['alpha', 'beta'] : ['beta', 'alpha'];
      assert.deepEqual(order, [first, second, first, second, first, second]);
    } finally {
      await runtime.drain(0);
      for (const s of servers) await s.close();
    }
  });

  it("a tcp connection holds an http request's slot: maxConnections and the queue are the pool's, whoever asks", async () => {
    const server = await dualServer('only');
    const [httpPort, tcpPort] = [await freePort(), await freePort()];
    const runtime = await runtimeFor(
      [
        'accessLog: off',
        'pools:',
        '  - name: one',
        '    queue: { size: 10, timeout: 5s }',
        `    realServers: [ { address: ${server.address}, maxConnections: 1 } ]`,
        'virtualServices:',
        `  - { name: web, listen: 127.0.0.1:${httpPort}, protocol: http, pool: one }`,
        `  - { name: raw, listen: 127.0.0.1:${tcpPort}, protocol: tcp, pool: one }`,
      ].join('\n'),
    );
    const pool = (): { queued: number; inflight: number } => {
      const stats = runtime.stats().pools.find((p) => p.name === 'one')!;
      return { queued: stats.queued, inflight: stats.realServers[0]!.inflight };
    };
    try {
      const held = net.connect({ host: '127.0.0.1', port: tcpPort });
      await once(held, 'connect');
      await until(() => pool().inflight === 1, 'the tcp connection to take the slot');
      let answered = false;
      const request = httpGet(httpPort).then((answer) => {
        answered = true;
        return answer;
      });
      await until(() => pool().queued === 1, 'the http request to queue');
      assert.equal(answered, false);
      held.destroy();
      assert.deepEqual(await request, { status: 200, body: 'only' });
      await until(() => pool().inflight === 0 && pool().queued === 0, 'the pool to be idle');
    } finally {
      await runtime.drain(0);
      await server.close();
    }
  });
});
