/**
 * A simulated cluster for the limits tests: one LimitAuthority (the supervisor), N LimitClients
 * (workers) on IpcLinks, a fake clock in ms, and an IPC channel per direction that delivers
 * messages after a delay you choose, in order, as structuredClone copies (as Node's advanced
 * serialisation would). No timers, no sleeps: `step()` is one ms of the world.
 */
import { LimitAuthority } from '../../src/limits/authority.ts';
import { LimitClient, type LimitClientOptions } from '../../src/limits/client.ts';
import { IpcLink } from '../../src/limits/links.ts';
import type { LimitsToAuthority, LimitsToWorker } from '../../src/limits/protocol.ts';
import type { LimitSpec, TakeDone } from '../../src/limits/types.ts';
import { Verdict } from '../../src/limits/types.ts';

interface InFlight {
  at: number;
  deliver: () => void;
}

/** FIFO per direction: a message never overtakes an earlier one on the same channel (IPC keeps order). */
class Channel {
  readonly #queue: InFlight[] = [];
  #last = 0;

  push(at: number, deliver: () => void): void {
    this.#last = Math.max(this.#last, at);
    this.#queue.push({ at: this.#last, deliver });
  }

  /** Deliver what is due at `now`; true if anything was. */
  deliverDue(now: number): boolean {
    let any = false;
    while (this.#queue.length > 0 && this.#queue[0]!.at <= now) {
      this.#queue.shift()!.deliver();
      any = true;
    }
    return any;
  }
}

export interface ClusterOptions {
  workers: number;
  specs: LimitSpec[];
  /** ms from a worker's send to the authority's receive (default 0: the next turn). */
  upDelay?: number;
  /** ms from the authority's answer to the worker's receive. */
  downDelay?: number;
  client?: LimitClientOptions;
  /** Drop every message to the authority (a stuck supervisor). */
  authorityStuck?: boolean;
}

export class SimWorker {
  readonly id: number;
  readonly client: LimitClient;
  readonly sent: LimitsToAuthority[] = [];
  #flushes: (() => void)[] = [];

  constructor(id: number, cluster: Cluster, options: ClusterOptions) {
    this.id = id;
    const link = new IpcLink(
      (message) => cluster.toAuthority(this, message),
      (flush) => this.#flushes.push(flush),
    );
    this.client = new LimitClient(link, options.client);
    this.client.configure(options.specs);
  }

  /** End of an event-loop turn: the setImmediate flushes run. */
  endTurn(): void {
    const flushes = this.#flushes;
    this.#flushes = [];
    for (const flush of flushes) flush();
  }
}

export class Cluster {
  now = 0;
  readonly authority: LimitAuthority;
  readonly workers: SimWorker[];
  readonly #options: ClusterOptions;
  readonly #up: Channel[];
  readonly #down: Channel[];

  constructor(options: ClusterOptions) {
    this.#options = options;
    this.authority = new LimitAuthority({ workers: options.workers });
    this.authority.configure(options.specs);
    this.#up = Array.from({ length: options.workers }, () => new Channel());
    this.#down = Array.from({ length: options.workers }, () => new Channel());
    this.workers = Array.from({ length: options.workers }, (_, id) => new SimWorker(id, this, options));
  }

  toAuthority(worker: SimWorker, message: LimitsToAuthority): void {
    worker.sent.push(message);
    if (this.#options.authorityStuck === true) return;
    const copy = structuredClone(message);
    this.#up[worker.id]!.push(this.now + (this.#options.upDelay ?? 0), () => {
      const answer = this.authority.receive(worker.id, copy, this.now);
      if (answer !== null) this.#toWorker(worker, answer);
    });
  }

  #toWorker(worker: SimWorker, message: LimitsToWorker): void {
    const copy = structuredClone(message);
    this.#down[worker.id]!.push(this.now + (this.#options.downDelay ?? 0), () => worker.client.receive(copy, this.now));
  }

  /** Every worker ends its turn, then messages due now travel (answers may cause new asks: repeat until quiet). */
  settle(): void {
    for (let round = 0; round < 100; round++) {
      for (const w of this.workers) w.endTurn();
      let any = false;
      for (const c of this.#up) any = c.deliverDue(this.now) || any;
      for (const c of this.#down) any = c.deliverDue(this.now) || any;
      if (!any) return;
    }
    throw new Error('the simulated IPC did not settle');
  }

  /** One ms passes; the workers tick every 100 ms as the runtime does. */
  advance(ms = 1): void {
    for (let i = 0; i < ms; i++) {
      this.now++;
      if (this.now % 100 === 0) for (const w of this.workers) w.client.tick(this.now);
      this.settle();
    }
  }
}

/** Counts outcomes, synchronous and late, of many takes. */
export class Tally {
  allowed = 0;
  denied = 0;
  pending = 0;
  readonly retryAfters: number[] = [];
  readonly done: TakeDone = (allowed, retryAfterMs) => {
    this.pending--;
    if (allowed) this.allowed++;
    else {
      this.denied++;
      this.retryAfters.push(retryAfterMs);
    }
  };

  count(verdict: Verdict, retryAfterMs = 0): void {
    if (verdict === Verdict.ALLOW) this.allowed++;
    else if (verdict === Verdict.DENY) {
      this.denied++;
      this.retryAfters.push(retryAfterMs);
    } else this.pending++;
  }
}

/** A message to the authority from rows: asks [limit, key, want], returns [limit, key, count]. */
export function toAuthority(batch: number, asks: Array<[string, string, number]>, returns: Array<[string, string, number]> = []): LimitsToAuthority {
  return {
    type: 'limits',
    batch,
    askLimits: asks.map((a) => a[0]),
    askKeys: asks.map((a) => a[1]),
    askWants: asks.map((a) => a[2]),
    returnLimits: returns.map((r) => r[0]),
    returnKeys: returns.map((r) => r[1]),
    returnCounts: returns.map((r) => r[2]),
  };
}

/** The asks of a message as rows. */
export function asksOf(message: LimitsToAuthority): Array<{ limit: string; key: string; want: number }> {
  return message.askLimits.map((limit, i) => ({ limit, key: message.askKeys[i]!, want: message.askWants[i]! }));
}

/** The returns of a message as rows. */
export function returnsOf(message: LimitsToAuthority): Array<{ limit: string; key: string; count: number }> {
  return message.returnLimits.map((limit, i) => ({ limit, key: message.returnKeys[i]!, count: message.returnCounts[i]! }));
}
