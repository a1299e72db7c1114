// HTTP through a pool whose real servers have maxConnections, end to end: a WorkerRuntime in this
// process, real slow servers that hold each request until the test lets it go, real clients, and
// the access log as an operator reads it. Over the limit a request waits in the pool's queue and
// is served in arrival order when any slot frees; past queue.timeout or queue.size it gets 503
// with the termination that says which; a client that leaves gives its place up; two virtual
// services on one pool share its limits and its queue.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { WorkerRuntime } from '../../src/worker/runtime.ts';
import type { AccessLine } from '../l7/harness.ts';
import { freePort } from '../helpers/processes.ts';
import { holdingServers, type HoldingServers } from './holding-servers.ts';
import { httpGet, runtimeFor, until } from './sockets.ts';

interface Balancer {
  runtime: WorkerRuntime;
  /** Listen port by virtual service name. */
  port: Record<string, number>;
  /** Requests waiting in the pool's queue now. */
  queued(): number;
  /** Access log lines, once at least `atLeast` are written. */
  log(atLeast: number): Promise<AccessLine[]>;
  close(): Promise<void>;
}

/** A pool "farm" over `servers` with `poolLines`, and an http virtual service on it for each name in `services`. */
async function balancer(servers: HoldingServers, poolLines: readonly string[], services: readonly string[] = ['web']): Promise<Balancer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-queue-'));
  const logPath = path.join(dir, 'access.log');
  const port: Record<string, number> = {};
  for (const name of services) port[name] = await freePort();
  const runtime = await runtimeFor(
    [
      `accessLog: { path: ${logPath}, format: json }`,
      'pools:',
      '  - name: farm',
      ...poolLines.map((l) => `    ${l}`),
      '    realServers:',
      ...servers.addresses.map((address) => `      - { address: ${address}, maxConnections: 1 }`),
      'virtualServices:',
      ...services.map((name) => `  - { name: ${name}, listen: 127.0.0.1:${port[name]}, protocol: http, pool: farm }`),
    ].join('\n'),
  );
  const read = async (): Promise<AccessLine[]> =>
    (await readFile(logPath, 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as AccessLine);
  return {
    runtime,
    port,
    queued: () => runtime.stats().pools.find((p) => p.name === 'farm')!.queued,
    log: async (atLeast) => {
      // The log is a write stream flushed once per event-loop turn: nothing announces the line.
      const deadline = Date.now() + 3000;
      for (;;) {
        const lines = await read();
        if (lines.length >= atLeast || Date.now() > deadline) return lines;
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: async () => {
      await runtime.drain(0);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe('the pool queue (http)', { timeout: 30_000 }, () => {
  it('requests over the limit wait and are served in arrival order, each by whichever server frees a slot', async () => {
    const servers = await holdingServers(['alpha', 'beta']);
    const lb = await balancer(servers, ['queue: { size: 10, timeout: 5s }']);
    try {
      const answers = [];
      // Two take the two slots; three queue, one after the other.
      for (const n of [1, 2]) {
        answers.push(httpGet(lb.port['web']!, '127.0.0.1', `/${n}`));
        await servers.arrived(`/${n}`);
      }
      for (const n of [3, 4, 5]) {
        answers.push(httpGet(lb.port['web']!, '127.0.0.1', `/${n}`));
        await until(() => lb.queued() === n - 2, `request ${n} to queue`);
      }
      const serverOf = (p: string): string => servers.arrivals.find((a) => a.path === p)!.server;
      // Whichever server frees a slot takes the oldest waiter.
      servers.release('/2');
      assert.equal((await servers.arrived('/3')).server, serverOf('/2'));
      servers.release('/1');
      assert.equal((await servers.arrived('/4')).server, serverOf('/1'));
      servers.release('/3');
      assert.equal((await servers.arrived('/5')).server, serverOf('/3'));
      for (const n of [4, 5]) servers.release(`/${n}`);
      const done = await Promise.all(answers);
      assert.deepEqual(done.map((a) => a.status), [200, 200, 200, 200, 200]);
      assert.deepEqual(servers.arrivals.map((a) => a.path), ['/1', '/2', '/3', '/4', '/5']);
      assert.equal(lb.queued(), 0);
      const log = await lb.log(5);
      assert.deepEqual(log.map((l) => [l.path, l.status, l.termination, l.pool]).sort(), [1, 2, 3, 4, 5].map((n) => [`/${n}`, 200, 'ok', 'farm']));
    } finally {
      await lb.close();
      await servers.close();
    }
  });

  it('a waiter past queue.timeout gets 503, logged as queue-timeout', async () => {
    const servers = await holdingServers(['alpha']);
    const lb = await balancer(servers, ['queue: { size: 10, timeout: 300ms }']);
    try {
      const busy = httpGet(lb.port['web']!, '127.0.0.1', '/busy');
      await servers.arrived('/busy');
      const started = Date.now();
      const waited = await httpGet(lb.port['web']!, '127.0.0.1', '/late');
      const elapsed = Date.now() - started;
      assert.equal(waited.status, 503);
      // The worker checks deadlines every 100 ms.
      assert.ok(elapsed >= 290 && elapsed < 1500, `answered after ${elapsed} ms`);
      assert.equal(lb.queued(), 0);
      const late = (await lb.log(1)).find((l) => l.path === '/late');
      assert.deepEqual([late?.status, late?.termination, late?.pool, late?.realServer], [503, 'queue-timeout', 'farm', '']);
      servers.release('/busy');
      assert.equal((await busy).status, 200);
      assert.ok(!servers.arrivals.some((a) => a.path === '/late'), 'the timed-out request never reached a server');
    } finally {
      await lb.close();
      await servers.close();
    }
  });

  it('past queue.size a request gets 503 at once, logged as queue-full; size 0 never queues', async () => {
    const servers = await holdingServers(['alpha']);
    const lb = await balancer(servers, ['queue: { size: 1, timeout: 5s }']);
    try {
      const busy = httpGet(lb.port['web']!, '127.0.0.1', '/busy');
      await servers.arrived('/busy');
      const waiting = httpGet(lb.port['web']!, '127.0.0.1', '/waiting');
      await until(() => lb.queued() === 1, 'one request to queue');
      const refused = await httpGet(lb.port['web']!, '127.0.0.1', '/refused');
      assert.equal(refused.status, 503);
      const line = (await lb.log(1)).find((l) => l.path === '/refused');
      assert.deepEqual([line?.status, line?.termination], [503, 'queue-full']);
      servers.release('/busy');
      await servers.arrived('/waiting');
      servers.release('/waiting');
      assert.deepEqual([(await busy).status, (await waiting).status], [200, 200]);
    } finally {
      await lb.close();
      await servers.close();
    }

    const none = await holdingServers(['alpha']);
    const strict = await balancer(none, ['queue: { size: 0 }']);
    try {
      const busy = httpGet(strict.port['web']!, '127.0.0.1', '/busy');
      await none.arrived('/busy');
      assert.equal((await httpGet(strict.port['web']!, '127.0.0.1', '/refused')).status, 503);
      assert.equal((await strict.log(1)).find((l) => l.path === '/refused')?.termination, 'queue-full');
      none.release('/busy');
      await busy;
    } finally {
      await strict.close();
      await none.close();
    }
  });

  it('a queued client that leaves does not keep its place', async () => {
    const servers = await holdingServers(['alpha']);
    const lb = await balancer(servers, ['queue: { size: 2, timeout: 5s }']);
    try {
      const busy = httpGet(lb.port['web']!, '127.0.0.1', '/busy');
      await servers.arrived('/busy');
      // A live waiter ahead of the leaver: the worker's tick, which drops gone waiters at the head, cannot reach it.
      const first = httpGet(lb.port['web']!, '127.0.0.1', '/first');
      await until(() => lb.queued() === 1, 'the first waiter to queue');
      const leaver = net.connect({ host: '127.0.0.1', port: lb.port['web']! });
      leaver.on('error', () => {});
      leaver.write('GET /gone HTTP/1.1\r\nHost: site.test\r\n\r\n');
      await until(() => lb.queued() === 2, 'the leaver to queue');
      // Gone for good: a reset. (A FIN alone is a half-close, after which a client may still read its answer.)
      leaver.resetAndDestroy();
      await until(() => lb.queued() === 1, 'the leaver to leave the queue');
      // Were the leaver still counted, a queue of two would refuse this one.
      const next = httpGet(lb.port['web']!, '127.0.0.1', '/next');
      await until(() => lb.queued() === 2, 'the next request to queue');
      for (const [done, then] of [['/busy', '/first'], ['/first', '/next']] as const) {
        servers.release(done);
        await servers.arrived(then);
      }
      servers.release('/next');
      assert.deepEqual([(await busy).status, (await first).status, (await next).status], [200, 200, 200]);
      assert.deepEqual(servers.arrivals.map((a) => a.path), ['/busy', '/first', '/next'], 'the request of the client that left never reached a server');
      const gone = (await lb.log(4)).find((l) => l.path === '/gone');
      assert.equal(gone?.termination, 'client-aborted');
    } finally {
      await lb.close();
      await servers.close();
    }
  });

  it('two virtual services on one pool share its limits and its queue', async () => {
    const servers = await holdingServers(['alpha']);
    const lb = await balancer(servers, ['queue: { size: 1, timeout: 5s }'], ['shop', 'api']);
    try {
      const busy = httpGet(lb.port['shop']!, '127.0.0.1', '/shop-busy');
      await servers.arrived('/shop-busy');
      // The other service's request finds the one slot taken, and waits in the same queue...
      const waiting = httpGet(lb.port['api']!, '127.0.0.1', '/api-waiting');
      await until(() => lb.queued() === 1, 'the api request to queue');
      // ...which is then full for both.
      assert.equal((await httpGet(lb.port['shop']!, '127.0.0.1', '/shop-refused')).status, 503);
      servers.release('/shop-busy');
      await servers.arrived('/api-waiting');
      servers.release('/api-waiting');
      assert.deepEqual([(await busy).status, (await waiting).status], [200, 200]);
      const refused = (await lb.log(3)).find((l) => l.path === '/shop-refused');
      assert.deepEqual([refused?.virtualService, refused?.termination], ['shop', 'queue-full']);
    } finally {
      await lb.close();
      await servers.close();
    }
  });
});
