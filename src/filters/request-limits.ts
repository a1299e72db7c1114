/**
 * The request limits of one scope (a virtual service, or one of its rules): a token per request
 * per client address (perClient) and per value of a header (perHeader), from the worker's
 * LimitClient (src/limits), which holds for the virtual service across every worker. Decided at
 * once when the client can (a lease in hand, or one worker alone); otherwise the exchange stops
 * until the authority answers, and the engine reads no more of that client meanwhile.
 */
import { performance } from 'node:perf_hooks';
import type { RuleRateLimitConfig } from '../config/rate-limit.ts';
import type { Exchange } from '../exchange/exchange.ts';
import { FilterStatus } from '../exchange/filter.ts';
import { Termination } from '../exchange/termination.ts';
import { LimitName, limitId, retryAfterSeconds, Verdict, type LimitClient } from '../limits/index.ts';

interface Limit {
  readonly id: string;
  /** The lower-case header name for perHeader; null: the client's address. */
  readonly header: string | null;
}

export class RequestLimits {
  readonly #client: LimitClient;
  readonly #limits: readonly Limit[];
  readonly #status: number;

  /** `prefix`: the ids' scope, "web" or "web/rule/api" (src/limits/service-limits.ts). */
  constructor(client: LimitClient, prefix: string, config: RuleRateLimitConfig, status: number) {
    this.#client = client;
    this.#status = status;
    const limits: Limit[] = [];
    if (config.perClient !== null) limits.push({ id: limitId(prefix, LimitName.PER_CLIENT), header: null });
    if (config.perHeader !== null) limits.push({ id: limitId(prefix, LimitName.PER_HEADER), header: config.perHeader.name.toLowerCase() });
    this.#limits = limits;
  }

  get empty(): boolean {
    return this.#limits.length === 0;
  }

  /**
   * CONTINUE: every limit let the request through. STOP: it was refused (answered 429), or an
   * answer is awaited and `then(ex)` runs once every limit has let it through.
   */
  check(ex: Exchange, then: (ex: Exchange) => void): FilterStatus {
    return this.#from(ex, 0, then);
  }

  #from(ex: Exchange, first: number, then: (ex: Exchange) => void): FilterStatus {
    const client = this.#client;
    for (let i = first; i < this.#limits.length; i++) {
      const limit = this.#limits[i]!;
      const key = limit.header === null ? ex.clientAddress : ex.input().header(limit.header);
      if (key === null) continue;
      const verdict = client.take(limit.id, key, performance.now(), (allowed, retryAfterMs) => {
        if (ex.ended) return;
        if (!allowed) return this.#refuse(ex, limit, retryAfterMs);
        if (this.#from(ex, i + 1, then) === FilterStatus.CONTINUE) then(ex);
      });
      if (verdict === Verdict.ALLOW) continue;
      if (verdict === Verdict.DENY) this.#refuse(ex, limit, client.retryAfterMs);
      return FilterStatus.STOP;
    }
    return FilterStatus.CONTINUE;
  }

  #refuse(ex: Exchange, limit: Limit, retryAfterMs: number): void {
    const answer = ex.errorAnswer(this.#status, 'too many requests');
    const headers: Array<readonly [string, string]> = [...answer.headers, ['Retry-After', String(retryAfterSeconds(retryAfterMs))]];
    ex.answer(this.#status, headers, answer.body, Termination.RATE_LIMITED, `over ${limit.id}`);
  }
}
