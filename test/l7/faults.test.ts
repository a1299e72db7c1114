// Faults do not leak: after malformed requests, clients that reset mid-body or mid-response, and
// real servers that reset, stall or send garbage, the worker still serves everyone, its file
// descriptors return to baseline, and the schedulers' in-flight counts return to zero.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { configYaml, freePort, rssKiB, startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';
import { fdCount, listenLocal, rawExchange, sleep, startProxy, type Proxy } from './harness.ts';

const BIG = Buffer.alloc(8 * 1024 * 1024, 'x');

/** A Node real server with one route per way of misbehaving. */
function misbehavingServer(name: string): http.Server {
  const server = http.createServer((req, res) => {
    switch (req.url) {
      case '/stall':
        return; // never answers
      case '/reset-mid-response':
        res.writeHead(200, { 'content-length': 1000 });
        res.write('only a little');
        setTimeout(() => req.socket.destroy(), 10);
        return;
      case '/garbage':
        req.socket.end('HTTP/1.1 abc garbage\r\n\r\n');
        return;
      case '/reset-before-response':
        req.socket.resetAndDestroy();
        return;
      case '/big':
        res.writeHead(200, { 'content-length': BIG.length });
        res.end(BIG);
        return;
      default:
        req.resume();
        req.on('end', () => res.end(name));
    }
  });
  server.keepAliveTimeout = 30_000;
  return server;
}

/** Every kind of fault, aimed at the proxy on `port`; resolves when all have played out. */
async function unleashFaults(port: number): Promise<void> {
  const malformed = [
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n',
    'GET / HTTP/2.0\r\nHost: a\r\n\r\n',
    'FROB / HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET / HTTP/1.1\nHost: a\n\n',
    `GET /${'u'.repeat(20000)} HTTP/1.1\r\n`,
    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', // a TLS ClientHello on the plain port
  ];
  const jobs: Array<Promise<unknown>> = [];
  for (let i = 0; i < 80; i++) jobs.push(rawExchange(port, malformed[i % malformed.length]!, { timeoutMs: 3000 }));
  for (const path of ['/stall', '/reset-mid-response', '/garbage', '/reset-before-response']) {
    for (let i = 0; i < 15; i++) jobs.push(rawExchange(port, `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`, { timeoutMs: 3000 }));
  }
  // Clients that reset mid-body, mid-response, right after connecting, or mid-head.
  const resetAfter = async (payload: string | Buffer, waitFor: 'write' | 'data'): Promise<void> => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    await once(s, 'connect');
    s.write(payload);
    if (waitFor === 'data') await once(s, 'data');
    else await sleep(20);
    s.resetAndDestroy();
  };
  for (let i = 0; i < 20; i++) {
    jobs.push(resetAfter(Buffer.concat([Buffer.from('POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n'), Buffer.alloc(200_000, 1)]), 'write'));
    jobs.push(resetAfter('GET /big HTTP/1.1\r\nHost: a\r\n\r\n', 'data'));
    jobs.push(resetAfter('GET /stall HTTP/1.1\r\nHost: a\r\n\r\n', 'write'));
    jobs.push(resetAfter('GET / HTTP/1.1\r\nHost:', 'write'));
    jobs.push(resetAfter('', 'write'));
  }
  await Promise.all(jobs);
}

describe('faults do not leak (worker process)', { timeout: 60_000 }, () => {
  let real: http.Server;
  let fulcrum: Fulcrum;
  let port: number;
  let worker: number;

  before(async () => {
    real = misbehavingServer('rs');
    const address = await listenLocal(real);
    port = await freePort();
    fulcrum = await startFulcrum({
      config: configYaml({
        virtualServices: [
          {
            name: 'faults',
            listen: `127.0.0.1:${port}`,
            realServers: [address],
            retries: 0,
            timeouts: { clientHeader: '1s', response: '500ms', upstreamIdle: '300ms', clientIdle: '1s' },
          },
        ],
      }),
    });
    worker = fulcrum.workers[0]!;
  });
  after(async () => {
    await fulcrum?.stop();
    real?.closeAllConnections();
    real?.close();
  });

  async function serves(): Promise<void> {
    for (let i = 0; i < 10; i++) {
      const r = await rawExchange(port, 'GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      assert.match(r.text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nrs$/);
    }
  }

  /** Open descriptors once idle connections (client idle 1 s, linger 2 s, pool 300 ms) are gone. */
  async function settledFds(atMost: number): Promise<number> {
    const deadline = Date.now() + 8000;
    let n = await fdCount(worker);
    while (n > atMost && Date.now() < deadline) {
      await sleep(100);
      n = await fdCount(worker);
    }
    return n;
  }

  it('file descriptors and memory return to baseline, and the worker keeps serving', async (t) => {
    await serves();
    // One round of faults first, so lazily created handles (log streams, timers) exist at baseline.
    await unleashFaults(port);
    // Past the client idle (1 s), linger (2 s) and pool idle (300 ms) times, nothing is left open.
    await sleep(2600);
    const baselineFds = await fdCount(worker);
    const baselineRss = await rssKiB(worker);

    // While the faults are flying, everybody else is served.
    let busiest = 0;
    const rounds = (async () => {
      for (let round = 0; round < 3; round++) await unleashFaults(port);
    })();
    const probe = (async () => {
      for (let i = 0; i < 5; i++) {
        busiest = Math.max(busiest, await fdCount(worker));
        await serves();
      }
    })();
    await Promise.all([rounds, probe]);
    t.diagnostic(`fds while faults were flying: up to ${busiest}`);

    const fds = await settledFds(baselineFds);
    const rss = await rssKiB(worker);
    t.diagnostic(`fds ${baselineFds} -> ${fds}; RSS ${(baselineRss / 1024).toFixed(1)} -> ${(rss / 1024).toFixed(1)} MiB`);
    assert.ok(fds <= baselineFds, `worker holds ${fds} descriptors, baseline ${baselineFds}`);
    assert.ok(rss - baselineRss < 32 * 1024, `worker RSS grew by ${((rss - baselineRss) / 1024).toFixed(1)} MiB over three rounds of faults`);
    await serves();
  });
});

describe('faults do not leak scheduler state (in-flight counts)', () => {
  let servers: http.Server[];
  let proxy: Proxy;
  before(async () => {
    servers = [misbehavingServer('a'), misbehavingServer('b')];
    const addresses = await Promise.all(servers.map((s) => listenLocal(s)));
    proxy = await startProxy({
      scheduler: 'least-connections',
      realServers: addresses,
      retries: 0,
      timeouts: { clientHeader: '1s', response: '500ms', upstreamIdle: '300ms' },
    });
  });
  after(async () => {
    await proxy.close();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  it('after every kind of fault, least-connections still alternates: no request is left counted in flight', async () => {
    await unleashFaults(proxy.port);
    await sleep(200);
    // A leaked in-flight count on one server would send every request to the other.
    const names: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await rawExchange(proxy.port, 'GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      names.push(r.text.slice(-1));
    }
    const a = names.filter((n) => n === 'a').length;
    assert.equal(a, 10, `answers: ${names.join('')}`);
    // And the client connections are all gone once the lingering ones time out.
    const deadline = Date.now() + 5000;
    while (proxy.runtime.connectionCount > 0 && Date.now() < deadline) await sleep(50);
    assert.equal(proxy.runtime.connectionCount, 0);
  });
});
