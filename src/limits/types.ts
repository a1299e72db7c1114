/**
 * Types only (and the Verdict constants): the shapes the limits module shares between the
 * authority (the true state), the worker-side client (leases) and the config that feeds them.
 */

/** What take/acquire decided at once. PENDING: the answer comes later through the TakeDone callback. */
export const Verdict = { ALLOW: 0, DENY: 1, PENDING: 2 } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/**
 * The late answer to a PENDING take or acquire, called exactly once. `retryAfterMs`: when denied,
 * the time until the limit lets one more through (0 when unknown, as for concurrency).
 */
export interface TakeDone {
  (allowed: boolean, retryAfterMs: number): void;
}

/** A token bucket: `rate` tokens per second, at most `burst` saved up; one token per request or connection. */
export interface RateLimitSpec {
  /** Chosen by the caller, e.g. "web/perClient", "web/rule/api/perClient". */
  id: string;
  kind: 'rate';
  /** Tokens per second; fractions allowed (0.5 = one every 2 s). */
  rate: number;
  /** Bucket size: how many a client may use at once after a quiet period; an integer >= 1. */
  burst: number;
  /** Most keys (client addresses, header values) tracked; the least recently used is forgotten first. */
  maxKeys: number;
}

/** At most `max` held at once per key (connections or UDP sessions per client). */
export interface ConcurrencyLimitSpec {
  id: string;
  kind: 'concurrency';
  max: number;
  maxKeys: number;
}

export type LimitSpec = RateLimitSpec | ConcurrencyLimitSpec;

/** The client's counters, for the worker's stats. */
export interface LimitClientCounters {
  /** Takes and acquires let through because the authority did not answer in time (or the key's entry was evicted while waiting). */
  failedOpen: number;
  /** Asks sent to the authority (one per limit and key per round trip). */
  asks: number;
  /** Messages sent to the authority (one per event-loop turn at most). */
  messages: number;
}
