// The real `fulcrum start` process: SIGHUP reloads under load without failing a request and moves
// keep-alive connections to the new config at their next request; a bad config on SIGHUP changes
// nothing; SIGTERM drains (in-flight requests finish, idle connections close) and exits 0.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { after, before, describe, it } from 'node:test';
import net from 'node:net';
import { Client } from 'undici';
import type { Backends } from '../helpers/backends.ts';
import { configYaml, freePort, startBackends, startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';
import { RawClient, sleep } from './harness.ts';

interface Sample {
  client: number;
  startedAt: number;
  status: number;
  backend: string;
  error: string;
}

/** `n` keep-alive clients (one connection each) sending GETs in a loop until stopped. */
function startLoad(url: string, n: number): { samples: Sample[]; connects: number[]; stop(): Promise<void> } {
  const samples: Sample[] = [];
  const connects = new Array<number>(n).fill(0);
  let running = true;
  const clients = Array.from({ length: n }, (_, i) => {
    const c = new Client(url, { pipelining: 1, keepAliveTimeout: 60_000 });
    c.on('connect', () => connects[i]!++);
    return c;
  });
  const loops = clients.map(async (client, i) => {
    while (running) {
      const startedAt = Date.now();
      try {
        const res = await client.request({ path: `/load/${i}`, method: 'GET' });
        const body = await res.body.text();
        samples.push({ client: i, startedAt, status: res.statusCode, backend: body.trim(), error: '' });
      } catch (err) {
        samples.push({ client: i, startedAt, status: 0, backend: '', error: (err as Error).message });
      }
    }
  });
  return {
    samples,
    connects,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}

function count(samples: Sample[], backend: string): number {
  return samples.filter((s) => s.backend === backend).length;
}

for (const workers of [1, 'auto'] as const) {
  describe(`reload under load (workers: ${workers})`, { timeout: 60_000 }, () => {
    let backends: Backends;
    let fulcrum: Fulcrum;
    let port: number;
    const config = (servers: Array<{ address: string; weight: number }>): string =>
      configYaml({
        workers: workers as number,
        virtualServices: [{ name: 'live', listen: `127.0.0.1:${port}`, scheduler: 'weighted-round-robin', realServers: servers }],
      });

    before(async () => {
      backends = await startBackends(3);
      port = await freePort();
      fulcrum = await startFulcrum({ config: config(backends.servers.slice(0, 2).map((b) => ({ address: b.address, weight: 100 }))) });
    });
    after(async () => {
      await fulcrum?.stop();
      await backends?.close();
    });

    it(`starts ${workers === 'auto' ? 'one worker per core' : 'one worker'}`, () => {
      assert.equal(fulcrum.workers.length, workers === 'auto' ? availableParallelism() : 1);
    });

    it('SIGHUP with new weights and a new server: zero failed requests, keep-alive connections move at their next request', async () => {
      const [b1, b2, b3] = backends.servers;
      const load = startLoad(`http://127.0.0.1:${port}`, 4);
      await sleep(500);
      const sighupAt = Date.now();
      const result = await fulcrum.reload(
        config([
          { address: b1!.address, weight: 100 },
          { address: b2!.address, weight: 0 },
          { address: b3!.address, weight: 300 },
        ]),
      );
      const reloadedAt = Date.now();
      assert.equal(result, 'reloaded');
      await sleep(700);
      await load.stop();

      const failed = load.samples.filter((s) => s.status !== 200);
      assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${load.samples.length} requests failed`);
      assert.deepEqual(load.connects, [1, 1, 1, 1], 'a keep-alive client had to reconnect');
      const before = load.samples.filter((s) => s.startedAt < sighupAt);
      const afterReload = load.samples.filter((s) => s.startedAt > reloadedAt);
      assert.ok(before.length > 20 && afterReload.length > 20, `${before.length} before, ${afterReload.length} after`);
      assert.equal(count(before, 'backend-3'), 0);
      // New config: weight 0 gets nothing, 100:300 between the others; on every connection.
      assert.equal(count(afterReload, 'backend-2'), 0, 'weight 0 after the reload still got traffic');
      const b3Share = count(afterReload, 'backend-3') / afterReload.length;
      assert.ok(b3Share > 0.6 && b3Share < 0.9, `backend-3 share after reload ${b3Share.toFixed(2)}, expected about 0.75`);
      for (let i = 0; i < 4; i++) {
        assert.ok(
          afterReload.some((s) => s.client === i && s.backend === 'backend-3'),
          `keep-alive client ${i} never reached the server the reload added`,
        );
      }
    });

    it('SIGHUP with an invalid config: "reload failed" is logged with the problem, the old config keeps serving', async () => {
      const load = startLoad(`http://127.0.0.1:${port}`, 4);
      await sleep(200);
      const from = fulcrum.logs.length;
      const result = await fulcrum.reload(config([]).replace('scheduler: weighted-round-robin', 'scheduler: weighted-round-robbin'));
      assert.equal(result, 'reload failed');
      const line = await fulcrum.waitForLog((l) => l.msg === 'reload failed', { from });
      assert.match(JSON.stringify(line), /weighted-round-robbin/);
      await sleep(300);
      await load.stop();
      assert.equal(load.samples.filter((s) => s.status !== 200).length, 0);
      assert.deepEqual(load.connects, [1, 1, 1, 1]);
      // Still the previous (reloaded) config: nothing to weight 0.
      assert.equal(count(load.samples, 'backend-2'), 0);
      assert.ok(count(load.samples, 'backend-3') > 0);
    });
  });
}

describe('reload that changes the number of workers', { timeout: 60_000 }, () => {
  // Regression: a worker retired by the reload closed its idle keep-alive connections at once,
  // racing requests the clients were sending at that instant ("other side closed", about one
  // request in 5,000). Idle connections now get one more request, answered with Connection: close.
  it('2 -> 1 -> 2 -> 1 workers under load fails no request', async () => {
    const backends = await startBackends(2);
    const port = await freePort();
    const config = (workers: number): string =>
      configYaml({ workers, virtualServices: [{ name: 'resize', listen: `127.0.0.1:${port}`, realServers: backends.servers.map((b) => b.address) }] });
    const fulcrum = await startFulcrum({ config: config(2) });
    try {
      const load = startLoad(`http://127.0.0.1:${port}`, 8);
      for (const workers of [1, 2, 1]) {
        await sleep(400);
        assert.equal(await fulcrum.reload(config(workers)), 'reloaded');
      }
      await sleep(400);
      await load.stop();
      const failed = load.samples.filter((s) => s.status !== 200);
      assert.ok(load.samples.length > 1000, `only ${load.samples.length} requests`);
      assert.deepEqual(failed.slice(0, 3), [], `${failed.length} of ${load.samples.length} requests failed`);
    } finally {
      await fulcrum.stop();
      await backends.close();
    }
  });
});

/** Whether a new TCP connection to `port` is accepted (and kept a moment) or refused. */
async function connectOutcome(port: number): Promise<'accepted' | 'refused'> {
  const socket = net.connect(port, '127.0.0.1');
  const outcome = await new Promise<'accepted' | 'refused'>((resolve) => {
    socket.once('connect', () => resolve('accepted'));
    socket.once('error', () => resolve('refused'));
  });
  socket.destroy();
  return outcome;
}

describe('SIGTERM drains', { timeout: 60_000 }, () => {
  // Regression: drain used to wait for the listening socket to close, which Node does only after
  // every connection has closed, so idle keep-alive clients held SIGTERM up to the hard kill.
  it('an in-flight slow request completes, idle keep-alive connections close, new ones are refused, exit 0', async () => {
    const http = await import('node:http');
    const slow = http.createServer((req, res) => {
      const delay = req.url === '/slow' ? 1500 : 0;
      setTimeout(() => res.end(`done ${req.url}`), delay);
    });
    slow.listen(0, '127.0.0.1');
    await new Promise((r) => slow.once('listening', r));
    const address = `127.0.0.1:${(slow.address() as { port: number }).port}`;
    const port = await freePort();
    const fulcrum = await startFulcrum({ config: configYaml({ virtualServices: [{ name: 'drain', listen: `127.0.0.1:${port}`, realServers: [address] }] }) });
    try {
      // Idle keep-alive connections must not hold the drain up; one stays idle, one asks once more.
      const idle = await RawClient.connect(port);
      const late = await RawClient.connect(port);
      for (const c of [idle, late]) {
        c.write('GET /warm HTTP/1.1\r\nHost: a\r\n\r\n');
        assert.equal((await c.response()).body.toString(), 'done /warm');
      }

      const inflight = await RawClient.connect(port);
      inflight.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
      await sleep(300);
      const t0 = Date.now();
      const exited = fulcrum.stop('SIGTERM', { graceMs: 10_000 });
      // The worker closes its listener and drains its connections in one step: once a new
      // connection is refused, the drain has begun.
      const deadline = Date.now() + 3000;
      while ((await connectOutcome(port)) === 'accepted' && Date.now() < deadline) await sleep(20);

      // A request that comes on an idle connection just after SIGTERM is still answered (the
      // race-free way to close a keep-alive connection), and its answer closes the connection.
      late.write('GET /late HTTP/1.1\r\nHost: a\r\n\r\n');
      const lateRes = await late.response();
      assert.equal(lateRes.body.toString(), 'done /late');
      assert.equal(lateRes.headers['connection'], 'close');
      assert.equal(await late.waitClosed(1000), true);

      assert.equal(await idle.waitClosed(3000), true, 'an idle keep-alive connection was not closed on SIGTERM');
      assert.ok(Date.now() - t0 < 3000, `the idle connection was closed ${Date.now() - t0} ms after SIGTERM`);
      const res = await inflight.response({ timeoutMs: 5000 });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'done /slow');
      assert.equal(res.headers['connection'], 'close', 'a response during drain must close its connection');
      assert.equal(await connectOutcome(port), 'refused');

      const exit = await exited;
      const took = Date.now() - t0;
      assert.equal(exit.code, 0);
      assert.ok(took < 5000, `exit took ${took} ms; it must follow the last in-flight request, not the grace period`);
      assert.ok(fulcrum.logs.some((l) => l.msg === 'stopped'));
    } finally {
      await fulcrum.stop('SIGKILL').catch(() => {});
      slow.closeAllConnections();
      slow.close();
    }
  });
});
