/**
 * Reads a certificate file (the leaf, then its intermediates) and its key file, and checks them:
 * every problem comes back with a stable code, the file it is in, and what to do. The reading is
 * synchronous because the config loader checks certificates while it validates.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CertificateProblemCode, type CertificateProblem, type LoadedCertificate } from './certificate.ts';
import { chainProblems, validityProblems } from './certificate-checks.ts';
import { certificateNames } from './certificate-names.ts';
import { isCertificate, isEncryptedKey, isPrivateKey, pemBlocks } from './pem.ts';

export type { CertificateProblem, LoadedCertificate } from './certificate.ts';
export { CertificateProblemCode } from './certificate.ts';

export interface CertificateSource {
  /** Absolute paths. */
  cert: string;
  key: string;
}

export interface CertificateLoad {
  /** Null when any problem is an error. */
  certificate: LoadedCertificate | null;
  problems: CertificateProblem[];
}

export function loadCertificate(src: CertificateSource, now: Date): CertificateLoad {
  const problems: CertificateProblem[] = [];
  const certText = readText(src.cert, problems);
  const keyText = src.key === src.cert ? certText : readText(src.key, problems);
  const chain = certText === null ? null : readChain(src.cert, certText, problems);
  const key = keyText === null ? null : readKey(src.key, keyText, problems);
  if (chain === null || key === null) return { certificate: null, problems };

  const leaf = chain.certificates[0]!;
  if (!leaf.checkPrivateKey(key.object)) {
    problems.push(error(CertificateProblemCode.KEY_MISMATCH, src.key, `the key in ${src.key} does not belong to the certificate in ${src.cert}: give the key file that was made with this certificate's request`));
  }
  const names = certificateNames(leaf);
  problems.push(...validityProblems(leaf, names, src.cert, now), ...chainProblems(chain.certificates, names, src.cert));
  if (problems.some((p) => p.severity === 'error')) return { certificate: null, problems };

  const certificate: LoadedCertificate = {
    certFile: src.cert,
    keyFile: src.key,
    names,
    keyType: key.object.asymmetricKeyType ?? 'unknown',
    subject: leaf.subject,
    issuer: leaf.issuer,
    serialNumber: leaf.serialNumber,
    fingerprint256: leaf.fingerprint256,
    notBefore: leaf.validFromDate,
    notAfter: leaf.validToDate,
    chainLength: chain.certificates.length,
    certPem: Buffer.from(chain.pem),
    keyPem: Buffer.from(key.pem),
  };
  return { certificate, problems };
}

function readText(file: string, problems: CertificateProblem[]): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(error(CertificateProblemCode.READ, file, `cannot read ${file}: ${readFailure(err)}`));
    return null;
  }
}

function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file (ENOENT); check the path (a relative one is taken from the working directory)';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code}); let the user Fulcrum runs as read it`;
    case 'EISDIR':
      return 'it is a directory (EISDIR); give the path of the PEM file in it';
    default:
      return `${code ?? 'error'}: ${(err as Error).message}`;
  }
}

function readChain(file: string, text: string, problems: CertificateProblem[]): { certificates: X509Certificate[]; pem: string } | null {
  const blocks = pemBlocks(text).filter(isCertificate);
  if (blocks.length === 0) {
    problems.push(
      error(
        CertificateProblemCode.PEM,
        file,
        `${file} holds no certificate (no "-----BEGIN CERTIFICATE-----" block): give the PEM certificate file; a DER file converts with openssl x509 -inform der -in ${file} -out cert.pem`,
      ),
    );
    return null;
  }
  const certificates: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      certificates.push(new X509Certificate(block.text));
    } catch (err) {
      problems.push(error(CertificateProblemCode.PEM, file, `certificate ${i + 1} in ${file} cannot be parsed (${(err as Error).message}): replace the file with the one your certificate authority issued`));
      return null;
    }
  }
  return { certificates, pem: blocks.map((b) => b.text).join('\n') + '\n' };
}

function readKey(file: string, text: string, problems: CertificateProblem[]): { object: KeyObject; pem: string } | null {
  const block = pemBlocks(text).find(isPrivateKey);
  if (block === undefined) {
    problems.push(error(CertificateProblemCode.PEM, file, `${file} holds no private key (no "-----BEGIN PRIVATE KEY-----" block): give the PEM file of the certificate's private key`));
    return null;
  }
  if (isEncryptedKey(block)) {
    problems.push(
      error(
        CertificateProblemCode.PEM,
        file,
        `the private key in ${file} is encrypted, and encrypted keys are not supported: decrypt it (openssl pkey -in ${file} -out key.pem) and make the result readable by Fulcrum's user only`,
      ),
    );
    return null;
  }
  try {
    return { object: createPrivateKey(block.text), pem: block.text + '\n' };
  } catch (err) {
    problems.push(error(CertificateProblemCode.PEM, file, `the private key in ${file} cannot be read (${(err as Error).message}): give the PEM file of the certificate's private key`));
    return null;
  }
}

function error(code: CertificateProblemCode, file: string, message: string): CertificateProblem {
  return { code, severity: 'error', file, message };
}
