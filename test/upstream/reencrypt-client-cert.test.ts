// A client certificate towards the real servers (issue 11: "client certificate to the server"):
// real servers that require one signed by the clients' CA refuse a pool without it
// (upstream-tls-failed, 502 after the retries, over TLS 1.3 and 1.2), see the pool's certificate,
// or a server's own, and the pool's https checks pass only with it. The files are read at load
// with the front end's checks, and a changed file is used from the next load on.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SecureVersion, TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.ts';
import { clientCertificateWarnings, upstreamTlsFiles } from '../../src/config/upstream-tls.ts';
import { probeHttps } from '../../src/health/probe-https.ts';
import { WorkerRuntime } from '../../src/worker/runtime.ts';
import { freePort } from '../helpers/processes.ts';
import { parseConfig } from '../l7/harness.ts';
import { get, lastLogLine, poolConfig, type LogLine } from './reencrypt-harness.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'tls');
const fixture = (name: string): string => path.join(FIXTURES, name);
const pair = (base: string): { cert: string; key: string } => ({ cert: fixture(`${base}.pem`), key: fixture(`${base}.key`) });

interface MtlsBackend {
  address: string;
  server: https.Server;
  /** The CN of each client certificate a request came with. */
  subjects: string[];
  /** TLS errors of refused handshakes (no certificate, or one from another CA). */
  refused: number;
}

/** An HTTPS real server (app1.internal) that requires a client certificate from clients-ca. */
async function mtlsBackend(maxVersion: SecureVersion = 'TLSv1.3'): Promise<MtlsBackend> {
  const backend: MtlsBackend = { address: '', server: null as unknown as https.Server, subjects: [], refused: 0 };
  backend.server = https.createServer(
    { ...keyPair('app1.internal'), ca: readFileSync(fixture('clients-ca.pem')), requestCert: true, rejectUnauthorized: true, maxVersion, keepAliveTimeout: 10_000 },
    (req, res) => {
      const subject = String((req.socket as TLSSocket).getPeerCertificate().subject?.CN);
      backend.subjects.push(subject);
      res.setHeader('X-Client-CN', subject);
      res.end(`${subject}\n`);
    },
  );
  backend.server.on('tlsClientError', () => backend.refused++);
  backend.server.listen(0, '127.0.0.1');
  await once(backend.server, 'listening');
  backend.address = `127.0.0.1:${(backend.server.address() as AddressInfo).port}`;
  return backend;
}

function keyPair(base: string): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(fixture(`${base}.pem`)), key: readFileSync(fixture(`${base}.key`)) };
}

const LOG = path.join(mkdtempSync(path.join(tmpdir(), 'fulcrum-upstream-mtls-')), 'access.log');
const config = (port: number, pool: Record<string, unknown>): string => poolConfig(LOG, port, pool);
/** The access log's last line that ended otherwise than ok. */
const lastFailure = (): Promise<LogLine> => lastLogLine(LOG, (l) => l.termination !== undefined && l.termination !== 'ok');

/** Every problem of a config that should not load, as "path: message". */
function problems(text: string): string[] {
  const loaded = loadConfigText(text, 'test.yaml');
  assert.equal(loaded.ok, false, 'the config must be refused');
  return loaded.ok ? [] : loaded.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('a client certificate towards the real servers', () => {
  let tls13: MtlsBackend;
  let second: MtlsBackend;
  let tls12: MtlsBackend;
  let tls12b: MtlsBackend;
  let runtime: WorkerRuntime;
  let port: number;

  before(async () => {
    tls13 = await mtlsBackend();
    second = await mtlsBackend();
    tls12 = await mtlsBackend('TLSv1.2');
    tls12b = await mtlsBackend('TLSv1.2');
    port = await freePort();
    runtime = new WorkerRuntime();
  });
  after(async () => {
    await runtime.drain(0);
    for (const b of [tls13, second, tls12, tls12b]) {
      b.server.closeAllConnections();
      b.server.close();
    }
  });

  const servers = (...backends: MtlsBackend[]): Array<Record<string, unknown>> => backends.map((b) => ({ address: b.address, tls: { serverName: 'app1.internal' } }));

  for (const version of ['1.3', '1.2'] as const) {
    it(`without one, a server that requires it is refused: upstream-tls-failed, a 502 after the retries (TLS ${version})`, async () => {
      const backends = version === '1.3' ? [tls13, second] : [tls12, tls12b];
      const refused = (): number => backends.reduce((n, b) => n + b.refused, 0);
      const refusedBefore = refused();
      // TLS 1.3 lets the client finish first: the server's refusal arrives after the request is written.
      await runtime.apply(parseConfig(config(port, { tls: { ca: fixture('internal-ca.pem') }, realServers: servers(...backends) })));
      const res = await get(port);
      assert.equal(res.status, 502);
      assert.doesNotMatch(res.body, /ERR_|certificate/i, 'the client reads no internals');
      const line = await lastFailure();
      assert.equal(line.termination, 'upstream-tls-failed', JSON.stringify(line));
      assert.match(line.error ?? '', /ERR_SSL_/, 'the log says why');
      assert.equal(refused() - refusedBefore, 2, 'both servers refused a handshake (retries: 1)');
      assert.equal(backends[0]!.subjects.length + backends[1]!.subjects.length, 0, 'no request reached a server');
    });
  }

  it("with the pool's certificate, the server sees its subject (TLS 1.3 and 1.2)", async () => {
    await runtime.apply(parseConfig(config(port, { tls: { ca: fixture('internal-ca.pem'), ...pair('client') }, realServers: servers(tls13, tls12) })));
    for (let i = 0; i < 4; i++) {
      const res = await get(port);
      assert.equal(res.status, 200, res.body);
      assert.equal(res.body.trim(), 'client.surveyor.lab');
    }
    assert.deepEqual([...new Set(tls13.subjects)], ['client.surveyor.lab']);
    assert.deepEqual([...new Set(tls12.subjects)], ['client.surveyor.lab']);
  });

  it("a server's own cert and key replace the pool's", async () => {
    const pool = {
      tls: { ca: fixture('internal-ca.pem'), ...pair('client') },
      realServers: [
        { address: tls13.address, tls: { serverName: 'app1.internal' } },
        { address: second.address, tls: { serverName: 'app1.internal', ...pair('client-revoked') } },
      ],
    };
    await runtime.apply(parseConfig(config(port, pool)));
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add((await get(port)).body.trim());
    assert.deepEqual([...seen].sort(), ['client.surveyor.lab', 'revoked.surveyor.lab']);
    assert.deepEqual([...new Set(second.subjects)], ['revoked.surveyor.lab'], 'the second server saw only its own certificate');
  });

  it('a certificate from a CA the server does not trust: a 502', async () => {
    await runtime.apply(parseConfig(config(port, { tls: { ca: fixture('internal-ca.pem'), ...pair('stranger-client') }, realServers: servers(tls13, second) })));
    const refusedBefore = tls13.refused + second.refused;
    assert.equal((await get(port)).status, 502);
    assert.equal(tls13.refused + second.refused - refusedBefore, 2, 'both servers refused it (retries: 1)');
    // Node's server completes the handshake and then closes without an alert (OpenSSL servers,
    // HAProxy's among them, send unknown_ca): the close is all Fulcrum sees, so the log says reset.
    const line = await lastFailure();
    assert.equal(line.termination, 'upstream-reset', JSON.stringify(line));
  });

  it('a file changed on disk is used from the next load on (idle connections and the session retired)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fulcrum-upstream-mtls-files-'));
    const files = { cert: path.join(dir, 'client.pem'), key: path.join(dir, 'client.key') };
    const install = (base: string): void => {
      copyFileSync(fixture(`${base}.pem`), files.cert);
      copyFileSync(fixture(`${base}.key`), files.key);
    };
    install('client');
    const text = config(port, { tls: { ca: fixture('internal-ca.pem'), ...files }, realServers: servers(tls13) });
    await runtime.apply(parseConfig(text));
    assert.equal((await get(port)).body.trim(), 'client.surveyor.lab');
    install('client-revoked');
    await runtime.apply(parseConfig(text));
    assert.equal((await get(port)).body.trim(), 'revoked.surveyor.lab', 'the new certificate, not a kept connection or a resumed session');
    const parsed = parseConfig(text);
    assert.deepEqual(upstreamTlsFiles(parsed.pools).sort(), [fixture('internal-ca.pem'), files.cert, files.key].sort(), 'what the certificate watch needs');
  });

  it("the pool's https checks send it: they pass with it and fail without it, saying why", async () => {
    const withCert = parseConfig(config(8080, { tls: { ca: fixture('internal-ca.pem'), ...pair('client') }, healthCheck: { path: '/' }, realServers: servers(tls13, tls12) }));
    for (const rs of withCert.pools.find((p) => p.name === 'web')!.realServers) {
      assert.equal(rs.healthCheck.type, 'https');
      assert.equal(rs.healthCheck.tls.cert, fixture('client.pem'));
      const result = await probeHttps(rs.address, rs.healthCheck);
      assert.equal(result.ok, true, result.reason);
    }
    const without = parseConfig(config(8080, { tls: { ca: fixture('internal-ca.pem') }, healthCheck: { path: '/' }, realServers: servers(tls13, tls12) }));
    const [over13, over12] = without.pools.find((p) => p.name === 'web')!.realServers;
    const refused13 = await probeHttps(over13!.address, over13!.healthCheck);
    assert.equal(refused13.ok, false);
    assert.match(refused13.reason, /asks for a client certificate; give the pool's tls a cert and key/);
    const refused12 = await probeHttps(over12!.address, over12!.healthCheck);
    assert.equal(refused12.ok, false);
    assert.match(refused12.reason, /TLS handshake failed/);
    // A written https check keeps its own settings and sends the certificate too.
    const written = parseConfig(config(8080, { tls: { ca: fixture('internal-ca.pem'), ...pair('client') }, healthCheck: { type: 'https', path: '/' }, realServers: servers(tls13) }));
    const check = written.pools.find((p) => p.name === 'web')!.realServers[0]!.healthCheck;
    assert.deepEqual(check.tls, { verify: false, cert: fixture('client.pem'), key: fixture('client.key') });
    assert.equal((await probeHttps(written.pools.find((p) => p.name === 'web')!.realServers[0]!.address, check)).ok, true);
  });

  it('a bad pair fails the load with the certificate checks and codes, naming the file', () => {
    const at = (tls: Record<string, unknown>, own?: Record<string, unknown>): string =>
      config(8080, { tls: { ca: fixture('internal-ca.pem'), ...tls }, realServers: [{ address: '127.0.0.1:8443', ...(own !== undefined ? { tls: own } : {}) }] });
    assert.deepEqual(problems(at({ cert: fixture('client.pem') })), ['pools[0].tls.cert: cert needs key: a client certificate is a certificate file and its key file, given together']);
    assert.deepEqual(problems(at({}, { key: fixture('client.key') })), ['pools[0].realServers[0].tls.key: key needs cert: a client certificate is a certificate file and its key file, given together']);
    const [mismatch] = problems(at({ cert: fixture('client.pem'), key: fixture('client-revoked.key') }));
    assert.match(mismatch!, /^pools\[0\]\.tls\.key: the key in .*client-revoked\.key does not belong to the certificate in .*client\.pem.*\(FULCRUM_ERR_TLS_KEY_MISMATCH\)$/);
    const [missing] = problems(at({}, { cert: '/nonexistent/client.pem', key: fixture('client.key') }));
    assert.match(missing!, /^pools\[0\]\.realServers\[0\]\.tls\.cert: cannot read \/nonexistent\/client\.pem: no such file .*\(FULCRUM_ERR_TLS_READ\)$/);
    const [encrypted] = problems(at({ cert: fixture('www.surveyor.lab.rsa.pem'), key: fixture('encrypted.key') }));
    assert.match(encrypted!, /^pools\[0\]\.tls\.key: the private key in .*encrypted\.key is encrypted.*\(FULCRUM_ERR_TLS_PEM\)$/);
  });

  it('an expiring or expired client certificate is a warning for the log, once per pool and file', () => {
    const parsed = parseConfig(config(8080, { tls: pair('client'), realServers: [{ address: '127.0.0.1:8443' }, { address: '127.0.0.2:8443' }] }));
    assert.deepEqual(clientCertificateWarnings(parsed.pools, new Date()), []);
    const soon = clientCertificateWarnings(parsed.pools, new Date('2124-12-25T00:00:00Z'));
    assert.deepEqual(
      soon.map((w) => [w.code, w.file]),
      [['FULCRUM_WARN_TLS_EXPIRES_SOON', fixture('client.pem')]],
    );
    assert.match(soon[0]!.message, /^pool "web", client certificate for 127\.0\.0\.1:8443, 127\.0\.0\.2:8443: the certificate for client\.surveyor\.lab in .* expires on 2125-01-01T00:00:00Z \(in 7 days\)/);
    const expired = parseConfig(config(8080, { tls: pair('expired'), realServers: [{ address: '127.0.0.1:8443' }] }));
    const [gone] = clientCertificateWarnings(expired.pools, new Date());
    assert.equal(gone?.code, 'FULCRUM_WARN_TLS_EXPIRED');
    assert.match(gone!.message, /expired on 2024-01-01T00:00:00Z: real servers that ask for it refuse it; renew it and reload$/);
  });
});
