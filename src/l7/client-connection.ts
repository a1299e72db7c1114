import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CHUNKED_ERROR, CHUNKED_NEED_MORE, ChunkedDecoder, type ChunkSink } from '../http/chunked.ts';
import { NO_REAL_SERVER, errorResponse } from '../http/error-response.ts';
import { isIdempotent } from '../http/methods.ts';
import { PARSE_ERRORS, ParseError } from '../http/parse-error.ts';
import { BodyKind, findRequestHeadEnd, parseRequestHead } from '../http/request-head.ts';
import { parseResponseHead } from '../http/response-head.ts';
import { writeClientResponseHead, writeUpstreamRequestHead } from '../http/rewrite.ts';
import { PersistSlot, type Persistence } from '../persistence/persistence.ts';
import type { RealServer } from '../upstream/real-server.ts';
import type { UpstreamConnection, UpstreamOwner } from '../upstream/upstream-connection.ts';
import type { EngineContext } from './engine-context.ts';
import { DeadlineKind, Phase } from './exchange-state.ts';
import type { VirtualService } from './virtual-service.ts';

/**
 * One client connection and the exchange in flight on it: parse a request head, pick a real
 * server, forward head and body, relay the response, repeat. This is the hot path, kept in one
 * class on purpose: every hop through a stream, promise or per-request object costs throughput
 * (see docs/architecture.md and the BRIEF's measurements), so the state lives in plain fields and
 * the socket events call straight into it.
 */

const CRLFCRLF = Buffer.from('\r\n\r\n');
/** Bytes we hold from a client while a request is in flight before we stop reading (pipelining). */
const MAX_PENDING = 64 * 1024;
/** A response head larger than this is refused as a bad gateway (HAProxy's default bufsize is 16 KiB). */
const MAX_RESPONSE_HEAD = 64 * 1024;
const MAX_RESPONSE_FIELDS = 256;
/** After we answered and closed our side, keep reading this long so the client sees the answer, not a reset. */
const LINGER_MS = 2000;
/**
 * On drain, how long an idle keep-alive connection may still send one request (answered with
 * Connection: close) before we close it. Closing it at once would race a request the client is
 * sending at that instant, which then fails with "other side closed" (seen in the reload tests
 * about once per 5,000 requests); a client in a request loop sends well within a second.
 */
const DRAIN_IDLE_MS = 1000;

/** Whatever supplies the current virtual service of the listener (it changes on reload). */
export interface ServiceSource {
  readonly service: VirtualService;
}

const kConn = Symbol('fulcrum.client');
type TaggedSocket = Socket & { [kConn]: ClientConnection };

export class ClientConnection implements UpstreamOwner, ChunkSink {
  readonly socket: Socket;
  readonly clientIp: string;
  readonly #source: ServiceSource;
  readonly #ctx: EngineContext;
  readonly #onClosed: (c: ClientConnection) => void;

  phase: Phase = Phase.READ_HEAD;
  deadline = 0;
  deadlineKind: DeadlineKind = DeadlineKind.NONE;
  /** Client bytes received and not yet consumed: a partial head, pipelined requests, early body. */
  #pending: Buffer | null = null;
  #clientPaused = false;
  #clientEnded = false;
  /** Set by drain(): every response from now on closes the connection. */
  #draining = false;

  // The request in flight (valid in EXCHANGE and TUNNEL).
  #vs: VirtualService | null = null;
  #method = 'GET';
  #path = '';
  #http10 = false;
  #keepAlive = true;
  #upgrade = false;
  #reqBodyKind: BodyKind = BodyKind.NONE;
  #reqRemaining = 0;
  #reqBodyDone = true;
  #reqChunked: ChunkedDecoder | null = null;
  /** Head and first body bytes as sent; kept while the request could still be replayed elsewhere. */
  #firstWrite: Buffer | null = null;
  #upstreamWritable = false;
  #attempts = 0;
  #tried: RealServer[] | null = null;
  #freshConnectionOnly = false;
  #server: RealServer | null = null;
  #up: UpstreamConnection | null = null;
  /** The virtual service's persistence for the request in flight; null when it has none (then nothing below is touched). */
  #persistence: Persistence | null = null;
  /** This client's persistence keys; made at its first request to a service with persistence. */
  #persist: PersistSlot | null = null;
  #startedAt = 0;
  #bytesIn = 0;
  #bytesOut = 0;

  // The response being relayed.
  #resStarted = false;
  #resBuf: Buffer | null = null;
  #resBodyKind: BodyKind = BodyKind.NONE;
  #resRemaining = 0;
  #resChunked: ChunkedDecoder | null = null;
  #dechunk = false;
  #resReusable = false;
  #closeAfter = false;
  #status = 0;
  #sent1xx = false;
  #upstreamPaused = false;

  /**
   * `clientIp` and `initial` come from a PROXY protocol header (src/proxy-protocol/accept.ts):
   * the client's address it carried, and the bytes that followed it in the same read. A socket
   * handed over paused is resumed here, once those bytes are dealt with.
   */
  constructor(
    socket: Socket,
    source: ServiceSource,
    ctx: EngineContext,
    onClosed: (c: ClientConnection) => void,
    clientIp: string | null = null,
    initial: Buffer | null = null,
  ) {
    this.socket = socket;
    this.#source = source;
    this.#ctx = ctx;
    this.#onClosed = onClosed;
    const remote = clientIp ?? socket.remoteAddress ?? '';
    this.clientIp = remote.startsWith('::ffff:') ? remote.slice(7) : remote;
    this.#pickContext = { clientAddress: this.clientIp, exclude: null };
    (socket as TaggedSocket)[kConn] = this;
    socket.setNoDelay(true);
    socket.on('data', onClientData);
    socket.on('end', onClientEnd);
    socket.on('drain', onClientDrain);
    socket.on('error', onClientError);
    socket.on('close', onClientClose);
    this.#arm(DeadlineKind.CLIENT_HEADER, source.service.timeouts.clientHeader);
    if (initial !== null) onClientData.call(socket as TaggedSocket, initial);
    if (socket.isPaused() && !this.#clientPaused) socket.resume();
  }

  // ---- deadlines -------------------------------------------------------------------------

  #arm(kind: DeadlineKind, ms: number): void {
    this.deadlineKind = kind;
    this.deadline = Date.now() + ms;
  }

  #disarm(): void {
    this.deadlineKind = DeadlineKind.NONE;
    this.deadline = 0;
  }

  /** Called by the worker's timer when `deadline` has passed. */
  onDeadline(): void {
    const kind = this.deadlineKind;
    this.#disarm();
    switch (kind) {
      case DeadlineKind.CLIENT_HEADER:
        if (this.phase === Phase.CLOSED) break;
        if (this.#pending !== null && this.#pending.length > 0) {
          this.#refuseHead(408, 'client sent its request head too slowly', this.#pending.length);
        } else {
          this.socket.destroy();
        }
        break;
      case DeadlineKind.CLIENT_IDLE:
        this.socket.destroy();
        break;
      case DeadlineKind.CONNECT:
        if (this.#up !== null && !this.#up.connected) {
          this.#up.error = 'connect timeout';
          this.#up.destroy();
        }
        break;
      case DeadlineKind.EXCHANGE:
        this.#onExchangeTimeout();
        break;
    }
  }

  // ---- client side ---------------------------------------------------------------------

  onClientData(chunk: Buffer): void {
    this.#ctx.noteRead(chunk.length);
    switch (this.phase) {
      case Phase.READ_HEAD:
        this.#readHead(this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]), this.#pending?.length ?? 0);
        return;
      case Phase.EXCHANGE:
        if (!this.#reqBodyDone && this.#upstreamWritable && this.#pending === null) {
          this.#forwardBody(chunk, 0);
        } else {
          this.#stash(chunk);
        }
        return;
      case Phase.TUNNEL:
        this.#bytesIn += chunk.length;
        if (this.#up !== null && !this.#up.socket.write(chunk)) this.#pauseClient();
        return;
      default:
        return; // CLOSED: lingering, discard
    }
  }

  #stash(chunk: Buffer): void {
    // Copy: a chunk from the socket is a view into a 64 KiB slab that must not be pinned.
    this.#pending = this.#pending === null ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk]);
    if (this.#pending.length >= MAX_PENDING) this.#pauseClient();
  }

  #pauseClient(): void {
    if (!this.#clientPaused) {
      this.#clientPaused = true;
      this.socket.pause();
    }
  }

  #resumeClient(): void {
    if (this.#clientPaused) {
      this.#clientPaused = false;
      this.socket.resume();
    }
  }

  /** `data` holds a request head from offset 0; `scanFrom` is where earlier searches stopped. */
  #readHead(data: Buffer, scanFrom: number): void {
    // The request's duration (access log) counts from its first byte, as HAProxy's Tq does.
    if (scanFrom === 0) this.#startedAt = performance.now();
    const vs = this.#source.service;
    const limits = vs.limits;
    const end = findRequestHeadEnd(data, 0, scanFrom);
    const headEnd = end < 0 ? -1 : end - 2;
    if (headEnd < 0) {
      if (data.length > limits.maxHeaderBytes) return this.#refuseParse(ParseError.HEADERS_TOO_LARGE, data.length);
      const early = earlyHeadError(data, scanFrom, limits.maxUriBytes);
      if (early !== ParseError.NONE) return this.#refuseParse(early, data.length);
      if (this.deadlineKind !== DeadlineKind.CLIENT_HEADER) this.#arm(DeadlineKind.CLIENT_HEADER, vs.timeouts.clientHeader);
      this.#pending = data === this.#pending ? data : Buffer.from(data);
      return;
    }
    if (headEnd + 4 > limits.maxHeaderBytes) return this.#refuseParse(ParseError.HEADERS_TOO_LARGE, data.length);
    const ctx = this.#ctx;
    const head = ctx.request;
    const error = parseRequestHead(data, 0, headEnd + 2, head, ctx.fields, limits);
    if (error !== ParseError.NONE) return this.#refuseParse(error, data.length);
    this.#pending = null;
    this.#vs = vs;
    this.#method = head.method;
    this.#path = ctx.accessLog === null ? '' : head.target;
    this.#http10 = head.http10;
    this.#keepAlive = head.keepAlive && !this.#draining;
    this.#upgrade = head.isUpgrade;
    this.#reqBodyKind = head.bodyKind;
    this.#bytesOut = 0;
    this.#attempts = 0;
    this.#tried = null;
    this.#freshConnectionOnly = false;
    this.#resetResponse();
    const persistence = vs.persistence;
    this.#persistence = persistence;
    if (persistence !== null) persistence.read((this.#persist ??= new PersistSlot(this.clientIp)), head, ctx.fields);

    // How much of the body came with the head: it leaves in the same write as the head.
    const bodyStart = head.end;
    let bodyEnd = bodyStart;
    if (head.bodyKind === BodyKind.LENGTH) {
      bodyEnd = Math.min(data.length, bodyStart + head.contentLength);
      this.#reqRemaining = head.contentLength - (bodyEnd - bodyStart);
      this.#reqBodyDone = this.#reqRemaining === 0;
    } else if (head.bodyKind === BodyKind.CHUNKED) {
      const decoder = (this.#reqChunked ??= new ChunkedDecoder());
      decoder.reset(null);
      const r = decoder.feed(data, bodyStart, data.length);
      if (r === CHUNKED_ERROR) return this.#refuse(400, PARSE_ERRORS[ParseError.BAD_CHUNK]!.reason);
      bodyEnd = r === CHUNKED_NEED_MORE ? data.length : r;
      this.#reqBodyDone = r !== CHUNKED_NEED_MORE;
    } else {
      this.#reqBodyDone = true;
    }
    const { buf, headLength } = writeUpstreamRequestHead(head, ctx.fields, this.clientIp, vs.policy, bodyEnd - bodyStart);
    data.copy(buf, headLength, bodyStart, bodyEnd);
    this.#bytesIn = bodyEnd; // the rest, if any, is the next pipelined request
    this.#firstWrite = buf;
    if (bodyEnd < data.length) this.#pending = Buffer.from(data.subarray(bodyEnd));
    this.phase = Phase.EXCHANGE;
    this.#dispatch();
  }

  #refuseParse(error: ParseError, bytesIn: number): void {
    const info = PARSE_ERRORS[error]!;
    this.#refuseHead(info.status, info.reason, bytesIn);
  }

  /**
   * Refuse a head that never parsed. Method and target are blanked: the fields still hold the
   * previous request's, and the access log must not pin this refusal on them.
   */
  #refuseHead(status: number, reason: string, bytesIn: number): void {
    this.#method = '';
    this.#path = '';
    this.#bytesIn = bytesIn;
    this.#refuse(status, reason);
  }

  /** Answer a request we refuse ourselves (parse errors, 408) and close. */
  #refuse(status: number, reason: string): void {
    const vs = this.#source.service;
    this.#status = status;
    this.#bytesOut = 0;
    this.#pending = null;
    this.#writeToClient(errorResponse(status, vs.name, reason, true));
    this.#log(vs, null, reason);
    this.#closeGracefully();
  }

  #closeGracefully(): void {
    this.phase = Phase.CLOSED;
    this.#resumeClient();
    this.socket.end();
    this.#arm(DeadlineKind.CLIENT_IDLE, LINGER_MS);
  }

  onClientEnd(): void {
    this.#clientEnded = true;
    switch (this.phase) {
      case Phase.READ_HEAD:
      case Phase.CLOSED:
        this.socket.destroy();
        return;
      case Phase.EXCHANGE:
        // A half-close ends the client's requests, not its interest in the answers: requests it
        // pipelined before the FIN are still answered (as nginx and Node do); #nextRequest closes
        // once none is left.
        if (!this.#reqBodyDone) this.#abort('client closed before sending the whole request body');
        return;
      case Phase.TUNNEL:
        this.#up?.socket.end();
        return;
    }
  }

  onClientDrain(): void {
    if (this.#upstreamPaused && this.#up !== null) {
      this.#upstreamPaused = false;
      this.#up.socket.resume();
    }
  }

  onClientClose(): void {
    const wasPhase = this.phase;
    this.phase = Phase.CLOSED;
    this.#disarm();
    if (wasPhase === Phase.EXCHANGE) {
      this.#releaseServer();
      this.#log(this.#vs!, this.#server, this.#status === 0 ? 'client closed the connection' : 'client closed mid-response');
      this.#dropUpstream();
    } else if (wasPhase === Phase.TUNNEL) {
      this.#releaseServer();
      this.#dropUpstream();
    }
    this.#pending = null;
    this.#onClosed(this);
  }

  // ---- choosing and reaching a real server --------------------------------------------------

  #dispatch(): void {
    const vs = this.#vs!;
    const pick = this.#pickContext;
    pick.exclude = this.#tried;
    const persistence = this.#persistence;
    const server = persistence === null ? vs.pick(pick) : persistence.pick(this.#persist!, pick);
    if (server === null) {
      if (this.#tried === null) return this.#failExchange(vs.notAvailableStatus, NO_REAL_SERVER, false, vs.notAvailable);
      const reason = `no other real server to retry on (tried ${this.#tried.map((s) => s.id).join(', ')})`;
      return this.#failExchange(502, this.#lastError || reason);
    }
    this.#attempts++;
    this.#server = server;
    this.#serverCounted = server;
    server.inflight++;
    server.requests++;
    const pool = server.pool!;
    let up: UpstreamConnection;
    if (this.#freshConnectionOnly) {
      this.#freshConnectionOnly = false;
      up = pool.connectFresh(this);
    } else {
      up = pool.acquire(this);
    }
    this.#up = up;
    if (up.connected) {
      this.onUpstreamConnect(up);
    } else {
      this.#arm(DeadlineKind.CONNECT, vs.timeouts.connect);
    }
  }

  #lastError = '';
  /** Reused for every pick on this connection: one object per connection, not per request. */
  readonly #pickContext: { clientAddress: string; exclude: RealServer[] | null };

  onUpstreamConnect(up: UpstreamConnection): void {
    if (up !== this.#up) return;
    this.#upstreamWritable = true;
    this.#arm(DeadlineKind.EXCHANGE, this.#vs!.timeouts.response);
    const first = this.#firstWrite!;
    up.socket.write(first);
    if (this.#reqBodyDone) {
      // Replayable only when nothing more than this first write is needed: the whole request.
      if (!isIdempotent(this.#method)) this.#firstWrite = null;
      return;
    }
    this.#firstWrite = null;
    const pending = this.#pending;
    if (pending !== null) {
      this.#pending = null;
      this.#forwardBody(pending, 0);
    }
    this.#resumeClient();
  }

  #forwardBody(buf: Buffer, start: number): void {
    let end: number;
    if (this.#reqBodyKind === BodyKind.LENGTH) {
      end = Math.min(buf.length, start + this.#reqRemaining);
      this.#reqRemaining -= end - start;
      this.#reqBodyDone = this.#reqRemaining === 0;
    } else {
      const r = this.#reqChunked!.feed(buf, start, buf.length);
      if (r === CHUNKED_ERROR) {
        if (!this.#resStarted) return this.#failExchange(400, PARSE_ERRORS[ParseError.BAD_CHUNK]!.reason, true);
        return this.#abort(PARSE_ERRORS[ParseError.BAD_CHUNK]!.reason);
      }
      end = r === CHUNKED_NEED_MORE ? buf.length : r;
      this.#reqBodyDone = r !== CHUNKED_NEED_MORE;
    }
    const up = this.#up!;
    this.#bytesIn += end - start;
    if (end > start && !up.socket.write(start === 0 && end === buf.length ? buf : buf.subarray(start, end))) {
      this.#pauseClient();
    }
    if (end < buf.length) this.#stash(buf.subarray(end));
    this.#arm(DeadlineKind.EXCHANGE, this.#vs!.timeouts.response);
  }

  onUpstreamDrain(up: UpstreamConnection): void {
    if (up === this.#up && (this.phase === Phase.TUNNEL || !this.#reqBodyDone)) this.#resumeClient();
  }

  // ---- the response --------------------------------------------------------------------------

  onUpstreamData(up: UpstreamConnection, chunk: Buffer): void {
    this.#ctx.noteRead(chunk.length);
    if (up !== this.#up) return;
    if (this.phase === Phase.TUNNEL) {
      this.#bytesOut += chunk.length;
      if (!this.socket.write(chunk)) this.#pauseUpstream();
      return;
    }
    if (this.deadlineKind === DeadlineKind.EXCHANGE) this.deadline = Date.now() + this.#vs!.timeouts.response;
    if (!this.#resStarted) {
      const data = this.#resBuf === null ? chunk : Buffer.concat([this.#resBuf, chunk]);
      this.#resBuf = null;
      this.#readResponseHead(data, 0);
    } else {
      this.#relayBody(chunk, 0);
    }
  }

  #readResponseHead(data: Buffer, from: number): void {
    const ctx = this.#ctx;
    const res = ctx.response;
    for (;;) {
      const headEnd = data.indexOf(CRLFCRLF, from);
      if (headEnd < 0) {
        if (data.length - from > MAX_RESPONSE_HEAD) return this.#badGateway('response head from real server too large');
        this.#resBuf = Buffer.from(data.subarray(from));
        return;
      }
      // Checked here too: a head that arrives in one read never takes the partial-head branch above.
      if (headEnd + 4 - from > MAX_RESPONSE_HEAD) return this.#badGateway('response head from real server too large');
      const error = parseResponseHead(data, from, headEnd + 2, res, ctx.fields, MAX_RESPONSE_FIELDS, this.#method === 'HEAD');
      if (error !== ParseError.NONE) return this.#badGateway('invalid response head from real server');
      const status = res.status;
      if (status >= 200) break;
      if (status === 101) {
        if (!this.#upgrade) return this.#badGateway('real server switched protocols without an upgrade request');
        return this.#startTunnel(data, from);
      }
      // 1xx informational (100 Continue, 103 Early Hints): relayed as is; HTTP/1.0 clients must not get them.
      if (!this.#http10) this.#writeToClient(data.subarray(from, res.end));
      this.#sent1xx = true;
      from = res.end;
      if (from === data.length) return;
    }

    this.#resStarted = true;
    this.#firstWrite = null;
    this.#status = res.status;
    if (res.status >= 500) this.#vs!.noteFailure(this.#server!, `HTTP ${res.status}`);
    else this.#vs!.noteSuccess(this.#server!);
    this.#resBodyKind = res.bodyKind;
    this.#resRemaining = res.contentLength;
    this.#resReusable = res.reusable;
    this.#dechunk = this.#http10 && res.bodyKind === BodyKind.CHUNKED;
    // A close-delimited body can reach the client only by closing; so can a de-chunked one.
    // So must the last answer to a client that half-closed. (Draining clears #keepAlive.)
    const mustClose =
      !this.#keepAlive || res.bodyKind === BodyKind.UNTIL_CLOSE || this.#dechunk || (this.#clientEnded && this.#pending === null);
    this.#closeAfter = mustClose;
    const connection = mustClose ? 'close' : this.#http10 ? 'keep-alive' : '';

    const bodyStart = res.end;
    let passEnd = bodyStart; // body bytes that travel in the same write as the head
    let complete = false;
    switch (res.bodyKind) {
      case BodyKind.NONE:
        complete = true;
        break;
      case BodyKind.LENGTH:
        passEnd = Math.min(data.length, bodyStart + res.contentLength);
        this.#resRemaining -= passEnd - bodyStart;
        complete = this.#resRemaining === 0;
        break;
      case BodyKind.CHUNKED:
        if (!this.#dechunk) {
          const decoder = (this.#resChunked ??= new ChunkedDecoder());
          decoder.reset(null);
          const r = decoder.feed(data, bodyStart, data.length);
          if (r === CHUNKED_ERROR) return this.#badGateway('invalid chunked body from real server');
          passEnd = r === CHUNKED_NEED_MORE ? data.length : r;
          complete = r !== CHUNKED_NEED_MORE;
        }
        break;
      case BodyKind.UNTIL_CLOSE:
        passEnd = data.length;
        break;
    }
    const persistence = this.#persistence;
    const addFields = persistence === null ? '' : persistence.respond(this.#persist!, data, ctx.fields, this.#server!);
    const { buf, headLength } = writeClientResponseHead(data, from, res, ctx.fields, connection, this.#dechunk, passEnd - bodyStart, addFields);
    data.copy(buf, headLength, bodyStart, passEnd);
    this.#writeToClient(buf);
    if (this.#dechunk) {
      const decoder = (this.#resChunked ??= new ChunkedDecoder());
      decoder.reset(this);
      return this.#relayBody(data, bodyStart);
    }
    if (passEnd < data.length && res.bodyKind !== BodyKind.UNTIL_CLOSE) this.#resReusable = false; // stray bytes
    if (complete) this.#finishExchange();
  }

  #relayBody(chunk: Buffer, start: number): void {
    let end: number;
    let complete = false;
    switch (this.#resBodyKind) {
      case BodyKind.LENGTH:
        end = Math.min(chunk.length, start + this.#resRemaining);
        this.#resRemaining -= end - start;
        complete = this.#resRemaining === 0;
        break;
      case BodyKind.CHUNKED: {
        const r = this.#resChunked!.feed(chunk, start, chunk.length);
        if (r === CHUNKED_ERROR) return this.#abort('invalid chunked body from real server');
        end = r === CHUNKED_NEED_MORE ? chunk.length : r;
        complete = r !== CHUNKED_NEED_MORE;
        if (this.#dechunk) {
          if (complete) this.#finishExchange();
          return;
        }
        break;
      }
      default:
        end = chunk.length;
    }
    if (end > start) this.#writeToClient(start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end));
    if (end < chunk.length) this.#resReusable = false;
    if (complete) this.#finishExchange();
  }

  /** ChunkSink: payload bytes of a chunked response, de-chunked for an HTTP/1.0 client. */
  onChunkData(buf: Buffer, start: number, end: number): void {
    if (end > start) this.#writeToClient(buf.subarray(start, end));
  }

  #writeToClient(buf: Buffer): void {
    this.#bytesOut += buf.length;
    if (!this.socket.write(buf)) this.#pauseUpstream();
  }

  #pauseUpstream(): void {
    const up = this.#up;
    if (up !== null && !this.#upstreamPaused) {
      this.#upstreamPaused = true;
      up.socket.pause();
    }
  }

  #startTunnel(data: Buffer, from: number): void {
    const ctx = this.#ctx;
    const res = ctx.response;
    this.phase = Phase.TUNNEL;
    this.#status = 101;
    this.#resStarted = true;
    this.#firstWrite = null;
    this.#disarm();
    const after = data.length - res.end;
    const persistence = this.#persistence;
    const addFields = persistence === null ? '' : persistence.respond(this.#persist!, data, ctx.fields, this.#server!);
    const { buf, headLength } = writeClientResponseHead(data, from, res, ctx.fields, 'upgrade', false, after, addFields);
    data.copy(buf, headLength, res.end, data.length);
    this.#writeToClient(buf);
    this.#log(this.#vs!, this.#server, '');
    const pending = this.#pending;
    this.#pending = null;
    if (pending !== null) this.#up!.socket.write(pending);
    this.#resumeClient();
  }

  onUpstreamClose(up: UpstreamConnection): void {
    if (up !== this.#up) return;
    this.#up = null;
    this.#upstreamWritable = false;
    this.#upstreamPaused = false;
    if (this.phase === Phase.TUNNEL) {
      this.socket.end();
      return;
    }
    if (this.phase !== Phase.EXCHANGE) return;
    const server = this.#server!;
    if (!this.#resStarted) {
      if (!up.connected) {
        const timedOut = up.error === 'connect timeout';
        this.#lastError = `${timedOut ? 'timed out connecting' : 'could not connect'} to real server ${server.id}${timedOut ? '' : ` (${up.error ?? 'closed'})`}`;
        return this.#retryOrFail(timedOut ? 504 : 502, true);
      }
      if (up.uses > 0 && this.#firstWrite !== null && !this.#sent1xx) {
        // A pooled connection the server had already closed: the keep-alive race. The request is
        // idempotent and whole in #firstWrite, so replay it on a fresh connection to the same server.
        this.#lastError = `reused connection to real server ${server.id} closed before a response`;
        this.#releaseServer();
        this.#freshConnectionOnly = true;
        return this.#dispatchTo(server);
      }
      this.#lastError = `real server ${server.id} closed the connection without a response${up.error ? ` (${up.error})` : ''}`;
      return this.#retryOrFail(502, this.#firstWrite !== null && !this.#sent1xx);
    }
    if (this.#resBodyKind === BodyKind.UNTIL_CLOSE) {
      this.#resReusable = false;
      return this.#finishExchange();
    }
    this.#abort(`real server ${server.id} closed the connection mid-response`);
  }

  #dispatchTo(server: RealServer): void {
    this.#attempts++;
    this.#server = server;
    this.#serverCounted = server;
    server.inflight++;
    const up = server.pool!.connectFresh(this);
    this.#up = up;
    this.#freshConnectionOnly = false;
    this.#arm(DeadlineKind.CONNECT, this.#vs!.timeouts.connect);
  }

  /** The attempt failed before any response; try another real server when allowed. */
  #retryOrFail(status: number, replayable: boolean): void {
    const server = this.#server!;
    this.#releaseServer();
    const vs = this.#vs!;
    vs.noteFailure(server, this.#lastError);
    if (replayable && this.#attempts <= vs.retries) {
      (this.#tried ??= []).push(server);
      this.#upstreamWritable = false;
      return this.#dispatch();
    }
    this.#failExchange(status, this.#lastError);
  }

  #onExchangeTimeout(): void {
    if (this.phase !== Phase.EXCHANGE) return;
    const server = this.#server;
    // A paused side means we were waiting for the other one to read: blame the right party.
    if (this.#resStarted) {
      return this.#abort(this.#upstreamPaused ? 'client stopped reading the response' : `real server ${server?.id ?? '?'} stalled mid-response`);
    }
    if (!this.#reqBodyDone) {
      if (!this.#clientPaused || !this.#upstreamWritable) return this.#failExchange(408, 'client stopped sending the request body', true);
      this.#lastError = `real server ${server?.id ?? '?'} stopped reading the request body`;
      this.#dropUpstream();
      this.#releaseServer();
      return this.#failExchange(504, this.#lastError, true);
    }
    this.#lastError = `real server ${server?.id ?? '?'} did not respond within ${this.#vs!.timeouts.response} ms`;
    if (server !== null) this.#vs!.noteFailure(server, this.#lastError);
    this.#dropUpstream();
    this.#releaseServer();
    this.#failExchange(504, this.#lastError);
  }

  #badGateway(reason: string): void {
    this.#lastError = reason;
    if (this.#server !== null) this.#vs!.noteFailure(this.#server, reason);
    this.#dropUpstream();
    this.#releaseServer();
    this.#failExchange(502, reason);
  }

  /**
   * End the exchange with an answer of our own (no response bytes reached the client yet).
   * The connection survives when the request was read whole.
   */
  #failExchange(status: number, reason: string, forceClose = false, answer: readonly [Buffer, Buffer] | null = null): void {
    if (this.#resStarted) return this.#abort(reason);
    this.#dropUpstream();
    this.#releaseServer();
    const close = forceClose || !this.#reqBodyDone || !this.#keepAlive || (this.#clientEnded && this.#pending === null);
    this.#status = status;
    const response = answer === null ? errorResponse(status, this.#vs!.name, reason, close) : answer[close ? 1 : 0]!;
    // A response to HEAD has no body (RFC 9110 §9.3.2), ours included: the head, with its
    // Content-Length, is all the client reads before its next response.
    this.#writeToClient(this.#method === 'HEAD' ? response.subarray(0, response.indexOf(CRLFCRLF) + 4) : response);
    this.#log(this.#vs!, this.#server, reason);
    this.#server = null;
    if (close) {
      this.#pending = null;
      return this.#closeGracefully();
    }
    this.#nextRequest();
  }

  /** Something broke after the response started: all we can do is cut the client off. */
  #abort(reason: string): void {
    if (this.phase === Phase.CLOSED) return;
    this.#releaseServer();
    this.#log(this.#vs!, this.#server, reason);
    this.#dropUpstream();
    this.phase = Phase.CLOSED;
    this.socket.destroy();
  }

  #finishExchange(): void {
    const server = this.#server!;
    this.#releaseServer();
    this.#log(this.#vs!, server, '');
    const up = this.#up;
    this.#up = null;
    this.#upstreamWritable = false;
    if (up !== null) {
      if (this.#upstreamPaused) {
        this.#upstreamPaused = false;
        up.socket.resume();
      }
      if (this.#resReusable && this.#reqBodyDone && !up.closed) server.pool!.release(up, Date.now());
      else {
        up.owner = null;
        up.destroy();
      }
    }
    this.#server = null;
    if (this.#closeAfter || !this.#reqBodyDone) {
      this.#pending = null;
      return this.#closeGracefully();
    }
    this.#nextRequest();
  }

  #nextRequest(): void {
    this.phase = Phase.READ_HEAD;
    this.#firstWrite = null;
    const pending = this.#pending;
    this.#resumeClient();
    if (pending !== null) {
      this.#arm(DeadlineKind.CLIENT_HEADER, this.#source.service.timeouts.clientHeader);
      this.#pending = null;
      this.#readHead(pending, 0);
      // A partial head after the client's FIN can never complete.
      if (this.#clientEnded && this.phase === Phase.READ_HEAD) this.socket.destroy();
    } else if (this.#clientEnded) {
      this.#closeGracefully();
    } else {
      this.#arm(DeadlineKind.CLIENT_IDLE, this.#source.service.timeouts.clientIdle);
    }
  }

  #resetResponse(): void {
    this.#resStarted = false;
    this.#resBuf = null;
    this.#resBodyKind = BodyKind.NONE;
    this.#resRemaining = 0;
    this.#dechunk = false;
    this.#resReusable = false;
    this.#closeAfter = false;
    this.#status = 0;
    this.#sent1xx = false;
    this.#upstreamPaused = false;
    this.#upstreamWritable = false;
    this.#lastError = '';
  }

  /** The server no longer counts this request as in flight (exactly once per attempt). */
  #releaseServer(): void {
    const server = this.#server;
    if (server !== null && server.inflight > 0 && this.#serverCounted === server) {
      server.inflight--;
    }
    this.#serverCounted = null;
  }

  #serverCounted: RealServer | null = null;

  #dropUpstream(): void {
    const up = this.#up;
    this.#up = null;
    this.#upstreamWritable = false;
    if (up !== null) {
      up.owner = null;
      up.destroy();
    }
  }

  #log(vs: VirtualService, server: RealServer | null, error: string): void {
    const sink = this.#ctx.accessLog;
    if (sink === null) return;
    sink.log({
      client: this.clientIp,
      virtualService: vs.name,
      server: server === null ? '' : server.id,
      method: this.#method,
      path: this.#path,
      status: this.#status,
      bytesIn: this.#bytesIn,
      bytesOut: this.#bytesOut,
      durationMs: performance.now() - this.#startedAt,
      error,
    });
  }

  /**
   * SIGTERM, a worker retired by a reload, or a listener whose address left the config: the
   * request in flight (or the next one, on an idle connection) is answered with Connection: close.
   */
  drain(): void {
    this.#draining = true;
    this.#keepAlive = false;
    if (this.phase !== Phase.READ_HEAD || this.#pending !== null) return;
    const soonest = Date.now() + DRAIN_IDLE_MS;
    if (this.deadlineKind !== DeadlineKind.CLIENT_IDLE || this.deadline > soonest) this.#arm(DeadlineKind.CLIENT_IDLE, DRAIN_IDLE_MS);
  }
}

/**
 * Errors we can see before the head is complete: a bare LF, or a request line longer than the
 * URI limit allows (414 rather than waiting for 431 or a timeout).
 */
function earlyHeadError(data: Buffer, scanFrom: number, maxUriBytes: number): ParseError {
  for (let i = scanFrom > 0 ? scanFrom - 1 : 0; i < data.length; i++) {
    if (data[i] === 0x0a && (i === 0 || data[i - 1] !== 0x0d)) return ParseError.BARE_CR_OR_LF;
  }
  const lineEnd = data.indexOf(0x0d);
  const lineLength = lineEnd < 0 ? data.length : lineEnd;
  // method (<= 16) + SP + target + SP + "HTTP/1.1"
  if (lineLength > maxUriBytes + 32) return ParseError.URI_TOO_LONG;
  return ParseError.NONE;
}

function onClientData(this: TaggedSocket, chunk: Buffer): void {
  const conn = this[kConn];
  try {
    conn.onClientData(chunk);
  } catch (err) {
    // The engine must never take the worker down; this connection is lost, the others are not.
    process.emitWarning(`fulcrum: internal error on a client connection: ${(err as Error).stack ?? String(err)}`);
    this.destroy();
  }
}

function onClientEnd(this: TaggedSocket): void {
  this[kConn].onClientEnd();
}

function onClientDrain(this: TaggedSocket): void {
  this[kConn].onClientDrain();
}

function onClientError(this: TaggedSocket): void {
  // 'close' follows; ECONNRESET from clients is routine and not worth a log line.
}

function onClientClose(this: TaggedSocket): void {
  this[kConn].onClientClose();
}
