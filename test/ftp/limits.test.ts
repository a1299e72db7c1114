import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import { startBlackhole } from '../helpers/blackhole.ts';
import { startFtpServer } from '../helpers/ftp-server.ts';
import { freePort, teardown } from '../helpers/processes.ts';
import { FtpClient, startFtpProxy, until } from './harness.ts';

// Control connections within limits: the virtual service's and each real server's maxConnections,
// the FIFO queue over them, retries on connect failure, and the deadlines the tick enforces
// (connect, queue, idle, drainCut). Every refusal is an FTP 421 the client can show, and every
// session's end a termination code in the access log.

async function ftpYaml(extra: string, realServers: string): Promise<string> {
  const first = await freePort();
  return `    ftp: { mode: alg, passivePorts: ${first}-${first} }\n${extra}    realServers: ${realServers}\n`;
}

/** The reply's code if it arrives within `ms`, else null (the connection waits in the queue). */
async function codeWithin(reply: Promise<{ code: number }>, ms: number): Promise<number | null> {
  const timer = new Promise<null>((r) => setTimeout(() => r(null), ms));
  return await Promise.race([reply.then((r) => r.code), timer]);
}

describe('ftp limits and queue', () => {
  it('over limits.maxConnections a client waits in the queue, past its size it gets 421, and the first to leave lets the next in', async () => {
    const server = await startFtpServer();
    const proxy = await startFtpProxy(await ftpYaml('    limits: { maxConnections: 1, queue: { size: 1, timeout: 5s } }\n', `[ { address: ${server.address} } ]`));
    const a = await FtpClient.connect(proxy.port);
    const b = await FtpClient.connect(proxy.port);
    const c = await FtpClient.connect(proxy.port);
    try {
      await a.login();
      const refused = await c.reply();
      assert.equal(refused.text, '421 Too many connections, try later');
      const pending = b.reply();
      assert.equal(await codeWithin(pending, 150), null, 'b waits: no greeting yet');
      await a.quit();
      assert.equal((await pending).code, 220);
      assert.equal(server.controlPeers.length, 2);
      await until(() => proxy.access.length === 2, 2000, "a's line");
      assert.deepEqual(
        proxy.access.map((r) => [r.protocol, r.server, r.termination, r.error]),
        [
          ['ftp', '', 'connection-limit', 'over the connection limit and the queue is full (1)'],
          ['ftp', server.address, 'ok', ''],
        ],
      );
    } finally {
      await b.quit();
      c.destroy();
      await teardown(() => proxy.close(), () => server.close());
    }
  });

  it('a client that waits longer than limits.queue.timeout gets 421', async () => {
    const server = await startFtpServer();
    const proxy = await startFtpProxy(await ftpYaml('    limits: { maxConnections: 1, queue: { size: 5, timeout: 300ms } }\n', `[ { address: ${server.address} } ]`));
    const a = await FtpClient.connect(proxy.port);
    try {
      await a.login();
      const started = Date.now();
      const b = await FtpClient.connect(proxy.port);
      const r = await b.reply();
      assert.equal(r.code, 421);
      const waited = Date.now() - started;
      assert.ok(waited >= 280 && waited < 2000, `waited ${waited} ms`);
      assert.deepEqual(proxy.access.map((r) => [r.termination, r.error]), [['connection-limit', 'waited 300 ms in the queue']]);
    } finally {
      await a.quit();
      await teardown(() => proxy.close(), () => server.close());
    }
  });

  it("a real server at its maxConnections takes no more: the next client goes to another, or waits when all are full", async () => {
    const one = await startFtpServer({ name: 'one' });
    const two = await startFtpServer({ name: 'two' });
    const proxy = await startFtpProxy(
      await ftpYaml('    limits: { queue: { size: 10, timeout: 5s } }\n', `[ { address: ${one.address}, maxConnections: 1 }, { address: ${two.address}, maxConnections: 2 } ]`),
    );
    const clients: FtpClient[] = [];
    try {
      const names: string[] = [];
      for (let i = 0; i < 3; i++) {
        const c = await FtpClient.connect(proxy.port);
        clients.push(c);
        names.push(/^220 (\S+)/.exec((await c.reply()).text)![1]!);
      }
      assert.deepEqual(names.sort(), ['one', 'two', 'two']);
      const [rsOne, rsTwo] = proxy.listener.service.pool.servers;
      assert.equal(rsOne!.inflight, 1);
      assert.equal(rsTwo!.inflight, 2);
      const fourth = await FtpClient.connect(proxy.port);
      clients.push(fourth);
      const pending = fourth.reply();
      assert.equal(await codeWithin(pending, 150), null, 'every server is full: the fourth waits');
      await clients[0]!.quit();
      assert.equal((await pending).code, 220);
    } finally {
      for (const c of clients) await c.quit();
      await teardown(() => proxy.close(), () => one.close(), () => two.close());
    }
  });

  it('no available real server: 421 Service not available', async () => {
    const server = await startFtpServer();
    const proxy = await startFtpProxy(await ftpYaml('', `[ { address: ${server.address}, enabled: false } ]`));
    const client = await FtpClient.connect(proxy.port);
    try {
      const r = await client.reply();
      assert.equal(r.text, '421 Service not available (no real server)');
      await once(client.socket, 'close');
      assert.equal(server.controlPeers.length, 0);
      assert.deepEqual(proxy.access.map((r) => [r.client, r.termination]), [['127.0.0.1', 'no-server-available']]);
    } finally {
      await teardown(() => proxy.close(), () => server.close());
    }
  });
});

describe('ftp connect failures and timeouts', () => {
  it('a refused connect is retried on another real server, and logged', async () => {
    const dead = await freePort();
    const server = await startFtpServer({ name: 'live' });
    const proxy = await startFtpProxy(await ftpYaml('    retries: 1\n', `[ { address: 127.0.0.1:${dead} }, { address: ${server.address} } ]`));
    try {
      for (let i = 0; i < 2; i++) {
        const client = await FtpClient.connect(proxy.port);
        assert.equal((await client.reply()).text, '220 live ready');
        await client.quit();
      }
      const failures = proxy.events.filter((e) => e.fields.event === 'connect-failed');
      // The retry's pick moves the rotation on too, so each session's first attempt may hit the dead server.
      assert.ok(failures.length >= 1, 'the dead server was tried');
      assert.ok(failures.every((f) => f.fields.realServer === `127.0.0.1:${dead}`));
      assert.match(failures[0]!.message, /ECONNREFUSED/);
      assert.equal(proxy.listener.service.pool.servers[0]!.inflight, 0);
    } finally {
      await teardown(() => proxy.close(), () => server.close());
    }
  });

  it('past timeouts.connect with no server left to try: 421 (real server unreachable)', async () => {
    const hole = await startBlackhole();
    const proxy = await startFtpProxy(await ftpYaml('    retries: 0\n    timeouts: { connect: 300ms }\n', `[ { address: ${hole.address} } ]`));
    try {
      const started = Date.now();
      const client = await FtpClient.connect(proxy.port);
      const r = await client.reply();
      assert.equal(r.text, '421 Service not available (real server unreachable)');
      const waited = Date.now() - started;
      assert.ok(waited >= 280 && waited < 2000, `waited ${waited} ms`);
      await until(() => proxy.listener.connectionCount === 0, 2000, 'the session to end');
      assert.equal(proxy.listener.service.pool.servers[0]!.inflight, 0);
      assert.deepEqual(proxy.access.map((r) => [r.server, r.termination, r.error]), [[hole.address, 'upstream-connect-timeout', `${hole.address}: timed out after 300 ms`]]);
    } finally {
      await teardown(() => proxy.close(), () => hole.close());
    }
  });

  it('a session silent for timeouts.idle is closed', async () => {
    const server = await startFtpServer();
    const proxy = await startFtpProxy(await ftpYaml('    timeouts: { idle: 300ms }\n', `[ { address: ${server.address} } ]`));
    const client = await FtpClient.connect(proxy.port);
    await client.login();
    const started = Date.now();
    await once(client.socket, 'close');
    const waited = Date.now() - started;
    assert.ok(waited >= 250 && waited < 2000, `closed after ${waited} ms`);
    await until(() => proxy.listener.connectionCount === 0, 2000, 'the session to end');
    assert.deepEqual(proxy.access.map((r) => [r.termination, r.error]), [['client-timeout', 'idle for timeouts.idle (300 ms)']]);
    assert.ok(proxy.access[0]!.bytesIn > 0 && proxy.access[0]!.bytesOut > 0, 'the login counts');
    await teardown(() => proxy.close(), () => server.close());
  });

  it('a transfer keeps its silent control connection open past timeouts.idle', async () => {
    const server = await startFtpServer();
    const proxy = await startFtpProxy(await ftpYaml('    timeouts: { idle: 300ms }\n', `[ { address: ${server.address} } ]`));
    const client = await FtpClient.connect(proxy.port);
    try {
      await client.login();
      const pasv = await client.pasv();
      const data = net.connect({ host: pasv.host, port: pasv.port });
      await once(data, 'connect');
      assert.equal((await client.send('STOR slow.bin')).code, 150);
      // 8 chunks 100 ms apart: 800 ms of upload, the control connection silent all along.
      for (let i = 0; i < 8; i++) {
        data.write(Buffer.alloc(1000, i));
        await new Promise((r) => setTimeout(r, 100));
      }
      data.end();
      assert.equal((await client.reply()).code, 226);
      assert.equal(server.files.get('slow.bin')?.length, 8000);
    } finally {
      await client.quit();
      await teardown(() => proxy.close(), () => server.close());
    }
  });

  it('timeouts.drainCut cuts sessions on a real server that was set to drain', async () => {
    const server = await startFtpServer();
    const proxy = await startFtpProxy(await ftpYaml('    timeouts: { drainCut: 200ms }\n', `[ { address: ${server.address} } ]`));
    const client = await FtpClient.connect(proxy.port);
    await client.login();
    proxy.listener.service.pool.servers[0]!.state = 'drain';
    const started = Date.now();
    await once(client.socket, 'close');
    const waited = Date.now() - started;
    assert.ok(waited >= 150 && waited < 2000, `cut after ${waited} ms`);
    assert.ok(proxy.events.some((e) => e.fields.event === 'drain-cut'));
    await until(() => proxy.access.length === 1, 2000, 'the line');
    assert.equal(proxy.access[0]!.termination, 'cut');
    assert.match(proxy.access[0]!.error, /^real server 127\.0\.0\.1:\d+ stopped taking clients \d+ ms ago \(timeouts\.drainCut\)$/);
    await teardown(() => proxy.close(), () => server.close());
  });

  it('without drainCut a session on a draining server goes on', async () => {
    const server = await startFtpServer();
    const proxy = await startFtpProxy(await ftpYaml('', `[ { address: ${server.address} } ]`));
    const client = await FtpClient.connect(proxy.port);
    try {
      await client.login();
      proxy.listener.service.pool.servers[0]!.state = 'drain';
      proxy.listener.tick(Date.now() + 3_600_000 - 1);
      assert.equal((await client.send('NOOP')).code, 200);
    } finally {
      await client.quit();
      await teardown(() => proxy.close(), () => server.close());
    }
  });
});

describe('ftp drain', () => {
  it('stops accepting, tells queued clients 421, lets open sessions go on', async () => {
    const server = await startFtpServer();
    const proxy = await startFtpProxy(await ftpYaml('    limits: { maxConnections: 1, queue: { size: 5, timeout: 5s } }\n', `[ { address: ${server.address} } ]`));
    const a = await FtpClient.connect(proxy.port);
    await a.login();
    const b = await FtpClient.connect(proxy.port);
    // Queued only once the listener has taken it: wait for its count, then drain.
    await until(() => proxy.listener.connectionCount === 2, 2000, 'b to be queued');
    proxy.listener.drain();
    try {
      assert.equal((await b.reply()).code, 421);
      assert.deepEqual(proxy.access.map((r) => [r.termination, r.error]), [['cut', 'shutting down']]);
      assert.equal((await a.send('NOOP')).code, 200);
      const late = net.connect({ host: '127.0.0.1', port: proxy.port });
      const [err] = (await once(late, 'error')) as [NodeJS.ErrnoException];
      assert.equal(err.code, 'ECONNREFUSED');
    } finally {
      await a.quit();
      await until(() => proxy.listener.connectionCount === 0, 2000, 'the sessions to end');
      await teardown(() => proxy.close(), () => server.close());
    }
  });
});
