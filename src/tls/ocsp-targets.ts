/**
 * What OCSP stapling fetches for one TLS front end with `tls.ocsp.enabled`: per certificate, the
 * responder to ask and the CertID to ask about; or, when it cannot be stapled, a warning naming
 * the certificate (logged at every load, shown in the status). Never an error: a certificate
 * without a staple is served all the same, as it would be with stapling off.
 *
 * - The responder is tls.ocsp.responder, else the certificate's own (its Authority Information
 *   Access OCSP URL). Several public CAs no longer put one in (Let's Encrypt since 2025).
 * - The CertID needs the issuer's certificate: the file must hold it after the leaf (as it must
 *   for clients anyway; certificate-checks.ts warns of a missing one too).
 * - A self-signed certificate (ACME's placeholder) has nobody to ask: nothing, quietly.
 * - A name served by an RSA and an ECDSA certificate side by side gets no staple (ocsp-staples.ts
 *   says why): a warning naming those names.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CertificateProblemCode, type CertificateProblem, type LoadedCertificate } from './certificate.ts';
import { sharedNames } from './certificate-store.ts';
import { certIdSource, type CertIdSource } from './ocsp-request.ts';
import { isCertificate, pemBlocks } from './pem.ts';
import { DerError } from './der.ts';
import { oneLine } from './certificate-names.ts';

/** tls.ocsp, as the config gives it. */
export interface OcspSettings {
  enabled: boolean;
  responder?: string | undefined;
  /** Milliseconds. */
  timeout: number;
}

/** One certificate to fetch a response for. */
export interface OcspTarget {
  /** The leaf's SHA-256 fingerprint as X509Certificate.fingerprint256 prints it: the key workers staple by. */
  fingerprint: string;
  certFile: string;
  responder: string;
  timeoutMs: number;
  source: CertIdSource;
  issuer: X509Certificate;
  /** The leaf's serial number, hex (for messages). */
  serial: string;
}

export interface OcspPlans {
  targets: OcspTarget[];
  /** Warnings, with the index of their certificate in the service's list. */
  problems: Array<{ index: number; problem: CertificateProblem }>;
}

/**
 * The targets and warnings of one front end's certificates (`loaded[i]` is certificates[i] as
 * read now, null when it does not load: its own error says why).
 */
export function ocspPlans(settings: OcspSettings, certFiles: readonly string[], loaded: ReadonlyArray<LoadedCertificate | null>): OcspPlans {
  const plans: OcspPlans = { targets: [], problems: [] };
  if (!settings.enabled) return plans;
  const present = loaded.flatMap((c, i) => (c === null ? [] : [{ names: c.names, keyType: c.keyType, index: i }]));
  const shared = sharedNames(present);
  for (const [at, names] of shared) {
    const { index } = present[at]!;
    const file = certFiles[index]!;
    plans.problems.push({
      index,
      problem: {
        code: CertificateProblemCode.OCSP_SHARED_NAMES,
      severity: 'warning',
      file,
      message: `OCSP stapling is on, but ${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} served by ${file} and a certificate of another key type side by side: Node chooses the staple before OpenSSL chooses RSA or ECDSA, and a staple for the other certificate makes Firefox refuse the connection, so ${names.length === 1 ? 'that name gets' : 'those names get'} no staple; serve one key type for them to staple`,
      },
    });
  }
  for (const [index, certFile] of certFiles.entries()) {
    if (loaded[index] === null || loaded[index] === undefined) continue;
    const plan = planOne(certFile, settings);
    if (plan === null) continue;
    if ('code' in plan) plans.problems.push({ index, problem: plan });
    else plans.targets.push(plan);
  }
  return plans;
}

function planOne(certFile: string, settings: OcspSettings): OcspTarget | CertificateProblem | null {
  const warn = (code: CertificateProblemCode, message: string): CertificateProblem => ({ code, severity: 'warning', file: certFile, message });
  let chain: X509Certificate[];
  try {
    chain = pemBlocks(readFileSync(certFile, 'utf8'))
      .filter(isCertificate)
      .map((block) => new X509Certificate(block.text));
  } catch {
    return null; // the certificate's own load reports it
  }
  const leaf = chain[0];
  if (leaf === undefined || leaf.checkIssued(leaf)) return null;
  const issuer = chain.slice(1).find((c) => leaf.checkIssued(c) && leaf.verify(c.publicKey));
  if (issuer === undefined) {
    return warn(
      CertificateProblemCode.OCSP_NO_ISSUER,
      `OCSP stapling is on, but ${certFile} lacks the certificate of its issuer '${oneLine(leaf.issuer)}', which an OCSP request must name: append the intermediate certificate; served without a staple until then`,
    );
  }
  const responder = settings.responder ?? ocspUrl(leaf);
  if (responder === null) {
    return warn(
      CertificateProblemCode.OCSP_NO_RESPONDER,
      `OCSP stapling is on, but ${certFile} names no OCSP responder (no OCSP URL in its Authority Information Access) and tls.ocsp.responder is not set: it is served without a staple; set tls.ocsp.responder, or turn tls.ocsp off if its CA has stopped OCSP`,
    );
  }
  try {
    return { fingerprint: leaf.fingerprint256, certFile, responder, timeoutMs: settings.timeout, source: certIdSource(leaf.raw, issuer.raw), issuer, serial: leaf.serialNumber };
  } catch (error) {
    if (error instanceof DerError) return null; // Node parsed it; a DER this reader refuses is not worth a staple
    throw error;
  }
}

/** The certificate's first http(s) OCSP URL ("OCSP - URI:http://..." in Node's infoAccess), or null. */
export function ocspUrl(certificate: X509Certificate): string | null {
  for (const line of (certificate.infoAccess ?? '').split('\n')) {
    const m = /^OCSP - URI:(.+)$/.exec(line.trim());
    if (m === null) continue;
    // Node quotes a value with unusual characters as JSON; such a URL is not one to POST to.
    const url = m[1]!.trim();
    if (/^https?:\/\/[^\s"]+$/i.test(url)) return url;
  }
  return null;
}
