/**
 * The LimitSpecs of a virtual service's (or a rule's) rateLimit config, under stable ids: a
 * reload that leaves a limit as it was keeps its state because its id and spec come out equal.
 *
 * Ids: `${prefix}/perClient`, `${prefix}/perHeader`, `${prefix}/connectionRate`,
 * `${prefix}/maxConnectionsPerClient`, with prefix the virtual service's name (e.g.
 * "web/perClient") or a rule's path ("web/rule/api" → "web/rule/api/perClient").
 */
import type { RateConfig, RateLimitConfig, RuleRateLimitConfig } from '../config/rate-limit.ts';
import type { LimitSpec } from './types.ts';
import type { Config } from '../config/schema.ts';

export const LimitName = {
  PER_CLIENT: 'perClient',
  PER_HEADER: 'perHeader',
  CONNECTION_RATE: 'connectionRate',
  MAX_CONNECTIONS_PER_CLIENT: 'maxConnectionsPerClient',
} as const;
export type LimitName = (typeof LimitName)[keyof typeof LimitName];

export function limitId(prefix: string, name: LimitName): string {
  return `${prefix}/${name}`;
}

export function serviceLimitSpecs(prefix: string, config: RateLimitConfig): LimitSpec[] {
  const specs = ruleLimitSpecs(prefix, config, config.maxTrackedClients);
  if (config.connectionRate !== null) specs.push(rateSpec(limitId(prefix, LimitName.CONNECTION_RATE), config.connectionRate, config.maxTrackedClients));
  if (config.maxConnectionsPerClient !== null) {
    specs.push({ id: limitId(prefix, LimitName.MAX_CONNECTIONS_PER_CLIENT), kind: 'concurrency', max: config.maxConnectionsPerClient, maxKeys: config.maxTrackedClients });
  }
  return specs;
}

/** A rule's limits; `maxTrackedClients` is its virtual service's. */
export function ruleLimitSpecs(prefix: string, config: RuleRateLimitConfig, maxTrackedClients: number): LimitSpec[] {
  const specs: LimitSpec[] = [];
  if (config.perClient !== null) specs.push(rateSpec(limitId(prefix, LimitName.PER_CLIENT), config.perClient, maxTrackedClients));
  if (config.perHeader !== null) specs.push(rateSpec(limitId(prefix, LimitName.PER_HEADER), config.perHeader, maxTrackedClients));
  return specs;
}

function rateSpec(id: string, config: RateConfig, maxKeys: number): LimitSpec {
  return { id, kind: 'rate', rate: config.rate, burst: config.burst, maxKeys };
}

/** Every limit of a config: each virtual service's, and each of its rules'. */
export function configLimitSpecs(config: Config): LimitSpec[] {
  const specs: LimitSpec[] = [];
  for (const vs of config.virtualServices) {
    const rateLimit = vs.rateLimit;
    if (rateLimit !== undefined) specs.push(...serviceLimitSpecs(vs.name, rateLimit));
    if (vs.protocol !== 'http' && vs.protocol !== 'https') continue;
    const maxKeys = rateLimit?.maxTrackedClients ?? DEFAULT_MAX_TRACKED_CLIENTS;
    for (const rule of vs.rules) {
      const ruleLimit = (rule as { rateLimit?: RuleRateLimitConfig }).rateLimit;
      if (ruleLimit !== undefined) specs.push(...ruleLimitSpecs(`${vs.name}/rule/${rule.name}`, ruleLimit, maxKeys));
    }
  }
  return specs;
}

/** rateLimit.maxTrackedClients's default, for rules of a virtual service without a rateLimit. */
const DEFAULT_MAX_TRACKED_CLIENTS = 100_000;
