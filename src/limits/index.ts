/**
 * Rate limits and per-client connection limits that hold for a virtual service as a whole,
 * across worker processes. See docs/rate-limits.md for the wiring.
 */
export { LimitAuthority, type LimitAuthorityOptions } from './authority.ts';
export { LimitClient, type LimitClientOptions } from './client.ts';
export { clientFromForwardedFor, type AddressSet } from './forwarded-for.ts';
export { IpcLink, type LimitLink, LocalLink } from './links.ts';
export type { LimitsToAuthority, LimitsToWorker } from './protocol.ts';
export { configLimitSpecs, LimitName, limitId, ruleLimitSpecs, serviceLimitSpecs } from './service-limits.ts';
export { retryAfterSeconds } from './token-bucket.ts';
export { type ConcurrencyLimitSpec, type LimitClientCounters, type LimitSpec, type RateLimitSpec, type TakeDone, Verdict } from './types.ts';
