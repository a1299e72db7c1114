// tls.acme end to end against pebble, Let's Encrypt's ACME test CA (Debian package pebble, from
// scripts/install-peers.sh), with pebble-challtestsrv as the DNS server that points every name
// at 127.0.0.1. Fulcrum (two workers) obtains certificates by http-01 (pebble fetches
// http://NAME:<httpPort>/.well-known/acme-challenge/..., answered by Fulcrum's http service)
// and by tls-alpn-01 (pebble connects to NAME:<tlsPort> offering acme-tls/1, answered by the
// https service there); curl then verifies what Fulcrum serves up to pebble's root; pebble
// issues 40-second certificates, so Fulcrum renews them on its own after about 27 s; a name
// taken out of the config is revoked (pebble's management API says Revoked, reason 5) and its
// files deleted; and a name that is not in the config is never ordered.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { freePort, startBackends, startFulcrum, type Backends, type Fulcrum, type LogLine } from '../test/helpers/fulcrum.ts';
import { run, startProcess, teardown, waitForPort, type ManagedProcess } from '../test/helpers/processes.ts';
import { curl } from './curl.ts';
import { peer, requirePeers } from './peers.ts';

/** Pebble's certificates live this long; Fulcrum renews at two thirds (about 27 s). */
const LIFETIME_S = 40;

interface Ports {
  directory: number;
  management: number;
  dns: number;
  challtestManagement: number;
  http: number;
  alpn: number;
  https: number;
  admin: number;
}

/** GET over HTTPS trusting `ca` (pebble's own TLS); the body as text. */
function fetchText(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('tls.acme against pebble (issue, serve, renew, revoke)', () => {
  let workDir = '';
  let ports: Ports;
  let challtest: ManagedProcess | undefined;
  let pebble: ManagedProcess | undefined;
  let backends: Backends | undefined;
  let fulcrum: Fulcrum | undefined;
  let pebbleCa = '';
  let root = '';
  let storage = '';

  const config = (httpNames: string[]): string =>
    stringify({
      workers: 2,
      accessLog: 'off',
      admin: { listen: `127.0.0.1:${ports.admin}` },
      pools: [{ name: 'web', realServers: backends!.servers.map((b) => ({ address: b.address })) }],
      virtualServices: [
        {
          // pebble's tlsPort: tls-alpn-01 is answered here.
          name: 'alpn',
          listen: `127.0.0.1:${ports.alpn}`,
          protocol: 'https',
          pool: 'web',
          tls: { acme: { names: ['alpn.fulcrum.test'], challenge: 'tls-alpn-01', directory: `https://127.0.0.1:${ports.directory}/dir`, ca: pebbleCa, storage, email: 'ops@fulcrum.test' } },
        },
        {
          name: 'secure',
          listen: `127.0.0.1:${ports.https}`,
          protocol: 'https',
          pool: 'web',
          tls: { acme: { names: httpNames, challenge: 'http-01', directory: `https://127.0.0.1:${ports.directory}/dir`, ca: pebbleCa, storage, email: 'ops@fulcrum.test' } },
        },
        // pebble's httpPort: http-01 is answered here, before the redirect.
        { name: 'plain', listen: `127.0.0.1:${ports.http}`, protocol: 'http', redirectToHttps: { port: ports.https } },
      ],
    });

  const obtained = (name: string) => (line: LogLine) => typeof line.msg === 'string' && line.msg.startsWith(`ACME: obtained the certificate for ${name} `);

  /** curl, verifying against pebble's root; the leaf curl was served. */
  const served = async (name: string, port: number): Promise<{ subject: string; issuer: string; stdout: string }> => {
    const { stdout, stderr } = await curl(['-v', '--fail', '--cacert', root, '--resolve', `${name}:${port}:127.0.0.1`, '-w', '\nCODE=%{http_code} VERIFY=%{ssl_verify_result}', `https://${name}:${port}/echo`]);
    assert.match(stdout, /CODE=200 VERIFY=0$/, stdout);
    assert.match(stderr, /SSL certificate verify ok/, stderr);
    return { subject: /subject: (.*)/.exec(stderr)?.[1] ?? '', issuer: /issuer: (.*)/.exec(stderr)?.[1] ?? '', stdout };
  };

  const leaf = async (name: string): Promise<X509Certificate> => {
    const text = await readFile(path.join(storage, 'certificates', `${name}.pem`), 'utf8');
    return new X509Certificate(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)![0]);
  };

  before(async () => {
    requirePeers('pebble', 'pebble-challtestsrv', 'curl', 'openssl');
    workDir = await mkdtemp(path.join(tmpdir(), 'interop-acme-'));
    storage = path.join(workDir, 'acme');
    ports = {
      directory: await freePort(),
      management: await freePort(),
      dns: await freePort(),
      challtestManagement: await freePort(),
      http: await freePort(),
      alpn: await freePort(),
      https: await freePort(),
      admin: await freePort(),
    };
    // Pebble's own HTTPS certificate (Debian ships none of its test certificates): self-signed
    // for 127.0.0.1, and the file Fulcrum trusts the directory by (acme.ca).
    pebbleCa = path.join(workDir, 'pebble.pem');
    const pebbleKey = path.join(workDir, 'pebble.key');
    await run(peer('openssl'), ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', pebbleKey, '-out', pebbleCa, '-days', '2', '-subj', '/CN=pebble', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
    // Every name is 127.0.0.1 (no AAAA: the listeners are IPv4).
    challtest = startProcess('pebble-challtestsrv', peer('pebble-challtestsrv'), [
      '-dns01', `127.0.0.1:${ports.dns}`,
      '-http01', '',
      '-https01', '',
      '-tlsalpn01', '',
      '-management', `127.0.0.1:${ports.challtestManagement}`,
      '-defaultIPv4', '127.0.0.1',
      '-defaultIPv6', '',
    ]);
    await waitForPort(ports.dns, { proc: challtest });
    const pebbleConfig = path.join(workDir, 'pebble-config.json');
    await writeFile(
      pebbleConfig,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${ports.directory}`,
          managementListenAddress: `127.0.0.1:${ports.management}`,
          certificate: pebbleCa,
          privateKey: pebbleKey,
          httpPort: ports.http,
          tlsPort: ports.alpn,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
          certificateValidityPeriod: LIFETIME_S,
        },
      }),
    );
    pebble = startProcess('pebble', peer('pebble'), ['-config', pebbleConfig, '-dnsserver', `127.0.0.1:${ports.dns}`, '-strict=false'], {
      // No random 0-15 s sleep before validating; no rejected nonces; every order validated anew (no authorization reuse).
      env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
    });
    await waitForPort(ports.directory, { proc: pebble });
    await waitForPort(ports.management, { proc: pebble });
    root = path.join(workDir, 'pebble-root.pem');
    const roots = await fetchText(`https://127.0.0.1:${ports.management}/roots/0`, await readFile(pebbleCa, 'utf8'));
    assert.equal(roots.status, 200, roots.body);
    await writeFile(root, roots.body);

    backends = await startBackends(1);
    fulcrum = await startFulcrum({ config: config(['www.fulcrum.test', 'old.fulcrum.test']) });
  });

  after(async () => {
    await teardown(
      () => fulcrum?.stop(),
      () => backends?.close(),
      () => pebble?.stop(),
      () => challtest?.stop(),
      () => workDir !== '' && rm(workDir, { recursive: true, force: true }),
    );
  });

  it('obtains a certificate per name, by http-01 and by tls-alpn-01, and serves each to curl verified up to pebble\'s root', async () => {
    for (const name of ['alpn.fulcrum.test', 'www.fulcrum.test', 'old.fulcrum.test']) await fulcrum!.waitForLog(obtained(name), { timeoutMs: 60_000 });
    // The http-01 and tls-alpn-01 validations pebble ran against Fulcrum.
    assert.match(pebble!.output.stdout + pebble!.output.stderr, /Attempting to validate w\/ HTTP: http:\/\/www\.fulcrum\.test:\d+\/\.well-known\/acme-challenge\//);
    assert.match(pebble!.output.stdout + pebble!.output.stderr, /authz \S+ set VALID by completed challenge/);
    for (const [name, port] of [
      ['www.fulcrum.test', ports.https],
      ['alpn.fulcrum.test', ports.alpn],
    ] as const) {
      // The reload that puts the new file in service follows the write by about half a second:
      // until then curl meets the placeholder and refuses it.
      const { subject, issuer, stdout } = await eventually(() => served(name, port));
      assert.equal(subject, `CN=${name}`);
      assert.match(issuer, /Pebble Intermediate CA/);
      assert.match(stdout, /"url":"\/echo"/, 'through to the real server');
    }
    const status = JSON.parse((await curl([`http://127.0.0.1:${ports.admin}/api/v1/status`])).stdout) as { virtualServices: Array<{ name: string; certificates?: Array<{ acme?: { name: string; state: string; issuer: string | null; lastError: string | null } }> }> };
    const acme = status.virtualServices.flatMap((vs) => (vs.certificates ?? []).map((c) => c.acme)).filter((a) => a !== undefined);
    assert.deepEqual(acme.map((a) => [a.name, a.state, a.lastError]).sort(), [
      ['alpn.fulcrum.test', 'valid', null],
      ['old.fulcrum.test', 'valid', null],
      ['www.fulcrum.test', 'valid', null],
    ]);
    assert.ok(acme.every((a) => /Pebble Intermediate CA/.test(a.issuer ?? '')));
    const table = await run(process.execPath, [path.join(import.meta.dirname, '..', 'bin', 'fulcrum.js'), 'status', '--admin', `127.0.0.1:${ports.admin}`]);
    assert.match(table.stdout, /^www\.fulcrum\.test\s+valid\s+Pebble Intermediate CA \S+\s+\d{4}-\d\d-\d\d/m, table.stdout);
  });

  it('renews by itself before the end of the lifetime, and curl gets the new certificate', async () => {
    const first = await leaf('www.fulcrum.test');
    const from = fulcrum!.logs.findIndex(obtained('www.fulcrum.test')) + 1;
    await fulcrum!.waitForLog(obtained('www.fulcrum.test'), { from, timeoutMs: LIFETIME_S * 1000 });
    const second = await leaf('www.fulcrum.test');
    assert.notEqual(second.serialNumber, first.serialNumber);
    assert.ok(second.validToDate > first.validToDate);
    // Renewed while the first was still valid (two thirds in, not at the end).
    const renewedAt = Date.parse(String(fulcrum!.logs.filter(obtained('www.fulcrum.test'))[1]!['time']));
    assert.ok(renewedAt < first.validToDate.getTime(), `renewed at ${new Date(renewedAt).toISOString()}, first expired ${first.validToDate.toISOString()}`);
    await eventually(async () => assert.equal(await peerSerial('www.fulcrum.test', ports.https, await readFile(root, 'utf8')), second.serialNumber));
  });

  it('revokes the certificate of a name taken out of the config and deletes its files', async () => {
    assert.equal(await fulcrum!.reload(config(['www.fulcrum.test'])), 'reloaded');
    // The serial as the log says it (a renewal may have replaced the certificate just before).
    const revoked = await fulcrum!.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('ACME: revoked the certificate for old.fulcrum.test'), { timeoutMs: 30_000 });
    const serial = String(revoked['serial']);
    // Pebble's view: the serial in lower-case hex without leading zeros.
    const status = await fetchText(`https://127.0.0.1:${ports.management}/cert-status-by-serial/${serial.toLowerCase().replace(/^0+/, '')}`, await readFile(pebbleCa, 'utf8'));
    assert.equal(status.status, 200, status.body);
    const parsed = JSON.parse(status.body) as { Status: string; Reason: number };
    assert.deepEqual([parsed.Status, parsed.Reason], ['Revoked', 5]);
    assert.equal(existsSync(path.join(storage, 'certificates', 'old.fulcrum.test.pem')), false);
    assert.equal(existsSync(path.join(storage, 'certificates', 'old.fulcrum.test.json')), false);
    // The names still listed keep being served.
    await eventually(() => served('www.fulcrum.test', ports.https));
  });

  it('never orders a name the config does not list, whatever a client asks for', async () => {
    // SNI and http-01 requests for a stranger's name: served the default certificate, redirected.
    await curl(['-k', '-o', '/dev/null', '--resolve', `evil.fulcrum.test:${ports.https}:127.0.0.1`, `https://evil.fulcrum.test:${ports.https}/`]);
    const reply = await curl(['-o', '/dev/null', '-w', '%{http_code}', '--resolve', `evil.fulcrum.test:${ports.http}:127.0.0.1`, `http://evil.fulcrum.test:${ports.http}/.well-known/acme-challenge/${'A'.repeat(43)}`]);
    assert.equal(reply.stdout, '301');
    assert.ok(!fulcrum!.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('evil.fulcrum.test')), 'no order, no log line about it');
    assert.doesNotMatch(pebble!.output.stdout + pebble!.output.stderr, /evil\.fulcrum\.test/);
  });
});

/** The serial number of the certificate served for `servername`, verified against `ca`. */
function peerSerial(servername: string, port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca });
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
  });
}

/** Retry `check` for up to 10 s (a reload between a write and the next handshake). */
async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
