// tls.ocsp as `fulcrum check` and each load see it: off by default, a responder that must be an
// http(s) URL, and, when on, a warning (never an error) naming each certificate that cannot be
// stapled: no responder to ask, no issuer in its file, names shared with a certificate of another
// key type. A self-signed certificate (ACME's placeholder) is left out quietly.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { formatProblems } from '../../src/config/format.ts';
import { loadConfigText } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { loadCertificate } from '../../src/tls/certificate-file.ts';
import { CertificateProblemCode } from '../../src/tls/certificate.ts';
import { ocspPlans, ocspUrl, type OcspSettings } from '../../src/tls/ocsp-targets.ts';
import { createPki, type TestPki } from './ocsp-pki.ts';
import { fixture } from './handshake.ts';

function load(tls: Record<string, unknown>): ReturnType<typeof loadConfigText> {
  return loadConfigText(
    stringify({ virtualServices: [{ name: 'secure', listen: '127.0.0.1:8443', protocol: 'https', realServers: [{ address: '127.0.0.1:9001' }], tls }] }),
    'fulcrum.yaml',
  );
}

function tlsOf(config: Config): { ocsp: OcspSettings } {
  const vs = config.virtualServices[0]!;
  assert.equal(vs.protocol, 'https');
  return (vs as { tls: { ocsp: OcspSettings } }).tls;
}

const RSA = { cert: fixture('www.surveyor.lab.rsa.pem'), key: fixture('www.surveyor.lab.rsa.key') };
const ECDSA = { cert: fixture('www.surveyor.lab.ecdsa.pem'), key: fixture('www.surveyor.lab.ecdsa.key') };

describe('tls.ocsp in the config', () => {
  it('is off by default, with a 5 s fetch timeout', () => {
    const result = load({ certificates: [RSA] });
    assert.ok(result.ok, result.ok ? '' : formatProblems(result.problems));
    assert.deepEqual(tlsOf(result.config).ocsp, { enabled: false, timeout: 5000 });
  });

  it('takes a responder URL and a timeout', () => {
    const result = load({ certificates: [RSA], ocsp: { enabled: true, responder: 'http://ocsp.example.com/', timeout: '2s' } });
    assert.ok(result.ok, result.ok ? '' : formatProblems(result.problems));
    assert.deepEqual(tlsOf(result.config).ocsp, { enabled: true, responder: 'http://ocsp.example.com/', timeout: 2000 });
  });

  it('refuses a responder that is not an http(s) URL, and unknown keys, naming the key', () => {
    const bad = load({ certificates: [RSA], ocsp: { enabled: true, responder: 'ldap://ocsp.example.com' } });
    assert.equal(bad.ok, false);
    const text = bad.ok ? '' : formatProblems(bad.problems);
    assert.match(text, /tls\.ocsp\.responder/);
    assert.match(text, /an http:\/\/ or https:\/\/ URL/);
    const unknown = load({ certificates: [RSA], ocsp: { enable: true } });
    assert.equal(unknown.ok, false);
    assert.match(unknown.ok ? '' : formatProblems(unknown.problems), /enable/);
  });
});

describe('what OCSP stapling fetches, and what it warns of', () => {
  let pki: TestPki;
  const on: OcspSettings = { enabled: true, timeout: 5000 };
  const loaded = (files: ReadonlyArray<{ cert: string; key: string }>) => files.map((f) => loadCertificate(f, new Date()).certificate);

  before(async () => {
    pki = await createPki();
  });

  it("fetches from the certificate's own responder, or from tls.ocsp.responder", async () => {
    const files = pki.files(await pki.leaf('www.ocsp.test', '0a01', 'http://ocsp.ca.test/'), 'own');
    const plans = ocspPlans(on, [files.cert], loaded([files]));
    assert.deepEqual(plans.problems, []);
    assert.deepEqual(plans.targets.map((t) => [t.certFile, t.responder, t.serial, t.timeoutMs]), [[files.cert, 'http://ocsp.ca.test/', '0A01', 5000]]);
    assert.equal(ocspPlans({ ...on, responder: 'http://cache.test/' }, [files.cert], loaded([files])).targets[0]!.responder, 'http://cache.test/');
  });

  it('warns of a certificate with no responder and of one without its issuer, naming the file', async () => {
    const bare = pki.files(await pki.leaf('bare.ocsp.test', '0a02', null), 'bare');
    const alone = pki.files(await pki.leaf('alone.ocsp.test', '0a03', 'http://ocsp.ca.test/'), 'alone', false);
    const plans = ocspPlans(on, [bare.cert, alone.cert], loaded([bare, alone]));
    assert.deepEqual(plans.targets, []);
    assert.deepEqual(
      plans.problems.map((p) => [p.index, p.problem.code, p.problem.severity, p.problem.file]),
      [
        [0, CertificateProblemCode.OCSP_NO_RESPONDER, 'warning', bare.cert],
        [1, CertificateProblemCode.OCSP_NO_ISSUER, 'warning', alone.cert],
      ],
    );
    assert.match(plans.problems[0]!.problem.message, /names no OCSP responder .* set tls\.ocsp\.responder, or turn tls\.ocsp off/);
  });

  it('warns that names served by RSA and ECDSA side by side get no staple', () => {
    const plans = ocspPlans({ ...on, responder: 'http://ocsp.test/' }, [RSA.cert, ECDSA.cert], loaded([RSA, ECDSA]));
    const shared = plans.problems.filter((p) => p.problem.code === CertificateProblemCode.OCSP_SHARED_NAMES);
    assert.deepEqual(shared.map((p) => p.index), [0, 1]);
    assert.match(shared[0]!.problem.message, /www\.surveyor\.lab is served by .*www\.surveyor\.lab\.rsa\.pem and a certificate of another key type side by side/);
  });

  it('leaves self-signed certificates out, and does nothing when off', () => {
    const selfSigned = { cert: fixture('root-ca.pem'), key: fixture('root-ca.key') };
    assert.deepEqual(ocspPlans(on, [selfSigned.cert], loaded([selfSigned])), { targets: [], problems: [] });
    assert.deepEqual(ocspPlans({ enabled: false, timeout: 5000 }, [RSA.cert], loaded([RSA])), { targets: [], problems: [] });
  });

  it('reads only an http(s) OCSP URL from the certificate', async () => {
    assert.equal(ocspUrl((await pki.leaf('u.ocsp.test', '0a04', 'http://ocsp.ca.test/x')).certificate), 'http://ocsp.ca.test/x');
    assert.equal(ocspUrl((await pki.leaf('v.ocsp.test', '0a05', 'ldap://ocsp.ca.test/')).certificate), null);
  });
});
