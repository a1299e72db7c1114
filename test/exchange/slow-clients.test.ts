// Regression (issue 10, "Slow headers"): the head deadline runs from the first byte of a request
// to the end of its head, whatever arrives in between, and a request body must keep moving
// under timeouts.clientBody; a client that trickles bytes cannot hold a connection for ever.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startRawServer, type RawServer } from '../helpers/backends.ts';
import { RawClient, sleep, startProxy, type Proxy } from '../l7/harness.ts';

/** Write `steps` (delay in ms, then bytes) until the proxy closes; how long it took and what came back. */
async function trickle(port: number, steps: ReadonlyArray<readonly [number, string]>, limitMs: number): Promise<{ closedAfterMs: number; text: string }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('error', () => {});
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  const started = Date.now();
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
  let ended = false;
  void closed.then(() => (ended = true));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  for (const [delay, bytes] of steps) {
    if (delay > 0) await sleep(delay);
    if (ended) break;
    socket.write(bytes);
  }
  const closedAfterMs = await Promise.race([closed, sleep(limitMs).then(() => -1)]);
  socket.destroy();
  return { closedAfterMs, text };
}

describe('slow clients (issue 10)', () => {
  let backend: RawServer;
  let proxy: Proxy;
  before(async () => {
    backend = await startRawServer({ response: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' });
    proxy = await startProxy({ realServers: [backend.address], timeouts: { clientHeader: '3s', clientBody: '2s' } });
  });
  after(async () => {
    await proxy.close();
    await backend.close();
  });

  it('half a header line and one more byte 1.5 s later: 408 at 3 s, not never', async () => {
    const { closedAfterMs, text } = await trickle(proxy.port, [[0, 'GET / HTTP/1.1\r\nHost: a\r\nX-a: '], [1500, 'b']], 6000);
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.ok(closedAfterMs > 2800 && closedAfterMs < 4500, `closed after ${closedAfterMs} ms`);
  });

  it('a byte every 500 ms: 408 at 3 s from the first byte, not 6', async () => {
    const steps: Array<readonly [number, string]> = [[0, 'GET / HTTP/1.1\r\n']];
    for (let i = 0; i < 20; i++) steps.push([500, 'x']);
    const { closedAfterMs, text } = await trickle(proxy.port, steps, 8000);
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.ok(closedAfterMs > 2800 && closedAfterMs < 4500, `closed after ${closedAfterMs} ms`);
    const lines = await proxy.accessLog(2);
    assert.ok(lines.some((l) => l.status === 408 && l.termination === 'client-timeout'), JSON.stringify(lines));
  });

  it('a keep-alive client that starts its next head slowly is timed from that head\'s first byte', async () => {
    const client = await RawClient.connect(proxy.port);
    try {
      client.write('GET /first HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal((await client.response()).status, 200);
      await sleep(1000); // idle between requests: not counted against the next head
      const started = Date.now();
      client.write('GET /second HTTP/1.1\r\n');
      for (let i = 0; i < 8 && !client.closed; i++) {
        await sleep(500);
        if (!client.closed) client.write('x');
      }
      const res = await client.response({ timeoutMs: 5000 });
      assert.equal(res.status, 408);
      const took = Date.now() - started;
      assert.ok(took > 2800 && took < 4500, `408 after ${took} ms`);
    } finally {
      client.destroy();
    }
  });

  it('a request body that trickles a byte at a time is cut under timeouts.clientBody (408), though bytes keep coming', async () => {
    const steps: Array<readonly [number, string]> = [[0, 'POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n']];
    for (let i = 0; i < 40; i++) steps.push([250, 'y']);
    const { closedAfterMs, text } = await trickle(proxy.port, steps, 9000);
    assert.match(text, /^HTTP\/1\.1 408 /);
    // 2 s without 4 KiB of progress: well before the 10 s of trickling ends.
    assert.ok(closedAfterMs > 1800 && closedAfterMs < 3500, `closed after ${closedAfterMs} ms`);
  });

  it('a body that moves at a steady pace is not cut, however long it takes', async () => {
    const echo = await startRawServer({ onRequest: (req, socket) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${String(req.body.length).length}\r\n\r\n${req.body.length}`) });
    const slowProxy = await startProxy({ realServers: [echo.address], timeouts: { clientBody: '1s' } });
    try {
      const chunk = 'z'.repeat(8192);
      const total = chunk.length * 6;
      const steps: Array<readonly [number, string]> = [[0, `POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: ${total}\r\n\r\n`]];
      for (let i = 0; i < 6; i++) steps.push([600, chunk]); // 3.6 s in all, 8 KiB every 0.6 s
      const client = await RawClient.connect(slowProxy.port);
      for (const [delay, bytes] of steps) {
        if (delay > 0) await sleep(delay);
        client.write(bytes);
      }
      const res = await client.response({ timeoutMs: 5000 });
      client.destroy();
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), String(total));
    } finally {
      await slowProxy.close();
      await echo.close();
    }
  });
});
