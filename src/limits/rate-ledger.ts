/**
 * The authority's token buckets for one rate limit: the true count of every key's tokens. A
 * token leaves a bucket once, to one worker (granted), and comes back only if that worker
 * returns it unused, so no two workers can spend the same token.
 */
import { growFloat64, LruSlots, NONE } from './lru-slots.ts';
import { msUntilToken, refill, wholeTokens } from './token-bucket.ts';
import type { RateLimitSpec } from './types.ts';

export class RateLedger {
  readonly kind = 'rate';
  spec: RateLimitSpec;
  /** Set by grant: when it gave fewer than wanted, ms until the bucket has a whole token again; else 0. */
  retryAfterMs = 0;
  readonly #keys: LruSlots;
  #tokens = new Float64Array(0);
  /** When each bucket was last refilled (the authority's clock). */
  #updated = new Float64Array(0);

  constructor(spec: RateLimitSpec) {
    this.spec = spec;
    this.#keys = new LruSlots(spec.maxKeys);
  }

  get size(): number {
    return this.#keys.size;
  }

  setMaxKeys(maxKeys: number): void {
    this.spec = { ...this.spec, maxKeys };
    this.#keys.maxEntries = maxKeys;
  }

  /**
   * Take whole tokens for `key`: up to max(want, lease), never more than the bucket holds. With
   * fewer than `want`, retryAfterMs says when the next one comes.
   */
  grant(key: string, want: number, lease: number, now: number): number {
    const slot = this.#bucket(key, now);
    const { rate, burst } = this.spec;
    const tokens = refill(this.#tokens[slot]!, now - this.#updated[slot]!, rate, burst);
    const granted = Math.min(wholeTokens(tokens), Math.max(want, lease));
    const left = tokens - granted;
    this.#tokens[slot] = left;
    this.#updated[slot] = now;
    this.retryAfterMs = granted < want ? msUntilToken(left, rate) : 0;
    return granted;
  }

  /** Unused tokens back into the bucket (never above burst). A forgotten key's bucket is full already. */
  giveBack(key: string, count: number, now: number): void {
    const slot = this.#keys.find(key);
    if (slot === NONE || !(count > 0)) return;
    const { rate, burst } = this.spec;
    const tokens = refill(this.#tokens[slot]!, now - this.#updated[slot]!, rate, burst) + count;
    this.#tokens[slot] = tokens > burst ? burst : tokens;
    this.#updated[slot] = now;
  }

  /** The bucket's tokens now, for tests and stats; a key never seen has a full bucket. */
  tokensAt(key: string, now: number): number {
    const slot = this.#keys.find(key);
    if (slot === NONE) return this.spec.burst;
    return refill(this.#tokens[slot]!, now - this.#updated[slot]!, this.spec.rate, this.spec.burst);
  }

  /** The key's bucket, made most recent; a new key starts full, pushing out the least recent when at the cap. */
  #bucket(key: string, now: number): number {
    let slot = this.#keys.find(key);
    if (slot !== NONE) {
      this.#keys.touch(slot);
      return slot;
    }
    while (this.#keys.full) this.#keys.delete(this.#keys.oldest());
    slot = this.#keys.insert(key);
    if (slot >= this.#tokens.length) {
      this.#tokens = growFloat64(this.#tokens, this.#keys.capacity);
      this.#updated = growFloat64(this.#updated, this.#keys.capacity);
    }
    this.#tokens[slot] = this.spec.burst;
    this.#updated[slot] = now;
    return slot;
  }
}
