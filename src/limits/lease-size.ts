/**
 * How much a worker may hold beyond what its waiting requests need. A token leased to one worker
 * and not yet used is missing from the others; these sizes keep that below a few percent.
 */

/** A lease covers at most this much of the rate: 20 ms at 10,000/s is 200 tokens, 2 % of a second per worker. */
const LEASE_WINDOW_MS = 20;
/** Leases of all workers together hold at most a quarter of the burst. */
const BURST_SHARE = 4;
/** Slots a worker may keep unused: one or two save a round trip per new connection of a busy client. */
const MAX_SPARE_SLOTS = 2;
/** Spare slots only where all workers' spares stay within 1/16 (6 %) of the max: 4 workers need max >= 64 for one each. */
const SPARE_SHARE = 16;

/**
 * Tokens granted per ask when the waiting requests need fewer: max(1, min(burst / (4 × workers),
 * rate × 20 ms)). With one worker the authority sits in the same process and is asked per
 * request, so nothing is leased ahead and the count is exact.
 */
export function leaseTokens(ratePerSecond: number, burst: number, workers: number): number {
  if (workers <= 1) return 1;
  return Math.max(1, Math.min(Math.floor(burst / (BURST_SHARE * workers)), Math.floor((ratePerSecond * LEASE_WINDOW_MS) / 1000)));
}

/** Slots granted beyond what the waiting connections need: 0 for a small max, where a stranded spare would refuse a client below it. */
export function spareSlots(max: number, workers: number): number {
  if (workers <= 1) return 0;
  return Math.min(MAX_SPARE_SLOTS, Math.floor(max / (SPARE_SHARE * workers)));
}
