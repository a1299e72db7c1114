import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import { startFtpServer } from '../helpers/ftp-server.ts';
import { freePort, teardown } from '../helpers/processes.ts';
import { FtpClient, download, passiveRangeBase, startFtpProxy, until } from './harness.ts';

// The passive ports Fulcrum announces: only the client of the session may connect (port theft and
// bounce protection), a worker announces only its own share of the range, and a range that runs
// out answers 425 rather than a port nobody listens on.

describe('ftp alg mode: passive ports', () => {
  it('refuses a data connection from another address than the client, and still serves the client', async () => {
    const server = await startFtpServer();
    server.files.set('secret.txt', Buffer.from('only for the client'));
    const first = await freePort();
    const proxy = await startFtpProxy(`    ftp: { mode: alg, passivePorts: ${first}-${first} }\n    realServers: [ { address: ${server.address} } ]\n`);
    const client = await FtpClient.connect(proxy.port);
    try {
      await client.login();
      const pasv = await client.pasv();
      // A thief on another loopback address races the client to the announced port.
      const thief = net.connect({ host: pasv.host, port: pasv.port, localAddress: '127.0.0.2' });
      thief.on('error', () => {});
      const stolen: Buffer[] = [];
      thief.on('data', (c: Buffer) => stolen.push(c));
      await once(thief, 'close');
      await until(() => proxy.events.some((e) => e.fields.event === 'ftp-data-refused'), 2000, 'the refusal event');
      const refusal = proxy.events.find((e) => e.fields.event === 'ftp-data-refused')!;
      assert.match(refusal.message, /from 127\.0\.0\.2/);
      assert.equal(refusal.fields.client, '127.0.0.1');
      const data = download(pasv.host, pasv.port);
      assert.equal((await client.send('RETR secret.txt')).code, 150);
      assert.equal((await client.reply()).code, 226);
      assert.equal((await data).toString(), 'only for the client');
      assert.equal(Buffer.concat(stolen).length, 0);
      assert.equal(server.dataConnections.length, 1);
    } finally {
      await client.quit();
      await teardown(() => proxy.close(), () => server.close());
    }
  });

  it('answers 425 when every passive port of the range waits for a client already', async () => {
    const server = await startFtpServer();
    const first = await freePort();
    const proxy = await startFtpProxy(`    ftp: { mode: alg, passivePorts: ${first}-${first} }\n    realServers: [ { address: ${server.address} } ]\n`);
    const a = await FtpClient.connect(proxy.port);
    const b = await FtpClient.connect(proxy.port);
    try {
      await a.login();
      await b.login();
      const pasv = await a.pasv();
      assert.equal(pasv.port, first);
      const refused = await b.send('PASV');
      assert.equal(refused.code, 425);
      assert.match(refused.text, /no free passive port/);
      assert.ok(proxy.events.some((e) => e.fields.event === 'ftp-passive-exhausted'));
      // Once a's port has been used, it is free again for b.
      server.files.set('x', Buffer.from('x'));
      const data = download(pasv.host, pasv.port);
      assert.equal((await a.send('RETR x')).code, 150);
      assert.equal((await a.reply()).code, 226);
      await data;
      const again = await b.pasv();
      assert.equal(again.port, first);
    } finally {
      await a.quit();
      await b.quit();
      await teardown(() => proxy.close(), () => server.close());
    }
  });

  it('a second PASV frees the port of the first, which nobody used', async () => {
    const server = await startFtpServer();
    const first = await freePort();
    const proxy = await startFtpProxy(`    ftp: { mode: alg, passivePorts: ${first}-${first} }\n    realServers: [ { address: ${server.address} } ]\n`);
    const client = await FtpClient.connect(proxy.port);
    try {
      await client.login();
      assert.equal((await client.pasv()).port, first);
      assert.equal((await client.pasv()).port, first);
      assert.equal((await client.epsv()), first);
    } finally {
      await client.quit();
      await teardown(() => proxy.close(), () => server.close());
    }
  });

  it('worker 1 of 2 announces only its own ports: (port - first) % 2 == 1', async () => {
    const server = await startFtpServer();
    const first = passiveRangeBase();
    const proxy = await startFtpProxy(`    ftp: { mode: alg, passivePorts: ${first}-${first + 5} }\n    realServers: [ { address: ${server.address} } ]\n`, { index: 1, count: 2 });
    const clients: FtpClient[] = [];
    try {
      const ports: number[] = [];
      // Three sessions each hold a port (none is used), so the share of three is dealt out in full.
      for (let i = 0; i < 3; i++) {
        const c = await FtpClient.connect(proxy.port);
        clients.push(c);
        await c.login();
        ports.push((await c.pasv()).port);
      }
      assert.deepEqual(ports.sort((x, y) => x - y), [first + 1, first + 3, first + 5]);
      assert.equal((await clients[0]!.send('PASV')).code, 227, 'a session may move to another of its ports');
      const extra = await FtpClient.connect(proxy.port);
      clients.push(extra);
      await extra.login();
      assert.equal((await extra.send('PASV')).code, 425);
    } finally {
      for (const c of clients) await c.quit();
      await teardown(() => proxy.close(), () => server.close());
    }
  });

  it('a worker whose share of the range is empty says so, and answers PASV with 425', async () => {
    const server = await startFtpServer();
    const first = await freePort();
    const proxy = await startFtpProxy(`    ftp: { mode: alg, passivePorts: ${first}-${first} }\n    realServers: [ { address: ${server.address} } ]\n`, { index: 1, count: 2 });
    const client = await FtpClient.connect(proxy.port);
    try {
      assert.ok(proxy.events.some((e) => e.fields.event === 'ftp-passive-share-empty'));
      await client.login();
      assert.equal((await client.send('EPSV')).code, 425);
    } finally {
      await client.quit();
      await teardown(() => proxy.close(), () => server.close());
    }
  });

  it('the passive port closes when the client does not connect within the accept timeout (30 s), the session goes on', async () => {
    const server = await startFtpServer();
    const first = await freePort();
    const proxy = await startFtpProxy(`    ftp: { mode: alg, passivePorts: ${first}-${first} }\n    realServers: [ { address: ${server.address} } ]\n`);
    const client = await FtpClient.connect(proxy.port);
    try {
      await client.login();
      const pasv = await client.pasv();
      // The tick that sees the deadline passed, without waiting for it.
      proxy.listener.tick(Date.now() + 30_001);
      const probe = net.connect({ host: pasv.host, port: pasv.port });
      const [err] = (await once(probe, 'error')) as [NodeJS.ErrnoException];
      assert.equal(err.code, 'ECONNREFUSED');
      assert.equal((await client.send('NOOP')).code, 200);
    } finally {
      await client.quit();
      await teardown(() => proxy.close(), () => server.close());
    }
  });

  it('the passive port closes with its session', async () => {
    const server = await startFtpServer();
    const first = await freePort();
    const proxy = await startFtpProxy(`    ftp: { mode: alg, passivePorts: ${first}-${first} }\n    realServers: [ { address: ${server.address} } ]\n`);
    const client = await FtpClient.connect(proxy.port);
    await client.login();
    const pasv = await client.pasv();
    await client.quit();
    await until(() => proxy.listener.connectionCount === 0, 2000, 'the session to end');
    const probe = net.connect({ host: pasv.host, port: pasv.port });
    const [err] = (await once(probe, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNREFUSED');
    await teardown(() => proxy.close(), () => server.close());
  });
});
