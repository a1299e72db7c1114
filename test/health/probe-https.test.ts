import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { probeHttp } from '../../src/health/probe-http.ts';
import { probeHttps } from '../../src/health/probe-https.ts';
import { loadConfigText } from '../../src/config/load.ts';
import { HealthMonitor } from '../../src/health/monitor.ts';
import { recordingLogger, waitFor } from './monitor-helpers.ts';
import { checkSpec, hostPort, http, selfSignedCertificate, startServer, startTlsServer, type Certificate, type TestServer } from './servers.ts';

const NAME = 'ntrip.surveyor.lab';
let cert: Certificate;
let expired: Certificate;
let server: TestServer;
let expiredServer: TestServer;

before(async () => {
  cert = selfSignedCertificate(NAME, 20);
  expired = selfSignedCertificate('old.surveyor.lab', -1);
  server = await startTlsServer(cert, () => http(200, 'OK'));
  expiredServer = await startTlsServer(expired, () => http(200, 'OK'));
});
after(async () => {
  await server.close();
  await expiredServer.close();
});

describe('https check', () => {
  it('verify off (the default) accepts a self-signed certificate and reports its expiry', async () => {
    const result = await probeHttps(hostPort(server.address), checkSpec({ type: 'https', host: NAME }));
    assert.equal(result.ok, true, result.reason);
    const certificate = result.detail?.certificate;
    assert.ok(certificate !== undefined);
    assert.equal(certificate.subject, `CN=${NAME}`);
    assert.equal(certificate.chainValid, false);
    assert.equal(certificate.chainError, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.ok(certificate.daysToExpiry >= 19 && certificate.daysToExpiry <= 20, String(certificate.daysToExpiry));
    assert.ok(Math.abs(Date.parse(certificate.validTo) - (Date.now() + 20 * 86_400_000)) < 120_000, certificate.validTo);
    // Under 30 days left: a passing check says so.
    assert.match(result.reason, /^HTTP 200 in .* ms; certificate expires on \d{4}-\d\d-\d\d \(in (19|20) days\)$/);
  });

  it('sends host (without its port) as SNI, and as Host', async () => {
    const before = server.requests.length;
    const result = await probeHttps(hostPort(server.address), checkSpec({ type: 'https', host: `${NAME}:8443` }));
    assert.equal(result.ok, true, result.reason);
    const request = server.requests[before];
    assert.equal(request?.serverName, NAME);
    assert.equal(request?.headers.get('host'), `${NAME}:8443`);
    assert.equal(result.detail?.serverName, NAME);
  });

  it('sends no SNI when host is an IP address (the default: the real server address)', async () => {
    const before = server.requests.length;
    const result = await probeHttps(hostPort(server.address), checkSpec({ type: 'https' }));
    assert.equal(result.ok, true, result.reason);
    assert.equal(server.requests[before]?.serverName, null);
    assert.equal(result.detail?.serverName, null);
  });

  it('verify on refuses a self-signed certificate, saying what to do', async () => {
    const result = await probeHttps(hostPort(server.address), checkSpec({ type: 'https', host: NAME, tls: { verify: true } }));
    assert.equal(result.ok, false);
    assert.equal(result.reason, 'TLS: the certificate is self-signed and not trusted; trust its CA, or set tls.verify false');
    assert.equal(server.requests.filter((r) => r.serverName === NAME).length >= 1, true);
  });

  it('verify on accepts a certificate from a trusted CA that names host', async () => {
    const result = await probeHttps(hostPort(server.address), checkSpec({ type: 'https', host: NAME, tls: { verify: true } }), undefined, { ca: cert.cert });
    assert.equal(result.ok, true, result.reason);
    assert.equal(result.detail?.certificate?.chainValid, true);
  });

  it('verify on refuses a certificate that does not name host', async () => {
    const result = await probeHttps(hostPort(server.address), checkSpec({ type: 'https', host: 'www.surveyor.lab', tls: { verify: true } }), undefined, {
      ca: cert.cert,
    });
    assert.equal(result.ok, false);
    assert.equal(result.reason, `TLS: the certificate does not name "www.surveyor.lab"; it names DNS:${NAME}; set host to one of those names`);
  });

  it('verify on refuses an expired certificate, naming the day; verify off passes and still says it expired', async () => {
    const strict = await probeHttps(hostPort(expiredServer.address), checkSpec({ type: 'https', host: 'old.surveyor.lab', tls: { verify: true } }), undefined, {
      ca: expired.cert,
    });
    assert.equal(strict.ok, false);
    assert.match(strict.reason, /^TLS: certificate expired on \d{4}-\d\d-\d\d \(1 day ago\)$/);
    const lax = await probeHttps(hostPort(expiredServer.address), checkSpec({ type: 'https', host: 'old.surveyor.lab' }));
    assert.equal(lax.ok, true, lax.reason);
    assert.match(lax.reason, /; certificate expired on \d{4}-\d\d-\d\d/);
    assert.ok((lax.detail?.certificate?.daysToExpiry ?? 0) < 0);
  });

  it('an https check on a plain http port, and an http check on a TLS port, say which type to use', async () => {
    // A plain HTTP server answers a TLS ClientHello with 400, as nginx does.
    const plain = createServer((socket) => socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const wrongTls = await probeHttps({ host: '127.0.0.1', port: (plain.address() as AddressInfo).port }, checkSpec({ type: 'https' }));
      assert.equal(wrongTls.ok, false);
      assert.match(wrongTls.reason, /TLS handshake failed on 127\.0\.0\.1:[0-9]+: the port does not speak TLS; use type http/);
    } finally {
      await new Promise((resolve) => plain.close(resolve));
    }
    // Node's TLS server closes without a word; OpenSSL-based ones send an alert; nginx answers 400 in plain HTTP.
    const wrongPlain = await probeHttp(hostPort(server.address), checkSpec({ type: 'http' }));
    assert.equal(wrongPlain.ok, false);
    assert.match(wrongPlain.reason, /closed the connection without answering "GET \/ HTTP\/1.1"; if this port serves https, use type https$/);
    const alerts = await startServer(() => Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]));
    const nginx = await startServer(() => http(400, '<html><center>The plain HTTP request was sent to HTTPS port</center></html>'));
    try {
      const alert = await probeHttp(hostPort(alerts.address), checkSpec({ type: 'http', httpVersion: '1.0' }));
      assert.match(alert.reason, /is TLS, not HTTP: the port serves https; use type https$/);
      const plainToTls = await probeHttp(hostPort(nginx.address), checkSpec({ type: 'http', httpVersion: '1.0' }));
      assert.equal(plainToTls.reason, `HTTP 400 to "GET / HTTP/1.0": ${nginx.address} serves https ("The plain HTTP request was sent to HTTPS port"); use type https`);
    } finally {
      await alerts.close();
      await nginx.close();
    }
  });

  it("the monitor's status carries the certificate's expiry", async () => {
    const text = [
      'virtualServices:',
      '  - name: tls-web',
      '    listen: 127.0.0.1:8443',
      '    protocol: http',
      `    healthCheck: { type: https, host: ${NAME}, interval: 100ms, timeout: 50ms }`,
      '    realServers:',
      `      - address: ${server.address}`,
    ].join('\n');
    const loaded = loadConfigText(text, 'x.yaml');
    assert.ok(loaded.ok);
    const monitor = new HealthMonitor({ logger: recordingLogger() });
    monitor.apply(loaded.config);
    try {
      await waitFor(() => monitor.status()['tls-web']?.[server.address]?.lastCheck !== null, 2000);
      const entry = monitor.status()['tls-web']?.[server.address];
      assert.equal(entry?.up, true, entry?.reason);
      assert.ok(Math.abs(Date.parse(entry?.certificateExpires ?? '') - (Date.now() + 20 * 86_400_000)) < 120_000, entry?.certificateExpires);
      assert.equal(entry?.check, `https "GET / HTTP/1.1" to ${server.address}, Host: ${NAME}, SNI: ${NAME}`);
    } finally {
      monitor.stop();
    }
  });
});
