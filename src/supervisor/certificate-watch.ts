/**
 * Hot reload of certificates: the supervisor watches every certificate and key file (and mTLS
 * client CA and CRL file) of the running config and reloads when one changes, as a SIGHUP would.
 * New handshakes get the new certificate; established connections keep theirs (a reload never
 * cuts a connection).
 *
 * The watch is on each file's directory, not the file: certbot, acme.sh and editors replace a
 * file by renaming a new one over it, which ends a watch on the old inode. A change is acted on
 * 500 ms after the last event, so that a certificate and its key written one after the other
 * (and a renewal's symlink swap) are read as a pair.
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { CertificateStatus } from '../admin/types.ts';
import type { Config } from '../config/schema.ts';
import { CertificateProblemCode, loadCertificate, type CertificateProblem } from '../tls/certificate-file.ts';
import { certificateFile } from '../acme/paths.ts';
import { clientCertificateWarnings, upstreamTlsFiles } from '../config/upstream-tls.ts';
import { ocspPlans, type OcspTarget } from '../tls/ocsp-targets.ts';

export const SETTLE_MS = 500;

/** Every certificate and key file of the config's https virtual services. */
export function certificateFilesOf(config: Config): string[] {
  const files = new Set<string>();
  for (const vs of config.virtualServices) {
    const tls = vs.protocol === 'https' || vs.protocol === 'tcp' ? vs.tls : undefined;
    if (tls === undefined) continue;
    for (const c of tls.certificates) {
      files.add(c.cert);
      files.add(c.key);
    }
    // A CA bundle or a CRL replaced (a new CRL every few days) reloads too.
    const clientAuth = vs.protocol === 'https' ? vs.tls.clientAuth : undefined;
    if (clientAuth !== undefined && clientAuth.mode !== 'none') {
      if (clientAuth.ca !== undefined) files.add(clientAuth.ca);
      if (clientAuth.crl !== undefined) files.add(clientAuth.crl);
    }
  }
  // Pools' CAs and client certificates towards the real servers: a renewed one is used from that reload on.
  for (const file of upstreamTlsFiles(config.pools)) files.add(file);
  // The admin listener's own (admin.tls): a renewed one is served from that reload on.
  for (const c of config.admin?.tls?.certificates ?? []) {
    files.add(c.cert);
    files.add(c.key);
  }
  return [...files];
}

/**
 * Every https virtual service's certificates as they are on disk now (for the status view), and
 * their warnings (expired, expiring, chain incomplete; with tls.ocsp, what cannot be stapled) for
 * the log; and the certificates OCSP stapling fetches responses for.
 */
export function certificateStatus(config: Config, now: Date): { byService: Map<string, CertificateStatus[]>; warnings: CertificateProblem[]; ocsp: OcspTarget[] } {
  const byService = new Map<string, CertificateStatus[]>();
  const warnings: CertificateProblem[] = [];
  const ocsp: OcspTarget[] = [];
  for (const vs of config.virtualServices) {
    const tls = vs.protocol === 'https' || vs.protocol === 'tcp' ? vs.tls : undefined;
    if (tls === undefined) continue;
    const explicitDefault = tls.certificates.some((c) => c.default);
    // ACME renews its own certificates (and says so when it cannot): "expires soon, renew it" is not the operator's to act on.
    const acme = vs.protocol === 'https' && vs.tls.acme !== undefined ? vs.tls.acme : undefined;
    const managed = new Set(acme?.names.map((name) => certificateFile(acme.storage, name)));
    const loads = tls.certificates.map((c) => loadCertificate({ cert: c.cert, key: c.key }, now));
    const plans = ocspPlans(tls.ocsp, tls.certificates.map((c) => c.cert), loads.map((l) => l.certificate));
    ocsp.push(...plans.targets);
    const ocspProblems = Map.groupBy(plans.problems, (p) => p.index);
    const list = tls.certificates.map((c, index): CertificateStatus => {
      const { certificate, problems } = loads[index]!;
      const own = problems.filter((p) => p.severity === 'warning' && !(p.code === CertificateProblemCode.EXPIRES_SOON && managed.has(c.cert)));
      for (const p of ocspProblems.get(index) ?? []) own.push(p.problem);
      for (const p of own) warnings.push({ ...p, message: `virtual service "${vs.name}": ${p.message}` });
      const entry: CertificateStatus = {
        names: certificate?.names ?? [],
        keyType: certificate?.keyType ?? '',
        issuer: certificate?.issuer ?? '',
        notAfter: certificate?.notAfter.toISOString() ?? '',
        certFile: c.cert,
        isDefault: explicitDefault ? c.default : index === 0,
      };
      // A file that broke since the config was checked: the workers keep serving what they loaded.
      const all = certificate === null ? problems : own;
      if (all.length > 0) entry.warnings = all.map((p) => p.message);
      return entry;
    });
    byService.set(vs.name, list);
  }
  warnings.push(...clientCertificateWarnings(config.pools, now));
  return { byService, warnings, ocsp };
}

export class CertificateWatch {
  readonly #onChange: (files: string[]) => void;
  readonly #settleMs: number;
  #watchers = new Map<string, FSWatcher>();
  /** directory → the file names in it that matter. */
  #names = new Map<string, Set<string>>();
  #changed = new Set<string>();
  #timer: NodeJS.Timeout | null = null;

  constructor(onChange: (files: string[]) => void, settleMs = SETTLE_MS) {
    this.#onChange = onChange;
    this.#settleMs = settleMs;
  }

  /** Watch exactly these files from now on (the running config's). */
  set(files: readonly string[]): void {
    const names = new Map<string, Set<string>>();
    for (const file of files) {
      const dir = path.dirname(file);
      let set = names.get(dir);
      if (set === undefined) names.set(dir, (set = new Set()));
      set.add(path.basename(file));
    }
    for (const [dir, watcher] of this.#watchers) {
      if (!names.has(dir)) {
        watcher.close();
        this.#watchers.delete(dir);
      }
    }
    this.#names = names;
    for (const dir of names.keys()) {
      if (this.#watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => this.#seen(dir, name));
        // A directory removed or replaced under us: forget the watch, so that the next set()
        // (the next load) watches the directory that is there now.
        watcher.on('error', () => {
          watcher.close();
          if (this.#watchers.get(dir) === watcher) this.#watchers.delete(dir);
        });
        this.#watchers.set(dir, watcher);
      } catch {
        // Unreadable directory: the config check already named its files; nothing to watch.
      }
    }
  }

  close(): void {
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #seen(dir: string, name: string | Buffer | null): void {
    const names = this.#names.get(dir);
    if (names === undefined) return;
    // Some file systems report no name: take it as any of this directory's files.
    const file = name === null ? null : name.toString();
    // A Kubernetes secret or config map swaps its `..data` symlink (its files link through it),
    // so the event names `..data` or `..2026_...`, never the file: any `..` entry counts.
    if (file !== null && !names.has(file) && !file.startsWith('..')) return;
    this.#changed.add(file === null ? dir : path.join(dir, file));
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const changed = [...this.#changed];
      this.#changed.clear();
      this.#onChange(changed);
    }, this.#settleMs);
    this.#timer.unref();
  }
}
