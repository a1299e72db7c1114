/**
 * LimitAuthority: the one true state of every limit of the running config. With `workers: 1` it
 * lives in the worker and is called directly (LocalLink: exact, synchronous). With several
 * workers it lives in the supervisor; workers reach it with LimitsToAuthority messages and it
 * answers each with one LimitsToWorker, returned by `receive` for the caller to send.
 *
 * Every `now` is the authority's own clock (performance.now() of its process). Workers never
 * send times, only durations come back (retryAfterMs), so the processes need no common clock.
 */
import { leaseTokens, spareSlots } from './lease-size.ts';
import { checkSpecs, keepsState } from './limit-spec.ts';
import type { LimitsToAuthority, LimitsToWorker } from './protocol.ts';
import { RateLedger } from './rate-ledger.ts';
import { SlotLedger } from './slot-ledger.ts';
import type { LimitSpec } from './types.ts';

type Ledger = RateLedger | SlotLedger;

export interface LimitAuthorityOptions {
  /** Worker processes that share the limits; sizes the leases (lease-size.ts). Default 1. */
  workers?: number;
}

export class LimitAuthority {
  /** After `grant` gave fewer than asked: ms until a token (rate), 0 for concurrency. */
  retryAfterMs = 0;
  #workers: number;
  readonly #ledgers = new Map<string, Ledger>();

  constructor(options: LimitAuthorityOptions = {}) {
    this.#workers = checkWorkers(options.workers ?? 1);
  }

  get workers(): number {
    return this.#workers;
  }

  /** A reload that changes `workers`: later leases are sized for the new count. */
  set workers(count: number) {
    this.#workers = checkWorkers(count);
  }

  /**
   * Every limit of the new config. A limit whose id is known and whose state carries over
   * (limit-spec.ts keepsState) keeps it; a new or changed one starts fresh (full buckets, no
   * connections counted); one that is gone is dropped.
   */
  configure(specs: readonly LimitSpec[]): void {
    checkSpecs(specs);
    const next = new Map<string, Ledger>();
    for (const spec of specs) {
      const running = this.#ledgers.get(spec.id);
      if (running !== undefined && keepsState(running.spec, spec)) {
        if (running.kind === 'rate') running.setMaxKeys(spec.maxKeys);
        else running.update(spec as typeof running.spec);
        next.set(spec.id, running);
      } else {
        next.set(spec.id, spec.kind === 'rate' ? new RateLedger(spec) : new SlotLedger(spec));
      }
    }
    this.#ledgers.clear();
    for (const [id, ledger] of next) this.#ledgers.set(id, ledger);
  }

  /**
   * Exactly up to `want` tokens or slots for `key`, nothing leased ahead: the LocalLink's call,
   * one per request. Fewer than `want`: retryAfterMs is set. An unknown limit is no limit.
   */
  grant(worker: number, limitId: string, key: string, want: number, now: number): number {
    const ledger = this.#ledgers.get(limitId);
    if (ledger === undefined) {
      this.retryAfterMs = 0;
      return want;
    }
    if (ledger.kind === 'rate') {
      const granted = ledger.grant(key, want, want, now);
      this.retryAfterMs = ledger.retryAfterMs;
      return granted;
    }
    this.retryAfterMs = 0;
    return ledger.grant(worker, key, want, 0);
  }

  /** Tokens unused or slots released. */
  giveBack(worker: number, limitId: string, key: string, count: number, now: number): void {
    const ledger = this.#ledgers.get(limitId);
    if (ledger === undefined) return;
    if (ledger.kind === 'rate') ledger.giveBack(key, count, now);
    else ledger.giveBack(worker, key, count);
  }

  /**
   * One message from worker `worker`: its returns first (so they can serve its asks), then
   * every ask, with a lease. The answer, or null for a returns-only message, goes back to that
   * worker as it is.
   */
  receive(worker: number, message: LimitsToAuthority, now: number): LimitsToWorker | null {
    const { returnLimits, returnKeys, returnCounts } = message;
    for (let i = 0; i < returnLimits.length; i++) this.giveBack(worker, returnLimits[i]!, returnKeys[i]!, returnCounts[i]!, now);
    if (message.batch === 0) return null;
    const { askLimits, askKeys, askWants } = message;
    const granted: number[] = [];
    const retryAfterMs: number[] = [];
    for (let i = 0; i < askLimits.length; i++) {
      granted.push(this.#lease(worker, askLimits[i]!, askKeys[i]!, askWants[i]!, now));
      retryAfterMs.push(this.retryAfterMs);
    }
    return { type: 'limits', batch: message.batch, granted, retryAfterMs };
  }

  /** A worker process exited: the slots it held are free again (its leased tokens count as spent). */
  workerGone(worker: number): void {
    for (const ledger of this.#ledgers.values()) if (ledger.kind === 'concurrency') ledger.workerGone(worker);
  }

  /** Keys tracked for a limit (0 for an unknown one). */
  size(limitId: string): number {
    return this.#ledgers.get(limitId)?.size ?? 0;
  }

  /** Rate: the bucket's tokens now; concurrency: slots held over all workers. For tests and stats. */
  level(limitId: string, key: string, now: number): number {
    const ledger = this.#ledgers.get(limitId);
    if (ledger === undefined) return 0;
    return ledger.kind === 'rate' ? ledger.tokensAt(key, now) : ledger.heldBy(key);
  }

  #lease(worker: number, limitId: string, key: string, want: number, now: number): number {
    const ledger = this.#ledgers.get(limitId);
    if (ledger === undefined) {
      this.retryAfterMs = 0;
      return want;
    }
    if (ledger.kind === 'rate') {
      const { rate, burst } = ledger.spec;
      const granted = ledger.grant(key, want, leaseTokens(rate, burst, this.#workers), now);
      this.retryAfterMs = ledger.retryAfterMs;
      return granted;
    }
    this.retryAfterMs = 0;
    return ledger.grant(worker, key, want, spareSlots(ledger.spec.max, this.#workers));
  }
}

function checkWorkers(count: number): number {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`workers must be an integer >= 1, not ${count}`);
  return count;
}
