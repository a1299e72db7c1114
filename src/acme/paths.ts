/**
 * Where things are in the ACME storage folder (the layout is described in storage.ts). Apart
 * from storage.ts, which writes, so that the workers' side (challenge-store.ts) imports nothing
 * but these names.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';

/** RFC 8555 8.3: a token is base64url (RFC 4648 5), no padding; 128 bits at least, so 22 characters or more. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{22,128}$/;

export function certificateFile(storage: string, name: string): string {
  return join(storage, 'certificates', `${name}.pem`);
}

export function certificateMetaFile(storage: string, name: string): string {
  return join(storage, 'certificates', `${name}.json`);
}

export function httpChallengeFile(storage: string, token: string): string {
  if (!TOKEN_PATTERN.test(token)) throw new RangeError(`not an ACME token: ${JSON.stringify(token)}`);
  return join(storage, 'challenges', 'http-01', token);
}

export function alpnChallengeFile(storage: string, name: string): string {
  return join(storage, 'challenges', 'tls-alpn-01', `${name}.pem`);
}

export function lockFile(storage: string, name: string): string {
  return join(storage, 'locks', `${name}.lock`);
}

/** One folder per directory URL: its host, readable, and a hash, so staging and production never share an account. */
export function accountFolder(storage: string, directory: string): string {
  const host = new URL(directory).host.replace(/[^A-Za-z0-9.-]/g, '_');
  const hash = createHash('sha256').update(directory).digest('hex').slice(0, 8);
  return join(storage, 'accounts', `${host}-${hash}`);
}
