/**
 * The filter chain of each HTTP virtual service, built once per config: the ACME http-01
 * answers (http services of a config with tls.acme names), its access list, its
 * request limits, its redirect to HTTPS or its HSTS header, its content rules (and a body limit
 * when a rule has one), and the mTLS headers for real servers, in that order. A
 * virtual service with none of them gets an empty chain and its exchanges run no filter code.
 */
import type { VirtualServiceConfig } from '../config/schema.ts';
import type { HttpFilter } from '../exchange/filter.ts';
import type { LimitClient } from '../limits/index.ts';
import type { PoolSet } from '../pool/pool-set.ts';
import { AccessFilter } from '../filters/access-filter.ts';
import { RateLimitFilter } from '../filters/rate-limit-filter.ts';
import { BodyLimitFilter, RulesFilter } from '../filters/rules-filter.ts';
import { HstsFilter, RedirectToHttpsFilter } from '../filters/https-filters.ts';
import { ClientCertificateHeadersFilter } from '../filters/client-certificate-headers.ts';
import { AcmeChallengeFilter } from '../filters/acme-challenge-filter.ts';
import type { AcmeChallengeStore } from '../acme/challenge-store.ts';

/** What filters share in one worker, across reloads (the worker's EngineContext holds it). */
export interface FilterState {
  /** virtual service → rule name → times it decided (kept while the names stay). */
  readonly ruleHits: Map<string, Map<string, number>>;
  /** Rate and connection limits for every virtual service (src/limits). */
  readonly limits: LimitClient;
  /** ACME challenges to answer (the config's tls.acme names); null or absent without any. */
  readonly acme?: AcmeChallengeStore | null;
}

export function buildFilters(config: VirtualServiceConfig, pools: PoolSet, state: FilterState): HttpFilter[] {
  if (config.protocol !== 'http' && config.protocol !== 'https') return [];
  const filters: HttpFilter[] = [];
  // First: a CA's http-01 check must pass whatever the access list, limits, rules or redirect say.
  if (config.protocol === 'http' && state.acme != null) filters.push(new AcmeChallengeFilter(state.acme));
  if (config.access !== undefined) filters.push(new AccessFilter(config.access));
  if (config.rateLimit !== undefined) {
    const limits = new RateLimitFilter(state.limits, config.name, config.rateLimit);
    if (limits.active) filters.push(limits);
  }
  if (config.protocol === 'http' && config.redirectToHttps !== undefined) {
    // Answers every request: rules are refused beside it at load (conflicts.ts).
    filters.push(new RedirectToHttpsFilter(config.redirectToHttps));
    return filters;
  }
  if (config.protocol === 'https' && config.tls.hsts !== undefined) filters.push(new HstsFilter(config.tls.hsts));
  if (config.rules.length > 0) {
    let hits = state.ruleHits.get(config.name);
    if (hits === undefined) state.ruleHits.set(config.name, (hits = new Map()));
    // Counts of rules that left the config go with them.
    const names = new Set(config.rules.map((rule) => rule.name));
    for (const name of hits.keys()) if (!names.has(name)) hits.delete(name);
    const rules = new RulesFilter(config, pools, state.limits, hits);
    filters.push(rules);
    if (rules.watchesBody) filters.push(new BodyLimitFilter());
  } else {
    state.ruleHits.delete(config.name);
  }
  // Route phase: after the rules' edits, whichever way they finished.
  if (config.protocol === 'https' && config.tls.clientAuth.mode !== 'none') filters.push(new ClientCertificateHeadersFilter());
  return filters;
}
