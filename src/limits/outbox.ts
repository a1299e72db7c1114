/**
 * A worker's messages to the authority: the asks and returns of one event-loop turn gathered into
 * one LimitsToAuthority (process.send costs tens of µs per message, whatever its size), and the
 * batches sent and not yet answered, oldest first, to match each answer to its asks and to
 * notice a stuck authority.
 */
import type { IpcLink } from './links.ts';
import type { LeaseTable } from './lease-table.ts';
import type { LimitsToAuthority } from './protocol.ts';
import type { LimitClientCounters } from './types.ts';

/** A batch sent: what its answer's columns refer to. */
export interface SentBatch {
  batch: number;
  /** When its first ask was made (the worker's clock). */
  sentAt: number;
  limits: string[];
  keys: string[];
  /** LeaseTable.askSeq of each ask when it left: a later answer is for the ask still waiting only if they match. */
  seqs: number[];
}

/**
 * Timed-out batches kept to match a late answer. A stuck authority only gets probes (one per
 * tick at most), so 1000 covers 100 s of silence; past that a late answer is ignored.
 */
const MAX_LATE_BATCHES = 1000;

export class Outbox {
  readonly #link: IpcLink;
  readonly #counters: LimitClientCounters;
  #askLimits: string[] = [];
  #askKeys: string[] = [];
  #askSeqs: number[] = [];
  /** Where each ask's waiters are, to count them at flush: requests keep joining until then. */
  #askTables: LeaseTable[] = [];
  #askSlots: number[] = [];
  #returnLimits: string[] = [];
  #returnKeys: string[] = [];
  #returnCounts: number[] = [];
  #openedAt = 0;
  #probe = false;
  #scheduled = false;
  #lastBatch = 0;
  #closed = false;
  /** Sent, unanswered, not timed out; oldest first. */
  readonly #awaiting: SentBatch[] = [];
  /** Sent, timed out (their requests were let through), unanswered; oldest first. */
  readonly #late: SentBatch[] = [];
  readonly #flush = (): void => this.flush();

  constructor(link: IpcLink, counters: LimitClientCounters) {
    this.#link = link;
    this.#counters = counters;
  }

  ask(table: LeaseTable, slot: number, seq: number, now: number): void {
    if (this.#askLimits.length === 0) this.#openedAt = now;
    this.#askLimits.push(table.id);
    this.#askKeys.push(table.keyAt(slot));
    this.#askSeqs.push(seq);
    this.#askTables.push(table);
    this.#askSlots.push(slot);
    this.#schedule();
  }

  giveBack(limit: string, key: string, count: number): void {
    this.#returnLimits.push(limit);
    this.#returnKeys.push(key);
    this.#returnCounts.push(count);
    this.#schedule();
  }

  /** An empty batch that the authority answers: how a client that gave up waiting learns it is back. */
  probe(now: number): void {
    if (this.#probe) return;
    if (this.#askLimits.length === 0) this.#openedAt = now;
    this.#probe = true;
    this.#schedule();
  }

  /** Batches sent and neither answered nor timed out. */
  get awaiting(): number {
    return this.#awaiting.length;
  }

  /** Whether some batch sent at or before `deadline` is still unanswered. */
  overdue(deadline: number): boolean {
    const oldest = this.#awaiting[0];
    return oldest !== undefined && oldest.sentAt <= deadline;
  }

  /** The oldest awaiting batch if it was sent at or before `deadline`: it is late from now on. */
  expire(deadline: number): SentBatch | undefined {
    const oldest = this.#awaiting[0];
    if (oldest === undefined || oldest.sentAt > deadline) return undefined;
    this.#awaiting.shift();
    this.#late.push(oldest);
    if (this.#late.length > MAX_LATE_BATCHES) this.#late.shift();
    return oldest;
  }

  /** The batch an answer is for, no longer unanswered; undefined if forgotten. IPC keeps order, so it is the oldest. */
  answered(batch: number): SentBatch | undefined {
    for (const queue of [this.#late, this.#awaiting]) {
      while (queue.length > 0 && queue[0]!.batch < batch) queue.shift();
      if (queue.length > 0 && queue[0]!.batch === batch) return queue.shift();
    }
    return undefined;
  }

  /** Replaced (LimitClient.setLink): a flush still scheduled sends nothing. */
  close(): void {
    this.#closed = true;
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#closed) return;
    const limits: string[] = [];
    const keys: string[] = [];
    const seqs: number[] = [];
    const wants: number[] = [];
    for (let i = 0; i < this.#askLimits.length; i++) {
      const table = this.#askTables[i]!;
      const slot = this.#askSlots[i]!;
      const seq = this.#askSeqs[i]!;
      // Evicted, failed open or dropped by a reload since: nobody waits for it.
      if (table.askSeq(slot) !== seq) continue;
      limits.push(this.#askLimits[i]!);
      keys.push(this.#askKeys[i]!);
      seqs.push(seq);
      wants.push(table.fixWant(slot));
    }
    const message: LimitsToAuthority = {
      type: 'limits',
      batch: 0,
      askLimits: limits,
      askKeys: keys,
      askWants: wants,
      returnLimits: this.#returnLimits,
      returnKeys: this.#returnKeys,
      returnCounts: this.#returnCounts,
    };
    const wantsAnswer = limits.length > 0 || this.#probe;
    this.#askLimits = [];
    this.#askKeys = [];
    this.#askSeqs = [];
    this.#askTables = [];
    this.#askSlots = [];
    this.#returnLimits = [];
    this.#returnKeys = [];
    this.#returnCounts = [];
    this.#probe = false;
    if (!wantsAnswer && message.returnLimits.length === 0) return;
    if (wantsAnswer) {
      message.batch = ++this.#lastBatch;
      this.#awaiting.push({ batch: message.batch, sentAt: this.#openedAt, limits, keys, seqs });
    }
    this.#counters.messages++;
    this.#counters.asks += limits.length;
    try {
      this.#link.send(message);
    } catch {
      // The channel is closing (the worker is exiting): the asks time out and fail open.
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#link.schedule(this.#flush);
  }
}
