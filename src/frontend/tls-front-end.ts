/**
 * TLS termination for one virtual service's config: its certificates by SNI (one
 * CertificateStore), its policy and ALPN, and the handshake of each admitted connection. Built
 * when a worker applies a config, so a reload (SIGHUP, the admin API, a changed certificate file)
 * serves the new certificates to new handshakes while established connections keep theirs.
 *
 * The handshake starts after the connection limits and the PROXY header: a client over a limit
 * costs no handshake, and the PROXY header arrives in clear before the ClientHello.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { TLSSocket, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { StreamTlsConfig, TlsConfig } from '../config/tls.ts';
import { CertificateStore } from '../tls/certificate-store.ts';
import { loadCertificate, type CertificateProblem, type LoadedCertificate } from '../tls/certificate-file.ts';
import { policyOptions } from '../tls/policy.ts';
import { periodOf, ticketKey } from '../tls/ticket-keys.ts';
import { MAX_CLIENT_HELLO, readClientHello, readServerName } from '../tls/client-hello.ts';
import { ACME_TLS_ALPN, AcmeChallengeStore } from '../acme/challenge-store.ts';
import { loadClientAuth } from '../tls/client-auth-files.ts';
import { readClientCertificate, setClientCertificate } from '../tls/client-certificate.ts';
import { OcspStaples, staplingServers, type StaplingServer } from '../tls/ocsp-staples.ts';
import type { ServiceMeter } from '../metrics/meters.ts';

const EMPTY = Buffer.alloc(0);
const ignore = (): void => {};
/** RFC 8446 5.1: a record is a 5-byte header (type, version, length), then its fragment. */
const RECORD_HEADER = 5;
const HANDSHAKE_RECORD = 22;
/** A ClientHello of at most 64 KiB fits in 4 full records; a client that cuts it finer is not a browser. */
const MAX_HELLO_RECORDS = 16;
const NO_ALPN: readonly string[] = [];
const ACME_ALPN = [ACME_TLS_ALPN];

export class TlsFrontEnd {
  readonly store: CertificateStore;
  /** Warnings about the certificates (expired, expiring, chain incomplete), for the operational log. */
  readonly warnings: readonly CertificateProblem[];
  readonly #alpn: string[];
  readonly #handshakeTimeoutMs: number;
  readonly #ticketSecret: Buffer;
  readonly #rotateMs: number;
  #ticketPeriod: number;
  /** tls.clientAuth.mode; always none on a tcp service. */
  readonly #clientAuth: 'none' | 'optional' | 'required';
  /** tls-alpn-01 challenges of tls.acme's names (src/acme); null without acme. */
  readonly #acme: AcmeChallengeStore | null;
  /** tls.ocsp: each context's stapling `server` for its TLSSockets (src/tls/ocsp-staples.ts); null when off. */
  readonly #stapling: Map<SecureContext, StaplingServer> | null;
  /** Counts handshakes and their failures (set by the VirtualService that serves this front end); null: not counted. */
  meter: ServiceMeter | null = null;

  /**
   * The same front end, its certificate contexts built a slice at a time so that a worker that
   * serves traffic while it applies a config of thousands of certificates never stalls for the
   * whole build (CertificateStore.buildInSlices). What a worker's apply uses.
   */
  static async create(config: TlsConfig | StreamTlsConfig, ticketSecret: Buffer, serviceName: string, now = new Date(), staples: OcspStaples | null = null): Promise<TlsFrontEnd> {
    const prepared = prepare(config, ticketSecret, serviceName, now);
    const store = await CertificateStore.buildInSlices(prepared.loaded, prepared.options);
    return new TlsFrontEnd(config, ticketSecret, serviceName, now, { prepared, store }, staples);
  }

  /**
   * `ticketSecret`: the worker's (the supervisor draws one per start and gives it to every
   * worker), unless the config names a key file. Throws (a config error) when a certificate file
   * changed since validation and no longer loads. `staples`: the worker's OCSP responses, which
   * the supervisor keeps up to date (used only with tls.ocsp.enabled; none are stapled without).
   */
  constructor(
    config: TlsConfig | StreamTlsConfig,
    ticketSecret: Buffer,
    serviceName: string,
    now = new Date(),
    built?: { prepared: Prepared; store: CertificateStore },
    staples: OcspStaples | null = null,
  ) {
    const prepared = built?.prepared ?? prepare(config, ticketSecret, serviceName, now);
    const { loaded, warnings, options } = prepared;
    this.#ticketSecret = prepared.ticketSecret;
    this.#rotateMs = config.sessionTickets.rotate;
    this.#ticketPeriod = prepared.ticketPeriod;
    this.#clientAuth = prepared.clientAuth;
    this.store = built?.store ?? CertificateStore.build(loaded, options);
    this.warnings = warnings;
    // A tcp service offers no ALPN: what it relays is not ours to name.
    this.#alpn = 'alpn' in config ? [...config.alpn] : [];
    this.#handshakeTimeoutMs = config.handshakeTimeout;
    const acme = 'acme' in config ? config.acme : undefined;
    this.#acme = acme === undefined ? null : new AcmeChallengeStore(new Map(acme.names.map((name) => [name, acme.storage])));
    this.#stapling = config.ocsp.enabled ? staplingServers(this.store, staples ?? new OcspStaples()) : null;
  }

  /** The worker's tick: a new ticket key when the rotation period has turned (the same moment in every worker). */
  rotate(nowMs: number): void {
    const period = periodOf(nowMs, this.#rotateMs);
    if (period === this.#ticketPeriod) return;
    this.#ticketPeriod = period;
    this.store.setTicketKeys(ticketKey(this.#ticketSecret, period));
  }

  /**
   * Run the server side of the handshake on an admitted connection: `secure` with the TLS socket
   * once it completes, `failed` with the reason if it fails or takes longer than the handshake
   * timeout (the raw socket is then destroyed). `initial` holds bytes already read after a
   * PROXY header: the start of the ClientHello.
   *
   * The ClientHello is read first for its SNI name, and the TLS socket is created with that
   * name's context: a context chosen later, in an SNICallback, serves only one of an RSA and an
   * ECDSA certificate for the name (src/tls/client-hello.ts says why).
   */
  accept(socket: Socket, initial: Buffer | null, secure: (tls: TLSSocket) => void, failed: (reason: string, timedOut: boolean) => void): void {
    let hello: Buffer = EMPTY;
    let tls: TLSSocket | null = null;
    let started = false;
    let done = false;
    const finish = (error: Error | null, timedOut = false, reset = false): void => {
      if (done) return;
      done = true;
      // An ACME tls-alpn-01 validation is closed on purpose once the CA has seen its certificate: not a client's handshake.
      if (!challenge) this.meter?.handshake(error === null);
      clearTimeout(timer);
      socket.removeListener('data', onHello);
      socket.removeListener('end', onEndBeforeHello);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      if (tls !== null) {
        tls.removeListener('secure', onSecure);
        tls.removeListener('error', onError);
        tls.removeListener('close', onClose);
      }
      if (error === null) return secure(tls!);
      // A refused client certificate. TLS 1.2: destroyed here, inside the 'secure' callback, the
      // server's Finished never leaves and the client's handshake fails (measured). TLS 1.3: the
      // client's Finished was its last message and it already believes it is connected; a TCP
      // reset, not a FIN, so that it sees a failure rather than an orderly end (measured: with a
      // FIN, Node's client reports no error at all).
      if (reset && tls!.getProtocol() === 'TLSv1.3') {
        // Not from inside the 'secure' callback: resetting the TCP handle under OpenSSL's stack
        // crashes the process (measured, Node 24.21: a segmentation fault). Nothing reads the
        // client's bytes meanwhile.
        tls!.pause();
        // The handshake's listeners are gone: a reset from the client meanwhile must not throw.
        tls!.on('error', ignore);
        socket.on('error', ignore);
        setImmediate(() => {
          if (!socket.destroyed) socket.resetAndDestroy();
          tls!.destroy();
          failed(error.message, timedOut);
        });
        return;
      }
      tls?.destroy();
      socket.destroy();
      failed(error.message, timedOut);
    };
    const timer = setTimeout(() => finish(new Error(`no TLS handshake within ${this.#handshakeTimeoutMs} ms`), true), this.#handshakeTimeoutMs);
    const onSecure = (): void => {
      // RFC 8737 3: the CA closes once it has seen the certificate; nothing is served on this connection.
      if (challenge) return finish(new Error('answered an ACME tls-alpn-01 challenge'));
      if (this.#clientAuth === 'none') return finish(null);
      // Read here, once per connection; every request on it gets the same facts.
      const facts = readClientCertificate(tls!);
      if (this.#clientAuth === 'required' && !facts.verified) {
        // OpenSSL has refused a missing certificate already; one that does not verify is refused
        // now, before any byte of the request is read (client-certificate.ts says why not earlier).
        return finish(new Error(facts.present ? `client certificate refused: ${facts.verifyError} (${facts.verifyCode})` : 'client certificate refused: none was sent'), false, true);
      }
      setClientCertificate(tls!, facts);
      finish(null);
    };
    const onError = (error: Error): void => finish(error);
    const onClose = (): void => finish(new Error('the client closed the connection during the TLS handshake'));
    let challenge = false;
    const start = (servername: string | null, alpn: readonly string[] = NO_ALPN): void => {
      started = true;
      socket.removeListener('data', onHello);
      socket.removeListener('end', onEndBeforeHello);
      socket.pause();
      // Back into the socket: the TLS socket reads what the raw one has buffered first.
      if (length > 0) socket.unshift(hello.subarray(0, length));
      // ACME tls-alpn-01 (RFC 8737): only a hello that offers acme-tls/1 for an acme name costs a
      // lookup (challenge-store.ts); every other client goes straight on.
      if (this.#acme !== null && servername !== null && alpn.includes(ACME_TLS_ALPN)) {
        const context = this.#acme.alpnContext(servername.toLowerCase(), (found) => {
          if (!done) handshake(servername, found);
        });
        if (context !== undefined) handshake(servername, context);
        return;
      }
      handshake(servername, null);
    };
    const handshake = (servername: string | null, acmeContext: SecureContext | null): void => {
      challenge = acmeContext !== null;
      const secureContext = acmeContext ?? this.store.contextFor(servername);
      tls = new TLSSocket(socket, {
        isServer: true,
        secureContext,
        ALPNProtocols: challenge ? ACME_ALPN : this.#alpn,
        // Sends a CertificateRequest naming the CAs; required adds SSL_VERIFY_FAIL_IF_NO_PEER_CERT.
        requestCert: !challenge && this.#clientAuth !== 'none',
        rejectUnauthorized: !challenge && this.#clientAuth === 'required',
        // OCSP stapling (src/tls/ocsp-staples.ts): Node reads a staple only from a server's
        // 'OCSPRequest' listener; without one the handshake runs no certificate callback at all.
        server: this.#stapling?.get(secureContext) as unknown as Server | undefined,
      });
      tls.once('secure', onSecure);
      tls.once('error', onError);
      tls.once('close', onClose);
    };
    // A client that sends its hello a byte at a time must not cost a copy and a parse per byte:
    // bytes go into one buffer that doubles, and the parse runs only when a record is complete.
    let length = 0;
    let scanned = 0;
    let records = 0;
    const feed = (chunk: Buffer): void => {
      if (length + chunk.length > hello.length) {
        const grown = Buffer.allocUnsafe(Math.max(length + chunk.length, hello.length * 2, 1024));
        hello.copy(grown, 0, 0, length);
        hello = grown;
      }
      chunk.copy(hello, length);
      length += chunk.length;
      const before = records;
      while (scanned + RECORD_HEADER <= length) {
        // Not a handshake record (plain HTTP on a TLS port, garbage): the TLS stack answers it.
        if (hello[scanned] !== HANDSHAKE_RECORD) return start(null);
        const end = scanned + RECORD_HEADER + hello.readUInt16BE(scanned + 3);
        if (end > length) break;
        scanned = end;
        records++;
      }
      if (records === before && length < MAX_CLIENT_HELLO) return;
      // The ALPN list only where tls-alpn-01 may be answered: it costs about 0.2 us more per hello (measured: 0.31 against 0.53 us).
      const read = this.#acme === null ? readServerName(hello.subarray(0, length)) : readClientHello(hello.subarray(0, length));
      // Larger than any real ClientHello, or cut into more records than any real one: the TLS
      // stack refuses it, without a name.
      if (read.state === 'incomplete' && length < MAX_CLIENT_HELLO && records < MAX_HELLO_RECORDS) return;
      if (read.state === 'done') start(read.servername, 'alpn' in read ? (read.alpn as readonly string[]) : NO_ALPN);
      else start(null);
    };
    const onHello = (chunk: Buffer): void => feed(chunk);
    // The server allows half-open connections (HTTP needs them): a client that sends part of a
    // hello, or a port probe's newline, and then its FIN would otherwise wait for the handshake
    // timeout, its socket in CLOSE-WAIT (measured: `echo > /dev/tcp/HOST/PORT` held one for 3 s).
    const onEndBeforeHello = (): void => finish(new Error('the client closed the connection before its TLS hello'));
    socket.on('error', onError);
    socket.on('close', onClose);
    // Closed while it waited for a connection limit's answer or its PROXY header.
    if (socket.destroyed) return finish(new Error('the client closed the connection before its TLS handshake'));
    socket.on('data', onHello);
    socket.on('end', onEndBeforeHello);
    if (initial !== null && initial.length > 0) feed(initial);
    if (!started) socket.resume();
  }
}


/** What a front end reads and works out before its contexts are built: certificates, options, ticket key. */
interface Prepared {
  loaded: LoadedCertificate[];
  warnings: CertificateProblem[];
  options: SecureContextOptions;
  ticketSecret: Buffer;
  ticketPeriod: number;
  clientAuth: 'none' | 'optional' | 'required';
}

function prepare(config: TlsConfig | StreamTlsConfig, workerSecret: Buffer, serviceName: string, now: Date): Prepared {
  const loaded: LoadedCertificate[] = [];
  const warnings: CertificateProblem[] = [];
  for (const entry of config.certificates) {
    const { certificate, problems } = loadCertificate({ cert: entry.cert, key: entry.key }, now);
    for (const p of problems) {
      if (p.severity === 'error') throw new Error(`${p.message} (${p.code})`);
      warnings.push(p);
    }
    loaded.push({ ...certificate!, isDefault: entry.default });
  }
  const options: SecureContextOptions = { ...policyOptions(config.policy, { ciphers: config.ciphers, minVersion: config.minVersion }) };
  const keyFile = config.sessionTickets.keyFile;
  const ticketSecret = keyFile === undefined ? workerSecret : readFileSync(keyFile);
  const ticketPeriod = periodOf(now.getTime(), config.sessionTickets.rotate);
  options.ticketKeys = ticketKey(ticketSecret, ticketPeriod);
  // Sessions belong to their virtual service: OpenSSL refuses to resume one made under another
  // context id, so a ticket from one service cannot open a session on another (the tickets'
  // key is the worker's, shared by all its services). At most 32 bytes.
  const sessionId = createHash('sha256').update(serviceName);
  const clientAuth = 'clientAuth' in config ? config.clientAuth : undefined;
  if (clientAuth !== undefined && clientAuth.mode !== 'none') {
    const { loaded, problems } = loadClientAuth({ ca: clientAuth.ca!, crl: clientAuth.crl });
    if (loaded === null) throw new Error(`${problems[0]!.message} (${problems[0]!.code})`);
    options.ca = loaded.caPem;
    if (loaded.crlPem !== null) options.crl = loaded.crlPem;
    // A resumed session keeps the verification of its first handshake: a session made before
    // the CAs, the CRL or the mode changed must not resume under the new ones (a certificate
    // revoked since would pass), so they are part of the context id.
    sessionId.update(`\0${clientAuth.mode}\0`).update(loaded.caPem).update('\0').update(loaded.crlPem ?? '');
  }
  options.sessionIdContext = sessionId.digest('hex').slice(0, 32);
  return { loaded, warnings, options, ticketSecret, ticketPeriod, clientAuth: clientAuth?.mode ?? 'none' };
}

/** The certificate files of a TLS config (with the client CA and CRL files), for whoever watches them for changes. */
export function certificateFiles(config: TlsConfig): string[] {
  const files = config.certificates.flatMap((c) => [c.cert, c.key]);
  const { mode, ca, crl } = config.clientAuth;
  if (mode !== 'none' && ca !== undefined) files.push(ca);
  if (mode !== 'none' && crl !== undefined) files.push(crl);
  return files;
}
