/**
 * The `tls:` of a virtual service that terminates TLS (protocol https): its certificates, chosen
 * by SNI; a policy by name (Mozilla's server-side TLS profiles); ALPN; HSTS. And
 * `redirectToHttps:`, the one-line HTTP-to-HTTPS service. `acme:` (acme.ts) obtains certificates
 * automatically, beside or instead of the files listed.
 *
 * Certificate files are read and checked at load (`fulcrum check`, a reload): a file that cannot
 * be read, a key that does not belong to its certificate or an encrypted key is an error naming
 * the file; an expired certificate, one that expires within 14 days or a chain without its
 * intermediate is a warning (src/tls/certificate-file.ts) that the running service logs, with
 * the date. A relative path is taken from the working directory, as geoipDatabase's is.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { loadCertificate } from '../tls/certificate-file.ts';
import { loadClientAuth } from '../tls/client-auth-files.ts';
import { AcmeSchema } from './acme.ts';
import { POLICY_DESCRIPTIONS, TLS_POLICIES, TLS_VERSIONS } from '../tls/policy.ts';
import { MIN_SECRET_BYTES } from '../tls/ticket-keys.ts';
import { DURATION_PATTERN, parseAgeSeconds } from './duration.ts';
import { duration, field, integer, parsedString } from './schema-builders.ts';

/** ALPN protocols an https front end can speak. */
export const ALPN_PROTOCOLS = ['http/1.1', 'h2'] as const;

const CertificateEntrySchema = z
  .strictObject({
    cert: field(z.string().min(1), 'PEM file with the certificate, then its intermediate certificates (the chain), leaf first.', { noun: 'a certificate file path' }),
    key: field(z.string().min(1), 'PEM file with the private key of that certificate (unencrypted; readable by Fulcrum only).', { noun: 'a key file path' }),
    default: field(z.boolean().default(false), 'Serve this certificate to clients that send no SNI name, or one no certificate covers. Default: the first certificate listed.'),
  })
  .transform((entry, ctx) => {
    const paths = { cert: resolve(entry.cert), key: resolve(entry.key) };
    // Read now, so that a missing file or a wrong key fails `fulcrum check`, not the first handshake.
    const { certificate, problems } = loadCertificate(paths, new Date());
    for (const problem of problems) {
      if (problem.severity !== 'error') continue;
      ctx.addIssue({ code: 'custom', message: `${problem.message} (${problem.code})`, input: entry, path: [problem.file === paths.key ? 'key' : 'cert'] });
    }
    return { ...paths, default: entry.default, names: certificate?.names ?? [] };
  });

const HstsSchema = z.strictObject({
  maxAge: field(
    parsedString((text) => parseAgeSeconds(text, 730), DURATION_PATTERN).prefault('365d'),
    'How long browsers must use HTTPS only for this host (Strict-Transport-Security max-age, in whole seconds); 365d is what hstspreload.org asks for; 0s tells browsers to forget it.',
    { noun: 'a duration', allowed: 'a number with a unit, e.g. 365d, 180d, 0s; at most 730d' },
  ),
  includeSubDomains: field(z.boolean().default(false), 'Apply to every subdomain too (only when all of them serve HTTPS).'),
  preload: field(z.boolean().default(false), 'Add the preload token (for submission to the browsers\' preload lists; hard to undo).'),
});

const SessionTicketsSchema = z.strictObject({
  rotate: duration('12h', 'How often the session ticket key changes. Every worker derives the same key for the same period, so a client resumes on whichever worker it reaches; after a rotation, a client with an older ticket does one full handshake.'),
  keyFile: field(
    z
      .string()
      .min(1)
      .optional()
      .transform((file, ctx) => {
        if (file === undefined) return undefined;
        const path = resolve(file);
        try {
          const bytes = readFileSync(path);
          if (bytes.length < MIN_SECRET_BYTES) ctx.addIssue({ code: 'custom', input: file, message: `${path} holds ${bytes.length} bytes; a ticket secret needs at least ${MIN_SECRET_BYTES} (e.g. head -c 48 /dev/urandom > ${path})` });
        } catch (error) {
          ctx.addIssue({ code: 'custom', input: file, message: `cannot read the ticket secret ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
        }
        return path;
      }),
    'A file of at least 32 random bytes that the ticket keys are derived from, instead of a secret drawn at each start: give two Fulcrum nodes the same file (and clocks within a second) and a client resumes on either, and a restart keeps every ticket valid. Keep it readable by Fulcrum only.',
    { noun: 'a file path' },
  ),
});

const OcspSchema = z.strictObject({
  enabled: field(z.boolean().default(false), 'Staple each certificate\'s OCSP response to the handshakes of clients that ask for it (status_request), so they need not ask the CA themselves. Off by default: several public CAs (Let\'s Encrypt among them) have stopped OCSP.'),
  responder: field(
    z.url({ protocol: /^https?$/ }).optional(),
    'The OCSP responder to ask for every certificate of this service, instead of the one each certificate names (its Authority Information Access OCSP URL): a private CA\'s responder, or a cache in front of it.',
    { noun: 'an OCSP responder URL', allowed: 'an http:// or https:// URL, e.g. http://ocsp.example.com' },
  ),
  timeout: duration('5s', 'How long one fetch may take, from connecting to the last byte; a fetch that takes longer fails and is retried with back-off. Handshakes never wait for a fetch.'),
});

/** mTLS modes, nginx's ssl_verify_client: off, optional, on. */
export const CLIENT_AUTH_MODES = ['none', 'optional', 'required'] as const;

const ClientAuthSchema = z
  .strictObject({
    mode: field(
      z.enum(CLIENT_AUTH_MODES).default('none'),
      'none: no client certificate is asked for. optional: one is asked for; a client without one, or with one that does not verify, is served, and the real servers (X-SSL-Client-Verify) and rules see the result. required: a client without a certificate that verifies against ca (and crl) is refused at the handshake.',
      { noun: 'a client authentication mode' },
    ),
    ca: field(z.string().min(1).optional(), 'PEM file with the CA certificates client certificates must chain to (required unless mode is none). Their names are sent to clients as the acceptable issuers.', { noun: 'a file path' }),
    crl: field(
      z.string().min(1).optional(),
      'PEM file with the certificate revocation lists of those CAs: a revoked certificate does not verify. With a CRL, every CA in ca needs its CRL in this file (OpenSSL checks the whole chain, as nginx does). A changed file is reloaded like a certificate.',
      { noun: 'a file path' },
    ),
  })
  .transform((auth, ctx) => {
    const ca = auth.ca === undefined ? undefined : resolve(auth.ca);
    const crl = auth.crl === undefined ? undefined : resolve(auth.crl);
    if (ca === undefined) {
      if (auth.mode !== 'none') ctx.addIssue({ code: 'custom', input: auth, path: ['ca'], message: `mode ${auth.mode} needs ca: the PEM file of the CAs that sign your clients' certificates` });
      if (crl !== undefined) ctx.addIssue({ code: 'custom', input: auth, path: ['crl'], message: 'crl needs ca: the PEM file of the CAs the CRL belongs to' });
      return { mode: auth.mode, ca, crl };
    }
    // Read now, so that a missing or unreadable file fails `fulcrum check`, not the first handshake.
    for (const problem of loadClientAuth({ ca, crl }).problems) {
      ctx.addIssue({ code: 'custom', input: auth, path: [problem.file === ca ? 'ca' : 'crl'], message: `${problem.message} (${problem.code})` });
    }
    return { mode: auth.mode, ca, crl };
  });

const POLICY_TEXT = TLS_POLICIES.map((p) => `${p}: ${POLICY_DESCRIPTIONS[p]}`).join(' ');

/** What every TLS front end has: http's adds ALPN and HSTS, tcp's has these alone. */
const tlsBase = {
  certificates: field(
    z.array(CertificateEntrySchema).min(1).max(10_000),
    'Certificate and key pairs. Each client gets the one whose names (the certificate\'s subject alternative names, wildcards included) cover the name it asks for by SNI; an RSA and an ECDSA certificate for the same name are both served, each to the clients that support it.',
  ),
  policy: field(z.enum(TLS_POLICIES).default('intermediate'), `Protocol versions, cipher suites and curves, by name (Mozilla's server-side TLS guidelines). ${POLICY_TEXT}`, { noun: 'a TLS policy' }),
  minVersion: field(z.enum(TLS_VERSIONS).optional(), 'Lowest protocol version, instead of the policy\'s (for those who must).', { noun: 'a TLS version' }),
  ciphers: field(z.string().min(1).max(4096).optional(), 'OpenSSL cipher list (TLS 1.2 ciphers and TLS 1.3 suites), instead of the policy\'s (for those who must).'),
  sessionTickets: field(SessionTicketsSchema.prefault({}), 'TLS session resumption by tickets (RFC 5077, and TLS 1.3\'s), with keys every worker shares and that rotate.'),
  ocsp: field(
    OcspSchema.prefault({}),
    'OCSP stapling. When enabled, the supervisor fetches each certificate\'s OCSP response in the background (never holding up a start or a handshake), checks it (signed by the issuer or its responder, for this certificate, in date), keeps the last good one and refreshes it halfway through its validity, retrying with back-off from 1 minute to 1 hour. An expired response is never stapled, and a revoked certificate is logged as an error and served without one. The certificate file must hold the issuer\'s certificate after the leaf.',
  ),
  handshakeTimeout: duration('10s', 'Time a new client has to complete its TLS handshake (from the start of its ClientHello wait); then it is closed. Failed and timed-out handshakes are not logged one by one on http services, as HAProxy does not by default; on tcp services each connection has its line (termination client-tls-failed).'),
};

function certificatesOrAcme(tls: { certificates: readonly unknown[]; acme?: unknown }, ctx: z.RefinementCtx): void {
  if (tls.certificates.length === 0 && tls.acme === undefined) {
    ctx.addIssue({ code: 'custom', input: tls, path: [], message: 'tls needs certificates, acme, or both: list certificate files, or names for ACME to obtain certificates for' });
  }
}

function oneDefault(tls: { certificates: ReadonlyArray<{ default: boolean }> }, ctx: z.RefinementCtx): void {
  const defaults = tls.certificates.filter((c) => c.default).length;
  if (defaults > 1) ctx.addIssue({ code: 'custom', input: tls.certificates, path: ['certificates'], message: `${defaults} certificates say default: true; one at most` });
}

export const TlsSchema = z
  .strictObject({
    ...tlsBase,
    // May be empty beside acme: certificatesOrAcme asks for one of the two.
    certificates: field(z.array(CertificateEntrySchema).max(10_000).default([]), `${tlsBase.certificates.description} With acme, optional: a certificate listed here for an acme name is served until ACME's first one for it exists.`),
    alpn: field(
      z
        .array(z.enum(ALPN_PROTOCOLS))
        .min(1)
        .default(['http/1.1'])
        .refine((list) => new Set(list).size === list.length, { message: 'each protocol once' }),
      'Application protocols offered by ALPN, in order of preference: h2 (HTTP/2, see http2:) and http/1.1. A client that offers none of them gets HTTP/1.1.',
      { noun: 'an ALPN protocol' },
    ),
    hsts: field(HstsSchema.optional(), 'Send Strict-Transport-Security on every response, so browsers come back over HTTPS only.'),
    clientAuth: field(
      ClientAuthSchema.prefault({}),
      'Client certificates (mutual TLS): ask clients for one and check it against your CAs. Unless mode is none, the real servers get X-SSL-Client-Verify, X-SSL-Client-S-DN, X-SSL-Client-I-DN, X-SSL-Client-Serial and X-SSL-Client-Fingerprint (the client\'s own fields of those names are removed).',
    ),
    acme: field(
      AcmeSchema.optional(),
      'Certificates obtained and renewed automatically from an ACME CA (Let\'s Encrypt by default) for the names listed, and only those: answered by http-01 on the http virtual services or tls-alpn-01 here, stored next to the config, renewed at two thirds of their lifetime, revoked when a name leaves the list. See the README, "Automatic certificates (ACME)".',
    ),
  })
  .superRefine(oneDefault)
  .superRefine(certificatesOrAcme);

/** TLS in front of any TCP service (an NTRIP caster, a line protocol): the bytes after the handshake are relayed. */
export const StreamTlsSchema = z.strictObject(tlsBase).superRefine(oneDefault);

export type TlsConfig = z.output<typeof TlsSchema>;
export type StreamTlsConfig = z.output<typeof StreamTlsSchema>;

export const RedirectToHttpsSchema = z.strictObject({
  port: integer(1, 65_535, 443, 'The HTTPS port clients are sent to (left out of the URL when 443).'),
  status: field(z.union([z.literal(301), z.literal(302), z.literal(307), z.literal(308)]).default(301), 'Redirect status: 301 or 308 (permanent; 308 keeps the method and body), 302 or 307 (temporary).', {
    noun: 'a redirect status',
    allowed: '301, 302, 307, 308',
  }),
});

export type RedirectToHttpsConfig = z.output<typeof RedirectToHttpsSchema>;
