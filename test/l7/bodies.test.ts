// Message bodies in both directions: Content-Length, chunked with trailers, close-delimited,
// bodiless responses (HEAD, 204, 304), 1xx, Expect: 100-continue, de-chunking for HTTP/1.0.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startBackends, startRawServer, type Backends, type ChecksumReply, type RawServer } from '../helpers/backends.ts';
import { listenLocal, parseAll, rawExchange, RawClient, startProxy, type Proxy } from './harness.ts';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('bodies through a Node real server', () => {
  let backends: Backends;
  let real: http.Server;
  let proxy: Proxy;
  let toNode: Proxy;
  const payload = randomBytes(5 * 1024 * 1024 + 17);
  let seenTrailers: Record<string, string | undefined> = {};

  before(async () => {
    backends = await startBackends(1);
    proxy = await startProxy({ realServers: [backends.servers[0]!.address] });
    real = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        switch (req.url) {
          case '/download':
            res.writeHead(200, { 'content-length': payload.length });
            res.end(payload);
            return;
          case '/chunked-trailers':
            res.writeHead(200, { 'content-type': 'text/plain', trailer: 'X-Digest' });
            res.write('part one, ');
            setTimeout(() => {
              res.write('part two');
              res.addTrailers({ 'X-Digest': 'sha-256=abc' });
              res.end();
            }, 20);
            return;
          case '/request-trailers':
            seenTrailers = { ...req.trailers };
            res.end(`got ${body.toString()}`);
            return;
          case '/early-hints':
            res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
            setTimeout(() => res.end('after hints'), 20);
            return;
          case '/no-content':
            res.writeHead(204, { 'x-note': 'nothing' });
            res.end();
            return;
          case '/continue':
            res.end(`continued ${body.toString()}`);
            return;
          default:
            res.writeHead(200, { 'content-length': body.length + 5 });
            res.end(Buffer.concat([Buffer.from('echo:'), body]));
        }
      });
    });
    toNode = await startProxy({ realServers: [await listenLocal(real)] });
  });
  after(async () => {
    await proxy.close();
    await toNode.close();
    await backends.close();
    real.close();
    real.closeAllConnections();
  });

  it('uploads a 5 MiB Content-Length body byte-identical', async () => {
    const res = await request(`${proxy.url}/sha256`, { method: 'POST', body: payload });
    const reply = (await res.body.json()) as ChecksumReply;
    assert.equal(reply.bytes, payload.length);
    assert.equal(reply.sha256, sha256(payload));
    assert.equal(reply.chunked, false);
  });

  it('uploads a chunked body (unknown length) byte-identical', async () => {
    async function* gen(): AsyncGenerator<Buffer> {
      for (let i = 0; i < payload.length; i += 100_003) yield payload.subarray(i, i + 100_003);
    }
    const res = await request(`${proxy.url}/sha256`, { method: 'PUT', body: Readable.from(gen()) });
    const reply = (await res.body.json()) as ChecksumReply;
    assert.equal(reply.chunked, true);
    assert.equal(reply.sha256, sha256(payload));
  });

  it('downloads a 5 MiB Content-Length body byte-identical', async () => {
    const res = await request(`${toNode.url}/download`);
    assert.equal(res.headers['content-length'], String(payload.length));
    assert.equal(sha256(Buffer.from(await res.body.arrayBuffer())), sha256(payload));
  });

  it('passes a chunked response with trailers through, chunked, trailers intact', async () => {
    const client = await RawClient.connect(toNode.port);
    try {
      client.write('GET /chunked-trailers HTTP/1.1\r\nHost: a\r\nTE: trailers\r\n\r\n');
      const res = await client.response();
      assert.equal(res.chunked, true);
      assert.equal(res.body.toString(), 'part one, part two');
      assert.deepEqual(res.trailers, { 'x-digest': 'sha-256=abc' });
      assert.equal(res.headers['trailer'], 'X-Digest');
      // The connection is still in step.
      client.write('GET /again HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal((await client.response()).body.toString(), 'echo:');
    } finally {
      client.destroy();
    }
  });

  it('passes a chunked request with trailers through to the real server', async () => {
    const client = await RawClient.connect(toNode.port);
    try {
      client.write(
        'POST /request-trailers HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n' +
          '5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n',
      );
      const res = await client.response();
      assert.equal(res.body.toString(), 'got hello world');
      assert.deepEqual(seenTrailers, { 'x-sum': '42' });
    } finally {
      client.destroy();
    }
  });

  it('answers HEAD with the headers and no body, and stays in step', async () => {
    const client = await RawClient.connect(toNode.port);
    try {
      client.write('HEAD /download HTTP/1.1\r\nHost: a\r\n\r\n');
      const head = await client.response({ isHead: true });
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], String(payload.length));
      client.write('GET /after-head HTTP/1.1\r\nHost: a\r\n\r\n');
      const next = await client.response();
      assert.equal(next.body.toString(), 'echo:');
    } finally {
      client.destroy();
    }
  });

  it('relays 204 without a body and keeps the connection', async () => {
    const client = await RawClient.connect(toNode.port);
    try {
      client.write('DELETE /no-content HTTP/1.1\r\nHost: a\r\n\r\n');
      const res = await client.response();
      assert.equal(res.status, 204);
      assert.equal(res.headers['x-note'], 'nothing');
      client.write('GET /after-204 HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal((await client.response()).body.toString(), 'echo:');
      assert.equal(client.rest.length, 0);
    } finally {
      client.destroy();
    }
  });

  it('relays 103 Early Hints before the final response, and not to an HTTP/1.0 client', async () => {
    const client = await RawClient.connect(toNode.port);
    try {
      client.write('GET /early-hints HTTP/1.1\r\nHost: a\r\n\r\n');
      const hints = await client.response();
      assert.equal(hints.status, 103);
      assert.equal(hints.headers['link'], '</style.css>; rel=preload; as=style');
      const final = await client.response();
      assert.equal(final.status, 200);
      assert.equal(final.body.toString(), 'after hints');
    } finally {
      client.destroy();
    }
    const ten = await rawExchange(toNode.port, 'GET /early-hints HTTP/1.0\r\nHost: a\r\n\r\n');
    const responses = parseAll(ten.bytes);
    assert.deepEqual(
      responses.map((r) => r.status),
      [200],
    );
  });

  it('Expect: 100-continue: the client gets 100 Continue from the real server, then sends the body', async () => {
    const client = await RawClient.connect(toNode.port);
    try {
      client.write('POST /continue HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
      const interim = await client.response();
      assert.equal(interim.status, 100);
      client.write('hello');
      const final = await client.response();
      assert.equal(final.status, 200);
      assert.equal(final.body.toString(), 'continued hello');
      // Same connection, another request.
      client.write('POST /continue HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi');
      assert.equal((await client.response()).body.toString(), 'continued hi');
    } finally {
      client.destroy();
    }
  });

  it('de-chunks a chunked response for an HTTP/1.0 client and closes the connection', async () => {
    const r = await rawExchange(toNode.port, 'GET /chunked-trailers HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n');
    assert.equal(r.closed, true);
    const head = r.text.slice(0, r.text.indexOf('\r\n\r\n'));
    assert.doesNotMatch(head, /transfer-encoding/i);
    assert.match(head, /\r\nconnection: close/i);
    assert.equal(r.text.slice(r.text.indexOf('\r\n\r\n') + 4), 'part one, part two');
  });
});

describe('bodies through a raw real server', () => {
  let closeDelimited: RawServer;
  let notModified: RawServer;
  let proxyClose: Proxy;
  let proxy304: Proxy;
  before(async () => {
    closeDelimited = await startRawServer({
      response: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nthe body runs until the server closes',
      after: 'end',
    });
    // 304 may carry the Content-Length of the representation; there is still no body.
    notModified = await startRawServer({ response: 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 1234\r\n\r\n' });
    proxyClose = await startProxy({ realServers: [closeDelimited.address] });
    proxy304 = await startProxy({ realServers: [notModified.address] });
  });
  after(async () => {
    await proxyClose.close();
    await proxy304.close();
    await closeDelimited.close();
    await notModified.close();
  });

  it('relays a close-delimited response whole and closes the client connection', async () => {
    const r = await rawExchange(proxyClose.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(r.closed, true);
    const [res] = parseAll(r.bytes);
    assert.equal(res?.status, 200);
    assert.equal(res?.headers['connection'], 'close');
    assert.equal(res?.body.toString(), 'the body runs until the server closes');
  });

  it('reassembles a response head (1xx included) that arrives in pieces, split at awkward points', async () => {
    const big = `X-Big: ${'h'.repeat(40_000)}\r\n`;
    const response = `HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\n${big}Content-Length: 4\r\n\r\nbody`;
    const cuts = [5, 30, 45, 46, 20_000, response.length - 6, response.length - 5, response.length - 2];
    const slow = await startRawServer({
      onRequest: (_req, socket) => {
        let at = 0;
        const next = (): void => {
          const cut = cuts.shift() ?? response.length;
          socket.write(response.slice(at, cut));
          at = cut;
          if (at < response.length) setTimeout(next, 10);
        };
        next();
      },
    });
    const proxy = await startProxy({ realServers: [slow.address] });
    const client = await RawClient.connect(proxy.port);
    try {
      client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal((await client.response()).status, 103);
      const res = await client.response();
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-big']?.length, 40_000);
      assert.equal(res.body.toString(), 'body');
    } finally {
      client.destroy();
      await proxy.close();
      await slow.close();
    }
  });

  it('relays 304 with a Content-Length but no body, and stays in step', async () => {
    const client = await RawClient.connect(proxy304.port);
    try {
      for (let i = 0; i < 3; i++) {
        client.write('GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: "v1"\r\n\r\n');
        const res = await client.response();
        assert.equal(res.status, 304);
        assert.equal(res.headers['etag'], '"v1"');
        assert.equal(res.body.length, 0);
      }
      assert.equal(notModified.connections, 1, 'the upstream connection must be reused after a 304');
    } finally {
      client.destroy();
    }
  });
});
