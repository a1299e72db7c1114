/**
 * One client connection of a TCP virtual service, from accept to close: read what must be read
 * before a server can be chosen (a PROXY header, an RDP Connection Request), wait in the queue
 * when over a limit, connect to a real server (retrying others), then relay (relay.ts).
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TcpServiceConfig } from '../config/schema.ts';
import type { VirtualService } from '../l7/virtual-service.ts';
import { PersistSlot } from '../persistence/persistence.ts';
import { encodeProxyHeader } from '../proxy-protocol/encode.ts';
import type { RealServer } from '../upstream/real-server.ts';
import { Relay, type RelayEnd } from './relay.ts';

/** Where a connection is in its life; the listener's tick reads it to apply the right deadline. */
export type TcpPhase = 'handshake' | 'queued' | 'connecting' | 'relaying' | 'closed';

/** What a connection needs from its listener. */
export interface TcpConnectionHost {
  readonly service: VirtualService;
  /** The service's settings now (a reload may change them between two connections). */
  readonly config: TcpServiceConfig;
  /** A server for this connection, 'full' when every candidate is at its maxConnections, null when none is available. */
  pickFor(conn: TcpConnection, exclude: readonly RealServer[] | null): RealServer | 'full' | null;
  /** The connection left connecting/relaying (or the queue): its slot is free. */
  released(conn: TcpConnection): void;
  closed(conn: TcpConnection, error: string): void;
  readonly meter: ((bytes: number) => void) | null;
}

export class TcpConnection {
  readonly socket: Socket;
  readonly #host: TcpConnectionHost;
  /** The client's address: the socket's, or what an accepted PROXY header says. */
  clientIp: string;
  clientPort: number;
  phase: TcpPhase = 'handshake';
  /** When the current phase times out (ms since epoch); 0: no deadline. */
  deadline = 0;
  /** Bytes read from the client before the relay started (after any PROXY header), sent first. */
  head: Buffer | null = null;
  /** What the listener does when `deadline` passes during the handshake (an RDP request that never completes). */
  onHandshakeTimeout: (() => void) | null = null;
  /** The first bytes' persistence key (rdp-cookie), read by the listener. */
  readonly slot: PersistSlot;
  server: RealServer | null = null;
  /** The server an RDP session broker's routing token names; tried first. */
  redirect: RealServer | null = null;
  upstream: Socket | null = null;
  relay: Relay | null = null;
  /** Counts toward the listener's maxConnections (connecting or relaying). */
  holdsSlot = false;
  /** Waiting in the listener's queue (its count of queued connections includes this one). */
  inQueue = false;
  /** The 'end' handler while the first packet is peeked (rdp-cookie); null otherwise. */
  peekEnd: (() => void) | null = null;
  readonly startedAt = performance.now();
  #tried: RealServer[] | null = null;
  #attempts = 0;
  #lastError = '';
  #onConnectError: ((err: NodeJS.ErrnoException) => void) | null = null;
  #onClientGone = (): void => this.#clientGone();

  constructor(socket: Socket, host: TcpConnectionHost) {
    this.socket = socket;
    this.#host = host;
    this.clientIp = socket.remoteAddress ?? '';
    this.clientPort = socket.remotePort ?? 0;
    this.slot = new PersistSlot(this.clientIp);
    // Until the relay owns it: a client that goes away while queued or connecting is noticed.
    socket.on('close', this.#onClientGone);
    socket.on('error', noop);
  }

  /** A client address learnt from a PROXY header, before any server is chosen. */
  setClient(address: string, port: number): void {
    this.clientIp = address;
    this.clientPort = port;
    (this as { slot: PersistSlot }).slot = new PersistSlot(address);
  }

  /** Choose a server and connect; false when the listener must queue the connection (every server full). */
  start(now: number): boolean {
    const server = this.#host.pickFor(this, this.#tried);
    if (server === 'full') return false;
    if (server === null) {
      this.#fail(this.#tried === null ? 'no real server available' : `no real server left to try after: ${this.#lastError}`);
      return true;
    }
    this.#connect(server, now);
    return true;
  }

  #connect(server: RealServer, now: number): void {
    const config = this.#host.config;
    this.phase = 'connecting';
    this.deadline = now + config.timeouts.connect;
    this.server = server;
    this.#attempts++;
    server.inflight++;
    server.requests++;
    const upstream = connect({ host: server.host, port: server.port, allowHalfOpen: true, noDelay: true });
    this.upstream = upstream;
    const onError = (err: NodeJS.ErrnoException): void => this.#connectFailed(upstream, err.code ?? err.message);
    this.#onConnectError = onError;
    upstream.once('connect', () => this.#connected(upstream));
    upstream.once('error', onError);
  }

  #connected(upstream: Socket): void {
    if (this.upstream !== upstream || this.phase !== 'connecting') return;
    const config = this.#host.config;
    this.#host.service.noteSuccess(this.server!);
    this.phase = 'relaying';
    this.deadline = 0;
    if (this.#onConnectError !== null) upstream.off('error', this.#onConnectError);
    this.#onConnectError = null;
    if (config.sendProxyProtocol !== 'off') {
      upstream.write(encodeProxyHeader(config.sendProxyProtocol, this.socket, { address: this.clientIp, port: this.clientPort }));
    }
    const head = this.head;
    this.head = null;
    if (head !== null) upstream.write(head);
    this.socket.off('close', this.#onClientGone);
    this.relay = new Relay(this.socket, upstream, (_relay, how) => this.#relayDone(how), Date.now(), this.#host.meter);
    if (head !== null) this.relay.bytesIn += head.length;
  }

  #connectFailed(upstream: Socket, reason: string): void {
    if (this.upstream !== upstream || this.phase !== 'connecting') return;
    upstream.destroy();
    this.#retryOrFail(`${this.server!.id}: ${reason}`);
  }

  /** The listener's tick saw the connect deadline pass. */
  connectTimedOut(): void {
    if (this.phase !== 'connecting') return;
    this.upstream?.destroy();
    this.#retryOrFail(`${this.server!.id}: no connection within ${this.#host.config.timeouts.connect} ms`);
  }

  #retryOrFail(reason: string): void {
    const server = this.server!;
    server.inflight--;
    this.#host.service.noteFailure(server, reason);
    this.#lastError = reason;
    this.upstream = null;
    this.server = null;
    (this.#tried ??= []).push(server);
    if (this.socket.destroyed) return this.#finish(reason);
    if (this.#attempts <= this.#host.service.retries) {
      const next = this.#host.pickFor(this, this.#tried);
      if (next !== null && next !== 'full') return this.#connect(next, Date.now());
    }
    this.#fail(reason);
  }

  /** Give up on this client: close it (with a reset when it already sent data we cannot deliver). */
  #fail(reason: string): void {
    this.phase = 'closed';
    if (this.head !== null) this.socket.resetAndDestroy();
    else this.socket.destroy();
    this.#finish(reason);
  }

  /** Close the client from outside (queue timeout, queue full, shutdown); no server was involved. */
  reject(reason: string): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'connecting') {
      // Cut while connecting (shutdown): the attempt and its count on the server end here.
      this.upstream?.destroy();
      this.upstream = null;
      this.server!.inflight--;
      this.server = null;
    }
    this.#fail(reason);
  }

  #clientGone(): void {
    if (this.phase === 'closed' || this.phase === 'relaying') return;
    // Gone while queued or connecting: nothing to relay.
    if (this.phase === 'connecting') {
      this.upstream?.destroy();
      this.server!.inflight--;
      this.server = null;
    }
    this.phase = 'closed';
    this.#finish('client closed before a real server was connected');
  }

  #relayDone(how: RelayEnd): void {
    this.server!.inflight--;
    this.#finish(how === 'closed' ? '' : how);
  }

  #finish(error: string): void {
    this.phase = 'closed';
    this.deadline = 0;
    this.#host.released(this);
    this.#host.closed(this, error);
  }

  /** Cut the connection now (drainCut, shutdown past the grace period). */
  cut(how: RelayEnd): void {
    if (this.relay !== null) this.relay.destroy(how);
    else this.reject(how);
  }
}

function noop(): void {}
