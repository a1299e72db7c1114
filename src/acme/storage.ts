/**
 * The ACME storage folder: where the supervisor keeps the account keys and the certificates, and
 * where every worker (of this node and of any other node that shares the folder) finds the
 * challenges to answer. Names are DNS names checked at load (src/config/acme.ts) and tokens are
 * checked as base64url before any path is made of them, so no path here can leave the folder.
 *
 *   accounts/<directory>/account.key      the account's private key (0600), one per ACME directory
 *   certificates/<name>.pem               the private key, then the certificate chain (0600): what
 *                                         the service serves, one file so a reader never sees a
 *                                         new certificate with an old key
 *   certificates/<name>.json              what was ordered and when: issuer directory, key type,
 *                                         last renewal, failures, last error, next attempt
 *   challenges/http-01/<token>            {"name", "keyAuthorization"} while an order is pending
 *   challenges/tls-alpn-01/<name>.pem     the RFC 8737 challenge certificate and key, likewise
 *   locks/<name>.lock                     held by the node that is ordering <name>
 */
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { alpnChallengeFile, certificateFile, certificateMetaFile, httpChallengeFile } from './paths.ts';
import type { AcmeKeyType } from '../config/acme.ts';
import { writeFileAtomic } from '../admin/atomic-write.ts';

export { accountFolder, alpnChallengeFile, certificateFile, certificateMetaFile, httpChallengeFile, lockFile, TOKEN_PATTERN } from './paths.ts';

/** What the supervisor knows of one certificate beyond the file itself; survives restarts, and other nodes read it. */
export interface CertificateMeta {
  name: string;
  /** The directory that issued the certificate in service (null: a placeholder, nothing issued yet). */
  directory: string | null;
  /** The `ca` file trusted for that directory, for a revocation after it has left the config. */
  ca: string | null;
  keyType: AcmeKeyType;
  /** ISO 8601: when the certificate in service was obtained. */
  issuedAt: string | null;
  /** Who ordered it: a name that leaves the config is revoked at start only by its owner (see manager.ts). */
  owner: { host: string; configFile: string } | null;
  /** Failed attempts since the last success (the back-off). */
  failures: number;
  lastError: string | null;
  lastAttempt: string | null;
  /** ISO 8601: the next attempt after a failure (the back-off), so a restart keeps it. */
  retryAt: string | null;
}

export function emptyMeta(name: string, keyType: AcmeKeyType): CertificateMeta {
  return { name, directory: null, ca: null, keyType, issuedAt: null, owner: null, failures: 0, lastError: null, lastAttempt: null, retryAt: null };
}

/** The meta file, or null when it is missing or unreadable (a fresh name, a half-copied folder). */
export async function readMeta(storage: string, name: string): Promise<CertificateMeta | null> {
  try {
    const parsed = JSON.parse(await readFile(certificateMetaFile(storage, name), 'utf8')) as Partial<CertificateMeta>;
    if (parsed === null || typeof parsed !== 'object' || parsed.name !== name) return null;
    return { ...emptyMeta(name, parsed.keyType === 'rsa' ? 'rsa' : 'ecdsa'), ...parsed };
  } catch {
    return null;
  }
}

export async function writeMeta(storage: string, meta: CertificateMeta): Promise<void> {
  await ensureFolder(join(storage, 'certificates'));
  await writeFileAtomic(certificateMetaFile(storage, meta.name), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
}

/** Key first, then the chain: one atomic rename, so the pair is always consistent. */
export async function writeCertificate(storage: string, name: string, keyPem: string, chainPem: string): Promise<void> {
  await ensureFolder(join(storage, 'certificates'));
  const text = `${keyPem.trim()}\n${chainPem.trim()}\n`;
  await writeFileAtomic(certificateFile(storage, name), text, { mode: 0o600 });
}

export async function removeCertificate(storage: string, name: string): Promise<void> {
  await unlink(certificateFile(storage, name)).catch(ignoreMissing);
  await unlink(certificateMetaFile(storage, name)).catch(ignoreMissing);
}

/** 0700: the folder holds private keys. */
export async function ensureFolder(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
}

export function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}

/** The body of an http-01 challenge file, and of its answer. */
export interface HttpChallenge {
  name: string;
  keyAuthorization: string;
}

export async function publishHttpChallenge(storage: string, token: string, challenge: HttpChallenge): Promise<() => Promise<void>> {
  const file = httpChallengeFile(storage, token);
  await ensureFolder(join(storage, 'challenges', 'http-01'));
  await writeFileAtomic(file, JSON.stringify(challenge), { mode: 0o644 });
  return () => unlink(file).catch(ignoreMissing);
}

export async function publishAlpnChallenge(storage: string, name: string, keyPem: string, certPem: string): Promise<() => Promise<void>> {
  const file = alpnChallengeFile(storage, name);
  await ensureFolder(join(storage, 'challenges', 'tls-alpn-01'));
  await writeFileAtomic(file, `${keyPem.trim()}\n${certPem.trim()}\n`, { mode: 0o600 });
  return () => unlink(file).catch(ignoreMissing);
}
