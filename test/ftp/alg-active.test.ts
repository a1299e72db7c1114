import assert from 'node:assert/strict';
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startFtpServer, type ScriptedFtpServer } from '../helpers/ftp-server.ts';
import { freePort, teardown } from '../helpers/processes.ts';
import { FtpClient, sha256, startFtpProxy, testBytes, type FtpProxy } from './harness.ts';

// Active mode (PORT, EPRT): the real server connects to Fulcrum, Fulcrum to the client. Or it is
// refused with 502, as configured; and never may the client send the server to a third address.

/** The client's side of an active data connection: a one-shot listener on 127.0.0.1. */
async function activeListener(): Promise<{ port: number; accepted: Promise<Socket>; close(): void }> {
  const server = net.createServer({ allowHalfOpen: true });
  server.listen({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const accepted = once(server, 'connection').then(([s]) => s as Socket);
  return { port: (server.address() as AddressInfo).port, accepted, close: () => server.close() };
}

async function readAll(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'end');
  socket.end();
  return Buffer.concat(chunks);
}

describe('ftp alg mode: active mode proxied', () => {
  let server: ScriptedFtpServer;
  let proxy: FtpProxy;

  before(async () => {
    server = await startFtpServer();
    const first = await freePort();
    proxy = await startFtpProxy(`    ftp: { mode: alg, passivePorts: ${first}-${first}, activeMode: proxy }\n    realServers: [ { address: ${server.address} } ]\n`);
  });

  after(() => teardown(() => proxy?.close(), () => server?.close()));

  it('PORT: the real server connects to Fulcrum, Fulcrum to the client, and the download arrives', async () => {
    const file = testBytes(2 * 1024 * 1024, 21);
    server.files.set('active.bin', file);
    const client = await FtpClient.connect(proxy.port);
    const mine = await activeListener();
    try {
      await client.login();
      assert.equal((await client.send(`PORT 127,0,0,1,${mine.port >> 8},${mine.port & 255}`)).code, 200);
      const sent = server.commands.at(-1)!;
      assert.match(sent, /^PORT 127,0,0,1,\d+,\d+$/);
      assert.notEqual(sent, `PORT 127,0,0,1,${mine.port >> 8},${mine.port & 255}`, 'the server is given a port of Fulcrum, not the client');
      assert.equal((await client.send('RETR active.bin')).code, 150);
      const data = await readAll(await mine.accepted);
      assert.equal((await client.reply()).code, 226);
      assert.equal(sha256(data), sha256(file));
      assert.equal(server.dataConnections.at(-1)?.mode, 'active');
    } finally {
      mine.close();
      await client.quit();
    }
  });

  it('EPRT: an upload through active mode arrives intact', async () => {
    const file = testBytes(1024 * 1024, 22);
    const client = await FtpClient.connect(proxy.port);
    const mine = await activeListener();
    try {
      await client.login();
      assert.equal((await client.send(`EPRT |1|127.0.0.1|${mine.port}|`)).code, 200);
      // An IPv4 connection to the server: Fulcrum speaks PORT to it.
      assert.match(server.commands.at(-1)!, /^PORT 127,0,0,1,\d+,\d+$/);
      assert.equal((await client.send('STOR active-up.bin')).code, 150);
      const socket = await mine.accepted;
      socket.end(file);
      assert.equal((await client.reply()).code, 226);
      assert.equal(sha256(server.files.get('active-up.bin')!), sha256(file));
    } finally {
      mine.close();
      await client.quit();
    }
  });

  it('refuses PORT to an address that is not the client (FTP bounce), and a malformed one', async () => {
    const client = await FtpClient.connect(proxy.port);
    try {
      await client.login();
      const before = server.commands.length;
      const bounce = await client.send('PORT 127,0,0,2,0,25');
      assert.equal(bounce.code, 500);
      assert.match(bounce.text, /client's own/);
      assert.equal((await client.send('EPRT |1|10.1.2.3|25|')).code, 500);
      assert.equal((await client.send('PORT 1,2,3')).code, 501);
      assert.equal((await client.send('EPRT |3|x|1|')).code, 501);
      assert.equal(server.commands.length, before);
      assert.ok(proxy.events.some((e) => e.fields.event === 'ftp-port-refused'));
    } finally {
      await client.quit();
    }
  });
});

describe('ftp alg mode: active mode refused', () => {
  it('answers PORT and EPRT with 502 and never passes them on; passive mode still works', async () => {
    const server = await startFtpServer();
    const first = await freePort();
    const proxy = await startFtpProxy(`    ftp: { mode: alg, passivePorts: ${first}-${first}, activeMode: refuse }\n    realServers: [ { address: ${server.address} } ]\n`);
    const client = await FtpClient.connect(proxy.port);
    try {
      await client.login();
      const r = await client.send('PORT 127,0,0,1,200,1');
      assert.equal(r.code, 502);
      assert.match(r.text, /use passive mode \(PASV\/EPSV\)/);
      assert.equal((await client.send('EPRT |1|127.0.0.1|51201|')).code, 502);
      assert.ok(!server.commands.some((c) => /^(PORT|EPRT)/.test(c)));
      assert.equal((await client.pasv()).port, first);
    } finally {
      await client.quit();
      await teardown(() => proxy.close(), () => server.close());
    }
  });
});
