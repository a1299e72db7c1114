/**
 * One HTTP/2 stream as an exchange's Downstream: the request, mapped to the HTTP/1.1 head the
 * pipeline reads (messages.ts), runs through the same filters, pools and forwarder as an
 * HTTP/1.1 request; the response goes back as HEADERS and DATA on the stream. Flow control is
 * backpressure both ways: nghttp2 stops granting the client window while the stream is paused
 * (the real server is slow to read), and a full stream buffer pauses the real server.
 *
 * Deadlines are the stream's own (the client's body, the real server's connect and response);
 * the connection's tick reaches them through `deadline` (the earliest of the two).
 */
import type { ServerHttp2Stream } from 'node:http2';
import { constants } from 'node:http2';
import { performance } from 'node:perf_hooks';
import { PARSE_ERRORS, ParseError } from '../http/parse-error.ts';
import { BodyKind, parseRequestHead } from '../http/request-head.ts';
import type { ResponseHead } from '../http/response-head.ts';
import { DeadlineKind } from '../exchange/deadline.ts';
import { Exchange } from '../exchange/exchange.ts';
import { Termination } from '../exchange/termination.ts';
import type { Downstream, LocalAnswer, UpstreamResponseHead } from '../exchange/types.ts';
import type { HttpFrontEnd } from '../frontend/http-front-end.ts';
import type { ClientKeys } from '../persistence/types.ts';
import type { ClientCertificate } from '../tls/client-certificate.ts';
import type { EngineContext } from '../worker/engine-context.ts';
import { addLines, mapLocal, mapRequest, mapResponse } from './messages.ts';
import { encodeChunk, LAST_CHUNK } from '../http/chunked.ts';

/** Request body held for a real server not connected yet, before the stream is paused. */
const MAX_HELD = 64 * 1024;
/** As for HTTP/1.1 (src/http1/connection.ts): a body must move by 4 KiB per timeouts.clientBody. */
const BODY_PROGRESS_BYTES = 4096;
const EMPTY = Buffer.alloc(0);

/** What a stream needs of its connection. */
export interface StreamHost {
  readonly ctx: EngineContext;
  readonly peerAddress: string;
  readonly clientCertificate: ClientCertificate | null;
  /** Persistence keys of this connection's client (shared by its streams). */
  keysFor(client: string): ClientKeys;
  /** A deadline of this stream was armed: the connection's tick must look at it by then. */
  armed(at: number): void;
  /** The stream ended (answered, reset, cut). */
  streamDone(stream: H2Stream): void;
  /** Response body bytes written (they earn the client WINDOW_UPDATEs). */
  sent(bytes: number): void;
  /** A throw of ours while serving `stream`: logged, the stream reset, the connection goes on. */
  fault(error: unknown, stream: H2Stream): void;
  readonly draining: boolean;
}

export class H2Stream implements Downstream {
  readonly stream: ServerHttp2Stream;
  readonly #host: StreamHost;
  readonly #fe: HttpFrontEnd;
  #ex: Exchange | null = null;
  #chunked = false;
  #bodyDone = true;
  /** Body bytes read while the real server could not take them. */
  #held: Buffer[] | null = null;
  #heldBytes = 0;
  /** The held bytes end the body. */
  #heldEnd = false;
  #blocked = false;
  #paused = false;
  #bodyProgress = 0;
  #trailers = '';
  #ended = false;
  /**
   * The request body passes through request-body filters: payload is held (in #held) until the
   * real server can take bytes, then goes to the exchange, which frames what they pass on.
   */
  #filtering = false;

  deadline = 0;
  deadlineKind: DeadlineKind = DeadlineKind.NONE;
  upstreamDeadline = 0;
  upstreamDeadlineKind: DeadlineKind = DeadlineKind.NONE;

  constructor(stream: ServerHttp2Stream, host: StreamHost, fe: HttpFrontEnd) {
    this.stream = stream;
    this.#host = host;
    this.#fe = fe;
  }

  get clientCertificate(): ClientCertificate | null {
    return this.#host.clientCertificate;
  }

  /** The request arrived (its header list); `startedAt` is when its HEADERS were read. */
  start(raw: readonly string[], endStream: boolean, startedAt: number): void {
    const fe = this.#fe;
    const stream = this.stream;
    stream.on('close', () => this.#safely(() => this.#onClose()));
    stream.on('error', () => {
      // 'close' follows with the stream's rstCode.
    });
    this.#bodyDone = endStream;
    const mapped = mapRequest(raw, endStream);
    if (mapped.error !== '') return this.#refuse(400, mapped.error, 0, startedAt);
    const ctx = this.#host.ctx;
    const fields = ctx.tables.acquire();
    const head = ctx.heads.acquire();
    const error = parseRequestHead(mapped.head, 0, mapped.head.length - 2, head, fields, fe.limits);
    if (error !== ParseError.NONE) {
      ctx.tables.release(fields);
      ctx.heads.release(head);
      const info = PARSE_ERRORS[error]!;
      return this.#refuse(info.status, info.reason, mapped.head.length, startedAt);
    }
    this.#chunked = mapped.chunked;
    const client = fe.clientOf(this.#host.peerAddress, head, fields);
    const target = ctx.accessLog === null ? '' : head.target;
    const ex = new Exchange(this, fe, head, fields, this.#host.keysFor(client), client, this.#host.peerAddress, target, startedAt);
    ex.keepAlive = true;
    ex.bytesIn = mapped.head.length;
    this.#bodyDone = endStream || (head.bodyKind === BodyKind.LENGTH && head.contentLength === 0);
    ex.earlyBodyComplete = this.#bodyDone;
    this.#ex = ex;
    this.#filtering = !this.#bodyDone && fe.chain.requestBody.length > 0;
    if (!this.#bodyDone) {
      stream.on('data', (chunk: Buffer) => this.#safely(() => this.#onData(chunk)));
      stream.on('trailers', (trailers: Record<string, string | string[] | undefined>) => this.#safely(() => this.#onTrailers(trailers)));
      stream.on('end', () => this.#safely(() => this.#onEnd()));
      this.#arm(DeadlineKind.CLIENT_BODY, fe.timeouts.clientBody);
    }
    ex.start();
  }

  /** A request that never made an exchange: its answer and one log line. */
  #refuse(status: number, reason: string, bytesIn: number, startedAt: number): void {
    const answer = this.#fe.errorAnswer(status, reason);
    this.#respondLocal(answer, false);
    this.#fe.logRefusal(this.#host.peerAddress, status, reason, Termination.CLIENT_BAD_REQUEST, bytesIn, answer.body.length, performance.now() - startedAt);
    this.#closeRequest();
  }

  // ---- deadlines ----------------------------------------------------------------------

  #arm(kind: DeadlineKind, ms: number): void {
    this.deadlineKind = kind;
    this.deadline = Date.now() + ms;
    this.#host.armed(this.deadline);
  }

  #disarm(): void {
    this.deadlineKind = DeadlineKind.NONE;
    this.deadline = 0;
  }

  armUpstream(kind: DeadlineKind, ms: number): void {
    this.upstreamDeadlineKind = kind;
    this.upstreamDeadline = Date.now() + ms;
    this.#host.armed(this.upstreamDeadline);
  }

  disarmUpstream(): void {
    this.upstreamDeadlineKind = DeadlineKind.NONE;
    this.upstreamDeadline = 0;
  }

  onTick(now: number): void {
    if (this.deadline !== 0 && this.deadline <= now) {
      this.#disarm();
      const ex = this.#ex;
      if (ex !== null && !this.#bodyDone) {
        if (this.#paused) this.#arm(DeadlineKind.CLIENT_BODY, this.#fe.timeouts.clientBody);
        else ex.fail(Termination.CLIENT_TIMEOUT, 'client stopped sending the request body', true);
      }
    }
    if (this.upstreamDeadline !== 0 && this.upstreamDeadline <= now) {
      const kind = this.upstreamDeadlineKind;
      this.disarmUpstream();
      this.#ex?.upstream?.onDeadline(kind);
    }
  }

  // ---- the request body -------------------------------------------------------------------

  #onData(chunk: Buffer): void {
    const ex = this.#ex;
    if (ex === null || ex.ended) return;
    ex.bodyBytes += chunk.length;
    this.#noteProgress(chunk.length);
    if (this.#filtering) return this.#filter(ex, chunk, false);
    if (chunk.length === 0) return;
    const framed = this.#chunked ? encodeChunk(chunk) : chunk;
    this.#send(ex, framed, false);
  }

  #onTrailers(trailers: Record<string, string | string[] | undefined>): void {
    if (!this.#chunked) return; // a content-length body has no place for trailers in HTTP/1.1
    let text = '';
    for (const [name, value] of Object.entries(trailers)) {
      if (name.startsWith(':') || value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) text += `${name}: ${v}\r\n`;
    }
    this.#trailers = text;
  }

  #onEnd(): void {
    const ex = this.#ex;
    this.#bodyDone = true;
    if (this.deadlineKind === DeadlineKind.CLIENT_BODY) this.#disarm();
    if (ex === null || ex.ended) return;
    if (this.#filtering) return this.#filter(ex, EMPTY, true);
    const last = this.#chunked ? (this.#trailers === '' ? LAST_CHUNK : Buffer.from(`0\r\n${this.#trailers}\r\n`, 'latin1')) : EMPTY;
    this.#send(ex, last, true);
  }

  #send(ex: Exchange, bytes: Buffer, end: boolean): void {
    const upstream = ex.upstream;
    if (upstream === null || !upstream.writable || this.#held !== null || this.#blocked) {
      this.#hold(bytes, end);
      return;
    }
    if (!upstream.sendBody(bytes, end)) {
      this.#blocked = true;
      this.#pause();
    }
  }

  /** Payload for the request-body filters, once the real server can take bytes and nothing waits before it. */
  #filter(ex: Exchange, chunk: Buffer, last: boolean): void {
    const upstream = ex.upstream;
    if (upstream === null || !upstream.writable || this.#held !== null || this.#blocked) return this.#hold(chunk, last);
    ex.requestBody(chunk, last);
  }

  #hold(bytes: Buffer, end: boolean): void {
    (this.#held ??= []).push(bytes);
    this.#heldBytes += bytes.length;
    if (end) this.#heldEnd = true;
    if (this.#heldBytes >= MAX_HELD) this.#pause();
  }

  #noteProgress(bytes: number): void {
    this.#bodyProgress += bytes;
    if (this.#bodyProgress >= BODY_PROGRESS_BYTES) {
      this.#bodyProgress = 0;
      this.#arm(DeadlineKind.CLIENT_BODY, this.#fe.timeouts.clientBody);
    }
  }

  #pause(): void {
    if (!this.#paused) {
      this.#paused = true;
      this.stream.pause();
    }
  }

  pauseRequest(ex: Exchange): void {
    if (ex !== this.#ex) return;
    this.#blocked = true;
    this.#pause();
  }

  /** The real server can take body bytes (connected, or drained): send what we held, read on. */
  resumeRequest(ex: Exchange): void {
    if (ex !== this.#ex || ex.ended || ex.requestBodyHeld) return;
    this.#blocked = false;
    const held = this.#held;
    if (held !== null) {
      this.#held = null;
      this.#heldBytes = 0;
      const end = this.#heldEnd;
      this.#heldEnd = false;
      if (this.#filtering) {
        for (let i = 0; i < held.length; i++) {
          ex.requestBody(held[i]!, end && i === held.length - 1);
          if (ex.ended) return;
          if (this.#blocked && i < held.length - 1) {
            // A filter stopped, or the real server is full: the rest waits for the next resume.
            this.#held = held.slice(i + 1);
            for (const b of this.#held) this.#heldBytes += b.length;
            this.#heldEnd = end;
            return;
          }
        }
        if (this.#blocked) return;
        if (this.#paused && !this.#bodyDone) {
          this.#paused = false;
          this.stream.resume();
        }
        return;
      }
      const upstream = ex.upstream!;
      for (let i = 0; i < held.length; i++) {
        const last = end && i === held.length - 1;
        if (!upstream.sendBody(held[i]!, last) && !last) {
          // Keep the rest for the next drain.
          this.#held = held.slice(i + 1);
          for (const b of this.#held) this.#heldBytes += b.length;
          this.#heldEnd = end;
          this.#blocked = true;
          return;
        }
      }
    }
    if (this.#paused && !this.#bodyDone) {
      this.#paused = false;
      this.stream.resume();
    }
  }

  // ---- Downstream: the response --------------------------------------------------------------

  wantsPayload(_ex: Exchange, _res: ResponseHead): boolean {
    return true; // HTTP/2 frames the body itself (DATA)
  }

  sendInformational(ex: Exchange, buf: Buffer, start: number, end: number): void {
    const status = Number(buf.toString('latin1', start + 9, start + 12));
    // 101 never arrives here (no Upgrade over HTTP/2); 100 and 103 do.
    if (this.stream.closed || status === 101) return;
    const headers: Record<string, string | string[] | number> = { ':status': status };
    // 103 Early Hints carries its Link fields; the status line is left out (its reason may hold a colon).
    if (status === 103) addLines(headers, buf.toString('latin1', buf.indexOf('\r\n', start) + 2, end));
    this.stream.additionalHeaders(headers);
    ex.bytesOut += end - start;
  }

  sendResponseHead(ex: Exchange, res: UpstreamResponseHead, bodyStart: number, bodyEnd: number, _upgrade: boolean): boolean {
    const stream = this.stream;
    if (stream.closed || stream.destroyed) return true;
    const noBody = res.head.bodyKind === BodyKind.NONE || ex.method === 'HEAD';
    stream.respond(mapResponse(res), { endStream: noBody && bodyEnd === bodyStart });
    ex.bytesOut += res.head.end - res.from;
    if (bodyEnd > bodyStart) return this.sendResponseBody(ex, res.buf.subarray(bodyStart, bodyEnd));
    return true;
  }

  sendResponseBody(ex: Exchange, chunk: Buffer): boolean {
    const stream = this.stream;
    if (stream.closed || stream.destroyed || stream.writableEnded) return true;
    ex.bytesOut += chunk.length;
    this.#host.sent(chunk.length);
    const room = stream.write(chunk);
    if (!room) stream.once('drain', () => this.#safely(() => this.#ex?.upstream?.onDownstreamDrain()));
    return room;
  }

  framePayload(_ex: Exchange, _res: UpstreamResponseHead, _length: number): void {
    // HTTP/2 frames any body as DATA; a Content-Length still in the head is checked by the exchange.
  }

  sendPayload(ex: Exchange, chunk: Buffer, _last: boolean): boolean {
    // The end of the stream is written when the exchange completes (done).
    return chunk.length === 0 ? true : this.sendResponseBody(ex, chunk);
  }

  sendLocal(ex: Exchange, answer: LocalAnswer): boolean {
    ex.bytesOut += this.#respondLocal(answer, ex.method === 'HEAD');
    return false;
  }

  #respondLocal(answer: LocalAnswer, headOnly: boolean): number {
    const stream = this.stream;
    if (stream.closed || stream.destroyed || stream.headersSent) return 0;
    const empty = headOnly || answer.body.length === 0;
    stream.respond(mapLocal(answer.status, answer.headers, answer.body.length), { endStream: empty });
    if (!empty) stream.end(answer.body);
    return answer.body.length;
  }

  done(ex: Exchange, _close: boolean): void {
    this.#host.ctx.heads.release(ex.head);
    this.disarmUpstream();
    const stream = this.stream;
    if (!stream.closed && !stream.destroyed) {
      if (!stream.headersSent) stream.respond({ ':status': 502 }, { endStream: true });
      else if (!stream.writableEnded) stream.end();
    }
    this.#closeRequest();
    this.#ex = null;
    this.#finish();
  }

  /** The response is out: a request body still coming is not needed (RFC 9113 §8.1: RST_STREAM NO_ERROR). */
  #closeRequest(): void {
    if (this.#bodyDone || this.stream.closed) return;
    // After the END_STREAM we queued: nghttp2 sends the response first, then the reset.
    this.stream.close(constants.NGHTTP2_NO_ERROR);
  }

  abort(_ex: Exchange): void {
    // The head is not handed back: the exchange's log filters still read it (H1 does the same).
    this.disarmUpstream();
    this.#ex = null;
    // destroy, not close(INTERNAL_ERROR): close ends our side first (an empty DATA with
    // END_STREAM, then the RST_STREAM the client then ignores), so a cut response would read as
    // whole; destroy sends RST_STREAM INTERNAL_ERROR alone.
    if (!this.stream.closed && !this.stream.destroyed) this.stream.destroy(new Error('response cut'));
    this.#finish();
  }

  tunnelClosed(_ex: Exchange): void {
    // No tunnels over HTTP/2: CONNECT is refused (405) and Upgrade cannot be sent.
  }

  #onClose(): void {
    this.#disarm();
    this.disarmUpstream();
    const ex = this.#ex;
    this.#ex = null;
    if (ex !== null && !ex.ended) {
      ex.clientGone();
      this.#host.ctx.heads.release(ex.head);
    }
    this.#finish();
  }

  #finish(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#held = null;
    this.#host.streamDone(this);
  }

  /** Stream events call in through here: a throw of ours ends this stream, never the worker. */
  #safely(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.#host.fault(error, this);
    }
  }

  /** A fault of ours while serving this stream: its exchange fails (502) or is cut, the stream is reset. */
  failed(error: unknown): void {
    const detail = `internal error: ${error instanceof Error ? error.message : String(error)}`;
    const ex = this.#ex;
    if (ex !== null && !ex.ended) {
      if (ex.responseStarted) ex.abort(Termination.INTERNAL_ERROR, detail);
      else ex.fail(Termination.INTERNAL_ERROR, detail, true);
    }
    if (!this.stream.closed && !this.stream.destroyed) {
        this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    }
    this.#finish();
  }

  /** The connection goes (cut, drained past its grace): the exchange is cut with it. */
  cut(): void {
    const ex = this.#ex;
    if (ex !== null && !ex.ended) ex.abort(Termination.CUT, 'the connection was closed');
  }
}
