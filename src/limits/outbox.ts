/**
 * A worker's messages to the authority: the asks and returns of one event-loop turn gathered into
 * one LimitsToAuthority (process.send costs tens of µs per message, whatever its size), and the
 * batches sent and not yet answered, oldest first, so that a stuck authority is noticed.
 */
import type { IpcLink } from './links.ts';
import type { LeaseTable } from './lease-table.ts';
import type { LimitAsk, LimitReturn, LimitsToAuthority } from './protocol.ts';
import type { LimitClientCounters } from './types.ts';

export interface SentBatch {
  batch: number;
  /** When its first ask was made (the worker's clock). */
  sentAt: number;
  asks: LimitAsk[];
}

export class Outbox {
  readonly #link: IpcLink;
  readonly #counters: LimitClientCounters;
  #asks: LimitAsk[] = [];
  /** Where each ask's waiters are, to count them at flush: requests keep joining until then. */
  #askTables: LeaseTable[] = [];
  #askSlots: number[] = [];
  #returns: LimitReturn[] = [];
  #openedAt = 0;
  #probe = false;
  #scheduled = false;
  #lastBatch = 0;
  #closed = false;
  /** Sent, unanswered, oldest first. */
  readonly #sent: SentBatch[] = [];
  readonly #flush = (): void => this.flush();

  constructor(link: IpcLink, counters: LimitClientCounters) {
    this.#link = link;
    this.#counters = counters;
  }

  ask(table: LeaseTable, slot: number, seq: number, now: number): void {
    if (this.#asks.length === 0) this.#openedAt = now;
    this.#asks.push({ limit: table.id, key: table.keyAt(slot), seq, want: 0 });
    this.#askTables.push(table);
    this.#askSlots.push(slot);
    this.#schedule();
  }

  giveBack(limit: string, key: string, count: number): void {
    this.#returns.push({ limit, key, count });
    this.#schedule();
  }

  /** An empty batch that the authority answers: how a client that gave up waiting learns it is back. */
  probe(now: number): void {
    if (this.#probe) return;
    if (this.#asks.length === 0) this.#openedAt = now;
    this.#probe = true;
    this.#schedule();
  }

  get unanswered(): number {
    return this.#sent.length;
  }

  /** The oldest unanswered batch if it was sent at or before `deadline`; it counts as answered from now on. */
  takeExpired(deadline: number): SentBatch | undefined {
    const oldest = this.#sent[0];
    if (oldest === undefined || oldest.sentAt > deadline) return undefined;
    return this.#sent.shift();
  }

  /** An answer to `batch`: it and every earlier one are settled (IPC keeps order). */
  answered(batch: number): void {
    while (this.#sent.length > 0 && this.#sent[0]!.batch <= batch) this.#sent.shift();
  }

  /** Replaced (LimitClient.setLink): a flush still scheduled sends nothing. */
  close(): void {
    this.#closed = true;
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#closed) return;
    const asks: LimitAsk[] = [];
    for (let i = 0; i < this.#asks.length; i++) {
      const ask = this.#asks[i]!;
      const table = this.#askTables[i]!;
      const slot = this.#askSlots[i]!;
      // Evicted, failed open or dropped by a reload since: nobody waits for it.
      if (table.askSeq(slot) !== ask.seq) continue;
      ask.want = table.fixWant(slot);
      asks.push(ask);
    }
    const returns = this.#returns;
    const wantsAnswer = asks.length > 0 || this.#probe;
    this.#asks = [];
    this.#askTables = [];
    this.#askSlots = [];
    this.#returns = [];
    this.#probe = false;
    if (!wantsAnswer && returns.length === 0) return;
    const batch = wantsAnswer ? ++this.#lastBatch : 0;
    if (wantsAnswer) this.#sent.push({ batch, sentAt: this.#openedAt, asks });
    this.#counters.messages++;
    this.#counters.asks += asks.length;
    const message: LimitsToAuthority = { type: 'limits', batch, asks, returns };
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
