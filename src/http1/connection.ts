/**
 * One HTTP/1.1 client connection: it reads request heads and bodies off the socket, makes an
 * Exchange of each request, writes what the exchange answers, and keeps the connection's own
 * state: its input buffer, pipelining, keep-alive, the client's deadlines, draining, and the
 * tunnel after a 101. It is the exchange's Downstream; the HTTP/2 front end will be another.
 *
 * Pipelining is serialised, as HAProxy does: the next request is parsed only when the current
 * exchange has ended, which keeps responses in order without buffering them.
 *
 * Kept in one class on purpose: every hop through a stream, promise or per-request object costs
 * throughput (the brief's measurements), so the state lives in plain fields and the socket events
 * call straight into it.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { STATUS_CODES } from 'node:http';
import { CHUNKED_ERROR, CHUNKED_NEED_MORE, ChunkedDecoder, type ChunkSink } from '../http/chunked.ts';
import { PARSE_ERRORS, ParseError } from '../http/parse-error.ts';
import { BodyKind, findRequestHeadEnd, parseRequestHead } from '../http/request-head.ts';
import type { ResponseHead } from '../http/response-head.ts';
import { writeClientResponseHead } from '../http/rewrite.ts';
import { DeadlineKind } from '../exchange/deadline.ts';
import { EMPTY_BODY } from '../exchange/body-phase.ts';
import { Exchange } from '../exchange/exchange.ts';
import { Termination } from '../exchange/termination.ts';
import type { Downstream, LocalAnswer, UpstreamResponseHead } from '../exchange/types.ts';
import type { HttpFrontEnd } from '../frontend/http-front-end.ts';
import type { VirtualService } from '../frontend/virtual-service.ts';
import { normaliseAddress } from '../ip/client-address.ts';
import { ClientKeySlot } from '../persistence/client-key-slot.ts';
import { clientCertificateOf, type ClientCertificate } from '../tls/client-certificate.ts';
import type { EngineContext } from '../worker/engine-context.ts';

/** Bytes we hold from a client while a request is in flight before we stop reading (pipelining). */
const MAX_PENDING = 64 * 1024;
/** After we answered and closed our side, keep reading this long so the client sees the answer, not a reset. */
const LINGER_MS = 2000;
/**
 * On drain, how long an idle keep-alive connection may still send one request (answered with
 * Connection: close) before we close it. Closing it at once would race a request the client is
 * sending at that instant, which then fails with "other side closed" (seen in the reload tests
 * about once per 5,000 requests); a client in a request loop sends well within a second.
 */
const DRAIN_IDLE_MS = 1000;
/**
 * A request body must move by this much within each timeouts.clientBody (or finish): a client
 * that trickles a byte now and then cannot hold a connection (and a real server's slot) for ever.
 * 4 KiB per 30 s is 136 bytes/s, far below any real link (Apache's mod_reqtimeout asks 500).
 */
const BODY_PROGRESS_BYTES = 4096;
const CRLF_LAST_CHUNK = '\r\n0\r\n\r\n';

/** Whatever supplies the current virtual service of the listener (it changes on reload). */
export interface ServiceSource {
  readonly service: VirtualService;
}

const Phase = { READ_HEAD: 0, EXCHANGE: 1, TUNNEL: 2, CLOSED: 3 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

const kConn = Symbol('fulcrum.http1');
type TaggedSocket = Socket & { [kConn]: Http1Connection };

/** A malformed chunk in a request body: 400 while nothing of the response has gone, else a cut. */
function badChunk(ex: Exchange): void {
  const reason = PARSE_ERRORS[ParseError.BAD_CHUNK]!.reason;
  if (!ex.responseStarted) return ex.fail(Termination.CLIENT_BAD_REQUEST, reason, true, 400);
  ex.abort(Termination.CLIENT_BAD_REQUEST, reason);
}

export class Http1Connection implements Downstream {
  readonly socket: Socket;
  /** The peer's address (or the PROXY header's), IPv4-mapped normalised. */
  readonly peerAddress: string;
  /** Read by the TLS front end once, at the handshake (null: plain HTTP, or no clientAuth). */
  readonly clientCertificate: ClientCertificate | null;
  readonly #source: ServiceSource;
  readonly #ctx: EngineContext;
  readonly #onClosed: (c: Http1Connection) => void;

  #phase: Phase = Phase.READ_HEAD;
  /** The client side's deadline (head, idle, body, linger) and the upstream side's (connect, response). */
  deadline = 0;
  deadlineKind: DeadlineKind = DeadlineKind.NONE;
  upstreamDeadline = 0;
  upstreamDeadlineKind: DeadlineKind = DeadlineKind.NONE;
  /** Client bytes received and not yet consumed: a partial head, pipelined requests, early body. */
  #pending: Buffer | null = null;
  #clientPaused = false;
  #clientEnded = false;
  /** Set by drain(): every response from now on closes the connection. */
  #draining = false;
  #keys: ClientKeySlot | null = null;

  // The exchange in flight, and its request body as this connection frames it.
  #ex: Exchange | null = null;
  #fe: HttpFrontEnd | null = null;
  #headStartedAt = 0;
  #reqBodyKind: BodyKind = BodyKind.NONE;
  #reqRemaining = 0;
  #reqBodyDone = true;
  #reqChunked: ChunkedDecoder | null = null;
  #bodyProgress = 0;
  /** The upstream said its buffer is full: wait for resumeRequest. */
  #bodyBlocked = false;
  /** The response must close the connection (set with its head). */
  #closeAfter = false;
  #dechunk = false;
  /** This request's body passes through request-body filters: decoded to payload, framed again. */
  #filtering = false;
  /** Request-body filters have been given some of this request's body. */
  #filterFed = false;
  #payloadSink: ChunkSink | null = null;
  /** The response body passes through response-body filters: we frame it (framePayload). */
  #filtered = false;
  /** ... chunked, by us; or close-delimited (HTTP/1.0 client, no Content-Length). */
  #chunkOut = false;
  #closeDelimited = false;

  /**
   * `clientIp` and `initial` come from a PROXY protocol header (src/proxy-protocol/accept.ts):
   * the client's address it carried, and the bytes that followed it in the same read. A socket
   * handed over paused is resumed here, once those bytes are dealt with.
   */
  constructor(socket: Socket, source: ServiceSource, ctx: EngineContext, onClosed: (c: Http1Connection) => void, clientIp: string | null = null, initial: Buffer | null = null) {
    this.socket = socket;
    this.#source = source;
    this.#ctx = ctx;
    this.#onClosed = onClosed;
    this.peerAddress = normaliseAddress(clientIp ?? socket.remoteAddress ?? '');
    this.clientCertificate = clientCertificateOf(socket);
    (socket as TaggedSocket)[kConn] = this;
    socket.setNoDelay(true);
    socket.on('data', onClientData);
    socket.on('end', onClientEnd);
    socket.on('drain', onClientDrain);
    socket.on('error', onClientError);
    socket.on('close', onClientClose);
    // From the accept: a connection that never sends a byte is cut like a slow head (slowloris).
    this.#arm(DeadlineKind.CLIENT_HEADER, this.#frontEnd().timeouts.clientHeader);
    if (initial !== null) onClientData.call(socket as TaggedSocket, initial);
    if (socket.isPaused() && !this.#clientPaused) socket.resume();
  }

  #frontEnd(): HttpFrontEnd {
    return this.#source.service.http!;
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

  armUpstream(kind: DeadlineKind, ms: number): void {
    this.upstreamDeadlineKind = kind;
    this.upstreamDeadline = Date.now() + ms;
  }

  disarmUpstream(): void {
    this.upstreamDeadlineKind = DeadlineKind.NONE;
    this.upstreamDeadline = 0;
  }

  /** The worker's tick: a deadline of either side has passed. */
  onTick(now: number): void {
    if (this.deadline !== 0 && this.deadline <= now) this.#onDeadline();
    if (this.upstreamDeadline !== 0 && this.upstreamDeadline <= now) {
      const kind = this.upstreamDeadlineKind;
      this.disarmUpstream();
      const ex = this.#ex;
      if (ex !== null && ex.upstream !== null) this.#guard(() => ex.upstream!.onDeadline(kind));
    }
  }

  #onDeadline(): void {
    const kind = this.deadlineKind;
    this.#disarm();
    switch (kind) {
      case DeadlineKind.CLIENT_HEADER:
        if (this.#phase !== Phase.READ_HEAD) break;
        if (this.#pending !== null && this.#pending.length > 0) {
          this.#refuseHead(408, 'client sent its request head too slowly', Termination.CLIENT_TIMEOUT, this.#pending.length);
        } else {
          this.socket.destroy();
        }
        break;
      case DeadlineKind.CLIENT_IDLE:
      case DeadlineKind.LINGER:
        this.socket.destroy();
        break;
      case DeadlineKind.CLIENT_BODY: {
        const ex = this.#ex;
        if (ex === null || this.#reqBodyDone) break;
        // Paused by us (the server or the queue is slow), the wait is not the client's: the
        // upstream side's deadline judges that.
        if (this.#clientPaused) {
          this.#arm(DeadlineKind.CLIENT_BODY, this.#fe!.timeouts.clientBody);
          break;
        }
        ex.fail(Termination.CLIENT_TIMEOUT, 'client stopped sending the request body', true);
        break;
      }
    }
  }

  // ---- client side ---------------------------------------------------------------------

  onClientData(chunk: Buffer): void {
    this.#ctx.noteRead(chunk.length);
    switch (this.#phase) {
      case Phase.READ_HEAD: {
        const pending = this.#pending;
        this.#readHead(pending === null ? chunk : Buffer.concat([pending, chunk]), pending?.length ?? 0);
        return;
      }
      case Phase.EXCHANGE: {
        const upstream = this.#ex?.upstream ?? null;
        if (!this.#reqBodyDone && upstream !== null && upstream.writable && this.#pending === null && !this.#bodyBlocked) this.#forwardBody(chunk, 0);
        else this.#stash(chunk);
        return;
      }
      case Phase.TUNNEL: {
        const ex = this.#ex;
        if (ex?.upstream != null && !ex.upstream.tunnel(chunk)) this.#pauseClient();
        return;
      }
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
    const fe = this.#frontEnd();
    const limits = fe.limits;
    if (scanFrom === 0) {
      // The request's first byte: its duration (access log) counts from here, as HAProxy's Tq
      // does, and so does its head deadline, whatever arrives in between.
      this.#headStartedAt = performance.now();
      if (this.deadlineKind !== DeadlineKind.CLIENT_HEADER) this.#arm(DeadlineKind.CLIENT_HEADER, fe.timeouts.clientHeader);
    }
    const end = findRequestHeadEnd(data, 0, scanFrom);
    const headEnd = end < 0 ? -1 : end - 2;
    if (headEnd < 0) {
      if (data.length > limits.maxHeaderBytes) return this.#refuseParse(ParseError.HEADERS_TOO_LARGE, data.length);
      const early = earlyHeadError(data, scanFrom, limits.maxUriBytes);
      if (early !== ParseError.NONE) return this.#refuseParse(early, data.length);
      this.#pending = data === this.#pending ? data : Buffer.from(data);
      return;
    }
    if (headEnd + 4 > limits.maxHeaderBytes) return this.#refuseParse(ParseError.HEADERS_TOO_LARGE, data.length);
    const fields = this.#ctx.tables.acquire();
    const head = this.#ctx.heads.acquire();
    const error = parseRequestHead(data, 0, headEnd + 2, head, fields, limits);
    if (error !== ParseError.NONE) {
      this.#ctx.tables.release(fields);
      this.#ctx.heads.release(head);
      return this.#refuseParse(error, data.length);
    }
    this.#pending = null;
    this.#disarm();

    // How much of the body came with the head: it leaves in the same write as the head, unless
    // request-body filters must see it (then it waits in #pending like any later body byte).
    const bodyStart = head.end;
    let bodyEnd = bodyStart;
    this.#reqBodyKind = head.bodyKind;
    this.#filtering = head.bodyKind !== BodyKind.NONE && fe.chain.requestBody.length > 0;
    this.#filterFed = false;
    if (this.#filtering) {
      this.#reqRemaining = head.contentLength;
      this.#reqBodyDone = false;
      if (head.bodyKind === BodyKind.CHUNKED) (this.#reqChunked ??= new ChunkedDecoder()).reset((this.#payloadSink ??= { onChunkData: (buf, start, end) => this.#requestPayload(buf, start, end) }));
    } else if (head.bodyKind === BodyKind.LENGTH) {
      bodyEnd = Math.min(data.length, bodyStart + head.contentLength);
      this.#reqRemaining = head.contentLength - (bodyEnd - bodyStart);
      this.#reqBodyDone = this.#reqRemaining === 0;
    } else if (head.bodyKind === BodyKind.CHUNKED) {
      const decoder = (this.#reqChunked ??= new ChunkedDecoder());
      decoder.reset(null);
      const r = decoder.feed(data, bodyStart, data.length);
      if (r === CHUNKED_ERROR) {
        this.#ctx.tables.release(fields);
        this.#ctx.heads.release(head);
        return this.#refuseParse(ParseError.BAD_CHUNK, data.length);
      }
      bodyEnd = r === CHUNKED_NEED_MORE ? data.length : r;
      this.#reqBodyDone = r !== CHUNKED_NEED_MORE;
    } else {
      this.#reqBodyDone = true;
    }
    if (bodyEnd < data.length) this.#pending = Buffer.from(data.subarray(bodyEnd));
    this.#bodyProgress = 0;
    this.#bodyBlocked = false;
    this.#closeAfter = false;
    this.#dechunk = false;
    this.#filtered = false;
    this.#chunkOut = false;
    this.#closeDelimited = false;

    const client = fe.clientOf(this.peerAddress, head, fields);
    let keys = this.#keys;
    if (keys === null || keys.clientIp !== client) keys = this.#keys = new ClientKeySlot(client);
    const target = fe.ctx.accessLog === null ? '' : head.target;
    const ex = new Exchange(this, fe, head, fields, keys, client, this.peerAddress, target, this.#headStartedAt);
    ex.keepAlive = head.keepAlive && !this.#draining;
    ex.bytesIn = bodyStart;
    ex.earlyBody = bodyEnd > bodyStart ? data.subarray(bodyStart, bodyEnd) : null;
    ex.bodyBytes = head.bodyKind === BodyKind.CHUNKED && !this.#filtering ? this.#reqChunked!.payloadBytes : bodyEnd - bodyStart;
    ex.earlyBodyComplete = this.#reqBodyDone;
    this.#ex = ex;
    this.#fe = fe;
    this.#phase = Phase.EXCHANGE;
    if (!this.#reqBodyDone) this.#arm(DeadlineKind.CLIENT_BODY, fe.timeouts.clientBody);
    ex.start();
  }

  #refuseParse(error: ParseError, bytesIn: number): void {
    const info = PARSE_ERRORS[error]!;
    this.#refuseHead(info.status, info.reason, Termination.CLIENT_BAD_REQUEST, bytesIn);
  }

  /** Refuse a head that never parsed (parse errors, 408): no exchange; one log line; close. */
  #refuseHead(status: number, reason: string, termination: Termination, bytesIn: number): void {
    const fe = this.#frontEnd();
    this.#pending = null;
    const answer = fe.errorAnswer(status, reason);
    const bytesOut = this.#writeLocal(answer, true, false);
    fe.logRefusal(this.peerAddress, status, reason, termination, bytesIn, bytesOut, performance.now() - (this.#headStartedAt || performance.now()));
    this.#closeGracefully();
  }

  #closeGracefully(): void {
    this.#phase = Phase.CLOSED;
    this.#resumeClient();
    this.socket.end();
    this.#arm(DeadlineKind.LINGER, LINGER_MS);
  }

  onClientEnd(): void {
    this.#clientEnded = true;
    switch (this.#phase) {
      case Phase.READ_HEAD:
      case Phase.CLOSED:
        this.socket.destroy();
        return;
      case Phase.EXCHANGE:
        // A half-close ends the client's requests, not its interest in the answers: requests it
        // pipelined before the FIN are still answered (as nginx and Node do); #nextRequest closes
        // once none is left.
        // (Body bytes still waiting for request-body filters are judged once they have passed: #filterBody.)
        if (!this.#reqBodyDone && !(this.#filtering && this.#pending !== null)) this.#ex?.abort(Termination.CLIENT_ABORTED, 'client closed before sending the whole request body');
        return;
      case Phase.TUNNEL:
        this.#ex?.upstream?.endTunnel();
        return;
    }
  }

  onClientDrain(): void {
    this.#ex?.upstream?.onDownstreamDrain();
  }

  onClientClose(): void {
    const wasPhase = this.#phase;
    this.#phase = Phase.CLOSED;
    this.#disarm();
    this.disarmUpstream();
    const ex = this.#ex;
    this.#ex = null;
    if (ex !== null) {
      if (wasPhase === Phase.EXCHANGE) ex.clientGone();
      else if (wasPhase === Phase.TUNNEL) ex.upstream?.cancel();
    }
    this.#pending = null;
    this.#onClosed(this);
  }

  // ---- the request body ------------------------------------------------------------------

  #forwardBody(buf: Buffer, start: number): void {
    if (this.#filtering) return this.#filterBody(buf, start);
    const ex = this.#ex!;
    let end: number;
    if (this.#reqBodyKind === BodyKind.LENGTH) {
      end = Math.min(buf.length, start + this.#reqRemaining);
      this.#reqRemaining -= end - start;
      this.#reqBodyDone = this.#reqRemaining === 0;
    } else {
      const r = this.#reqChunked!.feed(buf, start, buf.length);
      if (r === CHUNKED_ERROR) return badChunk(ex);
      end = r === CHUNKED_NEED_MORE ? buf.length : r;
      this.#reqBodyDone = r !== CHUNKED_NEED_MORE;
    }
    const slice = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
    ex.bodyBytes = this.#reqBodyKind === BodyKind.LENGTH ? ex.bodyBytes + (end - start) : this.#reqChunked!.payloadBytes;
    if (end < buf.length) this.#stash(buf.subarray(end));
    const upstream = ex.upstream!;
    if (end > start && !upstream.sendBody(slice, this.#reqBodyDone)) {
      this.#bodyBlocked = true;
      this.#pauseClient();
    } else if (end === start && this.#reqBodyDone) {
      upstream.sendBody(slice, true);
    }
    this.#noteBodyProgress(end - start);
  }

  /**
   * The request body for request-body filters: its payload goes to the exchange (which frames
   * what they pass on for the real server); a filter that stops, or a full real server, pauses
   * us through pauseRequest.
   */
  #filterBody(buf: Buffer, start: number): void {
    const ex = this.#ex!;
    this.#filterFed = true;
    let end: number;
    if (this.#reqBodyKind === BodyKind.LENGTH) {
      end = Math.min(buf.length, start + this.#reqRemaining);
      this.#reqRemaining -= end - start;
      this.#reqBodyDone = this.#reqRemaining === 0;
      if (end < buf.length) this.#stash(buf.subarray(end));
      ex.bodyBytes += end - start;
      if (end > start || this.#reqBodyDone) ex.requestBody(start === 0 && end === buf.length ? buf : buf.subarray(start, end), this.#reqBodyDone);
    } else {
      // Payload reaches the exchange through #requestPayload as it is decoded.
      const r = this.#reqChunked!.feed(buf, start, buf.length);
      if (ex.ended) return;
      if (r === CHUNKED_ERROR) return badChunk(ex);
      end = r === CHUNKED_NEED_MORE ? buf.length : r;
      this.#reqBodyDone = r !== CHUNKED_NEED_MORE;
      if (end < buf.length) this.#stash(buf.subarray(end));
      if (this.#reqBodyDone) ex.requestBody(EMPTY_BODY, true);
    }
    if (ex.ended) return;
    if (this.#clientEnded && !this.#reqBodyDone && this.#pending === null) return ex.abort(Termination.CLIENT_ABORTED, 'client closed before sending the whole request body');
    this.#noteBodyProgress(end - start);
  }

  #requestPayload(buf: Buffer, start: number, end: number): void {
    const ex = this.#ex;
    if (ex === null || ex.ended || end === start) return;
    ex.bodyBytes += end - start;
    ex.requestBody(buf.subarray(start, end), false);
  }

  #noteBodyProgress(bytes: number): void {
    if (this.#reqBodyDone) {
      if (this.deadlineKind === DeadlineKind.CLIENT_BODY) this.#disarm();
      return;
    }
    this.#bodyProgress += bytes;
    if (this.#bodyProgress >= BODY_PROGRESS_BYTES) {
      this.#bodyProgress = 0;
      this.#arm(DeadlineKind.CLIENT_BODY, this.#fe!.timeouts.clientBody);
    }
  }

  // ---- Downstream: what the exchange and its upstream ask of us ------------------------------------

  wantsPayload(ex: Exchange, res: ResponseHead): boolean {
    // An HTTP/1.0 client cannot read chunked framing: it gets the payload, the connection closes.
    this.#dechunk = ex.http10 && res.bodyKind === BodyKind.CHUNKED;
    return this.#dechunk;
  }

  sendInformational(ex: Exchange, buf: Buffer, start: number, end: number): void {
    // 1xx informational: an HTTP/1.0 client must not get them.
    if (!ex.http10) this.#write(ex, buf.subarray(start, end));
  }

  sendResponseHead(ex: Exchange, res: UpstreamResponseHead, bodyStart: number, bodyEnd: number, upgrade: boolean): boolean {
    const head = res.head;
    // A close-delimited body can reach the client only by closing; so can a de-chunked one.
    // So must the last answer to a client that half-closed. (Draining clears keepAlive.)
    const closeDelimited = this.#filtered ? this.#closeDelimited : head.bodyKind === BodyKind.UNTIL_CLOSE || this.#dechunk;
    const mustClose = !ex.keepAlive || this.#draining || closeDelimited || (this.#clientEnded && this.#pending === null);
    this.#closeAfter = mustClose;
    const connection = upgrade ? 'upgrade' : mustClose ? 'close' : ex.http10 ? 'keep-alive' : '';
    const { buf, headLength } = writeClientResponseHead(res.buf, res.from, head, res.fields, connection, this.#dechunk, bodyEnd - bodyStart, res.additions);
    res.buf.copy(buf, headLength, bodyStart, bodyEnd);
    const room = this.#write(ex, buf);
    if (!upgrade) return room;
    this.#phase = Phase.TUNNEL;
    this.#disarm();
    const pending = this.#pending;
    this.#pending = null;
    if (pending !== null) ex.upstream?.tunnel(pending);
    this.#resumeClient();
    return room;
  }

  sendResponseBody(ex: Exchange, chunk: Buffer): boolean {
    ex.bytesOut += chunk.length;
    return this.socket.write(chunk);
  }

  framePayload(ex: Exchange, res: UpstreamResponseHead, length: number): void {
    this.#filtered = true;
    // The real server's chunked framing is not passed on: the payload is framed again, here.
    this.#dechunk = res.head.bodyKind === BodyKind.CHUNKED;
    if (length >= 0) return;
    if (ex.http10) {
      this.#closeDelimited = true;
    } else {
      this.#chunkOut = true;
      res.additions += 'Transfer-Encoding: chunked\r\n';
    }
  }

  sendPayload(ex: Exchange, chunk: Buffer, last: boolean): boolean {
    const socket = this.socket;
    if (!this.#chunkOut) {
      if (chunk.length === 0) return true;
      ex.bytesOut += chunk.length;
      return socket.write(chunk);
    }
    if (chunk.length === 0) {
      if (!last) return true;
      ex.bytesOut += 5;
      return socket.write('0\r\n\r\n', 'latin1');
    }
    // Size line, payload, CRLF (and the last chunk): one writev, the payload not copied.
    const size = `${chunk.length.toString(16)}\r\n`;
    const tail = last ? CRLF_LAST_CHUNK : '\r\n';
    ex.bytesOut += size.length + chunk.length + tail.length;
    socket.cork();
    socket.write(size, 'latin1');
    socket.write(chunk);
    const room = socket.write(tail, 'latin1');
    socket.uncork();
    return room;
  }

  #write(ex: Exchange, buf: Buffer): boolean {
    ex.bytesOut += buf.length;
    return this.socket.write(buf);
  }

  sendLocal(ex: Exchange, answer: LocalAnswer): boolean {
    this.#skipBufferedBody();
    const close = answer.close || !this.#reqBodyDone || !ex.keepAlive || this.#draining || (this.#clientEnded && this.#pending === null);
    ex.bytesOut += this.#writeLocal(answer, close, ex.method === 'HEAD');
    return close;
  }

  /**
   * A request whose body request-body filters were to see, answered before they saw any of it
   * (a deny, a 429, a rule's respond, a 503): when its whole body is already read, it is passed
   * over here and the connection stays open for the next request, as it does without body
   * filters (where that body left with the head). Otherwise the connection closes.
   */
  #skipBufferedBody(): void {
    const pending = this.#pending;
    if (!this.#filtering || this.#filterFed || this.#reqBodyDone || pending === null) return;
    let end: number;
    if (this.#reqBodyKind === BodyKind.LENGTH) {
      if (pending.length < this.#reqRemaining) return;
      end = this.#reqRemaining;
    } else {
      const scan = new ChunkedDecoder();
      scan.reset(null);
      end = scan.feed(pending, 0, pending.length);
      if (end < 0) return; // CHUNKED_NEED_MORE, CHUNKED_ERROR
    }
    this.#pending = end < pending.length ? pending.subarray(end) : null;
    this.#reqRemaining = 0;
    this.#reqBodyDone = true;
  }

  /** Encode and write an answer of our own; returns the bytes written. */
  #writeLocal(answer: LocalAnswer, close: boolean, headOnly: boolean): number {
    let head = `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? 'Unknown'}\r\n`;
    for (const [name, value] of answer.headers) head += `${name}: ${value}\r\n`;
    head += `Content-Length: ${answer.body.length}\r\nConnection: ${close ? 'close' : 'keep-alive'}\r\n\r\n`;
    // A response to HEAD has no body (RFC 9110 §9.3.2), ours included: the head, with its
    // Content-Length, is all the client reads before its next response.
    const bytes = headOnly || answer.body.length === 0 ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), answer.body]);
    this.socket.write(bytes);
    return bytes.length;
  }

  done(ex: Exchange, close: boolean): void {
    // Nothing reads an ended exchange's head: the next request anywhere in this worker parses into it.
    if (ex === this.#ex) this.#ctx.heads.release(ex.head);
    this.#ex = null;
    this.disarmUpstream();
    if (this.#phase !== Phase.EXCHANGE) return; // cut meanwhile
    this.#skipBufferedBody();
    if (close || this.#closeAfter || !this.#reqBodyDone) {
      this.#pending = null;
      return this.#closeGracefully();
    }
    this.#nextRequest();
  }

  abort(_ex: Exchange): void {
    if (this.#phase === Phase.CLOSED) return;
    this.#phase = Phase.CLOSED;
    this.#ex = null;
    this.disarmUpstream();
    this.socket.destroy();
  }

  tunnelClosed(_ex: Exchange): void {
    this.socket.end();
  }

  pauseRequest(ex: Exchange): void {
    if (ex !== this.#ex) return;
    this.#bodyBlocked = true;
    this.#pauseClient();
  }

  /** The upstream can take body bytes (connected, or drained): send what we held back, read on. */
  resumeRequest(ex: Exchange): void {
    if (ex !== this.#ex || ex.requestBodyHeld) return;
    this.#bodyBlocked = false;
    if (this.#phase === Phase.EXCHANGE && !this.#reqBodyDone) {
      const pending = this.#pending;
      if (pending !== null) {
        this.#pending = null;
        this.#forwardBody(pending, 0);
        if (this.#bodyBlocked) return;
      }
    }
    if (this.#phase === Phase.TUNNEL || !this.#reqBodyDone) this.#resumeClient();
  }

  #nextRequest(): void {
    this.#phase = Phase.READ_HEAD;
    const pending = this.#pending;
    this.#resumeClient();
    if (pending !== null) {
      this.#pending = null;
      this.#readHead(pending, 0);
      // A partial head after the client's FIN can never complete.
      if (this.#clientEnded && this.#phase === Phase.READ_HEAD) this.socket.destroy();
    } else if (this.#clientEnded) {
      this.#closeGracefully();
    } else {
      this.#arm(DeadlineKind.CLIENT_IDLE, this.#frontEnd().timeouts.clientIdle);
    }
  }

  /**
   * SIGTERM, a worker retired by a reload, or a listener whose address left the config: the
   * request in flight (or the next one, on an idle connection) is answered with Connection: close.
   */
  drain(): void {
    this.#draining = true;
    if (this.#ex !== null) this.#ex.keepAlive = false;
    if (this.#phase !== Phase.READ_HEAD || this.#pending !== null) return;
    const soonest = Date.now() + DRAIN_IDLE_MS;
    if (this.deadlineKind !== DeadlineKind.CLIENT_IDLE || this.deadline > soonest) this.#arm(DeadlineKind.CLIENT_IDLE, DRAIN_IDLE_MS);
  }

  /** A throw inside this connection's handlers (a bug): contained to it, logged; the worker serves on. */
  onFault(error: unknown): void {
    this.#ctx.fault(error, { virtualService: this.#source.service.name, client: this.peerAddress });
    const ex = this.#ex;
    if (ex !== null && !ex.ended && !ex.responseStarted) {
      try {
        ex.fail(Termination.INTERNAL_ERROR, `internal error: ${error instanceof Error ? error.message : String(error)}`, true);
        return;
      } catch {
        // fall through: cut
      }
    }
    this.socket.destroy();
  }

  #guard(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.onFault(error);
    }
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
  // The target is what follows the method (any token, however long: maxHeaderBytes bounds it);
  // SP target SP "HTTP/1.1" is at most maxUriBytes + 10.
  const methodEnd = data.indexOf(0x20);
  const afterMethod = lineLength - (methodEnd < 0 || methodEnd > lineLength ? lineLength : methodEnd);
  if (afterMethod > maxUriBytes + 10) return ParseError.URI_TOO_LONG;
  return ParseError.NONE;
}

function onClientData(this: TaggedSocket, chunk: Buffer): void {
  const conn = this[kConn];
  try {
    conn.onClientData(chunk);
  } catch (error) {
    // The engine must never take the worker down; this exchange is lost, the others are not.
    conn.onFault(error);
  }
}

function onClientEnd(this: TaggedSocket): void {
  const conn = this[kConn];
  try {
    conn.onClientEnd();
  } catch (error) {
    conn.onFault(error);
  }
}

function onClientDrain(this: TaggedSocket): void {
  const conn = this[kConn];
  try {
    conn.onClientDrain();
  } catch (error) {
    conn.onFault(error);
  }
}

function onClientError(this: TaggedSocket): void {
  // 'close' follows; ECONNRESET from clients is routine and not worth a log line.
}

function onClientClose(this: TaggedSocket): void {
  const conn = this[kConn];
  try {
    conn.onClientClose();
  } catch (error) {
    conn.onFault(error);
  }
}
