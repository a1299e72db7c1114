import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { startBlackhole } from '../helpers/blackhole.ts';
import { freePort } from '../helpers/processes.ts';
import { closed, connectTo, readBytes, readToEnd, sha256, startRawBackend, startTcpService, tcpYaml, waitFor } from './tcp-harness.ts';

describe('tcp virtual service: streaming', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('relays both ways and spreads connections round robin', async () => {
    const a = await startRawBackend('a');
    const b = await startRawBackend('b');
    const svc = await startTcpService(tcpYaml([], [a.address, b.address]));
    cleanup.push(a.close, b.close, svc.stop);
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const socket = await connectTo(svc.port);
      seen.push((await readBytes(socket, 'line')).toString().trim());
      socket.write(`hello ${i}\n`);
      assert.equal((await readBytes(socket, 'line')).toString(), `hello ${i}\n`);
      socket.end();
      await closed(socket);
    }
    assert.deepEqual(seen, ['a', 'b', 'a', 'b']);
    assert.equal(svc.access.length, 4);
    assert.equal(svc.access[0]!.server, a.address);
    assert.equal(svc.access[0]!.bytesIn, 'hello 0\n'.length);
    assert.equal(svc.access[0]!.bytesOut, 'a\nhello 0\n'.length);
  });

  it('carries 64 MiB each way with equal checksums, under backpressure', async () => {
    const upload = randomBytes(64 * 1024 * 1024);
    // Reads everything, then answers with the checksum of what it read followed by 64 MiB of its own.
    const download = randomBytes(64 * 1024 * 1024);
    const backend = await startRawBackend('bulk', (socket) => {
      readToEnd(socket).then((data) => {
        socket.write(`${sha256(data)}\n`);
        socket.end(download);
      });
    });
    const svc = await startTcpService(tcpYaml([], [backend.address]));
    cleanup.push(backend.close, svc.stop);
    const socket = await connectTo(svc.port);
    const received = readToEnd(socket);
    socket.end(upload);
    const all = await received;
    const newline = all.indexOf(0x0a);
    assert.equal(all.subarray(0, newline).toString(), sha256(upload), 'the real server got the upload intact');
    assert.equal(sha256(all.subarray(newline + 1)), sha256(download), 'the client got the download intact');
  });

  it('passes a half-close on: the client ends, the server keeps sending', async () => {
    let serverSawEnd = false;
    const backend = await startRawBackend('half', (socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => {
        serverSawEnd = true;
        // After the client's FIN: several writes over time, then our own FIN.
        socket.write(`got ${Buffer.concat(chunks).length} bytes\n`);
        setImmediate(() => socket.end('bye\n'));
      });
    });
    const svc = await startTcpService(tcpYaml([], [backend.address]));
    cleanup.push(backend.close, svc.stop);
    const socket = await connectTo(svc.port);
    const reply = readToEnd(socket);
    socket.end('12345');
    assert.equal((await reply).toString(), 'got 5 bytes\nbye\n');
    assert.ok(serverSawEnd);
    const { hadError } = await closed(socket);
    assert.equal(hadError, false);
  });

  it('passes a half-close the other way: the server ends first, the client keeps sending', async () => {
    const got: Buffer[] = [];
    const backendDone = Promise.withResolvers<Buffer>();
    const backend = await startRawBackend('server-first', (socket) => {
      socket.end('banner and FIN\n');
      socket.on('data', (c: Buffer) => got.push(c));
      socket.on('end', () => backendDone.resolve(Buffer.concat(got)));
    });
    const svc = await startTcpService(tcpYaml([], [backend.address]));
    cleanup.push(backend.close, svc.stop);
    const socket = await connectTo(svc.port);
    const banner = readToEnd(socket);
    assert.equal((await banner).toString(), 'banner and FIN\n');
    socket.write('still ');
    socket.end('talking');
    assert.equal((await backendDone.promise).toString(), 'still talking');
  });

  it('passes a reset on as a reset', async () => {
    const backend = await startRawBackend('reset', (socket) => {
      socket.once('data', () => socket.resetAndDestroy());
    });
    const svc = await startTcpService(tcpYaml([], [backend.address]));
    cleanup.push(backend.close, svc.stop);
    const socket = await connectTo(svc.port);
    const error = once(socket, 'error');
    socket.write('x');
    const [err] = (await error) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNRESET');
    await waitFor(() => svc.access.length > 0, 'the access record');
    assert.equal(svc.access[0]!.error, 'server-reset');
  });

  it('retries a refused connection on another real server, and closes when none is left', async () => {
    const deadPort = await freePort();
    const b = await startRawBackend('b');
    const svc = await startTcpService(tcpYaml(['retries: 1'], [`127.0.0.1:${deadPort}`, b.address]));
    cleanup.push(b.close, svc.stop);
    for (let i = 0; i < 2; i++) {
      const socket = await connectTo(svc.port);
      assert.equal((await readBytes(socket, 'line')).toString(), 'b\n');
      socket.destroy();
    }
    const none = await startTcpService(tcpYaml(['retries: 0'], [`127.0.0.1:${deadPort}`]));
    cleanup.push(none.stop);
    const socket = await connectTo(none.port);
    await closed(socket);
    await waitFor(() => none.access.length === 1, 'the access record');
    assert.match(none.access[0]!.error, /ECONNREFUSED/);
  });

  it('gives up on a server that does not answer the SYN after timeouts.connect and tries the next', async () => {
    const hole = await startBlackhole();
    const b = await startRawBackend('b');
    const svc = await startTcpService(tcpYaml(['timeouts: { connect: 300ms }', 'retries: 1'], [hole.address, b.address]));
    cleanup.push(hole.close, b.close, svc.stop);
    const started = Date.now();
    const socket = await connectTo(svc.port);
    assert.equal((await readBytes(socket, 'line')).toString(), 'b\n');
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 2000, `took ${took} ms`);
    socket.destroy();
  });

  it('closes a connection idle for timeouts.idle, not one that keeps talking', async () => {
    const backend = await startRawBackend('idle');
    const svc = await startTcpService(tcpYaml(['timeouts: { idle: 400ms }'], [backend.address]));
    cleanup.push(backend.close, svc.stop);
    const quiet = await connectTo(svc.port);
    const talker = await connectTo(svc.port);
    await readBytes(quiet, 'line');
    await readBytes(talker, 'line');
    const quietClosed = closed(quiet);
    const started = Date.now();
    let talking = true;
    const chatter = (async () => {
      while (talking) {
        talker.write('.');
        await readBytes(talker, 1);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await quietClosed;
    const took = Date.now() - started;
    assert.ok(took >= 350 && took < 1500, `idle close after ${took} ms`);
    assert.equal(talker.destroyed, false, 'the talking connection stays');
    talking = false;
    await chatter;
    talker.destroy();
    assert.ok(svc.access.some((r) => r.error === 'idle'));
  });
});
