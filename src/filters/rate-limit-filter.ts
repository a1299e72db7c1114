/**
 * A virtual service's request limits (`rateLimit.perClient`, `rateLimit.perHeader`), checked on
 * every request after its access list and before its rules (request-limits.ts).
 */
import type { RateLimitConfig } from '../config/rate-limit.ts';
import type { Exchange } from '../exchange/exchange.ts';
import type { FilterStatus, HttpFilter } from '../exchange/filter.ts';
import type { LimitClient } from '../limits/index.ts';
import { RequestLimits } from './request-limits.ts';

export class RateLimitFilter implements HttpFilter {
  readonly name = 'rate-limit';
  readonly #limits: RequestLimits;

  constructor(client: LimitClient, virtualService: string, config: RateLimitConfig) {
    this.#limits = new RequestLimits(client, virtualService, config, config.status);
  }

  /** Has a request limit at all (connection limits alone need no filter). */
  get active(): boolean {
    return !this.#limits.empty;
  }

  onRequestHeaders(ex: Exchange): FilterStatus {
    return this.#limits.check(ex, resume);
  }
}

function resume(ex: Exchange): void {
  ex.resume();
}
