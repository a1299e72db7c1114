/**
 * Checks an OCSP response (RFC 6960 4.2) before it is stapled: a staple a client cannot verify is
 * worse than none (Firefox refuses the connection over a bad staple rather than asking the
 * responder itself), so everything a client checks is checked here first:
 *
 * - the response status is successful and the response a basic one;
 * - it has a SingleResponse for this certificate's CertID (issuer name and key hash, serial);
 * - it is signed by the issuer, or by a responder certificate the issuer signed for OCSP signing
 *   (RFC 6960 4.2.2.2: extended key usage id-kp-OCSPSigning) that is valid now;
 * - thisUpdate is not in the future (up to CLOCK_SKEW_MS) and nextUpdate, when present, is after
 *   thisUpdate and not past; a response without nextUpdate counts for NO_NEXT_UPDATE_LIFETIME_MS.
 *
 * The certificate's status comes back as good or revoked; unknown (the responder does not know
 * the certificate, as happens for minutes after issuance) is a failure to retry, like a bad
 * response: neither is ever stapled.
 */
import { verify, X509Certificate, type KeyObject } from 'node:crypto';
import { bitStringBytes, children, contextTag, DerError, expectTag, generalizedTime, oidText, readWhole, smallInteger, Tag, type DerElement } from './der.ts';
import { CERT_ID_HASHES, certId, sameCertId, type CertId, type CertIdSource } from './ocsp-request.ts';
import { OcspCode } from './ocsp.ts';
import { oneLine } from './certificate-names.ts';

/** OpenSSL's `openssl ocsp` accepts thisUpdate up to 5 minutes ahead of its clock (MAX_VALIDITY_PERIOD); so do we. */
export const CLOCK_SKEW_MS = 5 * 60_000;
/**
 * A response without nextUpdate says "newer information is always available" (RFC 6960 2.4).
 * Firefox (mozilla::pkix) takes one as valid for a day after its thisUpdate, so it is stapled for
 * that long at most.
 */
export const NO_NEXT_UPDATE_LIFETIME_MS = 24 * 3_600_000;

const ID_PKIX_OCSP_BASIC = '1.3.6.1.5.5.7.48.1.1';
const ID_KP_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';

/** Signature algorithm OID → the hash node:crypto's verify takes (null: the algorithm has its own, Ed25519 and Ed448). */
/** Signature algorithms (RFC 5754, 5758, 8410): the hash, and the key type the signature must be made with. */
const SIGNATURE_ALGORITHMS: ReadonlyMap<string, { hash: string | null; keyType: string }> = new Map([
  ['1.2.840.113549.1.1.5', { hash: 'sha1', keyType: 'rsa' }],
  ['1.2.840.113549.1.1.11', { hash: 'sha256', keyType: 'rsa' }],
  ['1.2.840.113549.1.1.12', { hash: 'sha384', keyType: 'rsa' }],
  ['1.2.840.113549.1.1.13', { hash: 'sha512', keyType: 'rsa' }],
  ['1.2.840.10045.4.1', { hash: 'sha1', keyType: 'ec' }],
  ['1.2.840.10045.4.3.2', { hash: 'sha256', keyType: 'ec' }],
  ['1.2.840.10045.4.3.3', { hash: 'sha384', keyType: 'ec' }],
  ['1.2.840.10045.4.3.4', { hash: 'sha512', keyType: 'ec' }],
  ['1.3.101.112', { hash: null, keyType: 'ed25519' }],
  ['1.3.101.113', { hash: null, keyType: 'ed448' }],
]);

/** RFC 6960 4.2.1 OCSPResponseStatus, for the message. */
const RESPONSE_STATUS = ['successful', 'malformedRequest', 'internalError', 'tryLater', '(unused)', 'sigRequired', 'unauthorized'];
/** RFC 5280 5.3.1 CRLReason. */
const REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', '(unused)', 'removeFromCRL', 'privilegeWithdrawn', 'aACompromise'];

export interface OcspSubject {
  /** The certificate's CertID parts (certIdSource). */
  source: CertIdSource;
  issuer: X509Certificate;
}

export type OcspCheck =
  | {
      ok: true;
      status: 'good' | 'revoked';
      thisUpdate: Date;
      nextUpdate: Date | null;
      /** nextUpdate, or thisUpdate + NO_NEXT_UPDATE_LIFETIME_MS without one: never stapled from then on. */
      expires: Date;
      /** When revoked: when, and why (RFC 5280's reason name) when the responder says. */
      revocation?: { time: Date; reason: string | null };
    }
  | { ok: false; code: typeof OcspCode.RESPONSE | typeof OcspCode.UNKNOWN; message: string };

interface SingleResponse {
  id: CertId;
  status: 'good' | 'revoked' | 'unknown';
  revocation?: { time: Date; reason: string | null };
  thisUpdate: Date;
  nextUpdate: Date | null;
}

export function checkResponse(der: Buffer, subject: OcspSubject, now: number): OcspCheck {
  try {
    return check(der, subject, now);
  } catch (error) {
    // Whatever a hostile or garbled response makes the parser or OpenSSL throw (a responder
    // certificate whose key does not decode, say) is a bad response, retried with back-off.
    if (error instanceof DerError) return bad(`the response is not valid DER: ${error.message}`);
    return bad(`the response could not be read: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function check(der: Buffer, subject: OcspSubject, now: number): OcspCheck {
  const top = children(expectTag(readWhole(der), Tag.SEQUENCE, 'OCSPResponse'));
  const status = smallInteger(expectTag(top[0], Tag.ENUMERATED, 'responseStatus').content);
  if (status !== 0) return bad(`the responder answered ${RESPONSE_STATUS[status] ?? 'status'} (${status}), not successful`);
  const responseBytes = children(expectTag(children(expectTag(top[1], contextTag(0), 'responseBytes'))[0], Tag.SEQUENCE, 'ResponseBytes'));
  const type = oidText(expectTag(responseBytes[0], Tag.OID, 'responseType').content);
  if (type !== ID_PKIX_OCSP_BASIC) return bad(`the response is of type ${type}, not a basic OCSP response`);

  const basic = children(expectTag(readWhole(expectTag(responseBytes[1], Tag.OCTET_STRING, 'response').content), Tag.SEQUENCE, 'BasicOCSPResponse'));
  const tbs = expectTag(basic[0], Tag.SEQUENCE, 'tbsResponseData');
  const algorithm = oidText(expectTag(children(expectTag(basic[1], Tag.SEQUENCE, 'signatureAlgorithm'))[0], Tag.OID, 'algorithm').content);
  const signature = bitStringBytes(expectTag(basic[2], Tag.BIT_STRING, 'signature').content);
  const certs = basic[3] === undefined ? [] : children(expectTag(children(expectTag(basic[3], contextTag(0), 'certs'))[0], Tag.SEQUENCE, 'certs'));

  const single = findSingle(tbs, subject.source);
  if (single === null) return bad(`the response has no answer for serial ${subject.source.serialNumber.toString('hex').toUpperCase()}`);

  const signed = signedBy(tbs.encoded, algorithm, signature, subject.issuer, certs, now);
  if (signed !== null) return bad(signed);

  const { thisUpdate, nextUpdate } = single;
  if (thisUpdate.getTime() > now + CLOCK_SKEW_MS) return bad(`its thisUpdate ${thisUpdate.toISOString()} is in the future (check this machine's clock)`);
  if (nextUpdate !== null && nextUpdate.getTime() < thisUpdate.getTime()) return bad(`its nextUpdate ${nextUpdate.toISOString()} is before its thisUpdate ${thisUpdate.toISOString()}`);
  const expires = nextUpdate ?? new Date(thisUpdate.getTime() + NO_NEXT_UPDATE_LIFETIME_MS);
  if (expires.getTime() <= now) return bad(`it expired at ${expires.toISOString()}${nextUpdate === null ? ' (no nextUpdate: a day after its thisUpdate)' : ''}; the responder serves a stale response`);

  if (single.status === 'unknown') return { ok: false, code: OcspCode.UNKNOWN, message: 'the responder does not know this certificate (status unknown); a new certificate can take a while to reach it' };
  const result: OcspCheck = { ok: true, status: single.status, thisUpdate, nextUpdate, expires };
  if (single.revocation !== undefined) result.revocation = single.revocation;
  return result;
}

/** The SingleResponse whose CertID is this certificate's, under whatever hash the responder chose. */
function findSingle(tbs: DerElement, source: CertIdSource): SingleResponse | null {
  const fields = children(tbs);
  // version [0] EXPLICIT DEFAULT v1, then responderID, producedAt, responses.
  const at = fields[0]?.tag === contextTag(0) ? 1 : 0;
  const responses = children(expectTag(fields[at + 2], Tag.SEQUENCE, 'responses'));
  const ours = new Map<string, CertId>();
  for (const element of responses) {
    const single = readSingle(element);
    if (single === null) continue;
    let mine = ours.get(single.id.hashAlgorithm);
    if (mine === undefined) ours.set(single.id.hashAlgorithm, (mine = certId(source, single.id.hashAlgorithm)));
    if (sameCertId(mine, single.id)) return single;
  }
  return null;
}

/** A SingleResponse; null when its CertID uses a hash we do not know (it cannot be ours then). */
function readSingle(element: DerElement): SingleResponse | null {
  const fields = children(expectTag(element, Tag.SEQUENCE, 'SingleResponse'));
  const idFields = children(expectTag(fields[0], Tag.SEQUENCE, 'certID'));
  const hashAlgorithm = oidText(expectTag(children(expectTag(idFields[0], Tag.SEQUENCE, 'hashAlgorithm'))[0], Tag.OID, 'algorithm').content);
  if (!CERT_ID_HASHES.has(hashAlgorithm)) return null;
  const id: CertId = {
    hashAlgorithm,
    issuerNameHash: expectTag(idFields[1], Tag.OCTET_STRING, 'issuerNameHash').content,
    issuerKeyHash: expectTag(idFields[2], Tag.OCTET_STRING, 'issuerKeyHash').content,
    serialNumber: expectTag(idFields[3], Tag.INTEGER, 'serialNumber').content,
  };
  const statusElement = fields[1];
  if (statusElement === undefined) throw new DerError('certStatus is missing');
  const thisUpdate = generalizedTime(expectTag(fields[2], Tag.GENERALIZED_TIME, 'thisUpdate').content);
  const next = fields[3]?.tag === contextTag(0) ? fields[3] : undefined;
  const nextUpdate = next === undefined ? null : generalizedTime(expectTag(children(next)[0], Tag.GENERALIZED_TIME, 'nextUpdate').content);
  // certStatus: good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT NULL.
  if (statusElement.tag === contextTag(0, false)) return { id, status: 'good', thisUpdate, nextUpdate };
  if (statusElement.tag === contextTag(2, false)) return { id, status: 'unknown', thisUpdate, nextUpdate };
  if (statusElement.tag !== contextTag(1)) throw new DerError(`certStatus has tag 0x${statusElement.tag.toString(16)}`);
  const info = children(statusElement);
  const time = generalizedTime(expectTag(info[0], Tag.GENERALIZED_TIME, 'revocationTime').content);
  const reasonElement = info[1]?.tag === contextTag(0) ? children(info[1])[0] : undefined;
  const reason = reasonElement === undefined ? null : (REASONS[smallInteger(expectTag(reasonElement, Tag.ENUMERATED, 'revocationReason').content)] ?? 'unspecified');
  return { id, status: 'revoked', revocation: { time, reason }, thisUpdate, nextUpdate };
}

/** Null when the signature is the issuer's or an authorised responder's; else what is wrong. */
function signedBy(tbs: Buffer, algorithm: string, signature: Buffer, issuer: X509Certificate, certs: readonly DerElement[], now: number): string | null {
  const signing = SIGNATURE_ALGORITHMS.get(algorithm);
  if (signing === undefined) return `its signature algorithm ${algorithm} is not supported`;
  // The algorithm names the key type: Node would otherwise pick the padding from the key, and an
  // RSA signature labelled ECDSA would pass here and fail in the client's OpenSSL.
  const verifies = (certificate: X509Certificate): boolean => {
    try {
      const key: KeyObject = certificate.publicKey;
      return key.asymmetricKeyType === signing.keyType && verify(signing.hash, tbs, key, signature);
    } catch {
      return false; // a key that does not decode
    }
  };
  if (verifies(issuer)) return null;
  let refused = '';
  for (const element of certs) {
    let delegate: X509Certificate;
    try {
      delegate = new X509Certificate(element.encoded);
    } catch {
      continue;
    }
    if (!verifies(delegate)) continue;
    // RFC 6960 4.2.2.2: a delegated responder is one the issuer certified for OCSP signing.
    if (!delegate.checkIssued(issuer) || !delegate.verify(issuer.publicKey)) refused = `it is signed by ${oneLine(delegate.subject)}, which the certificate's issuer did not sign`;
    else if (!(delegate.keyUsage ?? []).includes(ID_KP_OCSP_SIGNING)) refused = `it is signed by ${oneLine(delegate.subject)}, whose certificate lacks the OCSP signing extended key usage`;
    else if (delegate.validFromDate.getTime() > now || delegate.validToDate.getTime() < now) refused = `it is signed by ${oneLine(delegate.subject)}, whose certificate is not valid now`;
    else return null;
  }
  return refused !== '' ? refused : "its signature verifies neither with the issuer's key nor with a responder certificate in it";
}

function bad(message: string): OcspCheck {
  return { ok: false, code: OcspCode.RESPONSE, message };
}
