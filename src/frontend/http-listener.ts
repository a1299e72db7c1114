import type { Socket } from 'node:net';
import type { HttpServiceConfig } from '../config/schema.ts';
import type { TLSSocket } from 'node:tls';
import { acceptProxyHeader, type AcceptResult } from '../proxy-protocol/accept.ts';
import { Http1Connection, type ServiceSource } from '../http1/connection.ts';
import { Http2Connection } from '../http2/h2-connection.ts';
import { PrefaceSniff, sniffPreface } from '../http2/preface.ts';
import type { EngineContext } from '../worker/engine-context.ts';
import type { VirtualService } from './virtual-service.ts';
import type { ListenerEnv, ServiceListener } from '../worker/service-listener.ts';
import { AcceptGroup } from '../worker/accept-group.ts';
import { normaliseAddress } from '../ip/client-address.ts';

/**
 * How long a client of a service with acceptProxyProtocol has to send its PROXY header. The
 * balancer in front sends it at once, with the connection (proxy-protocol.txt: "sent at once");
 * HAProxy's own accept-proxy gives it its "timeout client".
 */
const PROXY_HEADER_TIMEOUT_MS = 3000;

/** What the listener needs of a client connection, HTTP/1.1 or HTTP/2. */
interface ClientConnection {
  readonly socket: Socket;
  /** The soonest deadline of the client's side, and of the upstream side (0: none). */
  readonly deadline: number;
  readonly upstreamDeadline: number;
  onTick(now: number): void;
  drain(): void;
}

/** How long a client of an h2c-enabled service may take to send enough bytes to tell HTTP/2 from HTTP/1.1 (its head deadline then runs on). */
const SNIFF_TIMEOUT_MS = 10_000;

function httpOf(service: VirtualService): NonNullable<VirtualService['http']> {
  if (service.http === null) throw new Error(`virtual service "${service.name}" is not an http service`);
  return service.http;
}

/**
 * A listening socket for one virtual service. The service it serves can be swapped on reload;
 * connections read `service` at each new request, so keep-alive clients move to the new config
 * at their next request while requests in flight finish on the old one.
 */
export class Listener implements ServiceSource, ServiceListener {
  service: VirtualService;
  /** The listening sockets (several per worker: accept-group.ts says why). */
  readonly server: AcceptGroup;
  readonly connections = new Set<ClientConnection>();
  /** Connections waiting for the limits authority's answer (connection limits across workers). */
  readonly #awaitingGate = new Set<Socket>();
  /** What gives back each connection's open-connection slot when it closes. */
  readonly #slots = new Map<ClientConnection, () => void>();
  /** Cleartext connections of an h2c service whose first bytes do not yet tell HTTP/2 from HTTP/1.1, and until when they may. */
  readonly #sniffing = new Map<Socket, number>();
  /** drain() was called: connections that start from now on start draining. */
  #draining = false;
  /** Connections still sending their PROXY header (acceptProxyProtocol): no Http1Connection yet. */
  readonly #awaitingHeader = new Set<Socket>();
  /** Connections in their TLS handshake (https): no Http1Connection yet. */
  readonly #handshaking = new Set<Socket>();

  readonly #ctx: EngineContext;
  readonly #env: ListenerEnv;

  constructor(service: VirtualService, env: ListenerEnv) {
    this.service = service;
    this.#env = env;
    this.#ctx = env.ctx;
    this.server = new AcceptGroup({ allowHalfOpen: true, noDelay: true }, this.#onConnection);
    this.server.maxConnections = httpOf(service).limits.maxConnections;
  }

  /** Listen with SO_REUSEPORT so every worker process binds the same address; the kernel spreads connections. */
  listen(): Promise<void> {
    const { host, port } = this.service.config.listen;
    return this.server.listen(host, port);
  }

  update(service: VirtualService): void {
    this.service = service;
    this.server.maxConnections = httpOf(service).limits.maxConnections;
  }

  readonly #onConnection = (socket: Socket): void => {
    this.service.meter.accepted();
    // Read per connection: a reload may turn it on or off.
    if ((this.service.config as HttpServiceConfig).acceptProxyProtocol) return this.#acceptProxy(socket);
    this.#admit(socket, null, null);
  };

  /**
   * Past the virtual service's connection limits (connectionRate, maxConnectionsPerClient), if
   * it has any, a connection becomes an Http1Connection; over them it is closed at once.
   */
  #admit(socket: Socket, clientIp: string | null, initial: Buffer | null): void {
    const gate = this.service.gate;
    if (gate === null) return this.#open(socket, clientIp, initial, null);
    const client = normaliseAddress(clientIp ?? socket.remoteAddress ?? '');
    const open = (): void => this.#open(socket, clientIp, initial, gate.countsConnections ? () => gate.release(client) : null);
    const decided = gate.admit(client, (refusal) => {
      if (!this.#awaitingGate.delete(socket)) {
        // Cut meanwhile (drain, destroyAll): a slot it was given goes back.
        if (refusal === null && gate.countsConnections) gate.release(client);
        return;
      }
      if (refusal === null) open();
      else this.#refuse(socket, client, refusal);
    });
    if (decided === 'pending') {
      socket.pause();
      this.#awaitingGate.add(socket);
    } else if (decided === null) {
      open();
    } else {
      this.#refuse(socket, client, decided);
    }
  }

  /**
   * An admitted connection becomes an Http1Connection: at once in clear text, after its TLS
   * handshake on an https service. `release` gives back its open-connection slot when it closes.
   */
  #open(socket: Socket, clientIp: string | null, initial: Buffer | null, release: (() => void) | null): void {
    const tls = this.service.tls;
    if (tls === null) return this.#serve(socket, clientIp, initial, release);
    this.#handshaking.add(socket);
    tls.accept(
      socket,
      initial,
      (secure) => {
        if (!this.#handshaking.delete(socket)) {
          // Cut meanwhile (drain, destroyAll).
          secure.destroy();
          release?.();
          return;
        }
        this.#serve(secure, clientIp, null, release);
      },
      () => {
        // A scanner, a client that does not trust the certificate, a port probe: not logged line
        // by line (HAProxy's default too); the connection goes and its slot with it.
        this.#handshaking.delete(socket);
        release?.();
      },
    );
  }

  /**
   * HTTP/2 when TLS chose h2 by ALPN, or when an h2c service's client starts with the HTTP/2
   * preface (prior knowledge); HTTP/1.1 otherwise.
   */
  #serve(socket: Socket, clientIp: string | null, initial: Buffer | null, release: (() => void) | null): void {
    if ((socket as TLSSocket).alpnProtocol === 'h2') return this.#start(socket, clientIp, initial, release, true);
    const config = this.service.config as HttpServiceConfig;
    if (this.service.tls !== null || !config.http2.cleartext) return this.#start(socket, clientIp, initial, release, false);
    const sniff = new PrefaceSniff();
    const decide = (chunk: Buffer): void => {
      const verdict = sniff.feed(chunk);
      if (verdict === 'more') return;
      socket.removeListener('data', decide);
      socket.pause();
      if (!this.#sniffing.delete(socket)) return; // cut meanwhile
      this.#start(socket, clientIp, sniff.bytes(), release, verdict === 'h2');
    };
    if (initial !== null && initial.length > 0 && sniffPreface(initial) !== 'more') return this.#start(socket, clientIp, initial, release, sniffPreface(initial) === 'h2');
    if (initial !== null) sniff.feed(initial);
    this.#sniffing.set(socket, Date.now() + SNIFF_TIMEOUT_MS);
    socket.on('data', decide);
    socket.once('close', () => {
      if (this.#sniffing.delete(socket)) release?.();
    });
    socket.resume();
  }

  #start(socket: Socket, clientIp: string | null, initial: Buffer | null, release: (() => void) | null, http2: boolean): void {
    const conn: ClientConnection = http2
      ? new Http2Connection(socket, this, this.#ctx, this.#onClosed, clientIp, initial)
      : new Http1Connection(socket, this, this.#ctx, this.#onClosed, clientIp, initial);
    if (release !== null) this.#slots.set(conn, release);
    this.connections.add(conn);
    // Its handshake or first bytes were still on the way when the drain began.
    if (this.#draining) conn.drain();
  }

  /** Over a connection limit: closed at once, with no response (there is no request yet), and logged as TCP logs it. */
  #refuse(socket: Socket, client: string, refusal: { termination: string; detail: string }): void {
    socket.destroy();
    this.service.http?.logRefusal(client, 0, refusal.detail, refusal.termination, 0, 0, 0);
  }

  #acceptProxy(socket: Socket): void {
    this.#awaitingHeader.add(socket);
    // Now: once the peer has gone the socket no longer knows its address. (Node caches it, so
    // the Http1Connection reads it again for free.)
    const remote = socket.remoteAddress ?? '';
    const port = socket.remotePort ?? 0;
    acceptProxyHeader(socket, PROXY_HEADER_TIMEOUT_MS, (result: AcceptResult) => {
      if (!this.#awaitingHeader.delete(socket)) return; // cut by drain or destroyAll: not the client's fault
      if (!result.ok) {
        const name = this.service.name;
        const client = remote.startsWith('::ffff:') ? remote.slice(7) : remote;
        const shown = client.includes(':') ? `[${client}]:${port}` : `${client}:${port}`;
        this.#env.events('warn', `connection from ${shown} to "${name}" closed: ${result.reason}`, {
          virtualService: name,
          client,
          event: 'proxy-protocol-error',
        });
        return;
      }
      // LOCAL and UNKNOWN headers (the balancer's own health checks) carry no client: keep the socket's.
      const clientIp = result.header.source?.address ?? null;
      this.#admit(socket, clientIp, result.rest);
    });
  }

  readonly #onClosed = (conn: ClientConnection): void => {
    this.connections.delete(conn);
    const release = this.#slots.get(conn);
    if (release !== undefined) {
      this.#slots.delete(conn);
      release();
    }
  };

  /**
   * Stop accepting at once. Resolves only when every connection has closed as well (net.Server
   * semantics), so callers that drain must not wait for it before telling connections to close.
   */
  close(): Promise<void> {
    return this.server.close();
  }

  drain(): void {
    this.#draining = true;
    for (const c of this.connections) c.drain();
    // Nothing in flight there yet: like an idle keep-alive connection, it goes.
    this.#dropAwaitingHeader();
  }

  /** The worker's tick: the connections' deadlines (the pools tick on their own, once each), the TLS ticket key's rotation. */
  tick(now: number): void {
    // Wall-clock time: every worker (and an HA peer with the same key file) turns at the same moment.
    this.service.tls?.rotate(Date.now());
    for (const conn of this.connections) {
      if ((conn.deadline !== 0 && conn.deadline <= now) || (conn.upstreamDeadline !== 0 && conn.upstreamDeadline <= now)) conn.onTick(now);
    }
    for (const [socket, until] of this.#sniffing) if (until <= now) socket.destroy();
  }

  get connectionCount(): number {
    return this.connections.size + this.#awaitingHeader.size + this.#awaitingGate.size + this.#handshaking.size + this.#sniffing.size;
  }

  destroyAll(): void {
    for (const c of this.connections) c.socket.destroy();
    // Not on drain: their first bytes may be a request already on its way (they start draining).
    for (const socket of this.#sniffing.keys()) socket.destroy();
    this.#dropAwaitingHeader();
  }

  #dropAwaitingHeader(): void {
    for (const set of [this.#awaitingHeader, this.#awaitingGate, this.#handshaking]) {
      for (const s of set) {
        set.delete(s);
        s.destroy();
      }
    }

  }
}
