import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startFtpServer } from '../helpers/ftp-server.ts';
import { freePort, teardown } from '../helpers/processes.ts';
import { FtpClient, download, startFtpProxy, testBytes, until, upload } from './harness.ts';

// An FTP virtual service's access list and per-client connection limits (a refused control
// connection is closed at once, before any real server), and the one access-log line each
// control session leaves: its termination code, and the bytes of its data connections with it.

async function ftpYaml(extra: string, serverAddress: string): Promise<string> {
  const first = await freePort();
  return `    ftp: { mode: alg, passivePorts: ${first}-${first} }\n${extra}    realServers: [ { address: ${serverAddress} } ]\n`;
}

describe('ftp access list and per-client limits', () => {
  it('access: a denied client is closed without a greeting (denied); an allowed one is served (ok)', async () => {
    const server = await startFtpServer();
    const proxy = await startFtpProxy(await ftpYaml('    access: { deny: [127.0.0.90/32] }\n', server.address));
    try {
      const denied = await FtpClient.connect(proxy.port, { localAddress: '127.0.0.90' });
      assert.equal((await denied.reply()).code, 0, 'closed before any reply');
      assert.equal(server.controlPeers.length, 0, 'it never reached the real server');
      const allowed = await FtpClient.connect(proxy.port, { localAddress: '127.0.0.91' });
      await allowed.login();
      await allowed.quit();
      await until(() => proxy.access.length === 2, 2000, 'two lines');
      assert.deepEqual(
        proxy.access.map((r) => [r.protocol, r.client, r.server, r.termination, r.error]),
        [
          ['ftp', '127.0.0.90', '', 'denied', 'refused by the access list of the virtual service'],
          ['ftp', '127.0.0.91', server.address, 'ok', ''],
        ],
      );
    } finally {
      await teardown(() => proxy.close(), () => server.close());
    }
  });

  it('maxConnectionsPerClient: a second control connection of one address is closed (rate-limited) until the first ends', async () => {
    const server = await startFtpServer();
    const proxy = await startFtpProxy(await ftpYaml('    rateLimit: { maxConnectionsPerClient: 1 }\n', server.address));
    try {
      const first = await FtpClient.connect(proxy.port, { localAddress: '127.0.0.92' });
      await first.login();
      const second = await FtpClient.connect(proxy.port, { localAddress: '127.0.0.92' });
      assert.equal((await second.reply()).code, 0, 'closed before any reply');
      const other = await FtpClient.connect(proxy.port, { localAddress: '127.0.0.93' });
      assert.equal((await other.reply()).code, 220, 'another address is not affected');
      assert.deepEqual(proxy.access.map((r) => [r.client, r.termination, r.error]), [['127.0.0.92', 'rate-limited', 'over ftp/maxConnectionsPerClient']]);
      assert.equal(server.controlPeers.length, 2);
      await first.quit();
      await until(() => proxy.access.some((r) => r.client === '127.0.0.92' && r.termination === 'ok'), 2000, "the first's line");
      const third = await FtpClient.connect(proxy.port, { localAddress: '127.0.0.92' });
      assert.equal((await third.reply()).code, 220, 'its slot came back');
      await third.quit();
      await other.quit();
    } finally {
      await teardown(() => proxy.close(), () => server.close());
    }
  });

  it('connectionRate: a client past its burst is closed (rate-limited)', async () => {
    const server = await startFtpServer();
    const proxy = await startFtpProxy(await ftpYaml('    rateLimit: { connectionRate: { rate: 1/m, burst: 1 } }\n', server.address));
    try {
      const first = await FtpClient.connect(proxy.port, { localAddress: '127.0.0.94' });
      assert.equal((await first.reply()).code, 220);
      await first.quit();
      const second = await FtpClient.connect(proxy.port, { localAddress: '127.0.0.94' });
      assert.equal((await second.reply()).code, 0);
      await until(() => proxy.access.length === 2, 2000, 'two lines');
      assert.deepEqual(proxy.access.map((r) => [r.termination, r.error]).sort(), [
        ['ok', ''],
        ['rate-limited', 'over ftp/connectionRate'],
      ]);
      assert.equal(server.controlPeers.length, 1);
    } finally {
      await teardown(() => proxy.close(), () => server.close());
    }
  });
});

describe('ftp session line', () => {
  it('counts the data connections and their bytes each way with the control connection', async () => {
    const server = await startFtpServer();
    const proxy = await startFtpProxy(await ftpYaml('', server.address));
    const file = testBytes(100_000, 3);
    const uploaded = testBytes(50_000, 4);
    server.files.set('down.bin', file);
    try {
      const client = await FtpClient.connect(proxy.port);
      await client.login();
      let pasv = await client.pasv();
      const data = download(pasv.host, pasv.port);
      assert.equal((await client.send('RETR down.bin')).code, 150);
      assert.equal((await client.reply()).code, 226);
      assert.equal((await data).length, file.length);
      pasv = await client.pasv();
      const sent = upload(pasv.host, pasv.port, uploaded);
      assert.equal((await client.send('STOR up.bin')).code, 150);
      await sent;
      assert.equal((await client.reply()).code, 226);
      await client.quit();
      await until(() => proxy.access.length === 1, 2000, 'the line');
      const [line] = proxy.access;
      assert.equal(line!.termination, 'ok');
      assert.equal(line!.dataConnections, 2);
      // The control connection adds a few hundred bytes each way.
      assert.ok(line!.bytesOut > file.length && line!.bytesOut < file.length + 2000, `bytesOut ${line!.bytesOut}`);
      assert.ok(line!.bytesIn > uploaded.length && line!.bytesIn < uploaded.length + 2000, `bytesIn ${line!.bytesIn}`);
    } finally {
      await teardown(() => proxy.close(), () => server.close());
    }
  });
});
