/**
 * TLS to the real servers (re-encryption, LoadMaster's "re-encrypt"): `tls:` on a pool for all
 * its servers, and on a real server for its own name (SNI) or overrides. The data path opens
 * its keep-alive connections with it, and the pool's health checks default to https with the
 * same verification, CA and name.
 *
 * A client certificate (`cert` and `key`, mTLS towards the real servers) is read and checked at
 * load as a front end's certificate is (src/tls/certificate-file.ts): an unreadable file, a key
 * that does not belong to its certificate or an encrypted key is an error naming the file; its
 * expiry is a warning the supervisor logs at every load (clientCertificateWarnings).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { loadCertificate, CertificateProblemCode, type CertificateProblem } from '../tls/certificate-file.ts';
import { formatAddress, type HostPort } from './address.ts';
import { field } from './schema-builders.ts';

/** A PEM file of CA certificates, read at load so that a missing file fails `fulcrum check`. */
const caFile = field(
  z
    .string()
    .min(1)
    .transform((file, ctx) => {
      const path = resolve(file);
      try {
        const text = readFileSync(path, 'utf8');
        if (!text.includes('-----BEGIN CERTIFICATE-----')) ctx.addIssue({ code: 'custom', input: file, message: `${path} holds no PEM certificate; ca is a file of CA certificates (-----BEGIN CERTIFICATE-----)` });
      } catch (error) {
        ctx.addIssue({ code: 'custom', input: file, message: `cannot read the CA file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
      }
      return path;
    }),
  'PEM file of the CA certificates that sign the real servers\' certificates (an internal CA). Default: the public CAs Node trusts.',
  { noun: 'a CA file path' },
);

const serverName = field(
  z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/).max(253),
  'The name sent by SNI and checked against the real server\'s certificate. Default: the real server\'s address when it is a host name; an IP address sends no SNI and is checked as an IP.',
  { noun: 'a DNS name', allowed: 'a host name such as app1.internal' },
);

const clientCert = field(z.string().min(1), 'PEM file with the client certificate sent to real servers that ask for one (mutual TLS), then its intermediate certificates, leaf first. Needs key.', {
  noun: 'a certificate file path',
});
const clientKey = field(z.string().min(1), 'PEM file with the private key of cert (unencrypted; readable by Fulcrum only).', { noun: 'a key file path' });

/** `cert` and `key` come as a pair, read and checked now so that `fulcrum check` names a bad file. */
function clientCertificate<T extends { cert?: string | undefined; key?: string | undefined }>(tls: T, ctx: z.RefinementCtx): Omit<T, 'cert' | 'key'> & { cert?: string; key?: string } {
  const { cert, key, ...rest } = tls;
  if (cert === undefined && key === undefined) return rest;
  if (cert === undefined || key === undefined) {
    const [written, missing] = cert === undefined ? ['key', 'cert'] : ['cert', 'key'];
    ctx.addIssue({ code: 'custom', input: tls, path: [written], message: `${written} needs ${missing}: a client certificate is a certificate file and its key file, given together` });
    return rest;
  }
  const paths = { cert: resolve(cert), key: resolve(key) };
  for (const problem of loadCertificate(paths, new Date()).problems) {
    if (problem.severity !== 'error') continue;
    ctx.addIssue({ code: 'custom', input: tls, path: [problem.file === paths.key ? 'key' : 'cert'], message: `${problem.message} (${problem.code})` });
  }
  return { ...rest, ...paths };
}

export const PoolTlsSchema = z
  .strictObject({
    verify: field(z.boolean().default(true), 'Check the real server\'s certificate (chain to `ca`, name, dates); false encrypts without knowing who answers: only for a lab.'),
    ca: caFile.optional(),
    serverName: serverName.optional(),
    cert: clientCert.optional(),
    key: clientKey.optional(),
  })
  .transform(clientCertificate);

export const RealServerTlsSchema = z
  .strictObject({
    verify: field(z.boolean().optional(), 'This server\'s verify, instead of the pool\'s.'),
    ca: caFile.optional(),
    serverName: serverName.optional(),
    cert: field(clientCert.optional(), 'This server\'s client certificate, instead of the pool\'s (PEM, leaf first). Needs key.'),
    key: field(clientKey.optional(), 'The private key of this server\'s cert.'),
  })
  .transform(clientCertificate);

/** One real server's TLS, the pool's and its own merged; null: clear text. */
export interface UpstreamTlsConfig {
  verify: boolean;
  /** Absolute path, or null for Node's public CAs. */
  ca: string | null;
  serverName: string | null;
  /** The client certificate and its key (absolute paths), or null for none: both or neither. */
  cert: string | null;
  key: string | null;
}

export function upstreamTls(pool: z.output<typeof PoolTlsSchema> | undefined, own: z.output<typeof RealServerTlsSchema> | undefined): UpstreamTlsConfig | null {
  if (pool === undefined && own === undefined) return null;
  // A server's cert and key replace the pool's as a pair, never one without the other.
  const client = own?.cert !== undefined ? own : pool;
  return {
    verify: own?.verify ?? pool?.verify ?? true,
    ca: own?.ca ?? pool?.ca ?? null,
    serverName: own?.serverName ?? pool?.serverName ?? null,
    cert: client?.cert ?? null,
    key: client?.key ?? null,
  };
}

interface TlsPool {
  name: string;
  realServers: ReadonlyArray<{ address: HostPort; tls: UpstreamTlsConfig | null }>;
}

/** Every file the pools' TLS reads (CAs, client certificates and keys): a change to one reloads. */
export function upstreamTlsFiles(pools: readonly TlsPool[]): string[] {
  const files = new Set<string>();
  for (const pool of pools) {
    for (const rs of pool.realServers) {
      for (const file of [rs.tls?.ca, rs.tls?.cert, rs.tls?.key]) if (file != null) files.add(file);
    }
  }
  return [...files];
}

/**
 * The client certificates' warnings, for the log at every load: expired, not yet valid or
 * expiring within 14 days, once per pool and file. A missing intermediate is not warned about:
 * a real server's client CA is most often the issuer itself (a private root), which the server
 * holds, so the warning would be noise.
 */
export function clientCertificateWarnings(pools: readonly TlsPool[], now: Date): CertificateProblem[] {
  const warnings: CertificateProblem[] = [];
  for (const pool of pools) {
    const seen = new Set<string>();
    for (const rs of pool.realServers) {
      const tls = rs.tls;
      if (tls === null || tls.cert === null || tls.key === null || seen.has(tls.cert)) continue;
      seen.add(tls.cert);
      const users = pool.realServers.filter((other) => other.tls?.cert === tls.cert).map((other) => formatAddress(other.address));
      for (const problem of loadCertificate({ cert: tls.cert, key: tls.key }, now).problems) {
        if (problem.severity !== 'warning' || problem.code === CertificateProblemCode.CHAIN) continue;
        const message = problem.message.replace('clients refuse it', 'real servers that ask for it refuse it');
        warnings.push({ ...problem, message: `pool "${pool.name}", client certificate for ${users.join(', ')}: ${message}` });
      }
    }
  }
  return warnings;
}
