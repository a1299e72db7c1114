import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startFtpServer, type ScriptedFtpServer } from '../helpers/ftp-server.ts';
import { teardown } from '../helpers/processes.ts';
import { FtpClient, download, passiveRangeBase, startFtpProxy, testBytes, until, type FtpProxy } from './harness.ts';

// port-following (explicit FTPS): the control connection is relayed byte for byte (TLS passes),
// and a data connection on passive port P goes to port P of the real server that holds its
// client's control connection. Both real servers use the same range, so both may announce the
// same port at once: only the client's address tells the two data connections apart.

/** Log in and read which real server answered (its greeting names it). */
async function loginNamed(client: FtpClient): Promise<string> {
  const greeting = await client.reply();
  const name = /^220 (\S+) ready$/.exec(greeting.text)?.[1];
  assert.ok(name, greeting.text);
  await client.expect('USER anonymous', 331);
  await client.expect('PASS x', 230);
  return name;
}

describe('ftp port-following mode', () => {
  const first = passiveRangeBase();
  const range = { first, last: first + 2 };
  let one: ScriptedFtpServer;
  let two: ScriptedFtpServer;
  let proxy: FtpProxy;

  before(async () => {
    one = await startFtpServer({ host: '127.0.0.2', name: 'one', announce: '127.0.0.1', passivePorts: range });
    two = await startFtpServer({ host: '127.0.0.3', name: 'two', announce: '127.0.0.1', passivePorts: range });
    one.files.set('who', Buffer.from('one'));
    two.files.set('who', Buffer.from('two'));
    proxy = await startFtpProxy(`    ftp: { mode: port-following, passivePorts: ${range.first}-${range.last} }\n    realServers: [ { address: ${one.address} }, { address: ${two.address} } ]\n`);
  });

  after(() => teardown(() => proxy?.close(), () => one?.close(), () => two?.close()));

  it('sends each data connection to the real server of its client, even when both announced the same port', async () => {
    const a = await FtpClient.connect(proxy.port, { localAddress: '127.0.0.1' });
    const b = await FtpClient.connect(proxy.port, { localAddress: '127.0.0.4' });
    try {
      const serverOfA = await loginNamed(a);
      const serverOfB = await loginNamed(b);
      assert.notEqual(serverOfA, serverOfB, 'round robin gives the two clients different servers');
      // Both servers are fresh: each announces the first port of the range.
      const pa = await a.pasv();
      const pb = await b.pasv();
      assert.equal(pa.port, pb.port);
      const dataA = download('127.0.0.1', pa.port, '127.0.0.1');
      const dataB = download('127.0.0.1', pb.port, '127.0.0.4');
      assert.equal((await a.send('RETR who')).code, 150);
      assert.equal((await b.send('RETR who')).code, 150);
      assert.equal((await a.reply()).code, 226);
      assert.equal((await b.reply()).code, 226);
      assert.equal((await dataA).toString(), serverOfA);
      assert.equal((await dataB).toString(), serverOfB);
    } finally {
      await a.quit();
      await b.quit();
    }
    // One line per session, its data connection counted (the relayed control connection ends ok).
    await until(() => proxy.access.length >= 2, 2000, 'two lines');
    assert.deepEqual(
      proxy.access.slice(0, 2).map((r) => [r.client, r.termination, r.dataConnections, r.bytesOut > 3]).sort(),
      [
        ['127.0.0.1', 'ok', 1, true],
        ['127.0.0.4', 'ok', 1, true],
      ],
    );
  });

  it('relays the control connection untouched: replies keep the real server\'s address, and bytes after AUTH pass as they are', async () => {
    const client = await FtpClient.connect(proxy.port);
    try {
      await loginNamed(client);
      const pasv = await client.pasv();
      assert.equal(pasv.host, '127.0.0.1', 'the real server announces the virtual service address itself');
      assert.ok(pasv.port >= range.first && pasv.port <= range.last);
      const r = await client.send('AUTH TLS');
      assert.equal(r.code, 234);
      // What a TLS handshake looks like to a reader of lines: binary, NUL bytes, no line ends.
      const blob = testBytes(64 * 1024, 9);
      const echoed: Buffer[] = [];
      let got = 0;
      client.socket.removeAllListeners('data');
      client.socket.on('data', (c: string | Buffer) => {
        const b = typeof c === 'string' ? Buffer.from(c, 'latin1') : c;
        echoed.push(b);
        got += b.length;
      });
      client.socket.write(blob);
      await until(() => got >= blob.length, 3000, 'the echo');
      assert.ok(Buffer.concat(echoed).equals(blob));
    } finally {
      client.destroy();
    }
  });

  it('refuses a data connection from an address that has no control connection (one worker)', async () => {
    const stranger = net.connect({ host: '127.0.0.1', port: range.first, localAddress: '127.0.0.5' });
    stranger.on('error', () => {});
    await once(stranger, 'close');
    await until(() => proxy.events.some((e) => e.fields.event === 'ftp-data-refused' && e.fields.client === '127.0.0.5'), 2000, 'the refusal event');
  });
});

describe('ftp port-following mode with several workers', () => {
  it('a data connection whose control connection another worker holds goes where source-ip persistence sends that client', async () => {
    const first = passiveRangeBase();
    // The control connection goes straight to the server here, standing in for "another worker":
    // the data connection then comes from Fulcrum's address, so the server must not insist on the control's.
    const server = await startFtpServer({ host: '127.0.0.2', name: 'solo', announce: '127.0.0.1', passivePorts: { first, last: first }, strictDataPeer: false });
    server.files.set('who', Buffer.from('solo'));
    const proxy = await startFtpProxy(
      `    ftp: { mode: port-following, passivePorts: ${first}-${first} }\n    persistence: { type: source-ip }\n    realServers: [ { address: ${server.address} } ]\n`,
      { index: 0, count: 2 },
    );
    const client = await FtpClient.connect(server.port, { host: '127.0.0.2', localAddress: '127.0.0.6' });
    try {
      await loginNamed(client);
      const pasv = await client.pasv();
      assert.equal(pasv.port, first);
      const data = download('127.0.0.1', pasv.port, '127.0.0.6');
      assert.equal((await client.send('RETR who')).code, 150);
      assert.equal((await client.reply()).code, 226);
      assert.equal((await data).toString(), 'solo');
      assert.equal(proxy.listener.service.pool.servers[0]!.inflight, 0, 'no control connection went through this worker');
    } finally {
      await client.quit();
      await teardown(() => proxy.close(), () => server.close());
    }
  });
});
