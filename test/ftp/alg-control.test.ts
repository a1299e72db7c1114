import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { startFtpServer, type ScriptedFtpServer } from '../helpers/ftp-server.ts';
import { teardown } from '../helpers/processes.ts';
import { FtpClient, download, passiveRangeBase, startFtpProxy, testBytes, until, type FtpProxy } from './harness.ts';

// The control connection in alg mode is read line by line: replies cut across segments, several
// commands in one segment, multi-line replies, and what Fulcrum answers itself (AUTH, LPRT,
// garbage, overlong lines) in the order the client asked.

describe('ftp alg mode: the control connection', () => {
  let server: ScriptedFtpServer;
  let split: ScriptedFtpServer;
  let proxy: FtpProxy;
  let splitProxy: FtpProxy;
  const base = passiveRangeBase();

  before(async () => {
    server = await startFtpServer({ multiLinePasv: true });
    split = await startFtpServer({ splitReplies: true });
    proxy = await startFtpProxy(`    ftp: { mode: alg, passivePorts: ${base}-${base + 4} }\n    realServers: [ { address: ${server.address} } ]\n`);
    splitProxy = await startFtpProxy(`    ftp: { mode: alg, passivePorts: ${base + 5}-${base + 9} }\n    realServers: [ { address: ${split.address} } ]\n`);
  });

  after(() => teardown(() => proxy?.close(), () => splitProxy?.close(), () => server?.close(), () => split?.close()));

  it('passes multi-line replies through whole, and does not rewrite a 227-looking line inside another reply', async () => {
    const client = await FtpClient.connect(proxy.port);
    try {
      await client.login();
      const feat = await client.send('FEAT');
      assert.deepEqual(feat.lines, ['211-Features:', ' EPRT', ' EPSV', ' PASV', ' REST STREAM', ' SIZE', '211 End']);
      const help = await client.send('HELP');
      assert.deepEqual(help.lines, ['214-The following is not a passive reply:', '227 Entering Passive Mode (10,0,0,9,4,1).', '214 Help OK.']);
    } finally {
      await client.quit();
    }
  });

  it('rewrites a multi-line 227 once, and the data still reaches the real server', async () => {
    server.files.set('m.txt', Buffer.from('multi'));
    const client = await FtpClient.connect(proxy.port);
    try {
      await client.login();
      const r = await client.send('PASV');
      assert.equal(r.code, 227);
      assert.equal(r.lines.length, 2);
      const m = /^227-Entering Passive Mode \(127,0,0,1,(\d+),(\d+)\)\.$/.exec(r.lines[0]!);
      assert.ok(m, r.text);
      assert.equal(r.lines[1], '227 OK');
      const port = Number(m[1]) * 256 + Number(m[2]);
      assert.ok(port >= base && port <= base + 4);
      const data = download('127.0.0.1', port);
      assert.equal((await client.send('RETR m.txt')).code, 150);
      assert.equal((await client.reply()).code, 226);
      assert.equal((await data).toString(), 'multi');
    } finally {
      await client.quit();
    }
  });

  it('reassembles replies cut across TCP segments, 227 included', async () => {
    split.files.set('s.txt', Buffer.from('split'));
    const client = await FtpClient.connect(splitProxy.port);
    try {
      await client.login();
      const pasv = await client.pasv();
      assert.equal(pasv.host, '127.0.0.1');
      assert.ok(pasv.port >= base + 5 && pasv.port <= base + 9);
      const data = download(pasv.host, pasv.port);
      assert.equal((await client.send('RETR s.txt')).code, 150);
      assert.equal((await client.reply()).code, 226);
      assert.equal((await data).toString(), 'split');
    } finally {
      await client.quit();
    }
  });

  it('reassembles a command sent in pieces, and takes several commands in one segment', async () => {
    const client = await FtpClient.connect(proxy.port);
    try {
      await client.login();
      client.socket.write('NO');
      await new Promise((r) => setTimeout(r, 20));
      client.socket.write('OP\r');
      await new Promise((r) => setTimeout(r, 20));
      client.socket.write('\n');
      assert.equal((await client.reply()).code, 200);
      client.socket.write('NOOP\r\nPWD\r\nSYST\r\n');
      assert.deepEqual([(await client.reply()).code, (await client.reply()).code, (await client.reply()).code], [200, 257, 215]);
      assert.deepEqual(server.commands.slice(-4), ['NOOP', 'NOOP', 'PWD', 'SYST']);
    } finally {
      await client.quit();
    }
  });

  it('refuses AUTH with 534 (so that clients fall back to plain FTP); the real server never sees it', async () => {
    const client = await FtpClient.connect(proxy.port);
    try {
      assert.equal((await client.reply()).code, 220);
      const r = await client.send('AUTH TLS');
      assert.equal(r.code, 534);
      assert.match(r.text, /port-following/);
      assert.equal((await client.send('USER anonymous')).code, 331);
      assert.ok(!server.commands.some((c) => c.startsWith('AUTH')));
    } finally {
      await client.quit();
    }
  });

  it("keeps its own answers in the order of the client's commands", async () => {
    const client = await FtpClient.connect(proxy.port);
    try {
      await client.login();
      client.socket.write('PWD\r\nAUTH TLS\r\nSYST\r\nLPSV\r\nNOOP\r\n');
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await client.reply()).code);
      assert.deepEqual(codes, [257, 534, 215, 502, 200]);
    } finally {
      await client.quit();
    }
  });

  it('answers binary garbage with 500 and closes; the real server never sees it', async () => {
    const client = await FtpClient.connect(proxy.port);
    await client.login();
    const before = server.commands.length;
    // A TLS ClientHello's first bytes, as an implicit-FTPS client would send.
    client.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x0a]));
    client.socket.write('\r\n');
    const r = await client.reply();
    assert.equal(r.code, 500);
    await once(client.socket, 'close');
    assert.equal(server.commands.length, before);
  });

  it('answers a line longer than 8 KiB with 500 and closes', async () => {
    const client = await FtpClient.connect(proxy.port);
    await client.login();
    client.socket.write(`NOOP ${'x'.repeat(9000)}`);
    const r = await client.reply();
    assert.equal(r.code, 500);
    assert.match(r.text, /too long/);
    await once(client.socket, 'close');
  });

  it('a NUL byte in a command is garbage too', async () => {
    const client = await FtpClient.connect(proxy.port);
    await client.login();
    const r = await client.send('NO\0OP');
    assert.equal(r.code, 500);
    await once(client.socket, 'close');
  });

  it('random bytes, in random cuts, never take it down; every session ends and frees its slot', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const client = await FtpClient.connect(proxy.port);
      assert.equal((await client.reply()).code, 220);
      const noise = testBytes(64 + seed * 97, seed);
      // Some lines of text among the noise, so that a few commands reach the server too.
      if (seed % 3 === 0) noise.write('NOOP\r\nPASV\r\n', 0, 'latin1');
      for (let at = 0; at < noise.length; at += 50 + seed) client.socket.write(noise.subarray(at, at + 50 + seed));
      client.socket.end();
      await once(client.socket, 'close');
    }
    await until(() => proxy.listener.connectionCount === 0, 3000, 'every session to end');
    assert.equal(proxy.listener.service.pool.servers[0]!.inflight, 0);
    const client = await FtpClient.connect(proxy.port);
    await client.login();
    await client.quit();
  });
});
