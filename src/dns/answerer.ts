/**
 * One worker's DNS front: a message in, the response bytes out, through the AuthorityEngine of
 * the running config. The UDP and TCP servers share it, with one ParsedQuery for the worker (a
 * query is answered synchronously, so one is enough) and counters the admin API sums.
 *
 * A reload swaps `engine` between two messages: the query being answered finishes on the engine
 * it started with, the next one takes the new one, so a reload drops nothing.
 */
import type { AuthorityEngine } from './authority.ts';
import { ParsedQuery, parseQuery, udpLimit } from './query.ts';
import { MAX_MESSAGE_SIZE, QueryVerdict } from './types.ts';

/** The worker's DNS counters since it started (summed over workers by the admin API). */
export interface DnsCounters {
  /** Messages received, over UDP and TCP. */
  queries: number;
  /** Responses sent, by RCODE name. */
  responses: Record<string, number>;
  /** UDP answers that did not fit the client's buffer and went out with TC set. */
  truncated: number;
  /** Messages answered with nothing: too short, or a response (QR set). */
  dropped: number;
  /** TCP connections accepted. */
  tcpConnections: number;
}

const RCODE_NAMES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 16: 'BADVERS' };
/** Where RCODE and TC sit in the response header (bytes 2 and 3). */
const TC_BIT = 0x02;

export class DnsAnswerer {
  engine: AuthorityEngine;
  readonly #query = new ParsedQuery();
  readonly #byRcode = new Float64Array(17);
  queries = 0;
  truncated = 0;
  dropped = 0;
  tcpConnections = 0;

  constructor(engine: AuthorityEngine) {
    this.engine = engine;
  }

  /** The datagram to send back to `message` from `clientAddress`, or null: send nothing. */
  answerUdp(message: Buffer, clientAddress: string): Buffer | null {
    const length = this.#answer(message, clientAddress, true);
    if (length < 0) return null;
    // A copy: dgram may hold the buffer until the kernel takes it, and the engine's is reused.
    const out = Buffer.allocUnsafe(length);
    this.engine.buf.copy(out, 0, 0, length);
    if ((out[2]! & TC_BIT) !== 0) this.truncated++;
    return out;
  }

  /** The response to one TCP message, with its 2-byte length prefix (RFC 1035 4.2.2), or null. */
  answerTcp(message: Buffer, clientAddress: string): Buffer | null {
    const length = this.#answer(message, clientAddress, false);
    if (length < 0) return null;
    const out = Buffer.allocUnsafe(length + 2);
    out.writeUInt16BE(length, 0);
    this.engine.buf.copy(out, 2, 0, length);
    return out;
  }

  counters(): DnsCounters {
    const responses: Record<string, number> = {};
    this.#byRcode.forEach((count, rcode) => {
      if (count > 0) responses[RCODE_NAMES[rcode] ?? `RCODE${rcode}`] = count;
    });
    return { queries: this.queries, responses, truncated: this.truncated, dropped: this.dropped, tcpConnections: this.tcpConnections };
  }

  #answer(message: Buffer, clientAddress: string, udp: boolean): number {
    this.queries++;
    const query = this.#query;
    const verdict = parseQuery(message, query);
    const engine = this.engine;
    const length = engine.answer(query, message, verdict, clientAddress, udp ? udpLimit(query) : MAX_MESSAGE_SIZE);
    if (length < 0) {
      this.dropped++;
      return length;
    }
    const buf = engine.buf;
    this.#byRcode[verdict === QueryVerdict.BADVERS ? 16 : buf[3]! & 0x0f]!++;
    return length;
  }
}

/** Counters of several workers (or answerers) added up. */
export function addDnsCounters(into: DnsCounters, from: DnsCounters): DnsCounters {
  into.queries += from.queries;
  into.truncated += from.truncated;
  into.dropped += from.dropped;
  into.tcpConnections += from.tcpConnections;
  for (const [name, count] of Object.entries(from.responses)) into.responses[name] = (into.responses[name] ?? 0) + count;
  return into;
}

export function emptyDnsCounters(): DnsCounters {
  return { queries: 0, responses: {}, truncated: 0, dropped: 0, tcpConnections: 0 };
}
