/**
 * The certificates of one TLS front end, chosen by the name the client asks for (SNI). Built
 * once per config from certificates already read (src/tls/certificate-file.ts); reads no file.
 *
 * Each name gets one SecureContext holding every certificate for it, RSA and ECDSA side by side,
 * and OpenSSL serves the one the client's signature algorithms allow. Names served by the same
 * certificates share one context: a certificate with 500 names is one context, not 500.
 *
 * Give the TLSSocket its context at creation: read the name from the ClientHello first
 * (src/tls/client-hello.ts), then `new TLSSocket(socket, { isServer: true, secureContext:
 * store.contextFor(name) })`. Only then does OpenSSL choose between RSA and ECDSA. The
 * SNICallback way (`sniCallback`) serves one certificate per name: Node applies only the
 * returned context's last certificate (measured, test/tls/certificate-store.test.ts), so each
 * context lists RSA last, and every client gets RSA there rather than some getting nothing.
 * And a tls.Server ignores a `secureContext` option (measured: a client without SNI meets a
 * server with no certificate); build the TLSSocket yourself.
 *
 * Contexts are built at once, so a certificate OpenSSL refuses (measured: an RSA-1024 key throws
 * ERR_SSL_EE_KEY_TOO_SMALL at the default security level) fails the reload, not a client later. Measured (Node 24.21.0, 2 vCPUs, the
 * "1,000 certificates" test, three runs): 1,000 certificates with one name each, 1,000 contexts,
 * build in 330-580 ms, P-256 or RSA-2048 alike; an empty createSecureContext alone costs 0.12-0.18
 * ms (OpenSSL 3's SSL_CTX_new), the certificate and key the rest. One certificate with 1,000
 * names, one context: 2-4 ms. A worker that applies a config builds them with `buildInSlices`,
 * a few milliseconds at a time between the requests it serves.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { LoadedCertificate } from './certificate.ts';

/** What every context of the store shares: the policy's options, session tickets and timeout. */
export type ContextBase = Omit<SecureContextOptions, 'cert' | 'key' | 'pfx' | 'passphrase'>;

export interface CertificateSummary {
  names: string[];
  keyType: string;
  subject: string;
  issuer: string;
  /** ISO 8601. */
  notAfter: string;
  certFile: string;
  isDefault: boolean;
}

interface NativeContextHolder {
  context: { setTicketKeys(key: Buffer): void };
}

type SniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;

export class CertificateStore {
  readonly defaultContext: SecureContext;
  readonly #exact = new Map<string, SecureContext>();
  /** `*.example.com` under `example.com`. */
  readonly #wildcard = new Map<string, SecureContext>();
  readonly #certificates: readonly LoadedCertificate[];
  readonly #defaultIndex: number;
  /** Every context built, once each (names share them), with the certificates it serves. */
  readonly #contexts: Map<SecureContext, readonly LoadedCertificate[]>;

  /** The same as `new CertificateStore(...)`. Throws what createSecureContext throws. */
  static build(certificates: readonly LoadedCertificate[], base: ContextBase = {}): CertificateStore {
    return new CertificateStore(certificates, base);
  }

  /**
   * The same store, its contexts built a slice at a time (about `sliceMs` of work, then the
   * event loop runs), so that a worker serving traffic while it applies a config with thousands
   * of certificates never stops for the whole build (1,000 contexts: 330-580 ms, above). Every
   * context is still built before the store exists, so a certificate OpenSSL refuses still fails
   * the reload. Rejects with what createSecureContext throws.
   */
  static async buildInSlices(certificates: readonly LoadedCertificate[], base: ContextBase = {}, sliceMs = 5): Promise<CertificateStore> {
    const shared = sharedBase(base);
    const built = new Map<string, SecureContext>();
    let sliceStart = performance.now();
    for (const group of contextGroups(certificates)) {
      const key = group.join(',');
      if (!built.has(key)) built.set(key, buildContext(certificates, group, shared));
      if (performance.now() - sliceStart >= sliceMs) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
    return new CertificateStore(certificates, shared, built);
  }

  constructor(certificates: readonly LoadedCertificate[], base: ContextBase = {}, built: ReadonlyMap<string, SecureContext> = new Map()) {
    if (certificates.length === 0) throw new RangeError('a CertificateStore needs at least one certificate');
    this.#certificates = certificates;
    const marked = certificates.findIndex((c) => c.isDefault === true);
    this.#defaultIndex = marked === -1 ? 0 : marked;
    const shared = sharedBase(base);

    const contexts = new Map<string, SecureContext>();
    const members = new Map<SecureContext, readonly LoadedCertificate[]>();
    const contextOf = (indices: readonly number[]): SecureContext => {
      const key = indices.join(',');
      let context = contexts.get(key);
      if (context === undefined) {
        context = built.get(key) ?? buildContext(certificates, indices, shared);
        contexts.set(key, context);
        members.set(context, indices.map((i) => certificates[i]!));
      }
      return context;
    };

    const byName = certificatesByName(certificates);
    for (const [name, indices] of byName) {
      const context = contextOf(indices);
      if (name.startsWith('*.')) this.#wildcard.set(name.slice(2), context);
      else this.#exact.set(name, context);
    }
    this.defaultContext = contextOf(defaultGroup(certificates, byName, this.#defaultIndex));
    this.#contexts = members;
  }

  /** Each context once, with the certificates it serves (one, or an RSA and an ECDSA twin): OCSP stapling needs to know (ocsp-staples.ts). */
  contexts(): IterableIterator<[SecureContext, readonly LoadedCertificate[]]> {
    return this.#contexts.entries();
  }

  /**
   * A new session ticket key for every context (the rotation, ticket-keys.ts). Through the
   * native context's setTicketKeys, which tls.Server.setTicketKeys also uses: the store's
   * contexts are not a server's.
   */
  setTicketKeys(key: Buffer): void {
    for (const context of this.#contexts.keys()) (context as unknown as NativeContextHolder).context.setTicketKeys(key);
  }

  /** Exact name, then a wildcard one label deep, then the default. */
  contextFor(servername: string | undefined | null): SecureContext {
    if (!servername) return this.defaultContext;
    const name = normalizeName(servername);
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    return (dot > 0 ? this.#wildcard.get(name.slice(dot + 1)) : undefined) ?? this.defaultContext;
  }

  /** For a TLSSocket's SNICallback; one certificate per name there (see above). */
  readonly sniCallback: SniCallback = (servername, cb) => {
    cb(null, this.contextFor(servername));
  };

  describe(): CertificateSummary[] {
    return this.#certificates.map((c, i) => ({
      names: [...c.names],
      keyType: c.keyType,
      subject: c.subject,
      issuer: c.issuer,
      notAfter: c.notAfter.toISOString(),
      certFile: c.certFile,
      isDefault: i === this.#defaultIndex,
    }));
  }
}

/** One ticket key for every context of the store (Node would draw one per context otherwise), so the store's tickets can be rotated, or shared between workers, as one. */
function sharedBase(base: ContextBase): ContextBase {
  return base.ticketKeys !== undefined ? base : { ...base, ticketKeys: randomBytes(48) };
}

function buildContext(certificates: readonly LoadedCertificate[], indices: readonly number[], shared: ContextBase): SecureContext {
  const chosen = indices.map((i) => certificates[i]!).sort((a, b) => Number(a.keyType === 'rsa') - Number(b.keyType === 'rsa'));
  return createSecureContext({ ...shared, cert: chosen.map((c) => c.certPem), key: chosen.map((c) => c.keyPem) });
}

/**
 * The default certificate's first name's group, so that a client without SNI still gets the
 * ECDSA twin it can use; the default alone when it has no name or lost its key type to another.
 */
function defaultGroup(certificates: readonly LoadedCertificate[], byName: ReadonlyMap<string, number[]>, defaultIndex: number): number[] {
  const firstName = certificates[defaultIndex]!.names[0];
  const group = firstName === undefined ? undefined : byName.get(normalizeName(firstName));
  return group?.includes(defaultIndex) ? group : [defaultIndex];
}

/** Every group of certificates that shares a context: one per set of names served alike, and the default's. */
function contextGroups(certificates: readonly LoadedCertificate[]): number[][] {
  const byName = certificatesByName(certificates);
  const marked = certificates.findIndex((c) => c.isDefault === true);
  return [...byName.values(), defaultGroup(certificates, byName, marked === -1 ? 0 : marked)];
}

/** DNS names are case-insensitive, and `www.example.com.` is `www.example.com`. */
function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * For each certificate (by index) that serves some of its names from a context shared with a
 * certificate of another key type, those names. OCSP stapling cannot serve them (ocsp-staples.ts).
 */
export function sharedNames(certificates: ReadonlyArray<Pick<LoadedCertificate, 'names' | 'keyType'>>): Map<number, string[]> {
  const shared = new Map<number, string[]>();
  for (const [name, indices] of certificatesByName(certificates)) {
    if (indices.length < 2) continue;
    for (const i of indices) shared.set(i, [...(shared.get(i) ?? []), name]);
  }
  return shared;
}

// A context keeps one certificate per key type: a second RSA certificate for the same name would
// silently replace the first inside OpenSSL. The first listed wins, so the order in the config
// decides, as it does for the default.
function certificatesByName(certificates: ReadonlyArray<Pick<LoadedCertificate, 'names' | 'keyType'>>): Map<string, number[]> {
  const byName = new Map<string, number[]>();
  for (const [index, certificate] of certificates.entries()) {
    for (const name of new Set(certificate.names.map(normalizeName))) {
      const indices = byName.get(name) ?? [];
      if (indices.some((i) => certificates[i]!.keyType === certificate.keyType)) continue;
      indices.push(index);
      byName.set(name, indices);
    }
  }
  return byName;
}
