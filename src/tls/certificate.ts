/**
 * Types only: a certificate and key pair as read from its PEM files, and what can be wrong with
 * them. Errors keep a pair out of service; warnings are logged and the pair is served.
 */
import { ErrorCode } from '../errors.ts';

export const CertificateProblemCode = {
  READ: ErrorCode.TLS_READ,
  PEM: ErrorCode.TLS_PEM,
  KEY_MISMATCH: ErrorCode.TLS_KEY_MISMATCH,
  /** Past its notAfter, or before its notBefore: clients refuse it. */
  EXPIRED: 'FULCRUM_WARN_TLS_EXPIRED',
  /** Fewer than 14 days of validity left. */
  EXPIRES_SOON: 'FULCRUM_WARN_TLS_EXPIRES_SOON',
  /** The issuer's certificate is not in the file (or not right after the leaf). */
  CHAIN: 'FULCRUM_WARN_TLS_CHAIN',
  /** tls.ocsp is on, and neither tls.ocsp.responder nor the certificate names an OCSP responder: no staple. */
  OCSP_NO_RESPONDER: 'FULCRUM_WARN_OCSP_NO_RESPONDER',
  /** tls.ocsp is on, and the issuer's certificate is not in the file: no OCSP request can name the certificate. */
  OCSP_NO_ISSUER: 'FULCRUM_WARN_OCSP_NO_ISSUER',
  /** tls.ocsp is on, and the certificate shares names with one of another key type: those names get no staple. */
  OCSP_SHARED_NAMES: 'FULCRUM_WARN_OCSP_SHARED_NAMES',
} as const;
export type CertificateProblemCode = (typeof CertificateProblemCode)[keyof typeof CertificateProblemCode];

export interface CertificateProblem {
  code: CertificateProblemCode;
  severity: 'error' | 'warning';
  /** The file the problem is in (the certificate's or the key's). */
  file: string;
  /** What is wrong and what to do, naming the file; without the code. */
  message: string;
}

/** A certificate file (leaf, then its chain) and its key file, read and checked. */
export interface LoadedCertificate {
  certFile: string;
  keyFile: string;
  /** SAN DNS names, lowercased (wildcards as `*.example.com`); the subject CN only when there is none. */
  names: string[];
  /** crypto.KeyObject's asymmetricKeyType: 'rsa', 'ec', 'ed25519', 'rsa-pss'... */
  keyType: 'rsa' | 'ec' | 'ed25519' | (string & {});
  /** As Node prints it: one `KEY=value` per line. */
  subject: string;
  issuer: string;
  serialNumber: string;
  fingerprint256: string;
  notBefore: Date;
  notAfter: Date;
  /** Certificates in the file: 1 for the leaf alone. */
  chainLength: number;
  /** The certificate blocks only (leaf first), as handed to OpenSSL. */
  certPem: Buffer;
  /** The private key block only. */
  keyPem: Buffer;
  /**
   * Set by the config, never by loadCertificate: serve this one to clients that send no name, or
   * one no certificate covers (CertificateStore). Default: the first listed.
   */
  isDefault?: boolean;
}
