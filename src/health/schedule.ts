/**
 * When checks run: each real server's first check at a random point within its interval, then
 * every interval +-10 %, so that a hundred servers with a 5 s interval are checked about one
 * every 50 ms rather than a hundred at once, and they do not fall back into step over time
 * (Envoy's jittered checks). `random` is Math.random's shape, injected for tests.
 */

/** +-10 % keeps the average at the configured interval while drifting servers apart. */
export const JITTER_FRACTION = 0.1;

export function firstDelay(interval: number, random: () => number): number {
  return Math.floor(random() * interval);
}

/** The delay from the end of one check to the start of the next: interval +-10 %, less the time the check took. */
export function nextDelay(interval: number, elapsed: number, random: () => number): number {
  const jittered = interval * (1 - JITTER_FRACTION + 2 * JITTER_FRACTION * random());
  return Math.max(0, Math.round(jittered - elapsed));
}
