/**
 * A client that sends commands Fulcrum answers itself (AUTH in alg mode) and never reads the
 * answers must be stopped by backpressure, not buffered without bound; a client that sends
 * commands a silent server never answers is cut after MAX_UNANSWERED.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { freePort } from '../helpers/processes.ts';
import { startFtpProxy, until, type FtpProxy } from './harness.ts';

async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.write('220 ready\r\n');
    s.resume(); // reads commands, answers none
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('ftp alg: clients that flood the control connection', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  async function proxyTo(serverPort: number): Promise<FtpProxy> {
    const passive = await freePort();
    return startFtpProxy(`    ftp: { mode: alg, passivePorts: ${passive}-${passive} }\n    realServers: [ { address: 127.0.0.1:${serverPort} } ]\n`);
  }

  it('stops reading a client that sends AUTH without reading the 534 answers (backpressure, not memory)', async () => {
    const server = await silentServer();
    const proxy = await proxyTo(server.port);
    cleanup.push(server.close, proxy.close);
    const client = net.connect(proxy.port, '127.0.0.1');
    client.on('error', () => {});
    await once(client, 'data'); // the greeting
    client.pause(); // never read again
    const chunk = Buffer.from('AUTH TLS\r\n'.repeat(6500));
    let sent = 0;
    // Write until the kernel buffers on both sides are full and Fulcrum has stopped reading:
    // without backpressure every write would drain (Fulcrum reads on and buffers the answers).
    while (sent < 64 * 1024 * 1024) {
      sent += chunk.length;
      if (!client.write(chunk)) {
        const drained = await Promise.race([once(client, 'drain').then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 1500))]);
        if (!drained) break;
      }
    }
    assert.ok(sent < 64 * 1024 * 1024, `Fulcrum kept reading ${sent} bytes of commands from a client that reads nothing`);
    client.destroy();
  });

  it('closes a control connection with 421 past 1000 commands the server has not answered', async () => {
    const server = await silentServer();
    const proxy = await proxyTo(server.port);
    cleanup.push(server.close, proxy.close);
    const client = net.connect(proxy.port, '127.0.0.1');
    client.on('error', () => {});
    const received: Buffer[] = [];
    client.on('data', (c: Buffer) => received.push(c));
    await once(client, 'data');
    client.write('NOOP\r\n'.repeat(1100));
    await once(client, 'close');
    assert.match(Buffer.concat(received).toString(), /421 Too many commands without an answer/);
    await until(() => proxy.access.length === 1, 2000, 'the line');
    assert.deepEqual(
      proxy.access.map((r) => [r.termination, r.error]),
      [['client-bad-request', 'answered 421 Too many commands without an answer; closing the control connection']],
    );
  });
});
