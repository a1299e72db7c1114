/**
 * A throwaway PKI for the OCSP tests, made in Node (@peculiar/x509 on WebCrypto, as
 * src/acme/placeholder.ts does): a CA, leaves it signs with an OCSP URL in their Authority
 * Information Access, and a delegated responder certificate. All P-256, valid from an hour ago
 * for a day, so the tests' clocks (real, or injected near now) find them valid.
 */
import { KeyObject, webcrypto, X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
type Keys = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];
type SigningKey = Extract<Parameters<typeof x509.X509CertificateGenerator.create>[0], { signingKey: unknown }>['signingKey'];

export interface Issued {
  certPem: string;
  keyPem: string;
  /** The private key, for signing responses. */
  key: KeyObject;
  certificate: X509Certificate;
}

export interface TestPki {
  ca: Issued;
  /** A leaf for `name`, serial `serial` (hex), with `ocspUrl` as its OCSP responder (none when null). */
  leaf(name: string, serial: string, ocspUrl: string | null): Promise<Issued>;
  /** A responder certificate the CA signs; `ocspSigning: false` leaves out the OCSP signing usage. */
  responder(ocspSigning?: boolean): Promise<Issued>;
  /** Writes the leaf's chain (leaf, then the CA) and key to a fresh folder: the paths a config names. */
  files(leaf: Issued, base?: string, withIssuer?: boolean): { cert: string; key: string };
}

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function issued(certificate: x509.X509Certificate, keys: webcrypto.CryptoKeyPair): Promise<Issued> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const certPem = certificate.toString('pem');
  return {
    certPem,
    keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
    key: KeyObject.from(keys.privateKey),
    certificate: new X509Certificate(certPem),
  };
}

export async function createPki(caName = 'Fulcrum OCSP Test CA'): Promise<TestPki> {
  const now = Date.now();
  const notBefore = new Date(now - 3_600_000);
  const notAfter = new Date(now + 86_400_000);
  const caKeys = await newKeys();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${caName}`,
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    keys: caKeys as unknown as Keys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  const ca = await issued(caCert, caKeys);
  const dir = mkdtempSync(path.join(tmpdir(), 'fulcrum-ocsp-pki-'));

  const sign = async (subject: string, serial: string, extensions: x509.Extension[]): Promise<Issued> => {
    const keys = await newKeys();
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject,
      issuer: caCert.subject,
      notBefore,
      notAfter,
      signingAlgorithm: ALGORITHM,
      publicKey: keys.publicKey as unknown as x509.PublicKeyType,
      signingKey: caKeys.privateKey as unknown as SigningKey,
      extensions,
    });
    return issued(certificate, keys);
  };

  return {
    ca,
    leaf: (name, serial, ocspUrl) =>
      sign(`CN=${name}`, serial, [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }]),
        ...(ocspUrl === null ? [] : [new x509.AuthorityInfoAccessExtension({ ocsp: [new x509.GeneralName('url', ocspUrl)] })]),
      ]),
    responder: (ocspSigning = true) =>
      sign('CN=Fulcrum OCSP Test Responder', '7f01', [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([ocspSigning ? x509.ExtendedKeyUsage.ocspSigning : x509.ExtendedKeyUsage.serverAuth]),
      ]),
    files: (leaf, base = leaf.certificate.serialNumber, withIssuer = true) => {
      const cert = path.join(dir, `${base}.pem`);
      const key = path.join(dir, `${base}.key`);
      writeFileSync(cert, withIssuer ? `${leaf.certPem}\n${ca.certPem}\n` : `${leaf.certPem}\n`);
      writeFileSync(key, leaf.keyPem);
      return { cert, key };
    },
  };
}
