/**
 * TLS to the real servers (re-encryption, LoadMaster's "re-encrypt"): `tls:` on a pool for all
 * its servers, and on a real server for its own name (SNI) or overrides. The data path opens
 * its keep-alive connections with it, and the pool's health checks default to https with the
 * same verification, CA and name.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
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

export const PoolTlsSchema = z.strictObject({
  verify: field(z.boolean().default(true), 'Check the real server\'s certificate (chain to `ca`, name, dates); false encrypts without knowing who answers: only for a lab.'),
  ca: caFile.optional(),
  serverName: serverName.optional(),
});

export const RealServerTlsSchema = z.strictObject({
  verify: field(z.boolean().optional(), 'This server\'s verify, instead of the pool\'s.'),
  ca: caFile.optional(),
  serverName: serverName.optional(),
});

/** One real server's TLS, the pool's and its own merged; null: clear text. */
export interface UpstreamTlsConfig {
  verify: boolean;
  /** Absolute path, or null for Node's public CAs. */
  ca: string | null;
  serverName: string | null;
}

export function upstreamTls(pool: z.output<typeof PoolTlsSchema> | undefined, own: z.output<typeof RealServerTlsSchema> | undefined): UpstreamTlsConfig | null {
  if (pool === undefined && own === undefined) return null;
  return {
    verify: own?.verify ?? pool?.verify ?? true,
    ca: own?.ca ?? pool?.ca ?? null,
    serverName: own?.serverName ?? pool?.serverName ?? null,
  };
}
