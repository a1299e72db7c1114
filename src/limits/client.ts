/**
 * LimitClient: what the data path of a worker calls, once per request (take) or connection
 * (take, acquire, release). It decides synchronously whenever it can:
 *
 * - LocalLink (workers: 1): it asks the in-process authority directly; always ALLOW or DENY, exact.
 * - IpcLink: a key's tokens (or spare slots) leased to this worker are used without asking; a
 *   remembered refusal is repeated without asking; otherwise the request waits (PENDING) for the
 *   authority's answer, one ask per limit and key in flight, later requests queued behind it, all
 *   asks of one event-loop turn in one message.
 *
 * The limiter must never take the service down: an authority that does not answer within
 * answerTimeoutMs lets the waiting requests through, and until it answers again requests that
 * would wait are let through at once (counters.failedOpen counts both).
 */
import { checkSpecs, keepsState } from './limit-spec.ts';
import { LeaseTable, NONE } from './lease-table.ts';
import { limitKey } from './limit-key.ts';
import { IpcLink, type LimitLink, LocalLink } from './links.ts';
import { Outbox } from './outbox.ts';
import type { LimitsToWorker } from './protocol.ts';
import { type LimitClientCounters, type LimitSpec, type RateLimitSpec, type TakeDone, Verdict } from './types.ts';

/** A supervisor that has not answered in 1 s is stuck (a long GC pause is ~100 ms): waiting longer would stall clients. */
const ANSWER_TIMEOUT_MS = 1000;
/** Unused leases go back after 1 s without use, so the other workers can have them. */
const LEASE_TTL_MS = 1000;
/**
 * A refused connection (the client is at its max) is refused again for 20 ms without asking: a
 * client flooding connections costs the supervisor 50 asks per second per worker, not one per
 * connection. A release in this worker ends it at once.
 */
const CONNECTION_DENY_MEMORY_MS = 20;
/**
 * A key refused for lack of tokens is refused without asking for at least 10 ms (its retry time
 * when longer): a client flooding a worker at 1000 requests a second past a 1000/s limit costs
 * about 170 asks a second there (measured in test/limits/workers.test.ts's setting), not 500.
 * Nothing is lost: the tokens wait in the authority's bucket and the next ask takes them, unless
 * the bucket would fill (burst / rate < 20 ms), where the floor shrinks to half that time.
 */
const DRY_MEMORY_FLOOR_MS = 10;
/** Entries aged per limit per tick: 4096 at a 100 ms tick bounds a tick's work while clearing 40,000 a second. */
const AGING_BUDGET = 4096;

export interface LimitClientOptions {
  answerTimeoutMs?: number;
  leaseTtlMs?: number;
  /** A TakeDone callback threw (the other waiters are still answered). Default: raise it from a microtask, as an uncaught exception. */
  onCallbackError?: (error: unknown) => void;
}

export class LimitClient {
  /** After take or acquire returned DENY: ms until the limit lets one through again (0: unknown, as for connections). */
  retryAfterMs = 0;
  readonly counters: LimitClientCounters = { failedOpen: 0, asks: 0, messages: 0 };
  readonly #answerTimeoutMs: number;
  readonly #leaseTtlMs: number;
  readonly #onCallbackError: (error: unknown) => void;
  #local: LocalLink | null = null;
  #ipc: IpcLink | null = null;
  #outbox: Outbox | null = null;
  #expiryScheduled = false;
  #specs: readonly LimitSpec[] = [];
  /** IPC mode: the leases per limit id. */
  readonly #tables = new Map<string, LeaseTable>();
  #seq = 0;
  /** An ask timed out and no answer came since: requests that would wait are let through. */
  #stuck = false;

  constructor(link: LimitLink, options: LimitClientOptions = {}) {
    this.#answerTimeoutMs = options.answerTimeoutMs ?? ANSWER_TIMEOUT_MS;
    this.#leaseTtlMs = options.leaseTtlMs ?? LEASE_TTL_MS;
    this.#onCallbackError = options.onCallbackError ?? raiseLater;
    this.#useLink(link);
  }

  /** True while the authority is taken to be stuck (an ask timed out, nothing answered since). */
  get stuck(): boolean {
    return this.#stuck;
  }

  /**
   * One token of rate limit `limitId` for `key` (a client address, a header value). ALLOW and
   * DENY are final (after DENY, retryAfterMs holds the wait); PENDING: `done` is called exactly
   * once, later, never from inside this call. An unknown limit id allows.
   */
  take(limitId: string, key: string, now: number, done: TakeDone): Verdict {
    if (this.#local !== null) return this.#decideLocally(limitId, key, now);
    const table = this.#tables.get(limitId);
    if (table === undefined || table.spec.kind !== 'rate') return Verdict.ALLOW;
    return this.#obtain(table, limitKey(key), now, done);
  }

  /**
   * One slot of concurrency limit `limitId` for `key`, as take. Every acquire that ends allowed
   * (ALLOW, or done(true)) must be released exactly once, when the connection or session ends.
   */
  acquire(limitId: string, key: string, now: number, done: TakeDone): Verdict {
    if (this.#local !== null) return this.#decideLocally(limitId, key, now);
    const table = this.#tables.get(limitId);
    if (table === undefined || table.spec.kind !== 'concurrency') return Verdict.ALLOW;
    return this.#obtain(table, limitKey(key), now, done);
  }

  release(limitId: string, key: string, now: number): void {
    const normalized = limitKey(key);
    if (this.#local !== null) {
      this.#local.authority.giveBack(this.#local.worker, limitId, normalized, 1, now);
      return;
    }
    const table = this.#tables.get(limitId);
    if (table === undefined || table.spec.kind !== 'concurrency') return;
    const slot = table.find(normalized);
    // Forgotten (evicted past maxKeys, or reset by a reload): its slot went back then.
    if (slot === NONE) return;
    table.touch(slot, now);
    const surplus = table.release(slot);
    if (surplus > 0) this.#outbox!.giveBack(table.id, normalized, surplus);
    if (table.isIdle(slot)) table.close(slot);
  }

  /** An answer from the authority (IPC mode). */
  receive(message: LimitsToWorker, now: number): void {
    const outbox = this.#outbox;
    if (outbox === null || message.type !== 'limits') return;
    this.#stuck = false;
    const sent = outbox.answered(message.batch);
    if (sent === undefined) return;
    const { granted, retryAfterMs } = message;
    for (let i = 0; i < sent.limits.length; i++) this.#settle(sent.limits[i]!, sent.keys[i]!, sent.seqs[i]!, granted[i] ?? 0, retryAfterMs[i] ?? 0, now);
  }

  /**
   * The worker's tick (every 100 ms): asks unanswered for answerTimeoutMs fail open (at the end
   * of the turn), leases unused for leaseTtlMs go back, idle entries are forgotten.
   */
  tick(now: number): void {
    const outbox = this.#outbox;
    if (outbox === null) return;
    const deadline = now - this.#answerTimeoutMs;
    if (outbox.overdue(deadline) && !this.#expiryScheduled) {
      // Not now: after a worker stall of a second, timers run before the poll phase reads the
      // answers already waiting on the channel. setImmediate runs after it; what is still
      // unanswered then was really not answered.
      this.#expiryScheduled = true;
      const current = outbox;
      this.#ipc!.schedule(() => this.#failOpen(current, deadline));
    }
    if (this.#stuck && outbox.awaiting === 0) outbox.probe(now);
    for (const table of this.#tables.values()) this.#age(table, outbox, now);
  }

  /**
   * Every limit of the new config (the same list the authority gets). A limit whose state carries
   * over (limit-spec.ts keepsState) keeps its leases; a changed or gone one returns them and lets
   * its waiting requests through. With a LocalLink this configures the in-process authority.
   */
  configure(specs: readonly LimitSpec[]): void {
    checkSpecs(specs);
    this.#specs = specs;
    if (this.#local !== null) {
      this.#local.authority.configure(specs);
      return;
    }
    const next = new Map<string, LeaseTable>();
    for (const spec of specs) {
      const running = this.#tables.get(spec.id);
      if (running !== undefined && keepsState(running.spec, spec)) {
        running.update(spec);
        next.set(spec.id, running);
      } else {
        next.set(spec.id, new LeaseTable(spec));
      }
    }
    const released: TakeDone[] = [];
    for (const [id, table] of this.#tables) if (next.get(id) !== table) this.#drop(table, released, true);
    this.#tables.clear();
    for (const [id, table] of next) this.#tables.set(id, table);
    this.#notifyAll(released, 0, released.length, true, 0);
  }

  /**
   * Another authority (a reload moved between workers: 1 and several). Leases and waits of the
   * old one are forgotten, not returned: the new authority never granted them. Waiting requests
   * are let through; the limits start fresh.
   */
  setLink(link: LimitLink): void {
    const released: TakeDone[] = [];
    for (const table of this.#tables.values()) this.#drop(table, released, false);
    this.#tables.clear();
    this.#outbox?.close();
    this.#useLink(link);
    this.configure(this.#specs);
    this.#notifyAll(released, 0, released.length, true, 0);
  }

  /** Keys tracked for a limit in this worker (IPC mode; 0 with a LocalLink, whose authority tracks them). */
  size(limitId: string): number {
    return this.#tables.get(limitId)?.size ?? 0;
  }

  #useLink(link: LimitLink): void {
    this.#stuck = false;
    this.#expiryScheduled = false;
    if (link instanceof LocalLink) {
      this.#local = link;
      this.#ipc = null;
      this.#outbox = null;
    } else if (link instanceof IpcLink) {
      this.#local = null;
      this.#ipc = link;
      this.#outbox = new Outbox(link, this.counters);
    } else {
      throw new TypeError('a LimitClient needs a LocalLink or an IpcLink');
    }
  }

  /** The batches sent by `deadline` and still unanswered: their waiting requests go through. */
  #failOpen(outbox: Outbox, deadline: number): void {
    if (outbox !== this.#outbox) return;
    this.#expiryScheduled = false;
    for (let sent = outbox.expire(deadline); sent !== undefined; sent = outbox.expire(deadline)) {
      this.#stuck = true;
      for (let i = 0; i < sent.limits.length; i++) {
        const table = this.#tables.get(sent.limits[i]!);
        const slot = table?.find(sent.keys[i]!) ?? NONE;
        if (table === undefined || slot === NONE || table.askSeq(slot) !== sent.seqs[i]) continue;
        const waiting = table.endAsk(slot);
        for (let n = 0; n < waiting.length; n++) table.useUnbacked(slot);
        this.counters.failedOpen += waiting.length;
        this.#notifyAll(waiting, 0, waiting.length, true, 0);
      }
    }
    if (this.#stuck && outbox.awaiting === 0) outbox.probe(deadline + this.#answerTimeoutMs);
  }

  #decideLocally(limitId: string, key: string, now: number): Verdict {
    const { authority, worker } = this.#local!;
    if (authority.grant(worker, limitId, limitKey(key), 1, now) === 1) return Verdict.ALLOW;
    this.retryAfterMs = authority.retryAfterMs;
    return Verdict.DENY;
  }

  #obtain(table: LeaseTable, key: string, now: number, done: TakeDone): Verdict {
    let slot = table.find(key);
    if (slot !== NONE) {
      table.touch(slot, now);
      if (table.useLocal(slot)) return Verdict.ALLOW;
      const deniedFor = table.deniedFor(slot, now);
      if (deniedFor > 0) {
        this.retryAfterMs = table.spec.kind === 'rate' ? Math.ceil(deniedFor) : 0;
        return Verdict.DENY;
      }
      if (table.askSeq(slot) !== 0) {
        table.wait(slot, done);
        return Verdict.PENDING;
      }
    }
    if (slot === NONE) slot = this.#open(table, key, now);
    if (this.#stuck) {
      table.useUnbacked(slot);
      this.counters.failedOpen++;
      return Verdict.ALLOW;
    }
    this.#ask(table, slot, [done], now);
    return Verdict.PENDING;
  }

  #ask(table: LeaseTable, slot: number, waiting: TakeDone[], now: number): void {
    const seq = ++this.#seq;
    table.beginAsk(slot, seq, waiting);
    this.#outbox!.ask(table, slot, seq, now);
  }

  /** A new entry; at the cap the least recently used one goes first (its leases back, its waiters through). */
  #open(table: LeaseTable, key: string, now: number): number {
    while (table.full) {
      const oldest = table.oldest();
      const waiting = table.askSeq(oldest) !== 0 ? table.endAsk(oldest) : null;
      const held = table.surrender(oldest);
      if (held > 0) this.#outbox!.giveBack(table.id, table.keyAt(oldest), held);
      table.close(oldest);
      if (waiting !== null && waiting.length > 0) {
        this.counters.failedOpen += waiting.length;
        // Not from inside this take: the caller's own request is still being decided.
        queueMicrotask(() => this.#notifyAll(waiting, 0, waiting.length, true, 0));
      }
    }
    return table.open(key, now);
  }

  #settle(limit: string, key: string, seq: number, granted: number, retryAfterMs: number, now: number): void {
    const table = this.#tables.get(limit);
    // A limit gone from the config: the authority drops it too, and what it granted with it.
    if (table === undefined) return;
    const slot = table.find(key);
    if (slot === NONE || table.askSeq(slot) !== seq) {
      this.#keepLate(table, slot, key, granted);
      return;
    }
    const rate = table.spec.kind === 'rate';
    const asked = table.askedFor(slot);
    const waiting = table.endAsk(slot);
    table.addHeld(slot, granted);
    if (!rate) table.keepSpare(slot, Math.max(0, granted - asked));
    let allowed = 0;
    while (allowed < waiting.length && table.useLocal(slot)) allowed++;
    let denied = 0;
    if (allowed < waiting.length) {
      if (granted < asked) {
        // The authority gave all it had: the rest are refused, and so is the key for a while.
        denied = waiting.length - allowed;
        table.denyUntil(slot, now + (rate ? dryMemory(table.spec as RateLimitSpec, retryAfterMs) : CONNECTION_DENY_MEMORY_MS));
      } else {
        // These joined after the ask left; the authority may well have more.
        this.#ask(table, slot, waiting.slice(allowed), now);
      }
    }
    table.touch(slot, now);
    this.#notifyAll(waiting, 0, allowed, true, 0);
    this.#notifyAll(waiting, allowed, allowed + denied, false, rate ? retryAfterMs : 0);
  }

  /**
   * A grant for an ask that is no longer waited for (it timed out and its requests went through,
   * or its entry was evicted). Slots back the connections let through without one, if the entry
   * is still here (a release returns them as usual); tokens go back, since the requests they
   * were for have passed already and must not be paid for twice.
   */
  #keepLate(table: LeaseTable, slot: number, key: string, granted: number): void {
    if (!(granted > 0)) return;
    if (slot !== NONE && table.spec.kind === 'concurrency') table.addHeld(slot, granted);
    else this.#outbox!.giveBack(table.id, key, granted);
  }

  /** Walk from the least recently used entry: those idle for a lease lifetime give back what they do not use. */
  #age(table: LeaseTable, outbox: Outbox, now: number): void {
    const idleSince = now - this.#leaseTtlMs;
    let slot = table.oldest();
    for (let budget = AGING_BUDGET; slot !== NONE && budget > 0; budget--) {
      if (table.touchedAt(slot) > idleSince) return;
      const newer = table.newer(slot);
      if (table.askSeq(slot) === 0) {
        const unused = table.releaseIdle(slot);
        if (unused > 0) outbox.giveBack(table.id, table.keyAt(slot), unused);
      }
      // Still counting open connections (or asking): kept, and looked at again a lease lifetime later.
      if (table.isIdle(slot)) table.close(slot);
      else table.touch(slot, now);
      slot = newer;
    }
  }

  /** Answer waiters[from, to). A callback that throws must not strand the others. */
  #notifyAll(waiters: readonly TakeDone[], from: number, to: number, allowed: boolean, retryAfterMs: number): void {
    for (let i = from; i < to; i++) {
      try {
        waiters[i]!(allowed, retryAfterMs);
      } catch (error) {
        this.#onCallbackError(error);
      }
    }
  }

  /** Everything of a table that leaves: leases returned (when `giveBack`), waiters collected to be let through. */
  #drop(table: LeaseTable, released: TakeDone[], giveBack: boolean): void {
    for (let slot = table.oldest(); slot !== NONE; slot = table.oldest()) {
      if (table.askSeq(slot) !== 0) released.push(...table.endAsk(slot));
      const held = table.surrender(slot);
      if (giveBack && held > 0) this.#outbox?.giveBack(table.id, table.keyAt(slot), held);
      table.close(slot);
    }
  }
}

function dryMemory(spec: RateLimitSpec, retryAfterMs: number): number {
  const floor = Math.min(DRY_MEMORY_FLOOR_MS, (500 * spec.burst) / spec.rate);
  return retryAfterMs > floor ? retryAfterMs : floor;
}

function raiseLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
