// Errors users can act on: 502 (the real server failed), 503 (none available), 504 (it timed
// out). The client reads the virtual service and a short reason, never an internal address or
// errno; the access log carries the detail and a stable termination code.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { startRawServer, type RawServer } from '../helpers/backends.ts';
import { rawExchange, RawClient, refusedAddress, sleep, startProxy, type AccessLine, type ParsedResponse, type Proxy } from './harness.ts';

async function lastLog(proxy: Proxy, count: number): Promise<AccessLine> {
  const lines = await proxy.accessLog(count);
  assert.ok(lines.length >= count, `expected ${count} access log lines, have ${lines.length}`);
  return lines[lines.length - 1]!;
}

/**
 * One request on a fresh connection: the parsed response (null when none came), and whether the
 * proxy closed the connection. A keep-alive answer returns as soon as it is complete.
 */
async function once1(proxy: Proxy, req = 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n', timeoutMs = 3000) {
  const client = await RawClient.connect(proxy.port);
  try {
    client.write(req);
    let res: ParsedResponse | null = null;
    try {
      res = await client.response({ timeoutMs });
    } catch {
      // cut off: no complete response
    }
    const closed = res === null || res.headers['connection'] === 'close' ? await client.waitClosed(timeoutMs) : client.closed;
    return { res, closed, text: client.rest.toString('latin1') };
  } finally {
    client.destroy();
  }
}

describe('502 Bad Gateway', () => {
  it('when the real server refuses the connection', async () => {
    const dead = await refusedAddress();
    const proxy = await startProxy({ name: 'shop', realServers: [dead], retries: 0 });
    try {
      const client = await RawClient.connect(proxy.port);
      client.write('GET /cart HTTP/1.1\r\nHost: a\r\n\r\n');
      const res = await client.response();
      assert.equal(res.status, 502);
      const body = res.body.toString();
      assert.equal(body, '502 Bad Gateway: the real server could not be reached (virtual service "shop")\n');
      assert.doesNotMatch(body, new RegExp(`${dead.split(':')[1]}|ECONNREFUSED|127\\.0\\.0\\.1`), 'no internal address or errno');
      // The request was read whole: the connection stays for the next one.
      assert.equal(res.headers['connection'], 'keep-alive');
      client.write('GET /again HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal((await client.response()).status, 502);
      client.destroy();
      const log = await lastLog(proxy, 2);
      assert.equal(log.status, 502);
      assert.equal(log.virtualService, 'shop');
      assert.equal(log.realServer, dead);
      assert.equal(log.path, '/again');
      assert.match(log.error ?? '', /could not connect to real server .* \(ECONNREFUSED\)/);
      assert.equal(log.termination, 'upstream-connect-refused');
    } finally {
      await proxy.close();
    }
  });

  it('when the real server resets the connection without answering', async () => {
    const raw = await startRawServer({ onRequest: (_req, socket) => socket.resetAndDestroy() });
    const proxy = await startProxy({ name: 'shop', realServers: [raw.address], retries: 0 });
    try {
      const { res } = await once1(proxy);
      assert.equal(res?.status, 502);
      assert.match(res?.body.toString() ?? '', /the real server closed the connection without a response \(virtual service "shop"\)/);
      assert.doesNotMatch(res?.body.toString() ?? '', /ECONNRESET|127\.0\.0\.1/);
      const log = await lastLog(proxy, 1);
      assert.match(log.error ?? '', new RegExp(`real server ${raw.address} closed the connection without a response \\(ECONNRESET\\)`));
      assert.equal(log.termination, 'upstream-reset');
    } finally {
      await proxy.close();
      await raw.close();
    }
  });

  for (const [name, response] of [
    ['a malformed status line', 'HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n'],
    ['a header without a colon', 'HTTP/1.1 200 OK\r\nBroken header\r\nContent-Length: 0\r\n\r\n'],
    ['conflicting Content-Length values', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'],
    ['not HTTP at all', 'SSH-2.0-OpenSSH_9.2\r\n\r\n'],
    ['a bare LF head', 'HTTP/1.1 200 OK\nContent-Length: 0\n\n\r\n\r\n'],
  ] as const) {
    it(`when the real server sends ${name}`, async () => {
      const raw = await startRawServer({ response });
      const proxy = await startProxy({ name: 'shop', realServers: [raw.address] });
      try {
        const { res } = await once1(proxy);
        assert.equal(res?.status, 502);
        assert.match(res?.body.toString() ?? '', /the real server sent an invalid response \(virtual service "shop"\)/);
        const log = await lastLog(proxy, 1);
        assert.equal(log.error, 'invalid response head from real server');
        assert.equal(log.termination, 'upstream-malformed-response');
        assert.equal(log.realServer, raw.address);
      } finally {
        await proxy.close();
        await raw.close();
      }
    });
  }

  it('when the response head is larger than 64 KiB', async () => {
    const raw = await startRawServer({ response: `HTTP/1.1 200 OK\r\nX-Big: ${'x'.repeat(70 * 1024)}\r\nContent-Length: 0\r\n\r\n` });
    const proxy = await startProxy({ realServers: [raw.address] });
    try {
      const { res } = await once1(proxy);
      assert.equal(res?.status, 502);
      assert.match(res?.body.toString() ?? '', /the real server sent an invalid response/);
      const log = await lastLog(proxy, 1);
      assert.equal(log.error, 'response head from real server too large');
      assert.equal(log.termination, 'upstream-malformed-response');
    } finally {
      await proxy.close();
      await raw.close();
    }
  });

  it('when the real server closes mid-response, the client connection is cut and the log says why', async () => {
    const raw = await startRawServer({ response: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b', after: 'end' });
    const proxy = await startProxy({ realServers: [raw.address] });
    try {
      const r = await rawExchange(proxy.port, 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal(r.closed, true);
      assert.match(r.text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.ok(r.text.endsWith('only ten b'), 'the bytes that came are relayed');
      const log = await lastLog(proxy, 1);
      assert.equal(log.status, 200);
      assert.match(log.error ?? '', /closed the connection mid-response/);
      assert.equal(log.termination, 'upstream-reset');
    } finally {
      await proxy.close();
      await raw.close();
    }
  });

  it('when the real server sends a broken chunked body with its head, the client gets 502 (nothing was sent yet)', async () => {
    const raw = await startRawServer({ response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n' });
    const proxy = await startProxy({ realServers: [raw.address] });
    try {
      const { res } = await once1(proxy);
      assert.equal(res?.status, 502);
      const log = await lastLog(proxy, 1);
      assert.equal(log.error, 'invalid chunked body from real server');
      assert.equal(log.termination, 'upstream-malformed-response');
    } finally {
      await proxy.close();
      await raw.close();
    }
  });

  it('when the real server breaks its chunked body after the head went out, the client connection is cut', async () => {
    const raw = await startRawServer({
      onRequest: (_req, socket) => {
        socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
        setTimeout(() => socket.write('ZZ\r\n'), 50);
      },
    });
    const proxy = await startProxy({ realServers: [raw.address] });
    try {
      const r = await rawExchange(proxy.port, 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal(r.closed, true);
      assert.match(r.text, /^HTTP\/1\.1 200 OK\r\n/);
      const log = await lastLog(proxy, 1);
      assert.equal(log.error, 'invalid chunked body from real server');
      assert.equal(log.termination, 'upstream-malformed-response');
    } finally {
      await proxy.close();
      await raw.close();
    }
  });
});

describe('503 Service Unavailable', () => {
  it('when every real server is disabled or has weight 0', async () => {
    const raw = await startRawServer({ response: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' });
    const proxy = await startProxy({
      name: 'api',
      realServers: [
        { address: raw.address, enabled: false },
        { address: raw.address.replace(/:\d+$/, ':1'), weight: 0 },
      ],
    });
    try {
      const client = await RawClient.connect(proxy.port);
      client.write('GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
      const res = await client.response();
      assert.equal(res.status, 503);
      assert.match(res.body.toString(), /no real server available \(virtual service "api"\)/);
      assert.equal(res.headers['connection'], 'keep-alive');
      client.destroy();
      assert.equal(raw.connections, 0);
      const log = await lastLog(proxy, 1);
      assert.equal(log.status, 503);
      assert.equal(log.realServer, '');
      assert.equal(log.error, 'no real server available');
      assert.equal(log.termination, 'no-server-available');
    } finally {
      await proxy.close();
      await raw.close();
    }
  });
});

describe('504 Gateway Timeout', () => {
  let stall: RawServer;
  let stallClosed = 0;
  before(async () => {
    // Reads the request, never answers.
    stall = await startRawServer({
      onRequest: () => {},
      onConnection: (socket) => {
        socket.on('close', () => stallClosed++);
      },
    });
  });
  after(async () => {
    await stall.close();
  });

  it('when the real server does not answer within timeouts.response', async () => {
    const proxy = await startProxy({ name: 'slow', realServers: [stall.address], timeouts: { response: '500ms' } });
    try {
      const t0 = Date.now();
      const { res } = await once1(proxy);
      const elapsed = Date.now() - t0;
      assert.equal(res?.status, 504);
      assert.ok(elapsed >= 450 && elapsed < 1500, `answered after ${elapsed} ms`);
      assert.equal(res?.body.toString(), '504 Gateway Timeout: the real server did not respond in time (virtual service "slow")\n');
      const log = await lastLog(proxy, 1);
      assert.equal(log.status, 504);
      assert.equal(log.error, `real server ${stall.address} did not respond within 500 ms`);
      assert.equal(log.termination, 'upstream-response-timeout');
      // The proxy gave up on the stalled connection: the real server sees it closed.
      for (let i = 0; i < 50 && stallClosed < stall.connections; i++) await sleep(10);
      assert.equal(stallClosed, stall.connections);
    } finally {
      await proxy.close();
    }
  });

  it('when the real server stalls mid-response, the client connection is cut after timeouts.response', async () => {
    const raw = await startRawServer({ response: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial' });
    const proxy = await startProxy({ realServers: [raw.address], timeouts: { response: '500ms' } });
    try {
      const t0 = Date.now();
      const r = await rawExchange(proxy.port, 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal(r.closed, true);
      assert.ok(Date.now() - t0 < 1500);
      const log = await lastLog(proxy, 1);
      assert.match(log.error ?? '', /stalled mid-response/);
      assert.equal(log.termination, 'upstream-response-timeout');
    } finally {
      await proxy.close();
      await raw.close();
    }
  });

  it('a client that stops sending its request body gets 408 after timeouts.clientBody', async () => {
    const proxy = await startProxy({ realServers: [stall.address], timeouts: { clientBody: '500ms' } });
    try {
      const t0 = Date.now();
      const { res, closed } = await once1(proxy, 'POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly some');
      assert.equal(res?.status, 408);
      assert.ok(Date.now() - t0 < 1500, `after ${Date.now() - t0} ms`);
      assert.equal(closed, true);
      assert.match(res?.body.toString() ?? '', /the request took too long to arrive/);
      const log = await lastLog(proxy, 1);
      assert.equal(log.error, 'client stopped sending the request body');
      assert.equal(log.termination, 'client-timeout');
    } finally {
      await proxy.close();
    }
  });
});

describe('timeouts blame the party that stalled', () => {
  it('504 when the real server stops reading the request body (not 408 for the client)', async () => {
    // Accepts the connection and never reads: our writes back up, the client is paused.
    const deaf = await startRawServer({ onConnection: (socket) => (socket.pause(), true) });
    const proxy = await startProxy({ realServers: [deaf.address], timeouts: { response: '500ms' } });
    try {
      const client = await RawClient.connect(proxy.port);
      const total = 64 * 1024 * 1024;
      client.write(`PUT /blob HTTP/1.1\r\nHost: a\r\nContent-Length: ${total}\r\n\r\n`);
      // Keep offering body bytes (with backpressure) until the proxy answers.
      const chunk = Buffer.alloc(256 * 1024, 7);
      let offered = 0;
      const pump = (async () => {
        while (offered < total && !client.closed && client.rest.length === 0) {
          offered += chunk.length;
          if (!client.socket.write(chunk)) await Promise.race([once(client.socket, 'drain'), sleep(200)]);
        }
      })();
      const res = await client.response({ timeoutMs: 5000 });
      await pump;
      client.destroy();
      assert.equal(res.status, 504);
      assert.match(res.body.toString(), /the real server stopped reading the request/);
      assert.equal(res.headers['connection'], 'close');
      const log = await lastLog(proxy, 1);
      assert.equal(log.error, `real server ${deaf.address} stopped reading the request body`);
      assert.equal(log.termination, 'upstream-stopped-reading');
    } finally {
      await proxy.close();
      await deaf.close();
    }
  });

  it('a client that stops reading a response is cut after timeouts.response, and the log says so', async () => {
    const big = Buffer.alloc(32 * 1024 * 1024, 'z');
    const raw = await startRawServer({
      onRequest: (_req, socket) => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\n\r\n`);
        socket.write(big);
      },
    });
    const proxy = await startProxy({ realServers: [raw.address], timeouts: { response: '500ms' } });
    try {
      const client = await RawClient.connect(proxy.port);
      client.socket.pause(); // never reads
      client.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
      const [log] = await proxy.accessLog(1); // waits up to 2 s for the line
      client.destroy();
      assert.equal(log?.status, 200);
      assert.equal(log?.error, 'client stopped reading the response');
      assert.equal(log?.termination, 'client-stopped-reading');
    } finally {
      await proxy.close();
      await raw.close();
    }
  });
});

describe('access log of refused requests', () => {
  it('does not carry over the method, path, bytes or start time of the previous request', async () => {
    const raw = await startRawServer({ response: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' });
    const proxy = await startProxy({ realServers: [raw.address] });
    try {
      const client = await RawClient.connect(proxy.port);
      client.write('POST /first/request HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc');
      assert.equal((await client.response()).status, 200);
      await sleep(300);
      const bad = 'GET / HTTP/2.0\r\nHost: a\r\n\r\n';
      client.write(bad);
      const res = await client.response();
      assert.equal(res.status, 505);
      client.destroy();
      const [first, refused] = await proxy.accessLog(2);
      assert.equal(first?.method, 'POST');
      assert.equal(first?.path, '/first/request');
      assert.equal(refused?.status, 505);
      assert.equal(refused?.method, '');
      assert.equal(refused?.path, '');
      assert.equal(refused?.bytesIn, bad.length);
      assert.ok(refused!.bytesOut > 0 && refused!.bytesOut < 300, `bytesOut ${refused?.bytesOut}`);
      assert.ok(refused!.durationMs < 100, `durationMs ${refused?.durationMs} counts from an earlier request`);
      assert.equal(refused?.error, 'HTTP version not supported');
      assert.equal(refused?.termination, 'client-bad-request');
    } finally {
      await proxy.close();
      await raw.close();
    }
  });
});
