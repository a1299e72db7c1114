// Reading certificate and key files: what a good pair yields (names from the SAN, the CN only as
// a fallback), and every problem code with the message the user sees. `now` is fixed, so the
// fixtures' dates (2025-01-01 to 2125-01-01) decide the expiry warnings, not the clock.
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ErrorCode } from '../../src/errors.ts';
import { CertificateProblemCode, loadCertificate, type CertificateLoad } from '../../src/tls/certificate-file.ts';
import { FIXTURES, fixture, readFixture } from './handshake.ts';

const NOW = new Date('2030-01-01T00:00:00Z');
const INTERMEDIATE = "'O=Fulcrum Test, CN=Fulcrum Test Intermediate CA'";

const scratch = mkdtempSync(path.join(tmpdir(), 'fulcrum-tls-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function scratchFile(name: string, ...parts: Array<string | Buffer>): string {
  const file = path.join(scratch, name);
  writeFileSync(file, Buffer.concat(parts.map((p) => Buffer.from(p))));
  return file;
}

function load(cert: string, key: string, now = NOW): CertificateLoad {
  return loadCertificate({ cert: fixture(cert), key: fixture(key) }, now);
}

function pair(name: string, now = NOW): CertificateLoad {
  return load(`${name}.pem`, `${name}.key`, now);
}

/** [code, severity, file] of each problem, for deepEqual. */
function codes(result: CertificateLoad): Array<[string, string, string]> {
  return result.problems.map((p) => [p.code, p.severity, path.basename(p.file)]);
}

describe('a good pair', () => {
  it('www.surveyor.lab RSA: names, key type, subject, issuer, serial, dates, chain, PEM', () => {
    const { certificate, problems } = pair('www.surveyor.lab.rsa');
    assert.deepEqual(problems, []);
    assert.ok(certificate !== null);
    assert.deepEqual(
      [certificate.names, certificate.keyType, certificate.subject, certificate.issuer, certificate.serialNumber, certificate.chainLength],
      [['www.surveyor.lab'], 'rsa', 'CN=www.surveyor.lab', 'O=Fulcrum Test\nCN=Fulcrum Test Intermediate CA', '64', 2],
    );
    assert.deepEqual([certificate.notBefore.toISOString(), certificate.notAfter.toISOString()], ['2025-01-01T00:00:00.000Z', '2125-01-01T00:00:00.000Z']);
    assert.match(certificate.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.deepEqual([certificate.certFile, certificate.keyFile], [fixture('www.surveyor.lab.rsa.pem'), fixture('www.surveyor.lab.rsa.key')]);
    assert.equal(certificate.certPem.toString().match(/BEGIN CERTIFICATE/g)?.length, 2);
    assert.match(certificate.keyPem.toString(), /^-----BEGIN PRIVATE KEY-----\n[\s\S]+-----END PRIVATE KEY-----\n$/);
    assert.equal(certificate.isDefault, undefined);
  });

  it('the ECDSA twin is an ec key for the same name', () => {
    const { certificate, problems } = pair('www.surveyor.lab.ecdsa');
    assert.deepEqual(problems, []);
    assert.deepEqual([certificate?.names, certificate?.keyType], [['www.surveyor.lab'], 'ec']);
  });

  it('names come from the SAN: a wildcard, and every DNS name of a multi-SAN certificate', () => {
    assert.deepEqual(pair('wildcard.bussines.lab').certificate?.names, ['*.bussines.lab']);
    assert.deepEqual(pair('multi.lab').certificate?.names, ['a.multi.lab', 'b.multi.lab']);
    // IP entries of the SAN are not names.
    assert.deepEqual(pair('app1.internal').certificate?.names, ['app1.internal']);
  });

  it('without a SAN DNS name, the subject CN, lowercased', () => {
    const { certificate, problems } = pair('cn-only');
    assert.deepEqual(problems, []);
    assert.deepEqual(certificate?.names, ['legacy.surveyor.lab']);
  });

  it('a certificate and its key in one file, with other PEM blocks around them', () => {
    const combined = scratchFile('combined.pem', 'junk before\n', readFixture('multi.lab.key'), '\n', readFixture('multi.lab.pem'));
    const { certificate, problems } = loadCertificate({ cert: combined, key: combined }, NOW);
    assert.deepEqual(problems, []);
    assert.equal(certificate?.certPem.toString().match(/-----BEGIN/g)?.length, 2, 'the certificates only');
    assert.equal(certificate?.keyPem.toString().match(/-----BEGIN/g)?.length, 1, 'the key only');
  });

  it('a traditional EC key (EC PARAMETERS, then EC PRIVATE KEY)', () => {
    const ecKey = createPrivateKey(readFixture('www.surveyor.lab.ecdsa.key')).export({ type: 'sec1', format: 'pem' });
    const file = scratchFile('sec1.key', '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n', ecKey);
    const { certificate, problems } = loadCertificate({ cert: fixture('www.surveyor.lab.ecdsa.pem'), key: file }, NOW);
    assert.deepEqual(problems, []);
    assert.match(certificate!.keyPem.toString(), /^-----BEGIN EC PRIVATE KEY-----/);
  });
});

describe('errors: the pair is not loaded', () => {
  it(`${ErrorCode.TLS_READ}: a missing file, in words, for each file`, () => {
    const result = load('nope.pem', 'nope.key');
    assert.equal(result.certificate, null);
    assert.deepEqual(codes(result), [
      ['FULCRUM_ERR_TLS_READ', 'error', 'nope.pem'],
      ['FULCRUM_ERR_TLS_READ', 'error', 'nope.key'],
    ]);
    assert.equal(result.problems[0]!.message, `cannot read ${fixture('nope.pem')}: no such file (ENOENT); check the path (a relative one is taken from the working directory)`);
  });

  it(`${ErrorCode.TLS_READ}: a directory`, () => {
    const result = loadCertificate({ cert: FIXTURES, key: fixture('multi.lab.key') }, NOW);
    assert.deepEqual(codes(result), [['FULCRUM_ERR_TLS_READ', 'error', 'tls']]);
    assert.equal(result.problems[0]!.message, `cannot read ${FIXTURES}: it is a directory (EISDIR); give the path of the PEM file in it`);
  });

  it(`${ErrorCode.TLS_READ}: a file Fulcrum's user may not read`, { skip: process.getuid?.() === 0 && 'root reads any file' }, () => {
    const locked = scratchFile('locked.key', readFixture('multi.lab.key'));
    chmodSync(locked, 0o000);
    const result = loadCertificate({ cert: fixture('multi.lab.pem'), key: locked }, NOW);
    assert.equal(result.problems[0]!.message, `cannot read ${locked}: permission denied (EACCES); let the user Fulcrum runs as read it`);
  });

  it(`${ErrorCode.TLS_PEM}: no certificate in the certificate file, no key in the key file`, () => {
    const result = load('multi.lab.key', 'multi.lab.pem');
    assert.deepEqual(codes(result), [
      ['FULCRUM_ERR_TLS_PEM', 'error', 'multi.lab.key'],
      ['FULCRUM_ERR_TLS_PEM', 'error', 'multi.lab.pem'],
    ]);
    const [noCert, noKey] = result.problems.map((p) => p.message);
    assert.equal(
      noCert,
      `${fixture('multi.lab.key')} holds no certificate (no "-----BEGIN CERTIFICATE-----" block): give the PEM certificate file; a DER file converts with openssl x509 -inform der -in ${fixture('multi.lab.key')} -out cert.pem`,
    );
    assert.equal(noKey, `${fixture('multi.lab.pem')} holds no private key (no "-----BEGIN PRIVATE KEY-----" block): give the PEM file of the certificate's private key`);
  });

  it(`${ErrorCode.TLS_PEM}: an encrypted key, PKCS#8 or traditional`, () => {
    const pkcs8 = load('www.surveyor.lab.rsa.pem', 'encrypted.key');
    assert.deepEqual(codes(pkcs8), [['FULCRUM_ERR_TLS_PEM', 'error', 'encrypted.key']]);
    assert.equal(
      pkcs8.problems[0]!.message,
      `the private key in ${fixture('encrypted.key')} is encrypted, and encrypted keys are not supported: decrypt it (openssl pkey -in ${fixture('encrypted.key')} -out key.pem) and make the result readable by Fulcrum's user only`,
    );
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const traditional = scratchFile('traditional.key', privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'fulcrum' }));
    const result = loadCertificate({ cert: fixture('multi.lab.pem'), key: traditional }, NOW);
    assert.deepEqual(codes(result), [['FULCRUM_ERR_TLS_PEM', 'error', 'traditional.key']]);
    assert.match(result.problems[0]!.message, /is encrypted, and encrypted keys are not supported/);
  });

  it(`${ErrorCode.TLS_PEM}: blocks that are not what they say`, () => {
    const badKey = scratchFile('bad.key', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    const keyResult = loadCertificate({ cert: fixture('multi.lab.pem'), key: badKey }, NOW);
    assert.deepEqual(codes(keyResult), [['FULCRUM_ERR_TLS_PEM', 'error', 'bad.key']]);
    assert.match(keyResult.problems[0]!.message, /^the private key in .*bad\.key cannot be read \(.+\): give the PEM file of the certificate's private key$/);

    const badCert = scratchFile('bad.pem', readFixture('no-chain.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const certResult = loadCertificate({ cert: badCert, key: fixture('no-chain.key') }, NOW);
    assert.deepEqual(codes(certResult), [['FULCRUM_ERR_TLS_PEM', 'error', 'bad.pem']]);
    assert.match(certResult.problems[0]!.message, /^certificate 2 in .*bad\.pem cannot be parsed \(.+\): replace the file/);
  });

  it(`${ErrorCode.TLS_KEY_MISMATCH}: a key of the same type, and one of another type`, () => {
    const result = load('www.surveyor.lab.rsa.pem', 'mismatched.key');
    assert.equal(result.certificate, null);
    assert.deepEqual(codes(result), [['FULCRUM_ERR_TLS_KEY_MISMATCH', 'error', 'mismatched.key']]);
    assert.equal(
      result.problems[0]!.message,
      `the key in ${fixture('mismatched.key')} does not belong to the certificate in ${fixture('www.surveyor.lab.rsa.pem')}: give the key file that was made with this certificate's request`,
    );
    assert.deepEqual(codes(load('www.surveyor.lab.rsa.pem', 'www.surveyor.lab.ecdsa.key')), [['FULCRUM_ERR_TLS_KEY_MISMATCH', 'error', 'www.surveyor.lab.ecdsa.key']]);
  });
});

describe('warnings: the pair is loaded, and the user told', () => {
  it(`${CertificateProblemCode.EXPIRED}: past notAfter`, () => {
    const result = pair('expired');
    assert.ok(result.certificate !== null);
    assert.deepEqual(codes(result), [['FULCRUM_WARN_TLS_EXPIRED', 'warning', 'expired.pem']]);
    assert.equal(result.problems[0]!.message, `the certificate for expired.surveyor.lab in ${fixture('expired.pem')} expired on 2024-01-01T00:00:00Z: clients refuse it; renew it and reload`);
  });

  it(`${CertificateProblemCode.EXPIRED}: before notBefore`, () => {
    const result = pair('www.surveyor.lab.rsa', new Date('2024-06-01T00:00:00Z'));
    assert.deepEqual(codes(result), [['FULCRUM_WARN_TLS_EXPIRED', 'warning', 'www.surveyor.lab.rsa.pem']]);
    assert.equal(
      result.problems[0]!.message,
      `the certificate for www.surveyor.lab in ${fixture('www.surveyor.lab.rsa.pem')} is not valid until 2025-01-01T00:00:00Z: clients refuse it until then; check this machine's clock, or install the certificate after that date`,
    );
  });

  it(`${CertificateProblemCode.EXPIRES_SOON}: fewer than 14 days left`, () => {
    const end = Date.parse('2125-01-01T00:00:00Z');
    const day = 86_400_000;
    const at = (msLeft: number): CertificateLoad => pair('multi.lab', new Date(end - msLeft));
    assert.deepEqual(codes(at(14 * day)), []);
    assert.deepEqual(codes(at(14 * day - 1)), [['FULCRUM_WARN_TLS_EXPIRES_SOON', 'warning', 'multi.lab.pem']]);
    assert.equal(at(6.5 * day).problems[0]!.message, `the certificate for a.multi.lab (and 1 more name) in ${fixture('multi.lab.pem')} expires on 2125-01-01T00:00:00Z (in 6 days): renew it and reload`);
    assert.match(at(1.5 * day).problems[0]!.message, /\(in 1 day\)/);
    assert.match(at(3_600_000).problems[0]!.message, /\(in less than a day\)/);
  });

  it(`${CertificateProblemCode.CHAIN}: the leaf alone, its intermediate missing`, () => {
    const result = pair('no-chain');
    assert.ok(result.certificate !== null);
    assert.equal(result.certificate.chainLength, 1);
    assert.deepEqual(codes(result), [['FULCRUM_WARN_TLS_CHAIN', 'warning', 'no-chain.pem']]);
    assert.equal(
      result.problems[0]!.message,
      `${fixture('no-chain.pem')} holds only the certificate for nochain.surveyor.lab; its issuer ${INTERMEDIATE} is missing, so clients that lack it will fail: append the intermediate certificate(s)`,
    );
  });

  it(`${CertificateProblemCode.CHAIN}: the leaf followed by a certificate that did not sign it`, () => {
    const file = scratchFile('wrong-order.pem', readFixture('no-chain.pem'), readFixture('root-ca.pem'));
    const result = loadCertificate({ cert: file, key: fixture('no-chain.key') }, NOW);
    assert.deepEqual(codes(result), [['FULCRUM_WARN_TLS_CHAIN', 'warning', 'wrong-order.pem']]);
    assert.equal(
      result.problems[0]!.message,
      `in ${file}, the certificate for nochain.surveyor.lab is not followed by its issuer ${INTERMEDIATE}, so clients that lack it will fail: put the leaf first, then the certificate that signed it, and so on up the chain`,
    );
  });

  it('no chain warning for a self-signed certificate, nor for a full chain up to the root', () => {
    assert.deepEqual(codes(pair('root-ca')), []);
    const full = scratchFile('full-chain.pem', readFixture('www.surveyor.lab.rsa.pem'), readFixture('root-ca.pem'));
    assert.deepEqual(codes(loadCertificate({ cert: full, key: fixture('www.surveyor.lab.rsa.key') }, NOW)), []);
  });

  it('an error and a warning together: the warning is still reported', () => {
    const result = load('expired.pem', 'mismatched.key');
    assert.equal(result.certificate, null);
    assert.deepEqual(codes(result), [
      ['FULCRUM_ERR_TLS_KEY_MISMATCH', 'error', 'mismatched.key'],
      ['FULCRUM_WARN_TLS_EXPIRED', 'warning', 'expired.pem'],
    ]);
  });
});
