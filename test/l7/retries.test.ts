// Retries: a request that never reached a real server moves to another one; a request that may
// have reached one is replayed only when its method is idempotent (BRIEF: users ask for exactly this).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { startBackends, startRawServer, type ChecksumReply } from '../helpers/backends.ts';
import { RawClient, refusedAddress, startProxy } from './harness.ts';

describe('retries', () => {
  it('a connect failure is retried on another real server, and the client never sees it', async () => {
    const backends = await startBackends(1);
    const dead = await refusedAddress();
    const proxy = await startProxy({ realServers: [dead, backends.servers[0]!.address], retries: 1 });
    try {
      for (let i = 0; i < 10; i++) {
        const res = await request(`${proxy.url}/n${i}`);
        assert.equal(res.statusCode, 200);
        assert.equal(await res.body.text(), 'backend-1\n');
      }
      assert.equal(backends.servers[0]!.requests, 10);
      const lines = await proxy.accessLog(10);
      assert.ok(lines.every((l) => l.status === 200 && l.realServer === backends.servers[0]!.address && l.error === undefined), JSON.stringify(lines[0]));
    } finally {
      await proxy.close();
      await backends.close();
    }
  });

  it('a POST whose connect failed is retried with its body intact (it never reached a server)', async () => {
    const backends = await startBackends(1);
    const dead = await refusedAddress();
    const proxy = await startProxy({ realServers: [dead, backends.servers[0]!.address], retries: 1 });
    const body = randomBytes(1024 * 1024 + 3);
    try {
      for (let i = 0; i < 2; i++) {
        const res = await request(`${proxy.url}/sha256`, { method: 'POST', body });
        assert.equal(res.statusCode, 200);
        const reply = (await res.body.json()) as ChecksumReply;
        assert.equal(reply.sha256, createHash('sha256').update(body).digest('hex'));
      }
    } finally {
      await proxy.close();
      await backends.close();
    }
  });

  it('retries: 0 does not retry a connect failure', async () => {
    const backends = await startBackends(1);
    const dead = await refusedAddress();
    const proxy = await startProxy({ realServers: [dead, backends.servers[0]!.address], retries: 0 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await request(`${proxy.url}/`);
        await res.body.dump();
        statuses.push(res.statusCode);
      }
      assert.deepEqual(statuses.sort(), [200, 200, 502, 502]);
    } finally {
      await proxy.close();
      await backends.close();
    }
  });

  it('gives up with 502 naming the last failure when every retry fails', async () => {
    const proxy = await startProxy({ name: 'all-dead', realServers: [await refusedAddress(), await refusedAddress(), await refusedAddress()], retries: 5 });
    try {
      const res = await request(`${proxy.url}/`);
      assert.equal(res.statusCode, 502);
      assert.match(await res.body.text(), /the real server could not be reached \(virtual service "all-dead"\)/);
      const [line] = await proxy.accessLog(1);
      assert.match(line?.error ?? '', /could not connect to real server .*ECONNREFUSED/);
      assert.equal(line?.termination, 'upstream-connect-refused');
    } finally {
      await proxy.close();
    }
  });

  it('a POST is never replayed after it may have reached a server (server reads it, then resets)', async () => {
    const resetting = [
      await startRawServer({ onRequest: (_req, socket) => socket.resetAndDestroy() }),
      await startRawServer({ onRequest: (_req, socket) => socket.resetAndDestroy() }),
    ];
    const proxy = await startProxy({ realServers: resetting.map((s) => s.address), retries: 3 });
    try {
      const res = await request(`${proxy.url}/pay`, { method: 'POST', body: 'amount=100' });
      assert.equal(res.statusCode, 502);
      assert.match(await res.body.text(), /closed the connection without a response/);
      const seen = resetting[0]!.requests.length + resetting[1]!.requests.length;
      assert.equal(seen, 1, 'the POST reached the real servers more than once');
      const posted = [...resetting[0]!.requests, ...resetting[1]!.requests][0]!;
      assert.equal(posted.body.toString(), 'amount=100');
    } finally {
      await proxy.close();
      for (const s of resetting) await s.close();
    }
  });

  it('an idempotent GET that may have reached a server is retried on another one', async () => {
    const resetting = await startRawServer({ onRequest: (_req, socket) => socket.resetAndDestroy() });
    const backends = await startBackends(1);
    const proxy = await startProxy({ realServers: [resetting.address, backends.servers[0]!.address], retries: 1 });
    try {
      for (let i = 0; i < 4; i++) {
        const res = await request(`${proxy.url}/doc`);
        assert.equal(res.statusCode, 200);
        assert.equal(await res.body.text(), 'backend-1\n');
      }
      // Each request tried the resetting server at most once (the retry excludes it), and it was tried.
      assert.ok(resetting.requests.length >= 1 && resetting.requests.length <= 4, `resetting server saw ${resetting.requests.length}`);
      assert.equal(backends.servers[0]!.requests, 4);
    } finally {
      await proxy.close();
      await backends.close();
      await resetting.close();
    }
  });

  it('a GET on a stale pooled connection (closed by the server as we reused it) is replayed on a fresh one', async () => {
    // The keep-alive race, made deterministic: the server answers the first request on a
    // connection and closes the connection as soon as a second one arrives on it.
    const server = await startRawServer({
      onRequest: (req, socket) => {
        if (req.index === 0) socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${req.url.length}\r\n\r\n${req.url}`);
        else socket.end();
      },
    });
    // retries: 0 proves this is the stale-connection replay, not an ordinary retry.
    const proxy = await startProxy({ realServers: [server.address], retries: 0 });
    const client = await RawClient.connect(proxy.port);
    try {
      for (const path of ['/one', '/two', '/three']) {
        client.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
        const res = await client.response();
        assert.equal(res.status, 200, res.body.toString());
        assert.equal(res.body.toString(), path);
      }
      // /one on connection 1; /two reaches connection 1 (closed), then connection 2; and so on.
      assert.deepEqual(
        server.requests.map((r) => `${r.url}#${r.index}`),
        ['/one#0', '/two#1', '/two#0', '/three#1', '/three#0'],
      );
    } finally {
      client.destroy();
      await proxy.close();
      await server.close();
    }
  });

  it('a POST on a stale pooled connection is not replayed: 502, and the server saw it once', async () => {
    const server = await startRawServer({
      onRequest: (req, socket) => {
        if (req.index === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else socket.end();
      },
    });
    const proxy = await startProxy({ realServers: [server.address], retries: 2 });
    const client = await RawClient.connect(proxy.port);
    try {
      client.write('GET /warm HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal((await client.response()).status, 200);
      client.write('POST /order HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc');
      const res = await client.response();
      assert.equal(res.status, 502);
      assert.deepEqual(
        server.requests.map((r) => r.url),
        ['/warm', '/order'],
      );
    } finally {
      client.destroy();
      await proxy.close();
      await server.close();
    }
  });
});
