// protocol https seen by real TLS clients: curl verifying the chain against the test root, and
// openssl s_client for SNI, protocol versions, RSA versus ECDSA and ALPN; plus curl on the
// redirectToHttps service. Two workers: every check is one fresh connection, and both workers
// serve the same certificates, so any worker may answer. Session resumption is not checked (each
// worker has its own ticket key).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { freePort, startBackends, startFulcrum, type Backends, type EchoReply, type Fulcrum } from '../test/helpers/fulcrum.ts';
import { run, teardown } from '../test/helpers/processes.ts';
import { curl } from './curl.ts';
import { peer, requirePeers } from './peers.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'test', 'fixtures', 'tls');
const fixture = (name: string): string => path.join(FIXTURES, name);
const ROOT_CA = fixture('root-ca.pem');
const pair = (base: string): { cert: string; key: string } => ({ cert: fixture(`${base}.pem`), key: fixture(`${base}.key`) });

interface SClient {
  /** s_client's exit code: 0 after a handshake and a clean end of input. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Both streams, for matching and for assertion messages. */
  all: string;
}

/** `openssl s_client -connect 127.0.0.1:PORT ARGS` with /dev/null as its input; never rejects. */
async function sClient(port: number, args: readonly string[]): Promise<SClient> {
  const { code, stdout, stderr } = await run(peer('openssl'), ['s_client', '-connect', `127.0.0.1:${port}`, ...args], { timeoutMs: 20_000, allowFailure: true });
  return { code, stdout, stderr, all: `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}` };
}

/** The first PEM certificate in `text` (s_client -showcerts prints the leaf first). */
function firstPem(text: string): string {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text);
  assert.ok(m, `no certificate in:\n${text}`);
  return `${m[0]}\n`;
}

describe('https virtual service with real TLS clients (2 workers)', () => {
  let backends: Backends | undefined;
  let fulcrum: Fulcrum | undefined;
  let httpsPort = 0;
  let httpPort = 0;
  let workDir = '';

  before(async () => {
    requirePeers('curl', 'openssl');
    workDir = await mkdtemp(path.join(tmpdir(), 'interop-tls-'));
    backends = await startBackends(1);
    httpsPort = await freePort();
    httpPort = await freePort();
    fulcrum = await startFulcrum({
      workers: 2,
      config: stringify({
        accessLog: 'off',
        pools: [{ name: 'web', realServers: backends.servers.map((b) => ({ address: b.address })) }],
        virtualServices: [
          {
            name: 'secure',
            listen: `127.0.0.1:${httpsPort}`,
            protocol: 'https',
            pool: 'web',
            tls: {
              certificates: [pair('www.surveyor.lab.rsa'), pair('www.surveyor.lab.ecdsa'), pair('wildcard.bussines.lab'), pair('multi.lab')],
              policy: 'intermediate',
              hsts: { maxAge: '365d' },
            },
          },
          { name: 'plain', listen: `127.0.0.1:${httpPort}`, protocol: 'http', redirectToHttps: { port: httpsPort } },
        ],
      }),
    });
    assert.equal(fulcrum.workers.length, 2, `workers: ${fulcrum.workers.join(', ')}`);
  });

  after(async () => {
    await teardown(
      () => fulcrum?.stop(),
      () => backends?.close(),
      () => workDir !== '' && rm(workDir, { recursive: true, force: true }),
    );
  });

  describe('curl, verifying the certificate against the test root (no -k)', () => {
    for (const [host, subject] of [
      ['www.surveyor.lab', 'CN=www.surveyor.lab'],
      ['api.bussines.lab', 'CN=*.bussines.lab'],
      ['b.multi.lab', 'CN=a.multi.lab'],
    ] as const) {
      it(`${host}: 200 through the real server, X-Forwarded-Proto https, HSTS`, async () => {
        const before = backends!.servers[0]!.requests;
        const { stdout, stderr } = await curl([
          '-v',
          '--http1.1',
          '--fail',
          '--cacert',
          ROOT_CA,
          '--resolve',
          `${host}:${httpsPort}:127.0.0.1`,
          '-D',
          '-',
          '-w',
          '\nVERIFY=%{ssl_verify_result} CODE=%{http_code} VERSION=%{http_version}',
          `https://${host}:${httpsPort}/echo?from=curl`,
        ]);
        const [head = '', rest = ''] = stdout.split('\r\n\r\n', 2);
        const [body = '', trailer = ''] = rest.split('\nVERIFY=');
        assert.match(head, /^HTTP\/1\.1 200 /, stdout);
        assert.equal(trailer.trim(), '0 CODE=200 VERSION=1.1', stdout);
        assert.match(head, /\r\nstrict-transport-security: max-age=31536000(\r\n|$)/i, head);
        // curl -v names the certificate it verified, and that the name matched.
        assert.match(stderr, new RegExp(`subject: ${subject.replace(/[.*]/g, '\\$&')}`), stderr);
        assert.match(stderr, /SSL certificate verify ok/, stderr);
        const echo = JSON.parse(body) as EchoReply;
        assert.equal(echo.url, '/echo?from=curl');
        assert.equal(echo.headers['x-forwarded-proto'], 'https');
        assert.equal(echo.headers['host'], `${host}:${httpsPort}`);
        assert.equal(backends!.servers[0]!.requests, before + 1, 'the real server answered it');
      });
    }

    it('fails verification for a name no certificate covers (so the checks above mean something)', async () => {
      // Fulcrum answers with the first certificate (www.surveyor.lab), which curl must reject.
      await assert.rejects(
        curl(['--http1.1', '--cacert', ROOT_CA, '--resolve', `other.lab:${httpsPort}:127.0.0.1`, `https://other.lab:${httpsPort}/`]),
        /exited with 60[\s\S]*(no alternative certificate subject name|does not match)/,
      );
    });
  });

  describe('curl on the redirectToHttps service', () => {
    it('answers 301 with the same host, path and query on the https port, without a real server', async () => {
      const before = backends!.servers[0]!.requests;
      const { stdout } = await curl([
        '-D',
        '-',
        '-o',
        '/dev/null',
        '-w',
        'REDIRECT=%{redirect_url}',
        '--resolve',
        `www.surveyor.lab:${httpPort}:127.0.0.1`,
        `http://www.surveyor.lab:${httpPort}/path?q=1`,
      ]);
      assert.match(stdout, /^HTTP\/1\.1 301 /, stdout);
      assert.match(stdout, new RegExp(`\\r\\nlocation: https://www\\.surveyor\\.lab:${httpsPort}/path\\?q=1\\r\\n`, 'i'), stdout);
      assert.match(stdout, new RegExp(`REDIRECT=https://www\\.surveyor\\.lab:${httpsPort}/path\\?q=1$`), stdout);
      assert.equal(backends!.servers[0]!.requests, before, 'no real server saw it');
    });

    it('curl -L follows it to the https service and gets the real server', async () => {
      const { stdout } = await curl([
        '-L',
        '--fail',
        '--cacert',
        ROOT_CA,
        '--resolve',
        `www.surveyor.lab:${httpPort}:127.0.0.1`,
        '--resolve',
        `www.surveyor.lab:${httpsPort}:127.0.0.1`,
        '-w',
        '\nURL=%{url_effective} REDIRECTS=%{num_redirects}',
        `http://www.surveyor.lab:${httpPort}/echo?q=1`,
      ]);
      const [body = '', trailer = ''] = stdout.split('\nURL=');
      assert.equal(trailer, `https://www.surveyor.lab:${httpsPort}/echo?q=1 REDIRECTS=1`, stdout);
      const echo = JSON.parse(body) as EchoReply;
      assert.equal(echo.url, '/echo?q=1');
      assert.equal(echo.headers['x-forwarded-proto'], 'https');
    });
  });

  describe('openssl s_client', () => {
    const verified = (port: number, extra: readonly string[]): Promise<SClient> => sClient(port, ['-CAfile', ROOT_CA, '-verify_return_error', ...extra]);

    for (const [what, args, subject] of [
      ['SNI www.surveyor.lab (exact)', ['-servername', 'www.surveyor.lab', '-verify_hostname', 'www.surveyor.lab'], 'CN = www.surveyor.lab'],
      ['SNI api.bussines.lab (wildcard)', ['-servername', 'api.bussines.lab', '-verify_hostname', 'api.bussines.lab'], 'CN = *.bussines.lab'],
      ['SNI a.multi.lab (a SAN of multi.lab)', ['-servername', 'a.multi.lab', '-verify_hostname', 'a.multi.lab'], 'CN = a.multi.lab'],
      ['no SNI: the first certificate', ['-noservername', '-verify_hostname', 'www.surveyor.lab'], 'CN = www.surveyor.lab'],
    ] as const) {
      it(`${what}: verifies against the root, names checked, subject ${subject}`, async () => {
        const r = await verified(httpsPort, args);
        assert.equal(r.code, 0, r.all);
        assert.match(r.stdout, /Verify return code: 0 \(ok\)/, r.all);
        assert.match(r.stdout, new RegExp(`^subject=${subject.replace(/[.*]/g, '\\$&')}$`, 'm'), r.all);
        // The chain as sent: the leaf, then the intermediate (depth 1), verified up to the root (depth 2).
        assert.match(r.stderr, /^depth=2 .*Root/m, r.all);
        assert.match(r.stdout, /^ 1 s:.*\n\s+i:.*Root/m, r.all);
      });
    }

    it('fails verification for a name the served certificate does not cover', async () => {
      const r = await verified(httpsPort, ['-servername', 'other.lab', '-verify_hostname', 'other.lab']);
      assert.notEqual(r.code, 0, r.all);
      assert.match(r.all, /hostname mismatch|Verify return code: 62/, r.all);
    });

    for (const version of ['-tls1_3', '-tls1_2'] as const) {
      it(`${version} connects on policy intermediate`, async () => {
        const r = await verified(httpsPort, [version, '-servername', 'www.surveyor.lab', '-verify_hostname', 'www.surveyor.lab']);
        assert.equal(r.code, 0, r.all);
        assert.match(r.stdout, new RegExp(`^New, TLSv1\\.${version === '-tls1_3' ? '3' : '2'}, Cipher is \\w`, 'm'), r.all);
        assert.match(r.stdout, /Verify return code: 0 \(ok\)/, r.all);
      });
    }

    it('-tls1_1 is refused by the server with a protocol_version alert', async () => {
      // @SECLEVEL=0 lets this client offer TLS 1.1 at all (at level 1 and up it would refuse to
      // start, "no protocols available", without sending anything): the refusal must be the server's.
      const r = await sClient(httpsPort, ['-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0', '-servername', 'www.surveyor.lab']);
      assert.notEqual(r.code, 0, r.all);
      assert.doesNotMatch(r.all, /no protocols available/, r.all);
      assert.match(r.stderr, /alert protocol version.*SSL alert number 70/, r.all);
      assert.match(r.stdout, /no peer certificate available/, r.all);
      assert.match(r.stdout, /Cipher is \(NONE\)/, r.all);
    });

    const leafKey = async (sigalgs: string): Promise<{ r: SClient; text: string }> => {
      const r = await verified(httpsPort, ['-showcerts', '-sigalgs', sigalgs, '-servername', 'www.surveyor.lab', '-verify_hostname', 'www.surveyor.lab']);
      assert.equal(r.code, 0, r.all);
      assert.match(r.stdout, /Verify return code: 0 \(ok\)/, r.all);
      const file = path.join(workDir, `leaf-${sigalgs.replace(/[^A-Za-z0-9]/g, '_')}.pem`);
      await writeFile(file, firstPem(r.stdout));
      const { stdout: text } = await run(peer('openssl'), ['x509', '-in', file, '-noout', '-text'], { timeoutMs: 10_000 });
      assert.match(text, /DNS:www\.surveyor\.lab/, text);
      return { r, text };
    };

    it('-sigalgs ECDSA+SHA256 gets the ECDSA certificate of www.surveyor.lab (P-256)', async () => {
      const { r, text } = await leafKey('ECDSA+SHA256');
      assert.match(r.stdout, /Peer signature type: ECDSA/, r.all);
      assert.match(r.stdout, /Server public key is 256 bit/, r.all);
      assert.match(text, /Public Key Algorithm: id-ecPublicKey/, text);
      assert.match(text, /NIST CURVE: P-256/, text);
    });

    it('-sigalgs RSA-PSS+SHA256:RSA+SHA256 gets the RSA-2048 certificate of www.surveyor.lab', async () => {
      const { r, text } = await leafKey('RSA-PSS+SHA256:RSA+SHA256');
      assert.match(r.stdout, /Peer signature type: RSA/, r.all);
      assert.match(r.stdout, /Server public key is 2048 bit/, r.all);
      assert.match(text, /Public Key Algorithm: rsaEncryption/, text);
      assert.match(text, /Public-Key: \(2048 bit\)/, text);
    });

    it('ALPN: a client offering h2,http/1.1 gets http/1.1 (h2 is not offered yet)', async () => {
      const r = await verified(httpsPort, ['-alpn', 'h2,http/1.1', '-servername', 'www.surveyor.lab']);
      assert.equal(r.code, 0, r.all);
      assert.match(r.stdout, /^ALPN protocol: http\/1\.1$/m, r.all);
      assert.doesNotMatch(r.stdout, /ALPN protocol: h2/, r.all);
    });
  });
});
