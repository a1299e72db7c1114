// HTTP/2 over TLS: ALPN picks h2 or http/1.1 on the same port, HSTS and the client certificate's
// facts reach an HTTP/2 stream as they reach an HTTP/1.1 request, and a service that does not
// list h2 never speaks it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { WorkerRuntime } from '../../src/worker/runtime.ts';
import { startBackends, type Backends, type EchoReply } from '../helpers/backends.ts';
import { freePort } from '../helpers/processes.ts';
import { parseConfig } from '../l7/harness.ts';

const fixture = (name: string): string => path.join(import.meta.dirname, '..', 'fixtures', 'tls', name);
const ROOT_CA = readFileSync(fixture('root-ca.pem'));
const CLIENT = { cert: readFileSync(fixture('client.pem')), key: readFileSync(fixture('client.key')) };

function alpnOf(port: number, offered: string[]): Promise<string | false> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'www.surveyor.lab', ca: ROOT_CA, ALPNProtocols: offered }, () => {
      resolve(socket.alpnProtocol ?? false);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

describe('HTTP/2 over TLS (ALPN h2)', () => {
  let backends: Backends;
  let runtime: WorkerRuntime;
  let port = 0;
  let h1Only = 0;

  before(async () => {
    backends = await startBackends(1);
    port = await freePort();
    h1Only = await freePort();
    const certificates = [{ cert: fixture('www.surveyor.lab.rsa.pem'), key: fixture('www.surveyor.lab.rsa.key') }];
    runtime = new WorkerRuntime();
    await runtime.apply(
      parseConfig(
        stringify({
          workers: 1,
          accessLog: 'off',
          pools: [{ name: 'web', realServers: [{ address: backends.servers[0]!.address }] }],
          virtualServices: [
            {
              name: 'secure',
              listen: `127.0.0.1:${port}`,
              protocol: 'https',
              pool: 'web',
              tls: { certificates, alpn: ['h2', 'http/1.1'], hsts: { maxAge: '365d' }, clientAuth: { mode: 'optional', ca: fixture('clients-ca.pem') } },
              rules: [{ name: 'members', match: { clientCertificate: { verified: true } }, requestHeaders: { set: { 'X-Member': 'yes' } } }],
            },
            { name: 'h1-only', listen: `127.0.0.1:${h1Only}`, protocol: 'https', pool: 'web', tls: { certificates } },
          ],
        }),
      ),
    );
  });

  after(async () => {
    await runtime.drain(0);
    await backends.close();
  });

  it('chooses h2 for a client that offers it, http/1.1 for one that does not, and never h2 where alpn does not list it', async () => {
    assert.equal(await alpnOf(port, ['h2', 'http/1.1']), 'h2');
    assert.equal(await alpnOf(port, ['http/1.1']), 'http/1.1');
    assert.equal(await alpnOf(h1Only, ['h2', 'http/1.1']), 'http/1.1');
  });

  it('an h2 stream gets HSTS, X-Forwarded-Proto https and the client certificate facts, and the rule on them', async () => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca: ROOT_CA, servername: 'www.surveyor.lab', ...CLIENT });
    try {
      const { headers, body } = await new Promise<{ headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const stream = session.request({ ':path': '/echo', 'x-ssl-client-verify': 'FORGED' });
        let headers: http2.IncomingHttpHeaders = {};
        let body = '';
        stream.on('response', (h) => (headers = h));
        stream.setEncoding('utf8');
        stream.on('data', (c: string) => (body += c));
        stream.on('end', () => resolve({ headers, body }));
        stream.on('error', reject);
      });
      assert.equal(headers[':status'], 200);
      assert.match(String(headers['strict-transport-security']), /max-age=31536000/);
      const echo = JSON.parse(body) as EchoReply;
      assert.equal(echo.headers['x-forwarded-proto'], 'https');
      assert.equal(echo.headers['x-ssl-client-verify'], 'SUCCESS', 'the client copy is replaced');
      assert.match(String(echo.headers['x-ssl-client-s-dn']), /CN=/);
      assert.equal(echo.headers['x-member'], 'yes');
    } finally {
      session.close();
    }
  });

  it('HTTP/1.1 on the same port still works', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, path: '/', servername: 'www.surveyor.lab', ca: ROOT_CA, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    assert.equal(status, 200);
  });
});
