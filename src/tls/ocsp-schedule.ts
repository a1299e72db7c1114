/**
 * When to fetch a certificate's OCSP response again. Pure functions of the clock, so that the
 * manager's decisions are tested with an injected one.
 *
 * A response is refreshed halfway through its validity (thisUpdate to nextUpdate): Let's Encrypt's
 * responses were valid 7 days and refreshed by the CA after 3.5, so halfway fetches the new one
 * soon after it exists, and leaves the other half for retries should the responder be down. A
 * response without nextUpdate is asked for again every hour (it is stapled a day at most,
 * ocsp-response.ts). Never sooner than MIN_REFRESH_MS after a fetch, whatever a responder says.
 *
 * After a failure: 1 minute, doubling up to an hour (1, 2, 4 ... 32 minutes, then every hour), so
 * a responder that is down is asked at most once a minute per certificate, and the last good
 * response (kept meanwhile) gets dozens of attempts before the half of its validity left runs out.
 */
import { doublingBackoff } from '../time/background-clock.ts';

export const NO_NEXT_UPDATE_REFRESH_MS = 3_600_000;
export const MIN_REFRESH_MS = 30_000;
export const BACKOFF_FIRST_MS = 60_000;
export const BACKOFF_MAX_MS = 3_600_000;

/** The moment (epoch ms) to fetch again after a response with these dates arrived at `now`. */
export function refreshAt(now: number, thisUpdate: number, nextUpdate: number | null): number {
  if (nextUpdate === null) return now + NO_NEXT_UPDATE_REFRESH_MS;
  // A response that was cached somewhere for half its life already (a CDN in front of the
  // responder): half of what is left, not at once, or a cache would be asked again and again.
  const halfway = thisUpdate + (nextUpdate - thisUpdate) / 2;
  const due = halfway > now ? halfway : now + (nextUpdate - now) / 2;
  return Math.round(Math.max(due, now + MIN_REFRESH_MS));
}

/** The wait after the `failures`-th failed fetch in a row (1-based). */
export function backoffDelay(failures: number): number {
  return doublingBackoff(failures, BACKOFF_FIRST_MS, BACKOFF_MAX_MS);
}
