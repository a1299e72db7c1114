/**
 * What a reload keeps, and the checks a LimitSpec must pass (the config schema already enforces
 * them; a caller building specs by hand gets an error instead of a silently broken limit).
 */
import type { LimitSpec } from './types.ts';

/**
 * Whether a limit's state survives a change from `old` to `next` (same id). A bucket belongs to
 * its rate and burst: another rate starts fresh. A concurrency count describes connections that
 * are open, not a policy: it survives a new max (a lower one refuses new connections until
 * enough close). maxKeys alone never resets anything.
 */
export function keepsState(old: LimitSpec, next: LimitSpec): boolean {
  if (old.kind === 'rate') return next.kind === 'rate' && old.rate === next.rate && old.burst === next.burst;
  return next.kind === 'concurrency';
}

/** Throws a RangeError naming the first bad spec. */
export function checkSpecs(specs: readonly LimitSpec[]): void {
  const seen = new Set<string>();
  for (const spec of specs) {
    if (seen.has(spec.id)) throw new RangeError(`limit "${spec.id}" is configured twice`);
    seen.add(spec.id);
    if (!Number.isInteger(spec.maxKeys) || spec.maxKeys < 1) throw new RangeError(`limit "${spec.id}": maxKeys must be an integer >= 1, not ${spec.maxKeys}`);
    if (spec.kind === 'rate') {
      if (!(spec.rate > 0) || !Number.isFinite(spec.rate)) throw new RangeError(`limit "${spec.id}": rate must be a positive number of tokens per second, not ${spec.rate}`);
      if (!Number.isInteger(spec.burst) || spec.burst < 1) throw new RangeError(`limit "${spec.id}": burst must be an integer >= 1, not ${spec.burst}`);
    } else if (!Number.isInteger(spec.max) || spec.max < 1) {
      throw new RangeError(`limit "${spec.id}": max must be an integer >= 1, not ${spec.max}`);
    }
  }
}
