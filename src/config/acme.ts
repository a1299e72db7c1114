/**
 * `tls.acme` of an https virtual service: certificates obtained and renewed automatically from an
 * ACME directory (RFC 8555; Let's Encrypt by default) for the names listed here and no others.
 * The supervisor runs the client (src/acme); the files it writes are served like any certificate.
 *
 * Names are checked here, at load: exact DNS names only. A wildcard needs the DNS-01 challenge
 * (RFC 8555 8.4 and Let's Encrypt's policy), which Fulcrum does not answer, and an IP address is
 * not a name a public CA validates by HTTP-01 or TLS-ALPN-01 at the name's own address; both are
 * refused with what to do instead. Nothing a client sends can add a name: there is no on-demand
 * issuance, so a stranger cannot make Fulcrum order certificates (and spend the CA's rate limits).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ErrorCode } from '../errors.ts';
import { isCertificate, pemBlocks } from '../tls/pem.ts';
import { configDirectory } from './config-directory.ts';
import { DURATION_PATTERN, parseAgeSeconds } from './duration.ts';
import type { ConfigIssue } from './problem.ts';
import { field, parsedString } from './schema-builders.ts';

export const ACME_CHALLENGE_TYPES = ['http-01', 'tls-alpn-01'] as const;
export type AcmeChallengeType = (typeof ACME_CHALLENGE_TYPES)[number];
export const ACME_KEY_TYPES = ['ecdsa', 'rsa'] as const;
export type AcmeKeyType = (typeof ACME_KEY_TYPES)[number];
export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';
/** The storage folder when none is given: this, in the config file's folder. */
export const DEFAULT_STORAGE_FOLDER = 'acme';
/**
 * One certificate (and one SecureContext) per name: 100 names build in about 50 ms
 * (src/tls/certificate-store.ts measured 1,000 in 330-580 ms), and at one order at a time a first
 * issuance of 100 names takes a few minutes. Let's Encrypt allows 50 new certificates per
 * registered domain per week (renewals are exempt).
 */
export const MAX_ACME_NAMES = 100;

/** RFC 1035 / 1123: labels of letters, digits and hyphens, 1-63 bytes, not starting or ending with a hyphen. */
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** A name as the CA will see it: lowercase, no trailing dot; or why it cannot be ordered. */
export function parseAcmeName(text: string): { ok: true; value: string } | { ok: false; message: string } {
  const name = text.trim().toLowerCase().replace(/\.$/, '');
  if (name.startsWith('*.') || name.includes('*')) {
    return {
      ok: false,
      message: `${JSON.stringify(text)} is a wildcard: ACME issues wildcard certificates only through the DNS-01 challenge, which Fulcrum does not answer; list each name (www.example.com, api.example.com), or put a wildcard certificate obtained elsewhere under tls.certificates`,
    };
  }
  if (IPV4.test(name) || name.includes(':')) {
    return { ok: false, message: `${JSON.stringify(text)} is an IP address; acme.names takes DNS names (www.example.com): put a certificate for an address under tls.certificates` };
  }
  if (name.length > 253 || name === '' || !name.split('.').every((label) => LABEL.test(label))) {
    return { ok: false, message: `${JSON.stringify(text)} is not a DNS name: labels of letters, digits and hyphens separated by dots, e.g. www.example.com` };
  }
  if (!name.includes('.')) {
    return { ok: false, message: `${JSON.stringify(text)} is a single label: a CA issues only for fully qualified names such as ${name}.example.com` };
  }
  return { ok: true, value: name };
}

const AcmeNameSchema = z.string().transform((text, ctx): string => {
  const parsed = parseAcmeName(text);
  if (parsed.ok) return parsed.value;
  ctx.addIssue({ code: 'custom', input: text, message: parsed.message });
  return z.NEVER;
});

/** The directory's own TLS, when a public CA does not sign it (pebble, a private ACME CA): read at load. */
function readDirectoryCa(file: string, ctx: z.RefinementCtx): string {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    ctx.addIssue({ code: 'custom', input: file, path: ['ca'], message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)} (${ErrorCode.TLS_READ})` });
    return path;
  }
  const blocks = pemBlocks(text).filter(isCertificate);
  if (blocks.length === 0) {
    ctx.addIssue({ code: 'custom', input: file, path: ['ca'], message: `${path} holds no certificate (no "-----BEGIN CERTIFICATE-----" block): give the PEM file of the CA that signs the ACME directory's HTTPS certificate (${ErrorCode.TLS_PEM})` });
  }
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block.text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', input: file, path: ['ca'], message: `certificate ${i + 1} in ${path} cannot be parsed (${(error as Error).message}) (${ErrorCode.TLS_PEM})` });
    }
  }
  return path;
}

export const AcmeSchema = z
  .strictObject({
    names: field(
      z.array(AcmeNameSchema).min(1).max(MAX_ACME_NAMES),
      `The DNS names to obtain certificates for: one certificate per name, ordered at start and renewed by the supervisor. Exact names only (a wildcard needs DNS-01, which Fulcrum does not answer). Only these: a client cannot make Fulcrum order a certificate for any other name. At most ${MAX_ACME_NAMES}.`,
      { noun: 'a list of DNS names', allowed: 'e.g. [www.example.com, example.com]' },
    ),
    email: field(z.email().optional(), 'Contact address for the ACME account (the CA may write about the account or a problem with its certificates). Optional.', {
      noun: 'an email address',
      allowed: 'an email address, e.g. hostmaster@example.com',
    }),
    directory: field(
      z.url({ protocol: /^https$/ }).default(LETS_ENCRYPT_DIRECTORY),
      `The ACME directory URL of the CA. Default: Let's Encrypt production (${LETS_ENCRYPT_DIRECTORY}); its staging directory, for trying a setup without its rate limits, is https://acme-staging-v02.api.letsencrypt.org/directory. Using a directory agrees to that CA's terms of service.`,
      { noun: 'an ACME directory URL', allowed: 'an https:// URL, e.g. https://acme-staging-v02.api.letsencrypt.org/directory' },
    ),
    ca: field(
      z.string().min(1).optional(),
      "PEM file of the CA that signs the ACME directory's own HTTPS certificate, trusted besides the public CAs Node knows: for pebble or a private ACME CA. Not needed for Let's Encrypt.",
      { noun: 'a file path' },
    ),
    challenge: field(
      z.enum(ACME_CHALLENGE_TYPES).default('http-01'),
      'How the CA checks that this service answers for a name. http-01: it fetches http://NAME/.well-known/acme-challenge/TOKEN, which every http virtual service answers (the CA comes to port 80: have an http service there, e.g. the redirectToHttps one). tls-alpn-01: it opens a TLS connection to NAME on port 443 offering ALPN acme-tls/1, which this https service answers (for when port 80 is closed).',
      { noun: 'an ACME challenge type' },
    ),
    keyType: field(z.enum(ACME_KEY_TYPES).default('ecdsa'), 'The key of each certificate: ecdsa (P-256; smaller and faster, what every current client supports) or rsa (2048 bits, for very old clients). A new key at every renewal.', {
      noun: 'a key type',
    }),
    storage: field(
      z.string().min(1).optional(),
      'Folder for the account key, the certificates and their keys, and the pending challenges. Default: acme/ next to the config file. Several Fulcrum nodes that give the same names share it (a shared file system): one node orders, under a lock file, and every node serves and answers challenges from it. Keep it readable by Fulcrum only.',
      { noun: 'a folder path' },
    ),
    renewBefore: field(
      parsedString((text) => parseAgeSeconds(text, 365), DURATION_PATTERN).optional(),
      'Renew when this much validity is left, e.g. 30d. Default: when a third of the lifetime is left (day 60 of a 90-day certificate), as Let\'s Encrypt advises. A failed renewal is retried after 1 minute, doubling up to 24 hours; the certificate in service stays until a new one replaces it.',
      { noun: 'a duration', allowed: 'a number with a unit, e.g. 30d, 720h; at most 365d' },
    ),
  })
  .transform((acme, ctx) => {
    const seen = new Set<string>();
    acme.names.forEach((name, index) => {
      if (seen.has(name)) ctx.addIssue({ code: 'custom', input: name, path: ['names', index], message: `${name} is listed twice` });
      seen.add(name);
    });
    return {
      names: acme.names,
      email: acme.email,
      directory: acme.directory,
      ca: acme.ca === undefined ? undefined : readDirectoryCa(acme.ca, ctx),
      challenge: acme.challenge,
      keyType: acme.keyType,
      // An explicit folder is taken from the working directory like every other path; the
      // default sits next to the config file, where an operator looks for it.
      storage: acme.storage === undefined ? join(configDirectory(), DEFAULT_STORAGE_FOLDER) : resolve(acme.storage),
      /** Milliseconds; undefined: at two thirds of the lifetime. */
      renewBefore: acme.renewBefore === undefined ? undefined : acme.renewBefore * 1000,
    };
  });

export type AcmeConfig = z.output<typeof AcmeSchema>;

/** A virtual service as validated (Config's; acme.ts cannot import schema.ts, which imports it). */
interface AcmeServiceLike {
  name: string;
  protocol: string;
  tls?: object | undefined;
}

/**
 * Checks across virtual services: a name ordered by two services must be ordered the same way
 * (same directory, key type and storage: it is one certificate, served by both); an http-01
 * challenge needs an http virtual service to answer it.
 */
export function acmeConflicts(config: { virtualServices: readonly AcmeServiceLike[] }): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const owners = new Map<string, { index: number; acme: AcmeConfig }>();
  const hasHttp = config.virtualServices.some((vs) => vs.protocol === 'http');
  config.virtualServices.forEach((vs, index) => {
    const acme = vs.protocol === 'https' ? (vs.tls as { acme?: AcmeConfig } | undefined)?.acme : undefined;
    if (acme === undefined) return;
    const path = ['virtualServices', index, 'tls', 'acme'];
    if (acme.challenge === 'http-01' && !hasHttp) {
      issues.push({
        code: ErrorCode.CONFIG_MISSING_KEY,
        path: [...path, 'challenge'],
        target: 'value',
        message: `the http-01 challenge is answered by an http virtual service, and this config has none: add one on port 80 (e.g. { protocol: http, listen: 0.0.0.0:80, redirectToHttps: {} }), or use challenge: tls-alpn-01`,
      });
    }
    acme.names.forEach((name, nameIndex) => {
      const first = owners.get(name);
      if (first === undefined) {
        owners.set(name, { index, acme });
        return;
      }
      const differs = (['directory', 'keyType', 'storage'] as const).filter((key) => first.acme[key] !== acme[key]);
      if (differs.length > 0) {
        issues.push({
          code: ErrorCode.CONFIG_CONFLICT,
          path: [...path, 'names', nameIndex],
          target: 'value',
          message: `${name} is also ordered by virtual service "${config.virtualServices[first.index]!.name}" with another ${differs.join(', ')}: one certificate per name, so give both the same ${differs.join(', ')}, or list the name once`,
          related: ['virtualServices', first.index, 'tls', 'acme'],
        });
      }
    });
  });
  return issues;
}
