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
import type { UdpServiceConfig } from '../config/schema.ts';
import type { VirtualService } from '../frontend/virtual-service.ts';
import { normaliseAddress } from '../ip/client-address.ts';
import { PersistSlot } from '../persistence/persistence.ts';
import { FULL, type PickRequest } from '../pool/types.ts';
import type { RealServer } from '../pool/real-server.ts';
import type { ListenerEnv, ServiceListener } from '../worker/service-listener.ts';
import { UdpCounters } from './udp-counters.ts';
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

  constructor(service: VirtualService, env: ListenerEnv) {
    this.#service = service;
    this.#settings = udpSettings(service);
    this.#env = env;
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
        this.#end(session, 'unavailable');
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
    while (this.#sessions.oldest !== null) this.#end(this.#sessions.oldest, 'destroyed');
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
      this.#end(oldest, 'expired');
    }
    this.#moveOffUnusable(now);
  }

  // ---- the data path ------------------------------------------------------------------------

  readonly #onClientDatagram = (msg: Buffer, rinfo: RemoteInfo): void => {
    const counters = this.counters;
    counters.datagramsIn++;
    this.#env.ctx.noteRead(msg.length);
    let session = this.#sessions.get(rinfo.address, rinfo.port);
    if (session === null) {
      session = this.#open(rinfo.address, rinfo.port);
      if (session === null) {
        counters.dropped++;
        return;
      }
    } else {
      session.lastSeen = this.#now;
      this.#sessions.touch(session);
    }
    const pending = session.pending;
    if (pending !== null) {
      if (pending.length < MAX_PENDING) pending.push(msg);
      else counters.dropped++;
      return;
    }
    try {
      session.socket.send(msg, session.afterSend);
    } catch {
      counters.errors++;
    }
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
    } catch {
      this.counters.errors++;
    }
  }

  /** A session for a new client, or null when none can be made (draining, no server, no socket). */
  #open(address: string, port: number): UdpSession | null {
    if (!this.#accepting) return null;
    const gate = this.#service.gate;
    const client = normaliseAddress(address);
    if (gate !== null) {
      // A datagram cannot wait for the authority: it is dropped, and the client's next one finds
      // the answer (a lease) in this worker. A slot granted meanwhile goes back unused.
      const decided = gate.admit(client, (refusal) => {
        if (refusal === null && gate.countsConnections) gate.release(client);
      });
      if (decided !== null) {
        this.counters.refused++;
        return null;
      }
    }
    const server = this.#pick(address);
    if (server === null) {
      if (gate !== null && gate.countsConnections) gate.release(client);
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
      } catch {
        this.counters.errors++;
        socket.close();
        return null;
      }
      session.pending = null;
    } else {
      socket.once('connect', () => this.#onConnected(session));
      socket.connect(server.port, server.host);
    }
    this.#service.pool.take(server);
    this.counters.sessionsCreated++;
    this.#sessions.add(session);
    return session;
  }

  /** The pool's pick path; a pool whose servers are all at their maxConnections drops the datagram (nothing to queue). */
  #pick(address: string): RealServer | null {
    const pool = this.#service.pool;
    const request = this.#pickRequest;
    request.clientAddress = normaliseAddress(address);
    if (pool.persistence === null) {
      request.clientKeys = null;
      request.keys = null;
    } else {
      const slot = new PersistSlot(request.clientAddress);
      pool.persistence.readConnection(slot);
      request.clientKeys = slot;
      request.keys = slot;
    }
    const server = pool.pick(request, this.#now);
    return server === FULL ? null : server;
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
    if (SERVER_UNREACHABLE.has(code)) {
      this.#service.pool.noteFailure(session.server, code === 'ECONNREFUSED' ? 'port unreachable (ICMP)' : `${code} (ICMP)`);
    }
    this.#end(session, 'failed');
  }

  readonly #onSocketError = (): void => {
    this.counters.errors++;
  };

  /** A reply that could not be sent to its client is lost, as UDP allows; it is counted. */
  readonly #afterReply = (err: Error | null): void => {
    if (err !== null) this.counters.errors++;
  };

  // ---- ending sessions ----------------------------------------------------------------------

  #end(session: UdpSession, why: UdpSessionEnd): void {
    session.closed = true;
    session.pending = null;
    this.#sessions.remove(session);
    this.#service.pool.release(session.server);
    const gate = this.#service.gate;
    if (gate !== null && gate.countsConnections) gate.release(normaliseAddress(session.address));
    session.socket.close();
    const counters = this.counters;
    if (why === 'expired') counters.sessionsExpired++;
    else if (why === 'evicted') counters.sessionsEvicted++;
    else if (why === 'unavailable') counters.sessionsMoved++;
    else if (why === 'failed') counters.sessionsFailed++;
    this.#closeIfIdle();
  }

  #evictOver(max: number): void {
    while (this.#sessions.size > max && this.#sessions.oldest !== null) this.#end(this.#sessions.oldest, 'evicted');
  }

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
      if (server.inflight > 0 && this.#mustLeave(server, now)) walk = true;
    }
    if (!walk) return;
    for (let session = this.#sessions.oldest, next: UdpSession | null; session !== null; session = next) {
      next = session.newer;
      if (this.#mustLeave(session.server, now)) this.#end(session, 'unavailable');
    }
  }

  #mustLeave(server: RealServer, now: number): boolean {
    if (!server.up || server.state === 'disabled' || server.ejectedUntil !== 0) return true;
    const drainTimeout = this.#service.pool.config.drainTimeout;
    if (server.state !== 'drain' || drainTimeout === 0) return false;
    const since = this.#drainingSince.get(server.id);
    return since !== undefined && now - since >= drainTimeout;
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
