/**
 * The authority's counts for one concurrency limit: per key, the slots all workers hold, and per
 * worker what it holds, so that a dead worker's slots can be freed. A key whose count drops to 0
 * is forgotten (0 is where a new key starts), so the table holds only clients with open
 * connections and maxKeys bites only when more clients than that hold one at once.
 */
import { growInt32, LruSlots, NONE } from './lru-slots.ts';
import type { ConcurrencyLimitSpec } from './types.ts';

export class SlotLedger {
  readonly kind = 'concurrency';
  spec: ConcurrencyLimitSpec;
  readonly #keys: LruSlots;
  /** Slots held for each key, over all workers: never above spec.max. */
  #held = new Int32Array(0);
  /** worker → key → slots it holds (only keys with some). */
  readonly #byWorker = new Map<number, Map<string, number>>();

  constructor(spec: ConcurrencyLimitSpec) {
    this.spec = spec;
    this.#keys = new LruSlots(spec.maxKeys);
  }

  get size(): number {
    return this.#keys.size;
  }

  /** A new max or cap keeps the counts (limit-spec.ts keepsState). */
  update(spec: ConcurrencyLimitSpec): void {
    this.spec = spec;
    this.#keys.maxEntries = spec.maxKeys;
  }

  heldBy(key: string): number {
    const slot = this.#keys.find(key);
    return slot === NONE ? 0 : this.#held[slot]!;
  }

  /** Up to want + spare slots for `worker`, as many as fit under max (0 when none does). */
  grant(worker: number, key: string, want: number, spare: number): number {
    let slot = this.#keys.find(key);
    const held = slot === NONE ? 0 : this.#held[slot]!;
    const granted = Math.max(0, Math.min(this.spec.max - held, want + spare));
    if (granted === 0) return 0;
    if (slot === NONE) slot = this.#insert(key);
    else this.#keys.touch(slot);
    this.#held[slot] = held + granted;
    let mine = this.#byWorker.get(worker);
    if (mine === undefined) this.#byWorker.set(worker, (mine = new Map()));
    mine.set(key, (mine.get(key) ?? 0) + granted);
    return granted;
  }

  /** Slots `worker` gives back; never more than it holds, so a confused or late return cannot push a count below the truth. */
  giveBack(worker: number, key: string, count: number): void {
    const mine = this.#byWorker.get(worker);
    const holds = mine?.get(key) ?? 0;
    const returned = Math.min(holds, count);
    if (!(returned > 0)) return;
    if (holds === returned) mine!.delete(key);
    else mine!.set(key, holds - returned);
    this.#release(key, returned);
  }

  /** Everything a dead worker held goes back. */
  workerGone(worker: number): void {
    const mine = this.#byWorker.get(worker);
    if (mine === undefined) return;
    this.#byWorker.delete(worker);
    for (const [key, count] of mine) this.#release(key, count);
  }

  #release(key: string, count: number): void {
    const slot = this.#keys.find(key);
    if (slot === NONE) return;
    const held = this.#held[slot]! - count;
    if (held > 0) this.#held[slot] = held;
    else this.#keys.delete(slot);
  }

  /**
   * At the cap the least recent key is forgotten with its count: its client may then open up to
   * max more. Only more than maxKeys clients with connections open at once get here.
   */
  #insert(key: string): number {
    while (this.#keys.full) {
      const oldest = this.#keys.oldest();
      const gone = this.#keys.keyAt(oldest);
      this.#keys.delete(oldest);
      for (const mine of this.#byWorker.values()) mine.delete(gone);
    }
    const slot = this.#keys.insert(key);
    if (slot >= this.#held.length) this.#held = growInt32(this.#held, this.#keys.capacity);
    return slot;
  }
}
