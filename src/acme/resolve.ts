/**
 * From a config as loaded to the config the workers run: every acme name's certificate file is
 * added to its service's `tls.certificates`, so the workers serve it through the same
 * CertificateStore as any other certificate, the supervisor's CertificateWatch watches it (a
 * renewal written there reloads like a certbot renewal would) and the status lists it.
 *
 * A name whose file does not exist yet gets a self-signed placeholder first (placeholder.ts): a
 * TLS listener needs a certificate to start, and the tls-alpn-01 challenge arrives on it.
 *
 * Order in the list: an issued ACME certificate before the configured ones (so it wins for its
 * name over a certificate listed for the same name and key type, which is how one moves from a
 * certificate obtained by hand to ACME), a placeholder after them (a configured certificate for
 * the name is served until ACME's first one exists). Which certificate is the default (clients
 * without SNI) does not move with that: the configured default, else the first configured one,
 * else the first acme name's.
 */
import type { AcmeConfig } from '../config/acme.ts';
import type { Config, VirtualServiceConfig } from '../config/schema.ts';
import type { TlsConfig } from '../config/tls.ts';
import { loadCertificate, type LoadedCertificate } from '../tls/certificate-file.ts';
import { createPlaceholder, isPlaceholder } from './placeholder.ts';
import { certificateFile, writeCertificate } from './storage.ts';

/** One certificate to manage: an acme name with its settings, and the services that serve it. */
export interface ManagedName {
  /** storage + name: a name is one certificate per storage folder. */
  key: string;
  name: string;
  acme: AcmeConfig;
  virtualServices: string[];
  file: string;
}

export function managedKey(storage: string, name: string): string {
  return `${storage}\0${name}`;
}

/** Every acme name of the config, once (acmeConflicts made sure two services order it alike). */
export function managedNames(config: Config): ManagedName[] {
  const byKey = new Map<string, ManagedName>();
  for (const vs of config.virtualServices) {
    const acme = vs.protocol === 'https' ? vs.tls.acme : undefined;
    if (acme === undefined) continue;
    for (const name of acme.names) {
      const key = managedKey(acme.storage, name);
      const known = byKey.get(key);
      if (known !== undefined) known.virtualServices.push(vs.name);
      else byKey.set(key, { key, name, acme, virtualServices: [vs.name], file: certificateFile(acme.storage, name) });
    }
  }
  return [...byKey.values()];
}

/** A managed certificate file as read now; null when missing or unusable (then it is ordered again). */
export function readManaged(file: string, now = new Date()): (LoadedCertificate & { placeholder: boolean }) | null {
  const { certificate } = loadCertificate({ cert: file, key: file }, now);
  return certificate === null ? null : { ...certificate, placeholder: isPlaceholder(certificate) };
}

/**
 * Placeholders for the names that have no usable file, then the config with every acme
 * certificate file in its service's list. Returns the names given a placeholder, for the log.
 */
export async function withAcmeCertificates(config: Config, now = new Date()): Promise<{ config: Config; placeholders: string[] }> {
  const placeholders: string[] = [];
  const issued = new Map<string, boolean>();
  for (const managed of managedNames(config)) {
    let current = readManaged(managed.file, now);
    if (current === null) {
      const { keyPem, certPem } = await createPlaceholder(managed.name, now);
      await writeCertificate(managed.acme.storage, managed.name, keyPem, certPem);
      placeholders.push(managed.name);
      current = readManaged(managed.file, now);
      if (current === null) throw new Error(`the placeholder certificate written to ${managed.file} cannot be read back`);
    }
    issued.set(managed.file, !current.placeholder);
  }
  if (issued.size === 0) return { config, placeholders };
  const virtualServices = config.virtualServices.map((vs) => (vs.protocol === 'https' && vs.tls.acme !== undefined ? withFiles(vs, vs.tls, vs.tls.acme, issued) : vs));
  return { config: { ...config, virtualServices }, placeholders };
}

function withFiles(vs: VirtualServiceConfig, tls: TlsConfig, acme: AcmeConfig, issued: ReadonlyMap<string, boolean>): VirtualServiceConfig {
  const configured = tls.certificates;
  const hasDefault = configured.some((c) => c.default);
  const own = acme.names.map((name, index) => {
    const file = certificateFile(acme.storage, name);
    return { entry: { cert: file, key: file, default: configured.length === 0 && index === 0, names: [name] }, issued: issued.get(file) === true };
  });
  const certificates = [
    ...own.filter((c) => c.issued).map((c) => c.entry),
    ...configured.map((c, index) => (hasDefault || index !== 0 ? c : { ...c, default: true })),
    ...own.filter((c) => !c.issued).map((c) => c.entry),
  ];
  return { ...vs, tls: { ...tls, certificates } } as VirtualServiceConfig;
}
