/**
 * The FTP virtual service (`protocol: ftp`) in one worker: accepts control connections, admits
 * them within the limits (or queues them, FIFO, or refuses them with 421), gives each a real
 * server (persistence first, then the scheduler; another on connect failure, up to `retries`) and
 * runs its session (session.ts) in the configured mode:
 * - alg: the control connection is read and its passive and active addresses rewritten
 *   (alg-control.ts); passive ports come from this worker's share of ftp.passivePorts.
 * - port-following: the control connection is relayed untouched (FTPS); Fulcrum listens on the
 *   whole passive range and forwards each data connection to the real server of its client.
 * Every deadline (connect, queue, passive accept, idle, drainCut) is checked on the worker's tick.
 * Each control session, refused ones included, ends with one access-log line (its data
 * connections' bytes in it), as a TCP connection does.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { PortRange } from '../config/l4-services.ts';
import type { FtpServiceConfig } from '../config/schema.ts';
import { Termination } from '../exchange/termination.ts';
import type { ReadMeter } from '../l4/relay.ts';
import type { VirtualService } from '../frontend/virtual-service.ts';
import { FULL } from '../pool/types.ts';
import { PersistSlot } from '../persistence/persistence.ts';
import type { RealServer } from '../pool/real-server.ts';
import type { ListenerEnv, ServiceListener } from '../worker/service-listener.ts';
import { DataLink } from './data-link.ts';
import { PassivePortShare } from './passive-ports.ts';
import { DataPortForwarder } from './port-following.ts';
import { REPLY_NO_SERVER, REPLY_SHUTTING_DOWN, REPLY_TOO_MANY } from './replies.ts';
import { FtpSession, type SessionHost } from './session.ts';
import { normaliseAddress } from '../ip/client-address.ts';
import { WaitQueue } from '../pool/wait-queue.ts';
import { listenShared } from '../worker/listen-shared.ts';

/** The ftp settings of a service that must be an FTP one (the runtime builds FtpListener only for those). */
export function ftpConfig(service: VirtualService): FtpServiceConfig {
  const config = service.config;
  if (config.protocol !== 'ftp') throw new Error(`virtual service "${service.name}" is ${config.protocol}, not ftp`);
  return config;
}

export class FtpListener implements ServiceListener, SessionHost {
  service: VirtualService;
  readonly env: ListenerEnv;
  readonly meter: ReadMeter;
  readonly #server: Server;
  readonly #sessions = new Set<FtpSession>();
  readonly #queue = new WaitQueue<FtpSession>();
  /** port-following: the open control sessions of each client address, the most recent last. */
  readonly #byClient = new Map<string, FtpSession[]>();
  /** port-following: data connections of clients whose session another worker holds. */
  readonly #strays = new Set<DataLink>();
  /** When each real server stopped taking new clients (drain, disabled), for timeouts.drainCut. */
  readonly #stoppedSince = new Map<RealServer, number>();
  #share: PassivePortShare | null = null;
  #forwarder: DataPortForwarder | null = null;
  /** Sessions holding a connection slot (connecting or open). */
  #active = 0;
  #accepting = true;
  #listening = false;
  /** The latest passive-port configuration (a reload binds port-following's new range in the background). */
  #portsReady: Promise<void> = Promise.resolve();
  #servingQueue = false;

  constructor(service: VirtualService, env: ListenerEnv) {
    this.service = service;
    this.env = env;
    this.meter = (bytes) => env.ctx.noteRead(bytes);
    ftpConfig(service);
    this.#server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, this.#onConnection);
    this.#server.on('error', (err) => this.#note('warn', `listen socket error: ${err.message}`, 'listen-error'));
  }

  get passivePorts(): PassivePortShare | null {
    return this.#share;
  }

  /** Client connections open now (control connections, queued ones included, and data connections without one). */
  get connectionCount(): number {
    return this.#sessions.size + this.#strays.size;
  }

  /** The bound control port (useful when the config says port 0). */
  get port(): number {
    return (this.#server.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Bind the control address (SO_REUSEPORT, as every worker does) and, in port-following mode, the passive range. */
  async listen(): Promise<void> {
    const config = ftpConfig(this.service);
    const { host, port } = config.listen;
    await listenShared(this.#server, host, port);
    this.#listening = true;
    try {
      await this.#configurePorts(config);
    } catch (err) {
      this.#server.close();
      this.#listening = false;
      throw err;
    }
  }

  update(service: VirtualService): void {
    const config = ftpConfig(service);
    this.service = service;
    this.#portsReady = this.#configurePorts(config).catch((err: Error) =>
      this.#note('warn', `the new ftp.passivePorts could not be bound, the old ones stay: ${err.message}`, 'ftp-passive-bind-failed'),
    );
  }

  /** Resolves when the passive ports of the latest config are bound (or their binding failed and was logged). */
  portsReady(): Promise<void> {
    return this.#portsReady;
  }

  /**
   * Stop accepting control connections. Resolves once the listening socket is closed (its port is
   * free at once). port-following keeps its data ports until its sessions have ended (see tick).
   */
  close(): Promise<void> {
    this.#accepting = false;
    if (this.#listening) {
      this.#listening = false;
      this.#server.close();
    }
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** Take nothing new; queued clients are told to come back; open sessions go on until they end (or drainCut). */
  drain(): void {
    void this.close();
    for (const session of this.#queue.clear()) session.refuse(REPLY_SHUTTING_DOWN, Termination.CUT, 'shutting down');
  }

  destroyAll(): void {
    void this.close();
    this.#queue.clear();
    for (const session of this.#sessions) session.destroy(Termination.CUT, 'the listener shut down');
    for (const link of this.#strays) link.destroy();
    this.#forwarder?.close();
    this.#forwarder = null;
  }

  tick(now: number): void {
    const config = ftpConfig(this.service);
    this.#serveQueue(now);
    const cut = config.timeouts.drainCut;
    if (cut > 0) this.#noteStopped(now);
    for (const session of this.#sessions) {
      session.tick(now);
      if (cut > 0 && session.state === 'open' && session.server !== null) {
        const since = this.#stoppedSince.get(session.server);
        if (since !== undefined && now - since >= cut) {
          const why = `real server ${session.server.id} stopped taking clients ${now - since} ms ago (timeouts.drainCut)`;
          session.note('info', `cut: ${why}`, 'drain-cut');
          session.destroy(Termination.CUT, why);
        }
      }
    }
    for (const link of this.#strays) link.tick(now, config.timeouts.idle);
    // A closed listener keeps port-following's data ports only while its sessions may use them.
    if (!this.#accepting && this.#forwarder !== null && this.#byClient.size === 0 && this.#strays.size === 0) {
      this.#forwarder.close();
      this.#forwarder = null;
    }
  }

  // ---- SessionHost --------------------------------------------------------------------------

  pickServer(session: FtpSession): RealServer | typeof FULL | null {
    const pool = this.service.pool;
    const slot = session.slot;
    if (pool.persistence !== null && slot !== null) pool.persistence.readConnection(slot);
    return pool.pick(session, Date.now());
  }

  opened(session: FtpSession): void {
    if (session.config.ftp.mode !== 'port-following') return;
    const list = this.#byClient.get(session.clientIp);
    if (list === undefined) this.#byClient.set(session.clientIp, [session]);
    else list.push(session);
  }

  released(session: FtpSession): void {
    this.#active--;
    const list = this.#byClient.get(session.clientIp);
    if (list !== undefined) {
      const at = list.indexOf(session);
      if (at !== -1) list.splice(at, 1);
      if (list.length === 0) this.#byClient.delete(session.clientIp);
    }
    this.#serveQueue(Date.now());
  }

  finished(session: FtpSession): void {
    this.#sessions.delete(session);
    this.#log(session.clientIp, session.server?.id ?? '', session.termination ?? Termination.OK, session.error, session, performance.now() - session.startedAt);
  }

  /** One access-log line: a session that ended, or (session null) a connection refused before it had one. */
  #log(client: string, server: string, termination: Termination, error: string, session: FtpSession | null, durationMs: number): void {
    this.service.meter.connection(termination, session?.bytesIn ?? 0, session?.bytesOut ?? 0, session?.pool.name ?? this.service.pool.name, session?.server ?? null);
    this.env.ctx.accessLog?.logConnection({
      protocol: 'ftp',
      client,
      virtualService: this.service.name,
      pool: session?.pool.name ?? this.service.pool.name,
      server,
      bytesIn: session?.bytesIn ?? 0,
      bytesOut: session?.bytesOut ?? 0,
      durationMs,
      termination,
      error,
      dataConnections: session?.dataConnectionsOpened ?? 0,
    });
  }

  // ---- admission ----------------------------------------------------------------------------

  readonly #onConnection = (socket: Socket): void => {
    if (!this.#accepting) {
      socket.destroy();
      return;
    }
    this.service.meter.accepted();
    const gate = this.service.gate;
    if (gate === null) return this.#open(socket);
    // The access list and the connection limits first: a refused client is closed at once.
    const client = normaliseAddress(socket.remoteAddress ?? '');
    const admitted = (): void => {
      if (gate.countsConnections) socket.once('close', () => gate.release(client));
      this.#open(socket);
    };
    const decided = gate.admit(client, (refusal) => {
      if (socket.destroyed || !this.#accepting) {
        if (refusal === null && gate.countsConnections) gate.release(client);
        socket.destroy();
        return;
      }
      if (refusal === null) admitted();
      else this.#refuseAtGate(socket, client, refusal);
    });
    if (decided === null) admitted();
    else if (decided !== 'pending') this.#refuseAtGate(socket, client, decided);
  };

  /** Closed at once, as TCP does: the access list or a per-client limit refused it (the access log says which). */
  #refuseAtGate(socket: Socket, client: string, refusal: { termination: Termination; detail: string }): void {
    socket.destroy();
    this.#log(client, '', refusal.termination, refusal.detail, null, 0);
  }

  #open(socket: Socket): void {
    const now = Date.now();
    const config = ftpConfig(this.service);
    const session = new FtpSession(socket, this, config, now);
    this.#sessions.add(session);
    // Behind others already waiting: first come, first served.
    if (this.#queue.size === 0 && this.#admit(session, now)) return;
    if (this.#queue.size >= config.limits.queue.size) {
      const size = config.limits.queue.size;
      session.refuse(REPLY_TOO_MANY, Termination.CONNECTION_LIMIT, size === 0 ? 'over the connection limit (queue size 0)' : `over the connection limit and the queue is full (${size})`);
      return;
    }
    this.#queue.push(session);
  }

  /** Admit (connect) or refuse `session`; false when it must wait for a free slot. */
  #admit(session: FtpSession, now: number): boolean {
    if (this.#active >= ftpConfig(this.service).limits.maxConnections) return false;
    const server = this.pickServer(session);
    // Every server at its maxConnections: the session keeps its place in this listener's queue.
    if (server === FULL) return false;
    if (server === null) {
      session.refuse(REPLY_NO_SERVER, Termination.NO_SERVER, 'no real server available');
      return true;
    }
    this.#active++;
    session.start(server, now);
    return true;
  }

  #serveQueue(now: number): void {
    // A session refused here releases nothing, but one admitted may fail at once: no re-entry.
    if (this.#servingQueue) return;
    this.#servingQueue = true;
    const queue = this.#queue;
    const timeout = ftpConfig(this.service).limits.queue.timeout;
    while (queue.size > 0) {
      const head = queue.peek()!;
      if (head.state !== 'queued') {
        queue.shift();
      } else if (now - head.queuedAt >= timeout) {
        queue.shift();
        head.refuse(REPLY_TOO_MANY, Termination.CONNECTION_LIMIT, `waited ${timeout} ms in the queue`);
      } else if (this.#admit(head, now)) {
        queue.shift();
      } else {
        break;
      }
    }
    this.#servingQueue = false;
  }

  #noteStopped(now: number): void {
    for (const server of this.service.pool.servers) {
      if (server.state === 'enabled') this.#stoppedSince.delete(server);
      else if (!this.#stoppedSince.has(server)) this.#stoppedSince.set(server, now);
    }
  }

  // ---- passive ports ------------------------------------------------------------------------

  async #configurePorts(config: FtpServiceConfig): Promise<void> {
    const range = config.ftp.passivePorts;
    if (config.ftp.mode === 'alg') {
      if (this.#share === null || !sameRange(this.#share.range, range)) {
        this.#share = new PassivePortShare(range, this.env.worker);
        const { index, count } = this.env.worker;
        if (this.#share.size === 0) {
          this.#note('warn', `worker ${index} has no passive port: ftp.passivePorts ${range.first}-${range.last} has ${range.last - range.first + 1} ports for ${count} workers; its clients get 425 on PASV. Widen the range to at least one port per worker.`, 'ftp-passive-share-empty');
        }
      }
      this.#forwarder?.close();
      this.#forwarder = null;
      return;
    }
    this.#share = null;
    const host = config.listen.host;
    const old = this.#forwarder;
    if (old !== null && old.host === host && sameRange(old.range, range)) return;
    const next = new DataPortForwarder(host, range, this.#onForwardedData);
    // Binding first, closing after: SO_REUSEPORT lets both hold the ports in between, so no data connection is lost.
    await next.listen();
    old?.close();
    this.#forwarder = next;
  }

  /** port-following: a data connection on `port`. */
  readonly #onForwardedData = (socket: Socket, port: number): void => {
    socket.on('error', ignore);
    const clientIp = normaliseAddress(socket.remoteAddress ?? '');
    const sessions = this.#byClient.get(clientIp);
    if (sessions !== undefined) {
      sessions[sessions.length - 1]!.forwardData(socket, port);
      return;
    }
    const server = this.#serverOfOtherWorker(clientIp);
    if (server === null) {
      this.#note('warn', `refused a data connection to port ${port} from ${clientIp}: it has no control connection here`, 'ftp-data-refused', clientIp);
      socket.destroy();
      return;
    }
    const config = ftpConfig(this.service);
    const link = new DataLink(
      socket,
      { host: server.host, port, localAddress: undefined },
      Date.now() + config.timeouts.connect,
      this.meter,
      (done) => this.#strays.delete(done),
      (_link, reason) => this.#note('warn', `data connection failed: ${reason}`, 'ftp-data-connect-failed', clientIp),
    );
    this.#strays.add(link);
  };

  /**
   * SO_REUSEPORT spreads connections by their 4-tuple, so the data connection of a client whose
   * control connection another worker holds may land here. Source-ip persistence hashes the client
   * address to the same server in every worker while the set of servers is stable; without it
   * (or with a single worker, where no other worker can hold the session) the connection is refused.
   */
  #serverOfOtherWorker(clientIp: string): RealServer | null {
    const persistence = this.service.pool.persistence;
    if (persistence === null || this.env.worker.count === 1) return null;
    const slot = new PersistSlot(clientIp);
    persistence.readConnection(slot);
    return persistence.pick(slot, { clientAddress: clientIp, exclude: null }, Date.now());
  }

  #note(level: 'info' | 'warn', message: string, event: string, client: string | null = null): void {
    const vs = this.service.name;
    this.env.events(level, `ftp "${vs}": ${message}`, { virtualService: vs, event, client });
  }
}

function sameRange(a: PortRange, b: PortRange): boolean {
  return a.first === b.first && a.last === b.last;
}

function ignore(): void {}
