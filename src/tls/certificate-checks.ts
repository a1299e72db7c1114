/**
 * Warnings about a certificate that can be served but will fail some clients: outside its
 * validity dates, close to its end, or a chain without the issuer of the leaf.
 */
import type { X509Certificate } from 'node:crypto';
import { CertificateProblemCode, type CertificateProblem } from './certificate.ts';
import { displayName, oneLine } from './certificate-names.ts';

// Two weeks leaves time to renew by hand; ACME clients renew with 30 days left, so an automated
// setup that works never sees this warning.
const EXPIRES_SOON_MS = 14 * 86_400_000;

export function validityProblems(leaf: X509Certificate, names: readonly string[], file: string, now: Date): CertificateProblem[] {
  const name = displayName(names, leaf.subject);
  const warn = (code: CertificateProblemCode, message: string): CertificateProblem[] => [{ code, severity: 'warning', file, message }];
  const left = leaf.validToDate.getTime() - now.getTime();
  if (left < 0) {
    return warn(CertificateProblemCode.EXPIRED, `the certificate for ${name} in ${file} expired on ${isoSeconds(leaf.validToDate)}: clients refuse it; renew it and reload`);
  }
  if (leaf.validFromDate.getTime() > now.getTime()) {
    return warn(
      CertificateProblemCode.EXPIRED,
      `the certificate for ${name} in ${file} is not valid until ${isoSeconds(leaf.validFromDate)}: clients refuse it until then; check this machine's clock, or install the certificate after that date`,
    );
  }
  if (left < EXPIRES_SOON_MS) {
    const days = Math.floor(left / 86_400_000);
    const when = days === 0 ? 'in less than a day' : `in ${days} day${days === 1 ? '' : 's'}`;
    return warn(CertificateProblemCode.EXPIRES_SOON, `the certificate for ${name} in ${file} expires on ${isoSeconds(leaf.validToDate)} (${when}): renew it and reload`);
  }
  return [];
}

/**
 * A leaf that is not self-signed needs its issuer sent along, since clients hold only roots. Each
 * certificate in the file must be followed by the one that signed it (RFC 8446 4.4.2 lets TLS
 * 1.3 clients cope with disorder; TLS 1.2 ones need not).
 */
export function chainProblems(chain: readonly X509Certificate[], names: readonly string[], file: string): CertificateProblem[] {
  const leaf = chain[0]!;
  if (leaf.checkIssued(leaf)) return [];
  const name = displayName(names, leaf.subject);
  const warn = (message: string): CertificateProblem[] => [{ code: CertificateProblemCode.CHAIN, severity: 'warning', file, message }];
  if (chain.length === 1) {
    return warn(
      `${file} holds only the certificate for ${name}; its issuer '${oneLine(leaf.issuer)}' is missing, so clients that lack it will fail: append the intermediate certificate(s)`,
    );
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    const cert = chain[i]!;
    if (cert.checkIssued(cert)) break;
    if (!cert.checkIssued(chain[i + 1]!)) {
      const which = i === 0 ? `the certificate for ${name}` : `certificate ${i + 1} ('${oneLine(cert.subject)}')`;
      return warn(
        `in ${file}, ${which} is not followed by its issuer '${oneLine(cert.issuer)}', so clients that lack it will fail: put the leaf first, then the certificate that signed it, and so on up the chain`,
      );
    }
  }
  return [];
}

/** 2024-01-01T00:00:00Z: certificate times have whole seconds. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
