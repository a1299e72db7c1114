/**
 * The listening socket of a TCP virtual service and the connections it accepted: the connection
 * limits with their ordered queue (HAProxy's maxconn queue), per-server limits, idle and connect
 * deadlines from the worker's tick, and draining that never cuts an established connection
 * unless timeouts.drainCut asks for it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TcpServiceConfig } from '../config/schema.ts';
import type { VirtualService } from '../l7/virtual-service.ts';
import { acceptProxyHeader } from '../proxy-protocol/accept.ts';
import type { RealServer } from '../upstream/real-server.ts';
import type { ListenerEnv, ServiceListener } from '../worker/service-listener.ts';
import { RDP_PEEK_LIMIT, parseRdpConnectionRequest, redirectTarget } from './rdp-cookie.ts';
import { TcpConnection, type TcpConnectionHost } from './tcp-connection.ts';
import { WaitQueue } from './wait-queue.ts';
import { listenShared } from '../worker/listen-shared.ts';

/** How long a client has to send its PROXY header, or its RDP Connection Request. */
const HANDSHAKE_MS = 3000;

export class TcpListener implements ServiceListener, TcpConnectionHost {
  service: VirtualService;
  config: TcpServiceConfig;
  readonly server: Server;
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
    this.server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (socket) => this.#accept(socket));
  }

  listen(): Promise<void> {
    const { host, port } = this.config.listen;
    return listenShared(this.server, host, port);
  }

  update(service: VirtualService): void {
    this.service = service;
    this.config = tcpConfig(service);
    this.#admitQueued(Date.now());
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      // net.Server waits for every connection before its callback; ours only stops accepting.
      setImmediate(resolve);
    });
  }

  drain(): void {
    this.#draining = true;
    for (const conn of this.connections) if (conn.phase === 'queued' || conn.phase === 'handshake') conn.reject('shutting down');
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
    const persistence = this.service.persistence;
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
    if (parsed.kind === 'request' && parsed.routingToken !== null) conn.redirect = redirectTarget(parsed.routingToken, this.service.servers);
    this.#admit(conn);
  }

  // ---- limits and the queue -----------------------------------------------------------------

  #admit(conn: TcpConnection): void {
    if (conn.phase === 'closed') return;
    this.service.persistence?.readConnection(conn.slot);
    const now = Date.now();
    if (this.#active < this.config.limits.maxConnections && this.#queued === 0 && this.#tryStart(conn, now)) return;
    this.#enqueue(conn, now);
  }

  #tryStart(conn: TcpConnection, now: number): boolean {
    conn.holdsSlot = true;
    this.#active++;
    if (conn.start(now)) return true;
    conn.holdsSlot = false;
    this.#active--;
    return false;
  }

  #enqueue(conn: TcpConnection, now: number): void {
    const queue = this.config.limits.queue;
    if (this.#queued >= queue.size) {
      conn.reject(queue.size === 0 ? 'over the connection limit (queue size 0)' : `over the connection limit and the queue is full (${queue.size})`);
      return;
    }
    conn.phase = 'queued';
    conn.deadline = now + queue.timeout;
    conn.inQueue = true;
    this.#queued++;
    this.#queue.push(conn);
  }

  #leaveQueue(conn: TcpConnection): void {
    if (!conn.inQueue) return;
    conn.inQueue = false;
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
      const conn = queue.peek()!;
      if (conn.inQueue) {
        this.#leaveQueue(conn);
        if (!this.#tryStart(conn, now)) {
          // Every server is full: it keeps its place at the head.
          conn.inQueue = true;
          this.#queued++;
          conn.phase = 'queued';
          return;
        }
      }
      queue.shift();
    }
  }

  pickFor(conn: TcpConnection, exclude: readonly RealServer[] | null): RealServer | 'full' | null {
    const service = this.service;
    const redirect = conn.redirect;
    if (redirect !== null && (exclude === null || !exclude.includes(redirect))) return redirect;
    const persistence = service.persistence;
    let skip = exclude;
    let full = false;
    for (let i = 0; i <= service.servers.length; i++) {
      const ctx = { clientAddress: conn.clientIp, exclude: skip };
      const server = persistence === null ? service.pick(ctx) : persistence.pick(conn.slot, ctx);
      if (server === null) return full ? 'full' : null;
      const limit = server.index < 0 ? undefined : this.config.realServers[server.index]?.maxConnections;
      if (limit === undefined || server.inflight < limit) return server;
      full = true;
      skip = skip === null ? [server] : [...skip, server];
    }
    return 'full';
  }

  released(conn: TcpConnection): void {
    this.#leaveQueue(conn);
    if (!conn.holdsSlot) return;
    conn.holdsSlot = false;
    this.#active--;
    this.#admitQueued(Date.now());
  }

  closed(conn: TcpConnection, error: string): void {
    this.connections.delete(conn);
    const sink = this.#env.ctx.accessLog;
    if (sink === null) return;
    sink.log({
      client: conn.clientIp,
      virtualService: this.service.name,
      server: conn.server?.id ?? '',
      method: 'TCP',
      path: '',
      status: 0,
      bytesIn: conn.relay?.bytesIn ?? 0,
      bytesOut: conn.relay?.bytesOut ?? 0,
      durationMs: performance.now() - conn.startedAt,
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
          if (conn.deadline <= now && conn.inQueue) conn.reject(`waited ${this.config.limits.queue.timeout} ms in the queue`);
          break;
        case 'handshake':
          // Only rdp-cookie peeks are timed here; acceptProxyHeader has its own timeout.
          if (conn.deadline <= now) conn.onHandshakeTimeout?.();
          break;
      }
    }
    this.#admitQueued(now);
    this.service.tick(now);
  }

  #noteUnavailable(now: number): void {
    for (const server of this.service.servers) {
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
