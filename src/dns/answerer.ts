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
import { FqdnMeters, OTHER_FQDN } from '../metrics/dns-meters.ts';

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
  /**
   * Per GSLB FQDN of the config: responses by RCODE name and answers by site (`none`: an answer
   * with no site's addresses); one entry named `other` for every query that reached no FQDN.
   */
  fqdns?: FqdnDnsCounters[];
}

export interface FqdnDnsCounters {
  name: string;
  responses: Record<string, number>;
  answersBySite: Record<string, number>;
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
  /** Per-FQDN counters; the engines this answerer runs must be built with the same (AuthorityOptions.meters). */
  readonly meters: FqdnMeters;

  constructor(engine: AuthorityEngine, meters: FqdnMeters = new FqdnMeters()) {
    this.engine = engine;
    this.meters = meters;
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
    const fqdns: FqdnDnsCounters[] = [...this.meters.values()].map((m) => ({ name: m.name, responses: byRcodeName(m.byRcode), answersBySite: m.answersBySite() }));
    fqdns.push({ name: OTHER_FQDN, responses: byRcodeName(this.meters.otherByRcode), answersBySite: {} });
    return { queries: this.queries, responses: byRcodeName(this.#byRcode), truncated: this.truncated, dropped: this.dropped, tcpConnections: this.tcpConnections, fqdns };
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
    const rcode = verdict === QueryVerdict.BADVERS ? 16 : buf[3]! & 0x0f;
    this.#byRcode[rcode]!++;
    (engine.lastMeter?.byRcode ?? this.meters.otherByRcode)[rcode]!++;
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
  if (from.fqdns !== undefined) {
    const fqdns = (into.fqdns ??= []);
    for (const fqdn of from.fqdns) {
      let sum = fqdns.find((f) => f.name === fqdn.name);
      if (sum === undefined) fqdns.push((sum = { name: fqdn.name, responses: {}, answersBySite: {} }));
      addCounts(sum.responses, fqdn.responses);
      addCounts(sum.answersBySite, fqdn.answersBySite);
    }
  }
  return into;
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [name, count] of Object.entries(from)) into[name] = (into[name] ?? 0) + count;
}

/** Counts by RCODE slot, by RCODE name (those with a count only). */
function byRcodeName(byRcode: Float64Array): Record<string, number> {
  const named: Record<string, number> = {};
  byRcode.forEach((count, rcode) => {
    if (count > 0) named[RCODE_NAMES[rcode] ?? `RCODE${rcode}`] = count;
  });
  return named;
}

export function emptyDnsCounters(): DnsCounters {
  return { queries: 0, responses: {}, truncated: 0, dropped: 0, tcpConnections: 0 };
}
