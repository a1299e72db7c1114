/**
 * One request and its response, from the moment its head is parsed to its access log line: what
 * was asked (method, target, headers as the front end parsed them), who asked (the client's
 * address after trusted proxies), where it goes (pool, rule, real server), what was answered
 * (status, bytes), how long it took and how it ended (a termination code). Its state lives here,
 * not in the connection or in worker-wide scratch, so a filter can stop it and resume it later,
 * and an HTTP/2 stream can make exchanges as an HTTP/1.1 connection does.
 *
 * The lifecycle (docs/architecture.md, "A request's path"):
 *   start → request-header filters → route (pool) → route filters → upstream dispatch
 *   → request-body filters (as the body streams) → response head → response-header filters
 *   → response-body filters → end → log filters and access log.
 * Each filter phase may stop and resume (filter.ts has the contract); body phases live in
 * body-phase.ts and exist only for a virtual service with body filters.
 * A filter that answers (deny, redirect, respond, 429) ends it through `answer`; a failure
 * anywhere ends it through `fail` with a termination code and a client-safe reason.
 */
import { STATUS_CODES } from 'node:http';
import type { FieldTable } from '../http/fields.ts';
import type { RequestHead } from '../http/request-head.ts';
import type { ClientKeys, RequestKeys } from '../persistence/types.ts';
import type { Pool } from '../pool/pool.ts';
import type { RealServer } from '../pool/real-server.ts';
import type { PickRequest } from '../pool/types.ts';
import type { HttpFrontEnd } from '../frontend/http-front-end.ts';
import { BODY_BUFFER_LIMIT, FilterStatus, type HttpFilter } from './filter.ts';
import { RequestBodyPhase, ResponseBodyPhase } from './body-phase.ts';
import { ANSWERS, Termination } from './termination.ts';
import type { Downstream, LocalAnswer, Upstream, UpstreamResponseHead } from './types.ts';
import { H1Headers, type HeaderEdits, type MutableHeaders } from './headers.ts';
import type { MatchInput } from '../rules/types.ts';

/** Where the exchange is in its lifecycle (the filter phase that may be stopped). */
export const ExchangeStage = { HEADERS: 0, ROUTE: 1, DISPATCHED: 2, RESPONSE_HEADERS: 3, RESPONSE_BODY: 4, DONE: 5 } as const;
export type ExchangeStage = (typeof ExchangeStage)[keyof typeof ExchangeStage];

export class Exchange implements PickRequest, RequestKeys {
  readonly downstream: Downstream;
  readonly frontEnd: HttpFrontEnd;
  /**
   * The parsed head; `fields` is handed back to the worker's table pool once the head is encoded
   * for the real server. Valid until the exchange ends: the head then goes back to the worker's
   * pool and the next request parses into it, so nothing may read it (or `input()`) after that.
   */
  readonly head: RequestHead;
  fields: FieldTable | null;
  readonly method: string;
  readonly http10: boolean;
  /** The client asked to keep the connection (and nothing since said otherwise). */
  keepAlive: boolean;
  readonly upgrade: boolean;
  /** For the access log: the request target as sent ('' when the log is off). */
  readonly target: string;

  // ---- PickRequest: the pool's pick path reads these ----
  /** The client's address: the peer's, the PROXY header's, or X-Forwarded-For's from a trusted proxy. */
  readonly clientAddress: string;
  /** The immediate peer (what X-Forwarded-For gets appended). */
  readonly peerAddress: string;
  exclude: RealServer[] | null = null;
  readonly clientKeys: ClientKeys;
  keys: RequestKeys | null = null;

  // ---- RequestKeys: persistence's per-request keys ----
  key: string | null = null;
  fallbackKey: string | null = null;
  setCookie = '';

  // ---- routing ----
  pool: Pool;
  /** Index of the rule that decided (its name in `ruleName`); -1 when none matched. */
  rule = -1;
  ruleName = '';
  server: RealServer | null = null;
  upstream: Upstream | null = null;
  /** Header and path changes rules asked for, applied when the head is encoded (null: none). */
  requestEdits: HeaderEdits | null = null;
  responseEdits: HeaderEdits | null = null;
  /** A rewritten path (and query) for the request line; null: as sent. */
  rewrittenTarget: string | null = null;
  /** Body bytes that arrived with the head (a view of the read buffer); sent with the head. */
  earlyBody: Buffer | null = null;
  /** Those bytes are the whole body (or there is none). */
  earlyBodyComplete = true;
  /** What rules and access lists read of this request; made on first use (input()). */
  #input: MatchInput | null = null;
  /** A rule's requestBody.maxBytes; -1: no limit (0 is a limit: no body at all). */
  maxBodyBytes = -1;
  /** Request payload bytes received so far (chunk framing not counted), kept by the downstream. */
  bodyBytes = 0;
  /**
   * The request body goes to the real server chunked (set when its head is encoded): it came
   * chunked, or a filter removed its Content-Length so that request-body filters may resize it.
   */
  chunkedToUpstream = false;
  /**
   * The real server's response head during the response-header phase (until it is written to
   * the client); null otherwise. Filters edit it through `responseHeaders()`.
   */
  response: UpstreamResponseHead | null = null;

  // ---- the outcome ----
  status = 0;
  /** Response bytes reached the client: from now on a failure can only cut it. */
  responseStarted = false;
  termination: Termination = Termination.OK;
  /** The internal detail of a failure (addresses, errno): access log and operational log only. */
  error = '';
  readonly startedAt: number;
  /** When the real server's response head arrived (performance.now()); 0: none did. For the upstream-time histogram (src/metrics). */
  responseHeadAt = 0;
  bytesIn = 0;
  bytesOut = 0;

  #stage: ExchangeStage = ExchangeStage.HEADERS;
  /** The next filter of the current phase (after a STOP, `resume` continues there). */
  #next = 0;
  #ended = false;
  /** The view filters edit the request head through (made on first use). */
  #requestHeaders: H1Headers | null = null;
  /** The body phases: made only when the chain has body filters, on the first body bytes. */
  #requestBody: RequestBodyPhase | null = null;
  #responseBody: ResponseBodyPhase | null = null;
  /** A response-header filter stopped; the next one to run on resume. */
  #responseStopped = false;
  #responseNext = 0;

  constructor(downstream: Downstream, frontEnd: HttpFrontEnd, head: RequestHead, fields: FieldTable, client: ClientKeys, clientAddress: string, peerAddress: string, target: string, startedAt: number) {
    this.downstream = downstream;
    this.frontEnd = frontEnd;
    this.head = head;
    this.fields = fields;
    this.method = head.method;
    this.http10 = head.http10;
    this.keepAlive = head.keepAlive;
    this.upgrade = head.isUpgrade;
    this.target = target;
    this.clientKeys = client;
    this.clientAddress = clientAddress;
    this.peerAddress = peerAddress;
    this.pool = frontEnd.pool;
    this.startedAt = startedAt;
  }

  /** The request as rules read it (host, normalised path, headers, client address, country). */
  input(): MatchInput {
    return (this.#input ??= this.frontEnd.matchInput(this));
  }

  get stage(): ExchangeStage {
    return this.#stage;
  }

  get ended(): boolean {
    return this.#ended;
  }

  // ---- the request phases ---------------------------------------------------------------------

  /** Run the exchange: filters, then routing and dispatch. */
  start(): void {
    const filters = this.frontEnd.chain.requestHeaders;
    if (filters.length === 0) return this.#route();
    this.#runRequestHeaders(filters, 0);
  }

  /**
   * A filter that returned STOP without answering has finished its asynchronous work: the chain
   * goes on from the next filter of the stopped phase. The request side (request headers, route,
   * request body) if it is stopped there, else the response side (`resumeResponse`). A stopped
   * body filter may pass `replacement` on instead of the chunk it held.
   */
  resume(replacement: Buffer | null = null): void {
    if (this.#ended) return;
    if (this.#stage === ExchangeStage.HEADERS) this.#runRequestHeaders(this.frontEnd.chain.requestHeaders, this.#next);
    else if (this.#stage === ExchangeStage.ROUTE) this.#runRoute(this.frontEnd.chain.route, this.#next);
    else if (this.#requestBody !== null && this.#requestBody.stopped) this.#requestBody.resume(replacement);
    else this.resumeResponse(replacement);
  }

  /** As `resume`, for the response side only (response headers, response body). */
  resumeResponse(replacement: Buffer | null = null): void {
    if (this.#ended) return;
    if (this.#responseStopped) {
      this.#responseStopped = false;
      if (this.#runResponseHeaders(this.frontEnd.chain.responseHeaders, this.#responseNext) === FilterStatus.CONTINUE) this.upstream?.continueResponse();
      return;
    }
    this.#responseBody?.resume(replacement);
  }

  /**
   * The request head's fields, for request-header and route filters to read and edit (what they
   * change reaches the real server). Valid until the head is encoded for the real server.
   */
  requestHeaders(): MutableHeaders {
    const fields = this.fields;
    if (fields === null) throw new Error('the request head has already been sent to the real server');
    return (this.#requestHeaders ??= new H1Headers(this.head.buf, fields));
  }

  /** For the head encoder: the view filters edited the request head through, if any. */
  get editedRequestHeaders(): H1Headers | null {
    return this.#requestHeaders;
  }

  /** The real server's response head, for response-header filters (valid until it is written to the client). */
  responseHeaders(): MutableHeaders {
    const res = this.response;
    if (res === null) throw new Error('no response head to edit: it is read at response headers, and gone once written to the client');
    return res.headers();
  }

  /**
   * Within a body filter's call: pass `bytes` on instead of the chunk (to the later filters, then
   * to the other side). See filter.ts for the framing this asks of the headers phase.
   */
  replaceBody(bytes: Buffer): void {
    const phase = this.#requestBody !== null && this.#requestBody.calling ? this.#requestBody : this.#responseBody !== null && this.#responseBody.calling ? this.#responseBody : null;
    if (phase === null) throw new Error('replaceBody() is for a body filter, during its call; a stopped filter passes its bytes to resume()');
    phase.replace(bytes);
  }

  #runRequestHeaders(filters: readonly HttpFilter[], from: number): void {
    for (let i = from; i < filters.length; i++) {
      const status = filters[i]!.onRequestHeaders!(this);
      if (this.#ended) return;
      if (status !== FilterStatus.CONTINUE) {
        this.#next = i + 1;
        return;
      }
    }
    this.#route();
  }

  #route(): void {
    this.#stage = ExchangeStage.ROUTE;
    const filters = this.frontEnd.chain.route;
    if (filters.length === 0) return this.#dispatch();
    this.#runRoute(filters, 0);
  }

  #runRoute(filters: readonly HttpFilter[], from: number): void {
    for (let i = from; i < filters.length; i++) {
      const status = filters[i]!.onRoute!(this);
      if (this.#ended) return;
      if (status !== FilterStatus.CONTINUE) {
        this.#next = i + 1;
        return;
      }
    }
    this.#dispatch();
  }

  #dispatch(): void {
    this.#stage = ExchangeStage.DISPATCHED;
    const pool = this.pool;
    if (pool.persistence !== null) {
      pool.readKeys(this.clientKeys, this, this.head, this.fields!);
      this.keys = this;
    }
    this.frontEnd.dispatch(this);
  }

  /**
   * Request payload for the request-body filters (a virtual service with some, a request with a
   * body), once the real server can take bytes (`upstream.writable`). What they pass on goes to
   * the real server; a STOP or a full real server pauses the client (`pauseRequest`).
   */
  requestBody(chunk: Buffer, last: boolean): void {
    if (this.#ended) return;
    const limit = this.maxBodyBytes >= 0 ? this.maxBodyBytes : BODY_BUFFER_LIMIT;
    (this.#requestBody ??= new RequestBodyPhase(this, this.frontEnd.chain.requestBody, limit)).push(chunk, last);
  }

  /** A request-body filter stopped (or what arrived meanwhile is still on its way): the client is not read. */
  get requestBodyHeld(): boolean {
    return this.#requestBody !== null && this.#requestBody.holding;
  }

  // ---- the response phases --------------------------------------------------------------------

  /**
   * The real server's response head, before it goes to the client: response-header filters and
   * rules' edits. CONTINUE: write it now. STOP: a filter stopped (or answered, and the exchange
   * ended); the upstream holds the head in its own copy (`response`) and pauses the real server
   * until `resumeResponse` calls its `continueResponse`.
   */
  onResponseHead(res: UpstreamResponseHead): FilterStatus {
    this.#stage = ExchangeStage.RESPONSE_HEADERS;
    this.status = res.head.status;
    this.responseHeadAt = performance.now();
    const filters = this.frontEnd.chain.responseHeaders;
    if (filters.length === 0) {
      const edits = this.responseEdits;
      if (edits !== null) res.edit(edits);
      return FilterStatus.CONTINUE;
    }
    this.response = res;
    return this.#runResponseHeaders(filters, 0);
  }

  #runResponseHeaders(filters: readonly HttpFilter[], from: number): FilterStatus {
    for (let i = from; i < filters.length; i++) {
      const status = filters[i]!.onResponseHeaders!(this);
      if (this.#ended) return FilterStatus.STOP;
      if (status !== FilterStatus.CONTINUE) {
        this.#responseStopped = true;
        this.#responseNext = i + 1;
        return FilterStatus.STOP;
      }
    }
    const edits = this.responseEdits;
    if (edits !== null) this.response!.edit(edits);
    return FilterStatus.CONTINUE;
  }

  /**
   * The response body will pass through the response-body filters (the upstream asks this once,
   * after the head's filters, for a response with a body): `length` is the Content-Length the
   * head still declares, -1 when a filter removed it.
   */
  startResponseBody(length: number): void {
    this.#stage = ExchangeStage.RESPONSE_BODY;
    this.#responseBody = new ResponseBodyPhase(this, this.frontEnd.chain.responseBody, BODY_BUFFER_LIMIT, length);
  }

  /**
   * Response payload from the real server (after startResponseBody); `last` once it has all
   * arrived (the upstream has let go of the real server by then). The last bytes the filters
   * pass on complete the exchange. false: pause the real server (a filter stopped, or the
   * client is full) until `onDownstreamDrain`.
   */
  responseBody(chunk: Buffer, last: boolean): boolean {
    if (this.#ended) return false;
    return this.#responseBody!.push(chunk, last);
  }

  /** A response-header or response-body filter stopped: the real server is not read, and not to blame. */
  get responseHeld(): boolean {
    return this.#responseStopped || (this.#responseBody !== null && this.#responseBody.holding);
  }

  // ---- endings ------------------------------------------------------------------------------------

  /** An answer of our own (a rule's deny, redirect or respond; a 429), instead of a real server's. */
  answer(status: number, headers: ReadonlyArray<readonly [string, string]>, body: Buffer | string, termination: Termination, detail = ''): void {
    if (this.#ended) return;
    if (this.responseStarted) return this.abort(termination, detail);
    this.status = status;
    this.termination = termination;
    this.error = detail;
    this.upstream?.cancel();
    this.upstream = null;
    const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const close = this.downstream.sendLocal(this, { status, headers, body: payload, close: false });
    this.#finish();
    this.downstream.done(this, close);
  }

  /**
   * End with an error of our own (no response byte reached the client yet): the status and the
   * client-safe reason of `termination` (termination.ts), the detail only in the logs.
   */
  fail(termination: Termination, detail: string, forceClose = false, status = 0): void {
    if (this.#ended) return;
    if (this.responseStarted) return this.abort(termination, detail);
    const known = ANSWERS[termination];
    const code = status !== 0 ? status : termination === Termination.NO_SERVER ? this.frontEnd.notAvailable.status : (known?.status ?? 502);
    this.status = code;
    this.termination = termination;
    this.error = detail;
    this.upstream?.cancel();
    this.upstream = null;
    const answer = termination === Termination.NO_SERVER ? this.frontEnd.notAvailable : this.errorAnswer(code, known?.reason ?? STATUS_CODES[code] ?? 'error');
    const close = this.downstream.sendLocal(this, forceClose ? { ...answer, close: true } : answer);
    this.#finish();
    this.downstream.done(this, close);
  }

  /** A short text answer naming the virtual service and the reason, never an address. */
  errorAnswer(status: number, reason: string): LocalAnswer {
    return this.frontEnd.errorAnswer(status, reason);
  }

  /** Something broke after the response started: the client is cut off. */
  abort(termination: Termination, detail: string): void {
    if (this.#ended) return;
    this.termination = termination;
    this.error = detail;
    this.upstream?.cancel();
    this.upstream = null;
    this.downstream.abort(this);
    this.#finish();
  }

  /** The response went out whole. */
  complete(): void {
    if (this.#ended) return;
    this.#finish();
    this.downstream.done(this, false);
  }

  /** The client went away (closed, reset) before the exchange ended. */
  clientGone(): void {
    if (this.#ended) return;
    this.termination = Termination.CLIENT_ABORTED;
    if (this.error === '') this.error = this.status === 0 ? 'client closed the connection' : 'client closed mid-response';
    this.upstream?.cancel();
    this.upstream = null;
    this.#finish();
  }

  /** A 101 turned the exchange into a tunnel: it is logged now; the bytes that follow are not an exchange. */
  tunnelled(): void {
    if (this.#ended) return;
    this.#finish();
  }

  #finish(): void {
    this.#ended = true;
    this.#stage = ExchangeStage.DONE;
    this.frontEnd.releaseTables(this);
    const filters = this.frontEnd.chain.log;
    for (let i = 0; i < filters.length; i++) filters[i]!.onLog!(this);
    this.frontEnd.log(this);
  }
}
