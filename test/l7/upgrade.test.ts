// Upgrade (WebSocket-style): the 101 is relayed, then bytes flow both ways untouched.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startRawServer, type RawServer } from '../helpers/backends.ts';
import { listenLocal, parseAll, parseResponse, rawExchange, RawClient, sleep, startProxy, type Proxy } from './harness.ts';

const UPGRADE_HEAD =
  'GET /chat HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/** Read from `socket` until `n` bytes arrived (or it closes, or 5 s pass). */
function readBytes(socket: net.Socket, n: number, initial: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [initial];
    let have = initial.length;
    const finish = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', finish);
      resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      have += chunk.length;
      if (have >= n) finish();
    };
    const timer = setTimeout(finish, 5000);
    if (have >= n) return finish();
    socket.on('data', onData);
    socket.on('close', finish);
  });
}

/** Connect, send the upgrade request, and return the socket with whatever followed the 101 head. */
async function upgrade(port: number): Promise<{ socket: net.Socket; head: string; rest: Buffer }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(UPGRADE_HEAD);
  let buf = Buffer.alloc(0);
  while (buf.indexOf('\r\n\r\n') < 0) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    buf = Buffer.concat([buf, chunk]);
  }
  const end = buf.indexOf('\r\n\r\n') + 4;
  return { socket, head: buf.toString('latin1', 0, end), rest: buf.subarray(end) };
}

describe('Upgrade tunnelling', () => {
  let real: http.Server;
  let proxy: Proxy;
  let seenUpgradeHeaders: http.IncomingHttpHeaders = {};
  let serverSawEnd = false;

  before(async () => {
    real = http.createServer((req, res) => {
      // No upgrade handler for /plain: the server declines by answering normally.
      res.end(`plain ${req.url} upgrade=${req.headers.upgrade ?? '-'}`);
    });
    real.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      if (req.url === '/plain') {
        socket.end('HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      seenUpgradeHeaders = req.headers;
      // The greeting leaves in the same write as the 101: the proxy must pass both.
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nHELLO');
      if (head.length > 0) socket.write(head);
      socket.on('data', (chunk: Buffer) => socket.write(chunk)); // echo
      socket.on('end', () => {
        serverSawEnd = true;
        socket.end();
      });
      socket.on('error', () => {});
    });
    proxy = await startProxy({ realServers: [await listenLocal(real)], timeouts: { clientIdle: '300ms', response: '500ms' } });
  });
  after(async () => {
    await proxy.close();
    real.closeAllConnections();
    real.close();
  });

  it('relays the 101 with Upgrade and Connection: upgrade, then tunnels bytes both ways', async () => {
    const { socket, head, rest } = await upgrade(proxy.port);
    try {
      assert.match(head, /^HTTP\/1\.1 101 /);
      assert.match(head, /\r\nUpgrade: websocket\r\n/i);
      assert.match(head, /\r\nConnection: upgrade\r\n/i);
      assert.match(head, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
      assert.equal(seenUpgradeHeaders.upgrade, 'websocket');
      assert.match(String(seenUpgradeHeaders.connection), /upgrade/i);
      assert.equal(seenUpgradeHeaders['sec-websocket-key'], 'dGhlIHNhbXBsZSBub25jZQ==');
      const greeting = await readBytes(socket, 5, rest);
      assert.equal(greeting.toString(), 'HELLO');

      // 2 MiB of binary (including CRLFs and bytes that look like HTTP) echoed back byte-identical.
      const blob = Buffer.concat([Buffer.from('GET / HTTP/1.1\r\n\r\n'), randomBytes(2 * 1024 * 1024)]);
      socket.write(blob);
      const echoed = await readBytes(socket, blob.length);
      assert.equal(echoed.length, blob.length);
      assert.equal(createHash('sha256').update(echoed).digest('hex'), createHash('sha256').update(blob).digest('hex'));

      // Half-close travels through: our FIN reaches the server, its FIN comes back.
      serverSawEnd = false;
      socket.end();
      await once(socket, 'close');
      assert.equal(serverSawEnd, true);
    } finally {
      socket.destroy();
    }
  });

  it('a tunnel outlives timeouts.clientIdle and timeouts.response while idle', async () => {
    const { socket, rest } = await upgrade(proxy.port);
    try {
      await readBytes(socket, 5, rest);
      await sleep(1000); // > clientIdle 300ms and response 500ms
      assert.equal(socket.destroyed, false);
      socket.write('still there?');
      assert.equal((await readBytes(socket, 12)).toString(), 'still there?');
    } finally {
      socket.destroy();
    }
  });

  it('a tunnel survives a config reload (the reload changes only the next requests)', async () => {
    const { socket, rest } = await upgrade(proxy.port);
    try {
      await readBytes(socket, 5, rest);
      await proxy.reapply({ realServers: [`127.0.0.1:${(real.address() as net.AddressInfo).port}`], retries: 2, timeouts: { clientIdle: '300ms' } });
      socket.write('after reload');
      assert.equal((await readBytes(socket, 12)).toString(), 'after reload');
    } finally {
      socket.destroy();
    }
  });

  it('a declined upgrade is an ordinary response', async () => {
    const r = await rawExchange(proxy.port, UPGRADE_HEAD.replace('/chat', '/plain'));
    const [res] = parseAll(r.bytes);
    assert.equal(res?.status, 426);
  });

  it('Upgrade without Connection: upgrade is not an upgrade: the Upgrade field is dropped', async () => {
    const client = await RawClient.connect(proxy.port);
    try {
      client.write('GET /plain HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n');
      const res = await client.response();
      assert.equal(res.body.toString(), 'plain /plain upgrade=-');
    } finally {
      client.destroy();
    }
  });
});

describe('a 101 the client did not ask for', () => {
  let raw: RawServer;
  let proxy: Proxy;
  before(async () => {
    raw = await startRawServer({ response: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n' });
    proxy = await startProxy({ realServers: [raw.address] });
  });
  after(async () => {
    await proxy.close();
    await raw.close();
  });

  it('is refused with 502, never tunnelled', async () => {
    const r = await rawExchange(proxy.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { timeoutMs: 1000 });
    const res = parseResponse(r.bytes, 0, false, r.closed);
    assert.equal(res?.status, 502);
    assert.match(res?.body.toString() ?? '', /the real server sent an invalid response/);
    const [line] = await proxy.accessLog(1);
    assert.equal(line?.error, 'real server switched protocols without an upgrade request');
    assert.equal(line?.termination, 'upstream-malformed-response');
  });
});
