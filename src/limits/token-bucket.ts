/**
 * Token-bucket arithmetic, pure: a bucket holds up to `burst` tokens and gains `rate` per second.
 * Tokens are fractional between requests (a rate of 0.5/s adds 0.0005 per ms); a request needs a
 * whole one.
 */

/**
 * Float drift allowance. Adding rate × elapsed a million times (a fake clock stepping 1 ms for
 * 1000 s) drifts by about 1e-10 tokens; without the allowance a bucket that should hold exactly
 * 1 token can hold 0.9999999999 and refuse the request the rate promises.
 */
export const TOKEN_EPSILON = 1e-9;

/** The tokens after `elapsedMs` more at `ratePerSecond`, capped at `burst`; a clock that went back adds nothing. */
export function refill(tokens: number, elapsedMs: number, ratePerSecond: number, burst: number): number {
  if (elapsedMs <= 0) return tokens;
  const filled = tokens + (elapsedMs * ratePerSecond) / 1000;
  return filled > burst ? burst : filled;
}

/** Whole tokens that can be taken now. */
export function wholeTokens(tokens: number): number {
  return Math.floor(tokens + TOKEN_EPSILON);
}

/** Milliseconds until the bucket holds one whole token again (0 when it does now); never below 1 otherwise. */
export function msUntilToken(tokens: number, ratePerSecond: number): number {
  const missing = 1 - tokens;
  if (missing <= TOKEN_EPSILON) return 0;
  return Math.max(1, Math.ceil((missing * 1000) / ratePerSecond - TOKEN_EPSILON));
}

/** Retry-After is in whole seconds (RFC 9110 10.2.3): round up, at least 1, so a client never retries early. */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}
