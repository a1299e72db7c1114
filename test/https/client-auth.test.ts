// Client certificates (mTLS) on protocol https, end to end in one worker: required refuses a
// client without a certificate that verifies (none, another CA's, a revoked one); optional serves
// every client and tells the real server what it found (X-SSL-Client-*, nginx's values); a
// client's own X-SSL-Client-* fields never reach the real server; and the config errors.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
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

interface ClientCert {
  cert: Buffer;
  key: Buffer;
}
const identity = (name: string): ClientCert => ({ cert: readFileSync(fixture(`${name}.pem`)), key: readFileSync(fixture(`${name}.key`)) });
const CLIENT = identity('client');
const REVOKED = identity('client-revoked');
const STRANGER = identity('stranger-client');

interface Attempt {
  /** The client's side of the handshake completed. */
  secureConnect: boolean;
  /** The error code the client saw ('' when none). */
  error: string;
  /** The raw response ('' when none). */
  response: string;
  /** The handshake resumed a session. */
  reused: boolean;
}

/** One request on a fresh TLS connection: what the client saw, whatever happened. */
function attempt(port: number, client: ClientCert | null, extra: tls.ConnectionOptions = {}, request = 'GET /echo HTTP/1.1\r\nHost: www.surveyor.lab\r\nConnection: close\r\n\r\n'): Promise<Attempt> {
  return new Promise((resolve) => {
    const result: Attempt = { secureConnect: false, error: '', response: '', reused: false };
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'www.surveyor.lab', ca: ROOT_CA, ...(client ?? {}), ...extra });
    socket.setEncoding('latin1');
    socket.on('secureConnect', () => {
      result.secureConnect = true;
      result.reused = socket.isSessionReused();
      socket.write(request);
    });
    socket.on('data', (chunk: string) => (result.response += chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => (result.error ||= err.code ?? err.message));
    socket.on('close', () => resolve(result));
  });
}

function echoOf(result: Attempt): EchoReply {
  assert.match(result.response, /^HTTP\/1\.1 200 /, `${result.error} ${result.response}`);
  return JSON.parse(result.response.slice(result.response.indexOf('\r\n\r\n') + 4)) as EchoReply;
}

describe('tls.clientAuth (one worker)', () => {
  let backends: Backends;
  let runtime: WorkerRuntime;
  let required: number;
  let optional: number;

  before(async () => {
    backends = await startBackends(1);
    required = await freePort();
    optional = await freePort();
    const clientAuth = { ca: fixture('clients-ca.pem'), crl: fixture('clients-ca.crl') };
    const service = (name: string, port: number, mode: string): Record<string, unknown> => ({
      name,
      listen: `127.0.0.1:${port}`,
      protocol: 'https',
      pool: 'web',
      tls: { certificates: [SURVEYOR], clientAuth: { mode, ...clientAuth } },
      rules: [
        // /admin: the one verified client; /members: any verified client.
        { name: 'admin-only', match: { path: { prefix: '/admin' }, not: { clientCertificate: { subject: { regex: '^CN=client\\.surveyor\\.lab,' } } } }, deny: { status: 403 } },
        { name: 'members', match: { path: { prefix: '/members' }, clientCertificate: { verified: false } }, deny: { status: 401 } },
      ],
    });
    const text = stringify({
      workers: 1,
      accessLog: 'off',
      pools: [{ name: 'web', realServers: backends.servers.map((b) => ({ address: b.address })) }],
      virtualServices: [service('required', required, 'required'), service('optional', optional, 'optional')],
    });
    runtime = new WorkerRuntime();
    await runtime.apply(parseConfig(text));
  });
  after(async () => {
    await runtime.drain(0);
    await backends.close();
  });

  it('required: a client without a certificate fails the handshake (TLS 1.2: before its Finished is answered)', async () => {
    const before = backends.servers[0]!.requests;
    const old = await attempt(required, null, { maxVersion: 'TLSv1.2' });
    assert.equal(old.secureConnect, false, 'the client never completes its handshake');
    assert.match(old.error, /ALERT_HANDSHAKE_FAILURE|ECONNRESET/);
    // TLS 1.3: the client's Finished is its last handshake message, so it believes it is done;
    // the server's certificate_required alert arrives on its first read.
    const modern = await attempt(required, null);
    assert.equal(modern.error, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    assert.equal(modern.response, '');
    assert.equal(backends.servers[0]!.requests, before, 'no real server saw a request');
  });

  it('required: a certificate of the CA gets through, and the real server learns who it is', async () => {
    const echo = echoOf(await attempt(required, CLIENT));
    const cert = new X509Certificate(CLIENT.cert);
    assert.equal(echo.headers['x-ssl-client-verify'], 'SUCCESS');
    assert.equal(echo.headers['x-ssl-client-s-dn'], 'CN=client.surveyor.lab,O=Fulcrum Test');
    assert.equal(echo.headers['x-ssl-client-i-dn'], 'CN=Fulcrum Test Clients CA,O=Fulcrum Test');
    assert.equal(echo.headers['x-ssl-client-serial'], 'C8');
    assert.equal(echo.headers['x-ssl-client-fingerprint'], cert.fingerprint256.replaceAll(':', '').toLowerCase());
  });

  it('required: a certificate of another CA, or a revoked one, is refused before any request is read', async () => {
    const before = backends.servers[0]!.requests;
    for (const client of [STRANGER, REVOKED]) {
      for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
        const result = await attempt(required, client, { maxVersion });
        assert.equal(result.response, '', `${maxVersion}: no answer`);
        assert.equal(result.error, 'ECONNRESET', `${maxVersion}: the client sees its connection fail`);
        // TLS 1.2: the server's Finished never leaves. TLS 1.3: the client's Finished is its last
        // handshake message, so it believes it is connected until the reset.
        assert.equal(result.secureConnect, maxVersion === 'TLSv1.3', maxVersion);
      }
    }
    assert.equal(backends.servers[0]!.requests, before, 'no real server saw a request');
  });

  it('optional: no certificate is NONE, another CA is FAILED:reason, a revoked one FAILED:certificate revoked', async () => {
    const none = echoOf(await attempt(optional, null));
    assert.equal(none.headers['x-ssl-client-verify'], 'NONE');
    assert.equal(none.headers['x-ssl-client-s-dn'], undefined);
    assert.equal(none.headers['x-ssl-client-fingerprint'], undefined);

    const stranger = echoOf(await attempt(optional, STRANGER));
    assert.match(String(stranger.headers['x-ssl-client-verify']), /^FAILED:unable to (get local issuer certificate|verify the first certificate)$/);
    assert.equal(stranger.headers['x-ssl-client-s-dn'], 'CN=stranger.surveyor.lab,O=Fulcrum Test');
    assert.equal(stranger.headers['x-ssl-client-serial'], '012E');

    const revoked = echoOf(await attempt(optional, REVOKED));
    assert.equal(revoked.headers['x-ssl-client-verify'], 'FAILED:certificate revoked');
    assert.equal(revoked.headers['x-ssl-client-serial'], 'C9');

    assert.equal(echoOf(await attempt(optional, CLIENT)).headers['x-ssl-client-verify'], 'SUCCESS');
  });

  it('rules match on the certificate: verified, and the subject of a verified one', async () => {
    const status = (r: Attempt): string => r.response.slice(9, 12);
    const get = (urlPath: string): string => `GET ${urlPath} HTTP/1.1\r\nHost: www.surveyor.lab\r\nConnection: close\r\n\r\n`;
    assert.equal(status(await attempt(optional, CLIENT, {}, get('/admin/echo'))), '200');
    assert.equal(status(await attempt(optional, REVOKED, {}, get('/admin/echo'))), '403');
    assert.equal(status(await attempt(optional, null, {}, get('/admin/echo'))), '403');
    assert.equal(status(await attempt(optional, CLIENT, {}, get('/members/echo'))), '200');
    assert.equal(status(await attempt(optional, STRANGER, {}, get('/members/echo'))), '401');
    assert.equal(status(await attempt(optional, null, {}, get('/members/echo'))), '401');
  });

  it("a client's own X-SSL-Client-* fields are replaced, or removed when there is nothing to say", async () => {
    const forged =
      'GET /echo HTTP/1.1\r\nHost: www.surveyor.lab\r\nX-SSL-Client-Verify: SUCCESS\r\nx-ssl-client-s-dn: CN=admin\r\nX-SSL-Client-I-DN: CN=Fulcrum Test Clients CA\r\n' +
      'X-SSL-Client-Serial: 01\r\nX-SSL-Client-Fingerprint: 00\r\nX-SSL-Client-Verify: SUCCESS\r\nConnection: close\r\n\r\n';
    const anonymous = echoOf(await attempt(optional, null, {}, forged));
    assert.equal(anonymous.headers['x-ssl-client-verify'], 'NONE');
    for (const name of ['x-ssl-client-s-dn', 'x-ssl-client-i-dn', 'x-ssl-client-serial', 'x-ssl-client-fingerprint']) assert.equal(anonymous.headers[name], undefined, name);
    assert.equal(anonymous.rawHeaders.filter((h) => h.toLowerCase() === 'x-ssl-client-verify').length, 1);

    const known = echoOf(await attempt(required, CLIENT, {}, forged));
    assert.equal(known.headers['x-ssl-client-s-dn'], 'CN=client.surveyor.lab,O=Fulcrum Test');
    assert.equal(known.headers['x-ssl-client-serial'], 'C8');
    assert.equal(known.rawHeaders.filter((h) => h.toLowerCase() === 'x-ssl-client-s-dn').length, 1);
  });

  it('every request of a keep-alive connection carries the facts, and a resumed session keeps them', async () => {
    const twice = 'GET /echo HTTP/1.1\r\nHost: www.surveyor.lab\r\n\r\nGET /echo HTTP/1.1\r\nHost: www.surveyor.lab\r\nConnection: close\r\n\r\n';
    const result = await attempt(required, CLIENT, {}, twice);
    assert.equal(result.response.match(/"x-ssl-client-verify":"SUCCESS"/g)?.length, 2, result.response);

    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      let session: Buffer | undefined;
      const first = await new Promise<Attempt>((resolve) => {
        const res: Attempt = { secureConnect: false, error: '', response: '', reused: false };
        const socket = tls.connect({ host: '127.0.0.1', port: required, servername: 'www.surveyor.lab', ca: ROOT_CA, maxVersion, ...CLIENT });
        socket.setEncoding('latin1');
        socket.on('session', (s: Buffer) => (session = s));
        socket.on('secureConnect', () => socket.write('GET /echo HTTP/1.1\r\nHost: www.surveyor.lab\r\nConnection: close\r\n\r\n'));
        socket.on('data', (c: string) => (res.response += c));
        socket.on('error', (err: NodeJS.ErrnoException) => (res.error ||= err.code ?? ''));
        socket.on('close', () => resolve(res));
      });
      assert.equal(echoOf(first).headers['x-ssl-client-verify'], 'SUCCESS');
      assert.ok(session !== undefined, `${maxVersion}: a session to resume`);
      const resumed = await attempt(required, CLIENT, { maxVersion, session });
      assert.ok(resumed.reused, `${maxVersion}: the session was resumed`);
      assert.equal(echoOf(resumed).headers['x-ssl-client-s-dn'], 'CN=client.surveyor.lab,O=Fulcrum Test', maxVersion);
    }
  });
});

describe('tls.clientAuth config errors', () => {
  const base = (clientAuth: Record<string, unknown>): string =>
    stringify({
      virtualServices: [{ name: 'secure', listen: '127.0.0.1:8443', protocol: 'https', realServers: [{ address: '127.0.0.1:9001' }], tls: { certificates: [SURVEYOR], clientAuth } }],
    });
  const problems = (text: string): string[] => {
    const loaded = loadConfigText(text, 'fulcrum.yaml');
    assert.equal(loaded.ok, false);
    return loaded.ok ? [] : loaded.problems.map((p) => `${p.path}: ${p.message}`);
  };

  it('optional and required need ca', () => {
    const found = problems(base({ mode: 'required' }));
    assert.ok(found.some((p) => p.includes('tls.clientAuth.ca') && /needs ca|missing/.test(p)), found.join('\n'));
  });

  it('names a CA file that cannot be read, or holds no certificate', () => {
    const missing = problems(base({ mode: 'optional', ca: fixture('nope-ca.pem') }));
    assert.ok(missing.some((p) => p.includes('tls.clientAuth.ca') && p.includes('nope-ca.pem') && p.includes('FULCRUM_ERR_TLS_READ')), missing.join('\n'));
    const notCa = problems(base({ mode: 'optional', ca: fixture('client.key') }));
    assert.ok(notCa.some((p) => p.includes('client.key') && p.includes('FULCRUM_ERR_TLS_PEM')), notCa.join('\n'));
  });

  it('names a CRL file that holds no CRL', () => {
    const found = problems(base({ mode: 'required', ca: fixture('clients-ca.pem'), crl: fixture('client.pem') }));
    assert.ok(found.some((p) => p.includes('tls.clientAuth.crl') && p.includes('client.pem') && p.includes('FULCRUM_ERR_TLS_CRL')), found.join('\n'));
  });

  it('refuses a clientCertificate rule on a service that asks for no certificate', () => {
    const text = stringify({
      virtualServices: [
        {
          name: 'secure',
          listen: '127.0.0.1:8443',
          protocol: 'https',
          realServers: [{ address: '127.0.0.1:9001' }],
          tls: { certificates: [SURVEYOR] },
          rules: [{ name: 'members', match: { clientCertificate: { verified: false } }, deny: { status: 401 } }],
        },
      ],
    });
    const found = problems(text);
    assert.ok(found.some((p) => p.includes('rules[0].match') && p.includes('tls.clientAuth')), found.join('\n'));
  });

  it('refuses a header condition on X-SSL-Client-* where clientAuth is on: the client wrote it', () => {
    const text = stringify({
      virtualServices: [
        {
          name: 'secure',
          listen: '127.0.0.1:8443',
          protocol: 'https',
          realServers: [{ address: '127.0.0.1:9001' }],
          tls: { certificates: [SURVEYOR], clientAuth: { mode: 'optional', ca: fixture('clients-ca.pem') } },
          rules: [{ name: 'trusting', match: { any: [{ header: { name: 'X-SSL-Client-Verify', equals: 'SUCCESS' } }] }, deny: { status: 403 } }],
        },
      ],
    });
    const found = problems(text);
    assert.ok(found.some((p) => p.includes('rules[0].match') && p.includes('x-ssl-client-verify') && p.includes('clientCertificate')), found.join('\n'));
  });

  it('is refused on a tcp service (a stream has no request to carry the facts)', () => {
    const text = stringify({
      virtualServices: [{ name: 'caster', listen: '127.0.0.1:2102', protocol: 'tcp', realServers: [{ address: '127.0.0.1:9001' }], tls: { certificates: [SURVEYOR], clientAuth: { mode: 'none' } } }],
    });
    const found = problems(text);
    assert.ok(found.some((p) => p.includes('clientAuth')), found.join('\n'));
  });

  it('accepts a valid block and defaults to none', () => {
    const loaded = loadConfigText(base({ mode: 'required', ca: fixture('clients-ca.pem'), crl: fixture('clients-ca.crl') }), 'fulcrum.yaml');
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.problems.map((p) => p.message).join('\n'));
    const plain = loadConfigText(base({}), 'fulcrum.yaml');
    assert.ok(plain.ok);
    const vs = plain.config.virtualServices[0]!;
    assert.equal(vs.protocol === 'https' ? vs.tls.clientAuth.mode : '', 'none');
  });
});
