// What GET /api/v1/status and `fulcrum status` say about the certificates tls.acme manages:
// each one's name, state, issuer, expiry, last renewal, next attempt and last error, beside the
// certificate list the status already had.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { buildStatus } from '../../src/admin/status.ts';
import type { AcmeCertificateStatus, CertificateStatus } from '../../src/admin/types.ts';
import { formatStatusTable } from '../../src/cli/status-table.ts';
import { loadConfigText } from '../../src/config/load.ts';

const config = (() => {
  const loaded = loadConfigText(
    stringify({
      virtualServices: [
        { name: 'secure', listen: '127.0.0.1:8443', protocol: 'https', realServers: [{ address: '127.0.0.1:9001' }], tls: { acme: { names: ['www.example.com', 'api.example.com'], storage: '/srv/acme' } } },
        { name: 'plain', listen: '127.0.0.1:8080', protocol: 'http', redirectToHttps: { port: 8443 } },
      ],
    }),
    'test.yaml',
  );
  assert.ok(loaded.ok);
  return loaded.config;
})();

const certificate = (name: string, issuer: string, notAfter: string): CertificateStatus => ({
  names: [name],
  keyType: 'ec',
  issuer,
  notAfter,
  certFile: `/srv/acme/certificates/${name}.pem`,
  isDefault: name === 'www.example.com',
});

const acme = (name: string, extra: Partial<AcmeCertificateStatus>): AcmeCertificateStatus => ({
  name,
  virtualServices: ['secure'],
  directory: 'https://acme-v02.api.letsencrypt.org/directory',
  challenge: 'http-01',
  state: 'valid',
  issuer: 'R11',
  notAfter: '2027-03-01T10:00:00.000Z',
  lastRenewal: '2026-12-01T10:00:00.000Z',
  nextAttempt: '2027-01-30T10:00:00.000Z',
  lastError: null,
  failures: 0,
  certFile: `/srv/acme/certificates/${name}.pem`,
  ...extra,
});

describe('ACME in the status', () => {
  const doc = buildStatus({
    config,
    health: {},
    stats: [],
    workers: [4711],
    workersNotAnswering: [],
    generation: 3,
    certificates: new Map([['secure', [certificate('www.example.com', 'C=US\nO=Let\'s Encrypt\nCN=R11', '2027-03-01T10:00:00.000Z'), certificate('api.example.com', 'CN=api.example.com\nO=Fulcrum ACME placeholder', '2027-12-01T10:00:00.000Z')]]]),
    acme: [
      acme('www.example.com', {}),
      acme('api.example.com', { state: 'placeholder', issuer: null, notAfter: null, lastRenewal: null, nextAttempt: '2026-12-06T10:05:00.000Z', lastError: 'http-01 challenge: Invalid response from http://api.example.com/.well-known/acme-challenge/x: 404 (urn:ietf:params:acme:error:unauthorized)', failures: 3 }),
    ],
  });

  it('GET /api/v1/status: each managed certificate carries its acme member, matched by file', () => {
    const certificates = doc.virtualServices.find((vs) => vs.name === 'secure')!.certificates!;
    assert.deepEqual(certificates[0]!.acme, acme('www.example.com', {}));
    assert.equal(certificates[1]!.acme?.state, 'placeholder');
    assert.equal(certificates[1]!.acme?.failures, 3);
    assert.match(certificates[1]!.acme?.lastError ?? '', /unauthorized/);
    // JSON all the way (the API's body).
    assert.deepEqual(JSON.parse(JSON.stringify(doc)).virtualServices[0].certificates[0].acme.nextAttempt, '2027-01-30T10:00:00.000Z');
  });

  it('fulcrum status: one ACME line per name with its state, issuer, expiry, renewal, next attempt and last error', () => {
    const text = formatStatusTable(doc);
    const lines = text.split('\n');
    const header = lines.findIndex((l) => l.startsWith('ACME NAME'));
    assert.ok(header > 0, text);
    assert.match(lines[header]!, /^ACME NAME\s+STATE\s+ISSUER\s+EXPIRES\s+RENEWED\s+NEXT ATTEMPT\s+LAST ERROR$/);
    assert.match(lines[header + 1]!, /^www\.example\.com\s+valid\s+R11\s+2027-03-01\s+2026-12-01 10:00\s+2027-01-30 10:00\s+-$/);
    assert.match(lines[header + 2]!, /^api\.example\.com\s+placeholder\s+-\s+-\s+-\s+2026-12-06 10:05\s+http-01 challenge: Invalid response .* \(3 failures in a row\)$/);
  });

  it('a config without acme has no ACME table', () => {
    const plain = buildStatus({ config, health: {}, stats: [], workers: [1], workersNotAnswering: [], generation: 1 });
    assert.doesNotMatch(formatStatusTable(plain), /ACME NAME/);
  });
});
