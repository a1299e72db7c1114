/**
 * An LRU index of string keys over numbered slots, for tables whose columns are typed arrays
 * owned by the caller (a bucket's tokens and time, a key's slot counts). Same layout as
 * src/persistence/lru-table.ts, without its value and expiry columns: a Map from key to slot and
 * one recency list linked by index, so a hit allocates nothing.
 *
 * The owner evicts: when `full`, it takes `oldest()`, settles that entry (returns its leases) and
 * deletes it before inserting, so no callback runs in the middle of an insert.
 */

const INITIAL_CAPACITY = 1024;
export const NONE = -1;

export class LruSlots {
  #maxEntries: number;
  readonly #index = new Map<string, number>();
  #keys: string[] = [];
  #prev = new Int32Array(0);
  #next = new Int32Array(0);
  /** Most recently touched slot. */
  #head = NONE;
  /** Least recently touched slot: the next to be evicted. */
  #tail = NONE;
  /** Slots freed by deletion, chained through #next. */
  #free = NONE;
  /** Slots ever handed out (the high-water mark below capacity). */
  #used = 0;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#index.size;
  }

  /** Column length the owner's typed arrays need: every slot handed out is below it. */
  get capacity(): number {
    return this.#prev.length;
  }

  get maxEntries(): number {
    return this.#maxEntries;
  }

  /** A lower cap takes effect as keys are inserted: the owner evicts while `full`. */
  set maxEntries(value: number) {
    this.#maxEntries = value;
  }

  get full(): boolean {
    return this.#index.size >= this.#maxEntries;
  }

  find(key: string): number {
    return this.#index.get(key) ?? NONE;
  }

  keyAt(slot: number): string {
    return this.#keys[slot]!;
  }

  /** A new entry for `key` (which must be absent), the most recent. The owner makes room first. */
  insert(key: string): number {
    const slot = this.#allocate();
    this.#keys[slot] = key;
    this.#index.set(key, slot);
    this.#linkAtHead(slot);
    return slot;
  }

  touch(slot: number): void {
    if (this.#head === slot) return;
    this.#unlink(slot);
    this.#linkAtHead(slot);
  }

  delete(slot: number): void {
    this.#index.delete(this.#keys[slot]!);
    this.#keys[slot] = '';
    this.#unlink(slot);
    this.#next[slot] = this.#free;
    this.#free = slot;
  }

  /** The least recently touched slot, or NONE. */
  oldest(): number {
    return this.#tail;
  }

  /** The slot touched just after `slot`, or NONE. */
  newer(slot: number): number {
    return this.#prev[slot]!;
  }

  clear(): void {
    this.#index.clear();
    this.#keys = [];
    this.#head = this.#tail = this.#free = NONE;
    this.#used = 0;
  }

  #allocate(): number {
    if (this.#free !== NONE) {
      const slot = this.#free;
      this.#free = this.#next[slot]!;
      return slot;
    }
    if (this.#used === this.#prev.length) {
      const capacity = Math.max(this.#used + 1, Math.min(this.#maxEntries, Math.max(INITIAL_CAPACITY, this.#prev.length * 2)));
      this.#prev = growInt32(this.#prev, capacity);
      this.#next = growInt32(this.#next, capacity);
    }
    return this.#used++;
  }

  #linkAtHead(slot: number): void {
    this.#prev[slot] = NONE;
    this.#next[slot] = this.#head;
    if (this.#head !== NONE) this.#prev[this.#head] = slot;
    this.#head = slot;
    if (this.#tail === NONE) this.#tail = slot;
  }

  #unlink(slot: number): void {
    const prev = this.#prev[slot]!;
    const next = this.#next[slot]!;
    if (prev !== NONE) this.#next[prev] = next;
    else this.#head = next;
    if (next !== NONE) this.#prev[next] = prev;
    else this.#tail = prev;
  }
}

export function growInt32(old: Int32Array<ArrayBuffer>, capacity: number): Int32Array<ArrayBuffer> {
  if (old.length >= capacity) return old;
  const fresh = new Int32Array(capacity);
  fresh.set(old);
  return fresh;
}

export function growFloat64(old: Float64Array<ArrayBuffer>, capacity: number): Float64Array<ArrayBuffer> {
  if (old.length >= capacity) return old;
  const fresh = new Float64Array(capacity);
  fresh.set(old);
  return fresh;
}
