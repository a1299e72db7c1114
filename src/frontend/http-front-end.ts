/**
 * What an HTTP virtual service's exchanges read, resolved once per config: limits, timeouts,
 * forwarding headers, retries, its filter chain, the answers it writes itself, and where it logs.
 * `dispatch` hands a routed exchange to the HTTP/1.1 forwarder (src/upstream), the only upstream
 * there is today.
 */
import { STATUS_CODES } from 'node:http';
import type { HttpServiceConfig } from '../config/schema.ts';
import type { Exchange } from '../exchange/exchange.ts';
import { FilterChain, type HttpFilter } from '../exchange/filter.ts';
import type { LocalAnswer, Upstream } from '../exchange/types.ts';
import type { ForwardingPolicy } from '../http/rewrite.ts';
import type { Pool } from '../pool/pool.ts';
import type { PoolSet } from '../pool/pool-set.ts';
import { Http1Forwarder } from '../upstream/http1-forwarder.ts';
import type { EngineContext } from '../worker/engine-context.ts';
import { ExchangeMatchInput, type CountrySource } from '../filters/match-input.ts';
import type { MatchInput } from '../rules/types.ts';
import type { FieldTable } from '../http/fields.ts';
import { HeaderKind } from '../http/header-kind.ts';
import type { RequestHead } from '../http/request-head.ts';
import { CidrSet } from '../ip/cidr-set.ts';
import { parseIpInto } from '../ip/bytes.ts';
import { clientFromForwardedFor } from '../limits/forwarded-for.ts';
import type { ServiceMeter } from '../metrics/meters.ts';

const TEXT_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Content-Type', 'text/plain; charset=utf-8'],
  ['Cache-Control', 'no-store'],
];

export class HttpFrontEnd {
  readonly name: string;
  readonly config: HttpServiceConfig;
  readonly pool: Pool;
  readonly pools: PoolSet;
  readonly ctx: EngineContext;
  readonly timeouts: HttpServiceConfig['timeouts'];
  readonly limits: HttpServiceConfig['limits'];
  readonly retries: number;
  readonly policy: ForwardingPolicy;
  /** This virtual service's metrics counters (the worker's, kept across reloads by name). */
  readonly meter: ServiceMeter;
  chain: FilterChain = FilterChain.NONE;
  /** Where clients' countries come from (the config's GeoIP database); null: none known. */
  countries: CountrySource | null = null;
  /** The answer when no real server (and no sorry server) can serve. */
  readonly notAvailable: LocalAnswer;
  readonly #answers = new Map<string, LocalAnswer>();
  /** trustedProxies; null when empty (the client is always the peer). */
  readonly #trusted: CidrSet | null;
  readonly #peerBytes = new Uint8Array(16);

  constructor(config: HttpServiceConfig, pool: Pool, pools: PoolSet, ctx: EngineContext) {
    this.name = config.name;
    this.config = config;
    this.pool = pool;
    this.pools = pools;
    this.ctx = ctx;
    this.timeouts = config.timeouts;
    this.limits = config.limits;
    this.retries = config.retries;
    this.meter = ctx.metrics.service(config.name);
    this.policy = { ...config.forwardedHeaders, proto: config.protocol };
    this.notAvailable = notAvailableAnswer(config.notAvailable, this);
    this.#trusted = config.trustedProxies.length === 0 ? null : new CidrSet(config.trustedProxies);
  }

  /** The filters of this virtual service, in order (built by the worker from its rules and limits). */
  setFilters(filters: readonly HttpFilter[]): void {
    this.chain = filters.length === 0 ? FilterChain.NONE : new FilterChain(filters);
  }

  /**
   * The client of a request: its peer, unless the peer is a trusted proxy, then the address its
   * X-Forwarded-For names (nginx's real_ip_recursive; src/limits/forwarded-for.ts). Rules,
   * access lists, rate limits, persistence and the access log all use this one.
   */
  clientOf(peer: string, head: RequestHead, fields: FieldTable): string {
    const trusted = this.#trusted;
    if (trusted === null) return peer;
    const bytes = this.#peerBytes;
    const family = parseIpInto(peer, bytes);
    if (family === 0 || !trusted.has(family, bytes)) return peer;
    const values: string[] = [];
    for (let i = 0; i < fields.count; i++) {
      if (fields.kind[i] === HeaderKind.X_FORWARDED_FOR) values.push(head.buf.toString('latin1', fields.valueStart[i]!, fields.valueEnd[i]!));
    }
    return clientFromForwardedFor(family, bytes, values, trusted) ?? peer;
  }

  /** What rules read of an exchange (made once per exchange that a filter asks about). */
  matchInput(ex: Exchange): MatchInput {
    return new ExchangeMatchInput(ex, this.countries);
  }

  /** A short text answer: the status, a client-safe reason and the virtual service's name. */
  errorAnswer(status: number, reason: string): LocalAnswer {
    const key = `${status} ${reason}`;
    let answer = this.#answers.get(key);
    if (answer === undefined) {
      answer = { status, headers: TEXT_HEADERS, body: Buffer.from(`${status} ${STATUS_CODES[status] ?? 'Error'}: ${reason} (virtual service "${this.name}")\n`), close: false };
      // Reasons come from fixed tables (termination.ts, parse-error.ts), so this stays small.
      if (this.#answers.size < 64) this.#answers.set(key, answer);
    }
    return answer;
  }

  /** Carry a routed exchange to a real server (the exchange holds its upstream from the start). */
  dispatch(ex: Exchange): void {
    const forwarder: Upstream & { start(): void } = new Http1Forwarder(ex, this);
    ex.upstream = forwarder;
    forwarder.start();
  }

  /** The exchange no longer needs its parsed head's field table. */
  releaseTables(ex: Exchange): void {
    const fields = ex.fields;
    if (fields === null) return;
    ex.fields = null;
    this.ctx.tables.release(fields);
  }

  /** A request head refused before it made an exchange (parse errors, 408): still one log line. */
  logRefusal(client: string, status: number, reason: string, termination: string, bytesIn: number, bytesOut: number, durationMs: number): void {
    this.meter.refusal(status, termination, bytesIn, bytesOut);
    this.ctx.accessLog?.log({
      client,
      virtualService: this.name,
      pool: '',
      rule: '',
      server: '',
      method: '',
      path: '',
      status,
      bytesIn,
      bytesOut,
      durationMs,
      termination,
      error: reason,
    });
  }

  /** The exchange's access-log line (its duration runs to now). */
  log(ex: Exchange): void {
    const durationMs = performance.now() - ex.startedAt;
    this.meter.exchange(ex, durationMs);
    const sink = this.ctx.accessLog;
    if (sink === null) return;
    sink.log({
      client: ex.clientAddress,
      virtualService: this.name,
      pool: ex.pool.name,
      rule: ex.ruleName,
      server: ex.server === null ? '' : ex.server.id,
      method: ex.method,
      path: ex.target,
      status: ex.status,
      bytesIn: ex.bytesIn,
      bytesOut: ex.bytesOut,
      durationMs,
      termination: ex.termination,
      error: ex.error,
    });
  }
}

/** The config's notAvailable answer: a redirect, the admin's text, or our own line. */
function notAvailableAnswer(config: HttpServiceConfig['notAvailable'], frontEnd: HttpFrontEnd): LocalAnswer {
  if (config.redirect !== undefined) {
    // The URL as the admin wrote it may hold spaces or non-ASCII letters; a header field must be
    // ASCII, so it goes out as the URL parser serializes it (percent-encoded, CR and LF dropped).
    return { status: 302, headers: [['Location', new URL(config.redirect).href], ['Cache-Control', 'no-store']], body: Buffer.alloc(0), close: false };
  }
  if (config.body === undefined) return frontEnd.errorAnswer(config.status, 'no real server available');
  return { status: config.status, headers: TEXT_HEADERS, body: Buffer.from(config.body, 'utf8'), close: false };
}
