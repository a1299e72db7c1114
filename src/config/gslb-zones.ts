/**
 * A zone Fulcrum answers for with authority: its SOA and NS (from nameServers and hostmaster),
 * its static records, and the rules that keep the data answerable (RFC 1034, 2181).
 */
import { z } from 'zod';
import { DURATION_ALLOWED, DURATION_PATTERN, parseDuration } from './duration.ts';
import { MAX_TTL } from './gslb-fqdns.ts';
import { DOMAIN_NAME_ALLOWED, DOMAIN_NAME_PATTERN, isInZone, parseAbsoluteName, parseMailbox, parseNameServerName, parseZoneFileName } from './gslb-names.ts';
import { RECORD_TYPES, type RecordData, type ZoneRecord, parseRecordValue, rdataLength } from './gslb-records.ts';
import type { ParseResult, PathSegment } from './problem.ts';
import { field, integer, parsedString } from './schema-builders.ts';

/** The SOA of a zone; timers in milliseconds like every duration of the config (whole seconds on the wire). */
export interface SoaConfig {
  /** The primary name server: the first of nameServers. */
  mname: string;
  /** The hostmaster mailbox as a name, in presentation form: a dot in its local part is escaped ("john\\.doe.example.com"). */
  rname: string;
  refresh: number;
  retry: number;
  expire: number;
  /** The negative-caching TTL (RFC 2308): how long resolvers keep NXDOMAIN and NODATA. */
  minimum: number;
}

/** SOA timers are 32-bit seconds on the wire; a fraction of a second cannot be sent. */
function wholeSeconds(text: string): ParseResult<number> {
  const parsed = parseDuration(text);
  if (!parsed.ok || parsed.value % 1000 === 0) return parsed;
  return { ok: false, message: `"${text}" is not a whole number of seconds; SOA timers are sent in seconds`, suggestion: `${Math.round(parsed.value / 1000) || 1}s` };
}

function soaTimer(defaultText: string, description: string) {
  return field(parsedString(wholeSeconds, DURATION_PATTERN).prefault(defaultText), description, { noun: 'a duration', allowed: `whole seconds: ${DURATION_ALLOWED}` });
}

/** Fulcrum serves no zone transfers (AXFR), so refresh, retry and expire only matter to secondaries fed another way. */
const SoaTimersSchema = z.strictObject({
  refresh: soaTimer('1h', 'SOA refresh: how often a secondary server checks the serial.'),
  retry: soaTimer('15m', 'SOA retry: how soon a secondary retries after a failed refresh.'),
  expire: soaTimer('14d', 'SOA expire: how long a secondary keeps answering without reaching the primary.'),
  minimum: soaTimer('1m', 'SOA minimum: the negative-caching TTL (RFC 2308), how long resolvers remember that a name or type does not exist.'),
});

const RecordSchema = z.strictObject({
  name: field(z.string().min(1).max(255), 'The owner name as in a zone file: "@" for the zone itself, a name under the zone ("www", "_sip._udp"), or an absolute name with a final dot ("www.example.com.").', {
    noun: 'a record name',
    allowed: '"@", a relative name such as www, or an absolute name ending in a dot',
  }),
  type: field(z.enum(RECORD_TYPES), 'The record type. SOA and the zone\'s own NS come from the zone\'s hostmaster and nameServers.', { noun: 'a record type' }),
  value: field(
    z.string().max(70_000),
    'The data in zone-file syntax: A 192.0.2.1; AAAA 2001:db8::1; CNAME, NS, PTR a name ("www.example.com." absolute, "www" under the zone); MX "10 mail.example.com."; TXT "v=spf1 mx -all" (text longer than 255 bytes is split into several strings; "a" "b" writes them yourself); SRV "0 5 5060 sip.example.com."; CAA 0 issue "letsencrypt.org".',
    { noun: 'a record value' },
  ),
  ttl: field(z.int().min(0).max(MAX_TTL).optional(), 'TTL in seconds. Default: the zone\'s ttl.'),
});

const ZoneSchema = z
  .strictObject({
    name: field(parsedString(parseAbsoluteName, DOMAIN_NAME_PATTERN), 'The zone, e.g. example.com (the final dot is optional). Its parent must delegate it to Fulcrum\'s addresses (NS records with glue) for resolvers to ask here.', {
      noun: 'a domain name',
      allowed: DOMAIN_NAME_ALLOWED,
    }),
    nameServers: field(
      z.array(z.string()).min(1),
      'The zone\'s name servers, its NS records; the first is the SOA primary. A name with a dot is absolute (ns1.example.com); a single label (ns1) is under the zone. A name server inside the zone needs an A or AAAA record here.',
      { noun: 'a list of name server names' },
    ),
    hostmaster: field(z.string(), 'The contact for the zone, as an email address, e.g. hostmaster@example.com; it becomes the SOA RNAME (hostmaster.example.com).', {
      noun: 'an email address',
      allowed: 'an email address, e.g. hostmaster@example.com',
    }),
    ttl: integer(0, MAX_TTL, 300, 'Default TTL of the zone\'s records, in seconds (the SOA and NS records take it too).'),
    soa: field(SoaTimersSchema.prefault({}), 'The SOA timers, each a duration in whole seconds; the serial is Fulcrum\'s and increases with every change.'),
    records: field(z.array(RecordSchema).default([]), 'Static records of the zone (the names that GSLB does not balance).'),
  })
  .transform((zone, ctx) => {
    const report = (path: PathSegment[], message: string, suggestion?: string): void =>
      ctx.addIssue({ code: 'custom', path, input: undefined, message, params: { suggestion } });
    const nameServers: string[] = [];
    zone.nameServers.forEach((text, index) => {
      const parsed = parseNameServerName(text, zone.name);
      if (!parsed.ok) report(['nameServers', index], parsed.message, parsed.suggestion);
      else if (nameServers.includes(parsed.value)) report(['nameServers', index], `${parsed.value} is listed twice`);
      else nameServers.push(parsed.value);
    });
    const rname = parseMailbox(zone.hostmaster);
    if (!rname.ok) report(['hostmaster'], rname.message, rname.suggestion);
    const records = parseRecords(zone.name, zone.ttl, zone.records, report);
    const soa: SoaConfig = { mname: nameServers[0] ?? '', rname: rname.ok ? rname.value : '', ...zone.soa };
    return { name: zone.name, nameServers, hostmaster: zone.hostmaster, ttl: zone.ttl, soa, records };
  });

export type ZoneConfig = z.output<typeof ZoneSchema>;

export const ZonesSchema = field(z.array(ZoneSchema).default([]), 'The zones Fulcrum answers for with authority. Names outside them are REFUSED: Fulcrum is never a recursive resolver.');

type Report = (path: PathSegment[], message: string, suggestion?: string) => void;

/**
 * The most bytes one RRset may take, 12 a record (a compressed owner name, TYPE, CLASS, TTL,
 * RDLENGTH) plus its RDATA, so that every answer holding it fits a 65,535-byte message beside
 * the header (12), the question (259 at most) and a CNAME chain leading to it (7 links of 522 at
 * most, resolve.ts MAX_CHAIN): 65,535 - 12 - 259 - 3,654 = 61,610, rounded down. The engine
 * encodes answers when the config loads and cannot send one that does not fit.
 */
const MAX_RRSET_BYTES = 61_000;

/** Parse each record, then the rules between records: CNAME alone at its name and not at the apex, no duplicates, nothing but glue below a delegation. */
function parseRecords(zone: string, zoneTtl: number, input: z.output<typeof RecordSchema>[], report: Report): ZoneRecord[] {
  const records: ZoneRecord[] = [];
  const indexOf = new Map<ZoneRecord, number>();
  input.forEach((raw, index) => {
    const at = (key: string): PathSegment[] => ['records', index, key];
    const name = parseZoneFileName(raw.name, zone);
    if (!name.ok) return report(at('name'), name.message, name.suggestion);
    if (!isInZone(name.value, zone)) return report(at('name'), `${name.value} is outside zone ${zone}; a zone holds only its own name and names below it`);
    const data = parseRecordValue(raw.type, raw.value, zone);
    if (!data.ok) return report(at('value'), data.message, data.suggestion);
    if (raw.type === 'NS' && name.value === zone) return report(at('type'), `the zone's own NS records come from nameServers; add ${raw.value} there`);
    if (raw.type === 'CNAME' && name.value === zone) return report(at('type'), 'a CNAME cannot be at the zone apex, which holds the SOA and NS records (RFC 1034 3.6.2); use A or AAAA records, or make the name an FQDN');
    const record = { name: name.value, type: raw.type, ttl: raw.ttl ?? zoneTtl, value: raw.value, data: data.value as RecordData } as ZoneRecord;
    indexOf.set(record, index);
    records.push(record);
  });
  const key = (r: ZoneRecord): string => `${r.type} ${JSON.stringify(r.data)}`;
  const seen = new Map<string, ZoneRecord>();
  const delegations = records.filter((r) => r.type === 'NS').map((r) => r.name);
  const rrsetBytes = new Map<string, number>();
  for (const record of records) {
    const index = indexOf.get(record)!;
    const first = seen.get(`${record.name} ${key(record)}`);
    if (first !== undefined) {
      report(['records', index], `this ${record.type} record for ${record.name} repeats records[${indexOf.get(first)}]; list it once`);
      continue;
    }
    seen.set(`${record.name} ${key(record)}`, record);
    const rrset = `${record.name} ${record.type}`;
    const bytes = (rrsetBytes.get(rrset) ?? 0) + 12 + rdataLength(record);
    rrsetBytes.set(rrset, bytes);
    if (bytes > MAX_RRSET_BYTES) {
      report(['records', index, 'value'], `the ${record.type} records of ${record.name} take ${bytes} bytes with this one; an answer must fit one DNS message, so an RRset holds at most ${MAX_RRSET_BYTES}`);
      continue;
    }
    const other = records.find((r) => indexOf.get(r)! < index && r.name === record.name && (r.type === 'CNAME' || record.type === 'CNAME'));
    if (other !== undefined) {
      report(['records', index, 'name'], `${record.name} already has a ${other.type} record (records[${indexOf.get(other)}]); a name with a CNAME can hold no other record (RFC 1034 3.6.2)`);
      continue;
    }
    const cut = delegations.find((d) => record.name !== d && isInZone(record.name, d));
    const glue = record.type === 'A' || record.type === 'AAAA';
    if (cut !== undefined && !glue) report(['records', index, 'name'], `${record.name} is below ${cut}, which NS records delegate to other servers; only glue (A, AAAA) may be there`);
    if (record.type === 'NS' && records.some((r) => r.name === record.name && r.type !== 'NS' && r.type !== 'A' && r.type !== 'AAAA')) {
      report(['records', index, 'name'], `${record.name} has NS records (a delegation) and other data; a delegated name holds only NS and glue`);
    }
  }
  return records;
}
