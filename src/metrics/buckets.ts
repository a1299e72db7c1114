/**
 * The latency buckets every Fulcrum histogram uses (request and upstream, per virtual service and
 * per real server), shared by the workers that count and the supervisor that renders and reads
 * percentiles from them, so that snapshots add bucket by bucket.
 *
 * 15 upper bounds from 0.5 ms to 10 s, roughly 1-2.5-5 per decade (Prometheus client defaults
 * start at 5 ms; a load balancer's fast path is well under that), plus +Inf: 16 slots. A
 * percentile read from them (quantileMs) is interpolated inside its bucket, as Prometheus's
 * histogram_quantile does, so its error is at most the bucket's width (between 1 and 2.5 ms, the
 * answer may be off by up to 1.5 ms).
 */

/** Upper bounds in milliseconds (inclusive, `le` in Prometheus terms), ascending. */
export const LATENCY_BOUNDS_MS: Readonly<Float64Array> = Float64Array.of(0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000);

/** Slots of a histogram: one per bound, then +Inf. */
export const LATENCY_SLOTS = LATENCY_BOUNDS_MS.length + 1;

/**
 * The slot of a duration: the first bound it does not exceed, else +Inf. A short linear walk:
 * most exchanges are fast and stop within the first four comparisons; the slowest pay 15.
 */
export function latencySlot(ms: number): number {
  const bounds = LATENCY_BOUNDS_MS;
  let i = 0;
  while (i < bounds.length && ms > bounds[i]!) i++;
  return i;
}

/**
 * The `q` quantile (0..1) of a histogram's per-slot counts, in milliseconds, interpolated
 * linearly inside the bucket it falls in (the lowest bucket from 0). NaN with no observations.
 * Falling in +Inf answers the highest finite bound: the histogram cannot tell more.
 */
export function quantileMs(counts: ArrayLike<number>, q: number): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i]!;
    if (count > 0 && seen + count >= rank) {
      if (i >= LATENCY_BOUNDS_MS.length) return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const upper = LATENCY_BOUNDS_MS[i]!;
      return lower + ((upper - lower) * (rank - seen)) / count;
    }
    seen += count;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}
