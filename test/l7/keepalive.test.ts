// Connection reuse on both sides, idle timeouts, and pipelined requests answered in order.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client } from 'undici';
import { listenLocal, parseAll, rawExchange, RawClient, sleep, startProxy, type Proxy } from './harness.ts';

/** A real server that counts its TCP connections and notes when each one closes. */
interface CountingServer {
  address: string;
  server: http.Server;
  opened: number;
  closed: number;
  /** Path of every request, in arrival order. */
  paths: string[];
  close(): Promise<void>;
}

async function startCountingServer(handler?: http.RequestListener): Promise<CountingServer> {
  const sockets = new Set<net.Socket>();
  const s: CountingServer = {
    address: '',
    server: http.createServer((req, res) => {
      s.paths.push(req.url ?? '');
      if (handler !== undefined) return handler(req, res);
      req.resume();
      req.on('end', () => res.end(`path=${req.url}`));
    }),
    opened: 0,
    closed: 0,
    paths: [],
    close: async () => {
      for (const sock of sockets) sock.destroy();
      s.server.close();
      await once(s.server, 'close');
    },
  };
  s.server.keepAliveTimeout = 30_000;
  s.server.on('connection', (sock: net.Socket) => {
    s.opened++;
    sockets.add(sock);
    sock.on('close', () => {
      s.closed++;
      sockets.delete(sock);
    });
  });
  s.address = await listenLocal(s.server);
  return s;
}

describe('keep-alive', () => {
  let real: CountingServer;
  let proxy: Proxy;
  before(async () => {
    real = await startCountingServer();
    proxy = await startProxy({ realServers: [real.address], timeouts: { clientIdle: '600ms', upstreamIdle: '10s' } });
  });
  after(async () => {
    await proxy.close();
    await real.close();
  });

  it('serves many requests on one client connection and reuses one pooled upstream connection', async () => {
    const openedBefore = real.opened;
    const client = await RawClient.connect(proxy.port);
    try {
      for (let i = 0; i < 20; i++) {
        client.write(`GET /seq/${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
        const res = await client.response();
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), `path=/seq/${i}`);
        assert.equal(res.headers['connection'], undefined, 'an HTTP/1.1 keep-alive response needs no Connection field');
      }
      assert.equal(client.closed, false);
    } finally {
      client.destroy();
    }
    assert.equal(real.opened - openedBefore, 1, 'twenty sequential requests must share one upstream connection');
  });

  it('concurrent keep-alive clients use at most one upstream connection each', async () => {
    const openedBefore = real.opened;
    const clients = Array.from({ length: 4 }, () => new Client(proxy.url, { pipelining: 1 }));
    try {
      await Promise.all(
        clients.map(async (c, n) => {
          for (let i = 0; i < 25; i++) {
            const res = await c.request({ path: `/c${n}/${i}`, method: 'GET' });
            assert.equal(await res.body.text(), `path=/c${n}/${i}`);
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
    const opened = real.opened - openedBefore;
    assert.ok(opened >= 1 && opened <= 4, `100 requests from 4 clients opened ${opened} upstream connections`);
  });

  it('closes a client connection idle past timeouts.clientIdle', async () => {
    const client = await RawClient.connect(proxy.port);
    try {
      client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal((await client.response()).status, 200);
      const t0 = Date.now();
      assert.equal(await client.waitClosed(3000), true, 'idle client connection was not closed');
      const waited = Date.now() - t0;
      assert.ok(waited >= 400, `closed after ${waited} ms, before the 600 ms idle timeout`);
    } finally {
      client.destroy();
    }
  });

  it('Connection: close from an HTTP/1.1 client is answered with Connection: close and the connection ends', async () => {
    const r = await rawExchange(proxy.port, 'GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(r.closed, true);
    const [res, ...rest] = parseAll(r.bytes);
    assert.equal(res?.status, 200);
    assert.equal(res?.headers['connection'], 'close');
    assert.equal(rest.length, 0);
  });

  it('HTTP/1.0 clients: closed by default, kept with Connection: keep-alive (ab-style, with Host)', async () => {
    const plain = await rawExchange(proxy.port, 'GET /ten HTTP/1.0\r\n\r\n');
    assert.equal(plain.closed, true);
    assert.equal(parseAll(plain.bytes)[0]?.body.toString(), 'path=/ten');

    const client = await RawClient.connect(proxy.port);
    try {
      for (let i = 0; i < 2; i++) {
        client.write(`GET /ten-ka/${i} HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n`);
        const res = await client.response();
        assert.equal(res.body.toString(), `path=/ten-ka/${i}`);
        assert.match(res.headers['connection'] ?? '', /keep-alive/i);
      }
      assert.equal(client.closed, false);
    } finally {
      client.destroy();
    }
    // Without Host the request goes upstream as HTTP/1.0, Node answers it close-delimited, and
    // such a body can reach the client only by closing: keep-alive is refused, not faked.
    const noHost = await rawExchange(proxy.port, 'GET /ten-nohost HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    assert.equal(noHost.closed, true);
    const [res] = parseAll(noHost.bytes);
    assert.equal(res?.body.toString(), 'path=/ten-nohost');
    assert.equal(res?.headers['connection'], 'close');
  });
});

describe('limits.maxConnections', () => {
  it('closes connections beyond the limit at once and serves the ones within it', async () => {
    const real = await startCountingServer();
    const proxy = await startProxy({ realServers: [real.address], limits: { maxConnections: 2 } });
    const held = [await RawClient.connect(proxy.port), await RawClient.connect(proxy.port)];
    try {
      await sleep(50);
      const third = await rawExchange(proxy.port, 'GET /over HTTP/1.1\r\nHost: a\r\n\r\n', { timeoutMs: 2000 });
      assert.equal(third.closed, true);
      assert.equal(third.bytes.length, 0, 'a connection over the limit must not be served');
      for (const c of held) {
        c.write('GET /within HTTP/1.1\r\nHost: a\r\n\r\n');
        assert.equal((await c.response()).body.toString(), 'path=/within');
      }
    } finally {
      for (const c of held) c.destroy();
      await proxy.close();
      await real.close();
    }
  });
});

describe('upstream pool idle timeout', () => {
  it('closes pooled connections idle past timeouts.upstreamIdle, then opens a new one', async () => {
    const real = await startCountingServer();
    const proxy = await startProxy({ realServers: [real.address], timeouts: { upstreamIdle: '300ms' } });
    try {
      const client = new Client(proxy.url);
      try {
        assert.equal(await (await client.request({ path: '/1', method: 'GET' })).body.text(), 'path=/1');
        assert.equal(real.opened, 1);
        assert.equal(real.closed, 0);
        // The worker ticks every 100 ms: by 300 + 100 ms (plus slack) the pooled connection is gone.
        const deadline = Date.now() + 2000;
        while (real.closed === 0 && Date.now() < deadline) await sleep(20);
        assert.equal(real.closed, 1, 'idle pooled connection was not closed by the proxy');
        assert.equal(await (await client.request({ path: '/2', method: 'GET' })).body.text(), 'path=/2');
        assert.equal(real.opened, 2);
      } finally {
        await client.close();
      }
    } finally {
      await proxy.close();
      await real.close();
    }
  });
});

describe('pipelining', () => {
  let real: CountingServer;
  let proxy: Proxy;
  before(async () => {
    // Answers late to early requests: only a proxy that serialises keeps the order.
    real = await startCountingServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const delay = req.url === '/first' ? 150 : req.url === '/second' ? 50 : 0;
        setTimeout(() => res.end(`${req.method} ${req.url} body=${Buffer.concat(chunks).toString()}`), delay);
      });
    });
    proxy = await startProxy({ realServers: [real.address] });
  });
  after(async () => {
    await proxy.close();
    await real.close();
  });

  it('answers three requests sent in one write in order', async () => {
    const r = await rawExchange(
      proxy.port,
      'GET /first HTTP/1.1\r\nHost: a\r\n\r\n' +
        'POST /second HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello' +
        'GET /third HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    assert.equal(r.closed, true);
    const bodies = parseAll(r.bytes).map((res) => `${res.status} ${res.body.toString()}`);
    assert.deepEqual(bodies, ['200 GET /first body=', '200 POST /second body=hello', '200 GET /third body=']);
  });

  it('answers pipelined requests split across writes at awkward points, HEAD included', async () => {
    const all =
      'GET /first HTTP/1.1\r\nHost: a\r\n\r\nHEAD /second HTTP/1.1\r\nHost: a\r\n\r\n' +
      'PUT /third HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' +
      'GET /fourth HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';
    const parts = [all.slice(0, 20), all.slice(20, 50), all.slice(50, 130), all.slice(130)];
    const r = await rawExchange(proxy.port, parts, { gapMs: 20 });
    const res = parseAll(r.bytes, (i) => i === 1);
    assert.deepEqual(
      res.map((x) => `${x.status} ${x.body.toString()}`),
      ['200 GET /first body=', '200 ', '200 PUT /third body=abc', '200 GET /fourth body='],
    );
  });

  it('requests pipelined before the client half-closes are all answered, then the connection closes', async () => {
    const socket = net.connect(proxy.port, '127.0.0.1');
    await once(socket, 'connect');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    // Like `printf '...' | nc`: three requests, then FIN.
    socket.end('GET /first HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\nGET /third HTTP/1.1\r\nHost: a\r\n\r\n');
    await once(socket, 'close');
    const res = parseAll(Buffer.concat(chunks));
    assert.deepEqual(
      res.map((r) => r.body.toString()),
      ['GET /first body=', 'GET /second body=', 'GET /third body='],
    );
    assert.equal(res[2]?.headers['connection'], 'close', 'the last answer announces the close');
    assert.equal(res[0]?.headers['connection'], undefined);
  });

  it('a burst of 50 pipelined requests is answered in order', async () => {
    let burst = '';
    for (let i = 0; i < 50; i++) burst += `GET /p${i} HTTP/1.1\r\nHost: a\r\n${i === 49 ? 'Connection: close\r\n' : ''}\r\n`;
    const r = await rawExchange(proxy.port, burst, { timeoutMs: 10_000 });
    const res = parseAll(r.bytes);
    assert.equal(res.length, 50);
    res.forEach((x, i) => assert.equal(x.body.toString(), `GET /p${i} body=`));
  });
});
