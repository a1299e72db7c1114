/**
 * A persistence table: key (a masked address, a header or cookie value) → a small integer (the
 * server's slot), with an expiry, at most `maxEntries` entries, least recently used evicted first.
 *
 * Entries live in parallel typed arrays linked into one recency list by index, with a Map from
 * key to index: an entry costs its key string, one Map slot and 24 bytes of arrays, and a hit
 * allocates nothing (a Map-only LRU would delete and re-insert the key on every hit). The arrays
 * grow by doubling up to maxEntries, so a table that holds 50 clients does not reserve room for
 * 100,000.
 *
 * Every entry of one table has the same timeout and a refresh moves the entry to the head, so
 * recency order is expiry order: the sweep walks from the tail and stops at the first live entry.
 * (An entry that is read without a refresh, as for a draining server, stays where it is.)
 */

const INITIAL_CAPACITY = 1024;
const NONE = -1;

export class LruTable {
  readonly maxEntries: number;
  /** Milliseconds an entry lives after its last refresh; 0: until evicted. */
  readonly timeout: number;
  readonly #index = new Map<string, number>();
  #keys: string[] = [];
  #values = new Int32Array(0);
  #expires = new Float64Array(0);
  #prev = new Int32Array(0);
  #next = new Int32Array(0);
  /** Most recently refreshed entry. */
  #head = NONE;
  /** Least recently refreshed entry: the next to expire and to be evicted. */
  #tail = NONE;
  /** Positions freed by deletion, chained through #next. */
  #free = NONE;
  /** Positions ever handed out (the high-water mark below capacity). */
  #used = 0;

  constructor(maxEntries: number, timeout: number) {
    this.maxEntries = maxEntries;
    this.timeout = timeout;
  }

  get size(): number {
    return this.#index.size;
  }

  /** The position of a live entry for `key`, or -1. An expired entry is removed on the way. */
  find(key: string, now: number): number {
    const pos = this.#index.get(key);
    if (pos === undefined) return NONE;
    if (this.#expires[pos]! <= now) {
      this.#remove(pos);
      return NONE;
    }
    return pos;
  }

  keyAt(pos: number): string {
    return this.#keys[pos]!;
  }

  valueAt(pos: number): number {
    return this.#values[pos]!;
  }

  expiresAt(pos: number): number {
    return this.#expires[pos]!;
  }

  /** Renew the entry at `pos` from `now` and make it the most recent. */
  refresh(pos: number, now: number): void {
    this.#expires[pos] = this.#expiry(now);
    this.#moveToHead(pos);
  }

  /** Map `key` to `value` from now on: a new entry (evicting the least recent when full) or a renewed one. */
  set(key: string, value: number, now: number): void {
    let pos = this.#index.get(key);
    if (pos === undefined) {
      if (this.#index.size >= this.maxEntries) this.#remove(this.#tail);
      pos = this.#allocate();
      this.#keys[pos] = key;
      this.#index.set(key, pos);
      this.#linkAtHead(pos);
    } else {
      this.#moveToHead(pos);
    }
    this.#values[pos] = value;
    this.#expires[pos] = this.#expiry(now);
  }

  delete(key: string): boolean {
    const pos = this.#index.get(key);
    if (pos === undefined) return false;
    this.#remove(pos);
    return true;
  }

  /** Remove up to `budget` expired entries from the tail; returns how many went. */
  sweep(now: number, budget: number): number {
    let removed = 0;
    while (removed < budget && this.#tail !== NONE && this.#expires[this.#tail]! <= now) {
      this.#remove(this.#tail);
      removed++;
    }
    return removed;
  }

  clear(): void {
    this.#index.clear();
    this.#keys = [];
    this.#head = this.#tail = this.#free = NONE;
    this.#used = 0;
  }

  #expiry(now: number): number {
    return this.timeout === 0 ? Number.POSITIVE_INFINITY : now + this.timeout;
  }

  #allocate(): number {
    if (this.#free !== NONE) {
      const pos = this.#free;
      this.#free = this.#next[pos]!;
      return pos;
    }
    if (this.#used === this.#values.length) this.#grow();
    return this.#used++;
  }

  #grow(): void {
    const capacity = Math.min(this.maxEntries, Math.max(INITIAL_CAPACITY, this.#values.length * 2));
    const grow = <T extends Int32Array | Float64Array>(old: T, fresh: T): T => {
      fresh.set(old);
      return fresh;
    };
    this.#values = grow(this.#values, new Int32Array(capacity));
    this.#expires = grow(this.#expires, new Float64Array(capacity));
    this.#prev = grow(this.#prev, new Int32Array(capacity));
    this.#next = grow(this.#next, new Int32Array(capacity));
  }

  #remove(pos: number): void {
    this.#index.delete(this.#keys[pos]!);
    this.#keys[pos] = '';
    this.#unlink(pos);
    this.#next[pos] = this.#free;
    this.#free = pos;
  }

  #linkAtHead(pos: number): void {
    this.#prev[pos] = NONE;
    this.#next[pos] = this.#head;
    if (this.#head !== NONE) this.#prev[this.#head] = pos;
    this.#head = pos;
    if (this.#tail === NONE) this.#tail = pos;
  }

  #unlink(pos: number): void {
    const prev = this.#prev[pos]!;
    const next = this.#next[pos]!;
    if (prev !== NONE) this.#next[prev] = next;
    else this.#head = next;
    if (next !== NONE) this.#prev[next] = prev;
    else this.#tail = prev;
  }

  #moveToHead(pos: number): void {
    if (this.#head === pos) return;
    this.#unlink(pos);
    this.#linkAtHead(pos);
  }
}
