/**
 * The listening socket of a TCP virtual service and the connections it accepted: the connection
 * limits with their ordered queue (HAProxy's maxconn queue), per-server limits, idle and connect
 * deadlines from the worker's tick, and draining that never cuts an established connection
 * unless timeouts.drainCut asks for it.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TcpServiceConfig } from '../config/schema.ts';
import type { VirtualService } from '../frontend/virtual-service.ts';
import { Termination } from '../exchange/termination.ts';
import type { Pool } from '../pool/pool.ts';
import type { FULL } from '../pool/types.ts';
import { acceptProxyHeader } from '../proxy-protocol/accept.ts';
import type { RealServer } from '../pool/real-server.ts';
import type { ListenerEnv, ServiceListener } from '../worker/service-listener.ts';
import { RDP_PEEK_LIMIT, parseRdpConnectionRequest, redirectTarget } from './rdp-cookie.ts';
import { TcpConnection, type TcpConnectionHost } from './tcp-connection.ts';
import { WaitQueue } from '../pool/wait-queue.ts';
import { AcceptGroup } from '../worker/accept-group.ts';

/** How long a client has to send its PROXY header, or its RDP Connection Request. */
const HANDSHAKE_MS = 3000;

export class TcpListener implements ServiceListener, TcpConnectionHost {
  service: VirtualService;
  config: TcpServiceConfig;
  /** The listening sockets (several per worker: accept-group.ts says why). */
  readonly server: AcceptGroup;
  readonly connections = new Set<TcpConnection>();
  readonly meter: (bytes: number) => void;
  readonly #env: ListenerEnv;
  /** Connections waiting for a slot, oldest first; entries that left are skipped when met. */
  readonly #queue = new WaitQueue<TcpConnection>();
  /** Connections in the queue now (entries that left, e.g. timed out, stay in #queue until they reach its head). */
  #queued = 0;
  /** #admitQueued is running: a connection that fails inside it re-enters through released(). */
  #admitting = false;
  #admitAgain = false;
  /** Connections connecting or relaying: what limits.maxConnections bounds. */
  #active = 0;
  #draining = false;
  /** When each real server stopped taking new clients (drain, disabled), for timeouts.drainCut. */
  readonly #unavailableSince = new Map<RealServer, number>();

  constructor(service: VirtualService, env: ListenerEnv) {
    this.service = service;
    this.config = tcpConfig(service);
    this.#env = env;
    this.meter = (bytes) => env.ctx.noteRead(bytes);
    this.server = new AcceptGroup({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (socket) => this.#accept(socket));
  }

  listen(): Promise<void> {
    const { host, port } = this.config.listen;
    return this.server.listen(host, port);
  }

  update(service: VirtualService): void {
    this.service = service;
    this.config = tcpConfig(service);
    this.#admitQueued(Date.now());
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      void this.server.close();
      // net.Server waits for every connection before its callback; ours only stops accepting.
      setImmediate(resolve);
    });
  }

  drain(): void {
    this.#draining = true;
    for (const conn of this.connections) {
      if (conn.phase === 'queued' || conn.phase === 'pool-queued' || conn.phase === 'handshake') conn.reject('shutting down', Termination.CUT);
    }
  }

  destroyAll(): void {
    for (const conn of this.connections) conn.cut('cut');
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  // ---- accept: what must be read before a server can be chosen ------------------------------

  #accept(socket: Socket): void {
    if (this.#draining) {
      socket.destroy();
      return;
    }
    const conn = new TcpConnection(socket, this);
    this.connections.add(conn);
    this.service.meter.accepted();
    conn.deadline = Date.now() + HANDSHAKE_MS;
    if (!this.config.acceptProxyProtocol) return this.#afterProxy(conn);
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    // Accepted paused (pauseOnConnect); the header must be read, then it pauses the socket again.
    socket.resume();
    acceptProxyHeader(socket, HANDSHAKE_MS, (result) => {
      // Closed by us meanwhile (shutdown, retirement): not the client's fault, nothing to log.
      if (conn.phase === 'closed') return;
      if (!result.ok) {
        this.#env.events('warn', `connection from ${peer} to "${this.service.name}" closed: ${result.reason}`, {
          virtualService: this.service.name,
          client: peer,
          event: 'proxy-protocol-error',
        });
        return;
      }
      const source = result.header.source;
      if (source !== null) conn.setClient(source.address, source.port);
      conn.head = result.rest;
      this.#afterProxy(conn);
    });
  }

  #afterProxy(conn: TcpConnection): void {
    if (conn.phase === 'closed') return;
    const gate = this.service.gate;
    if (gate === null) return this.#afterGate(conn);
    // The access list and the connection limits, on the client's address (the PROXY header's, if any).
    const client = conn.clientIp;
    const decided = gate.admit(client, (refusal) => {
      if (conn.phase === 'closed') {
        if (refusal === null && gate.countsConnections) gate.release(client);
        return;
      }
      this.#gated(conn, refusal === null ? null : refusal, gate);
    });
    if (decided !== 'pending') this.#gated(conn, decided, gate);
  }

  #gated(conn: TcpConnection, refusal: { termination: Termination; detail: string } | null, gate: NonNullable<VirtualService['gate']>): void {
    if (refusal !== null) return conn.reject(refusal.detail, refusal.termination);
    if (gate.countsConnections) {
      const client = conn.clientIp;
      conn.onFinish = () => gate.release(client);
    }
    this.#afterGate(conn);
  }

  #afterGate(conn: TcpConnection): void {
    const tls = this.service.tls;
    if (tls === null) return this.#afterTls(conn);
    // The handshake has its own timeout (tls.handshakeTimeout).
    conn.deadline = 0;
    const head = conn.head;
    conn.head = null;
    tls.accept(
      conn.socket,
      head,
      (secure) => {
        if (conn.phase === 'closed') return void secure.destroy();
        conn.secured(secure);
        this.#afterTls(conn);
      },
      (reason, timedOut) => conn.reject(`TLS handshake ${timedOut ? 'timed out' : 'failed'}: ${reason}`, Termination.CLIENT_TLS_FAILED),
    );
  }

  #afterTls(conn: TcpConnection): void {
    const persistence = this.service.pool.persistence;
    if (persistence?.config.type !== 'rdp-cookie') return this.#admit(conn);
    // rdp-cookie: the user name is in the client's first packet, read before choosing a server.
    const socket = conn.socket;
    const onData = (chunk: Buffer): void => {
      conn.head = conn.head === null ? chunk : Buffer.concat([conn.head, chunk]);
      this.#peekRdp(conn, onData);
    };
    socket.on('data', onData);
    // A FIN before the request is complete (a port probe, nc -z): there is nothing to forward.
    const onEnd = (): void => conn.reject('client closed before its first packet was complete');
    socket.once('end', onEnd);
    conn.peekEnd = onEnd;
    conn.deadline = Date.now() + HANDSHAKE_MS;
    conn.onHandshakeTimeout = () => this.#peekRdp(conn, onData, true);
    socket.resume();
    if (conn.head !== null) this.#peekRdp(conn, onData);
  }

  #peekRdp(conn: TcpConnection, onData: (chunk: Buffer) => void, timedOut = false): void {
    const parsed = parseRdpConnectionRequest(conn.head ?? Buffer.alloc(0));
    if (parsed.kind === 'need-more' && !timedOut && (conn.head?.length ?? 0) < RDP_PEEK_LIMIT) return;
    conn.socket.off('data', onData);
    if (conn.peekEnd !== null) conn.socket.off('end', conn.peekEnd);
    conn.peekEnd = null;
    conn.socket.pause();
    conn.onHandshakeTimeout = null;
    conn.slot.connectionKey = parsed.kind === 'request' ? parsed.cookie : null;
    // A session broker's redirect names the server that holds the user's session: it wins.
    if (parsed.kind === 'request' && parsed.routingToken !== null) conn.redirect = redirectTarget(parsed.routingToken, this.service.pool.servers);
    this.#admit(conn);
  }

  // ---- limits and the queue -----------------------------------------------------------------

  #admit(conn: TcpConnection): void {
    if (conn.phase === 'closed') return;
    this.service.pool.persistence?.readConnection(conn.slot);
    const now = Date.now();
    if (this.#active < this.config.limits.maxConnections && this.#queued === 0) return this.#start(conn, now);
    this.#enqueue(conn, now);
  }

  /** The connection takes a slot under maxConnections and asks the pool for a server. */
  #start(conn: TcpConnection, now: number): void {
    conn.holdsSlot = true;
    this.#active++;
    conn.start(now);
  }

  #enqueue(conn: TcpConnection, now: number): void {
    const queue = this.config.limits.queue;
    if (this.#queued >= queue.size) {
      conn.reject(queue.size === 0 ? 'over the connection limit (queue size 0)' : `over the connection limit and the queue is full (${queue.size})`);
      return;
    }
    conn.phase = 'queued';
    conn.deadline = now + queue.timeout;
    conn.inListenerQueue = true;
    this.#queued++;
    this.#queue.push(conn);
  }

  #leaveQueue(conn: TcpConnection): void {
    if (!conn.inListenerQueue) return;
    conn.inListenerQueue = false;
    this.#queued--;
  }

  /** Start queued connections, oldest first, while there is room. */
  #admitQueued(now: number): void {
    if (this.#admitting) {
      this.#admitAgain = true;
      return;
    }
    this.#admitting = true;
    try {
      do {
        this.#admitAgain = false;
        this.#admitFromHead(now);
      } while (this.#admitAgain);
    } finally {
      this.#admitting = false;
    }
  }

  #admitFromHead(now: number): void {
    const max = this.config.limits.maxConnections;
    const queue = this.#queue;
    while (queue.size > 0 && this.#active < max) {
      const conn = queue.shift()!;
      if (!conn.inListenerQueue) continue;
      this.#leaveQueue(conn);
      this.#start(conn, now);
    }
  }

  /** The pool's pick path, after an RDP session broker's redirect (which names the server holding the user's session). */
  pickFor(conn: TcpConnection, pool: Pool): RealServer | typeof FULL | null {
    const redirect = conn.redirect;
    if (redirect !== null && (conn.exclude === null || !conn.exclude.includes(redirect))) return redirect;
    return pool.pick(conn, Date.now());
  }

  released(conn: TcpConnection): void {
    this.#leaveQueue(conn);
    if (!conn.holdsSlot) return;
    conn.holdsSlot = false;
    this.#active--;
    this.#admitQueued(Date.now());
  }

  closed(conn: TcpConnection, termination: Termination, error: string): void {
    this.connections.delete(conn);
    conn.onFinish?.();
    conn.onFinish = null;
    this.service.meter.connection(termination, conn.relay?.bytesIn ?? 0, conn.relay?.bytesOut ?? 0, conn.pool?.name ?? this.service.pool.name, conn.server ?? conn.relayServer);
    const sink = this.#env.ctx.accessLog;
    if (sink === null) return;
    sink.logConnection({
      protocol: 'tcp',
      client: conn.clientIp,
      virtualService: this.service.name,
      pool: conn.pool?.name ?? this.service.pool.name,
      server: (conn.server ?? conn.relayServer)?.id ?? '',
      bytesIn: conn.relay?.bytesIn ?? 0,
      bytesOut: conn.relay?.bytesOut ?? 0,
      durationMs: performance.now() - conn.startedAt,
      termination,
      error,
    });
  }

  // ---- time ---------------------------------------------------------------------------------

  tick(now: number): void {
    const { idle, drainCut } = this.config.timeouts;
    if (drainCut > 0) this.#noteUnavailable(now);
    for (const conn of this.connections) {
      switch (conn.phase) {
        case 'relaying':
          if (conn.relay!.checkIdle(now, idle)) break;
          if (drainCut > 0 && this.#cutDue(conn.server!, now, drainCut)) conn.cut('cut');
          break;
        case 'connecting':
          if (conn.deadline <= now) conn.connectTimedOut();
          break;
        case 'queued':
          if (conn.deadline <= now && conn.inListenerQueue) conn.reject(`waited ${this.config.limits.queue.timeout} ms in the queue`);
          break;
        case 'handshake':
          // Only rdp-cookie peeks are timed here; acceptProxyHeader has its own timeout.
          if (conn.deadline <= now) conn.onHandshakeTimeout?.();
          break;
      }
    }
    this.#admitQueued(now);
  }

  #noteUnavailable(now: number): void {
    for (const server of this.service.pool.servers) {
      if (server.state === 'enabled') this.#unavailableSince.delete(server);
      else if (!this.#unavailableSince.has(server)) this.#unavailableSince.set(server, now);
    }
  }

  #cutDue(server: RealServer, now: number, drainCut: number): boolean {
    const since = this.#unavailableSince.get(server);
    return since !== undefined && now - since >= drainCut;
  }
}

function tcpConfig(service: VirtualService): TcpServiceConfig {
  const config = service.config;
  if (config.protocol !== 'tcp') throw new Error(`TcpListener given a ${config.protocol} virtual service`);
  return config;
}
