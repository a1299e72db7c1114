/**
 * One client connection of a TCP virtual service, from accept to close: read what must be read
 * before a server can be chosen (a PROXY header, an RDP Connection Request), wait in the queue
 * when over a limit, connect to a real server (retrying others), then relay (relay.ts).
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TcpServiceConfig } from '../config/schema.ts';
import type { VirtualService } from '../frontend/virtual-service.ts';
import { Termination } from '../exchange/termination.ts';
import { normaliseAddress } from '../ip/client-address.ts';
import { PersistSlot } from '../persistence/persistence.ts';
import type { Pool } from '../pool/pool.ts';
import { FULL, type PickRequest, type PoolWaiter } from '../pool/types.ts';
import { encodeProxyHeader } from '../proxy-protocol/encode.ts';
import type { RealServer } from '../pool/real-server.ts';
import { Relay, type RelayEnd } from './relay.ts';

/**
 * Where a connection is in its life; the listener's tick reads it to apply the right deadline.
 * queued: waiting for a slot under the virtual service's maxConnections (the listener's queue);
 * pool-queued: waiting for a real server below its maxConnections (the pool's queue).
 */
export type TcpPhase = 'handshake' | 'queued' | 'pool-queued' | 'connecting' | 'relaying' | 'closed';

/** What a connection needs from its listener. */
export interface TcpConnectionHost {
  readonly service: VirtualService;
  /** The service's settings now (a reload may change them between two connections). */
  readonly config: TcpServiceConfig;
  /** A server for this connection from `pool`: FULL when every candidate is at its maxConnections, null when none is available. */
  pickFor(conn: TcpConnection, pool: Pool): RealServer | typeof FULL | null;
  /** The connection left connecting/relaying (or the queue): its slot is free. */
  released(conn: TcpConnection): void;
  closed(conn: TcpConnection, termination: Termination, error: string): void;
  readonly meter: ((bytes: number) => void) | null;
}

export class TcpConnection implements PickRequest, PoolWaiter {
  /** The client's socket: the accepted one, or the TLS socket over it once `secured`. */
  socket: Socket;
  readonly #host: TcpConnectionHost;
  /** The client's address: the socket's, or what an accepted PROXY header says (IPv4-mapped normalised). */
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
  /** The pool of the attempt in flight (a reload may replace the listener's). */
  pool: Pool | null = null;
  /** The server an RDP session broker's routing token names; tried first. */
  redirect: RealServer | null = null;
  upstream: Socket | null = null;
  relay: Relay | null = null;
  /** Counts toward the listener's maxConnections (connecting or relaying). */
  holdsSlot = false;
  /** Waiting in the listener's queue (its count of queued connections includes this one). */
  inListenerQueue = false;
  /** Runs once when the connection is over (gives back its open-connection slot). */
  onFinish: (() => void) | null = null;
  /** The 'end' handler while the first packet is peeked (rdp-cookie); null otherwise. */
  peekEnd: (() => void) | null = null;
  readonly startedAt = performance.now();
  // PickRequest (the pool's pick path reads these) and PoolWaiter.
  exclude: RealServer[] | null = null;
  inQueue = false;
  queueDeadline = 0;
  #attempts = 0;
  #lastError = '';
  #lastTermination: Termination = Termination.NO_SERVER;
  #onConnectError: ((err: NodeJS.ErrnoException) => void) | null = null;
  #onClientGone = (): void => this.#clientGone();

  constructor(socket: Socket, host: TcpConnectionHost) {
    this.socket = socket;
    this.#host = host;
    this.clientIp = normaliseAddress(socket.remoteAddress ?? '');
    this.clientPort = socket.remotePort ?? 0;
    this.slot = new PersistSlot(this.clientIp);
    // Until the relay owns it: a client that goes away while queued or connecting is noticed.
    socket.on('close', this.#onClientGone);
    socket.on('error', noop);
  }

  /**
   * TLS terminated (tls on the service): the TLS socket, which wraps the accepted one, is the
   * client from now on; paused until the relay (or the rdp-cookie peek) reads it.
   */
  secured(tls: Socket): void {
    this.socket.off('close', this.#onClientGone);
    this.socket = tls;
    tls.pause();
    tls.on('close', this.#onClientGone);
    tls.on('error', noop);
  }

  /** A client address learnt from a PROXY header, before any server is chosen. */
  setClient(address: string, port: number): void {
    this.clientIp = normaliseAddress(address);
    this.clientPort = port;
    (this as { slot: PersistSlot }).slot = new PersistSlot(this.clientIp);
  }

  get clientAddress(): string {
    return this.clientIp;
  }

  get clientKeys(): PersistSlot {
    return this.slot;
  }

  get keys(): PersistSlot {
    return this.slot;
  }

  /** Choose a server and connect; every server full: wait in the pool's queue (or be refused). */
  start(now: number): void {
    const pool = this.#host.service.pool;
    const server = this.#host.pickFor(this, pool);
    if (server === FULL) {
      if (!pool.enqueue(this, now)) {
        this.#lastTermination = Termination.QUEUE_FULL;
        return this.#fail(`every real server of pool "${pool.name}" is at its maxConnections and the queue is full`);
      }
      this.pool = pool;
      this.phase = 'pool-queued';
      return;
    }
    this.#startWith(server, pool, now);
  }

  #startWith(server: RealServer | null, pool: Pool, now: number): void {
    if (server === null) {
      if (this.exclude !== null) return this.#fail(`no real server left to try after: ${this.#lastError}`);
      this.#lastTermination = Termination.NO_SERVER;
      return this.#fail('no real server available');
    }
    this.pool = pool;
    this.#connect(server, now);
  }

  /** PoolWaiter: a real server of `pool` may have room. */
  onPoolSlot(pool: Pool): boolean {
    if (this.phase !== 'pool-queued') return true;
    const server = this.#host.pickFor(this, pool);
    if (server === FULL) return false;
    this.#startWith(server, pool, Date.now());
    return true;
  }

  onQueueTimeout(): void {
    if (this.phase !== 'pool-queued') return;
    this.#lastTermination = Termination.QUEUE_TIMEOUT;
    this.#fail(`waited ${this.pool?.config.queue.timeout ?? 0} ms for a real server below its maxConnections`);
  }

  #connect(server: RealServer, now: number): void {
    const config = this.#host.config;
    this.phase = 'connecting';
    this.deadline = now + config.timeouts.connect;
    this.server = server;
    this.#attempts++;
    this.pool!.take(server);
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
    this.pool!.noteSuccess(this.server!);
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
    this.#retryOrFail(reason === 'ECONNREFUSED' ? Termination.UPSTREAM_CONNECT_REFUSED : Termination.UPSTREAM_CONNECT_ERROR, `${this.server!.id}: ${reason}`);
  }

  /** The listener's tick saw the connect deadline pass. */
  connectTimedOut(): void {
    if (this.phase !== 'connecting') return;
    this.upstream?.destroy();
    this.#retryOrFail(Termination.UPSTREAM_CONNECT_TIMEOUT, `${this.server!.id}: no connection within ${this.#host.config.timeouts.connect} ms`);
  }

  #retryOrFail(termination: Termination, reason: string): void {
    const server = this.server!;
    const pool = this.pool!;
    this.#releaseServer();
    pool.noteFailure(server, reason);
    this.#lastError = reason;
    this.#lastTermination = termination;
    this.upstream = null;
    (this.exclude ??= []).push(server);
    if (this.socket.destroyed) return this.#finish(Termination.CLIENT_ABORTED, reason);
    if (this.#attempts <= this.#host.config.retries) {
      const next = this.#host.pickFor(this, pool);
      if (next !== null && next !== FULL) return this.#connect(next, Date.now());
    }
    this.#fail(reason);
  }

  /** The attempt's server no longer counts this connection (exactly once per attempt). */
  #releaseServer(): void {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    this.pool?.release(server);
  }

  /** Give up on this client: close it (with a reset when it already sent data we cannot deliver). */
  #fail(reason: string): void {
    this.phase = 'closed';
    if (this.head !== null) this.socket.resetAndDestroy();
    else this.socket.destroy();
    this.#finish(this.#lastTermination, reason);
  }

  /** Close the client from outside (queue timeout, queue full, shutdown, a limit); no server was involved. */
  reject(reason: string, termination: Termination = Termination.CONNECTION_LIMIT): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'connecting') {
      // Cut while connecting (shutdown): the attempt and its count on the server end here.
      this.upstream?.destroy();
      this.upstream = null;
      this.#releaseServer();
    }
    if (this.phase === 'pool-queued') this.pool?.leaveQueue(this);
    this.#lastTermination = termination;
    this.#fail(reason);
  }

  #clientGone(): void {
    if (this.phase === 'closed' || this.phase === 'relaying') return;
    // Gone while queued or connecting: nothing to relay.
    if (this.phase === 'connecting') {
      this.upstream?.destroy();
      this.#releaseServer();
    }
    if (this.phase === 'pool-queued') this.pool?.leaveQueue(this);
    this.phase = 'closed';
    this.#finish(Termination.CLIENT_ABORTED, 'client closed before a real server was connected');
  }

  #relayDone(how: RelayEnd): void {
    const server = this.server;
    this.server = null;
    if (server !== null) this.pool?.release(server);
    this.relayServer = server;
    this.#finish(RELAY_TERMINATIONS[how], how === 'closed' ? '' : how);
  }

  /** The server the relay ran to (kept for the log after its slot is released). */
  relayServer: RealServer | null = null;

  #finish(termination: Termination, error: string): void {
    this.phase = 'closed';
    this.deadline = 0;
    this.#host.released(this);
    this.#host.closed(this, termination, error);
  }

  /** Cut the connection now (drainCut, shutdown past the grace period). */
  cut(how: RelayEnd): void {
    if (this.relay !== null) this.relay.destroy(how);
    else this.reject(how);
  }
}

function noop(): void {}

/** How a relay ended, as a termination code: an idle timeout is the client's (it went silent too, but a silent server is in `error`). */
const RELAY_TERMINATIONS: Readonly<Record<RelayEnd, Termination>> = {
  closed: Termination.OK,
  'client-reset': Termination.CLIENT_ABORTED,
  'server-reset': Termination.UPSTREAM_RESET,
  idle: Termination.CLIENT_TIMEOUT,
  cut: Termination.CUT,
};
