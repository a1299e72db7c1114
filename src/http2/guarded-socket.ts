/**
 * The stream nghttp2 reads and writes instead of the client's socket: bytes from the client go
 * through the FloodGuard first, and past a verdict they stop (nghttp2 never sees them); writes go
 * straight to the socket. Backpressure both ways: nghttp2 not reading pauses the socket; the
 * socket's own write buffer is nghttp2's (a Duplex's write callback waits for the socket's).
 *
 * The price is that Node wraps a JavaScript stream for nghttp2 (JSStreamSocket) where it would
 * consume a socket natively; measured in docs/performance.md ("HTTP/2"). It buys frame-level
 * limits nghttp2 does not offer (flood-guard.ts).
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { FloodGuard } from './flood-guard.ts';
import type { SentResets } from './sent-resets.ts';

/** Bytes nghttp2 may have queued on a socket that is not draining before its writes wait (see #afterWrite). */
const WRITE_SLACK = 256 * 1024;

export class GuardedSocket extends Duplex {
  readonly socket: Socket;
  readonly #guard: FloodGuard;
  readonly #onViolation: () => void;
  readonly #now: () => number;
  #paused = false;
  /** Reads nghttp2's output for the streams it resets. */
  readonly #sent: SentResets;
  /** Closed by us with our own GOAWAY: nghttp2's later writes and the client's bytes are dropped. */
  #sealed = false;

  constructor(socket: Socket, guard: FloodGuard, now: () => number, onViolation: () => void, sent: SentResets) {
    super({ allowHalfOpen: true });
    this.socket = socket;
    this.#sent = sent;
    this.#guard = guard;
    this.#now = now;
    this.#onViolation = onViolation;
    socket.on('data', (chunk: Buffer) => this.feed(chunk));
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', () => {
      // 'close' follows; a client's reset is routine.
    });
  }

  /** Client bytes (from the socket, or read before the connection was known to be HTTP/2). */
  feed(chunk: Buffer): void {
    if (this.#sealed) return;
    if (!this.#guard.scan(chunk, this.#now())) {
      this.socket.pause();
      this.#onViolation();
      return;
    }
    if (!this.push(chunk) && !this.#paused) {
      this.#paused = true;
      this.socket.pause();
    }
  }

  override _read(): void {
    if (this.#paused) {
      this.#paused = false;
      this.socket.resume();
    }
  }

  /**
   * Send GOAWAY ourselves and end our side. nghttp2's own GOAWAY would reach the socket only on a
   * later turn (through the JavaScript stream), after the session that sends it is gone; ours is
   * written now, between two of nghttp2's writes (each ends on a frame boundary). The client's
   * bytes are then read and dropped until it closes or `destroy` (a linger: closing with unread
   * bytes would reset the connection, and the client could lose the GOAWAY).
   */
  goawayAndEnd(lastStreamId: number, errorCode: number, debug: string): void {
    if (this.#sealed) return;
    this.#sealed = true;
    const data = Buffer.from(debug, 'latin1');
    const frame = Buffer.allocUnsafe(9 + 8 + data.length);
    frame.writeUIntBE(8 + data.length, 0, 3);
    frame[3] = 7; // GOAWAY
    frame[4] = 0;
    frame.writeUInt32BE(0, 5);
    frame.writeUInt32BE(lastStreamId & 0x7fffffff, 9);
    frame.writeUInt32BE(errorCode, 13);
    data.copy(frame, 17);
    const socket = this.socket;
    socket.end(frame);
    socket.resume();
  }

  get sealed(): boolean {
    return this.#sealed;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#sealed) return callback();
    this.#sent.scan(chunk);
    this.socket.write(chunk);
    this.#afterWrite(callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    if (this.#sealed) return callback();
    const socket = this.socket;
    socket.cork();
    for (const { chunk } of chunks) {
      this.#sent.scan(chunk);
      socket.write(chunk);
    }
    socket.uncork();
    this.#afterWrite(callback);
  }

  /**
   * nghttp2 stops reading the client while one of its writes is pending. Were a write pending
   * until the socket drained, a client that stops reading (h2load at the end of a run, any client
   * with a full receive buffer) would also never be read again: its GOAWAY, its resets and its
   * FIN would wait in the kernel until a timeout. So a write is done once it is in the socket's
   * buffer, up to WRITE_SLACK queued; past that nghttp2 waits for the drain (memory stays bounded).
   */
  #afterWrite(callback: (error?: Error | null) => void): void {
    if (this.socket.writableLength <= WRITE_SLACK) callback();
    else this.socket.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.#sealed) this.socket.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A sealed socket lingers: the connection destroys it when the client closes or its linger ends.
    if (!this.#sealed) this.socket.destroy();
    callback(error);
  }

  // JSStreamSocket and http2 read these of the stream they are given.
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }

  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }

  get localPort(): number | undefined {
    return this.socket.localPort;
  }

  get alpnProtocol(): string | false | undefined {
    return (this.socket as Socket & { alpnProtocol?: string | false }).alpnProtocol;
  }

  get encrypted(): boolean | undefined {
    return (this.socket as Socket & { encrypted?: boolean }).encrypted;
  }

  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this.socket.setKeepAlive(enable, initialDelay);
    return this;
  }

  setTimeout(ms: number, callback?: () => void): this {
    this.socket.setTimeout(ms, callback);
    return this;
  }
}
