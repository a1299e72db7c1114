/**
 * What a TLS connection learned about its client's certificate (mTLS), read once when the
 * handshake completes and kept for the connection's life: every request on it, rules and the
 * X-SSL-Client-* headers read the same facts, and none costs an OpenSSL call.
 *
 * Node runs OpenSSL with a verify callback that always accepts (src/crypto/crypto_tls.cc,
 * VerifyCallback: "we ignore all preverify_ok errors and let the handshake continue"); the result
 * is the handle's verifyError() after the handshake. A missing certificate under `required` is
 * refused by OpenSSL itself (SSL_VERIFY_FAIL_IF_NO_PEER_CERT); a certificate that does not verify
 * is refused by the front end as soon as the handshake is done, before a byte of the request is
 * read (tls-front-end.ts).
 */
import type { TLSSocket } from 'node:tls';

export interface ClientCertificate {
  /** The client sent a certificate. */
  readonly present: boolean;
  /** It chains to a configured CA, is in its validity period and is not revoked (CRL). */
  readonly verified: boolean;
  /** OpenSSL's code when present and not verified ('CERT_REVOKED', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'...), else ''. */
  readonly verifyCode: string;
  /** OpenSSL's text for it ('certificate revoked'), as nginx's $ssl_client_verify gives it, else ''. */
  readonly verifyError: string;
  /** RFC 4514 (nginx's $ssl_client_s_dn): most specific first, "CN=client.example,O=Example"; '' when absent. */
  readonly subject: string;
  readonly issuer: string;
  /** Upper-case hex, as OpenSSL prints it; '' when absent. */
  readonly serial: string;
  /** SHA-256 of the DER certificate, lower-case hex without colons; '' when absent. */
  readonly fingerprint256: string;
  readonly notBefore: Date | null;
  readonly notAfter: Date | null;
}

/** A client that sent no certificate. */
export const NO_CLIENT_CERTIFICATE: ClientCertificate = Object.freeze({
  present: false,
  verified: false,
  verifyCode: '',
  verifyError: '',
  subject: '',
  issuer: '',
  serial: '',
  fingerprint256: '',
  notBefore: null,
  notAfter: null,
});

type VerifyError = Error & { code?: string };

/** Node's TLSWrap handle: verifyError() is how Node's own tls.Server reads the result (_tls_wrap.js, onServerSocketSecure). */
interface VerifyingHandle {
  verifyError(): VerifyError | null;
}

/** The facts of a server-side TLS socket whose handshake just completed with requestCert. */
export function readClientCertificate(tls: TLSSocket): ClientCertificate {
  const cert = tls.getPeerX509Certificate();
  if (cert === undefined) return NO_CLIENT_CERTIFICATE;
  const handle = (tls as unknown as { _handle: VerifyingHandle | null })._handle;
  const error: VerifyError | null = handle === null ? new Error('connection closed') : handle.verifyError();
  return Object.freeze({
    present: true,
    verified: error === null,
    verifyCode: error === null ? '' : (error.code ?? 'UNKNOWN'),
    // Node appends advice for its own clients ("; if the root CA is installed locally, try
    // running Node.js with --use-system-ca"); OpenSSL's text alone, as nginx gives it.
    verifyError: error === null ? '' : error.message.split('; ')[0]!,
    subject: rfc4514(cert.subject),
    issuer: rfc4514(cert.issuer),
    serial: cert.serialNumber.toUpperCase(),
    fingerprint256: cert.fingerprint256.replaceAll(':', '').toLowerCase(),
    notBefore: cert.validFromDate,
    notAfter: cert.validToDate,
  });
}

/**
 * Node prints a name one attribute a line, root-most first, values escaped as RFC 2253 asks
 * (ASN1_STRFLGS_ESC_2253, control characters too). RFC 4514 wants them most specific first,
 * joined by commas. Bytes past ASCII are escaped as \XX, as nginx's XN_FLAG_RFC2253 does, so the
 * name is safe in a header field.
 */
function rfc4514(multiline: string): string {
  const text = multiline.split('\n').filter((line) => line !== '').reverse().join(',');
  // eslint-disable-next-line no-control-regex
  if (!/[^\x20-\x7e]/.test(text)) return text;
  let out = '';
  for (const ch of text) {
    if (/[\x20-\x7e]/.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `\\${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The header fields (lower case) that carry the facts to real servers (filters/client-certificate-headers.ts). */
export const CLIENT_CERTIFICATE_HEADERS = ['x-ssl-client-verify', 'x-ssl-client-s-dn', 'x-ssl-client-i-dn', 'x-ssl-client-serial', 'x-ssl-client-fingerprint'] as const;

/** nginx's $ssl_client_verify: SUCCESS, FAILED:reason, NONE. */
export function verifyHeaderValue(facts: ClientCertificate): string {
  if (!facts.present) return 'NONE';
  return facts.verified ? 'SUCCESS' : `FAILED:${facts.verifyError}`;
}

const kClientCertificate = Symbol('fulcrum.clientCertificate');
type Tagged = TLSSocket & { [kClientCertificate]?: ClientCertificate };

/** Attach the facts to the socket (the front end, once per connection). */
export function setClientCertificate(tls: TLSSocket, facts: ClientCertificate): void {
  (tls as Tagged)[kClientCertificate] = facts;
}

/** The facts a TLS front end attached; null for a plain socket or a service without clientAuth. */
export function clientCertificateOf(socket: object): ClientCertificate | null {
  return (socket as Tagged)[kClientCertificate] ?? null;
}
