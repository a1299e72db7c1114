/**
 * One FTP client session: its control connection from the client's arrival (perhaps queued) to
 * its end, the real server it was given, and the data connections that belong to it. Which bytes
 * flow on the control connection is the mode's business: alg-control.ts reads and rewrites it,
 * port-following relays it untouched. Deadlines are checked on the worker's tick, not by timers.
 *
 *   queued ──admitted──▶ connecting ──connected──▶ open ──both sides closed──▶ closed
 *      └──timeout / refused──┴──no server / unreachable──────────────────────────┘
 *
 * The session holds one of the virtual service's connection slots from admission until its
 * control connection closes, and one of its real server's (server.inflight) while it is on it.
 * Data connections may outlive the control connection by a moment (an upload's last bytes).
 *
 * The session keeps what its access-log line says (the listener writes it once nothing is left):
 * how it ended (the first cause seen wins, so a session we cut for idleness is not logged as the
 * close that followed), the real server, and the bytes of the control and data connections.
 */
import { connect, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { FtpServiceConfig } from '../config/schema.ts';
import { Termination } from '../exchange/termination.ts';
import { Relay, type ReadMeter, type RelayEnd } from '../l4/relay.ts';
import type { VirtualService } from '../frontend/virtual-service.ts';
import type { Pool } from '../pool/pool.ts';
import type { FULL, PickRequest } from '../pool/types.ts';
import { PersistSlot } from '../persistence/persistence.ts';
import type { PickContext } from '../scheduling/scheduler.ts';
import type { RealServer } from '../pool/real-server.ts';
import type { ListenerEnv } from '../worker/service-listener.ts';
import { AlgControl, type AlgSession } from './alg-control.ts';
import { DataLink, type DataTarget } from './data-link.ts';
import { DATA_ACCEPT_TIMEOUT_MS, DataPort, listenEphemeral } from './data-port.ts';
import { IdleWatch } from './idle-watch.ts';
import type { PassivePortShare } from './passive-ports.ts';
import { REPLY_UNREACHABLE } from './replies.ts';
import { type DataAddress } from './syntax.ts';
import { normaliseAddress } from '../ip/client-address.ts';

export type SessionState = 'queued' | 'connecting' | 'open' | 'closed';

/** What a session asks of its listener. */
export interface SessionHost {
  /** The service as configured now (a reload swaps it). */
  readonly service: VirtualService;
  readonly env: ListenerEnv;
  /** Counts bytes read for the engine's GC hint (EngineContext.noteRead). */
  readonly meter: ReadMeter;
  /** This worker's passive ports (alg mode); null in port-following mode. */
  readonly passivePorts: PassivePortShare | null;
  /** A real server other than those the session tried, with room for one more connection (the pool's pick path); FULL when those that could serve are all at their limit. */
  pickServer(session: FtpSession): RealServer | typeof FULL | null;
  /** The control connection reached its real server. */
  opened(session: FtpSession): void;
  /** The control connection ended (or never started after admission): its slot is free. */
  released(session: FtpSession): void;
  /** Nothing of the session is left, data connections included. */
  finished(session: FtpSession): void;
}

export class FtpSession implements AlgSession, PickRequest {
  readonly client: Socket;
  /** The client's address as text (IPv4-mapped prefix removed). */
  readonly clientIp: string;
  /** The address the client connected to: what Fulcrum announces in a 227 and where it listens for the data connection. */
  readonly clientLocalIp: string;
  readonly config: FtpServiceConfig;
  readonly slot: PersistSlot | null;
  readonly queuedAt: number;
  /** PickRequest: servers tried (null before the first attempt fails). */
  exclude: RealServer[] | null = null;
  /** The pool of the connection's server (a reload may replace the listener's). */
  pool: Pool;
  state: SessionState = 'queued';
  /** The real server of the control connection (the last one tried while connecting). */
  server: RealServer | null = null;
  upstream: Socket | null = null;
  /** The real server's address and Fulcrum's, as the control connection to it sees them (set once connected). */
  serverIp = '';
  upstreamLocalIp = '';
  readonly #host: SessionHost;
  #attempts = 0;
  #onServer = false;
  #connectDeadline = 0;
  #control: AlgControl | Relay | null = null;
  #pending: DataPort | null = null;
  readonly #links = new Set<DataLink>();
  readonly #idle = new IdleWatch();
  #finished = false;
  readonly startedAt = performance.now();
  /** How the session ended (null until then) and the detail for the access log. */
  termination: Termination | null = null;
  error = '';
  /** Data connections opened, and the bytes of those that ended, client to server and back. */
  dataConnectionsOpened = 0;
  #dataIn = 0;
  #dataOut = 0;
  /** The last failed connect attempt's code. */
  #connectFailure: Termination = Termination.UPSTREAM_CONNECT_ERROR;

  constructor(client: Socket, host: SessionHost, config: FtpServiceConfig, now: number) {
    this.client = client;
    this.#host = host;
    this.config = config;
    this.queuedAt = now;
    this.clientIp = normaliseAddress(client.remoteAddress ?? '');
    this.clientLocalIp = normaliseAddress(client.localAddress ?? '');
    this.pool = host.service.pool;
    this.slot = this.pool.persistence === null ? null : new PersistSlot(this.clientIp);
    // Nothing is read until the real server's greeting has been relayed; the kernel holds the rest.
    client.pause();
    client.on('error', ignore);
    client.once('close', () => {
      if (this.state !== 'queued' && this.state !== 'connecting') return;
      this.#endAs(Termination.CLIENT_ABORTED, 'client closed before a real server was connected');
      this.#abort();
    });
  }

  get clientAddress(): string {
    return this.clientIp;
  }

  get clientKeys(): PersistSlot | null {
    return this.slot;
  }

  get keys(): PersistSlot | null {
    return this.slot;
  }

  /** Data connections open now. */
  get dataConnections(): number {
    return this.#links.size;
  }

  /** Client to real server: the control connection and the data connections that ended. */
  get bytesIn(): number {
    return (this.#control?.bytesIn ?? 0) + this.#dataIn;
  }

  get bytesOut(): number {
    return (this.#control?.bytesOut ?? 0) + this.#dataOut;
  }

  /** Admitted: connect to `server` (the listener counted the service slot). */
  start(server: RealServer, now: number): void {
    this.state = 'connecting';
    this.#dispatch(server, now);
  }

  /** Answer the client with a 421 and close: no slot, no server, or no server reachable. */
  refuse(reply: string, termination: Termination, error: string): void {
    this.#endAs(termination, error);
    this.#abort();
    this.client.end(reply, 'latin1', () => this.client.destroy());
  }

  /** The worker's tick. */
  tick(now: number): void {
    const timeouts = this.config.timeouts;
    if (this.state === 'connecting') {
      if (now >= this.#connectDeadline) {
        this.#connectFailure = Termination.UPSTREAM_CONNECT_TIMEOUT;
        this.#connectFailed(`timed out after ${timeouts.connect} ms`);
      }
    } else if (this.state === 'open' && this.#idle.expired(this.#activity(), now, timeouts.idle)) {
      this.destroy(Termination.CLIENT_TIMEOUT, `idle for timeouts.idle (${timeouts.idle} ms)`);
    }
    const pending = this.#pending;
    if (pending !== null && now >= pending.deadline) pending.close();
    for (const link of this.#links) link.tick(now, timeouts.idle);
  }

  /** Cut everything: the control connection, the data connections, a port that waits. */
  destroy(termination: Termination = Termination.CUT, error = ''): void {
    this.#endAs(termination, error);
    this.client.destroy();
    this.upstream?.destroy();
    this.#pending?.close();
    for (const link of this.#links) link.destroy();
    if (this.state !== 'open') this.#abort();
  }

  // ---- the control connection ---------------------------------------------------------------

  #dispatch(server: RealServer, now: number): void {
    this.server = server;
    this.#onServer = true;
    this.pool = this.#host.service.pool;
    this.pool.take(server);
    this.#attempts++;
    this.#connectDeadline = now + this.config.timeouts.connect;
    const upstream = connect({ host: server.host, port: server.port, allowHalfOpen: true, noDelay: true });
    this.upstream = upstream;
    upstream.once('connect', () => {
      if (this.upstream === upstream && this.state === 'connecting') this.#connected(upstream, server);
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (this.upstream !== upstream || this.state !== 'connecting') return;
      this.#connectFailure = err.code === 'ECONNREFUSED' ? Termination.UPSTREAM_CONNECT_REFUSED : Termination.UPSTREAM_CONNECT_ERROR;
      this.#connectFailed(err.message);
    });
  }

  #connected(upstream: Socket, server: RealServer): void {
    this.pool.noteSuccess(server);
    this.state = 'open';
    this.serverIp = normaliseAddress(upstream.remoteAddress ?? server.host);
    this.upstreamLocalIp = normaliseAddress(upstream.localAddress ?? '');
    const meter = this.#host.meter;
    this.#control =
      this.config.ftp.mode === 'alg'
        ? new AlgControl(this.client, upstream, this, this.config.ftp.activeMode, meter, this.#controlClosed)
        : new Relay(this.client, upstream, this.#controlClosed, Date.now(), meter);
    this.#host.opened(this);
  }

  #connectFailed(reason: string): void {
    const server = this.server!;
    this.upstream?.destroy();
    this.upstream = null;
    this.#leaveServer();
    this.pool.noteFailure(server, reason);
    this.note('warn', `cannot connect to real server ${server.id}: ${reason}`, 'connect-failed', server);
    (this.exclude ??= []).push(server);
    const next = this.#attempts <= this.config.retries ? this.#host.pickServer(this) : null;
    if (next === null || typeof next === 'string') this.refuse(REPLY_UNREACHABLE, this.#connectFailure, `${server.id}: ${reason}`);
    else this.#dispatch(next, Date.now());
  }

  /** The control connection closed: alg-control.ts knows what ended it; a port-following relay says it. */
  readonly #controlClosed = (_relay?: Relay, how?: RelayEnd): void => {
    const control = this.#control;
    if (control instanceof AlgControl) this.#endAs(control.ending ?? Termination.OK, control.endingDetail);
    else this.#endAs(how === 'client-reset' ? Termination.CLIENT_ABORTED : how === 'server-reset' ? Termination.UPSTREAM_RESET : Termination.OK, '');
    this.#abort();
  };

  /** The first cause of the end is the one logged. */
  #endAs(termination: Termination, error: string): void {
    if (this.termination !== null) return;
    this.termination = termination;
    this.error = error;
  }

  /** The control connection is over, however it ended: give back the slots, stop waiting for data connections. */
  #abort(): void {
    if (this.state === 'closed') return;
    const admitted = this.state !== 'queued';
    this.state = 'closed';
    this.upstream?.destroy();
    this.#leaveServer();
    if (admitted) this.#host.released(this);
    this.#pending?.close();
    this.#finishIfDone();
  }

  #leaveServer(): void {
    if (!this.#onServer) return;
    this.#onServer = false;
    this.pool.release(this.server!);
  }

  #finishIfDone(): void {
    if (this.#finished || this.state !== 'closed' || this.#links.size > 0) return;
    this.#finished = true;
    this.#host.finished(this);
  }

  #activity(): number {
    const control = this.#control;
    let bytes = control === null ? 0 : control.bytesIn + control.bytesOut;
    for (const link of this.#links) bytes += link.bytes;
    return bytes;
  }

  // ---- data connections (AlgSession, and port-following's forwarded ones) ---------------------

  openPassivePort(serverPort: number, done: (port: number | null) => void): void {
    this.#pending?.close();
    const share = this.#host.passivePorts;
    if (share === null) {
      done(null);
      return;
    }
    share.open(this.client.localAddress ?? this.clientLocalIp, (server, port) => {
      if (server === null) {
        this.note('warn', `no free passive port for ${this.clientIp}: all ${share.size} of this worker's ports in ftp.passivePorts are in use`, 'ftp-passive-exhausted');
        done(null);
        return;
      }
      if (this.state === 'closed') {
        server.close();
        share.release(port);
        done(null);
        return;
      }
      const target: DataTarget = { host: this.serverIp, port: serverPort, localAddress: this.upstreamLocalIp };
      this.#pending = this.#dataPort(server, port, this.clientIp, target, true, () => share.release(port));
      done(port);
    });
  }

  openActivePort(client: DataAddress, done: (host: string | null, port: number) => void): void {
    this.#pending?.close();
    listenEphemeral(this.upstreamLocalIp, (server, port) => {
      if (server === null || this.state === 'closed') {
        server?.close();
        done(null, 0);
        return;
      }
      const target: DataTarget = { host: client.host, port: client.port, localAddress: this.clientLocalIp };
      this.#pending = this.#dataPort(server, port, this.serverIp, target, false, ignore);
      done(this.upstreamLocalIp, port);
    });
  }

  /** Port-following: a data connection from this session's client on `port`, for the same port of its real server. */
  forwardData(socket: Socket, port: number): void {
    this.#link(socket, { host: this.serverIp, port, localAddress: this.upstreamLocalIp }, true);
  }

  note(level: 'info' | 'warn', message: string, event: string, server: RealServer | null = this.server): void {
    const vs = this.#host.service.name;
    this.#host.env.events(level, `ftp "${vs}": ${message}`, { virtualService: vs, event, client: this.clientIp, realServer: server?.id ?? null });
  }

  /** `fromClient`: the client connects to it (passive mode); else the real server does (active mode). */
  #dataPort(server: Server, port: number, expectedIp: string, target: DataTarget, fromClient: boolean, release: () => void): DataPort {
    return new DataPort(server, port, expectedIp, Date.now() + DATA_ACCEPT_TIMEOUT_MS, {
      accepted: (socket) => this.#link(socket, target, fromClient),
      refused: (peer) => this.note('warn', `refused a data connection to port ${port} from ${peer}: only ${expectedIp} may connect there`, 'ftp-data-refused'),
      closed: (p) => {
        if (this.#pending === p) this.#pending = null;
      },
    }, release);
  }

  #link(socket: Socket, target: DataTarget, fromClient: boolean): void {
    this.dataConnectionsOpened++;
    const link = new DataLink(
      socket,
      target,
      Date.now() + this.config.timeouts.connect,
      this.#host.meter,
      (done) => {
        this.#dataIn += fromClient ? done.acceptedBytes : done.targetBytes;
        this.#dataOut += fromClient ? done.targetBytes : done.acceptedBytes;
        this.#links.delete(done);
        this.#finishIfDone();
      },
      (_failed, reason) => this.note('warn', `data connection failed: ${reason}`, 'ftp-data-connect-failed'),
    );
    this.#links.add(link);
  }
}

function ignore(): void {}
