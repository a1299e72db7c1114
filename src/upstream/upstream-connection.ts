import { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { RealServer } from '../pool/real-server.ts';

/** What an upstream connection reports to whoever currently uses it (a client exchange). */
export interface UpstreamOwner {
  onUpstreamConnect(up: UpstreamConnection): void;
  onUpstreamData(up: UpstreamConnection, chunk: Buffer): void;
  onUpstreamDrain(up: UpstreamConnection): void;
  onUpstreamClose(up: UpstreamConnection): void;
  /**
   * A throw inside one of the calls above (the response parser included): a bug, contained to
   * this exchange (a 502 while nothing was sent, else a cut), logged; the worker serves on.
   */
  onUpstreamFault(up: UpstreamConnection, error: unknown): void;
}

const kUp = Symbol('fulcrum.upstream');
type TaggedSocket = Socket & { [kUp]: UpstreamConnection };

/**
 * One TCP connection to a real server. Its socket listeners are installed once and forward to
 * the current owner, so a pooled connection changes hands without adding or removing listeners.
 */
export class UpstreamConnection {
  readonly socket: Socket;
  readonly server: RealServer;
  owner: UpstreamOwner | null = null;
  connected = false;
  /** Set when the socket failed; the text goes into the access log. */
  error: string | null = null;
  closed = false;
  /** Requests this connection has carried (> 0 means a reused connection). */
  uses = 0;
  /** Deadline (ms since epoch) after which an idle pooled connection is closed. */
  idleDeadline = 0;

  constructor(server: RealServer, owner: UpstreamOwner) {
    this.server = server;
    this.owner = owner;
    const tls = server.tls;
    if (tls !== null) {
      // Re-encryption: "connected" once the handshake is done (the connect timeout covers it).
      const session = server.tlsSession;
      const socket = tlsConnect({ ...tls.options, host: server.host, port: server.port, ...(session !== null ? { session } : {}) }) as unknown as TaggedSocket;
      socket[kUp] = this;
      socket.setNoDelay(true);
      socket.on('secureConnect', onConnect);
      socket.on('session', onSession);
      this.socket = socket;
    } else {
      const socket = new Socket({ allowHalfOpen: false }) as TaggedSocket;
      socket[kUp] = this;
      socket.setNoDelay(true);
      socket.on('connect', onConnect);
      this.socket = socket;
    }
    const socket = this.socket;
    socket.on('data', onData);
    socket.on('drain', onDrain);
    socket.on('error', onError);
    socket.on('close', onClose);
    if (tls === null) socket.connect(server.port, server.host);
  }

  /**
   * Did the server refuse our TLS handshake after we took it as done? TLS 1.3 lets the client
   * finish first, so a server that refuses our client certificate (or its absence) says so with
   * an alert after "connected": a TLS error on a connection's first exchange, before any response.
   */
  get tlsRefused(): boolean {
    return this.uses === 0 && this.error !== null && this.error.startsWith('ERR_SSL_');
  }

  destroy(): void {
    if (!this.closed) this.socket.destroy();
  }
}

function onConnect(this: TaggedSocket): void {
  const up = this[kUp];
  up.connected = true;
  const owner = up.owner;
  if (owner === null) return;
  try {
    owner.onUpstreamConnect(up);
  } catch (error) {
    fault(up, owner, error);
  }
}

/** Contain a throw to its exchange; a throw while containing it costs this connection only. */
function fault(up: UpstreamConnection, owner: UpstreamOwner, error: unknown): void {
  try {
    owner.onUpstreamFault(up, error);
  } catch {
    up.destroy();
  }
}

/** The server's session ticket: the next connection to it offers it. */
function onSession(this: TaggedSocket, session: Buffer): void {
  this[kUp].server.tlsSession = session;
}

function onData(this: TaggedSocket, chunk: Buffer): void {
  const up = this[kUp];
  if (up.owner === null) {
    // Bytes from a server on an idle connection: it is out of step with us; never reuse it.
    up.destroy();
    return;
  }
  const owner = up.owner;
  try {
    owner.onUpstreamData(up, chunk);
  } catch (error) {
    fault(up, owner, error);
  }
}

function onDrain(this: TaggedSocket): void {
  const up = this[kUp];
  const owner = up.owner;
  if (owner === null) return;
  try {
    owner.onUpstreamDrain(up);
  } catch (error) {
    fault(up, owner, error);
  }
}

function onError(this: TaggedSocket, err: NodeJS.ErrnoException): void {
  this[kUp].error = err.code ?? err.message;
}

function onClose(this: TaggedSocket): void {
  const up = this[kUp];
  up.closed = true;
  up.server.connections?.forget(up);
  const owner = up.owner;
  up.owner = null;
  if (owner === null) return;
  try {
    owner.onUpstreamClose(up);
  } catch (error) {
    fault(up, owner, error);
  }
}
