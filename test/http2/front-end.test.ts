// The HTTP/2 front end end to end, with node:http2 as the client (nghttp2 on both sides): every
// stream is an exchange on the same path as HTTP/1.1 (rules, limits, retries, access log), bodies
// both ways with flow control, h2c and HTTP/1.1 on one port, GOAWAY on drain.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import http2, { type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { startBackends, type Backends, type EchoReply } from '../helpers/backends.ts';
import { freePort } from '../helpers/processes.ts';
import { startProxy, type Proxy } from '../l7/harness.ts';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function request(session: ClientHttp2Session, headers: Record<string, string | string[]>, body?: Buffer | Buffer[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': body === undefined ? 'GET' : 'POST', ...headers }, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let responseHeaders: IncomingHttpHeaders = {};
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status: Number(responseHeaders[':status']), headers: responseHeaders, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    if (body !== undefined) {
      for (const part of Array.isArray(body) ? body : [body]) stream.write(part);
      stream.end();
    }
  });
}

describe('HTTP/2 cleartext (h2c prior knowledge) through the one request path', () => {
  let backends: Backends;
  let proxy: Proxy;
  let session: ClientHttp2Session;

  before(async () => {
    backends = await startBackends(2);
    proxy = await startProxy({
      realServers: backends.servers.map((b) => b.address),
      http2: { cleartext: true },
      rules: [
        { name: 'deny-admin', match: { path: { prefix: '/admin/' } }, deny: {} },
        { name: 'moved', match: { path: '/old' }, redirect: { to: 'https://example.org/new', status: 308 } },
        { name: 'tag', match: { path: { prefix: '/tagged' } }, requestHeaders: { set: { 'X-Tag': 'h2' } }, responseHeaders: { set: { 'X-Answer': 'edited' } } },
      ],
    });
    session = http2.connect(proxy.url);
  });

  after(async () => {
    session.close();
    await proxy.close();
    await backends.close();
  });

  it('maps :method, :path and :authority to the request line and Host, joins cookies, drops te, and answers 200', async () => {
    const answer = await request(session, { ':path': '/echo?q=1', cookie: ['a=1', 'b=2'], te: 'trailers', 'x-custom': 'yes' });
    assert.equal(answer.status, 200);
    const echo = JSON.parse(answer.body.toString()) as EchoReply;
    assert.equal(echo.method, 'GET');
    assert.equal(echo.url, '/echo?q=1');
    assert.equal(echo.httpVersion, '1.1', 'real servers are spoken to in HTTP/1.1');
    assert.equal(echo.headers['host'], `127.0.0.1:${proxy.port}`);
    assert.equal(echo.headers['cookie'], 'a=1; b=2');
    assert.equal(echo.headers['te'], undefined);
    assert.equal(echo.headers['x-custom'], 'yes');
    assert.equal(echo.headers['x-forwarded-proto'], 'http');
    assert.equal(answer.headers['connection'], undefined);
  });

  it('sends a request body without content-length chunked, and one with it as it is, whole', async () => {
    const parts = [randomBytes(70_000), randomBytes(1), randomBytes(200_000)];
    const whole = Buffer.concat(parts);
    const expected = createHash('sha256').update(whole).digest('hex');
    const chunked = await request(session, { ':path': '/sha256' }, parts);
    assert.equal(chunked.status, 200);
    assert.equal(JSON.parse(chunked.body.toString()).sha256, expected);
    const sized = await request(session, { ':path': '/echo', 'content-length': String(5) }, Buffer.from('hello'));
    const echo = JSON.parse(sized.body.toString()) as EchoReply;
    assert.equal(echo.headers['content-length'], '5');
    assert.equal(echo.headers['transfer-encoding'], undefined);
    assert.equal(echo.body, 'hello');
    const unsized = await request(session, { ':path': '/echo' }, Buffer.from('abc'));
    assert.equal((JSON.parse(unsized.body.toString()) as EchoReply).headers['transfer-encoding'], 'chunked');
  });

  it('runs the rules: deny 403, redirect 308, header edits both ways', async () => {
    assert.equal((await request(session, { ':path': '/admin/x' })).status, 403);
    const moved = await request(session, { ':path': '/old' });
    assert.equal(moved.status, 308);
    assert.equal(moved.headers['location'], 'https://example.org/new');
    const tagged = await request(session, { ':path': '/tagged/echo' });
    assert.equal(tagged.headers['x-answer'], 'edited');
    const lines = await proxy.accessLog();
    const denied = lines.find((l) => l.path === '/admin/x');
    assert.equal(denied?.termination, 'denied');
    assert.equal(denied?.status, 403);
  });

  it('answers HEAD with the head only, and 100 parallel streams on one connection', async () => {
    const head = await request(session, { ':method': 'HEAD', ':path': '/' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => request(session, { ':path': `/n${i}` })));
    assert.ok(answers.every((a) => a.status === 200));
    const names = new Set(answers.map((a) => a.headers['x-backend']));
    assert.equal(names.size, 2, 'round robin over both real servers');
  });

  it('logs each stream as an exchange, with the termination code', async () => {
    await request(session, { ':path': '/logged-stream' });
    const line = (await proxy.accessLog()).find((l) => l.path === '/logged-stream');
    assert.equal(line?.termination, 'ok');
    assert.equal(line?.method, 'GET');
    assert.ok(line!.realServer.startsWith('127.0.0.1:'));
  });

  it('refuses CONNECT (405): no tunnels over HTTP/2 (SETTINGS_ENABLE_CONNECT_PROTOCOL is not offered)', async () => {
    const connect = await new Promise<number>((resolve, reject) => {
      const stream = session.request({ ':method': 'CONNECT', ':authority': 'example.org:443' });
      stream.on('response', (h) => resolve(Number(h[':status'])));
      stream.on('error', reject);
    });
    assert.equal(connect, 405);
    assert.equal(session.remoteSettings.enableConnectProtocol, false);
  });

  it('serves HTTP/1.1 on the same port', async () => {
    const res = await fetch(`${proxy.url}/plain`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^backend-/);
  });

  it('a client that resets a stream mid-response is logged client-aborted, and the connection goes on', async () => {
    const stream = session.request({ ':path': '/echo', ':method': 'POST' }, { endStream: false });
    stream.write(randomBytes(10));
    if (stream.pending) await once(stream, 'ready');
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await new Promise((resolve) => stream.on('close', resolve));
    const next = await request(session, { ':path': '/after-reset' });
    assert.equal(next.status, 200);
    const lines = await proxy.accessLog();
    const aborted = lines.filter((l) => l.path === '/echo' && l.termination === 'client-aborted');
    assert.equal(aborted.length, 1, JSON.stringify(lines.filter((l) => l.path === '/echo')));
  });
});

describe('HTTP/2: informational responses', () => {
  it('relays 103 Early Hints with its Link fields before the 200', async () => {
    const server = http.createServer((_req, res) => {
      res.writeEarlyHints({ link: ['</style.css>; rel=preload; as=style', '</app.js>; rel=preload; as=script'] });
      res.end('done');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const proxy = await startProxy({ realServers: [`127.0.0.1:${(server.address() as AddressInfo).port}`], http2: { cleartext: true } });
    const session = http2.connect(proxy.url);
    try {
      const stream = session.request({ ':path': '/' });
      const hints = new Promise<IncomingHttpHeaders | null>((resolve) => {
        stream.once('headers', resolve);
        stream.once('end', () => resolve(null));
      });
      stream.resume();
      const [status] = await Promise.all([new Promise<number>((resolve) => stream.once('response', (h) => resolve(Number(h[':status'])))), once(stream, 'end')]);
      const early = await hints;
      assert.ok(early !== null, 'no 103 before the end of the stream');
      assert.equal(early[':status'], 103);
      assert.deepEqual(early['link'], '</style.css>; rel=preload; as=style, </app.js>; rel=preload; as=script');
      assert.equal(status, 200);
    } finally {
      session.close();
      await proxy.close();
      server.close();
    }
  });
});

describe('HTTP/2: a real server that dies, and drain', () => {
  it('retries a refused connect on another server, over HTTP/2 as over HTTP/1.1', async () => {
    const backends = await startBackends(1);
    const deadPort = await freePort();
    const proxy = await startProxy({ realServers: [`127.0.0.1:${deadPort}`, backends.servers[0]!.address], http2: { cleartext: true }, retries: 1 });
    const session = http2.connect(proxy.url);
    try {
      const answers = await Promise.all(Array.from({ length: 10 }, () => request(session, { ':path': '/' })));
      assert.deepEqual(
        answers.map((a) => a.status),
        Array(10).fill(200),
      );
    } finally {
      session.close();
      await proxy.close();
      await backends.close();
    }
  });

  it('drain sends GOAWAY: the stream in flight finishes, the connection then closes', async () => {
    const backends = await startBackends(1);
    const proxy = await startProxy({ realServers: [backends.servers[0]!.address], http2: { cleartext: true } });
    const session = http2.connect(proxy.url);
    try {
      const stream = session.request({ ':method': 'POST', ':path': '/echo' }, { endStream: false });
      stream.write('part one;');
      const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      const ended = new Promise((resolve) => stream.on('end', resolve));
      if (stream.pending) await once(stream, 'ready');
      const draining = proxy.runtime.drain(5000);
      assert.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR);
      stream.end('part two');
      await ended;
      assert.equal((JSON.parse(Buffer.concat(chunks).toString()) as EchoReply).body, 'part one;part two');
      assert.equal(await draining, true, 'no connection left to cut');
    } finally {
      session.destroy();
      await backends.close();
    }
  });
});
