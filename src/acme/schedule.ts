/**
 * When to renew, and when to try again after a failure. Pure functions of the clock, so that the
 * manager's decisions can be tested with an injected one.
 *
 * Renewal at two thirds of the lifetime (day 60 of Let's Encrypt's 90, as its integration guide
 * and certbot do): a month for a failing renewal to be noticed and fixed, and Let's Encrypt's
 * expiry e-mails (20 days before) never fire for a setup that works. A shorter-lived
 * certificate (Let's Encrypt's 6-day ones) is renewed after 4 days the same way.
 *
 * Back-off after a failure: 1 minute, doubling to 24 hours (1, 2, 4 ... 512 minutes, then 17 h
 * 4 m, then 24 h: the eleventh failure in a row waits a day). Let's Encrypt allows 5 failed
 * validations per account, name and hour, so the first three retries may spend them, and then
 * the waits outgrow the window. A still-valid certificate is never removed on failure.
 */
import { doublingBackoff } from '../time/background-clock.ts';

export const BACKOFF_FIRST_MS = 60_000;
export const BACKOFF_MAX_MS = 86_400_000;
/** Another node holds the order lock: look again in this long (it has likely finished by then). */
export const LOCKED_RETRY_MS = 60_000;

/**
 * The moment (ms since the epoch) a certificate is due for renewal: two thirds into its
 * lifetime, or `renewBeforeMs` before its end. Never before half its lifetime: a renewBefore
 * longer than the lifetime (30d on a 6-day certificate) would otherwise make every new
 * certificate due at once, and order them in a loop.
 */
export function renewalDue(notBefore: number, notAfter: number, renewBeforeMs?: number): number {
  const lifetime = Math.max(0, notAfter - notBefore);
  if (renewBeforeMs === undefined) return Math.round(notBefore + (lifetime * 2) / 3);
  return Math.round(Math.max(notAfter - renewBeforeMs, notBefore + lifetime / 2));
}

/** The wait after the `failures`-th failure in a row (1-based). */
export function backoffDelay(failures: number): number {
  return doublingBackoff(failures, BACKOFF_FIRST_MS, BACKOFF_MAX_MS);
}
