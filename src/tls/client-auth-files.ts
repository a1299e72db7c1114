/**
 * The files of `tls.clientAuth` (mTLS): the CAs that client certificates must chain to, and an
 * optional CRL. Read at load by the config schema (so `fulcrum check` names a bad file) and again
 * by the TLS front end when a worker applies the config. Synchronous, like certificate-file.ts.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ErrorCode } from '../errors.ts';
import { isCertificate, pemBlocks } from './pem.ts';

export interface ClientAuthFiles {
  /** Absolute paths; `crl` undefined when none. */
  ca: string;
  crl?: string | undefined;
}

export interface ClientAuthProblem {
  code: ErrorCode;
  file: string;
  /** What is wrong and what to do, naming the file; without the code. */
  message: string;
}

export interface LoadedClientAuth {
  /** The CA certificate blocks only, as handed to OpenSSL. */
  caPem: Buffer;
  crlPem: Buffer | null;
}

export function loadClientAuth(files: ClientAuthFiles): { loaded: LoadedClientAuth | null; problems: ClientAuthProblem[] } {
  const problems: ClientAuthProblem[] = [];
  const caText = readText(files.ca, 'client CA file', problems);
  const crlText = files.crl === undefined ? null : readText(files.crl, 'CRL file', problems);
  let caPem: Buffer | null = null;
  if (caText !== null) {
    const blocks = pemBlocks(caText).filter(isCertificate);
    if (blocks.length === 0) {
      problems.push({ code: ErrorCode.TLS_PEM, file: files.ca, message: `${files.ca} holds no certificate (no "-----BEGIN CERTIFICATE-----" block): give the PEM file of the CA certificates that sign your clients' certificates` });
    }
    for (const [i, block] of blocks.entries()) {
      try {
        new X509Certificate(block.text);
      } catch (err) {
        problems.push({ code: ErrorCode.TLS_PEM, file: files.ca, message: `certificate ${i + 1} in ${files.ca} cannot be parsed (${(err as Error).message}): replace it with the CA certificate in PEM form` });
      }
    }
    if (problems.length === 0) caPem = Buffer.from(blocks.map((b) => b.text).join('\n') + '\n');
  }
  let crlPem: Buffer | null = null;
  if (files.crl !== undefined && crlText !== null) {
    const blocks = pemBlocks(crlText).filter((b) => b.label === 'X509 CRL');
    if (blocks.length === 0) {
      problems.push({ code: ErrorCode.TLS_CRL, file: files.crl, message: `${files.crl} holds no CRL (no "-----BEGIN X509 CRL-----" block): give the PEM CRL your CA publishes; a DER one converts with openssl crl -inform der -in ${files.crl} -out crl.pem` });
    } else {
      crlPem = Buffer.from(blocks.map((b) => b.text).join('\n') + '\n');
      // OpenSSL is the only CRL parser Node has: a context built once tells us it takes the file.
      try {
        createSecureContext({ crl: crlPem });
      } catch (err) {
        problems.push({ code: ErrorCode.TLS_CRL, file: files.crl, message: `${files.crl} cannot be parsed as a CRL (${(err as Error).message}): give the PEM CRL your CA publishes` });
      }
    }
  }
  if (problems.length > 0 || caPem === null) return { loaded: null, problems };
  return { loaded: { caPem, crlPem }, problems };
}

function readText(file: string, what: string, problems: ClientAuthProblem[]): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const hint =
      code === 'ENOENT'
        ? 'no such file (ENOENT); check the path (a relative one is taken from the working directory)'
        : code === 'EACCES' || code === 'EPERM'
          ? `permission denied (${code}); let the user Fulcrum runs as read it`
          : code === 'EISDIR'
            ? 'it is a directory (EISDIR); give the path of the PEM file in it'
            : `${code}: ${(err as Error).message}`;
    problems.push({ code: ErrorCode.TLS_READ, file, message: `cannot read the ${what} ${file}: ${hint}` });
    return null;
  }
}
