/**
 * Phase filters, in Envoy's spirit. Each filter of a virtual service sees an exchange at the
 * phases it implements, in chain order, and answers with a status. Phases, in order: request
 * headers (access, rate limits, rules: deny, redirect, respond, route, edits), request body, route
 * (after a pool is chosen, before a server is), response headers, response body, log.
 *
 * The chain is built once per config (src/frontend/filter-chain.ts) with one array per phase
 * holding only the filters that implement it; an exchange on a virtual service without filters
 * finds every array empty and runs no filter code at all, and a service without body filters
 * keeps the zero-copy relay of bodies (one boolean per chunk decides it).
 *
 * The statuses:
 * - CONTINUE: the next filter; after the last, the engine goes on (dispatch, the head to the
 *   client, the chunk to the other side).
 * - STOP: the filter answered (`ex.answer`, `ex.fail`), or it will call `ex.resume()` when its
 *   asynchronous work is done (`ex.resumeResponse()` names the response side explicitly; plain
 *   `resume()` continues whichever side is stopped, the request side first). Resuming continues
 *   with the next filter of the same phase. While stopped, the engine reads no more of the side
 *   that feeds the phase: the client at request headers, request body and route (an HTTP/1.1
 *   connection keeps at most 64 KiB it already read; HTTP/2 stops granting flow-control window);
 *   the real server at response headers and response body (its socket is paused). Bytes already
 *   read meanwhile are held, in order, and pass through the whole chain after the resume.
 *   `resume()` is for later: called inside the filter's own call, before it returned STOP, it
 *   finds nothing stopped and the exchange waits for ever. No timeout runs against a stopped
 *   exchange (neither side is at fault); a filter that waits on something bounds that wait.
 * - BUFFER (body phases): the engine keeps this chunk and every later one, without calling the
 *   filter, until the body ends, then calls it once more with the whole body (from the chunk it
 *   answered BUFFER to) and `last = true`. The source is read on meanwhile, up to
 *   BODY_BUFFER_LIMIT bytes per buffering filter (for a request, the matched rule's
 *   requestBody.maxBytes instead when it has one): past it a request ends 413
 *   `request-too-large`, a response (its head has gone) is cut, `response-too-large`. Filters
 *   before it see the chunks as they come; filters after it see the whole body once. BUFFER on a
 *   call with `last = true` is CONTINUE (there is nothing left to wait for); at the header and
 *   route phases it is STOP.
 *
 * Body filters see the payload: de-chunked (chunk extensions and trailers are dropped on a body
 * that passes through body filters), for HTTP/1.1 and HTTP/2 alike; `last` marks the final call,
 * which may carry no bytes. A request without a body (or a response without one: HEAD, 204, 304)
 * gets no body calls. A chunk is a view the engine may reuse after the call: a filter that keeps
 * bytes beyond it copies them.
 *
 * Changing a body: during a body call, `ex.replaceBody(bytes)` makes the engine pass `bytes` on
 * instead of the chunk (to the later filters, then to the other side); empty is allowed (a
 * compressor that holds input back). A stopped body filter passes its result with
 * `ex.resume(bytes)` / `ex.resumeResponse(bytes)`. A filter that may change the size says so in
 * its headers phase by removing Content-Length (`ex.requestHeaders()`, `ex.responseHeaders()`):
 * the engine then frames the body chunked to the real server, and to an HTTP/1.1 client
 * (close-delimited for an HTTP/1.0 client; HTTP/2 frames DATA anyway). While Content-Length stays,
 * the bytes passed on must add up to it: otherwise the exchange ends `internal-error` (a 502, or a
 * cut once the response has started) rather than send a body its head misstates.
 *
 * Response headers may STOP too: the head (worker scratch while it is read) is copied into the
 * exchange's own then, and only then; `ex.responseHeaders()` stays valid until the head is sent.
 * A filter that answers there (`ex.answer`) replaces the real server's response.
 */
import type { Exchange } from './exchange.ts';

export const FilterStatus = { CONTINUE: 0, STOP: 1, BUFFER: 2 } as const;
export type FilterStatus = (typeof FilterStatus)[keyof typeof FilterStatus];

/**
 * The most body bytes one BUFFER holds (per filter and exchange) when no config limit applies:
 * 1 MiB, Envoy's default per-connection buffer limit. A request uses its rule's
 * requestBody.maxBytes instead when the matched rule has one.
 */
export const BODY_BUFFER_LIMIT = 1024 * 1024;

export interface HttpFilter {
  /** For logs and the status view: "access", "rate-limit", "rules". */
  readonly name: string;
  onRequestHeaders?(ex: Exchange): FilterStatus;
  /** Request payload; `ex.bodyBytes` counts the payload received so far. */
  onRequestBody?(ex: Exchange, chunk: Buffer, last: boolean): FilterStatus;
  onRoute?(ex: Exchange): FilterStatus;
  /** The real server's response head: `ex.status`, `ex.responseHeaders()`. */
  onResponseHeaders?(ex: Exchange): FilterStatus;
  /** Response payload (de-chunked). */
  onResponseBody?(ex: Exchange, chunk: Buffer, last: boolean): FilterStatus;
  /** The exchange ended (any way): counters, hit counts. Synchronous, never stops anything. */
  onLog?(ex: Exchange): void;
}

/** The filters of one virtual service, per phase, in chain order. */
export class FilterChain {
  readonly requestHeaders: readonly HttpFilter[];
  readonly requestBody: readonly HttpFilter[];
  readonly route: readonly HttpFilter[];
  readonly responseHeaders: readonly HttpFilter[];
  readonly responseBody: readonly HttpFilter[];
  readonly log: readonly HttpFilter[];
  /** No filter at all: the engine takes its fast path. */
  readonly empty: boolean;

  constructor(filters: readonly HttpFilter[]) {
    this.requestHeaders = filters.filter((f) => f.onRequestHeaders !== undefined);
    this.requestBody = filters.filter((f) => f.onRequestBody !== undefined);
    this.route = filters.filter((f) => f.onRoute !== undefined);
    this.responseHeaders = filters.filter((f) => f.onResponseHeaders !== undefined);
    this.responseBody = filters.filter((f) => f.onResponseBody !== undefined);
    this.log = filters.filter((f) => f.onLog !== undefined);
    this.empty = filters.length === 0;
  }

  static readonly NONE = new FilterChain([]);
}
