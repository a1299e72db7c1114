// An HTTP virtual service with acceptProxyProtocol: the client address a PROXY header (v1 or v2)
// carries is the one the engine uses (X-Forwarded-For, Forwarded, source-ip-hash, access log);
// a connection without a valid header is closed without an answer and logged.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { EngineContext } from '../../src/worker/engine-context.ts';
import { Listener } from '../../src/frontend/http-listener.ts';
import { serviceOf } from '../helpers/service.ts';
import type { AccessRecord } from '../../src/log/access-log.ts';
import { encodeProxyV1, encodeProxyV2 } from '../../src/proxy-protocol/encode.ts';
import { startBackends, type Backends, type EchoReply } from '../helpers/backends.ts';
import { freePort } from '../helpers/processes.ts';

interface LoggedEvent {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

function serviceConfig(port: number, backends: Backends, extra: Record<string, unknown>): Config {
  const text = stringify({
    accessLog: 'off',
    virtualServices: [
      {
        name: 'web',
        listen: `127.0.0.1:${port}`,
        protocol: 'http',
        forwardedHeaders: { forwarded: true },
        realServers: backends.servers.map((b) => ({ address: b.address })),
        ...extra,
      },
    ],
  });
  const loaded = loadConfigText(text, 'test.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.config;
}

const VIP = { address: '198.51.100.1', port: 80 };
const request = (path = '/echo'): Buffer => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n`);

/** Connect, write `parts` (with `gapMs` between them, so they arrive as separate reads), read until the proxy closes. */
async function exchange(port: number, parts: Buffer[], gapMs = 0): Promise<Buffer> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  // Not once(): it rejects on 'error', and a reset is one way the proxy may close.
  const closed = new Promise((resolve) => socket.on('close', resolve));
  await once(socket, 'connect');
  // A proxy that never answers nor closes fails the test's assertions instead of hanging it.
  const timer = setTimeout(() => socket.destroy(), 3000);
  for (const [i, part] of parts.entries()) {
    // No event tells the client that the proxy has read a piece: a short gap makes separate reads likely.
    if (i > 0 && gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    socket.write(part);
  }
  await closed;
  clearTimeout(timer);
  return Buffer.concat(chunks);
}

/** The bodies of every response in a closed stream (Content-Length framed, as the echo backend answers). */
function bodies(raw: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', at);
    assert.ok(headEnd > 0, `incomplete response: ${JSON.stringify(raw.toString('latin1', at))}`);
    const head = raw.toString('latin1', at, headEnd);
    assert.match(head, /^HTTP\/1\.1 200 /, head);
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1]);
    out.push(raw.toString('utf8', headEnd + 4, headEnd + 4 + length));
    at = headEnd + 4 + length;
  }
  return out;
}

/** Nothing emits an event when the listener's count changes: poll it, for at most 2 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, 'condition not met within 2 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function echoOf(raw: Buffer): EchoReply {
  const all = bodies(raw);
  assert.equal(all.length, 1);
  return JSON.parse(all[0]!) as EchoReply;
}

describe('HTTP virtual service with acceptProxyProtocol', () => {
  let backends: Backends;
  let listener: Listener;
  let port: number;
  let ctx: EngineContext;
  const access: AccessRecord[] = [];
  const events: LoggedEvent[] = [];
  const sink = (level: string, message: string, fields: Record<string, unknown>): void => {
    events.push({ level, message, fields });
  };

  before(async () => {
    backends = await startBackends(2);
    port = await freePort();
    ctx = new EngineContext();
    ctx.accessLog = { log: (r) => access.push(r), logConnection: () => {}, close: async () => {} };
    listener = new Listener(serviceOf(serviceConfig(port, backends, { acceptProxyProtocol: true }), null, sink, undefined, ctx), {
      ctx,
      events: sink,
      worker: { index: 0, count: 1 },
    });
    await listener.listen();
  });

  after(async () => {
    const closed = listener.close();
    listener.destroyAll();
    await closed;
    listener.service.pool.retire();
    await backends.close();
  });

  it('takes the client address from a v1 header sent with the request in one write', async () => {
    access.length = 0;
    const header = encodeProxyV1({ address: '203.0.113.7', port: 5555 }, VIP);
    const echo = echoOf(await exchange(port, [Buffer.concat([header, request()])]));
    assert.equal(echo.headers['x-forwarded-for'], '203.0.113.7');
    assert.equal(echo.headers['forwarded'], 'for=203.0.113.7;host=www.example.com;proto=http');
    assert.equal(access.length, 1);
    assert.equal(access[0]!.client, '203.0.113.7');
    assert.equal(access[0]!.status, 200);
    assert.equal(access[0]!.path, '/echo');
  });

  it('takes the client address from a v2 header (IPv6), sent before the request', async () => {
    access.length = 0;
    const header = encodeProxyV2({ address: '2001:db8::42', port: 40000 }, { address: '2001:db8::1', port: 443 });
    const echo = echoOf(await exchange(port, [header, request()], 20));
    assert.equal(echo.headers['x-forwarded-for'], '2001:db8::42');
    assert.equal(echo.headers['forwarded'], 'for="[2001:db8::42]";host=www.example.com;proto=http');
    assert.equal(access[0]!.client, '2001:db8::42');
  });

  it('reads a header split across several TCP writes', async () => {
    access.length = 0;
    for (const header of [encodeProxyV1({ address: '192.0.2.10', port: 1 }, VIP), encodeProxyV2({ address: '192.0.2.11', port: 1 }, VIP)]) {
      const parts = [header.subarray(0, 3), header.subarray(3, 14), header.subarray(14), request()];
      const echo = echoOf(await exchange(port, parts, 20));
      assert.equal(echo.headers['x-forwarded-for'], header[0] === 0x50 ? '192.0.2.10' : '192.0.2.11');
    }
    assert.deepEqual(
      access.map((r) => r.client),
      ['192.0.2.10', '192.0.2.11'],
    );
  });

  it('serves pipelined requests that came in the same read as the header', async () => {
    const header = encodeProxyV2({ address: '203.0.113.8', port: 1 }, VIP);
    const keepAlive = Buffer.from('GET /echo HTTP/1.1\r\nHost: a\r\n\r\n');
    const raw = await exchange(port, [Buffer.concat([header, keepAlive, request()])]);
    const replies = bodies(raw).map((b) => JSON.parse(b) as EchoReply);
    assert.equal(replies.length, 2);
    for (const r of replies) assert.equal(r.headers['x-forwarded-for'], '203.0.113.8');
  });

  it('writes an IPv4-mapped header address as IPv4, as it does for its own sockets', async () => {
    const header = encodeProxyV1({ address: '::ffff:203.0.113.9', port: 1 }, { address: '2001:db8::1', port: 80 });
    assert.match(header.toString(), /^PROXY TCP6 ::ffff:203\.0\.113\.9 /);
    const echo = echoOf(await exchange(port, [Buffer.concat([header, request()])]));
    assert.equal(echo.headers['x-forwarded-for'], '203.0.113.9');
  });

  it('keeps the connection\'s own address for LOCAL (v2) and UNKNOWN (v1) headers', async () => {
    const local = Buffer.from('0d0a0d0a000d0a515549540a20000000', 'hex');
    for (const header of [local, Buffer.from('PROXY UNKNOWN\r\n')]) {
      const echo = echoOf(await exchange(port, [Buffer.concat([header, request()])]));
      assert.equal(echo.headers['x-forwarded-for'], '127.0.0.1');
    }
  });

  it('closes a connection without a valid header without a response, and logs why', async () => {
    access.length = 0;
    events.length = 0;
    const raw = await exchange(port, [request('/')]);
    assert.equal(raw.length, 0);
    assert.equal(access.length, 0);
    assert.equal(events.length, 1);
    const [event] = events;
    assert.equal(event!.level, 'warn');
    assert.match(event!.message, /^connection from 127\.0\.0\.1:\d+ to "web" closed: not a PROXY protocol header: starts with "GET \/"$/);
    assert.deepEqual(event!.fields, { virtualService: 'web', client: '127.0.0.1', event: 'proxy-protocol-error' });

    events.length = 0;
    const bad = Buffer.from('PROXY TCP4 203.0.113.7 198.51.100.1 080 80\r\n');
    assert.equal((await exchange(port, [Buffer.concat([bad, request()])])).length, 0);
    assert.match(events[0]!.message, /closed: PROXY v1 header with an invalid source port "080"/);
  });

  it('schedules source-ip-hash on the header\'s address', async () => {
    listener.update(serviceOf(serviceConfig(port, backends, { acceptProxyProtocol: true, scheduler: 'source-ip-hash' }), listener.service, sink, undefined, ctx));
    // Two addresses the scheduler sends to different real servers: whichever the proxy used, one would fail.
    const target = (address: string): string => listener.service.pool.pickUnpersisted({ clientAddress: address, exclude: null })!.id;
    const candidates = Array.from({ length: 50 }, (_, i) => `203.0.113.${i + 1}`);
    const first = candidates[0]!;
    const other = candidates.find((a) => target(a) !== target(first));
    assert.ok(other !== undefined, 'the hash spreads 50 addresses over both servers');
    for (const address of [first, other]) {
      const echo = echoOf(await exchange(port, [Buffer.concat([encodeProxyV1({ address, port: 1 }, VIP), request()])]));
      const expected = backends.servers.find((b) => b.address === target(address))!.name;
      assert.equal(echo.name, expected, address);
    }
  });

  it('reads the setting at each connection: a reload turns it off', async () => {
    listener.update(serviceOf(serviceConfig(port, backends, { acceptProxyProtocol: false }), listener.service, sink, undefined, ctx));
    try {
      const echo = echoOf(await exchange(port, [request()]));
      assert.equal(echo.headers['x-forwarded-for'], '127.0.0.1');
    } finally {
      listener.update(serviceOf(serviceConfig(port, backends, { acceptProxyProtocol: true }), listener.service, sink, undefined, ctx));
    }
    const echo = echoOf(await exchange(port, [Buffer.concat([encodeProxyV1({ address: '203.0.113.7', port: 1 }, VIP), request()])]));
    assert.equal(echo.headers['x-forwarded-for'], '203.0.113.7');
  });

  it('counts a connection still owing its header, and drain closes it without blaming the client', async () => {
    // Earlier clients may not be gone from the proxy's side yet (their close crosses ours).
    await until(() => listener.connectionCount === 0);
    events.length = 0;
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const closed = new Promise((resolve) => socket.on('close', resolve));
    await once(socket, 'connect');
    socket.write('PROXY TCP4 ');
    await until(() => listener.connectionCount === 1);
    listener.drain();
    await closed;
    assert.equal(listener.connectionCount, 0);
    assert.deepEqual(events, []);
  });
});
