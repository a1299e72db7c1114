// Issue 11's sample, examples/https.yaml, run byte for byte with its files in place (certs/ next
// to it) and real servers on the addresses it names, speaking TLS with the names it verifies:
// curl over HTTP/2 and HTTP/1.1, with and without a client certificate, the wildcard name, the
// redirect service; nghttp for the frames; h2load for many streams; openssl for ALPN.
//
// The ports are fixed on purpose: a sample that only works once its ports are edited does not work
// as written. A port that is taken on this machine fails the run with its name, never moves.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFulcrum, type Fulcrum } from '../test/helpers/fulcrum.ts';
import { run, teardown } from '../test/helpers/processes.ts';
import { curl } from './curl.ts';
import { peer, requirePeers } from './peers.ts';

const SAMPLE = path.resolve(import.meta.dirname, '..', 'examples', 'https.yaml');
const FIXTURES = path.join(import.meta.dirname, '..', 'test', 'fixtures', 'tls');
const fixture = (name: string): Buffer => readFileSync(path.join(FIXTURES, name));
const ROOT_CA = path.join(FIXTURES, 'root-ca.pem');

/** The files the sample names, from the test fixtures. */
const FILES: Record<string, Buffer> = {
  'certs/internal-ca.pem': fixture('internal-ca.pem'),
  'certs/www.surveyor.lab.pem': fixture('www.surveyor.lab.rsa.pem'),
  'certs/www.surveyor.lab.key': fixture('www.surveyor.lab.rsa.key'),
  'certs/wildcard.bussines.lab.pem': fixture('wildcard.bussines.lab.pem'),
  'certs/wildcard.bussines.lab.key': fixture('wildcard.bussines.lab.key'),
  'certs/clients-ca.pem': fixture('clients-ca.pem'),
};

const FIXED = [
  { port: 8443, what: 'virtual service secure' },
  { port: 8080, what: 'virtual service plain' },
  { port: 9443, what: 'real server app1.internal' },
  { port: 9444, what: 'real server app2.internal' },
];

interface Seen {
  server: string;
  headers: Record<string, string | string[] | undefined>;
}

/** A real server speaking TLS as `name` (a certificate of the internal CA), answering with what it saw. */
async function realServer(name: string, port: number): Promise<https.Server> {
  const server = https.createServer({ cert: fixture(`${name}.pem`), key: fixture(`${name}.key`) }, (req, res) => {
    const seen: Seen = { server: name, headers: req.headers };
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(seen));
  });
  server.listen({ host: '127.0.0.1', port, exclusive: true });
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(new Error(`cannot listen on 127.0.0.1:${port} (${name}): ${(e as Error).message}`)))]);
  return server;
}

async function requirePortsFree(): Promise<void> {
  for (const { port, what } of FIXED) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen({ host: '127.0.0.1', port, exclusive: true }, () => probe.close(() => resolve(true)));
    });
    if (!free) throw new Error(`examples/https.yaml needs 127.0.0.1:${port} (${what}) but it is in use on this machine; free it (ss -ltnp | grep ${port}) and run again`);
  }
}

/** curl to the sample's https service as `host`, verifying against the test root. */
function curlSecure(host: string, urlPath: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return curl(['--cacert', ROOT_CA, '--resolve', `${host}:8443:127.0.0.1`, ...args, `https://${host}:8443${urlPath}`]);
}

describe('examples/https.yaml as written (issue 11 sample)', () => {
  let fulcrum: Fulcrum | undefined;
  const servers: https.Server[] = [];

  before(async () => {
    requirePeers('curl', 'openssl', 'h2load', 'nghttp');
    await requirePortsFree();
    servers.push(await realServer('app1.internal', 9443), await realServer('app2.internal', 9444));
    fulcrum = await startFulcrum({ config: readFileSync(SAMPLE, 'utf8'), workers: 2, files: FILES });
  });

  after(async () => {
    await teardown(
      () => fulcrum?.stop(),
      ...servers.map((s) => () => new Promise<void>((resolve) => s.close(() => resolve()))),
    );
  });

  it('curl --http2: HTTP/2 by ALPN, HSTS, both real servers reached over verified TLS', async () => {
    const names = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const { stdout } = await curlSecure('www.surveyor.lab', `/h2/${i}`, ['--http2', '-i', '-w', '\nVERSION=%{http_version}']);
      assert.match(stdout, /^HTTP\/2 200/, stdout);
      assert.match(stdout, /strict-transport-security: max-age=31536000/i, stdout);
      assert.match(stdout, /VERSION=2$/, stdout);
      const body = stdout.slice(stdout.indexOf('\r\n\r\n') + 4, stdout.lastIndexOf('\nVERSION='));
      const seen = JSON.parse(body) as Seen;
      names.add(seen.server);
      assert.equal(seen.headers['x-forwarded-proto'], 'https');
      assert.equal(seen.headers['x-ssl-client-verify'], 'NONE', 'clientAuth optional, no certificate sent');
    }
    assert.deepEqual([...names].sort(), ['app1.internal', 'app2.internal']);
  });

  it('curl --http1.1 on the same port, and the wildcard certificate for api.bussines.lab', async () => {
    const { stdout } = await curlSecure('api.bussines.lab', '/h1', ['--http1.1', '-w', '\nVERSION=%{http_version}']);
    assert.match(stdout, /VERSION=1\.1$/, stdout);
    const { stderr } = await curlSecure('api.bussines.lab', '/h1', ['--http2', '-v', '-o', '/dev/null']);
    assert.match(stderr, /subject: CN=\*\.bussines\.lab/, stderr);
    assert.match(stderr, /ALPN: server accepted h2/, stderr);
  });

  it('a client certificate from the clients CA reaches the real server as X-SSL-Client-* headers over HTTP/2', async () => {
    const { stdout } = await curlSecure('www.surveyor.lab', '/mtls', ['--http2', '--cert', path.join(FIXTURES, 'client.pem'), '--key', path.join(FIXTURES, 'client.key')]);
    const seen = JSON.parse(stdout) as Seen;
    assert.equal(seen.headers['x-ssl-client-verify'], 'SUCCESS');
    assert.match(String(seen.headers['x-ssl-client-s-dn']), /CN=/);
  });

  it('the plain service redirects to https on 8443, and curl -L follows it to a real server over HTTP/2', async () => {
    const { stdout } = await curl(['-i', 'http://www.surveyor.lab:8080/start?x=1', '--resolve', 'www.surveyor.lab:8080:127.0.0.1']);
    assert.match(stdout, /^HTTP\/1\.1 301/, stdout);
    assert.match(stdout, /location: https:\/\/www\.surveyor\.lab:8443\/start\?x=1/i, stdout);
    const followed = await curl(['-L', '--http2', '--cacert', ROOT_CA, '--resolve', 'www.surveyor.lab:8080:127.0.0.1', '--resolve', 'www.surveyor.lab:8443:127.0.0.1', 'http://www.surveyor.lab:8080/start']);
    assert.match((JSON.parse(followed.stdout) as Seen).server, /^app[12]\.internal$/);
  });

  it('openssl s_client -alpn h2 negotiates h2', async () => {
    const r = await run(peer('openssl'), ['s_client', '-connect', '127.0.0.1:8443', '-servername', 'www.surveyor.lab', '-alpn', 'h2,http/1.1', '-CAfile', ROOT_CA], { timeoutMs: 20_000, allowFailure: true });
    assert.match(r.stdout, /^ALPN protocol: h2$/m, r.stdout + r.stderr);
  });

  it('nghttp: our SETTINGS (100 streams), the response HEADERS and DATA with END_STREAM', async () => {
    const { stdout } = await run(peer('nghttp'), ['-nv', 'https://127.0.0.1:8443/frames'], { timeoutMs: 20_000 });
    assert.match(stdout, /recv SETTINGS frame <length=\d+, flags=0x00, stream_id=0>/, stdout);
    assert.match(stdout, /\(niv=\d+\)[\s\S]*\[SETTINGS_MAX_CONCURRENT_STREAMS\(0x03\):100\]/, stdout);
    // nghttp sends PRIORITY frames for streams 3..11 (its dependency tree) and asks on stream 13.
    const stream = /send HEADERS frame <length=\d+, flags=0x\w+, stream_id=(\d+)>/.exec(stdout)?.[1];
    assert.ok(stream !== undefined, stdout);
    assert.match(stdout, new RegExp(`recv \\(stream_id=${stream}\\) :status: 200`), stdout);
    assert.match(stdout, new RegExp(`recv DATA frame <length=\\d+, flags=0x01, stream_id=${stream}>`), stdout);
  });

  it('h2load: 2,000 requests over 10 connections of 10 streams each, all 200', async () => {
    const { stdout } = await run(peer('h2load'), ['-n', '2000', '-c', '10', '-m', '10', 'https://127.0.0.1:8443/load'], { timeoutMs: 60_000 });
    assert.match(stdout, /Application protocol: h2/, stdout);
    assert.match(stdout, /requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout/, stdout);
    assert.match(stdout, /status codes: 2000 2xx/, stdout);
  });
});

