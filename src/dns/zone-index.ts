/**
 * The zones as the answer engine reads them: one node per name that exists, lower case, in one
 * Map, so a query is one lookup. Nodes are made for every owner name, every FQDN, and every name
 * between those and their zone's apex (empty non-terminals, which exist without data: NODATA,
 * not NXDOMAIN, RFC 8020). Record values become DnsRecords once here; per query nothing is parsed.
 *
 * Names are those of the config: lower case, no final dot, labels of letters, digits, '-' and
 * '_' (src/config/gslb-names.ts), so no escapes and no wildcards. The SOA RNAME is no owner
 * name: it may hold an escaped dot (john\.doe.example.com), which writeName decodes.
 */
import type { FqdnConfig, ZoneConfig, ZoneRecord } from '../config/gslb.ts';
import { addressRecord, caaRecord, txtRecord } from './records.ts';
import { RRType, type DnsRecord } from './types.ts';

export interface ZoneData {
  readonly name: string;
  /** At the apex, TTL the zone's. */
  readonly soa: DnsRecord & { type: 'SOA' };
  /** The SOA for negative answers: TTL min(SOA TTL, SOA minimum) (RFC 2308 section 3). */
  readonly negativeSoa: DnsRecord & { type: 'SOA' };
}

export interface NameNode {
  /** Lower case, as ParsedQuery.qname. */
  readonly name: string;
  readonly zone: ZoneData;
  /** Static RRsets by type code, in the order the config first names each type (apex: SOA, NS last). */
  readonly rrsets: Map<number, DnsRecord[]>;
  /** The node's CNAME (then it holds nothing else: the config checks RFC 1034 section 3.6.2). */
  cname: CnameRecord | null;
  /** The balanced name's config when this node is an FQDN: A and AAAA come from its selector. */
  fqdn: FqdnConfig | null;
  /** The delegation (NS below the apex) at or above this name: every answer here is a referral. */
  cut: NameNode | null;
  /** Additional-section records for an answer of this type (glue for NS at the apex and at a cut). */
  readonly additional: Map<number, DnsRecord[]>;
}

/** The type code of every type the zone config carries: a new config type fails to compile until it is here. */
const TYPE_CODES: Record<ZoneRecord['type'], number> = {
  A: RRType.A,
  AAAA: RRType.AAAA,
  CNAME: RRType.CNAME,
  NS: RRType.NS,
  MX: RRType.MX,
  TXT: RRType.TXT,
  SRV: RRType.SRV,
  PTR: RRType.PTR,
  CAA: RRType.CAA,
};

export interface CnameRecord {
  type: 'CNAME';
  name: string;
  ttl: number;
  target: string;
}

export type ZoneIndex = ReadonlyMap<string, NameNode>;

/** SOA timers are milliseconds in the config, seconds on the wire. */
function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

export function buildZoneIndex(zones: readonly ZoneConfig[], fqdns: readonly FqdnConfig[], serial: number): ZoneIndex {
  const nodes = new Map<string, NameNode>();
  const zoneData = new Map<string, ZoneData>();
  for (const zone of zones) {
    const soaFields = {
      type: 'SOA' as const,
      name: zone.name,
      mname: zone.soa.mname,
      rname: zone.soa.rname,
      serial: serial >>> 0,
      refresh: seconds(zone.soa.refresh),
      retry: seconds(zone.soa.retry),
      expire: seconds(zone.soa.expire),
      minimum: seconds(zone.soa.minimum),
    };
    const data: ZoneData = {
      name: zone.name,
      soa: { ...soaFields, ttl: zone.ttl },
      negativeSoa: { ...soaFields, ttl: Math.min(zone.ttl, soaFields.minimum) },
    };
    zoneData.set(zone.name, data);
    const apex = ensureNode(nodes, data, zone.name);
    for (const record of zone.records) addRecord(ensureNode(nodes, data, record.name), record);
    addRRset(apex, RRType.SOA, data.soa);
    for (const host of zone.nameServers) addRRset(apex, RRType.NS, { type: 'NS', name: zone.name, ttl: zone.ttl, target: host });
  }
  for (const fqdn of fqdns) {
    const zone = [...zoneData.values()].find((z) => fqdn.name === z.name || fqdn.name.endsWith(`.${z.name}`));
    // The config puts every FQDN in a zone; one that is not would be REFUSED anyway.
    if (zone === undefined) continue;
    ensureNode(nodes, zone, fqdn.name).fqdn = fqdn;
  }
  for (const node of nodes.values()) node.cut = findCut(nodes, node);
  for (const node of nodes.values()) {
    const ns = node.rrsets.get(RRType.NS);
    if (ns === undefined || (node.cut === null && node.name !== node.zone.name)) continue;
    node.additional.set(RRType.NS, glue(nodes, node.zone, ns));
  }
  return nodes;
}

function ensureNode(nodes: Map<string, NameNode>, zone: ZoneData, name: string): NameNode {
  let node = nodes.get(name);
  if (node !== undefined) return node;
  node = { name, zone, rrsets: new Map(), cname: null, fqdn: null, cut: null, additional: new Map() };
  nodes.set(name, node);
  if (name !== zone.name) ensureNode(nodes, zone, name.slice(name.indexOf('.') + 1));
  return node;
}

function addRecord(node: NameNode, record: ZoneRecord): void {
  const code = TYPE_CODES[record.type];
  const dns = toDnsRecord(record);
  if (dns === null) return;
  if (dns.type === 'CNAME') node.cname = { type: 'CNAME', name: dns.name, ttl: dns.ttl, target: dns.target };
  addRRset(node, code, dns);
}

function addRRset(node: NameNode, type: number, record: DnsRecord): void {
  const rrset = node.rrsets.get(type);
  if (rrset === undefined) node.rrsets.set(type, [record]);
  else rrset.push(record);
}

function toDnsRecord(record: ZoneRecord): DnsRecord | null {
  const { name, ttl } = record;
  switch (record.type) {
    case 'A':
    case 'AAAA':
      return addressRecord(name, ttl, record.data.address);
    case 'CNAME':
    case 'PTR':
      return { type: record.type, name, ttl, target: record.data.target };
    case 'NS':
      return { type: 'NS', name, ttl, target: record.data.host };
    case 'MX':
      return { type: 'MX', name, ttl, preference: record.data.preference, exchange: record.data.exchange };
    case 'TXT':
      return txtRecord(name, ttl, record.data.strings);
    case 'SRV':
      return { type: 'SRV', name, ttl, ...record.data };
    case 'CAA':
      return caaRecord(name, ttl, record.data.flags, record.data.tag, record.data.value);
  }
}

/** The nearest node at or above `node`, below its apex, with NS records: a delegation. */
function findCut(nodes: ReadonlyMap<string, NameNode>, node: NameNode): NameNode | null {
  let cut: NameNode | null = null;
  let name = node.name;
  while (name !== node.zone.name) {
    const at = nodes.get(name)!;
    if (at.rrsets.has(RRType.NS)) cut = at;
    name = name.slice(name.indexOf('.') + 1);
  }
  return cut;
}

/**
 * The static A and AAAA records of the name servers inside this zone, for the additional
 * section (RFC 1034 section 4.3.2: glue is what lets a resolver reach an in-zone server).
 * A name server that is a GSLB FQDN gets none: its address changes with health, and a resolver
 * asks for it anyway.
 */
function glue(nodes: ReadonlyMap<string, NameNode>, zone: ZoneData, ns: readonly DnsRecord[]): DnsRecord[] {
  const records: DnsRecord[] = [];
  for (const record of ns) {
    if (record.type !== 'NS') continue;
    const host = nodes.get(record.target);
    if (host === undefined || host.zone !== zone) continue;
    records.push(...(host.rrsets.get(RRType.A) ?? []), ...(host.rrsets.get(RRType.AAAA) ?? []));
  }
  return records;
}
