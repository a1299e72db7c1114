/**
 * Phase filters, in Envoy's spirit: each filter of a virtual service sees an exchange at the
 * phases it implements and answers CONTINUE (next filter), STOP (it answered the exchange, or it
 * will call `exchange.resume()` when its asynchronous work is done; meanwhile the engine reads no
 * more of that client) or BUFFER (body phases: call again with the whole body).
 *
 * The chain is built once per config (chain.ts) with one array per phase holding only the
 * filters that implement it; an exchange on a virtual service without filters finds every array
 * empty and runs no filter code at all.
 *
 * Phases, in order: request headers (access, rate limits, rules: deny, redirect, respond, route,
 * edits), request body, route (after a pool is chosen, before a server is), response headers,
 * response body, log.
 */
import type { Exchange } from './exchange.ts';

export const FilterStatus = { CONTINUE: 0, STOP: 1, BUFFER: 2 } as const;
export type FilterStatus = (typeof FilterStatus)[keyof typeof FilterStatus];

export interface HttpFilter {
  /** For logs and the status view: "access", "rate-limit", "rules". */
  readonly name: string;
  onRequestHeaders?(ex: Exchange): FilterStatus;
  /** `chunk` as received (for HTTP/1.1, the framed bytes; `ex.bodyBytes` counts the payload so far); `last` on the body's final bytes. */
  onRequestBody?(ex: Exchange, chunk: Buffer, last: boolean): FilterStatus;
  onRoute?(ex: Exchange): FilterStatus;
  /** Synchronous: CONTINUE only (the response head is scratch read in one pass; anything else fails the exchange with a 502). */
  onResponseHeaders?(ex: Exchange): FilterStatus;
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
