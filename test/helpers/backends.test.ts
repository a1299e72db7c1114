// Smoke test of the test helpers themselves: if these fail, every suite built on them lies.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startBackends, startRawServer, type Backends, type ChecksumReply, type EchoReply } from './backends.ts';
import { freePort, startProcess, waitForPort } from './processes.ts';
import { withWorkers } from './fulcrum.ts';

describe('startBackends', () => {
  let backends: Backends;
  before(async () => {
    backends = await startBackends(3);
  });
  after(async () => {
    await backends.close();
  });

  it('names each server and answers with its name', async () => {
    assert.deepEqual(
      backends.servers.map((b) => b.name),
      ['backend-1', 'backend-2', 'backend-3'],
    );
    for (const b of backends.servers) {
      assert.match(b.address, /^127\.0\.0\.1:\d+$/);
      const res = await request(`${b.url}/`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-backend'], b.name);
      assert.equal(await res.body.text(), `${b.name}\n`);
    }
    assert.deepEqual(backends.counts(), { 'backend-1': 1, 'backend-2': 1, 'backend-3': 1 });
  });

  it('echoes method, url, headers and body on /echo', async () => {
    const b = backends.servers[1]!;
    const res = await request(`${b.url}/echo?x=1`, { method: 'POST', headers: { 'x-test': 'yes' }, body: 'hello' });
    const echo = (await res.body.json()) as EchoReply;
    assert.equal(echo.name, 'backend-2');
    assert.equal(echo.method, 'POST');
    assert.equal(echo.url, '/echo?x=1');
    assert.equal(echo.headers['x-test'], 'yes');
    assert.equal(echo.body, 'hello');
    assert.equal(echo.remoteAddress, '127.0.0.1');
  });

  it('checksums a streamed body on /sha256', async () => {
    const b = backends.servers[0]!;
    const data = Buffer.alloc(3 * 1024 * 1024 + 7, 'ab');
    const res = await request(`${b.url}/sha256`, { method: 'PUT', body: data });
    const sum = (await res.body.json()) as ChecksumReply;
    assert.equal(sum.bytes, data.length);
    assert.equal(sum.sha256, createHash('sha256').update(data).digest('hex'));
    assert.equal(sum.chunked, false);
  });

  it('answers /status/NNN with that status', async () => {
    const res = await request(`${backends.servers[2]!.url}/status/503`);
    assert.equal(res.statusCode, 503);
    await res.body.dump();
  });
});

describe('startRawServer', () => {
  it('parses requests and writes the raw response it was given', async () => {
    const raw = await startRawServer({ response: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi', after: 'end' });
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(raw.port, '127.0.0.1');
        let text = '';
        socket.setEncoding('latin1');
        socket.on('data', (d: string) => (text += d));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
        socket.write('POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc');
      });
      assert.equal(reply, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi');
      assert.equal(raw.requests.length, 1);
      assert.equal(raw.requests[0]?.method, 'POST');
      assert.equal(raw.requests[0]?.url, '/x');
      assert.equal(raw.requests[0]?.headers['host'], 'a');
      assert.equal(raw.requests[0]?.body.toString(), 'abc');
    } finally {
      await raw.close();
    }
  });
});

describe('processes', () => {
  it('freePort returns a port that can be listened on', async () => {
    const port = await freePort();
    assert.ok(port > 0 && port < 65536);
    const server = net.createServer().listen(port, '127.0.0.1');
    await waitForPort(port);
    server.close();
  });

  it('waitForPort rejects when the process exits first, with its stderr', async () => {
    const port = await freePort();
    const proc = startProcess('false', process.execPath, ['-e', 'console.error("boom"); process.exit(3)']);
    await assert.rejects(waitForPort(port, { proc, timeoutMs: 5000 }), /exited before listening[\s\S]*boom/);
    assert.equal((await proc.exited).code, 3);
  });

  it('stop() sends SIGTERM and resolves with the exit', async () => {
    const proc = startProcess('sleeper', process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    const exit = await proc.stop();
    assert.equal(exit.signal, 'SIGTERM');
  });
});

describe('withWorkers', () => {
  it('replaces or adds the top-level workers key and keeps the rest', () => {
    const yaml = 'workers: 1\naccessLog: off\nvirtualServices: []\n';
    assert.match(withWorkers(yaml, 4), /^workers: 4\naccessLog: off\n/);
    assert.match(withWorkers('accessLog: off\n', 2), /workers: 2/);
  });
});
