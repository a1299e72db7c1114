/**
 * TLS policies by name: Mozilla's Server Side TLS guidelines v5.7 (2023-05-15) profiles, as the
 * options of tls.createSecureContext. One name picks protocol versions, cipher suites, key
 * exchange groups and who orders the ciphers; minVersion and ciphers may be overridden.
 *
 * Measured with Node 24.21.0, whose OpenSSL is its own 3.5.8, not Debian 12's 3.0.19 (the node
 * binary links no libssl; process.versions.openssl says 3.5.8):
 * - A `ciphers` string carries both kinds of name: Node sends those starting with TLS_ to
 *   SSL_CTX_set_ciphersuites (TLS 1.3) and the rest to SSL_CTX_set_cipher_list (TLS 1.2 and
 *   below). A server whose string held only TLS_AES_128_GCM_SHA256 refused a client offering
 *   only TLS_CHACHA20_POLY1305_SHA256 (no shared cipher).
 * - TLS 1.0 and 1.1 need `@SECLEVEL=0` on both ends: at the default security level the server
 *   answers a TLS 1.0 hello with a protocol_version alert even with minVersion TLSv1, and a
 *   client at level 1 refuses to start ("no protocols available"), because level 1 forbids the
 *   SHA-1 signatures those versions use. TLS 1.3 still works at level 0.
 * - DES-CBC3-SHA (last in Mozilla's old list) does not exist in this OpenSSL (nor in Debian 12's
 *   CLI): alone it is "no cipher match"; in a list OpenSSL skips it, as Mozilla says it will.
 * - The DHE-RSA ciphers need DH parameters; without them a client offering only
 *   DHE-RSA-AES128-GCM-SHA256 got "no shared cipher". `dhparam: 'auto'` lets OpenSSL pick a
 *   standard group as strong as the certificate's key (2048 bits for RSA-2048), so no
 *   dhparam file is needed and the DHE ciphers stay in.
 */
import { constants } from 'node:crypto';

export const TLS_POLICIES = ['modern', 'intermediate', 'old'] as const;
export type TlsPolicyName = (typeof TLS_POLICIES)[number];

/** In protocol order: a lower index is an older version. */
export const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

export const POLICY_DESCRIPTIONS: Record<TlsPolicyName, string> = {
  modern: 'TLS 1.3 only; for services whose clients are all recent (Firefox 63, Chrome 70, Safari 12.1, Android 10, Java 11, OpenSSL 1.1.1 and later).',
  intermediate: 'TLS 1.2 and 1.3 with forward-secret AEAD ciphers only; the recommended default for a general-purpose service (Firefox 27, Chrome 31, IE 11 on Windows 7, Android 4.4.2, Java 8u31 and later).',
  old: 'TLS 1.0 to 1.3 with CBC and plain-RSA ciphers, server-ordered; only for very old clients (IE 8 on Windows XP, Android 2.3, Java 6), and it lowers OpenSSL\'s security level to 0.',
};

/** The options of tls.createSecureContext that a policy decides. */
export interface PolicyOptions {
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  /** TLS 1.3 suites (TLS_*) and TLS 1.2-and-below ciphers, one OpenSSL string. */
  ciphers: string;
  ecdhCurve: string;
  /** True: the server's cipher order wins (old); false: the client's, which knows its hardware. */
  honorCipherOrder: boolean;
  dhparam: 'auto';
  /** OpenSSL options: SSL_OP_NO_RENEGOTIATION. */
  secureOptions: number;
}

export interface PolicyOverrides {
  ciphers?: string;
  minVersion?: TlsVersion;
}

const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

const INTERMEDIATE_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
  // Appended in v5.7.
  'DHE-RSA-CHACHA20-POLY1305',
];

// Mozilla's old list starts with the intermediate one, in the same order.
const OLD_CIPHERS = [
  ...INTERMEDIATE_CIPHERS,
  'ECDHE-ECDSA-AES128-SHA256',
  'ECDHE-RSA-AES128-SHA256',
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-SHA384',
  'ECDHE-RSA-AES256-SHA384',
  'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-RSA-AES256-SHA',
  'DHE-RSA-AES128-SHA256',
  'DHE-RSA-AES256-SHA256',
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'AES128-SHA256',
  'AES256-SHA256',
  'AES128-SHA',
  'AES256-SHA',
  // Absent from this OpenSSL (see above); kept so the list is Mozilla's, skipped at load.
  'DES-CBC3-SHA',
];

// v5.7 says X25519:prime256v1:secp384r1. Guidelines 6.0 put the post-quantum hybrid
// X25519MLKEM768 first, and Node 24 offers and accepts it by default (measured: a default Node
// client and server agree on X25519MLKEM768; with v5.7's list they fall back to X25519), so
// leaving it out would make Fulcrum weaker than a bare Node server. Clients that do not offer it
// are unaffected.
const GROUPS = 'X25519MLKEM768:X25519:prime256v1:secp384r1';

interface Profile {
  minVersion: TlsVersion;
  /** TLS 1.2-and-below ciphers, in Mozilla's order. */
  legacyCiphers: readonly string[];
  honorCipherOrder: boolean;
}

const PROFILES: Record<TlsPolicyName, Profile> = {
  modern: { minVersion: 'TLSv1.3', legacyCiphers: [], honorCipherOrder: false },
  intermediate: { minVersion: 'TLSv1.2', legacyCiphers: INTERMEDIATE_CIPHERS, honorCipherOrder: false },
  old: { minVersion: 'TLSv1', legacyCiphers: OLD_CIPHERS, honorCipherOrder: true },
};

/** The policy's createSecureContext options, with the user's overrides applied. */
export function policyOptions(name: TlsPolicyName, overrides: PolicyOverrides = {}): PolicyOptions {
  const profile = PROFILES[name];
  const minVersion = overrides.minVersion ?? profile.minVersion;
  let ciphers = overrides.ciphers ?? defaultCiphers(profile, minVersion);
  if (needsSecurityLevelZero(minVersion) && !ciphers.includes('@SECLEVEL=')) ciphers += ':@SECLEVEL=0';
  // No renegotiation at all (TLS 1.2 and below; TLS 1.3 has none): a client-initiated one costs
  // the server a full handshake for the client's asking (testssl rates it HIGH, a DoS), and Node
  // limits it (3 per 10 minutes) only on sockets a tls.Server made, not on the TLSSockets the
  // front end builds itself. Nothing Fulcrum serves needs it.
  return { minVersion, maxVersion: 'TLSv1.3', ciphers, ecdhCurve: GROUPS, honorCipherOrder: profile.honorCipherOrder, dhparam: 'auto', secureOptions: constants.SSL_OP_NO_RENEGOTIATION };
}

export function versionIndex(version: TlsVersion): number {
  return TLS_VERSIONS.indexOf(version);
}

function needsSecurityLevelZero(minVersion: TlsVersion): boolean {
  return versionIndex(minVersion) < versionIndex('TLSv1.2');
}

// A minVersion below the policy's brings in the ciphers of the first profile that allows that
// version: modern has no TLS 1.2 ciphers and intermediate none a TLS 1.0 client can use (AEAD
// ciphers exist from TLS 1.2 on), so the lowered version could otherwise never be negotiated.
function defaultCiphers(profile: Profile, minVersion: TlsVersion): string {
  let legacy = profile.legacyCiphers;
  if (versionIndex(minVersion) < versionIndex(profile.minVersion)) {
    const wider = TLS_POLICIES.map((p) => PROFILES[p]).find((p) => versionIndex(p.minVersion) <= versionIndex(minVersion));
    legacy = wider?.legacyCiphers ?? OLD_CIPHERS;
  }
  return [...TLS13_SUITES, ...legacy].join(':');
}
