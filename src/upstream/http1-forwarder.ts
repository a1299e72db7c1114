/**
 * Carries one routed exchange to a real server over HTTP/1.1: asks the pool for a server (the one
 * pick path), takes a pooled keep-alive connection or opens one, writes the request head with the
 * body bytes that came with it, streams the rest of the body with backpressure, parses the
 * response head, and relays the response to the exchange's downstream, framed as the real server
 * framed it (or as payload, when the downstream asks).
 *
 * Failures and retries (docs/architecture.md, "Failures and retries"):
 * - connect refused, failed or timed out: nothing reached a server, so the request goes to another
 *   real server (`retries`, excluding servers already tried);
 * - a pooled connection that closes before any response byte (the keep-alive race, or a server
 *   that just died) replays the request once on a fresh connection, without spending a retry: a
 *   refused fresh connect then moves on to another server. Only an idempotent request whose whole
 *   head and body are still held may be replayed at all;
 * - a reset after the request was sent: another server, under the same rule.
 * Every ending carries a termination code; the client sees a short reason, the log the detail.
 *
 * Filters (src/exchange/filter.ts): a response-header filter that stops gets the head copied
 * out of the worker's scratch and the real server paused until `continueResponse`; a virtual
 * service with response-body filters gets its bodies as payload through the exchange
 * (`Exchange.responseBody`), the real server paused while they hold it. Without them, bodies are
 * relayed as the real server framed them, and one flag (`#special`) keeps that path apart.
 *
 * Kept in one class on purpose, like the connection it serves: every hop through a stream,
 * promise or per-request object costs throughput (bench: one object per request here, and the
 * socket events call straight in).
 */
import { CHUNKED_ERROR, CHUNKED_NEED_MORE, ChunkedDecoder, type ChunkSink } from '../http/chunked.ts';
import { FieldTable } from '../http/fields.ts';
import { isIdempotent } from '../http/methods.ts';
import { ParseError } from '../http/parse-error.ts';
import { BodyKind } from '../http/request-head.ts';
import { HeaderKind } from '../http/header-kind.ts';
import { ResponseHead, parseResponseHead } from '../http/response-head.ts';
import { writeUpstreamRequestHead, type RequestEdits } from '../http/rewrite.ts';
import { DeadlineKind } from '../exchange/deadline.ts';
import type { Exchange } from '../exchange/exchange.ts';
import { FilterStatus } from '../exchange/filter.ts';
import { H1Headers, type HeaderEdits, type MutableHeaders } from '../exchange/headers.ts';
import { Termination } from '../exchange/termination.ts';
import type { Upstream, UpstreamResponseHead } from '../exchange/types.ts';
import type { HttpFrontEnd } from '../frontend/http-front-end.ts';
import type { Pool } from '../pool/pool.ts';
import type { RealServer } from '../pool/real-server.ts';
import { FULL, type PoolWaiter } from '../pool/types.ts';
import type { UpstreamConnection, UpstreamOwner } from './upstream-connection.ts';

const CRLFCRLF = Buffer.from('\r\n\r\n');
/** A response head larger than this is refused as a bad gateway (HAProxy's default bufsize is 16 KiB). */
const MAX_RESPONSE_HEAD = 64 * 1024;
const MAX_RESPONSE_FIELDS = 256;
const NO_FIELDS: RequestEdits['added'] = [];
const CHUNKED_FIELD: RequestEdits['added'][number] = ['Transfer-Encoding', 'chunked'];
const CONTENT_LENGTH_LINE = /^content-length[ \t]*:[ \t]*(\d+)[ \t]*\r?$/im;
const EMPTY = Buffer.alloc(0);
/** The most of a request (head and body) kept to send again on another connection: HAProxy's l7-retries keep a buffer, 16 KiB by default; a PUT of a small document fits in 64 KiB. */
const REPLAY_LIMIT = 64 * 1024;
/** Errors of the connection itself; on a TLS server, anything else failed in its handshake (a certificate, a name, an alert). */
const SOCKET_ERRORS = new Set(['ECONNRESET', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ETIMEDOUT', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN']);
const NO_TABLE = new FieldTable(0);
/** Response head scratch of this worker: one per response being read at once (one, but for nesting). */
const SPARE_HEADS: ResponseHeadView[] = [];

/**
 * A response head while it is read and passed on (readResponseHead, synchronously): its parse
 * and the view filters and the downstream get. Scratch, taken from SPARE_HEADS and given back
 * when readResponseHead returns, so a response allocates neither; a head a filter holds past
 * that is copied out (`copy`).
 */
class ResponseHeadView implements UpstreamResponseHead {
  readonly head = new ResponseHead();
  buf: Buffer = EMPTY;
  from = 0;
  fields: FieldTable = NO_TABLE;
  additions = '';
  /** The view filters edit through (headers()); its additions join `additions` at flush(). */
  #headers: H1Headers | null = null;

  use(buf: Buffer, from: number, fields: FieldTable): this {
    this.buf = buf;
    this.from = from;
    this.fields = fields;
    this.additions = '';
    this.#headers = null;
    return this;
  }

  /** Drop the references to the read buffer and the table (both go on to other uses). */
  clear(): void {
    this.buf = EMPTY;
    this.fields = NO_TABLE;
    this.additions = '';
    this.#headers = null;
  }

  edit(edits: HeaderEdits): void {
    if (this.#headers !== null) {
      // Filters hold a view already: the same one, so their edits and these see each other.
      edits.apply(this.#headers);
      return;
    }
    const headers = new H1Headers(this.buf, this.fields);
    edits.apply(headers);
    this.additions += headers.additions();
  }

  headers(): MutableHeaders {
    return (this.#headers ??= new H1Headers(this.buf, this.fields));
  }

  /** Before the head is written: the lines filters added join `additions`. */
  flush(): void {
    const headers = this.#headers;
    if (headers === null) return;
    this.additions += headers.additions();
    this.#headers = null;
  }

  /**
   * After flush, for a body that passes through response-body filters: the Content-Length the
   * head declares (the real server's, kept, or one a filter set), or -1. A Content-Length that
   * did not frame the real server's body (chunked or close-delimited) is not passed on.
   */
  declaredLength(): number {
    const head = this.head;
    const fields = this.fields;
    for (let i = 0; i < fields.count; i++) {
      if (fields.kind[i] !== HeaderKind.CONTENT_LENGTH || fields.drop[i] === 1) continue;
      if (head.bodyKind === BodyKind.LENGTH) return head.contentLength;
      fields.drop[i] = 1;
    }
    const added = CONTENT_LENGTH_LINE.exec(this.additions);
    return added === null ? -1 : Number(added[1]);
  }

  /** An owned copy (the read buffer, the table, the filters' edits so far), for a head a filter holds. */
  copy(): ResponseHeadView {
    const owned = new ResponseHeadView();
    Object.assign(owned.head, this.head);
    const from = this.fields;
    const fields = new FieldTable(from.capacity);
    fields.count = from.count;
    fields.lineStart.set(from.lineStart);
    fields.nameEnd.set(from.nameEnd);
    fields.valueStart.set(from.valueStart);
    fields.valueEnd.set(from.valueEnd);
    fields.lineEnd.set(from.lineEnd);
    fields.kind.set(from.kind);
    fields.drop.set(from.drop);
    // The whole read, so the offsets hold and the body bytes that came with the head stay.
    owned.use(Buffer.from(this.buf), this.from, fields);
    owned.additions = this.additions;
    const headers = this.#headers;
    if (headers !== null) {
      // The filters' view itself moves to the copy: one they kept still edits the head that is sent.
      headers.moveTo(owned.buf, fields);
      owned.#headers = headers;
      this.#headers = null;
    }
    return owned;
  }
}

export class Http1Forwarder implements Upstream, UpstreamOwner, ChunkSink, PoolWaiter {
  readonly #ex: Exchange;
  readonly #fe: HttpFrontEnd;
  /** Head and first body bytes as sent; kept while the request could still be replayed elsewhere. */
  #firstWrite: Buffer | null = null;
  /**
   * An idempotent request whose body came after the head (through request-body filters): what
   * was written so far, kept until the body ends (then it is #firstWrite, the whole request, for
   * the stale-connection replay and retries), or dropped past REPLAY_LIMIT.
   */
  #replay: Buffer[] | null = null;
  #replayBytes = 0;
  #writable = false;
  #attempts = 0;
  /** The one free replay after a pooled connection failed before a response was spent. */
  #replayedStale = false;
  #freshOnly = false;
  #up: UpstreamConnection | null = null;
  /** The server whose in-flight count this attempt holds (released exactly once). */
  #counted: RealServer | null = null;
  #lastError = '';
  #lastTermination: Termination = Termination.NO_SERVER;
  /** The client sent its whole request (the downstream says so through sendBody(_, true)). */
  #bodyDone: boolean;
  #cancelled = false;

  // The response being relayed.
  #resStarted = false;
  #resBuf: Buffer | null = null;
  #resBodyKind: BodyKind = BodyKind.NONE;
  #resRemaining = 0;
  #resChunked: ChunkedDecoder | null = null;
  #payload = false;
  #resReusable = false;
  #sent1xx = false;
  #upstreamPaused = false;
  #tunnel = false;
  /** Not the plain relay: a tunnel, a head a filter holds, or a body through response-body filters. */
  #special = false;
  /** The response head, copied, while a response-header filter holds it; what the server sent meanwhile. */
  #heldHead: ResponseHeadView | null = null;
  #heldRest: Buffer[] | null = null;
  #closedWhileHeld = false;
  /** The body passes through response-body filters, as payload. */
  #filtering = false;
  /** The real server's side of the response is over (the body read whole, the connection let go). */
  #resDone = false;

  // PoolWaiter
  inQueue = false;
  queueDeadline = 0;

  constructor(ex: Exchange, fe: HttpFrontEnd) {
    this.#ex = ex;
    this.#fe = fe;
    this.#bodyDone = ex.head.bodyKind === BodyKind.NONE || ex.earlyBodyComplete;
  }

  get writable(): boolean {
    return this.#writable;
  }

  /** Encode the head (the parsed head's table goes back to the pool), then find a server. */
  start(): void {
    const ex = this.#ex;
    const early = ex.earlyBody;
    const extra = early === null ? 0 : early.length;
    const fields = ex.fields!;
    const head = ex.head;
    let edits: RequestEdits | null = null;
    const viewed = ex.editedRequestHeaders;
    if (ex.requestEdits !== null || ex.rewrittenTarget !== null || viewed !== null) {
      let added: RequestEdits['added'] = NO_FIELDS;
      if (ex.requestEdits !== null || viewed !== null) {
        const headers = viewed ?? new H1Headers(head.buf, fields);
        ex.requestEdits?.apply(headers);
        added = headers.added();
      }
      edits = { target: ex.rewrittenTarget, added };
    }
    if (head.bodyKind === BodyKind.CHUNKED) ex.chunkedToUpstream = true;
    else if (head.bodyKind === BodyKind.LENGTH && head.contentLengthField >= 0 && fields.drop[head.contentLengthField] === 1 && this.#fe.chain.requestBody.length > 0) {
      if (head.http10 && head.hostStart < 0) {
        // Sent on as HTTP/1.0 (no Host to make it 1.1): no chunked framing there, so the length stays.
        fields.drop[head.contentLengthField] = 0;
      } else {
        // A request-body filter removed Content-Length to resize the body: it goes chunked.
        ex.chunkedToUpstream = true;
        head.contentLengthField = -1;
        edits = { target: edits?.target ?? null, added: [...(edits?.added ?? NO_FIELDS), CHUNKED_FIELD] };
      }
    }
    const { buf, headLength } = writeUpstreamRequestHead(head, fields, ex.peerAddress, this.#fe.policy, extra, edits);
    if (early !== null) early.copy(buf, headLength);
    this.#firstWrite = buf;
    ex.earlyBody = null;
    ex.bytesIn += extra;
    this.#fe.releaseTables(ex);
    this.#dispatch();
  }

  // ---- choosing and reaching a real server --------------------------------------------------

  #dispatch(): void {
    const ex = this.#ex;
    // The clock is for persistence's expiry only: one call fewer per request without it.
    const picked = ex.pool.pick(ex, ex.pool.persistence === null ? 0 : Date.now());
    if (picked === FULL) {
      if (!ex.pool.enqueue(this, Date.now())) ex.fail(Termination.QUEUE_FULL, `every real server of pool "${ex.pool.name}" is at its maxConnections and the queue is full`);
      return;
    }
    if (picked === null) {
      if (ex.exclude === null) return ex.fail(Termination.NO_SERVER, 'no real server available');
      const tried = ex.exclude.map((s) => s.id).join(', ');
      return ex.fail(this.#lastTermination, this.#lastError || `no other real server to retry on (tried ${tried})`);
    }
    this.#connectTo(picked);
  }

  /** PoolWaiter: a slot may be free (in `pool`, the running pool of that name). */
  onPoolSlot(pool: Pool): boolean {
    const ex = this.#ex;
    if (this.#cancelled || ex.ended) return true;
    ex.pool = pool;
    const picked = pool.pick(ex, Date.now());
    if (picked === FULL) return false;
    if (picked === null) {
      ex.fail(Termination.NO_SERVER, 'no real server available');
      return true;
    }
    this.#connectTo(picked);
    return true;
  }

  onQueueTimeout(): void {
    const ex = this.#ex;
    if (this.#cancelled || ex.ended) return;
    ex.fail(Termination.QUEUE_TIMEOUT, `waited ${ex.pool.config.queue.timeout} ms for a real server of pool "${ex.pool.name}" below its maxConnections`);
  }

  #connectTo(server: RealServer): void {
    const ex = this.#ex;
    this.#attempts++;
    ex.server = server;
    this.#counted = server;
    ex.pool.take(server);
    const connections = ex.pool.connectionsOf(server);
    const up = this.#freshOnly ? connections.connectFresh(this) : connections.acquire(this);
    this.#freshOnly = false;
    this.#up = up;
    if (up.connected) this.onUpstreamConnect(up);
    else ex.downstream.armUpstream(DeadlineKind.CONNECT, this.#fe.timeouts.connect);
  }

  onUpstreamConnect(up: UpstreamConnection): void {
    if (up !== this.#up) return;
    const ex = this.#ex;
    this.#writable = true;
    ex.downstream.armUpstream(DeadlineKind.RESPONSE, this.#fe.timeouts.response);
    const first = this.#firstWrite!;
    up.socket.write(first);
    if (this.#bodyDone) {
      // Replayable only when nothing more than this first write is needed: the whole request.
      if (!isIdempotent(ex.method)) this.#firstWrite = null;
      return;
    }
    this.#firstWrite = null;
    if (isIdempotent(ex.method) && first.length <= REPLAY_LIMIT) {
      this.#replay = [first];
      this.#replayBytes = first.length;
    }
    // The downstream sends what it held back, then reads on.
    ex.downstream.resumeRequest(ex);
  }

  /** Request body bytes, as the downstream framed them. */
  sendBody(chunk: Buffer, end: boolean): boolean {
    if (end) this.#bodyDone = true;
    const up = this.#up;
    if (up === null) return true;
    const ex = this.#ex;
    ex.bytesIn += chunk.length;
    if (this.#replay !== null) this.#keepForReplay(chunk, end);
    if (chunk.length > 0 && !up.socket.write(chunk)) {
      // The server must read on within timeouts.response, or it is the one stalling.
      ex.downstream.armUpstream(DeadlineKind.RESPONSE, this.#fe.timeouts.response);
      return false;
    }
    if (end || ex.downstream.upstreamDeadlineKind === DeadlineKind.RESPONSE) ex.downstream.armUpstream(DeadlineKind.RESPONSE, this.#fe.timeouts.response);
    return true;
  }

  #keepForReplay(chunk: Buffer, end: boolean): void {
    this.#replayBytes += chunk.length;
    if (this.#replayBytes > REPLAY_LIMIT) {
      this.#replay = null;
      return;
    }
    // A copy: the chunk may be a view of a buffer its producer reuses.
    if (chunk.length > 0) this.#replay!.push(Buffer.from(chunk));
    if (!end) return;
    this.#firstWrite = Buffer.concat(this.#replay!, this.#replayBytes);
    this.#replay = null;
  }

  onUpstreamDrain(up: UpstreamConnection): void {
    if (up !== this.#up) return;
    if (this.#tunnel || !this.#bodyDone) this.#ex.downstream.resumeRequest(this.#ex);
  }

  tunnel(chunk: Buffer): boolean {
    this.#ex.bytesIn += chunk.length;
    const up = this.#up;
    return up === null || up.socket.write(chunk);
  }

  endTunnel(): void {
    this.#up?.socket.end();
  }

  // ---- the response --------------------------------------------------------------------------

  onUpstreamData(up: UpstreamConnection, chunk: Buffer): void {
    this.#fe.ctx.noteRead(chunk.length);
    if (up !== this.#up) return;
    const ex = this.#ex;
    if (this.#special) return this.#specialData(chunk);
    if (ex.downstream.upstreamDeadlineKind === DeadlineKind.RESPONSE) ex.downstream.armUpstream(DeadlineKind.RESPONSE, this.#fe.timeouts.response);
    if (!this.#resStarted) {
      const data = this.#resBuf === null ? chunk : Buffer.concat([this.#resBuf, chunk]);
      this.#resBuf = null;
      this.readResponseHead(data, 0);
    } else {
      this.#relayBody(chunk, 0);
    }
  }

  /** Real server bytes off the plain relay: a tunnel's, a held head's, a filtered body's. */
  #specialData(chunk: Buffer): void {
    const ex = this.#ex;
    if (this.#tunnel) {
      if (!ex.downstream.sendResponseBody(ex, chunk)) this.#pauseUpstream();
      return;
    }
    if (ex.downstream.upstreamDeadlineKind === DeadlineKind.RESPONSE) ex.downstream.armUpstream(DeadlineKind.RESPONSE, this.#fe.timeouts.response);
    if (this.#heldHead !== null) {
      // Read before the pause took hold: kept for when the head goes on.
      (this.#heldRest ??= []).push(Buffer.from(chunk));
      this.#pauseUpstream();
      return;
    }
    this.#filterBody(chunk, 0);
  }

  /** Public so that a test can make it throw (the fault containment test); nothing else calls it. */
  readResponseHead(data: Buffer, from: number): void {
    const ex = this.#ex;
    const view = SPARE_HEADS.pop() ?? new ResponseHeadView();
    const res = view.head;
    const fields = this.#fe.ctx.tables.acquire();
    view.use(data, from, fields);
    try {
      for (;;) {
        const headEnd = data.indexOf(CRLFCRLF, from);
        if (headEnd < 0) {
          if (data.length - from > MAX_RESPONSE_HEAD) return this.#badGateway('response head from real server too large');
          this.#resBuf = Buffer.from(data.subarray(from));
          return;
        }
        // Checked here too: a head that arrives in one read never takes the partial-head branch above.
        if (headEnd + 4 - from > MAX_RESPONSE_HEAD) return this.#badGateway('response head from real server too large');
        const error = parseResponseHead(data, from, headEnd + 2, res, fields, MAX_RESPONSE_FIELDS, ex.method === 'HEAD');
        if (error !== ParseError.NONE) return this.#badGateway('invalid response head from real server');
        const status = res.status;
        if (status >= 200) break;
        if (status === 101) {
          if (!ex.upgrade) return this.#badGateway('real server switched protocols without an upgrade request');
          return this.#startTunnel(data, from, view.use(data, from, fields));
        }
        // 1xx informational (100 Continue, 103 Early Hints): relayed as they come.
        ex.downstream.sendInformational(ex, data, from, res.end);
        this.#sent1xx = true;
        from = res.end;
        if (from === data.length) return;
      }
      this.#respond(data, from, view.use(data, from, fields));
    } finally {
      this.#fe.ctx.tables.release(fields);
      view.clear();
      if (SPARE_HEADS.length < 4) SPARE_HEADS.push(view);
    }
  }

  #respond(data: Buffer, from: number, view: ResponseHeadView): void {
    const res = view.head;
    const fields = view.fields;
    const ex = this.#ex;
    const server = ex.server!;
    this.#resStarted = true;
    this.#firstWrite = null;
    this.#replay = null;
    if (res.status >= 500) ex.pool.noteFailure(server, `HTTP ${res.status}`);
    else ex.pool.noteSuccess(server);
    this.#resBodyKind = res.bodyKind;
    this.#resRemaining = res.contentLength;
    this.#resReusable = res.reusable;
    if (ex.keys !== null) view.additions = ex.pool.respond(ex, data, fields, server, Date.now());
    if (ex.onResponseHead(view) !== FilterStatus.CONTINUE) {
      // A filter answered (the exchange is over) or holds the head: copy it out of the scratch
      // and stop reading the real server until continueResponse.
      if (ex.ended || this.#cancelled) return;
      const held = view.copy();
      this.#heldHead = held;
      this.#special = true;
      ex.response = held;
      this.#pauseUpstream();
      return;
    }
    this.#sendHead(data, view);
  }

  continueResponse(): void {
    const view = this.#heldHead;
    const ex = this.#ex;
    if (view === null || this.#cancelled || ex.ended) return;
    this.#heldHead = null;
    this.#special = false;
    const rest = this.#heldRest;
    this.#heldRest = null;
    this.#sendHead(view.buf, view);
    if (rest !== null) {
      for (const chunk of rest) {
        if (this.#cancelled || ex.ended || this.#resDone) return;
        if (this.#filtering) this.#filterBody(chunk, 0);
        else this.#relayBody(chunk, 0);
      }
    }
    if (this.#cancelled || ex.ended || this.#resDone) return;
    if (this.#closedWhileHeld) return this.#closedMidResponse();
    // Read on, unless a body filter holds the body now (a full client pauses it again on its next write).
    if (!ex.responseHeld) this.onDownstreamDrain();
  }

  /** The head goes to the client (its filters done), then the body bytes that came with it. */
  #sendHead(data: Buffer, view: ResponseHeadView): void {
    const res = view.head;
    const ex = this.#ex;
    view.flush();
    if (res.bodyKind !== BodyKind.NONE && this.#fe.chain.responseBody.length > 0) return this.#sendFilteredHead(data, view);
    this.#payload = res.bodyKind === BodyKind.CHUNKED && ex.downstream.wantsPayload(ex, res);

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
        if (!this.#payload) {
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
    ex.responseStarted = true;
    if (!ex.downstream.sendResponseHead(ex, view, bodyStart, passEnd, false)) this.#pauseUpstream();
    ex.response = null;
    if (this.#payload) {
      const decoder = (this.#resChunked ??= new ChunkedDecoder());
      decoder.reset(this);
      return this.#relayBody(data, bodyStart);
    }
    if (passEnd < data.length && res.bodyKind !== BodyKind.UNTIL_CLOSE) this.#resReusable = false; // stray bytes
    if (complete) this.#finish();
  }

  /**
   * A body for the response-body filters: the head goes alone, and every body byte (those that
   * came with it too) reaches the exchange as payload.
   */
  #sendFilteredHead(data: Buffer, view: ResponseHeadView): void {
    const res = view.head;
    const ex = this.#ex;
    const length = view.declaredLength();
    this.#filtering = true;
    this.#special = true;
    this.#payload = res.bodyKind === BodyKind.CHUNKED;
    ex.startResponseBody(length);
    ex.downstream.framePayload(ex, view, length);
    ex.responseStarted = true;
    if (!ex.downstream.sendResponseHead(ex, view, res.end, res.end, false)) this.#pauseUpstream();
    ex.response = null;
    if (this.#payload) {
      const decoder = (this.#resChunked ??= new ChunkedDecoder());
      decoder.reset({ onChunkData: (buf, start, end) => this.#filteredPayload(buf, start, end) });
    }
    this.#filterBody(data, res.end);
  }

  /** Body bytes (buf from `start`) for the response-body filters, as payload. */
  #filterBody(chunk: Buffer, start: number): void {
    const ex = this.#ex;
    switch (this.#resBodyKind) {
      case BodyKind.CHUNKED: {
        const r = this.#resChunked!.feed(chunk, start, chunk.length);
        if (this.#cancelled || ex.ended) return;
        if (r === CHUNKED_ERROR) return this.#abort(Termination.UPSTREAM_MALFORMED, 'invalid chunked body from real server');
        if (r === CHUNKED_NEED_MORE) return;
        if (r < chunk.length) this.#resReusable = false;
        this.#upstreamDone();
        this.#pushBody(EMPTY, true);
        return;
      }
      case BodyKind.LENGTH: {
        const end = Math.min(chunk.length, start + this.#resRemaining);
        this.#resRemaining -= end - start;
        const complete = this.#resRemaining === 0;
        if (end < chunk.length) this.#resReusable = false;
        if (complete) this.#upstreamDone();
        if (end > start || complete) this.#pushBody(start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end), complete);
        return;
      }
      default: // UNTIL_CLOSE: the close ends it (#closedMidResponse)
        if (chunk.length > start) this.#pushBody(start === 0 ? chunk : chunk.subarray(start), false);
    }
  }

  #filteredPayload(buf: Buffer, start: number, end: number): void {
    if (end > start && !this.#cancelled && !this.#ex.ended) this.#pushBody(buf.subarray(start, end), false);
  }

  #pushBody(chunk: Buffer, last: boolean): void {
    if (!this.#ex.responseBody(chunk, last)) this.#pauseUpstream();
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
        if (r === CHUNKED_ERROR) return this.#abort(Termination.UPSTREAM_MALFORMED, 'invalid chunked body from real server');
        end = r === CHUNKED_NEED_MORE ? chunk.length : r;
        complete = r !== CHUNKED_NEED_MORE;
        if (this.#payload) {
          if (complete) this.#finish();
          return;
        }
        break;
      }
      default:
        end = chunk.length;
    }
    const ex = this.#ex;
    if (end > start && !ex.downstream.sendResponseBody(ex, start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end))) this.#pauseUpstream();
    if (end < chunk.length) this.#resReusable = false;
    if (complete) this.#finish();
  }

  /** ChunkSink: payload bytes of a chunked response, for a downstream that wants the payload. */
  onChunkData(buf: Buffer, start: number, end: number): void {
    const ex = this.#ex;
    if (end > start && !ex.downstream.sendResponseBody(ex, buf.subarray(start, end))) this.#pauseUpstream();
  }

  #pauseUpstream(): void {
    const up = this.#up;
    if (up !== null && !this.#upstreamPaused) {
      this.#upstreamPaused = true;
      up.socket.pause();
    }
  }

  onDownstreamDrain(): void {
    if (this.#upstreamPaused && this.#up !== null) {
      this.#upstreamPaused = false;
      this.#up.socket.resume();
    }
  }

  #startTunnel(data: Buffer, from: number, view: ResponseHeadView): void {
    const res = view.head;
    const fields = view.fields;
    const ex = this.#ex;
    this.#tunnel = true;
    this.#special = true;
    this.#resStarted = true;
    this.#firstWrite = null;
    ex.status = 101;
    ex.responseStarted = true;
    ex.downstream.disarmUpstream();
    if (ex.keys !== null) view.additions = ex.pool.respond(ex, data, fields, ex.server!, Date.now());
    if (!ex.downstream.sendResponseHead(ex, view, res.end, data.length, true)) this.#pauseUpstream();
    ex.tunnelled();
  }

  // ---- failures ---------------------------------------------------------------------------------

  onUpstreamClose(up: UpstreamConnection): void {
    if (up !== this.#up) return;
    this.#up = null;
    this.#writable = false;
    this.#upstreamPaused = false;
    const ex = this.#ex;
    if (this.#tunnel) {
      this.#release();
      ex.downstream.tunnelClosed(ex);
      return;
    }
    if (ex.ended || this.#cancelled) return;
    const server = ex.server!;
    if (!this.#resStarted) {
      if (!up.connected) {
        const code = up.error;
        if (code === 'connect timeout') return this.#retryOrFail(Termination.UPSTREAM_CONNECT_TIMEOUT, `timed out connecting to real server ${server.id}`, true);
        const termination =
          code === 'ECONNREFUSED' ? Termination.UPSTREAM_CONNECT_REFUSED : server.tls !== null && code !== null && !SOCKET_ERRORS.has(code) ? Termination.UPSTREAM_TLS_FAILED : Termination.UPSTREAM_CONNECT_ERROR;
        return this.#retryOrFail(termination, `could not connect to real server ${server.id} (${code ?? 'closed'})`, true);
      }
      const whole = this.#firstWrite !== null && !this.#sent1xx;
      if (up.tlsRefused) return this.#retryOrFail(Termination.UPSTREAM_TLS_FAILED, `real server ${server.id} refused the TLS handshake (${up.error})`, whole);
      if (up.uses > 0 && whole && !this.#replayedStale) {
        // A pooled connection the server had closed (the keep-alive race), or a server that just
        // went away: the request is idempotent and whole in #firstWrite, so replay it once on a
        // fresh connection, which costs no retry. A dead server then refuses, and that failure
        // moves the request on to another server.
        this.#replayedStale = true;
        this.#lastError = `reused connection to real server ${server.id} closed before a response`;
        this.#release();
        this.#freshOnly = true;
        this.#attempts--;
        this.#ex.downstream.disarmUpstream();
        return this.#connectTo(server);
      }
      return this.#retryOrFail(Termination.UPSTREAM_RESET, `real server ${server.id} closed the connection without a response${up.error ? ` (${up.error})` : ''}`, whole);
    }
    // Held: what was read may be the whole response; judged when the head goes on.
    if (this.#heldHead !== null) {
      this.#closedWhileHeld = true;
      return;
    }
    this.#closedMidResponse();
  }

  /** The real server closed after its response head: the end of a close-delimited body, else a cut. */
  #closedMidResponse(): void {
    if (this.#resBodyKind === BodyKind.UNTIL_CLOSE) {
      this.#resReusable = false;
      if (!this.#filtering) return this.#finish();
      this.#upstreamDone();
      return this.#pushBody(EMPTY, true);
    }
    this.#abort(Termination.UPSTREAM_RESET, `real server ${this.#ex.server!.id} closed the connection mid-response`);
  }

  /** The attempt failed before any response; try another real server when allowed. */
  #retryOrFail(termination: Termination, detail: string, replayable: boolean): void {
    const ex = this.#ex;
    const server = ex.server!;
    this.#release();
    this.#lastError = detail;
    this.#lastTermination = termination;
    ex.pool.noteFailure(server, detail);
    ex.downstream.disarmUpstream();
    if (replayable && this.#attempts <= this.#fe.retries) {
      (ex.exclude ??= []).push(server);
      this.#writable = false;
      return this.#dispatch();
    }
    ex.fail(termination, detail);
  }

  onDeadline(kind: DeadlineKind): void {
    const ex = this.#ex;
    if (ex.ended || this.#cancelled) return;
    if (kind === DeadlineKind.CONNECT) {
      const up = this.#up;
      if (up !== null && !up.connected) {
        up.error = 'connect timeout';
        up.destroy();
      }
      return;
    }
    const server = ex.server;
    const id = server?.id ?? '?';
    // A paused side means we were waiting for the other one to read: blame the right party.
    if (this.#resStarted) {
      // A filter holding the response is not the real server's fault, nor the client's.
      if (ex.responseHeld) return ex.downstream.armUpstream(DeadlineKind.RESPONSE, this.#fe.timeouts.response);
      if (this.#upstreamPaused) return this.#abort(Termination.CLIENT_STOPPED_READING, 'client stopped reading the response');
      return this.#abort(Termination.UPSTREAM_RESPONSE_TIMEOUT, `real server ${id} stalled mid-response`);
    }
    if (!this.#bodyDone && this.#writable && this.#up !== null && this.#up.socket.writableNeedDrain) {
      this.#drop();
      this.#release();
      return ex.fail(Termination.UPSTREAM_STOPPED_READING, `real server ${id} stopped reading the request body`, true);
    }
    if (!this.#bodyDone) return; // the client's body deadline covers a client that stopped sending
    const detail = `real server ${id} did not respond within ${this.#fe.timeouts.response} ms`;
    if (server !== null) ex.pool.noteFailure(server, detail);
    this.#drop();
    this.#release();
    ex.fail(Termination.UPSTREAM_RESPONSE_TIMEOUT, detail);
  }

  #badGateway(detail: string): void {
    const ex = this.#ex;
    if (ex.server !== null) ex.pool.noteFailure(ex.server, detail);
    this.#drop();
    this.#release();
    ex.fail(Termination.UPSTREAM_MALFORMED, detail);
  }

  onUpstreamFault(_up: UpstreamConnection, error: unknown): void {
    const ex = this.#ex;
    const detail = `internal error in the upstream path: ${error instanceof Error ? error.message : String(error)}`;
    this.#fe.ctx.fault(error, { virtualService: this.#fe.name, realServer: ex.server?.id ?? '' });
    this.#drop();
    this.#release();
    if (ex.ended) return;
    if (ex.responseStarted) ex.abort(Termination.INTERNAL_ERROR, detail);
    else ex.fail(Termination.INTERNAL_ERROR, detail, true);
  }

  #abort(termination: Termination, detail: string): void {
    this.#release();
    this.#drop();
    this.#ex.abort(termination, detail);
  }

  #finish(): void {
    this.#upstreamDone();
    this.#ex.complete();
  }

  /** The response was read whole: the real server's connection goes back to its pool (or closes). */
  #upstreamDone(): void {
    const ex = this.#ex;
    const server = ex.server!;
    this.#resDone = true;
    this.#release();
    ex.downstream.disarmUpstream();
    const up = this.#up;
    this.#up = null;
    this.#writable = false;
    if (up !== null) {
      if (this.#upstreamPaused) {
        this.#upstreamPaused = false;
        up.socket.resume();
      }
      if (this.#resReusable && this.#bodyDone && !up.closed) server.connections!.release(up, Date.now());
      else {
        up.owner = null;
        up.destroy();
      }
    }
  }

  /** The exchange ended otherwise (the client left, a rule answered): let go of everything. */
  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    if (this.inQueue) this.#ex.pool.leaveQueue(this);
    this.#release();
    this.#drop();
  }

  /** The server no longer counts this attempt (exactly once per attempt). */
  #release(): void {
    const server = this.#counted;
    if (server === null) return;
    this.#counted = null;
    this.#ex.pool.release(server);
  }

  #drop(): void {
    const up = this.#up;
    this.#up = null;
    this.#writable = false;
    if (up !== null) {
      up.owner = null;
      up.destroy();
    }
  }
}
