/**
 * The engine's half of the body phases (filter.ts): one direction of one exchange run through its
 * body filters, with CONTINUE, STOP (held, resumed later) and BUFFER (the whole body, bounded), and
 * the bytes a filter substitutes. Made only for an exchange whose virtual service has body
 * filters for that direction, on its first body bytes: the fast path never sees one.
 *
 * The two directions differ only in what feeds them and where their output goes, so the
 * subclasses hold that: the request side pauses the client and frames for the real server, the
 * response side pauses the real server and hands payload to the downstream.
 */
import { encodeChunk } from '../http/chunked.ts';
import { BodyKind } from '../http/request-head.ts';
import type { Exchange } from './exchange.ts';
import { FilterStatus, type HttpFilter } from './filter.ts';
import { Termination } from './termination.ts';

export const EMPTY_BODY = Buffer.alloc(0);

interface Held {
  chunk: Buffer;
  last: boolean;
}

export abstract class BodyPhase {
  protected readonly ex: Exchange;
  readonly #filters: readonly HttpFilter[];
  readonly #limit: number;
  /** What the filter being called passes on (replaceBody sets it); null between calls. */
  #current: Buffer | null = null;
  /** After a STOP: the filter to continue from (-1: flowing), and the chunk held there. */
  #stoppedAt = -1;
  #held: Buffer = EMPTY_BODY;
  #heldLast = false;
  /** Bytes that arrived while stopped (copies), passed through the whole chain after the resume. */
  #queue: Held[] | null = null;
  /** Per filter that answered BUFFER: its chunks so far (copies) and their size. */
  #buffers: Array<Buffer[] | null> | null = null;
  #bufferedBytes: number[] | null = null;
  /** Payload bytes passed on to the other side. */
  protected passed = 0;

  constructor(ex: Exchange, filters: readonly HttpFilter[], limit: number) {
    this.ex = ex;
    this.#filters = filters;
    this.#limit = limit;
  }

  /** A filter stopped and has not resumed, or the bytes held meanwhile are still on their way. */
  get holding(): boolean {
    return this.#stoppedAt >= 0 || this.#queue !== null;
  }

  get stopped(): boolean {
    return this.#stoppedAt >= 0;
  }

  /** A body filter of this phase is being called (replaceBody applies to its chunk). */
  get calling(): boolean {
    return this.#current !== null;
  }

  replace(bytes: Buffer): void {
    this.#current = bytes;
  }

  /** Body bytes from the source. false: do not read on (a filter stopped, or the receiving side is full). */
  push(chunk: Buffer, last: boolean): boolean {
    if (this.holding) {
      (this.#queue ??= []).push({ chunk: Buffer.from(chunk), last });
      return false;
    }
    return this.#run(chunk, last, 0);
  }

  /** The stopped filter is done: its chunk (or `replacement`) goes on from the next filter, then what was held. */
  resume(replacement: Buffer | null): void {
    const from = this.#stoppedAt;
    if (from < 0 || this.ex.ended) return;
    const chunk = replacement ?? this.#held;
    const last = this.#heldLast;
    this.#stoppedAt = -1;
    this.#held = EMPTY_BODY;
    let room = this.#run(chunk, last, from);
    for (;;) {
      if (this.#stoppedAt >= 0 || this.ex.ended) return;
      const queue = this.#queue;
      if (queue === null || queue.length === 0) break;
      const next = queue.shift()!;
      room = this.#run(next.chunk, next.last, 0);
    }
    this.#queue = null;
    // A full receiver wakes the source itself when it drains.
    if (room) this.release();
  }

  #run(chunk: Buffer, last: boolean, from: number): boolean {
    const filters = this.#filters;
    const ex = this.ex;
    for (let i = from; i < filters.length; i++) {
      const buffers = this.#buffers;
      if (buffers !== null && buffers[i] != null) {
        if (!last) return this.#collect(i, chunk);
        const parts = buffers[i]!;
        parts.push(chunk);
        chunk = Buffer.concat(parts);
        buffers[i] = null;
        this.#bufferedBytes![i] = 0;
      }
      this.#current = chunk;
      const status = this.call(filters[i]!, chunk, last);
      chunk = this.#current;
      this.#current = null;
      if (ex.ended) return false;
      if (status === FilterStatus.CONTINUE || (status === FilterStatus.BUFFER && last)) continue;
      if (status === FilterStatus.BUFFER) {
        (this.#buffers ??= new Array<Buffer[] | null>(filters.length).fill(null))[i] = [];
        this.#bufferedBytes ??= new Array<number>(filters.length).fill(0);
        return this.#collect(i, chunk);
      }
      // STOP: the chunk waits here; a view of the source's read buffer must not be pinned.
      this.#stoppedAt = i + 1;
      this.#held = Buffer.from(chunk);
      this.#heldLast = last;
      this.hold();
      return false;
    }
    this.passed += chunk.length;
    return this.pass(chunk, last);
  }

  #collect(i: number, chunk: Buffer): boolean {
    if (chunk.length === 0) return true;
    const bytes = (this.#bufferedBytes![i]! += chunk.length);
    if (bytes > this.#limit) {
      this.overflow(this.#filters[i]!, this.#limit);
      return false;
    }
    this.#buffers![i]!.push(Buffer.from(chunk));
    return true;
  }

  protected abstract call(filter: HttpFilter, chunk: Buffer, last: boolean): FilterStatus;
  /** Filtered payload for the other side; false when it is full. */
  protected abstract pass(chunk: Buffer, last: boolean): boolean;
  /** A filter stopped: stop reading the source. */
  protected abstract hold(): void;
  /** Flowing again after a stop: read the source on. */
  protected abstract release(): void;
  /** A BUFFER passed the limit: end the exchange. */
  protected abstract overflow(filter: HttpFilter, limit: number): void;
}

/**
 * The request body: from the client (the downstream calls `Exchange.requestBody` only once the
 * real server can take bytes) through the filters to the real server, framed as the head sent
 * there says: chunked when the request was, or when a filter removed its Content-Length.
 */
export class RequestBodyPhase extends BodyPhase {
  /** The Content-Length the real server was promised; -1: chunked. */
  readonly #declared: number;

  constructor(ex: Exchange, filters: readonly HttpFilter[], limit: number) {
    super(ex, filters, limit);
    this.#declared = ex.chunkedToUpstream || ex.head.bodyKind !== BodyKind.LENGTH ? -1 : ex.head.contentLength;
  }

  protected call(filter: HttpFilter, chunk: Buffer, last: boolean): FilterStatus {
    return filter.onRequestBody!(this.ex, chunk, last);
  }

  protected pass(chunk: Buffer, last: boolean): boolean {
    const ex = this.ex;
    const declared = this.#declared;
    if (declared >= 0 && (this.passed > declared || (last && this.passed !== declared))) {
      ex.fail(Termination.INTERNAL_ERROR, `request-body filters passed on ${this.passed} bytes of a body sent with Content-Length ${declared}: a filter that changes the size must remove Content-Length at request headers`, true);
      return false;
    }
    const upstream = ex.upstream;
    if (upstream === null || !upstream.writable) {
      ex.fail(Termination.INTERNAL_ERROR, 'request body filtered while no real server could take it', true);
      return false;
    }
    let bytes = chunk;
    if (declared < 0) bytes = encodeChunk(chunk, last);
    if (bytes.length === 0 && !last) return true;
    if (upstream.sendBody(bytes, last)) return true;
    ex.downstream.pauseRequest(ex);
    return false;
  }

  protected hold(): void {
    this.ex.downstream.pauseRequest(this.ex);
  }

  protected release(): void {
    this.ex.downstream.resumeRequest(this.ex);
  }

  protected overflow(filter: HttpFilter, limit: number): void {
    this.ex.fail(Termination.REQUEST_TOO_LARGE, `filter ${filter.name} buffered more than ${limit} bytes of the request body`, true, 413);
  }
}

/**
 * The response body: from the real server (payload, de-chunked) through the filters to the
 * downstream, which frames it (`Downstream.sendPayload`); the last bytes passed on complete the
 * exchange.
 */
export class ResponseBodyPhase extends BodyPhase {
  /** The Content-Length the client was promised; -1: the downstream frames it otherwise. */
  readonly #declared: number;

  constructor(ex: Exchange, filters: readonly HttpFilter[], limit: number, declared: number) {
    super(ex, filters, limit);
    this.#declared = declared;
  }

  protected call(filter: HttpFilter, chunk: Buffer, last: boolean): FilterStatus {
    return filter.onResponseBody!(this.ex, chunk, last);
  }

  protected pass(chunk: Buffer, last: boolean): boolean {
    const ex = this.ex;
    const declared = this.#declared;
    if (declared >= 0 && (this.passed > declared || (last && this.passed !== declared))) {
      ex.abort(Termination.INTERNAL_ERROR, `response-body filters passed on ${this.passed} bytes of a body whose head says Content-Length ${declared}: a filter that changes the size must remove Content-Length at response headers`);
      return false;
    }
    const room = ex.downstream.sendPayload(ex, chunk, last);
    if (last) ex.complete();
    return room;
  }

  protected hold(): void {
    // The upstream pauses itself: `Exchange.responseBody` answered false.
  }

  protected release(): void {
    this.ex.upstream?.onDownstreamDrain();
  }

  protected overflow(filter: HttpFilter, limit: number): void {
    this.ex.abort(Termination.RESPONSE_TOO_LARGE, `filter ${filter.name} buffered more than ${limit} bytes of the response body`);
  }
}
