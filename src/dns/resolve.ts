/**
 * What an authoritative server answers for a name it holds and a type (RFC 1034 section 4.3.2,
 * RFC 2308, RFC 6604, RFC 8482), as sections; the engine (authority.ts) encodes them once into
 * templates, or per query for rare types. GSLB names are left open: when the answer ends at an
 * FQDN's A or AAAA, `fqdn` says so and the engine appends the selector's addresses.
 *
 * - A delegation (NS below the apex) at or above the name: a referral, not authoritative: its
 *   NS in the authority section, glue in the additional one.
 * - CNAME chains inside the zone are followed, up to MAX_CHAIN links: the answer holds each
 *   CNAME, then the target's records. A target outside the zone (another of our zones too: the
 *   resolver asks again) or below a delegation ends the chain with the CNAME alone; a target in
 *   the zone that does not exist (and is not below a delegation) is NXDOMAIN with the CNAMEs
 *   (RFC 6604); a loop stops where it
 *   would repeat.
 * - ANY (RFC 8482 section 4.2, "one RRset"): the CNAME at a CNAME, the GSLB A answer at an FQDN
 *   (AAAA when it has no A; that choice is the engine's, per query), else the first RRset the
 *   config lists at the name; the apex, with nothing else, gives its SOA. No HINFO synthesis.
 * - The name exists with no record of the type (empty non-terminals included): NODATA, the SOA
 *   with its negative TTL in the authority section.
 */
import type { NameNode, ZoneIndex } from './zone-index.ts';
import { RRType, Rcode, type DnsRecord } from './types.ts';

/** Links followed before giving up: BIND and Knot stop near here, and real chains are 1 or 2 long. */
export const MAX_CHAIN = 8;

export interface Resolution {
  rcode: number;
  authoritative: boolean;
  answer: DnsRecord[];
  authority: DnsRecord[];
  additional: DnsRecord[];
  /** The chain ends at this FQDN's A (4) or AAAA (6), or ANY (0): the selector's records follow `answer`. */
  fqdn: NameNode | null;
  family: 0 | 4 | 6;
}

function result(answer: DnsRecord[], authority: DnsRecord[] = [], additional: DnsRecord[] = [], rcode: number = Rcode.NOERROR): Resolution {
  return { rcode, authoritative: true, answer, authority, additional, fqdn: null, family: 0 };
}

export function resolve(index: ZoneIndex, node: NameNode, qtype: number): Resolution {
  if (node.cut !== null) return referral(node.cut);
  const answer: DnsRecord[] = [];
  let at = node;
  while (at.cname !== null && qtype !== RRType.CNAME && qtype !== RRType.ANY) {
    const cname = at.cname;
    answer.push(cname);
    if (answer.length === MAX_CHAIN) return result(answer);
    const next = index.get(cname.target);
    if (next === undefined) {
      // Below a delegation of ours, the name is the delegated servers' to answer: the chain ends.
      const closest = cname.target.endsWith(`.${at.zone.name}`) ? closestEncloser(index, cname.target) : undefined;
      return closest !== undefined && closest.zone === at.zone && closest.cut === null ? result(answer, [at.zone.negativeSoa], [], Rcode.NXDOMAIN) : result(answer);
    }
    if (next.zone !== at.zone || next.cut !== null || (next.cname !== null && answer.includes(next.cname))) return result(answer);
    at = next;
  }
  if (at.fqdn !== null && (qtype === RRType.A || qtype === RRType.AAAA || (qtype === RRType.ANY && at.cname === null))) {
    const open = result(answer);
    open.fqdn = at;
    open.family = qtype === RRType.A ? 4 : qtype === RRType.AAAA ? 6 : 0;
    return open;
  }
  const rrset = qtype === RRType.ANY ? anyRRset(at) : at.rrsets.get(qtype);
  if (rrset !== undefined) return result([...answer, ...rrset], [], at.additional.get(qtype === RRType.ANY ? (typeCode(rrset[0]!) ?? 0) : qtype) ?? []);
  return result(answer, [at.zone.negativeSoa]);
}

/** The RRset an ANY query gets from the static records (see the module comment). */
export function anyRRset(node: NameNode): DnsRecord[] | undefined {
  if (node.cname !== null) return [node.cname];
  for (const rrset of node.rrsets.values()) return rrset;
  return undefined;
}

export function referral(cut: NameNode): Resolution {
  const resolution = result([], cut.rrsets.get(RRType.NS) ?? [], cut.additional.get(RRType.NS) ?? []);
  resolution.authoritative = false;
  return resolution;
}

/** NXDOMAIN for a name under `closest` (the nearest existing ancestor, in one of our zones). */
export function nameError(closest: NameNode): Resolution {
  if (closest.cut !== null) return referral(closest.cut);
  return result([], [closest.zone.negativeSoa], [], Rcode.NXDOMAIN);
}

/** The nearest existing ancestor of `name` (not itself); the walk reads zone-file escapes, so "a\\.b" is one label. */
export function closestEncloser(index: ZoneIndex, name: string): NameNode | undefined {
  let i = 0;
  while (i < name.length) {
    const c = name.charCodeAt(i);
    if (c === 0x5c) {
      i += name.charCodeAt(i + 1) >= 0x30 && name.charCodeAt(i + 1) <= 0x39 ? 4 : 2;
      continue;
    }
    i++;
    if (c !== 0x2e) continue;
    const node = index.get(name.slice(i));
    if (node !== undefined) return node;
  }
  return undefined;
}

function typeCode(record: DnsRecord): number | undefined {
  return RRType[record.type];
}
