/**
 * A UDP virtual service: datagrams grouped into sessions, one per client address and port, each
 * with a socket of its own connected to the real server it was given. The kernel then hands each
 * session exactly its server's replies (and its ICMP errors), which go back to the client from
 * the listening socket, so that they come from the virtual service's address and port.
 *
 * Life of a session: created by a client's first datagram (persistence first, else the
 * scheduler); renewed by every datagram either way; ended by udp.sessionTimeout of silence, by
 * udp.maxSessions (least recently used first), by its server going down, being disabled,
 * leaving the config or draining past drainTimeout (all seen at the worker's tick), or by an
 * error on its socket (ICMP port unreachable: the server is told through noteFailure). The
 * client's next datagram then picks again. A draining server keeps its sessions (until
 * drainTimeout, when one is set). While the listener drains, clients without a session are
 * dropped, and the listening socket stays open for the replies of the sessions left.
 *
 * Time is the worker's tick clock (100 ms resolution), not Date.now() per datagram.
 *
 * The access log gets one line per session when it ends (datagrams and bytes each way, counted
 * in the session as plain fields, and how it ended), and lines for datagrams that could not open
 * one (refused, no server), bounded per client and per second by udp-refusals.ts.
 *
 * A session's socket takes only what comes from its server's address and port, as connected
 * sockets do: a server that answers from another address is not heard. A server given by host
 * name is resolved (as IPv4) when a session starts. ICMP errors are best effort: the kernel
 * rate-limits them (net.ipv4.icmp_msgs_per_sec), so health checks remain what takes a dead server
 * out; noteFailure only feeds the failure streak.
 *
 * Wildcard listen addresses (0.0.0.0, ::): Node has no IP_PKTINFO, so a reply leaves from the
 * address the route to the client chooses, which is the address the client sent to only when the
 * host has one address on that route. A host with several addresses (VIPs) must give each UDP
 * virtual service its specific address; the listener does not try to guess.
 *
 * Limits that come from the design (a socket per session): each session holds a file descriptor
 * and an ephemeral port, so udp.maxSessions times the workers must fit under `ulimit -n` and
 * net.ipv4.ip_local_port_range; a session that cannot get a socket drops its datagram.
 */
import { createSocket, type RemoteInfo, type Socket, type SocketType } from 'node:dgram';
import { isIP, isIPv6, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { UdpServiceConfig } from '../config/schema.ts';
import { Termination } from '../exchange/termination.ts';
import type { VirtualService } from '../frontend/virtual-service.ts';
import { normaliseAddress } from '../ip/client-address.ts';
import { PersistSlot } from '../persistence/persistence.ts';
import { FULL, type PickRequest } from '../pool/types.ts';
import type { RealServer } from '../pool/real-server.ts';
import type { ListenerEnv, ServiceListener } from '../worker/service-listener.ts';
import { UdpCounters } from './udp-counters.ts';
import { REFUSAL_INTERVAL_MS, UdpRefusalLog, type RefusalLineWriter } from './udp-refusals.ts';
import { UdpSessionTable } from './udp-session-table.ts';
import { UdpSession, type UdpSessionEnd } from './udp-session.ts';

/**
 * Client datagrams a session holds while its socket connects (only for a real server given by
 * host name, which must be resolved first): a burst at the start of a session, not a buffer.
 */
const MAX_PENDING = 64;

/** Socket errors that are the real server's (ICMP unreachable on a connected socket), not ours. */
const SERVER_UNREACHABLE: ReadonlySet<string> = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN']);

/** How long sessions of a draining listener still relay replies (see drain()). */
const DRAIN_LINGER_MS = 1000;

export class UdpListener implements ServiceListener {
  readonly counters = new UdpCounters();
  #service: VirtualService;
  #settings: UdpServiceConfig['udp'];
  readonly #env: ListenerEnv;
  readonly #socket: Socket;
  readonly #sessions = new UdpSessionTable();
  readonly #pickRequest: PickRequest = { clientAddress: '', exclude: null, clientKeys: null, keys: null };
  /** When drain() was called (the listener's clock); 0 while it serves. */
  #drainedAt = 0;
  /** When each draining server (by id) started draining, as this listener saw it (drainTimeout). */
  readonly #drainingSince = new Map<string, number>();
  /** The tick clock: the `now` of the last tick. */
  #now = Date.now();
  #accepting = true;
  #socketClosing = false;
  readonly #closed: Promise<void>;
  readonly #refusals: UdpRefusalLog;

  constructor(service: VirtualService, env: ListenerEnv) {
    this.#service = service;
    this.#settings = udpSettings(service);
    this.#env = env;
    this.#refusals = new UdpRefusalLog(this.#writeRefusal, this.#reportUnlogged, this.#now);
    const type: SocketType = isIPv6(service.config.listen.host) ? 'udp6' : 'udp4';
    this.#socket = createSocket({ type, reuseAddr: false, reusePort: true });
    this.#socket.on('message', this.#onClientDatagram);
    this.#socket.on('error', this.#onSocketError);
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#closed = promise;
    this.#socket.once('close', () => resolve());
  }

  get service(): VirtualService {
    return this.#service;
  }

  /** The bound address, once listening. */
  get address(): AddressInfo {
    return this.#socket.address();
  }

  /** Sessions open now. */
  get connectionCount(): number {
    return this.#sessions.size;
  }

  /** SO_REUSEPORT: every worker binds the same address and the kernel spreads clients (by address and port) over them. */
  listen(): Promise<void> {
    const { host, port } = this.#service.config.listen;
    const socket = this.#socket;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        // A failed bind may still hold a descriptor.
        this.#accepting = false;
        this.#closeSocket();
        reject(err);
      };
      socket.once('error', onError);
      socket.bind({ port, address: host }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
  }

  /**
   * A reload: new sessions use the new service. A session keeps its real server when the new
   * service has one of the same id (taking the new service's object, which carries the new
   * state and health), and ends otherwise.
   */
  update(service: VirtualService): void {
    const byId = new Map<string, RealServer>();
    for (const server of service.pool.servers) byId.set(server.id, server);
    this.#service = service;
    this.#settings = udpSettings(service);
    for (let session = this.#sessions.oldest, next: UdpSession | null; session !== null; session = next) {
      next = session.newer;
      const server = byId.get(session.server.id);
      if (server === undefined) {
        this.#end(session, 'unavailable', Termination.CUT, `real server ${session.server.id} left the config`);
      } else if (server !== session.server) {
        session.server.inflight--;
        server.inflight++;
        session.server = server;
      }
    }
    this.#evictOver(this.#settings.maxSessions);
  }

  /**
   * Take no new client. The listening socket stays open while sessions remain, since their
   * replies leave from it; it closes with the last one (or destroyAll), and then this resolves.
   */
  close(): Promise<void> {
    this.#accepting = false;
    this.#closeIfIdle();
    return this.#closed;
  }

  /**
   * Take no new client. Sessions get DRAIN_LINGER_MS for the replies in flight, then end: a
   * datagram stream has no request to finish, and waiting for sessionTimeout would hold a
   * shutdown (or a retired listener) for as long as a chatty syslog client keeps sending.
   */
  drain(): void {
    this.#accepting = false;
    if (this.#drainedAt === 0) this.#drainedAt = this.#now;
    this.#closeIfIdle();
  }

  destroyAll(): void {
    this.#accepting = false;
    const why = this.#drainedAt !== 0 ? `the listener drained (sessions end ${DRAIN_LINGER_MS} ms after)` : 'the listener shut down';
    while (this.#sessions.oldest !== null) this.#end(this.#sessions.oldest, 'destroyed', Termination.CUT, why);
    this.#closeSocket();
  }

  tick(now: number): void {
    this.#now = now;
    if (this.#drainedAt !== 0 && now - this.#drainedAt >= DRAIN_LINGER_MS) {
      this.destroyAll();
      return;
    }
    const deadline = now - this.#settings.sessionTimeout;
    for (let oldest = this.#sessions.oldest; oldest !== null && oldest.lastSeen <= deadline; oldest = this.#sessions.oldest) {
      this.#end(oldest, 'expired', Termination.SESSION_TIMEOUT, '');
    }
    this.#moveOffUnusable(now);
    this.#refusals.tick(now);
  }

  /** Refused datagrams not access-logged so far (past udp-refusals.ts's bounds). */
  get unloggedRefusals(): number {
    return this.#refusals.unloggedTotal;
  }

  // ---- the data path ------------------------------------------------------------------------

  readonly #onClientDatagram = (msg: Buffer, rinfo: RemoteInfo): void => {
    const counters = this.counters;
    counters.datagramsIn++;
    this.#env.ctx.noteRead(msg.length);
    let session = this.#sessions.get(rinfo.address, rinfo.port);
    if (session === null) {
      session = this.#open(rinfo.address, rinfo.port, msg.length);
      if (session === null) {
        counters.dropped++;
        return;
      }
    } else {
      session.lastSeen = this.#now;
      this.#sessions.touch(session);
    }
    const pending = session.pending;
    if (pending === null) {
      try {
        session.socket.send(msg, session.afterSend);
      } catch {
        counters.errors++;
      }
    } else if (pending.length < MAX_PENDING) {
      pending.push(msg);
    } else {
      counters.dropped++;
      return;
    }
    session.datagramsIn++;
    session.bytesIn += msg.length;
  };

  #onReply(session: UdpSession, msg: Buffer): void {
    if (session.closed) return;
    this.#env.ctx.noteRead(msg.length);
    session.lastSeen = this.#now;
    this.#sessions.touch(session);
    if (!session.replied) {
      session.replied = true;
      this.#service.pool.noteSuccess(session.server);
    }
    try {
      this.#socket.send(msg, session.port, session.address, this.#afterReply);
      this.counters.datagramsOut++;
      session.datagramsOut++;
      session.bytesOut += msg.length;
    } catch {
      this.counters.errors++;
    }
  }

  /**
   * A session for a new client whose datagram has `bytes`, or null when none can be made
   * (draining, refused, no server, no socket): the datagram is dropped, and a refusal logged.
   */
  #open(address: string, port: number, bytes: number): UdpSession | null {
    if (!this.#accepting) return null;
    const gate = this.#service.gate;
    const client = normaliseAddress(address);
    if (gate !== null) {
      // A datagram cannot wait for the authority: it is dropped, and the client's next one finds
      // the answer (a lease) in this worker. A slot granted meanwhile goes back unused.
      const decided = gate.admit(client, (refusal) => {
        if (refusal === null) {
          if (gate.countsConnections) gate.release(client);
        } else {
          this.counters.refused++;
          this.#refusals.refused(client, refusal.termination, refusal.detail, bytes, this.#now);
        }
      });
      if (decided === 'pending') return null;
      if (decided !== null) {
        this.counters.refused++;
        this.#refusals.refused(client, decided.termination, decided.detail, bytes, this.#now);
        return null;
      }
    }
    const server = this.#pick(client);
    if (server === null || server === FULL) {
      this.#giveBackSlot(client);
      if (server === null) this.#refusals.refused(client, Termination.NO_SERVER, 'no real server available', bytes, this.#now);
      else this.#refusals.refused(client, Termination.QUEUE_FULL, 'every real server is at its maxConnections', bytes, this.#now);
      return null;
    }
    if (this.#sessions.size >= this.#settings.maxSessions) this.#evictOver(this.#settings.maxSessions - 1);
    const socket = createSocket(isIPv6(server.host) ? 'udp6' : 'udp4');
    const session = new UdpSession(address, port, server, socket, this.#now);
    socket.on('error', (err: Error) => this.#onSessionError(session, err));
    session.afterSend = (err) => {
      if (err !== null) this.#onSessionError(session, err);
    };
    socket.on('message', (msg: Buffer) => this.#onReply(session, msg));
    if (isIP(server.host) !== 0) {
      try {
        // Bound and connected before the first send: no queue, and no connect event to wait for.
        socket.connectSync(server.port, server.host);
      } catch (err) {
        this.counters.errors++;
        socket.close();
        this.#giveBackSlot(client);
        this.#refusals.refused(client, Termination.UPSTREAM_CONNECT_ERROR, `${server.id}: no socket (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, bytes, this.#now);
        return null;
      }
      session.pending = null;
    } else {
      socket.once('connect', () => this.#onConnected(session));
      socket.connect(server.port, server.host);
    }
    this.#service.pool.take(server);
    this.counters.sessionsCreated++;
    this.#service.meter.accepted();
    this.#sessions.add(session);
    return session;
  }

  /** An admitted client that got no session gives back its open-session slot. */
  #giveBackSlot(client: string): void {
    const gate = this.#service.gate;
    if (gate !== null && gate.countsConnections) gate.release(client);
  }

  /** The pool's pick path (`client` normalised); FULL: every server is at its maxConnections, and the datagram is dropped (nothing to queue). */
  #pick(client: string): RealServer | typeof FULL | null {
    const pool = this.#service.pool;
    const request = this.#pickRequest;
    request.clientAddress = client;
    if (pool.persistence === null) {
      request.clientKeys = null;
      request.keys = null;
    } else {
      const slot = new PersistSlot(request.clientAddress);
      pool.persistence.readConnection(slot);
      request.clientKeys = slot;
      request.keys = slot;
    }
    return pool.pick(request, this.#now);
  }

  /** A real server given by name is resolved and connected: send what the client sent meanwhile. */
  #onConnected(session: UdpSession): void {
    const pending = session.pending;
    session.pending = null;
    if (session.closed || pending === null) return;
    try {
      for (const msg of pending) session.socket.send(msg, session.afterSend);
    } catch {
      this.counters.errors++;
    }
  }

  #onSessionError(session: UdpSession, err: Error): void {
    this.counters.errors++;
    if (session.closed) return;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const server = session.server;
    if (SERVER_UNREACHABLE.has(code)) {
      const reason = code === 'ECONNREFUSED' ? 'port unreachable (ICMP)' : `${code} (ICMP)`;
      this.#service.pool.noteFailure(server, reason);
      this.#end(session, 'failed', code === 'ECONNREFUSED' ? Termination.UPSTREAM_CONNECT_REFUSED : Termination.UPSTREAM_CONNECT_ERROR, `${server.id}: ${reason}`);
    } else {
      this.#end(session, 'failed', Termination.UPSTREAM_CONNECT_ERROR, `${server.id}: ${code === '' ? err.message : code}`);
    }
  }

  readonly #onSocketError = (): void => {
    this.counters.errors++;
  };

  /** A reply that could not be sent to its client is lost, as UDP allows; it is counted. */
  readonly #afterReply = (err: Error | null): void => {
    if (err !== null) this.counters.errors++;
  };

  // ---- ending sessions ----------------------------------------------------------------------

  #end(session: UdpSession, why: UdpSessionEnd, termination: Termination, error: string): void {
    session.closed = true;
    session.pending = null;
    this.#sessions.remove(session);
    this.#service.pool.release(session.server);
    this.#giveBackSlot(session.clientIp);
    session.socket.close();
    const counters = this.counters;
    if (why === 'expired') counters.sessionsExpired++;
    else if (why === 'evicted') counters.sessionsEvicted++;
    else if (why === 'unavailable') counters.sessionsMoved++;
    else if (why === 'failed') counters.sessionsFailed++;
    this.#service.meter.connection(termination, session.bytesIn, session.bytesOut, this.#service.pool.name, session.server);
    this.#env.ctx.accessLog?.logConnection({
      protocol: 'udp',
      client: session.clientIp,
      virtualService: this.#service.name,
      pool: this.#service.pool.name,
      server: session.server.id,
      bytesIn: session.bytesIn,
      bytesOut: session.bytesOut,
      durationMs: performance.now() - session.startedAt,
      termination,
      error,
      datagramsIn: session.datagramsIn,
      datagramsOut: session.datagramsOut,
    });
    this.#closeIfIdle();
  }

  #evictOver(max: number): void {
    while (this.#sessions.size > max && this.#sessions.oldest !== null) {
      this.#end(this.#sessions.oldest, 'evicted', Termination.SESSION_EVICTED, `udp.maxSessions (${this.#settings.maxSessions}) reached in this worker`);
    }
  }

  /** A line for datagrams that opened no session (udp-refusals.ts decides when). */
  readonly #writeRefusal: RefusalLineWriter = (entry, datagrams, bytes, durationMs) => {
    this.#service.meter.refusedDatagrams(entry.termination, datagrams, bytes);
    this.#env.ctx.accessLog?.logConnection({
      protocol: 'udp',
      client: entry.client,
      virtualService: this.#service.name,
      pool: this.#service.pool.name,
      server: '',
      bytesIn: bytes,
      bytesOut: 0,
      durationMs,
      termination: entry.termination,
      error: entry.detail,
      datagramsIn: datagrams,
      datagramsOut: 0,
    });
  };

  readonly #reportUnlogged = (refusals: number): void => {
    const vs = this.#service.name;
    this.#env.events(
      'warn',
      `udp "${vs}": ${refusals} datagrams refused in the last ${REFUSAL_INTERVAL_MS / 1000} s had no access-log line (too many new client addresses refused at once: a flood, perhaps with forged addresses)`,
      { virtualService: vs, event: 'udp-refusals-unlogged', refusals },
    );
  };

  /**
   * End the sessions of servers that may serve them no more: down, disabled, ejected, or draining
   * for longer than drainTimeout (0: a draining server keeps its sessions until they expire).
   * Walks the sessions only when such a server still has some.
   */
  #moveOffUnusable(now: number): void {
    const draining = this.#drainingSince;
    let walk = false;
    for (const server of this.#service.pool.servers) {
      if (server.state === 'drain') {
        if (!draining.has(server.id)) draining.set(server.id, now);
      } else if (draining.size > 0) {
        draining.delete(server.id);
      }
      if (server.inflight > 0 && this.#leaveReason(server, now) !== null) walk = true;
    }
    if (!walk) return;
    for (let session = this.#sessions.oldest, next: UdpSession | null; session !== null; session = next) {
      next = session.newer;
      const reason = this.#leaveReason(session.server, now);
      if (reason !== null) this.#end(session, 'unavailable', Termination.CUT, `real server ${session.server.id} ${reason}`);
    }
  }

  /** Why a server's sessions must end now, for the access log; null: they may stay. */
  #leaveReason(server: RealServer, now: number): string | null {
    if (!server.up) return 'is down';
    if (server.state === 'disabled') return 'was disabled';
    if (server.ejectedUntil !== 0) return 'was ejected (outlierDetection)';
    const drainTimeout = this.#service.pool.config.drainTimeout;
    if (server.state !== 'drain' || drainTimeout === 0) return null;
    const since = this.#drainingSince.get(server.id);
    return since !== undefined && now - since >= drainTimeout ? 'drained past drainTimeout' : null;
  }

  #closeIfIdle(): void {
    if (!this.#accepting && this.#sessions.size === 0) this.#closeSocket();
  }

  #closeSocket(): void {
    if (this.#socketClosing) return;
    this.#socketClosing = true;
    this.#socket.close();
  }
}

function udpSettings(service: VirtualService): UdpServiceConfig['udp'] {
  const config = service.config;
  if (config.protocol !== 'udp') throw new Error(`virtual service "${config.name}" is ${config.protocol}, not udp`);
  return config.udp;
}
