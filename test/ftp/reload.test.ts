import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import { startFtpServer } from '../helpers/ftp-server.ts';
import { teardown } from '../helpers/processes.ts';
import { FtpClient, download, passiveRangeBase, startFtpProxy } from './harness.ts';

// A reload swaps the service under the listener: a session keeps the settings it started with,
// a new one gets the new ones, and new passive ports apply from the next PASV on.

describe('ftp reload', () => {
  it('alg: sessions keep their settings, new sessions and new PASVs take the new ones', async () => {
    const server = await startFtpServer();
    const base = passiveRangeBase();
    const yaml = (activeMode: string, first: number): string =>
      `    ftp: { mode: alg, passivePorts: ${first}-${first + 1}, activeMode: ${activeMode} }\n    realServers: [ { address: ${server.address} } ]\n`;
    const proxy = await startFtpProxy(yaml('proxy', base));
    const old = await FtpClient.connect(proxy.port);
    try {
      await old.login();
      assert.ok((await old.pasv()).port < base + 2);
      proxy.reload(yaml('refuse', base + 5));
      assert.equal((await old.send('PORT 127,0,0,1,200,1')).code, 200, 'the old session still proxies active mode');
      const moved = await old.pasv();
      assert.ok(moved.port >= base + 5 && moved.port <= base + 6, `port ${moved.port}`);
      const fresh = await FtpClient.connect(proxy.port);
      await fresh.login();
      assert.equal((await fresh.send('PORT 127,0,0,1,200,1')).code, 502);
      await fresh.quit();
    } finally {
      await old.quit();
      await teardown(() => proxy.close(), () => server.close());
    }
  });

  it('port-following: a new passive range is bound before the old one is let go', async () => {
    const base = passiveRangeBase();
    const server = await startFtpServer({ host: '127.0.0.2', announce: '127.0.0.1', passivePorts: { first: base + 5, last: base + 5 } });
    server.files.set('f', Buffer.from('moved'));
    const yaml = (first: number): string => `    ftp: { mode: port-following, passivePorts: ${first}-${first} }\n    realServers: [ { address: ${server.address} } ]\n`;
    const proxy = await startFtpProxy(yaml(base));
    const client = await FtpClient.connect(proxy.port);
    try {
      await client.login();
      proxy.reload(yaml(base + 5));
      await proxy.listener.portsReady();
      assert.deepEqual(proxy.events, []);
      const pasv = await client.pasv();
      assert.equal(pasv.port, base + 5);
      const data = download('127.0.0.1', pasv.port);
      assert.equal((await client.send('RETR f')).code, 150);
      assert.equal((await client.reply()).code, 226);
      assert.equal((await data).toString(), 'moved');
      const gone = net.connect({ host: '127.0.0.1', port: base });
      const [err] = (await once(gone, 'error')) as [NodeJS.ErrnoException];
      assert.equal(err.code, 'ECONNREFUSED');
    } finally {
      await client.quit();
      await teardown(() => proxy.close(), () => server.close());
    }
  });
});
