/**
 * OCSP stapling in a worker: the responses the supervisor fetched (ocsp-manager.ts), by
 * certificate, and the hook that hands one to OpenSSL during a handshake. The hook answers from
 * memory at once, with a staple or without one; it never waits for a fetch.
 *
 * Node staples only through a tls.Server's 'OCSPRequest' event (lib/internal/tls/wrap.js): a
 * TLSSocket whose `server` option has an 'OCSPRequest' listener turns on OpenSSL's certificate
 * callback, and when a ClientHello asks for a status (status_request) the socket emits
 * `server.emit('OCSPRequest', certificate, issuer, callback)` for the context in
 * `server._sharedCreds` (no SNICallback runs, so no other context takes its place). Fulcrum
 * builds its TLSSockets itself (tls-front-end.ts), so it hands each one a small `server` of this
 * module: one per context, holding that context. A service without tls.ocsp gets none, and its
 * handshakes run no callback at all.
 *
 * One staple per handshake, chosen in that callback, before OpenSSL picks which certificate of
 * the context to send. A context with an RSA and an ECDSA certificate for the same names could
 * only staple one of them, and a staple for the other certificate makes Firefox refuse the
 * connection: such a context gets no `server` (ocsp-targets.ts warns at load).
 */
import { EventEmitter } from 'node:events';
import type { SecureContext } from 'node:tls';
import type { CertificateStore } from './certificate-store.ts';
import type { Staple } from './ocsp.ts';

type OcspCallback = (error: Error | null, response?: Buffer) => void;

/** A worker's staples, by the leaf's SHA-256 fingerprint (X509Certificate.fingerprint256); kept across reloads. */
export class OcspStaples {
  readonly #byCertificate = new Map<string, Staple>();
  readonly #now: () => number;

  /** `now`: the wall clock (OCSP's dates are wall-clock dates); injected by tests. */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  set(fingerprint: string, staple: Staple | null): void {
    if (staple === null) this.#byCertificate.delete(fingerprint);
    else this.#byCertificate.set(fingerprint, staple);
  }

  /** The response to staple now; undefined when there is none, or it has expired (the supervisor's withdrawal may be on its way). */
  current(fingerprint: string): Buffer | undefined {
    const staple = this.#byCertificate.get(fingerprint);
    if (staple === undefined) return undefined;
    if (staple.expires > this.#now()) return staple.response;
    this.#byCertificate.delete(fingerprint);
    return undefined;
  }

  get size(): number {
    return this.#byCertificate.size;
  }
}

/** What a TLSSocket reads from its `server` option to staple: the context, and the 'OCSPRequest' listener. */
export class StaplingServer extends EventEmitter {
  /** Read by Node's requestOCSP (the name is Node's). */
  readonly _sharedCreds: SecureContext;

  constructor(context: SecureContext, fingerprint: string, staples: OcspStaples) {
    super();
    this._sharedCreds = context;
    this.on('OCSPRequest', (_certificate: Buffer, _issuer: Buffer, done: OcspCallback) => done(null, staples.current(fingerprint)));
  }
}

/** A StaplingServer for every context of the store that serves one certificate. */
export function staplingServers(store: CertificateStore, staples: OcspStaples): Map<SecureContext, StaplingServer> {
  const servers = new Map<SecureContext, StaplingServer>();
  for (const [context, certificates] of store.contexts()) {
    if (certificates.length === 1) servers.set(context, new StaplingServer(context, certificates[0]!.fingerprint256, staples));
  }
  return servers;
}
