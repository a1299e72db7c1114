/**
 * The `gslb` section: Fulcrum as the authoritative DNS server of some zones, answering the
 * balanced names (FQDNs) with the addresses of sites that are up. The parts are in gslb-*.ts;
 * here they are put together, with the rules that span them: an FQDN lives in exactly one zone
 * and does not fight its static records, and a name server inside a zone has an address.
 */
import { isIPv6 } from 'node:net';
import { z } from 'zod';
import { type HostPort, formatAddress, parseHostPort } from './address.ts';
import { type ClientLocationConfig, GeoipDatabaseSchema, LocationsSchema } from './gslb-geo.ts';
import { type FqdnConfig, FqdnsSchema } from './gslb-fqdns.ts';
import { isInZone } from './gslb-names.ts';
import { type ZoneConfig, ZonesSchema } from './gslb-zones.ts';
import type { ParseResult, PathSegment } from './problem.ts';
import { field, parsedString } from './schema-builders.ts';

export { asHealthCheck, SITE_CHECK_TYPES, type SiteCheckConfig, type SiteCheckType } from './gslb-check.ts';
export { CONTINENT_OF_COUNTRY, CONTINENTS, type CidrConfig, type ClientLocationConfig, type Continent, type PlaceConfig } from './gslb-geo.ts';
export { SELECTION_METHODS, SITE_RECOVERY_MODES, type FqdnConfig, type SelectionMethod, type SiteConfig, type SiteRecovery, type WhenAllDown } from './gslb-fqdns.ts';
export { RECORD_TYPES, type RecordData, type RecordDataByType, type RecordType, type ZoneRecord } from './gslb-records.ts';
export type { SoaConfig, ZoneConfig } from './gslb-zones.ts';

export const DNS_PORT = 53;

/** "127.0.0.1:5353", "[::1]:53", or a host alone, which listens on port 53. */
export function parseDnsListen(text: string): ParseResult<HostPort> {
  if (isIPv6(text)) return parseHostPort(`[${text}]:${DNS_PORT}`, { wildcard: true });
  const hasPort = text.startsWith('[') ? /\]:/.test(text) : text.includes(':');
  return parseHostPort(hasPort ? text : `${text}:${DNS_PORT}`, { wildcard: true });
}

const ListenSchema = field(
  z.array(parsedString(parseDnsListen, '^(\\[[0-9A-Za-z:.%]+\\]|[^\\s\\[\\]]+)(:[0-9]{1,5})?$')).min(1),
  'The addresses the DNS server listens on, each on UDP and TCP: host:port, or a host alone for port 53. Give specific addresses rather than 0.0.0.0 or *: Node cannot choose the source address of a UDP reply, and resolvers drop answers from an address they did not ask.',
  { noun: 'a list of listen addresses', allowed: 'host:port or host (port 53), e.g. 192.0.2.53, 127.0.0.1:5353, [2001:db8::53]:53' },
);

const GslbObjectSchema = z.strictObject({
  listen: ListenSchema,
  zones: ZonesSchema,
  fqdns: FqdnsSchema,
  locations: LocationsSchema,
  geoipDatabase: GeoipDatabaseSchema,
});

type GslbObject = z.output<typeof GslbObjectSchema>;

/** The resolved gslb section. */
export interface GslbConfig {
  /** Each on UDP and TCP. */
  listen: HostPort[];
  zones: ZoneConfig[];
  fqdns: FqdnConfig[];
  locations: ClientLocationConfig[];
  /** An absolute path, checked to exist at load; null: no GeoIP. */
  geoipDatabase: string | null;
}

/** GslbConfig is what the schema produces: a compile error here means the two drifted apart. */
const _sameShape: [GslbConfig, GslbObject] = [{} as GslbObject, {} as GslbConfig];

export const GslbSchema = field(
  GslbObjectSchema.transform(checkAcrossZones).optional(),
  'Global server load balancing: Fulcrum answers DNS for its zones, and the balanced names (fqdns) with the addresses of sites that are up, picked by weight, order or client location. Off when absent.',
);

type Report = (path: PathSegment[], message: string) => void;

/** A transform, not a refinement, so that it runs only when every zone and FQDN parsed. */
function checkAcrossZones(gslb: GslbObject, ctx: z.RefinementCtx): GslbObject {
  const report: Report = (path, message) => ctx.addIssue({ code: 'custom', path, input: undefined, message });
  gslb.listen.forEach((address, index) => {
    const first = gslb.listen.findIndex((other) => other.host === address.host && other.port === address.port);
    if (first < index) report(['listen', index], `${formatAddress(address)} is listed twice`);
  });
  checkZoneNames(gslb.zones, report);
  checkFqdns(gslb, report);
  checkNameServerAddresses(gslb, report);
  return gslb;
}

/** Zone names are unique, and no zone is inside another: a name then has one zone, and one SOA. */
function checkZoneNames(zones: readonly ZoneConfig[], report: Report): void {
  zones.forEach((zone, index) => {
    const other = zones.findIndex((z2, i) => i < index && (isInZone(zone.name, z2.name) || isInZone(z2.name, zone.name)));
    if (other === -1) return;
    const outer = zones[other]!;
    report(
      ['zones', index, 'name'],
      outer.name === zone.name
        ? `zone ${zone.name} is already defined (zones[${other}]); put its records in one zone`
        : `zone ${zone.name} overlaps zone ${outer.name} (zones[${other}]); zones inside one another are not supported: put the records of both in ${isInZone(zone.name, outer.name) ? outer.name : zone.name}`,
    );
  });
}

/** The zone that holds `name`, or undefined. */
export function zoneOf(zones: readonly ZoneConfig[], name: string): ZoneConfig | undefined {
  return zones.find((zone) => isInZone(name, zone.name));
}

/** The record types GSLB answers at an FQDN (A, AAAA) or that would take the name from it (CNAME, NS). */
const FQDN_OWNED_TYPES = new Set(['A', 'AAAA', 'CNAME', 'NS']);

function checkFqdns(gslb: GslbObject, report: Report): void {
  gslb.fqdns.forEach((fqdn, index) => {
    const at: PathSegment[] = ['fqdns', index, 'name'];
    const first = gslb.fqdns.findIndex((other) => other.name === fqdn.name);
    if (first < index) return report(at, `FQDN ${fqdn.name} is already defined (fqdns[${first}]); list each name once, with all its sites`);
    const zone = zoneOf(gslb.zones, fqdn.name);
    if (zone === undefined) {
      const names = gslb.zones.map((z2) => z2.name);
      return report(at, names.length === 0 ? `${fqdn.name} needs a zone to live in; add one to zones (e.g. name: ${fqdn.name.split('.').slice(1).join('.') || fqdn.name})` : `${fqdn.name} is in none of the zones (${names.join(', ')}); Fulcrum answers only for its zones`);
    }
    const clash = zone.records.find((record) => record.name === fqdn.name && FQDN_OWNED_TYPES.has(record.type));
    if (clash !== undefined) {
      const recordIndex = zone.records.indexOf(clash);
      const zoneIndex = gslb.zones.indexOf(zone);
      return report(at, `${fqdn.name} is also a ${clash.type} record of zone ${zone.name} (zones[${zoneIndex}].records[${recordIndex}]); an FQDN's A and AAAA answers come from its sites: remove that record (MX, TXT, SRV and CAA records may stay)`);
    }
    const cut = zone.records.find((record) => record.type === 'NS' && record.name !== fqdn.name && isInZone(fqdn.name, record.name));
    if (cut !== undefined) report(at, `${fqdn.name} is below ${cut.name}, which NS records in zone ${zone.name} delegate to other servers`);
  });
}

/** A name server inside its zone needs an address here, or resolvers cannot reach it (glue). */
function checkNameServerAddresses(gslb: GslbObject, report: Report): void {
  const fqdnNames = new Set(gslb.fqdns.map((fqdn) => fqdn.name));
  gslb.zones.forEach((zone, zoneIndex) => {
    zone.nameServers.forEach((nameServer, index) => {
      const inside = zoneOf(gslb.zones, nameServer);
      if (inside === undefined) return;
      const hasAddress = fqdnNames.has(nameServer) || inside.records.some((record) => record.name === nameServer && (record.type === 'A' || record.type === 'AAAA'));
      if (!hasAddress) report(['zones', zoneIndex, 'nameServers', index], `name server ${nameServer} is inside zone ${inside.name} but has no A or AAAA record there; add one, e.g. { name: ${nameServer === inside.name ? '"@"' : nameServer.slice(0, -inside.name.length - 1)}, type: A, value: 192.0.2.53 }`);
    });
  });
}

