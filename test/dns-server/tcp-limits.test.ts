// The limits that keep a few hostile TCP clients from taking DNS over TCP away from everyone,
// on real sockets against a DnsTcpServer in the test process (short timeouts, a small
// connection cap): trickled bytes do not keep a connection alive, the connection idle longest
// makes room for a new one, and a client that does not read its answers stops being answered
// (its queries wait in the kernel, not in the worker's memory) until it reads again.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DnsAnswerer } from '../../src/dns/answerer.ts';
import { DnsTcpServer } from '../../src/dns/tcp-server.ts';
import { buildEngine, loadGslb, sampleText } from '../dns/authority-fixture.ts';
import { frameLength, HOST, query, TcpClient } from './client.ts';
import { freeDnsPort } from './fixture.ts';

const IDLE_MS = 500;
const BIG_TXT = 'x'.repeat(3000);

let server: DnsTcpServer;
let answerer: DnsAnswerer;
let port: number;

before(async () => {
  port = await freeDnsPort();
  const text = sampleText().replace(/(- \{ name: "@", type: TXT, value: "v=spf1 mx -all" \})/, `$1\n        - { name: big, type: TXT, value: "${BIG_TXT}" }`);
  answerer = new DnsAnswerer(buildEngine(loadGslb(text)).engine);
  server = new DnsTcpServer({ host: HOST, port }, answerer, { idleTimeoutMs: IDLE_MS, maxConnections: 3 });
  await server.listen();
});

after(() => server.close());

function framed(message: Buffer): Buffer {
  return Buffer.concat([frameLength(message.length), message]);
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('DNS over TCP: limits', () => {
  it('a message trickled a byte at a time is cut off: bytes alone do not keep a connection alive', async () => {
    const client = await TcpClient.connect(port);
    const bytes = framed(query('www.surveyor.lab'));
    let sent = 0;
    const trickle = setInterval(() => {
      if (!client.socket.destroyed && sent < bytes.length - 1) void client.writeRaw(bytes.subarray(sent, ++sent));
    }, IDLE_MS / 5);
    const start = performance.now();
    try {
      await client.closed;
    } finally {
      clearInterval(trickle);
    }
    const elapsed = performance.now() - start;
    assert.ok(sent > 5 && sent < bytes.length - 1, `${sent} of ${bytes.length} bytes trickled before the close`);
    assert.ok(elapsed < 3 * IDLE_MS, `closed after ${elapsed.toFixed(0)} ms of trickling`);
  });

  it('at the connection cap, a new connection closes the one idle longest at once and is answered', async () => {
    const oldest = await TcpClient.connect(port);
    await oldest.query(query('www.surveyor.lab'));
    const others = [await TcpClient.connect(port), await TcpClient.connect(port)];
    for (const other of others) await other.query(query('mail.surveyor.lab'));
    await until(() => server.connectionCount === 3, 2000, 'three connections');
    const newcomer = await TcpClient.connect(port);
    try {
      const reply = await newcomer.query(query('www.surveyor.lab'));
      assert.equal(reply.packet.answers?.length, 1);
      // Long before the idle timeout could have closed it.
      const closedInTime = await Promise.race([oldest.closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), IDLE_MS / 5))]);
      assert.equal(closedInTime, true, 'the connection idle longest was closed to make room');
      for (const other of others) assert.equal(other.socket.destroyed, false, 'the more recently active connections stay');
    } finally {
      await Promise.all([newcomer.close(), ...others.map((o) => o.close())]);
    }
  });

  it('a client that does not read its answers stops being answered until it reads, then gets every answer in order', async () => {
    const total = 20_000;
    const socket: Socket = connect(port, HOST);
    socket.pause();
    await new Promise((resolve) => socket.once('connect', resolve));
    const before = answerer.queries;
    const queries = Array.from({ length: total }, (_, i) => framed(query('big.surveyor.lab', { type: 'TXT', id: (i % 65535) + 1 })));
    socket.write(Buffer.concat(queries));
    // The answers (60 MB) are far more than the kernel buffers on both sides hold: a server that
    // ignores backpressure answers all of them into its own memory at once.
    let last = -1;
    await until(
      () => {
        const now = answerer.queries - before;
        const settled = now === last;
        last = now;
        return settled && now > 0;
      },
      10_000,
      'the server to stop answering',
    );
    assert.ok(answerer.queries - before < total, `answered ${answerer.queries - before} of ${total} while the client read nothing`);
    // What the worker holds for it: at most one read of queries, the stream's high-water mark
    // and the answer that crossed it; not the answers to every query it has read.
    assert.ok(server.bufferedBytes < 256 * 1024, `${server.bufferedBytes} bytes buffered in the server for a client that does not read`);
    let received = Buffer.alloc(0);
    let answers = 0;
    let ids: number[] = [];
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        const length = received.readUInt16BE(0);
        ids.push(received.readUInt16BE(2));
        received = received.subarray(2 + length);
        answers++;
      }
      if (ids.length > 1000) ids = ids.slice(-1);
    });
    socket.resume();
    await until(() => answers === total, 20_000, 'every answer');
    assert.equal(answerer.queries - before, total);
    assert.equal(ids.at(-1), ((total - 1) % 65535) + 1, 'the last answer is the last query');
    socket.destroy();
  });
});
