// The data path's metrics hooks, in one worker runtime: HTTP/1.1 exchanges and accepts, HTTP/2
// streams, TLS handshakes and their failures, a TCP connection to its real server, and a UDP
// session, each counted where the runtime's stats answer carries it.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.ts';
import type { ServiceMetrics } from '../../src/metrics/types.ts';
import { WorkerRuntime } from '../../src/worker/runtime.ts';
import { freePort } from '../helpers/processes.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'tls');
const ROOT_CA = readFileSync(path.join(FIXTURES, 'root-ca.pem'));

/** Reads the runtime's counters until `ok` accepts them: an exchange ends (and is counted) just after its client has seen the last byte. */
async function until(runtime: WorkerRuntime, name: string, ok: (m: ServiceMetrics) => boolean): Promise<ServiceMetrics> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const m = runtime.stats().metrics?.services.find((s) => s.name === name);
    if (m !== undefined && ok(m)) return m;
    if (Date.now() > deadline) throw new Error(`the counters of ${name} never got there: ${JSON.stringify(m)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('metrics hooks in the data path', () => {
  const runtime = new WorkerRuntime();
  let backend: http.Server;
  let echo: net.Server;
  let udpEcho: dgram.Socket;
  const ports = { web: 0, secure: 0, stream: 0, datagrams: 0 };
  let backendAddress = '';

  before(async () => {
    backend = http.createServer((_req, res) => res.end('ok'));
    backend.listen(0, '127.0.0.1');
    echo = net.createServer((socket) => socket.pipe(socket));
    echo.listen(0, '127.0.0.1');
    udpEcho = dgram.createSocket('udp4');
    udpEcho.on('message', (msg, rinfo) => udpEcho.send(msg, rinfo.port, rinfo.address));
    udpEcho.bind(0, '127.0.0.1');
    await Promise.all([once(backend, 'listening'), once(echo, 'listening'), once(udpEcho, 'listening')]);
    backendAddress = `127.0.0.1:${(backend.address() as AddressInfo).port}`;
    for (const key of Object.keys(ports) as Array<keyof typeof ports>) ports[key] = await freePort();
    const loaded = loadConfigText(
      [
        'accessLog: off',
        'virtualServices:',
        '  - name: web',
        `    listen: 127.0.0.1:${ports.web}`,
        '    protocol: http',
        '    http2: { cleartext: true }',
        `    realServers: [ { address: ${backendAddress} } ]`,
        '  - name: secure',
        `    listen: 127.0.0.1:${ports.secure}`,
        '    protocol: https',
        `    tls: { certificates: [ { cert: ${path.join(FIXTURES, 'www.surveyor.lab.rsa.pem')}, key: ${path.join(FIXTURES, 'www.surveyor.lab.rsa.key')} } ] }`,
        `    realServers: [ { address: ${backendAddress} } ]`,
        '  - name: stream',
        `    listen: 127.0.0.1:${ports.stream}`,
        '    protocol: tcp',
        `    realServers: [ { address: 127.0.0.1:${(echo.address() as AddressInfo).port} } ]`,
        '  - name: datagrams',
        `    listen: 127.0.0.1:${ports.datagrams}`,
        '    protocol: udp',
        '    udp: { sessionTimeout: 100ms }',
        `    realServers: [ { address: 127.0.0.1:${(udpEcho.address() as AddressInfo).port} } ]`,
        '',
      ].join('\n'),
      'hooks.yaml',
    );
    assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
    await runtime.apply(loaded.config);
  });

  after(async () => {
    await runtime.drain(0);
    backend.close();
    echo.close();
    udpEcho.close();
  });

  it('counts HTTP/1.1 requests and connections, per real server too', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => http.get({ port: ports.web, host: '127.0.0.1', agent: false }, resolve).on('error', reject));
      res.resume();
      await once(res, 'end');
    }
    const web = await until(runtime, 'web', (m) => m.statusClasses[2] === 3);
    assert.equal(web.connections, 3);
    assert.deepEqual(web.terminations, { ok: 3 });
    assert.equal(web.upstream.counts.reduce((a, b) => a + b, 0), 3);
    const server = runtime.stats().metrics?.realServers.find((r) => r.pool === 'web' && r.address === backendAddress);
    assert.equal(server?.statusClasses[2], 3);
  });

  it('counts HTTP/2 streams', async () => {
    const client = http2.connect(`http://127.0.0.1:${ports.web}`);
    try {
      for (let i = 0; i < 2; i++) {
        const stream = client.request({ ':path': '/' });
        stream.resume();
        await once(stream, 'end');
      }
    } finally {
      client.close();
    }
    const web = await until(runtime, 'web', (m) => m.http2Streams === 2 && m.statusClasses[2] === 5);
    assert.equal(web.http2Streams, 2);
  });

  it('counts TLS handshakes and the failed ones', async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      https.get({ port: ports.secure, host: '127.0.0.1', servername: 'www.surveyor.lab', ca: ROOT_CA, agent: false }, resolve).on('error', reject),
    );
    res.resume();
    await once(res, 'end');
    const plain = net.connect(ports.secure, '127.0.0.1');
    plain.on('error', () => {});
    plain.end('GET / HTTP/1.1\r\n\r\n');
    await once(plain, 'close');
    const secure = await until(runtime, 'secure', (m) => m.tlsHandshakes === 1 && m.tlsHandshakeErrors === 1 && m.statusClasses[2] === 1);
    assert.equal(secure.connections, 2);
  });

  it('counts a TCP connection, its bytes and its real server', async () => {
    const socket = net.connect(ports.stream, '127.0.0.1');
    socket.end('twelve bytes');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    await once(socket, 'close');
    assert.equal(Buffer.concat(chunks).toString(), 'twelve bytes');
    const stream = await until(runtime, 'stream', (m) => (m.terminations['ok'] ?? 0) === 1);
    assert.deepEqual([stream.connections, stream.requestBytes, stream.responseBytes], [1, 12, 12]);
    const server = runtime.stats().metrics?.realServers.find((r) => r.pool === 'stream');
    assert.deepEqual([server?.sessions, server?.requestBytes, server?.responseBytes], [1, 12, 12]);
  });

  it('counts a UDP session when it ends', async () => {
    const client = dgram.createSocket('udp4');
    try {
      client.send('ping', ports.datagrams, '127.0.0.1');
      const [reply] = await once(client, 'message');
      assert.equal(String(reply), 'ping');
    } finally {
      client.close();
    }
    const datagrams = await until(runtime, 'datagrams', (m) => (m.terminations['session-timeout'] ?? 0) === 1);
    assert.deepEqual([datagrams.connections, datagrams.requestBytes, datagrams.responseBytes], [1, 4, 4]);
  });
});
