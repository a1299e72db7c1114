/**
 * The gslb config (src/config/gslb-fqdns.ts) as the decision logic takes it (types.ts): one
 * function per shape, so the two can drift apart in one place only.
 */
import type { FqdnConfig, GslbConfig, SiteConfig, WhenAllDown as WhenAllDownConfig } from '../config/gslb.ts';
import { openGeoIpDatabase } from './geoip.ts';
import { LocationTable } from './locate.ts';
import { resolvePlace } from './place.ts';
import type { CheckThresholds, GslbFqdn, GslbSite, WhenAllDown } from './types.ts';

export function toGslbFqdn(fqdn: FqdnConfig): GslbFqdn {
  return {
    name: fqdn.name,
    selection: fqdn.selection,
    siteFailure: { delay: fqdn.siteFailure.delay, recovery: fqdn.siteFailure.recovery },
    whenAllDown: toWhenAllDown(fqdn.whenAllDown),
    sites: fqdn.sites.map(toGslbSite),
  };
}

export function toGslbSite(site: SiteConfig): GslbSite {
  const { country, continent, lat, lon } = site.location;
  const located = country !== null || continent !== null || lat !== null || lon !== null;
  return { name: site.name, addresses: [...site.addresses], weight: site.weight, location: located ? resolvePlace(site.location) : null };
}

function toWhenAllDown(value: WhenAllDownConfig): WhenAllDown {
  return value.answer === 'addresses' ? { kind: 'addresses', addresses: [...value.addresses] } : { kind: value.answer };
}

/** A checked site's fall, rise and startAs; undefined for type none (always up, see fqdn-state.ts). */
export function thresholdsOf(site: SiteConfig): CheckThresholds | undefined {
  const check = site.check;
  return check.type === 'none' ? undefined : { fall: check.fall, rise: check.rise, startAs: check.startAs };
}

/**
 * The `locations` table (CIDR to place) the DNS layer locates clients with, and behind it the
 * GeoIP database when one is configured: read once per config apply, and not even that when the
 * file is the one the previous apply read (geoip.ts). Throws a FulcrumError naming the file when
 * it is no longer a usable database (the check at load saw its metadata only, and it may have
 * changed since).
 */
export function locationTableOf(gslb: GslbConfig): LocationTable {
  const geoip = gslb.geoipDatabase === null ? null : openGeoIpDatabase(gslb.geoipDatabase);
  const table = LocationTable.build(gslb.locations.map((l) => ({ ...l, cidr: `${l.cidr.address}/${l.cidr.prefixLength}` })), geoip);
  // The schema has parsed every entry already; a failure here is a bug, not a config problem.
  if (!table.ok) throw new Error(`gslb.locations: ${table.message}`);
  return table.value;
}

/** What a site's health is before its first check: its check's startAs; a site without a check is up. */
export function startsUp(site: SiteConfig): boolean {
  return (thresholdsOf(site)?.startAs ?? 'up') === 'up';
}
