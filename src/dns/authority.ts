/**
 * The authoritative answer engine: a parsed query in, the response bytes out, for the zones and
 * GSLB names of one config. Everything static is encoded when the engine is built: per existing
 * name, one template per common type (A, AAAA, MX, TXT, ANY and every type the name holds). A
 * query is then one Map lookup and a template copy; at a GSLB name (or a CNAME chain ending at
 * one) it is one selector pick, and the template of that answer's key (built the first time the
 * key is seen: a selector has a handful of answers, so templates are bounded). Names that do not
 * exist, rare types and ANY at an FQDN go through the ResponseWriter.
 *
 * Rules (RFC 1034, 1035, 2308, 6604, 6891, 7871, 8020, 8482); the data rules are in resolve.ts:
 * - the parser's verdict first: DROP sends nothing; FORMERR, NOTIMP, BADVERS are answered with
 *   that RCODE and no records;
 * - a name in none of the zones, a class other than IN, or a zone transfer (AXFR, IXFR: we serve
 *   none): REFUSED with no records, so a spoofed source gets nothing larger than its query;
 * - inside a zone: AA set (but in referrals), NXDOMAIN with the SOA when neither the name nor any
 *   name below it exists;
 * - ECS: the scope is the location table's (answerScope) for a policy that uses the client's
 *   place, 0 for every other answer (not tailored, cache it for everyone).
 *
 * The engine is rebuilt on every config change (with a higher SOA serial); site health reaches it
 * through the selectors it was given, which the check relay updates in place.
 */
import type { GslbConfig } from '../config/gslb.ts';
import { answerScope, type LocationTable } from '../gslb/locate.ts';
import type { FqdnSelector } from '../gslb/select.ts';
import type { Answer, Located } from '../gslb/types.ts';
import type { ParsedQuery } from './query.ts';
import { addressRecord } from './records.ts';
import { anyRRset, closestEncloser, nameError, resolve, type Resolution } from './resolve.ts';
import { ResponseWriter, verdictRcode } from './response.ts';
import { answerFromTemplate, buildTemplate, type AnswerTemplate } from './template.ts';
import { EcsFamily, QueryVerdict, RRClass, RRType, Rcode, type DnsRecord } from './types.ts';
import { buildZoneIndex, type NameNode, type ZoneIndex } from './zone-index.ts';
import { FqdnMeters, type FqdnMeter } from '../metrics/dns-meters.ts';

export interface AuthorityOptions {
  zones: GslbConfig['zones'];
  fqdns: GslbConfig['fqdns'];
  /** The live selector of every FQDN by name (FqdnState.selector); one missing is an error. */
  selectors: ReadonlyMap<string, FqdnSelector>;
  locations: LocationTable;
  /** The SOA serial: the server raises it on every config change. */
  serial: number;
  /** Per-FQDN counters (src/metrics/dns-meters.ts), kept by the DNS runtime across engines; fresh ones when omitted. */
  meters?: FqdnMeters;
}

/** The answers to one FQDN family at one name: the name's CNAMEs, then the selector's pick. */
interface GslbAnswer {
  readonly qname: string;
  readonly qtype: number;
  readonly family: 4 | 6;
  readonly selector: FqdnSelector;
  readonly fqdn: string;
  readonly ttl: number;
  readonly meter: FqdnMeter;
  /** The CNAME chain from qname to the FQDN; empty at the FQDN itself. */
  readonly chain: readonly DnsRecord[];
  readonly negativeSoa: DnsRecord;
  /** By Answer.key. */
  readonly templates: (AnswerTemplate | undefined)[];
}

interface Entry {
  readonly node: NameNode;
  /** Static answers by qtype. */
  readonly templates: Map<number, AnswerTemplate>;
  a: GslbAnswer | null;
  aaaa: GslbAnswer | null;
}

/** Types worth a template at every name: what resolvers ask for most (and NODATA for them). */
const TEMPLATED_TYPES = [RRType.A, RRType.AAAA, RRType.MX, RRType.TXT, RRType.ANY];

export class AuthorityEngine {
  readonly #index: ZoneIndex;
  readonly #entries = new Map<string, Entry>();
  readonly #selectors: ReadonlyMap<string, FqdnSelector>;
  readonly #locations: LocationTable;
  readonly #writer = new ResponseWriter();
  readonly #none: Located = { location: null, scope: 0 };
  readonly #meters: FqdnMeters;
  /** The FQDN the last answer() reached (its meter), or null: the answerer counts its RCODE there. */
  lastMeter: FqdnMeter | null = null;

  constructor(options: AuthorityOptions) {
    this.#meters = options.meters ?? new FqdnMeters();
    this.#index = buildZoneIndex(options.zones, options.fqdns, options.serial);
    this.#selectors = options.selectors;
    this.#locations = options.locations;
    for (const fqdn of options.fqdns) {
      if (!options.selectors.has(fqdn.name)) throw new Error(`no selector for FQDN ${fqdn.name}`);
    }
    for (const node of this.#index.values()) this.#entries.set(node.name, this.#entry(node));
  }

  /** The response buffer: answer() writes at its start. */
  get buf(): Buffer {
    return this.#writer.buf;
  }

  /**
   * The response to `query` (parsed from `message` with `verdict`), from a client at
   * `clientAddress` (rinfo.address or socket.remoteAddress), fitted to `limit` bytes (udpLimit
   * over UDP, 65535 over TCP). Returns its length in `buf`, or -1: send nothing.
   */
  answer(query: ParsedQuery, message: Buffer, verdict: QueryVerdict, clientAddress: string, limit: number): number {
    this.lastMeter = null;
    if (verdict !== QueryVerdict.OK) {
      if (verdict === QueryVerdict.DROP) return -1;
      return this.#empty(query, message, verdictRcode(verdict), limit);
    }
    const entry = this.#entries.get(query.qname);
    if (query.qclass !== RRClass.IN) return this.#empty(query, message, Rcode.REFUSED, limit);
    if (entry === undefined) return this.#missing(query, message, limit);
    const qtype = query.qtype;
    const gslb = qtype === RRType.A ? entry.a : qtype === RRType.AAAA ? entry.aaaa : null;
    if (gslb !== null) return this.#gslb(gslb, query, message, clientAddress, limit);
    const template = entry.templates.get(qtype);
    if (template !== undefined) {
      const length = answerFromTemplate(template, query, message, this.#writer.buf, limit, 0);
      if (length >= 0) return length;
    }
    if (qtype === RRType.AXFR || qtype === RRType.IXFR) return this.#empty(query, message, Rcode.REFUSED, limit);
    return this.#slow(resolve(this.#index, entry.node, qtype), query, message, clientAddress, limit);
  }

  #gslb(gslb: GslbAnswer, query: ParsedQuery, message: Buffer, clientAddress: string, limit: number): number {
    const selector = gslb.selector;
    const located = selector.usesLocation ? this.#locate(query, clientAddress) : this.#none;
    const answer = selector.select(gslb.family, located.location);
    gslb.meter.answered(selector, answer);
    this.lastMeter = gslb.meter;
    const template = gslb.templates[answer.key] ?? this.#gslbTemplate(gslb, answer);
    return answerFromTemplate(template, query, message, this.#writer.buf, limit, answerScope(selector.usesLocation, located));
  }

  #gslbTemplate(gslb: GslbAnswer, answer: Answer): AnswerTemplate {
    const records = [...gslb.chain, ...addresses(gslb.fqdn, gslb.ttl, answer)];
    const template = buildTemplate(gslb.qname, gslb.qtype, { answer: records, authority: answer.addresses.length === 0 ? [gslb.negativeSoa] : [] });
    gslb.templates[answer.key] = template;
    return template;
  }

  #locate(query: ParsedQuery, clientAddress: string): Located {
    if (query.hasEcs) {
      return this.#locations.locateSubnet(query.ecsFamily === EcsFamily.IPV4 ? 4 : 6, query.ecsAddress, 0, 16, query.ecsSourcePrefix);
    }
    return this.#locations.locateAddress(clientAddress);
  }

  /** A name we hold no node for: REFUSED outside our zones, else NXDOMAIN (or a referral below a delegation). */
  #missing(query: ParsedQuery, message: Buffer, limit: number): number {
    const closest = closestEncloser(this.#index, query.qname);
    if (closest === undefined) return this.#empty(query, message, Rcode.REFUSED, limit);
    return this.#write(nameError(closest), query, message, limit, 0);
  }

  #slow(resolution: Resolution, query: ParsedQuery, message: Buffer, clientAddress: string, limit: number): number {
    const node = resolution.fqdn;
    if (node === null) return this.#write(resolution, query, message, limit, 0);
    const selector = this.#selectors.get(node.fqdn!.name)!;
    const located = selector.usesLocation ? this.#locate(query, clientAddress) : this.#none;
    const scope = answerScope(selector.usesLocation, located);
    let answer = selector.select(resolution.family === 6 ? 6 : 4, located.location);
    if (resolution.family === 0 && answer.addresses.length === 0) answer = selector.select(6, located.location);
    const meter = this.#meters.fqdn(node.fqdn!.name);
    meter.answered(selector, answer);
    this.lastMeter = meter;
    if (answer.addresses.length > 0) {
      resolution.answer.push(...addresses(node.name, node.fqdn!.ttl, answer));
    } else if (resolution.family === 0 && anyRRset(node) !== undefined) {
      resolution.answer.push(...anyRRset(node)!);
    } else {
      resolution.authority.push(node.zone.negativeSoa);
    }
    return this.#write(resolution, query, message, limit, scope);
  }

  #write(resolution: Resolution, query: ParsedQuery, message: Buffer, limit: number, scope: number): number {
    const writer = this.#writer;
    writer.begin(query, message, resolution.rcode, resolution.authoritative);
    for (const record of resolution.answer) writer.answer(record);
    for (const record of resolution.authority) writer.authority(record);
    for (const record of resolution.additional) writer.additional(record);
    return writer.finish(limit, scope);
  }

  #empty(query: ParsedQuery, message: Buffer, rcode: number, limit: number): number {
    this.#writer.begin(query, message, rcode, false);
    return this.#writer.finish(limit, 0);
  }

  #entry(node: NameNode): Entry {
    const entry: Entry = { node, templates: new Map(), a: null, aaaa: null };
    const types = new Set([...TEMPLATED_TYPES, ...node.rrsets.keys()]);
    if (node.cname !== null) types.add(RRType.CNAME);
    for (const qtype of types) {
      const resolution = resolve(this.#index, node, qtype);
      if (resolution.fqdn === null) {
        entry.templates.set(qtype, buildTemplate(node.name, qtype, resolution, { rcode: resolution.rcode, authoritative: resolution.authoritative }));
      } else if (resolution.family !== 0) {
        const fqdn = resolution.fqdn.fqdn!;
        const gslb: GslbAnswer = {
          qname: node.name,
          qtype,
          family: resolution.family,
          selector: this.#selectors.get(fqdn.name)!,
          fqdn: fqdn.name,
          ttl: fqdn.ttl,
          meter: this.#meters.fqdn(fqdn.name),
          chain: resolution.answer,
          negativeSoa: resolution.fqdn.zone.negativeSoa,
          templates: [],
        };
        if (qtype === RRType.A) entry.a = gslb;
        else entry.aaaa = gslb;
      }
    }
    return entry;
  }
}

function addresses(name: string, ttl: number, answer: Answer): DnsRecord[] {
  return answer.addresses.map((address) => addressRecord(name, ttl, address)!);
}
