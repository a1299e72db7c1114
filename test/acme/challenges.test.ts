// What a worker answers to an ACME CA, and what it costs a stranger: the http-01 answers of
// the http services (tokens, hosts, before the access list and redirectToHttps) and the
// tls-alpn-01 certificate of the https service, in a real worker runtime on loopback; then the
// challenge store alone with an injected clock: a miss remembered, reads bounded per second
// and at once, a token answered only under its own name. Pebble checks the same against a real
// CA in interop/acme.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import acme from 'acme-client';
import { stringify } from 'yaml';
import { AcmeChallengeStore, MAX_READS_IN_FLIGHT, MAX_READS_PER_SECOND, MAX_REMEMBERED, MISS_TTL_MS } from '../../src/acme/challenge-store.ts';
import { withAcmeCertificates } from '../../src/acme/resolve.ts';
import { httpChallengeFile, publishAlpnChallenge, publishHttpChallenge } from '../../src/acme/storage.ts';
import { WorkerRuntime } from '../../src/worker/runtime.ts';
import { startBackends, type Backends } from '../helpers/backends.ts';
import { freePort } from '../helpers/processes.ts';
import { parseConfig } from '../l7/harness.ts';

const token = (): string => randomBytes(32).toString('base64url');

interface Reply {
  status: number;
  headers: string;
  body: string;
}

/** One raw HTTP/1.1 request; the reply's status, head and body. */
async function request(port: number, host: string, target: string, method = 'GET'): Promise<Reply> {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(`${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'end');
  const text = Buffer.concat(chunks).toString('latin1');
  const [head = '', body = ''] = text.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body };
}

/** A TLS handshake offering `alpn` for `servername`: the certificate, the protocol chosen, and when the server closed; or the error. */
function handshake(port: number, servername: string, alpn: string[]): Promise<{ pem: string; protocol: string | false | null; closed: Promise<void> } | { error: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ALPNProtocols: alpn, rejectUnauthorized: false });
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', (error) => resolve({ error: error.message }));
    socket.once('secureConnect', () => {
      const raw = socket.getPeerCertificate().raw;
      const pem = `-----BEGIN CERTIFICATE-----\n${raw.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
      resolve({ pem, protocol: socket.alpnProtocol, closed });
      socket.end();
    });
  });
}

describe('ACME challenges answered by a worker (real sockets)', () => {
  let backends: Backends;
  let runtime: WorkerRuntime;
  let dir: string;
  let storage: string;
  const ports = { http: 0, denied: 0, https: 0 };

  before(async () => {
    backends = await startBackends(1);
    dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-acme-challenges-'));
    storage = path.join(dir, 'acme');
    ports.http = await freePort();
    ports.denied = await freePort();
    ports.https = await freePort();
    const config = parseConfig(
      stringify({
        workers: 1,
        accessLog: 'off',
        pools: [{ name: 'web', realServers: backends.servers.map((b) => ({ address: b.address })) }],
        virtualServices: [
          { name: 'secure', listen: `127.0.0.1:${ports.https}`, protocol: 'https', pool: 'web', tls: { acme: { names: ['www.example.com', 'api.example.com'], storage, challenge: 'tls-alpn-01' } } },
          { name: 'plain', listen: `127.0.0.1:${ports.http}`, protocol: 'http', redirectToHttps: { port: ports.https } },
          { name: 'walled', listen: `127.0.0.1:${ports.denied}`, protocol: 'http', pool: 'web', access: { allow: ['10.0.0.0/8'] } },
        ],
      }),
    );
    runtime = new WorkerRuntime();
    // As the supervisor does: placeholders first, then the config with their files goes to the worker.
    await runtime.apply((await withAcmeCertificates(config)).config);
  });

  after(async () => {
    await runtime.drain(0);
    await backends.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('http-01 on the http services', () => {
    it('answers a pending token for its own name with the key authorization, before redirectToHttps', async () => {
      const t = token();
      const withdraw = await publishHttpChallenge(storage, t, { name: 'www.example.com', keyAuthorization: `${t}.thumbprint` });
      const reply = await request(ports.http, 'www.example.com', `/.well-known/acme-challenge/${t}`);
      assert.equal(reply.status, 200, reply.headers);
      assert.equal(reply.body, `${t}.thumbprint`);
      assert.match(reply.headers, /\r\ncontent-type: application\/octet-stream\r\n/i);
      // HEAD, and a Host with a port (the CA's own port), answer the same.
      const head = await request(ports.http, 'www.example.com:80', `/.well-known/acme-challenge/${t}`, 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
      await withdraw();
    });

    it('answers before the access list: the CA comes from anywhere', async () => {
      const t = token();
      const before = backends.servers[0]!.requests;
      await publishHttpChallenge(storage, t, { name: 'api.example.com', keyAuthorization: 'ka' });
      assert.equal((await request(ports.denied, 'api.example.com', `/.well-known/acme-challenge/${t}`)).status, 200);
      // Anything else on that service is still refused.
      assert.equal((await request(ports.denied, 'api.example.com', '/other')).status, 403);
      assert.equal(backends.servers[0]!.requests, before);
    });

    it('leaves everything else to the service: another name\'s token, an unknown name, an unknown token, a malformed one, another path', async () => {
      const t = token();
      await publishHttpChallenge(storage, t, { name: 'www.example.com', keyAuthorization: 'ka' });
      const reads = runtime.ctx.acme!.reads;
      const cases: Array<[string, string]> = [
        ['api.example.com', `/.well-known/acme-challenge/${t}`], // an acme name, but not the token's
        ['stranger.example.net', `/.well-known/acme-challenge/${t}`], // not an acme name: no lookup
        ['www.example.com', `/.well-known/acme-challenge/${token()}`], // no such order
        ['www.example.com', '/.well-known/acme-challenge/..%2f..%2fetc%2fpasswd'], // not a token: no lookup
        ['www.example.com', '/.well-known/acme-challenge/short'],
        ['www.example.com', '/index.html'],
      ];
      for (const [host, target] of cases) {
        const reply = await request(ports.http, host, target);
        assert.equal(reply.status, 301, `${host}${target}: ${reply.headers}`);
        assert.match(reply.headers, /\r\nlocation: https:\/\//i);
      }
      // Reads: the token under api.example.com (its own file, then refused by name) and the unknown token.
      assert.equal(runtime.ctx.acme!.reads - reads, 2);
    });

    it('remembers a miss: the same unknown token again costs no read', async () => {
      const t = token();
      await request(ports.http, 'www.example.com', `/.well-known/acme-challenge/${t}`);
      const reads = runtime.ctx.acme!.reads;
      for (let i = 0; i < 5; i++) assert.equal((await request(ports.http, 'www.example.com', `/.well-known/acme-challenge/${t}`)).status, 301);
      assert.equal(runtime.ctx.acme!.reads, reads);
    });
  });

  describe('tls-alpn-01 on the https service', () => {
    it('serves the RFC 8737 challenge certificate to acme-tls/1 for a pending name, and nothing else on that connection', async () => {
      const keyAuthorization = `${token()}.thumbprint`;
      const key = await acme.crypto.createPrivateEcdsaKey('P-256');
      const authz = { identifier: { type: 'dns', value: 'www.example.com' } } as unknown as acme.Authorization;
      const [, certificate] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization, key);
      const withdraw = await publishAlpnChallenge(storage, 'www.example.com', key.toString(), certificate.toString());
      const result = await handshake(ports.https, 'www.example.com', ['acme-tls/1']);
      assert.ok('pem' in result, JSON.stringify(result));
      assert.equal(result.protocol, 'acme-tls/1');
      assert.equal(acme.crypto.isAlpnCertificateAuthorizationValid(result.pem, keyAuthorization), true);
      await result.closed;

      // A browser meanwhile gets the service's own certificate (the placeholder here).
      const browser = await handshake(ports.https, 'www.example.com', ['http/1.1']);
      assert.ok('pem' in browser, JSON.stringify(browser));
      assert.match(new (await import('node:crypto')).X509Certificate(browser.pem).subject, /O=Fulcrum ACME placeholder/);
      await withdraw();
    });

    it('a name without a pending order, or not an acme name, gets no challenge certificate', async () => {
      for (const name of ['api.example.com', 'stranger.example.net']) {
        const result = await handshake(ports.https, name, ['acme-tls/1']);
        // Without a challenge the handshake is an ordinary one, whose ALPN list (http/1.1) the client does not share.
        if ('pem' in result) {
          assert.notEqual(result.protocol, 'acme-tls/1');
          assert.throws(() => acme.crypto.isAlpnCertificateAuthorizationValid(result.pem, 'x'), /Unable to locate ALPN extension/);
        } else {
          assert.match(result.error, /no_application_protocol|alert/i);
        }
      }
    });
  });
});

describe('AcmeChallengeStore (injected clock and reader)', () => {
  const STORAGE = '/srv/acme';
  const names = new Map([
    ['www.example.com', STORAGE],
    ['api.example.com', STORAGE],
  ]);

  interface Harness {
    store: AcmeChallengeStore;
    /** Files read, in order. */
    reads: string[];
    clock: { now: number };
    /** Reads wait until release(). */
    hold(): void;
    release(): void;
  }

  function store(files: Map<string, string>): Harness {
    const clock = { now: 1_000_000 };
    const reads: string[] = [];
    let gate: Promise<void> = Promise.resolve();
    let open: () => void = () => {};
    const s = new AcmeChallengeStore(names, {
      now: () => clock.now,
      read: async (file) => {
        reads.push(file);
        await gate;
        const text = files.get(file);
        if (text === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
        return Buffer.from(text);
      },
    });
    return {
      store: s,
      reads,
      clock,
      hold: () => {
        gate = new Promise((resolve) => (open = resolve));
      },
      release: () => open(),
    };
  }

  const answer = (s: AcmeChallengeStore, host: string, t: string): Promise<string | null> =>
    new Promise((resolve) => {
      const now = s.httpAnswer(host, t, resolve);
      if (now !== undefined) resolve(now);
    });

  it('reads a token once, answers it from memory after, and only under its own name', async () => {
    const t = token();
    const files = new Map([[httpChallengeFile(STORAGE, t), JSON.stringify({ name: 'www.example.com', keyAuthorization: 'ka' })]]);
    const { store: s, reads } = store(files);
    assert.equal(await answer(s, 'www.example.com', t), 'ka');
    assert.equal(s.httpAnswer('www.example.com', t, () => {}), 'ka', 'remembered: answered at once');
    assert.equal(s.httpAnswer('www.example.com.', t, () => {}), 'ka', 'a trailing dot is the same name');
    assert.equal(s.httpAnswer('api.example.com', t, () => {}), null, 'another acme name: refused from memory');
    assert.equal(reads.length, 1);
  });

  it('looks up nothing for a name outside the config or a token that is not base64url', () => {
    const { store: s, reads } = store(new Map());
    for (const [host, t] of [
      ['stranger.example.net', token()],
      ['www.example.com', '../../../etc/passwd'],
      ['www.example.com', 'tooshort'],
      ['www.example.com', `${token()}=`],
      ['www.example.com', 'x'.repeat(129)],
    ] as const) {
      assert.equal(s.httpAnswer(host, t, () => assert.fail('no read')), null, `${host} ${t}`);
    }
    assert.equal(reads.length, 0);
  });

  it(`remembers a miss for ${MISS_TTL_MS} ms, then reads again (a challenge published since is found)`, async () => {
    const t = token();
    const files = new Map<string, string>();
    const { store: s, reads, clock } = store(files);
    assert.equal(await answer(s, 'www.example.com', t), null);
    clock.now += MISS_TTL_MS - 1;
    assert.equal(s.httpAnswer('www.example.com', t, () => {}), null);
    assert.equal(reads.length, 1);
    files.set(httpChallengeFile(STORAGE, t), JSON.stringify({ name: 'www.example.com', keyAuthorization: 'late' }));
    clock.now += 1;
    assert.equal(await answer(s, 'www.example.com', t), 'late');
    assert.equal(reads.length, 2);
  });

  it(`reads at most ${MAX_READS_PER_SECOND} files a second: a flood of random tokens costs no more`, async () => {
    const { store: s, reads, clock } = store(new Map());
    for (let i = 0; i < 200; i++) assert.equal(await answer(s, 'www.example.com', token()), null);
    assert.equal(reads.length, MAX_READS_PER_SECOND);
    clock.now += 1_000;
    for (let i = 0; i < 200; i++) await answer(s, 'www.example.com', token());
    assert.equal(reads.length, 2 * MAX_READS_PER_SECOND);
  });

  it(`reads at most ${MAX_READS_IN_FLIGHT} files at once, and one per token however many ask`, async () => {
    const harness = store(new Map());
    harness.hold();
    const t = token();
    const same = Array.from({ length: 5 }, () => answer(harness.store, 'www.example.com', t));
    const others = Array.from({ length: 20 }, () => answer(harness.store, 'www.example.com', token()));
    assert.equal(harness.reads.length, MAX_READS_IN_FLIGHT);
    harness.release();
    await Promise.all([...same, ...others]);
    assert.equal(harness.reads.filter((f) => f.endsWith(t)).length, 1);
  });

  it(`remembers at most ${MAX_REMEMBERED} lookups, the oldest forgotten first`, async () => {
    const { store: s, reads, clock } = store(new Map());
    const first = token();
    await answer(s, 'www.example.com', first);
    for (let i = 0; i < MAX_REMEMBERED; i++) {
      if (i % MAX_READS_PER_SECOND === 0) clock.now += 1_000;
      await answer(s, 'www.example.com', token());
    }
    // A fresh read budget, but the clock has not passed the first miss's lifetime (1 s) by much:
    // it is read again only because it was forgotten. Forget nothing and it would not be.
    const before = reads.length;
    clock.now += 1;
    assert.equal(s.httpAnswer('www.example.com', first, () => {}), undefined, 'forgotten: read again');
    assert.equal(reads.length, before + 1);
  });
});

describe('AcmeChallengeStore.alpnContext', () => {
  it('reads the challenge file of an acme name only, once a second at most, into a SecureContext', async () => {
    const key = await acme.crypto.createPrivateEcdsaKey('P-256');
    const authz = { identifier: { type: 'dns', value: 'www.example.com' } } as unknown as acme.Authorization;
    const [, certificate] = await acme.crypto.createAlpnCertificate(authz, 'ka', key);
    let now = 5_000_000;
    const reads: string[] = [];
    const s = new AcmeChallengeStore(new Map([['www.example.com', '/srv/acme']]), {
      now: () => now,
      read: async (file) => {
        reads.push(file);
        return Buffer.from(`${key.toString()}${certificate.toString()}`);
      },
    });
    assert.equal(s.alpnContext('stranger.example.net', () => assert.fail('no read')), null);
    const context = await new Promise((resolve) => s.alpnContext('www.example.com', resolve));
    assert.ok(context !== null && typeof context === 'object' && 'context' in context, 'a SecureContext');
    assert.equal(s.alpnContext('www.example.com', () => {}), context, 'from memory');
    now += 1_000;
    assert.equal(s.alpnContext('www.example.com', () => {}), undefined, 'read again after a second: a new order brings a new certificate');
    assert.deepEqual(reads, ['/srv/acme/challenges/tls-alpn-01/www.example.com.pem', '/srv/acme/challenges/tls-alpn-01/www.example.com.pem']);
  });
});
