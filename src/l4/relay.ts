/**
 * Two connected sockets relayed both ways: the whole data path of a TCP virtual service (and of
 * FTP data connections). What it guarantees:
 * - Backpressure: when one side cannot take more (write returns false), the other side stops
 *   being read until 'drain'; memory stays at a socket buffer per direction whatever the rates.
 * - Half-close: a FIN from one side is passed on as a FIN (end()) to the other, which may keep
 *   sending; the relay ends when both directions have ended, or on an error or reset, which is
 *   passed on as a reset.
 * - Idle: `idle` is checked from the worker's tick, not a timer per socket: a chunk only sets a
 *   flag, which the tick turns into a time.
 * The sockets must be created with allowHalfOpen: true, so that Node does not end a side on its own.
 */
import type { Socket } from 'node:net';

export type RelayEnd = 'closed' | 'client-reset' | 'server-reset' | 'idle' | 'cut';

/** Notified once, when both sockets are gone. */
export type RelayDone = (relay: Relay, how: RelayEnd) => void;

/** Bytes read from either side (the GC hint of EngineContext.noteRead); optional. */
export type ReadMeter = (bytes: number) => void;

const kRelay = Symbol('fulcrum.relay');
const kSide = Symbol('fulcrum.side');
type RelaySocket = Socket & { [kRelay]: Relay; [kSide]: 0 | 1 };

export class Relay {
  readonly client: Socket;
  readonly server: Socket;
  /** Client to server. */
  bytesIn = 0;
  /** Server to client. */
  bytesOut = 0;
  /** Set by any chunk; the tick turns it into lastActivity. */
  active = true;
  lastActivity: number;
  #ended = 0;
  #done: RelayDone | null;
  #how: RelayEnd = 'closed';
  #open = 2;
  readonly #meter: ReadMeter | null;

  constructor(client: Socket, server: Socket, done: RelayDone, now: number, meter: ReadMeter | null = null) {
    this.client = client;
    this.server = server;
    this.#done = done;
    this.lastActivity = now;
    this.#meter = meter;
    for (const [socket, side] of [[client, 0], [server, 1]] as const) {
      const tagged = socket as RelaySocket;
      tagged[kRelay] = this;
      tagged[kSide] = side;
      socket.on('data', onData);
      socket.on('end', onEnd);
      socket.on('drain', onDrain);
      socket.on('error', onError);
      socket.on('close', onClose);
    }
    // Either side may have been paused while the connection was set up.
    if (!client.destroyed) client.resume();
    if (!server.destroyed) server.resume();
  }

  /** From the worker's tick: true when the relay was idle for `idleMs` and has been closed. */
  checkIdle(now: number, idleMs: number): boolean {
    if (this.active) {
      this.active = false;
      this.lastActivity = now;
      return false;
    }
    if (now - this.lastActivity < idleMs) return false;
    this.destroy('idle');
    return true;
  }

  /** Close both sides now (idle, drain cut, shutdown); a reset, since data may be lost. */
  destroy(how: RelayEnd): void {
    if (this.#done === null) return;
    this.#how = how;
    this.client.resetAndDestroy();
    this.server.resetAndDestroy();
  }

  get finished(): boolean {
    return this.#done === null;
  }

  onData(side: 0 | 1, chunk: Buffer): void {
    this.active = true;
    this.#meter?.(chunk.length);
    if (side === 0) {
      this.bytesIn += chunk.length;
      if (!this.server.write(chunk)) this.client.pause();
    } else {
      this.bytesOut += chunk.length;
      if (!this.client.write(chunk)) this.server.pause();
    }
  }

  onEnd(side: 0 | 1): void {
    // Pass the FIN on; the other direction stays open until its own FIN.
    (side === 0 ? this.server : this.client).end();
    this.#ended++;
  }

  onDrain(side: 0 | 1): void {
    (side === 0 ? this.server : this.client).resume();
  }

  onError(side: 0 | 1): void {
    // A reset (or any error) on one side: the other side gets a reset too, so that neither peer
    // mistakes a broken stream for a complete one.
    if (this.#done === null) return;
    if (this.#how === 'closed') this.#how = side === 0 ? 'client-reset' : 'server-reset';
    (side === 0 ? this.server : this.client).resetAndDestroy();
  }

  onClose(side: 0 | 1, hadError: boolean): void {
    if (hadError) this.onError(side);
    // A side closed before both directions ended: the stream is broken, not complete.
    else if (this.#ended < 2) (side === 0 ? this.server : this.client).destroy();
    this.#open--;
    if (this.#open > 0) return;
    const done = this.#done;
    this.#done = null;
    done?.(this, this.#how);
  }
}

function onData(this: RelaySocket, chunk: Buffer): void {
  this[kRelay].onData(this[kSide], chunk);
}

function onEnd(this: RelaySocket): void {
  this[kRelay].onEnd(this[kSide]);
}

function onDrain(this: RelaySocket): void {
  this[kRelay].onDrain(this[kSide]);
}

function onError(this: RelaySocket): void {
  this[kRelay].onError(this[kSide]);
}

function onClose(this: RelaySocket, hadError: boolean): void {
  this[kRelay].onClose(this[kSide], hadError);
}
