/**
 * The clock of the supervisor's background work (ACME renewals, OCSP fetches): injected, so the
 * hermetic tests drive the schedule without sleeping. Timers are unref'd: pending work never keeps
 * a stopping supervisor alive.
 */
export interface BackgroundClock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: BackgroundClock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** The longest background work sleeps without looking at the clock again (a suspended machine, a stepped clock). */
export const MAX_SLEEP_MS = 3_600_000;

/** The wait after the `failures`-th failure in a row (1-based): `first`, doubling, at most `max`. */
export function doublingBackoff(failures: number, first: number, max: number): number {
  if (failures < 1) return 0;
  return Math.min(first * 2 ** Math.min(failures - 1, 30), max);
}
