/**
 * The certificate an ACME name is served with until the CA has issued its first one: self-signed,
 * for that one name, so that the listener can start (a TLS listener needs a certificate, and the
 * tls-alpn-01 challenge itself arrives on it) and a client sees a certificate error that says
 * what is going on (its organisation is "Fulcrum ACME placeholder") rather than a refused
 * connection. Nothing trusts it, and it is never a fallback for a certificate that was issued:
 * a failed renewal keeps the issued certificate in service.
 *
 * Made with @peculiar/x509 (acme-client's own X.509 library) on Node's WebCrypto: Node's crypto
 * reads certificates but does not write them.
 */
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export const PLACEHOLDER_ORGANIZATION = 'Fulcrum ACME placeholder';
/** Long enough never to expire while a CA is unreachable; it is trusted by no one either way. */
const PLACEHOLDER_DAYS = 365;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** A P-256 key and a self-signed certificate for `name`, both PEM. */
export async function createPlaceholder(name: string, now = new Date()): Promise<{ keyPem: string; certPem: string }> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${name}, O=${PLACEHOLDER_ORGANIZATION}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + PLACEHOLDER_DAYS * 86_400_000),
    signingAlgorithm: algorithm,
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }]),
      // No key usage: OpenSSL then takes it as its own issuer (X509_check_issued wants
      // keyCertSign when key usage is present), so the loader does not warn of a missing chain.
      new x509.BasicConstraintsExtension(false, undefined, true),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  return { keyPem, certPem: certificate.toString('pem') };
}

/**
 * Whether a certificate is one of ours: issued by itself, with the placeholder organisation (its
 * subject and issuer as Node prints them, one KEY=value per line).
 */
export function isPlaceholder(certificate: { subject: string; issuer: string }): boolean {
  return certificate.issuer === certificate.subject && certificate.subject.split('\n').includes(`O=${PLACEHOLDER_ORGANIZATION}`);
}
