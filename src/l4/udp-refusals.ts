/**
 * Access-log lines for the datagrams of a UDP virtual service that could not open a session
 * (the access list, connectionRate, maxConnectionsPerClient, no real server), bounded whatever
 * the flood.
 *
 * A refused TCP connection gets a line of its own: it cost its client a handshake, so the lines
 * come no faster than the client can afford, from an address that is genuine. A datagram costs
 * nothing and its source address may be forged: a line per refused datagram (about 250 bytes)
 * would let a flood write as fast as it can send. So:
 * - A client address gets a line at its first refusal, then at most one per REFUSAL_INTERVAL_MS
 *   (10 s), written at the tick after the interval and only if it was refused again meanwhile,
 *   its `datagramsIn` and `bytesIn` counting those refusals. A denied sender at any rate costs
 *   0.1 line a second, and this log one map lookup per datagram, no allocation.
 * - First lines are a token bucket, FIRST_LINES_PER_SECOND (20, burst 20), and at most
 *   MAX_TRACKED_CLIENTS (200) addresses are followed at once: whatever the flood (one address,
 *   or a new forged one per datagram), a worker writes at most 20 first lines a second plus 200
 *   interval lines per 10 s, 40 lines (about 10 KB) a second, where a line per datagram at
 *   1 M datagrams a second would be 250 MB, and it holds at most 200 entries (about 30 KB).
 *   Refusals past these bounds are counted, and the operational log says how many once per
 *   interval.
 *
 * Time is the listener's tick clock, as for the sessions.
 */
import type { Termination } from '../exchange/termination.ts';

export const REFUSAL_INTERVAL_MS = 10_000;
export const FIRST_LINES_PER_SECOND = 20;
export const MAX_TRACKED_CLIENTS = 200;

/** One client address that was refused: what its next line will say. */
export interface RefusedClient {
  readonly client: string;
  /** The tick clock when its last line was written. */
  since: number;
  /** Refused datagrams (and their bytes) since its last line. */
  datagrams: number;
  bytes: number;
  /** The latest refusal's code and detail. */
  termination: Termination;
  detail: string;
}

/** Writes one access-log line for `entry`: `datagrams` refused in `durationMs`. */
export type RefusalLineWriter = (entry: RefusedClient, datagrams: number, bytes: number, durationMs: number) => void;
/** Tells the operational log how many refusals had no line in the last interval. */
export type UnloggedReporter = (refusals: number) => void;

export class UdpRefusalLog {
  readonly #write: RefusalLineWriter;
  readonly #reportUnlogged: UnloggedReporter;
  /** By client address, in the order of their last line (oldest first): the tick walks from the front. */
  readonly #clients = new Map<string, RefusedClient>();
  #tokens = FIRST_LINES_PER_SECOND;
  #refilledAt: number;
  /** Refusals without a line since the last report, and when that was. */
  #unlogged = 0;
  #reportedAt: number;
  /** Every refusal without a line (for the stats and tests). */
  unloggedTotal = 0;

  constructor(write: RefusalLineWriter, reportUnlogged: UnloggedReporter, now: number) {
    this.#write = write;
    this.#reportUnlogged = reportUnlogged;
    this.#refilledAt = now;
    this.#reportedAt = now;
  }

  /** Client addresses followed now. */
  get tracked(): number {
    return this.#clients.size;
  }

  /** A datagram of `bytes` from `client` opened no session, for `termination` (`detail` for the line's error). */
  refused(client: string, termination: Termination, detail: string, bytes: number, now: number): void {
    const known = this.#clients.get(client);
    if (known !== undefined) {
      known.datagrams++;
      known.bytes += bytes;
      known.termination = termination;
      known.detail = detail;
      return;
    }
    if (this.#clients.size >= MAX_TRACKED_CLIENTS || !this.#takeToken(now)) {
      this.#unlogged++;
      this.unloggedTotal++;
      return;
    }
    const entry: RefusedClient = { client, since: now, datagrams: 0, bytes: 0, termination, detail };
    this.#clients.set(client, entry);
    this.#write(entry, 1, bytes, 0);
  }

  /** The listener's tick: the interval lines that are due, and the report of what had none. */
  tick(now: number): void {
    const due = now - REFUSAL_INTERVAL_MS;
    for (const entry of this.#clients.values()) {
      if (entry.since > due) break;
      this.#clients.delete(entry.client);
      if (entry.datagrams === 0) continue;
      this.#write(entry, entry.datagrams, entry.bytes, now - entry.since);
      // Still refused: followed for another interval, now the newest.
      entry.since = now;
      entry.datagrams = 0;
      entry.bytes = 0;
      this.#clients.set(entry.client, entry);
    }
    if (now - this.#reportedAt >= REFUSAL_INTERVAL_MS) {
      if (this.#unlogged > 0) this.#reportUnlogged(this.#unlogged);
      this.#unlogged = 0;
      this.#reportedAt = now;
    }
  }

  #takeToken(now: number): boolean {
    const elapsed = now - this.#refilledAt;
    if (elapsed > 0) {
      this.#tokens = Math.min(FIRST_LINES_PER_SECOND, this.#tokens + (elapsed * FIRST_LINES_PER_SECOND) / 1000);
      this.#refilledAt = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}
