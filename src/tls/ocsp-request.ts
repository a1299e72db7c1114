/**
 * An OCSP request for one certificate (RFC 6960 4.1.1), in the lightweight profile every public
 * responder and CDN cache expects (RFC 5019 2.1): one CertID, hashed with SHA-1, no nonce, no
 * signature, no extensions. Without a nonce a responder can answer from a pre-signed response,
 * which is what makes OCSP cheap enough to fetch for every certificate.
 *
 * The CertID names a certificate by its issuer (the hash of the issuer's name and of its public
 * key) and its serial number, read here from the DER of both certificates.
 */
import { createHash } from 'node:crypto';
import { bitStringBytes, children, contextTag, derNull, expectTag, integerBytes, octetString, oid, readWhole, sequence, Tag, type DerElement } from './der.ts';

/** The CertID hash algorithms a responder may answer with, by OID, as node:crypto names them. */
export const CERT_ID_HASHES: ReadonlyMap<string, string> = new Map([
  ['1.3.14.3.2.26', 'sha1'],
  ['2.16.840.1.101.3.4.2.1', 'sha256'],
  ['2.16.840.1.101.3.4.2.2', 'sha384'],
  ['2.16.840.1.101.3.4.2.3', 'sha512'],
]);
const SHA1 = '1.3.14.3.2.26';

export interface CertId {
  /** The hash algorithm's OID. */
  hashAlgorithm: string;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  /** The serial number's INTEGER content bytes, as in the certificate. */
  serialNumber: Buffer;
}

/** What a CertID is made of, read once from the certificate and its issuer's certificate. */
export interface CertIdSource {
  /** The leaf's issuer Name, whole DER (tag and length included). */
  issuerName: Buffer;
  /** The issuer's subjectPublicKey bits (without the BIT STRING's tag, length and unused-bits byte). */
  issuerKey: Buffer;
  serialNumber: Buffer;
}

/** The fields of a certificate's DER a CertID needs (RFC 5280 4.1). Throws DerError on a malformed one. */
function tbsFields(certificateDer: Buffer): { serial: DerElement; issuer: DerElement; subject: DerElement; publicKey: Buffer } {
  const certificate = readWhole(certificateDer);
  const tbs = expectTag(children(expectTag(certificate, Tag.SEQUENCE, 'Certificate'))[0], Tag.SEQUENCE, 'tbsCertificate');
  const fields = children(tbs);
  // version [0] EXPLICIT is absent in a v1 certificate.
  const at = fields[0]?.tag === contextTag(0) ? 1 : 0;
  const serial = expectTag(fields[at], Tag.INTEGER, 'serialNumber');
  const issuer = expectTag(fields[at + 2], Tag.SEQUENCE, 'issuer');
  const subject = expectTag(fields[at + 4], Tag.SEQUENCE, 'subject');
  const spki = children(expectTag(fields[at + 5], Tag.SEQUENCE, 'subjectPublicKeyInfo'));
  const publicKey = bitStringBytes(expectTag(spki[1], Tag.BIT_STRING, 'subjectPublicKey').content);
  return { serial, issuer, subject, publicKey };
}

export function certIdSource(leafDer: Buffer, issuerDer: Buffer): CertIdSource {
  const leaf = tbsFields(leafDer);
  const issuer = tbsFields(issuerDer);
  return { issuerName: Buffer.from(leaf.issuer.encoded), issuerKey: Buffer.from(issuer.publicKey), serialNumber: Buffer.from(leaf.serial.content) };
}

/** The CertID with `hashAlgorithm` (an OID of CERT_ID_HASHES; SHA-1 unless a responder answered with another). */
export function certId(source: CertIdSource, hashAlgorithm = SHA1): CertId {
  const hash = CERT_ID_HASHES.get(hashAlgorithm);
  if (hash === undefined) throw new RangeError(`unsupported CertID hash algorithm ${hashAlgorithm}`);
  return {
    hashAlgorithm,
    issuerNameHash: createHash(hash).update(source.issuerName).digest(),
    issuerKeyHash: createHash(hash).update(source.issuerKey).digest(),
    serialNumber: source.serialNumber,
  };
}

export function encodeCertId(id: CertId): Buffer {
  // AlgorithmIdentifier with NULL parameters, as OpenSSL and the CAs' responders write it.
  return sequence(sequence(oid(id.hashAlgorithm), derNull()), octetString(id.issuerNameHash), octetString(id.issuerKeyHash), integerBytes(id.serialNumber));
}

/** OCSPRequest { TBSRequest { requestList { Request { reqCert } } } }: the DER to POST. */
export function ocspRequest(id: CertId): Buffer {
  return sequence(sequence(sequence(sequence(encodeCertId(id)))));
}

export function sameCertId(a: CertId, b: CertId): boolean {
  return a.hashAlgorithm === b.hashAlgorithm && a.issuerNameHash.equals(b.issuerNameHash) && a.issuerKeyHash.equals(b.issuerKeyHash) && a.serialNumber.equals(b.serialNumber);
}
