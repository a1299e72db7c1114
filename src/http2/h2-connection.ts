/**
 * One HTTP/2 client connection: nghttp2 (node:http2) does the framing, HPACK and flow control
 * behind a FloodGuard that counts what floods are made of; every stream becomes an H2Stream, the
 * Downstream of an exchange on the one request path.
 *
 * The connection's own deadlines: the first request must arrive within timeouts.clientHeader
 * (like an HTTP/1.1 head, from the accept), and a connection with no stream open for
 * timeouts.clientIdle is closed with GOAWAY (NO_ERROR). A header block that takes longer than
 * timeouts.clientHeader holds every stream of the connection, so it is cut as a slow head is.
 */
import type { Socket } from 'node:net';
import { constants, performServerHandshake, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { performance } from 'node:perf_hooks';
import type { HttpServiceConfig } from '../config/schema.ts';
import { DeadlineKind } from '../exchange/deadline.ts';
import { Termination } from '../exchange/termination.ts';
import type { HttpFrontEnd } from '../frontend/http-front-end.ts';
import type { ServiceSource } from '../http1/connection.ts';
import { normaliseAddress } from '../ip/client-address.ts';
import { ClientKeySlot } from '../persistence/client-key-slot.ts';
import { clientCertificateOf, type ClientCertificate } from '../tls/client-certificate.ts';
import type { EngineContext } from '../worker/engine-context.ts';
import { FloodGuard } from './flood-guard.ts';
import { GuardedSocket } from './guarded-socket.ts';
import { SentResets } from './sent-resets.ts';
import { H2Stream, type StreamHost } from './h2-stream.ts';

/** After our GOAWAY, read on this long so the client sees it, not a reset (as HTTP/1.1's linger). */
const LINGER_MS = 2000;
/** Between the first GOAWAY of a drain (which refuses nothing) and the last: about a round trip, with room. */
const DRAIN_NOTICE_MS = 1000;
/** The RST_STREAM codes nghttp2 uses for a client's faults (ours are NO_ERROR, CANCEL and INTERNAL_ERROR). */
const CLIENT_STREAM_FAULTS: ReadonlySet<number> = new Set([
  constants.NGHTTP2_PROTOCOL_ERROR,
  constants.NGHTTP2_FLOW_CONTROL_ERROR,
  constants.NGHTTP2_STREAM_CLOSED,
  constants.NGHTTP2_FRAME_SIZE_ERROR,
  constants.NGHTTP2_REFUSED_STREAM,
  constants.NGHTTP2_COMPRESSION_ERROR,
  constants.NGHTTP2_ENHANCE_YOUR_CALM,
]);
/** nghttp2's errors (lib codes in Node's ERR_HTTP2_ERROR errno) that are the client's protocol faults. */
const CLIENT_FAULTS: Readonly<Record<number, string>> = {
  [-505]: 'protocol error',
  [-510]: 'frame on a closed stream',
  [-522]: 'frame size error',
  [-523]: 'HPACK (header compression) error',
  [-524]: 'flow control error',
  [-536]: 'no SETTINGS after the preface',
  [-903]: 'not the HTTP/2 client preface',
  [-904]: 'flooded nghttp2 (too many frames awaiting an answer)',
};

export class Http2Connection implements StreamHost {
  readonly socket: Socket;
  readonly peerAddress: string;
  readonly clientCertificate: ClientCertificate | null;
  readonly ctx: EngineContext;
  readonly #source: ServiceSource;
  readonly #onClosed: (c: Http2Connection) => void;
  readonly #guard: FloodGuard;
  readonly #guarded: GuardedSocket;
  readonly #session: ServerHttp2Session;
  readonly #streams = new Set<H2Stream>();
  #keys: ClientKeySlot | null = null;
  /** The highest stream we took (GOAWAY's last stream id). */
  #lastStream = 0;
  #openedAt = performance.now();
  #closed = false;
  draining = false;

  /** The connection's own deadline (first request, idle, linger), and the earliest of all (the tick reads `deadline`). */
  #ownDeadline = 0;
  #ownKind: DeadlineKind = DeadlineKind.NONE;
  deadline = 0;
  readonly upstreamDeadline = 0;

  constructor(socket: Socket, source: ServiceSource, ctx: EngineContext, onClosed: (c: Http2Connection) => void, clientIp: string | null, initial: Buffer | null) {
    this.socket = socket;
    this.#source = source;
    this.ctx = ctx;
    this.#onClosed = onClosed;
    this.peerAddress = normaliseAddress(clientIp ?? socket.remoteAddress ?? '');
    this.clientCertificate = clientCertificateOf(socket);
    const fe = this.#frontEnd();
    const config = fe.config as HttpServiceConfig;
    const http2 = config.http2;
    const maxHeaderListSize = http2.maxHeaderListSize ?? fe.limits.maxHeaderBytes;
    this.#guard = new FloodGuard({ http2, maxHeaderListSize, headerBlockMs: fe.timeouts.clientHeader }, Date.now());
    socket.setNoDelay(true);
    this.#guarded = new GuardedSocket(socket, this.#guard, Date.now, () => this.#onViolation(), new SentResets((stream, code) => this.#onSentReset(stream, code)));
    this.#session = performServerHandshake(this.#guarded, {
      settings: {
        maxConcurrentStreams: http2.maxConcurrentStreams,
        initialWindowSize: http2.initialWindowSize,
        maxHeaderListSize,
        enablePush: false,
        enableConnectProtocol: false,
      },
      // Pseudo-headers count as fields to nghttp2: 4 of them, on top of limits.maxHeaders.
      maxHeaderListPairs: fe.limits.maxHeaders + 4,
      // Our guard counts resets (flood-guard.ts); nghttp2's own limit stays behind it, looser.
      streamResetBurst: http2.floods.resets.burst * 2,
      streamResetRate: Math.max(http2.floods.resets.perSecond * 2, 1),
    } as Parameters<typeof performServerHandshake>[1]);
    const session = this.#session;
    session.on('stream', (stream: ServerHttp2Stream, _headers: unknown, flags: number, raw: string[]) => this.#onStream(stream, flags, raw));
    session.on('error', (error: Error & { errno?: number }) => this.#onSessionError(error));
    session.on('close', () => this.#onClose());
    session.on('goaway', () => {
      // The client is leaving: nghttp2 takes no new stream of it; we close when the last one ends.
      this.draining = true;
      if (this.#streams.size === 0) this.#end();
    });
    socket.on('close', () => this.#onClose());
    this.#arm(DeadlineKind.CLIENT_HEADER, fe.timeouts.clientHeader);
    if (initial !== null && initial.length > 0) this.#guarded.feed(initial);
    if (socket.isPaused()) socket.resume();
  }

  #frontEnd(): HttpFrontEnd {
    return this.#source.service.http!;
  }

  keysFor(client: string): ClientKeySlot {
    let keys = this.#keys;
    if (keys === null || keys.clientIp !== client) keys = this.#keys = new ClientKeySlot(client);
    return keys;
  }

  // ---- streams ----------------------------------------------------------------------------

  #onStream(stream: ServerHttp2Stream, flags: number, raw: string[]): void {
    if (this.#guarded.sealed) return;
    const fe = this.#frontEnd();
    fe.meter.http2Stream();
    this.#lastStream = Math.max(this.#lastStream, stream.id ?? 0);
    const h2 = new H2Stream(stream, this, fe);
    this.#streams.add(h2);
    if (this.#ownKind === DeadlineKind.CLIENT_HEADER || (this.#ownKind === DeadlineKind.CLIENT_IDLE && !this.draining)) this.#disarm();
    try {
      h2.start(raw, (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0, performance.now());
    } catch (error) {
      this.fault(error, h2);
    }
  }

  streamDone(h2: H2Stream): void {
    if (!this.#streams.delete(h2)) return;
    this.#guard.closed(h2.stream.id ?? 0);
    if (this.#streams.size > 0 || this.#closed) return;
    if (this.draining && this.#ownKind !== DeadlineKind.CLIENT_IDLE) return this.#end();
    if (this.#ownKind === DeadlineKind.LINGER) return;
    this.#arm(DeadlineKind.CLIENT_IDLE, this.#frontEnd().timeouts.clientIdle);
  }

  sent(bytes: number): void {
    this.#guard.sent(bytes);
  }

  armed(at: number): void {
    if (this.deadline === 0 || at < this.deadline) this.deadline = at;
  }

  // ---- deadlines ----------------------------------------------------------------------------

  #arm(kind: DeadlineKind, ms: number): void {
    this.#ownKind = kind;
    this.#ownDeadline = Date.now() + ms;
    this.armed(this.#ownDeadline);
  }

  #disarm(): void {
    this.#ownKind = DeadlineKind.NONE;
    this.#ownDeadline = 0;
  }

  /** The worker's tick: the connection's deadline and its streams'. */
  onTick(now: number): void {
    try {
      // Rebuilt by the walk below; a deadline armed meanwhile (a retry on another stream, a
      // queued stream given a server by one that ended) lowers it through armed() and stays.
      this.deadline = 0;
      if (this.#ownDeadline !== 0 && this.#ownDeadline <= now) this.#onOwnDeadline();
      let soonest = this.#ownDeadline;
      for (const h2 of this.#streams) {
        if ((h2.deadline !== 0 && h2.deadline <= now) || (h2.upstreamDeadline !== 0 && h2.upstreamDeadline <= now)) h2.onTick(now);
        if (h2.deadline !== 0 && (soonest === 0 || h2.deadline < soonest)) soonest = h2.deadline;
        if (h2.upstreamDeadline !== 0 && (soonest === 0 || h2.upstreamDeadline < soonest)) soonest = h2.upstreamDeadline;
      }
      // A header block in progress is looked at each tick (it has no deadline of its own).
      if (this.#guard.inHeaderBlock) {
        if (!this.#guarded.sealed && !this.#guard.scan(Buffer.alloc(0), now)) this.#onViolation();
        soonest = soonest === 0 ? now + 100 : Math.min(soonest, now + 100);
      }
      if (soonest !== 0 && (this.deadline === 0 || soonest < this.deadline)) this.deadline = soonest;
    } catch (error) {
      this.fault(error, null);
    }
  }

  #onOwnDeadline(): void {
    const kind = this.#ownKind;
    this.#disarm();
    switch (kind) {
      case DeadlineKind.CLIENT_HEADER:
        if (this.#streams.size > 0) return;
        this.#log(0, 'no request within timeouts.clientHeader', Termination.CLIENT_TIMEOUT);
        return this.#goaway(constants.NGHTTP2_NO_ERROR, 'timeout');
      case DeadlineKind.CLIENT_IDLE:
        if (this.draining) return this.#end();
        if (this.#streams.size > 0) return;
        return this.#goaway(constants.NGHTTP2_NO_ERROR, 'idle');
      case DeadlineKind.LINGER:
        this.socket.destroy();
        return;
    }
  }

  // ---- endings ------------------------------------------------------------------------------

  /**
   * nghttp2 reset a stream (sent-resets.ts). With a code that blames the client (a malformed
   * request, a stream over the limit, a header list too large once decoded, a window overflow),
   * it is a reset the client made us do, and counts as one; whatever the code, the stream's slot
   * is free (a stream refused before its 'stream' event has no close of its own).
   */
  #onSentReset(stream: number, code: number): void {
    this.#guard.closed(stream);
    if (!CLIENT_STREAM_FAULTS.has(code) || this.#guarded.sealed) return;
    // Not from inside nghttp2's write: the session is ended on the next tick.
    if (!this.#guard.chargeReset(Date.now())) process.nextTick(() => this.#onViolation());
  }

  /** A flood limit passed (flood-guard.ts): GOAWAY ENHANCE_YOUR_CALM, counted and logged. */
  #onViolation(): void {
    if (this.#guarded.sealed || this.#closed) return;
    const guard = this.#guard;
    this.ctx.noteHttp2(this.#source.service.name, guard.violation ?? 'resets');
    this.#log(0, `${guard.violation}: ${guard.detail}`, Termination.CLIENT_FLOOD);
    this.#goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM, guard.violation ?? '');
  }

  /** Our GOAWAY, then the session goes; streams in flight are cut. */
  #goaway(code: number, debug: string): void {
    if (this.#guarded.sealed) return;
    this.#guarded.goawayAndEnd(this.#lastStream, code, debug);
    this.#arm(DeadlineKind.LINGER, LINGER_MS);
    for (const h2 of [...this.#streams]) h2.cut();
    this.#session.destroy();
  }



  #onSessionError(error: Error & { errno?: number }): void {
    const fault = error.errno === undefined ? undefined : CLIENT_FAULTS[error.errno];
    if (fault !== undefined) {
      this.ctx.noteHttp2(this.#source.service.name, null);
      this.#log(0, `HTTP/2 ${fault}`, Termination.CLIENT_PROTOCOL_ERROR);
    }
    // Otherwise a socket error (a reset): 'close' follows, and the streams' exchanges say client-aborted.
  }

  /** Close once the streams are done (the client's GOAWAY, or ours on drain). */
  #end(): void {
    if (this.#closed || this.#session.destroyed) return;
    this.#session.close();
    // nghttp2 then ends our side; a client that never closes its own is cut after the linger.
    if (this.#streams.size === 0) this.#arm(DeadlineKind.LINGER, LINGER_MS);
  }

  #onClose(): void {
    if (this.#closed) {
      if (this.socket.destroyed && this.#ownKind === DeadlineKind.LINGER) this.#disarm();
      return;
    }
    this.#closed = true;
    for (const h2 of [...this.#streams]) h2.cut();
    this.#streams.clear();
    if (!this.#guarded.sealed) this.socket.destroy();
    // After our GOAWAY the socket lingers, but the listener no longer ticks this connection: a
    // timer of its own ends the linger (only connections we closed for cause have one).
    else if (!this.socket.destroyed) setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
    this.#onClosed(this);
  }

  /**
   * SIGTERM, a retired worker, a listener leaving the config: GOAWAY with the last stream we
   * took; streams in flight finish, then the connection closes (RFC 9113 §6.8's graceful close).
   */
  drain(): void {
    // A session nghttp2 or we already ended (its close not seen yet) has nothing to drain.
    if (this.draining || this.#closed || this.#session.destroyed || this.#guarded.sealed) return;
    this.draining = true;
    // Two steps, as nginx and h2o do: a GOAWAY that refuses nothing yet (last stream 2^31-1),
    // so that requests already on the wire are served; a second later, the real one.
    this.#session.goaway(constants.NGHTTP2_NO_ERROR, 0x7fffffff);
    this.#arm(DeadlineKind.CLIENT_IDLE, DRAIN_NOTICE_MS);
  }

  #log(status: number, detail: string, termination: Termination): void {
    const fe = this.#frontEnd();
    fe.logRefusal(this.peerAddress, status, detail, termination, this.#guard.bytes, 0, performance.now() - this.#openedAt);
  }

  /** A throw of ours (a bug): contained to its stream (or this connection), logged; the worker serves on. */
  fault(error: unknown, h2: H2Stream | null): void {
    this.ctx.fault(error, { virtualService: this.#source.service.name, client: this.peerAddress });
    try {
      if (h2 !== null) {
        h2.failed(error);
        return;
      }
      this.#goaway(constants.NGHTTP2_INTERNAL_ERROR, 'internal error');
    } catch {
      this.socket.destroy();
    }
  }
}
