import { Socket } from 'node:net';
import type { RealServer } from './real-server.ts';

/** What an upstream connection reports to whoever currently uses it (a client exchange). */
export interface UpstreamOwner {
  onUpstreamConnect(up: UpstreamConnection): void;
  onUpstreamData(up: UpstreamConnection, chunk: Buffer): void;
  onUpstreamDrain(up: UpstreamConnection): void;
  onUpstreamClose(up: UpstreamConnection): void;
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
    const socket = new Socket({ allowHalfOpen: false }) as TaggedSocket;
    socket[kUp] = this;
    socket.setNoDelay(true);
    socket.on('connect', onConnect);
    socket.on('data', onData);
    socket.on('drain', onDrain);
    socket.on('error', onError);
    socket.on('close', onClose);
    this.socket = socket;
    socket.connect(server.port, server.host);
  }

  destroy(): void {
    if (!this.closed) this.socket.destroy();
  }
}

function onConnect(this: TaggedSocket): void {
  const up = this[kUp];
  up.connected = true;
  up.owner?.onUpstreamConnect(up);
}

function onData(this: TaggedSocket, chunk: Buffer): void {
  const up = this[kUp];
  if (up.owner === null) {
    // Bytes from a server on an idle connection: it is out of step with us; never reuse it.
    up.destroy();
    return;
  }
  up.owner.onUpstreamData(up, chunk);
}

function onDrain(this: TaggedSocket): void {
  const up = this[kUp];
  up.owner?.onUpstreamDrain(up);
}

function onError(this: TaggedSocket, err: NodeJS.ErrnoException): void {
  this[kUp].error = err.code ?? err.message;
}

function onClose(this: TaggedSocket): void {
  const up = this[kUp];
  up.closed = true;
  up.server.pool?.forget(up);
  const owner = up.owner;
  up.owner = null;
  owner?.onUpstreamClose(up);
}
