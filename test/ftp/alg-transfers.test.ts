import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFtpServer, type ScriptedFtpServer } from '../helpers/ftp-server.ts';
import { teardown } from '../helpers/processes.ts';
import { FtpClient, download, passiveRangeBase, sha256, startFtpProxy, testBytes, until, upload, type FtpProxy } from './harness.ts';

// alg mode end to end: the client only ever sees Fulcrum's address and passive ports, and every
// transfer (listing, download, upload, resume) reaches the real server that holds its session.

describe('ftp alg mode: passive transfers', () => {
  let server: ScriptedFtpServer;
  let proxy: FtpProxy;
  const range = { first: 0, last: 0 };

  before(async () => {
    // The server announces an address no client could reach: Fulcrum must use the server's own.
    server = await startFtpServer({ announce: '10.9.8.7' });
    range.first = passiveRangeBase();
    range.last = range.first + 9;
    proxy = await startFtpProxy(`    ftp: { mode: alg, passivePorts: ${range.first}-${range.last} }\n    realServers: [ { address: ${server.address} } ]\n`);
  });

  after(() => teardown(() => proxy?.close(), () => server?.close()));

  it('rewrites 227 to its own address and a port of its range, and the listing comes from the real server', async () => {
    server.files.set('a.txt', Buffer.from('alpha'));
    const client = await FtpClient.connect(proxy.port);
    try {
      await client.login();
      const pasv = await client.pasv();
      assert.equal(pasv.host, '127.0.0.1');
      assert.ok(pasv.port >= range.first && pasv.port <= range.last, `port ${pasv.port} outside ${range.first}-${range.last}`);
      assert.match(pasv.reply.text, /^227 Entering Passive Mode \(127,0,0,1,\d+,\d+\)\.$/);
      const listing = download(pasv.host, pasv.port);
      assert.equal((await client.send('LIST')).code, 150);
      assert.equal((await client.reply()).code, 226);
      assert.match((await listing).toString(), / a\.txt\r\n$/);
      // The real server saw its data connection come from Fulcrum's side of the control connection.
      assert.equal(server.dataConnections.at(-1)?.peer, server.controlPeers.at(-1)?.replace(/^::ffff:/, ''));
    } finally {
      await client.quit();
    }
  });

  it('rewrites 229 (EPSV) to a port of its range; RETR of 3 MiB arrives intact', async () => {
    const file = testBytes(3 * 1024 * 1024, 7);
    server.files.set('big.bin', file);
    const client = await FtpClient.connect(proxy.port);
    try {
      await client.login();
      assert.equal((await client.send('SIZE big.bin')).text, `213 ${file.length}`);
      const port = await client.epsv();
      assert.ok(port >= range.first && port <= range.last);
      assert.notEqual(port, server.announcedPorts.at(-1));
      const data = download('127.0.0.1', port);
      assert.equal((await client.send('RETR big.bin')).code, 150);
      assert.equal((await client.reply()).code, 226);
      assert.equal(sha256(await data), sha256(file));
    } finally {
      await client.quit();
    }
  });

  it('STOR of 4 MiB reaches the real server intact', async () => {
    const file = testBytes(4 * 1024 * 1024, 11);
    const client = await FtpClient.connect(proxy.port);
    try {
      await client.login();
      const pasv = await client.pasv();
      // As curl does: the data connection first, then the command.
      const sent = upload(pasv.host, pasv.port, file);
      assert.equal((await client.send('STOR up.bin')).code, 150);
      await sent;
      assert.equal((await client.reply()).code, 226);
      assert.equal(sha256(server.files.get('up.bin')!), sha256(file));
    } finally {
      await client.quit();
    }
  });

  it('REST then RETR resumes a download at the offset', async () => {
    const file = testBytes(1024 * 1024, 3);
    server.files.set('resume.bin', file);
    const client = await FtpClient.connect(proxy.port);
    try {
      await client.login();
      const offset = 300_001;
      const pasv = await client.pasv();
      assert.equal((await client.send(`REST ${offset}`)).code, 350);
      const data = download(pasv.host, pasv.port);
      assert.equal((await client.send('RETR resume.bin')).code, 150);
      assert.equal((await client.reply()).code, 226);
      assert.equal(sha256(await data), sha256(file.subarray(offset)));
    } finally {
      await client.quit();
    }
  });

  it('REST then STOR resumes an upload', async () => {
    const file = testBytes(512 * 1024, 5);
    const half = 200_000;
    server.files.set('partial.bin', file.subarray(0, half));
    const client = await FtpClient.connect(proxy.port);
    try {
      await client.login();
      const pasv = await client.pasv();
      assert.equal((await client.send(`REST ${half}`)).code, 350);
      const sent = upload(pasv.host, pasv.port, file.subarray(half));
      assert.equal((await client.send('STOR partial.bin')).code, 150);
      await sent;
      assert.equal((await client.reply()).code, 226);
      assert.equal(sha256(server.files.get('partial.bin')!), sha256(file));
    } finally {
      await client.quit();
    }
  });

  it('counts the session on its real server while it lasts', async () => {
    const rs = proxy.listener.service.pool.servers[0]!;
    const before = rs.requests;
    const client = await FtpClient.connect(proxy.port);
    await client.login();
    assert.equal(rs.inflight, 1);
    assert.equal(rs.requests, before + 1);
    assert.equal(proxy.listener.connectionCount, 1);
    await client.quit();
    await new Promise((r) => client.socket.once('close', r));
    await until(() => proxy.listener.connectionCount === 0, 2000, 'the session to end');
    assert.equal(rs.inflight, 0);
    assert.equal(proxy.listener.connectionCount, 0);
  });
});
