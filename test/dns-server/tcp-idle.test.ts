// The DNS TCP idle timeout (RFC 7766 6.2.3), on a real socket: a connection that sends half a
// length prefix (or half a message, or nothing) and stops is closed by the server. Fulcrum's
// timeout is 10 s and not in the config, so this runs a DnsTcpServer in the test process, with
// the sample zone's engine and a 500 ms timeout, rather than wait 10 s on the real process.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DnsAnswerer } from '../../src/dns/answerer.ts';
import { DnsTcpServer } from '../../src/dns/tcp-server.ts';
import { buildEngine, loadGslb, sampleText } from '../dns/authority-fixture.ts';
import { frameLength, HOST, query, TcpClient } from './client.ts';
import { freeDnsPort } from './fixture.ts';

const IDLE_MS = 500;

let server: DnsTcpServer;
let port: number;

before(async () => {
  port = await freeDnsPort();
  const { engine } = buildEngine(loadGslb(sampleText()));
  server = new DnsTcpServer({ host: HOST, port }, new DnsAnswerer(engine), { idleTimeoutMs: IDLE_MS });
  await server.listen();
});

after(() => server.close());

/** Sends `bytes`, then nothing; resolves with how long the server took to close the connection (the client never closes it). */
async function stallWith(bytes: Buffer): Promise<number> {
  const client = await TcpClient.connect(port);
  if (bytes.length > 0) await client.writeRaw(bytes);
  const start = performance.now();
  await client.closed;
  return performance.now() - start;
}

describe('DNS over TCP: idle connections are closed', { concurrency: true }, () => {
  const message = query('www.surveyor.lab');
  const framed = Buffer.concat([frameLength(message.length), message]);
  const stalls: Array<[string, Buffer]> = [
    ['half a length prefix', framed.subarray(0, 1)],
    ['a prefix and half the message', framed.subarray(0, 2 + 10)],
    ['nothing at all', Buffer.alloc(0)],
  ];
  for (const [what, bytes] of stalls) {
    it(`${what}, then silence: closed by the server after the idle timeout`, async () => {
      const elapsed = await stallWith(bytes);
      // Timers fire no earlier than asked; the bound above only catches a timer that never fires.
      assert.ok(elapsed >= IDLE_MS - 20, `closed after ${elapsed.toFixed(0)} ms, before the ${IDLE_MS} ms timeout`);
      assert.ok(elapsed < IDLE_MS + 2000, `closed after ${elapsed.toFixed(0)} ms`);
    });
  }

  it('an answered query then silence: closed too (the timer counts from the last activity)', async () => {
    const client = await TcpClient.connect(port);
    const reply = await client.query(message);
    assert.equal(reply.packet.answers?.length, 1);
    const start = performance.now();
    await client.closed;
    assert.ok(performance.now() - start >= IDLE_MS - 20);
  });

  it('a connection that keeps asking more often than the timeout stays open', async () => {
    const client = await TcpClient.connect(port);
    try {
      const until = performance.now() + 2 * IDLE_MS;
      let asked = 0;
      while (performance.now() < until) {
        await client.query(query('www.surveyor.lab', { id: ++asked }));
        // Pacing, not waiting for an event: a fifth of the timeout between queries.
        await new Promise((resolve) => setTimeout(resolve, IDLE_MS / 5));
      }
      assert.equal(client.socket.destroyed, false, `open after ${asked} queries over ${2 * IDLE_MS} ms`);
    } finally {
      await client.close();
    }
  });
});
