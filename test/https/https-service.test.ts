// protocol https end to end in one worker: certificates by SNI, X-Forwarded-Proto, HSTS, the
// redirect service, a reload that changes certificates under an open connection, the handshake
// timeout, and the config errors a user sees.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.ts';
import { WorkerRuntime } from '../../src/worker/runtime.ts';
import { startBackends, type Backends, type EchoReply } from '../helpers/backends.ts';
import { freePort } from '../helpers/processes.ts';
import { parseConfig } from '../l7/harness.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'tls');
const fixture = (name: string): string => path.join(FIXTURES, name);
const ROOT_CA = readFileSync(fixture('root-ca.pem'));

const SURVEYOR = { cert: fixture('www.surveyor.lab.rsa.pem'), key: fixture('www.surveyor.lab.rsa.key') };
const SURVEYOR_EC = { cert: fixture('www.surveyor.lab.ecdsa.pem'), key: fixture('www.surveyor.lab.ecdsa.key') };
const WILDCARD = { cert: fixture('wildcard.bussines.lab.pem'), key: fixture('wildcard.bussines.lab.key') };
const MULTI = { cert: fixture('multi.lab.pem'), key: fixture('multi.lab.key') };

interface Ports {
  https: number;
  http: number;
  proxied: number;
}

function configText(ports: Ports, backends: Backends, certificates: Array<{ cert: string; key: string }>, extra: Record<string, unknown> = {}): string {
  return stringify({
    workers: 1,
    accessLog: 'off',
    pools: [{ name: 'web', realServers: backends.servers.map((b) => ({ address: b.address })) }],
    virtualServices: [
      {
        name: 'secure',
        listen: `127.0.0.1:${ports.https}`,
        protocol: 'https',
        pool: 'web',
        tls: { certificates, policy: 'intermediate', hsts: { maxAge: '365d' }, handshakeTimeout: '300ms', ...extra },
      },
      { name: 'plain', listen: `127.0.0.1:${ports.http}`, protocol: 'http', redirectToHttps: { port: ports.https } },
      { name: 'behind-balancer', listen: `127.0.0.1:${ports.proxied}`, protocol: 'https', acceptProxyProtocol: true, pool: 'web', tls: { certificates } },
    ],
  });
}

/** One HTTPS request; the server certificate's names and the reply. */
async function get(port: number, servername: string | undefined, urlPath: string, agent: https.Agent | false = false): Promise<{ status: number; headers: Record<string, unknown>; body: string; peerNames: string; socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: urlPath, ca: ROOT_CA, servername: servername ?? '', headers: { Host: servername ?? '127.0.0.1' }, agent, checkServerIdentity: () => undefined },
      (res) => {
        const cert = (res.socket as tls.TLSSocket).getPeerCertificate();
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, peerNames: `${cert.subject?.CN ?? ''}|${cert.subjectaltname ?? ''}`, socket: res.socket as tls.TLSSocket }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('protocol https (one worker)', () => {
  let backends: Backends;
  let runtime: WorkerRuntime;
  let ports: Ports;

  before(async () => {
    backends = await startBackends(1);
    ports = { https: await freePort(), http: await freePort(), proxied: await freePort() };
    runtime = new WorkerRuntime();
    await runtime.apply(parseConfig(configText(ports, backends, [SURVEYOR, SURVEYOR_EC, WILDCARD, MULTI])));
  });
  after(async () => {
    await runtime.drain(0);
    await backends.close();
  });

  it('picks the certificate by SNI: exact, wildcard, SAN, and the first one without SNI', async () => {
    assert.match((await get(ports.https, 'www.surveyor.lab', '/')).peerNames, /DNS:www\.surveyor\.lab/);
    assert.match((await get(ports.https, 'api.bussines.lab', '/')).peerNames, /DNS:\*\.bussines\.lab/);
    assert.match((await get(ports.https, 'b.multi.lab', '/')).peerNames, /DNS:b\.multi\.lab/);
    assert.match((await get(ports.https, undefined, '/')).peerNames, /DNS:www\.surveyor\.lab/);
    assert.match((await get(ports.https, 'unknown.example', '/')).peerNames, /DNS:www\.surveyor\.lab/);
  });

  it('serves the RSA or the ECDSA certificate of a name, by what the client supports', async () => {
    const keyOf = async (sigalgs: string): Promise<string> => {
      const socket = tls.connect({ host: '127.0.0.1', port: ports.https, servername: 'www.surveyor.lab', ca: ROOT_CA, sigalgs });
      await once(socket, 'secureConnect');
      const cert = socket.getPeerCertificate();
      socket.destroy();
      assert.match(cert.subjectaltname ?? '', /www\.surveyor\.lab/);
      return cert.asn1Curve !== undefined ? `ec:${cert.asn1Curve}` : `rsa:${cert.bits}`;
    };
    assert.equal(await keyOf('ecdsa_secp256r1_sha256'), 'ec:prime256v1');
    assert.equal(await keyOf('rsa_pss_rsae_sha256:rsa_pkcs1_sha256'), 'rsa:2048');
  });

  it('forwards with X-Forwarded-Proto https and answers with HSTS', async () => {
    const res = await get(ports.https, 'www.surveyor.lab', '/echo');
    assert.equal(res.status, 200);
    const echo = JSON.parse(res.body) as EchoReply;
    assert.equal(echo.headers['x-forwarded-proto'], 'https');
    assert.equal(echo.headers['x-forwarded-host'], 'www.surveyor.lab');
    assert.equal(res.headers['strict-transport-security'], 'max-age=31536000');
  });

  it('redirectToHttps sends every request to the same host, path and query over HTTPS', async () => {
    const before = backends.servers[0]!.requests;
    const socket = net.connect(ports.http, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /maps/tile?z=3&x=1 HTTP/1.1\r\nHost: www.surveyor.lab:8080\r\n\r\n');
    let text = '';
    socket.setEncoding('latin1');
    while (!text.includes('\r\n\r\n')) text += (await once(socket, 'data'))[0] as string;
    socket.destroy();
    assert.match(text, /^HTTP\/1\.1 301 /);
    assert.match(text, new RegExp(`\\r\\nLocation: https://www\\.surveyor\\.lab:${ports.https}/maps/tile\\?z=3&x=1\\r\\n`));
    assert.equal(backends.servers[0]!.requests, before, 'no real server saw it');
  });

  it('a reload serves new certificates to new handshakes while an open connection goes on', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(ports.https, 'www.surveyor.lab', '/', agent);
      assert.match(first.peerNames, /www\.surveyor\.lab/);
      // The wildcard certificate first: the default (no SNI) changes.
      await runtime.apply(parseConfig(configText(ports, backends, [WILDCARD, SURVEYOR])));
      const again = await get(ports.https, 'www.surveyor.lab', '/', agent);
      assert.equal(again.status, 200, 'the open keep-alive connection still serves');
      assert.equal(again.socket, first.socket, 'on the same TLS connection');
      assert.match(again.peerNames, /www\.surveyor\.lab/);
      assert.match((await get(ports.https, undefined, '/')).peerNames, /\*\.bussines\.lab/, 'a new handshake gets the new default');
    } finally {
      agent.destroy();
      await runtime.apply(parseConfig(configText(ports, backends, [SURVEYOR, WILDCARD, MULTI])));
    }
  });

  it('reads a PROXY header in clear before the ClientHello, even in the same packet', async () => {
    const raw = net.connect(ports.proxied, '127.0.0.1');
    await once(raw, 'connect');
    // One write for the header and the ClientHello: the worker reads both in one chunk.
    raw.cork();
    raw.write('PROXY TCP4 203.0.113.7 127.0.0.1 40000 443\r\n');
    const socket = tls.connect({ socket: raw, servername: 'b.multi.lab', ca: ROOT_CA });
    process.nextTick(() => raw.uncork());
    await once(socket, 'secureConnect');
    assert.match(socket.getPeerCertificate().subjectaltname ?? '', /b\.multi\.lab/);
    socket.write('GET /echo HTTP/1.1\r\nHost: b.multi.lab\r\nConnection: close\r\n\r\n');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (text += c));
    await once(socket, 'end');
    socket.destroy();
    const echo = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as EchoReply;
    assert.equal(echo.headers['x-forwarded-for'], '203.0.113.7');
  });

  it('reads a ClientHello that arrives a byte at a time, and picks its certificate by SNI', async () => {
    const raw = net.connect(ports.https, '127.0.0.1');
    await once(raw, 'connect');
    raw.setNoDelay(true);
    let first = true;
    const trickle = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        if (!first) return void raw.write(chunk, done);
        first = false;
        void (async () => {
          for (const byte of chunk) {
            raw.write(Buffer.from([byte]));
            await new Promise((resolve) => setImmediate(resolve));
          }
          done();
        })();
      },
    });
    raw.on('data', (data: Buffer) => trickle.push(data));
    raw.on('end', () => trickle.push(null));
    const socket = tls.connect({ socket: trickle, servername: 'a.multi.lab', ca: ROOT_CA });
    await once(socket, 'secureConnect');
    assert.match(socket.getPeerCertificate().subjectaltname ?? '', /a\.multi\.lab/);
    socket.destroy();
    raw.destroy();
  });

  it('closes a client that does not finish its handshake within handshakeTimeout', async () => {
    const socket = net.connect(ports.https, '127.0.0.1');
    await once(socket, 'connect');
    const started = performance.now();
    socket.write(Buffer.from([0x16, 0x03, 0x01])); // the start of a record, then nothing
    socket.resume();
    await once(socket, 'close');
    const waited = performance.now() - started;
    assert.ok(waited >= 250, `closed after ${waited.toFixed(0)} ms, before the 300 ms timeout`);
    assert.ok(waited < 2000, `closed after ${waited.toFixed(0)} ms`);
  });

  it('closes at once a client that ends before its hello is complete (a port probe), not at the handshake timeout', async () => {
    const socket = net.connect(ports.https, '127.0.0.1');
    await once(socket, 'connect');
    const started = performance.now();
    socket.end('\n'); // what `echo > /dev/tcp/HOST/PORT` sends
    socket.resume();
    await once(socket, 'close');
    const waited = performance.now() - started;
    assert.ok(waited < 250, `closed after ${waited.toFixed(0)} ms: it waited for the 300 ms handshake timeout`);
  });

  it('a TLS 1.1 client is refused by the intermediate policy, and the worker serves on', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: ports.https, servername: 'www.surveyor.lab', ca: ROOT_CA, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    const [error] = (await once(socket, 'error').catch((e: unknown) => [e])) as [Error];
    assert.match(String((error as NodeJS.ErrnoException).code ?? error.message), /ALERT|VERSION|ECONNRESET/i);
    assert.equal((await get(ports.https, 'www.surveyor.lab', '/')).status, 200);
  });

  it('refuses a TLS 1.2 client that asks to renegotiate (a DoS testssl rates HIGH); the worker serves on', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: ports.https, servername: 'www.surveyor.lab', ca: ROOT_CA, maxVersion: 'TLSv1.2' });
    await once(socket, 'secureConnect');
    assert.equal(socket.getProtocol(), 'TLSv1.2');
    const outcome = await new Promise<string>((resolve) => {
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code ?? e.message}`));
      socket.on('close', () => resolve('closed'));
      const asked = socket.renegotiate({ rejectUnauthorized: false }, (error) => resolve(error === null ? 'renegotiated' : `refused ${error.message}`));
      if (!asked) resolve('refused locally');
      // The server answers nothing to a refused renegotiation (a warning alert): a request on the
      // same connection then shows whether it still serves.
      socket.write('GET / HTTP/1.1\r\nHost: www.surveyor.lab\r\n\r\n');
    });
    socket.destroy();
    assert.notEqual(outcome, 'renegotiated');
    assert.equal((await get(ports.https, 'www.surveyor.lab', '/')).status, 200);
  });
});

describe('https config errors', () => {
  const base = (tlsBlock: Record<string, unknown>): string =>
    stringify({
      virtualServices: [{ name: 'secure', listen: '127.0.0.1:8443', protocol: 'https', realServers: [{ address: '127.0.0.1:9001' }], tls: tlsBlock }],
    });
  const problems = (text: string): string[] => {
    const loaded = loadConfigText(text, 'fulcrum.yaml');
    assert.equal(loaded.ok, false);
    return loaded.ok ? [] : loaded.problems.map((p) => `${p.path}: ${p.message}`);
  };

  it('names the file of a key that does not belong to its certificate', () => {
    const found = problems(base({ certificates: [{ cert: SURVEYOR.cert, key: WILDCARD.key }] }));
    assert.ok(found.some((p) => p.includes('tls.certificates[0]') && p.includes('FULCRUM_ERR_TLS_KEY_MISMATCH') && p.includes('wildcard.bussines.lab.key')), found.join('\n'));
  });

  it('names a file that cannot be read', () => {
    const found = problems(base({ certificates: [{ cert: fixture('nope.pem'), key: SURVEYOR.key }] }));
    assert.ok(found.some((p) => p.includes('nope.pem') && p.includes('FULCRUM_ERR_TLS_READ')), found.join('\n'));
  });

  it('takes h2 in alpn, refuses a protocol listed twice, h2c on https, and an unknown policy with the allowed ones', () => {
    assert.equal(loadConfigText(base({ certificates: [SURVEYOR], alpn: ['h2', 'http/1.1'] }), 'fulcrum.yaml').ok, true);
    assert.ok(problems(base({ certificates: [SURVEYOR], alpn: ['h2', 'h2'] })).some((p) => p.includes('each protocol once')));
    const cleartext = loadConfigText(
      stringify({ virtualServices: [{ name: 's', listen: '127.0.0.1:8443', protocol: 'https', realServers: [{ address: '127.0.0.1:9001' }], tls: { certificates: [SURVEYOR] }, http2: { cleartext: true } }] }),
      'fulcrum.yaml',
    );
    assert.equal(cleartext.ok, false);
    const policy = loadConfigText(base({ certificates: [SURVEYOR], policy: 'paranoid' }), 'fulcrum.yaml');
    assert.equal(policy.ok, false);
    if (!policy.ok) assert.match(JSON.stringify(policy.problems), /modern.*intermediate.*old/);
  });

  it('an https service needs tls, and a redirectToHttps service takes no rules or pool', () => {
    assert.equal(loadConfigText(stringify({ virtualServices: [{ name: 's', listen: '127.0.0.1:8443', protocol: 'https', realServers: [{ address: '127.0.0.1:9001' }] }] }), 'f.yaml').ok, false);
    const withPool = problems(
      stringify({ virtualServices: [{ name: 'plain', listen: '127.0.0.1:8080', protocol: 'http', redirectToHttps: {}, realServers: [{ address: '127.0.0.1:9001' }] }] }),
    );
    assert.ok(withPool.some((p) => p.includes('would never be used')), withPool.join('\n'));
    const withRules = problems(
      stringify({
        virtualServices: [{ name: 'plain', listen: '127.0.0.1:8080', protocol: 'http', redirectToHttps: {}, rules: [{ name: 'r', match: { path: { prefix: '/a' } }, deny: {} }] }],
      }),
    );
    assert.ok(withRules.some((p) => p.includes('its rules would never run')), withRules.join('\n'));
  });
});
