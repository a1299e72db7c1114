// OCSP's wire format: the request names the certificate as RFC 5019 asks (SHA-1 CertID, nothing
// else), and a response is stapled only when a client would accept it: successful, for this
// certificate, signed by its issuer or a responder the issuer authorised, in date. Responses are
// signed live by the test responder's builder; interop/ocsp.test.ts checks against OpenSSL's.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { children, DerError, generalizedTime, oidText, readElement, readWhole, Tag } from '../../src/tls/der.ts';
import { certId, certIdSource, encodeCertId, ocspRequest } from '../../src/tls/ocsp-request.ts';
import { checkResponse, CLOCK_SKEW_MS, NO_NEXT_UPDATE_LIFETIME_MS, type OcspSubject } from '../../src/tls/ocsp-response.ts';
import { OcspCode } from '../../src/tls/ocsp.ts';
import { createPki, type Issued, type TestPki } from './ocsp-pki.ts';
import { buildResponse, requestedCertId, TestResponder, type ResponseOptions } from './ocsp-responder.ts';
import { fetchOcsp } from '../../src/tls/ocsp-fetch.ts';

describe('OCSP request and response', () => {
  let pki: TestPki;
  let leaf: Issued;
  let subject: OcspSubject;
  let request: Buffer;
  const now = Date.now();

  before(async () => {
    pki = await createPki();
    leaf = await pki.leaf('www.ocsp.test', '0badc0de', 'http://127.0.0.1:9/ocsp');
    subject = { source: certIdSource(leaf.certificate.raw, pki.ca.certificate.raw), issuer: pki.ca.certificate };
    request = ocspRequest(certId(subject.source));
  });

  const respond = (options: Partial<ResponseOptions> = {}): Buffer => buildResponse(requestedCertId(request), { signer: pki.ca, ...options });

  it('asks about the certificate by a SHA-1 CertID of its issuer name, issuer key and serial, and nothing else', () => {
    // OCSPRequest > TBSRequest > requestList > Request > CertID: no version, nonce or signature.
    const tbs = children(readWhole(request));
    assert.equal(tbs.length, 1);
    const requests = children(children(tbs[0]!)[0]!);
    assert.equal(requests.length, 1);
    const id = children(children(requests[0]!)[0]!);
    assert.equal(oidText(children(id[0]!)[0]!.content), '1.3.14.3.2.26');
    // The issuer's key hash is over the public key bits, which end the key's SPKI (a P-256 point: 65 bytes).
    const spki = pki.ca.certificate.publicKey.export({ type: 'spki', format: 'der' });
    assert.deepEqual(id[2]!.content, createHash('sha1').update(spki.subarray(spki.length - 65)).digest());
    assert.equal(id[3]!.content.toString('hex'), '0badc0de');
    assert.equal(id[1]!.content.length, 20);
  });

  it('takes a good response signed by the issuer, with its dates', () => {
    const thisUpdate = new Date(Math.floor(now / 1000) * 1000 - 60_000);
    const nextUpdate = new Date(thisUpdate.getTime() + 7 * 86_400_000);
    const check = checkResponse(respond({ thisUpdate, nextUpdate }), subject, now);
    assert.deepEqual(check, { ok: true, status: 'good', thisUpdate, nextUpdate, expires: nextUpdate });
  });

  it('takes a response signed by a delegated responder the issuer certified for OCSP signing', async () => {
    const delegate = await pki.responder();
    assert.equal(checkResponse(respond({ signer: delegate }), subject, now).ok, true);
  });

  it('refuses a delegated responder without the OCSP signing usage, or one another CA signed', async () => {
    const noUsage = checkResponse(respond({ signer: await pki.responder(false) }), subject, now);
    assert.equal(noUsage.ok, false);
    assert.match(!noUsage.ok ? noUsage.message : '', /lacks the OCSP signing extended key usage/);
    const stranger = await (await createPki('Another CA')).responder();
    const foreign = checkResponse(respond({ signer: stranger }), subject, now);
    assert.match(!foreign.ok ? foreign.message : '', /which the certificate's issuer did not sign/);
  });

  it('refuses, without throwing, a response whose responder certificate has a key that does not decode', async () => {
    const delegate = await pki.responder();
    const good = respond({ signer: delegate });
    // The first byte of the EC point (0x04, uncompressed) inside the embedded certificate's SPKI.
    const raw = Buffer.from(delegate.certificate.raw);
    const at = good.indexOf(raw) + raw.indexOf(Buffer.from('034200', 'hex')) + 3;
    const bad = Buffer.from(good);
    bad[at] = 0x07;
    const check = checkResponse(bad, subject, now);
    assert.equal(check.ok, false);
    assert.equal(!check.ok && check.code, OcspCode.RESPONSE);
  });

  it('refuses a signature whose algorithm names another key type than the signer has', () => {
    // Signed with the CA's EC key, labelled RSA with SHA-256.
    const check = checkResponse(respond({ signatureAlgorithm: '1.2.840.113549.1.1.11' }), subject, now);
    assert.equal(check.ok, false);
  });

  it('refuses a broken signature', () => {
    const check = checkResponse(respond({ corruptSignature: true }), subject, now);
    assert.deepEqual(check, { ok: false, code: OcspCode.RESPONSE, message: "its signature verifies neither with the issuer's key nor with a responder certificate in it" });
  });

  it('refuses a response about another certificate', async () => {
    const other = await pki.leaf('other.ocsp.test', '0c0ffee0', null);
    const otherRequest = ocspRequest(certId(certIdSource(other.certificate.raw, pki.ca.certificate.raw)));
    const check = checkResponse(buildResponse(requestedCertId(otherRequest), { signer: pki.ca }), subject, now);
    assert.equal(check.ok, false);
    assert.match(!check.ok ? check.message : '', /no answer for serial 0BADC0DE/);
  });

  it('finds its answer under a SHA-256 CertID too', () => {
    const id = encodeCertId(certId(subject.source, '2.16.840.1.101.3.4.2.1'));
    assert.equal(checkResponse(buildResponse(id, { signer: pki.ca }), subject, now).ok, true);
  });

  it('never takes an expired response, nor one from the future beyond the clock skew', () => {
    const expired = checkResponse(respond({ thisUpdate: new Date(now - 7_200_000), nextUpdate: new Date(now - 1000) }), subject, now);
    assert.equal(expired.ok, false);
    assert.match(!expired.ok ? expired.message : '', /expired at/);
    const ahead = checkResponse(respond({ thisUpdate: new Date(now + CLOCK_SKEW_MS + 60_000) }), subject, now);
    assert.match(!ahead.ok ? ahead.message : '', /is in the future/);
    assert.equal(checkResponse(respond({ thisUpdate: new Date(now + CLOCK_SKEW_MS - 60_000) }), subject, now).ok, true);
  });

  it('counts a response without nextUpdate as good for a day after its thisUpdate', () => {
    const thisUpdate = new Date(Math.floor(now / 1000) * 1000 - 3_600_000);
    const check = checkResponse(respond({ thisUpdate, nextUpdate: null }), subject, now);
    assert.equal(check.ok && check.expires.getTime(), thisUpdate.getTime() + NO_NEXT_UPDATE_LIFETIME_MS);
    const old = checkResponse(respond({ thisUpdate: new Date(now - NO_NEXT_UPDATE_LIFETIME_MS - 1000), nextUpdate: null }), subject, now);
    assert.match(!old.ok ? old.message : '', /no nextUpdate: a day after its thisUpdate/);
  });

  it('reads a revocation with its time and reason', () => {
    const revokedAt = new Date(Math.floor(now / 1000) * 1000 - 86_400_000);
    const check = checkResponse(respond({ status: 'revoked', revokedAt, reason: 1 }), subject, now);
    assert.equal(check.ok && check.status, 'revoked');
    assert.deepEqual(check.ok ? check.revocation : null, { time: revokedAt, reason: 'keyCompromise' });
  });

  it('takes status unknown as a failure to retry, not as an answer', () => {
    const check = checkResponse(respond({ status: 'unknown' }), subject, now);
    assert.equal(!check.ok && check.code, OcspCode.UNKNOWN);
  });

  it('names an unsuccessful response status', () => {
    const check = checkResponse(respond({ responseStatus: 3 }), subject, now);
    assert.deepEqual(check, { ok: false, code: OcspCode.RESPONSE, message: 'the responder answered tryLater (3), not successful' });
  });

  it('refuses bytes that are not DER, without throwing', () => {
    for (const bytes of [Buffer.alloc(0), Buffer.from('<html>not found</html>'), respond().subarray(0, 40), Buffer.from([0x30, 0x80, 0, 0])]) {
      const check = checkResponse(bytes, subject, now);
      assert.equal(check.ok, false);
      assert.match(!check.ok ? check.message : '', /not valid DER/);
    }
  });
});

describe('the OCSP exchange over HTTP', () => {
  it('POSTs the request and reads back a response that checks; names a failure and a timeout', async () => {
    const pki = await createPki();
    const leaf = await pki.leaf('www.ocsp.test', '0f01', null);
    const subject = { source: certIdSource(leaf.certificate.raw, pki.ca.certificate.raw), issuer: pki.ca.certificate };
    const request = ocspRequest(certId(subject.source));
    const responder = await TestResponder.start({ signer: pki.ca });
    try {
      const der = await fetchOcsp(responder.url, request, 5000);
      assert.equal(checkResponse(der, subject, Date.now()).ok, true);
      responder.behaviour = 'fail';
      await assert.rejects(fetchOcsp(responder.url, request, 5000), { message: `${responder.url} answered HTTP 500` });
      responder.behaviour = 'hang';
      await assert.rejects(fetchOcsp(responder.url, request, 50), { message: `${responder.url} did not answer within 50 ms` });
      await assert.rejects(fetchOcsp('ldap://127.0.0.1/', request, 50), { message: 'ldap://127.0.0.1/: only http and https responders are supported' });
    } finally {
      await responder.close();
    }
  });
});

describe('DER reader', () => {
  it('reads long-form lengths and refuses indefinite ones, lengths past the end and trailing bytes', () => {
    const long = Buffer.concat([Buffer.from([Tag.OCTET_STRING, 0x82, 0x01, 0x00]), Buffer.alloc(256, 7)]);
    assert.equal(readElement(long).content.length, 256);
    assert.throws(() => readElement(Buffer.from([0x30, 0x80, 0, 0])), DerError);
    assert.throws(() => readElement(Buffer.from([0x04, 0x05, 1, 2])), DerError);
    assert.throws(() => readWhole(Buffer.from([0x05, 0x00, 0x00])), DerError);
  });

  it('reads GeneralizedTime with and without fractions', () => {
    assert.equal(generalizedTime(Buffer.from('20261206104100Z')).toISOString(), '2026-12-06T10:41:00.000Z');
    assert.equal(generalizedTime(Buffer.from('20261206104100.25Z')).toISOString(), '2026-12-06T10:41:00.250Z');
    assert.throws(() => generalizedTime(Buffer.from('261206104100Z')), DerError);
  });
});
