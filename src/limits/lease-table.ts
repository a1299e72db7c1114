/**
 * A worker's leases for one limit (IPC mode): per key, what the authority granted this worker and
 * it has not used or returned, the requests waiting for the authority, and the memory of a
 * recent refusal. Rate: `held` counts unused tokens. Concurrency: `held` counts slots granted and
 * not returned, `inUse` the connections counted here; held - inUse are spare slots (negative
 * after a fail-open let connections through without one).
 *
 * The table only stores and counts; LimitClient decides when to ask, return and answer.
 */
import { growFloat64, growInt32, LruSlots, NONE } from './lru-slots.ts';
import type { LimitSpec, TakeDone } from './types.ts';

export class LeaseTable {
  spec: LimitSpec;
  readonly #keys: LruSlots;
  #held = new Int32Array(0);
  #inUse = new Int32Array(0);
  /** Concurrency: spare slots this worker may keep after a release (what the authority last gave beyond the ask). */
  #spareCap = new Int32Array(0);
  /** The `want` of the ask in flight. */
  #asked = new Int32Array(0);
  /** The ask in flight (LimitAsk.seq); 0: none. */
  #askSeq = new Float64Array(0);
  #denyUntil = new Float64Array(0);
  #touched = new Float64Array(0);
  #waiters: (TakeDone[] | undefined)[] = [];

  constructor(spec: LimitSpec) {
    this.spec = spec;
    this.#keys = new LruSlots(spec.maxKeys);
  }

  get id(): string {
    return this.spec.id;
  }

  get size(): number {
    return this.#keys.size;
  }

  get full(): boolean {
    return this.#keys.full;
  }

  /** Same id, state kept (limit-spec.ts keepsState): a new cap or max applies in place. */
  update(spec: LimitSpec): void {
    this.spec = spec;
    this.#keys.maxEntries = spec.maxKeys;
  }

  find(key: string): number {
    return this.#keys.find(key);
  }

  keyAt(slot: number): string {
    return this.#keys.keyAt(slot);
  }

  oldest(): number {
    return this.#keys.oldest();
  }

  newer(slot: number): number {
    return this.#keys.newer(slot);
  }

  /** A fresh entry; the caller made room first (`full`, `oldest`, `close`). */
  open(key: string, now: number): number {
    const slot = this.#keys.insert(key);
    if (slot >= this.#held.length) this.#grow(this.#keys.capacity);
    this.#held[slot] = 0;
    this.#inUse[slot] = 0;
    this.#spareCap[slot] = 0;
    this.#asked[slot] = 0;
    this.#askSeq[slot] = 0;
    this.#denyUntil[slot] = 0;
    this.#touched[slot] = now;
    this.#waiters[slot] = undefined;
    return slot;
  }

  close(slot: number): void {
    this.#waiters[slot] = undefined;
    this.#askSeq[slot] = 0;
    this.#keys.delete(slot);
  }

  touch(slot: number, now: number): void {
    this.#touched[slot] = now;
    this.#keys.touch(slot);
  }

  touchedAt(slot: number): number {
    return this.#touched[slot]!;
  }

  /** Take one local token (rate) or spare slot (concurrency); false when there is none. */
  useLocal(slot: number): boolean {
    if (this.spec.kind === 'rate') {
      if (this.#held[slot]! <= 0) return false;
      this.#held[slot]!--;
      return true;
    }
    if (this.#held[slot]! - this.#inUse[slot]! <= 0) return false;
    this.#inUse[slot]!++;
    return true;
  }

  /** Let one through without a token or slot (fail open). A connection still counts, so that its release is matched. */
  useUnbacked(slot: number): void {
    if (this.spec.kind === 'concurrency') this.#inUse[slot]!++;
  }

  /** ms left of a remembered refusal, 0 when none. */
  deniedFor(slot: number, now: number): number {
    const left = this.#denyUntil[slot]! - now;
    return left > 0 ? left : 0;
  }

  denyUntil(slot: number, until: number): void {
    this.#denyUntil[slot] = until;
  }

  // ---- asks ------------------------------------------------------------------------------------

  askSeq(slot: number): number {
    return this.#askSeq[slot]!;
  }

  /** A new ask for the waiters `waiting` (the first taker, or those left after a grant). */
  beginAsk(slot: number, seq: number, waiting: TakeDone[]): void {
    this.#askSeq[slot] = seq;
    this.#asked[slot] = 0;
    this.#waiters[slot] = waiting;
  }

  /** Queue behind the ask in flight. */
  wait(slot: number, done: TakeDone): void {
    this.#waiters[slot]!.push(done);
  }

  /** At flush: the ask wants one per waiter gathered so far. */
  fixWant(slot: number): number {
    const want = Math.max(1, this.#waiters[slot]?.length ?? 0);
    this.#asked[slot] = want;
    return want;
  }

  askedFor(slot: number): number {
    return this.#asked[slot]!;
  }

  /** End the ask in flight: the waiters are the caller's to answer. */
  endAsk(slot: number): TakeDone[] {
    const waiting = this.#waiters[slot] ?? [];
    this.#waiters[slot] = undefined;
    this.#askSeq[slot] = 0;
    return waiting;
  }

  // ---- grants and returns ----------------------------------------------------------------------

  /** Tokens or slots granted. */
  addHeld(slot: number, count: number): void {
    this.#held[slot]! += count;
  }

  /** Concurrency: the slots the authority gave beyond the ask; this worker keeps that many spare after a release. */
  keepSpare(slot: number, spare: number): void {
    this.#spareCap[slot] = spare;
  }

  /** A connection closed: the slots to return (0 when it kept one as a spare, or it had none). */
  release(slot: number): number {
    if (this.#inUse[slot]! > 0) this.#inUse[slot]!--;
    // A slot is free now, which the remembered refusal did not know.
    this.#denyUntil[slot] = 0;
    const excess = this.#held[slot]! - this.#inUse[slot]! - this.#spareCap[slot]!;
    if (excess <= 0) return 0;
    this.#held[slot]! -= excess;
    return excess;
  }

  /** Idle for a lease lifetime: give back what is unused (rate: every token; concurrency: the spare slots). */
  releaseIdle(slot: number): number {
    const unused = this.spec.kind === 'rate' ? this.#held[slot]! : this.#held[slot]! - this.#inUse[slot]!;
    if (unused <= 0) return 0;
    this.#held[slot]! -= unused;
    this.#spareCap[slot] = 0;
    return unused;
  }

  /** Nothing held or counted, nothing waiting: the entry can go. */
  isIdle(slot: number): boolean {
    return this.#held[slot] === 0 && this.#inUse[slot] === 0 && this.#askSeq[slot] === 0;
  }

  /** Evicted or dropped: everything held goes back (concurrency: even slots of open connections, whose releases will find no entry). */
  surrender(slot: number): number {
    const held = this.#held[slot]!;
    this.#held[slot] = 0;
    this.#inUse[slot] = 0;
    return held > 0 ? held : 0;
  }

  #grow(capacity: number): void {
    this.#held = growInt32(this.#held, capacity);
    this.#inUse = growInt32(this.#inUse, capacity);
    this.#spareCap = growInt32(this.#spareCap, capacity);
    this.#asked = growInt32(this.#asked, capacity);
    this.#askSeq = growFloat64(this.#askSeq, capacity);
    this.#denyUntil = growFloat64(this.#denyUntil, capacity);
    this.#touched = growFloat64(this.#touched, capacity);
  }
}

export { NONE };
