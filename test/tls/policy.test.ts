// Mozilla's profiles by name, checked with real handshakes against Node's own OpenSSL: which
// versions and ciphers each lets through, the overrides, and the OpenSSL facts the policy module
// relies on (TLS 1.0 needs security level 0, no 3DES, TLS 1.3 suites in the ciphers string).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { POLICY_DESCRIPTIONS, TLS_POLICIES, TLS_VERSIONS, policyOptions, type PolicyOverrides, type TlsPolicyName } from '../../src/tls/policy.ts';
import { LEGACY_CLIENT, handshake, readFixture, serve, type Handshake, type TestServer } from './handshake.ts';

const cert = readFixture('www.surveyor.lab.rsa.pem');
const key = readFixture('www.surveyor.lab.rsa.key');

const servers: TestServer[] = [];
async function serverWith(name: TlsPolicyName, overrides?: PolicyOverrides): Promise<TestServer> {
  const server = await serve({ cert, key, ...policyOptions(name, overrides) });
  servers.push(server);
  return server;
}
after(() => Promise.all(servers.map((s) => s.close())));

function negotiated(result: Handshake): string {
  return result.ok ? `${result.protocol} ${result.cipher}` : `failed ${result.code}`;
}

describe('policy metadata', () => {
  it('names every policy and version, with a one-sentence description each', () => {
    assert.deepEqual(TLS_POLICIES, ['modern', 'intermediate', 'old']);
    assert.deepEqual(TLS_VERSIONS, ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);
    for (const name of TLS_POLICIES) {
      const text = POLICY_DESCRIPTIONS[name];
      assert.match(text, /^[A-Z].*\.$/, name);
      assert.equal(text.split('. ').length, 1, `${name}: one sentence`);
    }
  });

  it('every policy builds a secure context, up to TLS 1.3, with the key exchange groups of Mozilla 6.0', () => {
    for (const name of TLS_POLICIES) {
      const options = policyOptions(name);
      assert.doesNotThrow(() => tls.createSecureContext({ cert, key, ...options }), name);
      assert.equal(options.maxVersion, 'TLSv1.3');
      assert.equal(options.ecdhCurve, 'X25519MLKEM768:X25519:prime256v1:secp384r1');
      assert.equal(options.dhparam, 'auto');
    }
    assert.deepEqual(TLS_POLICIES.map((p) => [p, policyOptions(p).minVersion, policyOptions(p).honorCipherOrder]), [
      ['modern', 'TLSv1.3', false],
      ['intermediate', 'TLSv1.2', false],
      ['old', 'TLSv1', true],
    ]);
  });

  it("carries the TLS 1.3 suites and Mozilla's TLS 1.2 lists in one string; security level 0 only where TLS 1.0 is allowed", () => {
    const suites = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';
    assert.equal(policyOptions('modern').ciphers, suites);
    assert.equal(
      policyOptions('intermediate').ciphers,
      `${suites}:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305`,
    );
    const old = policyOptions('old').ciphers.split(':');
    assert.deepEqual([old.length, old.slice(0, 3).join(':'), old.at(-2), old.at(-1)], [30, suites, 'DES-CBC3-SHA', '@SECLEVEL=0']);
  });
});

describe('modern', () => {
  let server: TestServer;
  before(async () => (server = await serverWith('modern')));

  it('speaks TLS 1.3', async () => {
    assert.equal(negotiated(await handshake(server.port)), 'TLSv1.3 TLS_AES_256_GCM_SHA384');
  });

  it('refuses a TLS 1.2 client with a protocol_version alert', async () => {
    const before = server.clientErrors.length;
    const result = await handshake(server.port, { maxVersion: 'TLSv1.2' });
    assert.equal(negotiated(result), 'failed ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    assert.deepEqual(server.clientErrors.slice(before), ['ERR_SSL_UNSUPPORTED_PROTOCOL']);
  });
});

describe('intermediate', () => {
  let server: TestServer;
  before(async () => (server = await serverWith('intermediate')));

  it('speaks TLS 1.3 and TLS 1.2, with the client choosing the cipher', async () => {
    assert.equal(negotiated(await handshake(server.port)), 'TLSv1.3 TLS_AES_256_GCM_SHA384');
    assert.equal(negotiated(await handshake(server.port, { maxVersion: 'TLSv1.2' })), 'TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256');
    const chachaFirst = 'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256';
    assert.equal(negotiated(await handshake(server.port, { maxVersion: 'TLSv1.2', ciphers: chachaFirst })), 'TLSv1.2 ECDHE-RSA-CHACHA20-POLY1305');
  });

  it('serves the DHE-RSA ciphers without a dhparam file (dhparam auto)', async () => {
    for (const cipher of ['DHE-RSA-AES128-GCM-SHA256', 'DHE-RSA-CHACHA20-POLY1305']) {
      assert.equal(negotiated(await handshake(server.port, { maxVersion: 'TLSv1.2', ciphers: cipher })), `TLSv1.2 ${cipher}`);
    }
  });

  it('refuses TLS 1.1 and CBC ciphers', async () => {
    assert.equal(negotiated(await handshake(server.port, { ...LEGACY_CLIENT, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' })), 'failed ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    assert.equal(negotiated(await handshake(server.port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA' })), 'failed ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE');
  });
});

describe('old', () => {
  let server: TestServer;
  before(async () => (server = await serverWith('old')));

  it('speaks TLS 1.0 and 1.1 to a client at security level 0, and TLS 1.3 to a current one', async () => {
    assert.equal(negotiated(await handshake(server.port, { ...LEGACY_CLIENT, minVersion: 'TLSv1', maxVersion: 'TLSv1' })), 'TLSv1 ECDHE-RSA-AES128-SHA');
    assert.equal(negotiated(await handshake(server.port, { ...LEGACY_CLIENT, minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1' })), 'TLSv1.1 ECDHE-RSA-AES128-SHA');
    assert.equal(negotiated(await handshake(server.port)), 'TLSv1.3 TLS_AES_128_GCM_SHA256');
  });

  it('orders the ciphers itself, and still takes plain-RSA key exchange', async () => {
    const rsaFirst = 'AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384';
    assert.equal(negotiated(await handshake(server.port, { maxVersion: 'TLSv1.2', ciphers: rsaFirst })), 'TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384');
    assert.equal(negotiated(await handshake(server.port, { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' })), 'TLSv1.2 AES128-SHA');
  });
});

describe('overrides', () => {
  it('minVersion TLSv1.3 makes intermediate refuse TLS 1.2', async () => {
    const server = await serverWith('intermediate', { minVersion: 'TLSv1.3' });
    assert.equal(negotiated(await handshake(server.port, { maxVersion: 'TLSv1.2' })), 'failed ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    assert.equal(negotiated(await handshake(server.port)), 'TLSv1.3 TLS_AES_256_GCM_SHA384');
  });

  it("minVersion TLSv1.2 on modern brings in intermediate's TLS 1.2 ciphers, so the version can be negotiated", async () => {
    assert.equal(policyOptions('modern', { minVersion: 'TLSv1.2' }).ciphers, policyOptions('intermediate').ciphers);
    const server = await serverWith('modern', { minVersion: 'TLSv1.2' });
    assert.equal(negotiated(await handshake(server.port, { maxVersion: 'TLSv1.2' })), 'TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256');
  });

  it("minVersion TLSv1 on intermediate brings in old's ciphers and security level 0", async () => {
    assert.equal(policyOptions('intermediate', { minVersion: 'TLSv1' }).ciphers, policyOptions('old').ciphers);
    const server = await serverWith('intermediate', { minVersion: 'TLSv1' });
    // The client's favourite, AES256: intermediate still lets the client order the ciphers.
    assert.equal(negotiated(await handshake(server.port, { ...LEGACY_CLIENT, minVersion: 'TLSv1', maxVersion: 'TLSv1' })), 'TLSv1 ECDHE-RSA-AES256-SHA');
  });

  it('ciphers replaces both lists: TLS 1.3 suite names in it limit TLS 1.3 too', async () => {
    const server = await serverWith('intermediate', { ciphers: 'TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES256-GCM-SHA384' });
    assert.equal(negotiated(await handshake(server.port)), 'TLSv1.3 TLS_AES_128_GCM_SHA256');
    assert.equal(negotiated(await handshake(server.port, { ciphers: 'TLS_CHACHA20_POLY1305_SHA256' })), 'failed ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE');
    assert.equal(negotiated(await handshake(server.port, { maxVersion: 'TLSv1.2' })), 'TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384');
  });

  it('ciphers with a TLS 1.0 minVersion gets security level 0 unless it names a level', () => {
    assert.equal(policyOptions('old', { ciphers: 'AES128-SHA' }).ciphers, 'AES128-SHA:@SECLEVEL=0');
    assert.equal(policyOptions('old', { ciphers: 'AES128-SHA:@SECLEVEL=1' }).ciphers, 'AES128-SHA:@SECLEVEL=1');
    assert.equal(policyOptions('intermediate', { ciphers: 'AES128-SHA' }).ciphers, 'AES128-SHA');
  });
});

// If one of these fails after a Node upgrade, src/tls/policy.ts's comments (and maybe its
// security-level rule) need a new look.
describe('the OpenSSL in this Node', () => {
  it('refuses TLS 1.0 at the default security level, even when minVersion allows it', async () => {
    const server = await serve({ cert, key, minVersion: 'TLSv1', ciphers: 'ECDHE-RSA-AES128-SHA' });
    servers.push(server);
    const result = await handshake(server.port, { ...LEGACY_CLIENT, minVersion: 'TLSv1', maxVersion: 'TLSv1' });
    assert.equal(negotiated(result), 'failed ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    assert.deepEqual(server.clientErrors, ['ERR_SSL_UNSUPPORTED_PROTOCOL']);
  });

  it('has no 3DES cipher at any security level', () => {
    for (const ciphers of ['DES-CBC3-SHA', 'DES-CBC3-SHA:@SECLEVEL=0']) {
      assert.throws(() => tls.createSecureContext({ ciphers }), { code: 'ERR_SSL_NO_CIPHER_MATCH' });
    }
  });

  it('negotiates X25519MLKEM768 when both ends offer it', async () => {
    const server = await serverWith('intermediate');
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    assert.equal((socket.getEphemeralKeyInfo() as { name?: string } | null)?.name, 'X25519MLKEM768');
    socket.destroy();
  });
});
