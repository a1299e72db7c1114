/**
 * admin.tls: the admin listener's certificates, loaded and checked the way an https virtual
 * service's are (src/tls: chain, key match, dates; SNI choice among several; the Mozilla policy),
 * so that the console's certificate is handled, watched and reloaded like any other.
 */
import type { SecureContextOptions } from 'node:tls';
import type { StreamTlsConfig } from '../config/tls.ts';
import { loadCertificate } from '../tls/certificate-file.ts';
import { CertificateStore } from '../tls/certificate-store.ts';
import { policyOptions } from '../tls/policy.ts';
import type { LoadedCertificate } from '../tls/certificate.ts';

export interface AdminTls {
  store: CertificateStore;
  /** The default certificate with the policy: what a client without SNI (an IP address in the URL) gets. */
  defaultOptions: SecureContextOptions;
}

export type AdminTlsResult = ({ ok: true } & AdminTls) | { ok: false; message: string };

export function buildAdminTls(config: StreamTlsConfig, now = new Date()): AdminTlsResult {
  const loaded: LoadedCertificate[] = [];
  for (const entry of config.certificates) {
    const load = loadCertificate({ cert: entry.cert, key: entry.key }, now);
    const errors = load.problems.filter((p) => p.severity === 'error');
    if (load.certificate === null || errors.length > 0) return { ok: false, message: `admin.tls: ${(errors[0] ?? load.problems[0])?.message ?? 'the certificate cannot be used'}` };
    loaded.push({ ...load.certificate, isDefault: entry.default });
  }
  const base: SecureContextOptions = { ...policyOptions(config.policy, { ...(config.ciphers !== undefined ? { ciphers: config.ciphers } : {}), ...(config.minVersion !== undefined ? { minVersion: config.minVersion } : {}) }) };
  try {
    const chosen = loaded.find((c) => c.isDefault === true) ?? loaded[0]!;
    return { ok: true, store: CertificateStore.build(loaded, base), defaultOptions: { ...base, cert: chosen.certPem, key: chosen.keyPem } };
  } catch (error) {
    return { ok: false, message: `admin.tls: ${error instanceof Error ? error.message : String(error)}` };
  }
}
