// acceptProxyHeader on real sockets (one write, garbage, timeouts, early close) and on a socket
// fed by hand, to split the header at every byte offset deterministically.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { acceptProxyHeader, type AcceptResult } from '../../src/proxy-protocol/accept.ts';
import { encodeProxyV1, encodeProxyV2 } from '../../src/proxy-protocol/encode.ts';
import { ipv6Block, tlv, v2 } from './helpers.ts';

const V1 = encodeProxyV1({ address: '203.0.113.7', port: 5555 }, { address: '198.51.100.1', port: 80 });
const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n');

/** A server whose accepted sockets go through acceptProxyHeader; `next()` gives the next result. */
class Acceptor {
  readonly server: net.Server;
  readonly results: Array<{ result: AcceptResult; socket: net.Socket; calls: () => number }> = [];
  #waiters: Array<() => void> = [];
  timeoutMs = 2000;

  constructor() {
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => {
      let calls = 0;
      acceptProxyHeader(socket, this.timeoutMs, (result) => {
        calls++;
        this.results.push({ result, socket, calls: () => calls });
        this.#waiters.shift()?.();
      });
    });
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as net.AddressInfo).port;
  }

  async next(): Promise<{ result: AcceptResult; socket: net.Socket; calls: () => number }> {
    if (this.results.length === 0) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    return this.results.shift()!;
  }
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

describe('acceptProxyHeader on real sockets', () => {
  const acceptor = new Acceptor();
  let port = 0;
  before(async () => {
    port = await acceptor.listen();
  });
  after(() => acceptor.server.close());

  it('hands over header and the bytes after it, the socket paused and without its listener', async () => {
    const client = await connect(port);
    client.write(Buffer.concat([V1, REQUEST]));
    const { result, socket } = await acceptor.next();
    assert.ok(result.ok);
    assert.deepEqual(result.header.source, { address: '203.0.113.7', port: 5555 });
    assert.deepEqual(result.rest, REQUEST);
    assert.equal(socket.isPaused(), true);
    assert.equal(socket.listenerCount('data'), 0);
    // Bytes sent while nobody listens wait for the next owner.
    client.end('more');
    await new Promise((resolve) => setImmediate(resolve));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.resume();
    await once(socket, 'end');
    assert.equal(Buffer.concat(chunks).toString(), 'more');
    socket.destroy();
  });

  it('gives rest null when the header came alone', async () => {
    const client = await connect(port);
    client.write(encodeProxyV2({ address: '2001:db8::1', port: 1 }, { address: '2001:db8::2', port: 2 }));
    const { result, socket } = await acceptor.next();
    assert.ok(result.ok);
    assert.equal(result.rest, null);
    assert.deepEqual(result.header.source, { address: '2001:db8::1', port: 1 });
    socket.destroy();
    client.destroy();
  });

  it('refuses an HTTP request at once, closing the connection without a byte', async () => {
    const client = await connect(port);
    const received: Buffer[] = [];
    client.on('data', (c: Buffer) => received.push(c));
    const closed = once(client, 'close');
    client.write(REQUEST);
    const { result, calls } = await acceptor.next();
    assert.deepEqual(result, { ok: false, reason: 'not a PROXY protocol header: starts with "GET /"' });
    await closed;
    assert.equal(Buffer.concat(received).length, 0);
    assert.equal(calls(), 1);
  });

  it('refuses an unsupported v2 family with the byte in the reason', async () => {
    const client = await connect(port);
    client.write(v2(0x21, 0x41, Buffer.alloc(12)));
    const { result } = await acceptor.next();
    assert.deepEqual(result, { ok: false, reason: 'PROXY v2 header with an unsupported address family 0x41' });
    await once(client, 'close');
  });

  it('gives up after the timeout, with nothing or with part of a header', async () => {
    acceptor.timeoutMs = 150;
    try {
      const silent = await connect(port);
      const first = await acceptor.next();
      assert.deepEqual(first.result, { ok: false, reason: 'no PROXY header within 150 ms' });
      await once(silent, 'close');
      const slow = await connect(port);
      slow.write('PROXY TCP4');
      const second = await acceptor.next();
      assert.deepEqual(second.result, { ok: false, reason: 'no complete PROXY header within 150 ms (got 10 bytes)' });
      await once(slow, 'close');
      assert.equal(second.calls(), 1);
    } finally {
      acceptor.timeoutMs = 2000;
    }
  });

  it('reports a client that closes before the header is whole', async () => {
    const client = await connect(port);
    client.end('PROXY TCP4 1.2.3.4');
    const { result } = await acceptor.next();
    assert.deepEqual(result, { ok: false, reason: 'client closed the connection before a complete PROXY header (got 18 bytes)' });
    const quiet = await connect(port);
    quiet.end();
    assert.deepEqual((await acceptor.next()).result, { ok: false, reason: 'client closed the connection before sending a PROXY header' });
  });

  it('reports a reset', async () => {
    const client = await connect(port);
    client.write('PROX');
    client.resetAndDestroy();
    const { result } = await acceptor.next();
    assert.equal(result.ok, false);
    assert.match((result as { reason: string }).reason, /ECONNRESET|client closed the connection/);
  });
});

describe('acceptProxyHeader, fed by hand', () => {
  /** An unconnected socket we emit 'data' on: the split points are exactly ours. */
  function feed(pieces: Buffer[]): AcceptResult[] {
    const socket = new net.Socket();
    const results: AcceptResult[] = [];
    acceptProxyHeader(socket, 60_000, (r) => results.push(r));
    for (const p of pieces) {
      if (results.length > 0) break;
      socket.emit('data', p);
    }
    if (results.length === 0) socket.destroy();
    return results;
  }

  const headers = [
    V1,
    Buffer.from('PROXY UNKNOWN\r\n'),
    encodeProxyV2({ address: '10.0.0.1', port: 1 }, { address: '10.0.0.2', port: 2 }),
    v2(0x21, 0x21, Buffer.concat([ipv6Block(Buffer.alloc(16, 0x20), Buffer.alloc(16, 0x30), 7, 8), tlv(0x05, Buffer.alloc(40, 1))])),
    v2(0x20, 0x00, Buffer.alloc(0)),
  ];

  it('gets the same header and rest at every split into two and three reads', () => {
    for (const header of headers) {
      const stream = Buffer.concat([header, REQUEST]);
      const whole = feed([stream]);
      assert.equal(whole.length, 1);
      assert.ok(whole[0]!.ok);
      for (let a = 1; a < stream.length; a++) {
        for (const b of a < header.length ? [a + 1, header.length, stream.length] : [stream.length]) {
          const pieces = [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)].filter((p) => p.length > 0);
          const got = feed(pieces);
          assert.equal(got.length, 1, `split at ${a}/${b}`);
          const r = got[0]!;
          assert.ok(r.ok);
          assert.deepEqual(r.header, (whole[0] as { header: unknown }).header);
          // What came after the header in the read that completed it; later reads stay in the socket.
          const completing = pieces.findIndex((_, i) => pieces.slice(0, i + 1).reduce((n, p) => n + p.length, 0) >= header.length);
          const readSoFar = Buffer.concat(pieces.slice(0, completing + 1));
          const rest = readSoFar.subarray(header.length);
          assert.deepEqual(r.rest, rest.length === 0 ? null : rest, `split at ${a}/${b}`);
        }
      }
    }
  });

  it('gets the header one byte at a time', () => {
    for (const header of headers) {
      const got = feed([...header].map((b) => Buffer.from([b])));
      assert.equal(got.length, 1);
      assert.ok(got[0]!.ok);
      assert.equal(got[0]!.rest, null);
    }
  });

  it('calls done once, on the first wrong byte, however much follows', () => {
    const socket = new net.Socket();
    const results: AcceptResult[] = [];
    acceptProxyHeader(socket, 60_000, (r) => results.push(r));
    socket.emit('data', Buffer.from('PROXY TCP4 1.2.3.4 '));
    assert.equal(results.length, 0);
    socket.emit('data', Buffer.from('x'));
    assert.equal(results.length, 1);
    assert.match((results[0] as { reason: string }).reason, /invalid destination address "x"/);
    socket.emit('data', Buffer.from('more'));
    socket.emit('close');
    assert.equal(results.length, 1);
    assert.equal(socket.destroyed, true);
  });
});
