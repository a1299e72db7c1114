/**
 * A balanced name (FQDN) of the gslb section: its sites, each with addresses, a weight, a place
 * and a check, and how an answer picks among the sites that are up.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { DURATION_ALLOWED, DURATION_PATTERN, parseDurationOrZero } from './duration.ts';
import { SiteCheckSchema, noCheck } from './gslb-check.ts';
import { SiteLocationSchema } from './gslb-geo.ts';
import { DOMAIN_NAME_ALLOWED, DOMAIN_NAME_PATTERN, parseAbsoluteName } from './gslb-names.ts';
import { canonicalIPv6 } from './gslb-records.ts';
import type { ParseResult } from './problem.ts';
import { field, integer, parsedString } from './schema-builders.ts';

export const SELECTION_METHODS = ['round-robin', 'weighted-round-robin', 'fixed-weight', 'all-available', 'real-server-load', 'proximity', 'location'] as const;
export type SelectionMethod = (typeof SELECTION_METHODS)[number];

export const SITE_RECOVERY_MODES = ['automatic', 'manual'] as const;
export type SiteRecovery = (typeof SITE_RECOVERY_MODES)[number];

/** RFC 2181 section 8: a TTL is 0..2^31-1 seconds. */
export const MAX_TTL = 2_147_483_647;

/** What to answer when every site is down. */
export type WhenAllDown = { answer: 'all' } | { answer: 'none' } | { answer: 'addresses'; addresses: string[] };

/** An IPv4 or IPv6 address, canonical. */
export function parseIp(text: string): ParseResult<string> {
  if (isIPv4(text)) return { ok: true, value: text };
  if (isIPv6(text) && !text.includes('%')) return { ok: true, value: canonicalIPv6(text) };
  const bracketed = /^\[(.*)\]$/.exec(text);
  if (bracketed !== null && isIPv6(bracketed[1]!)) return { ok: false, message: `${JSON.stringify(text)}: write an IPv6 address without brackets`, suggestion: bracketed[1]! };
  const withPort = /^(.*):[0-9]{1,5}$/.exec(text);
  if (withPort !== null && isIPv4(withPort[1]!)) return { ok: false, message: `${JSON.stringify(text)}: a site hands out addresses, not ports; write the address alone`, suggestion: withPort[1]! };
  return { ok: false, message: `${JSON.stringify(text)} is not an IP address; a DNS answer holds IPv4 (A) or IPv6 (AAAA) addresses` };
}

const IP_PATTERN = '^[0-9A-Fa-f.:]+$';
const ip = () => parsedString(parseIp, IP_PATTERN);

function addressList(input: string[], ctx: z.RefinementCtx): string[] {
  input.forEach((address, index) => {
    if (input.indexOf(address) !== index) ctx.addIssue({ code: 'custom', path: [index], input: undefined, message: `${address} is listed twice` });
  });
  return input;
}

const SiteSchema = z
  .strictObject({
    name: field(z.string().regex(/^[A-Za-z0-9._-]+$/).max(64), 'Name of the site, unique within the FQDN (letters, digits, ".", "_", "-"); logs, the API and `fulcrum gslb site enable FQDN SITE` use it.', {
      noun: 'a site name',
      allowed: 'letters, digits, ".", "_" and "-", at most 64 characters',
    }),
    address: field(
      z.union([ip().transform((address) => [address]), z.array(ip()).min(1).transform(addressList)]),
      'The address the answer hands out for this site, or a list of them; IPv4 addresses answer A queries, IPv6 addresses AAAA queries.',
      { noun: 'an IP address or a list of them', allowed: 'an IPv4 or IPv6 address, e.g. 192.0.2.10 or 2001:db8::10, or a list' },
    ),
    weight: integer(1, 65_535, 100, "The site's share relative to the other sites' weights (weighted-round-robin), or its rank (fixed-weight: the up site with the highest weight takes every answer; on a tie, the one listed first)."),
    location: SiteLocationSchema,
    check: SiteCheckSchema,
  })
  .transform(({ address, location, check, ...site }) => ({
    ...site,
    addresses: address,
    location: location ?? { country: null, continent: null, lat: null, lon: null },
    check: check ?? noCheck(),
  }));

export type SiteConfig = z.output<typeof SiteSchema>;

function parseWhenAllDown(text: string): ParseResult<WhenAllDown> {
  if (text === 'all' || text === 'none') return { ok: true, value: { answer: text } };
  const address = parseIp(text);
  if (address.ok) return { ok: true, value: { answer: 'addresses', addresses: [address.value] } };
  return { ok: false, message: `${JSON.stringify(text)} is not all, none or an IP address` };
}

const SiteFailureSchema = z.strictObject({
  delay: field(parsedString(parseDurationOrZero, DURATION_PATTERN).prefault('0s'), 'How long a site stays in the answers after its check has failed fall times: a grace period against short outages. 0s: none.', {
    noun: 'a duration',
    allowed: `0s, or ${DURATION_ALLOWED}`,
  }),
  recovery: field(
    z.enum(SITE_RECOVERY_MODES).default('automatic'),
    'automatic: a down site returns after rise passed checks. manual: it stays out until an operator puts it back (`fulcrum gslb site enable FQDN SITE`, or the admin API), so that a flapping primary cannot bounce users between sites.',
    { noun: 'a recovery mode' },
  ),
});

const FqdnSchema = z
  .strictObject({
    name: field(parsedString(parseAbsoluteName, DOMAIN_NAME_PATTERN), 'The balanced name, e.g. www.example.com (the final dot is optional); it must be inside one of the zones. GSLB answers its A and AAAA queries; the zone may hold other types at the same name (MX, TXT, SRV, CAA), but no A, AAAA, CNAME or NS records.', {
      noun: 'a domain name',
      allowed: DOMAIN_NAME_ALLOWED,
    }),
    ttl: integer(0, MAX_TTL, 20, 'TTL of the answers, in seconds: how long resolvers may keep an answer, so the longest a failover takes to reach a client after Fulcrum switches. Short (10-60) for failover.'),
    selection: field(
      z.enum(SELECTION_METHODS).default('fixed-weight'),
      'How the answer picks among the sites that are up: round-robin (in turn); weighted-round-robin (in turn, in proportion to weight); fixed-weight (the site with the highest weight, the next one when it fails: primary and DR); all-available (every address of every site that is up); real-server-load (the site reporting the lowest load; the fulcrum check reports it); proximity (the nearest site to the client by lat and lon; every site needs both); location (the client\'s country, then its continent, then any site; a site without location serves every client).',
      { noun: 'a selection method' },
    ),
    siteFailure: field(SiteFailureSchema.prefault({}), 'When a failing site leaves the answers, and how it comes back.'),
    whenAllDown: field(
      z.union([parsedString(parseWhenAllDown, '^(all|none|[0-9A-Fa-f.:]+)$'), z.array(ip()).min(1).transform((addresses): WhenAllDown => ({ answer: 'addresses', addresses }))]).prefault('all'),
      'The answer while every site (of the asked family) is down: all (answer as if every site were up, so the selection still picks: fixed-weight answers the primary, all-available every address; when every check fails at once the checker\'s own network is the likelier fault), none (an empty answer: NOERROR with no addresses and the SOA, so resolvers cache it for the SOA minimum), or an address (or list) such as a maintenance page\'s.',
      { noun: 'all, none or an IP address', allowed: 'all, none, an IP address, or a list of them' },
    ),
    sites: field(z.array(SiteSchema).min(1), 'The sites (data centers) that serve the name, each with its own addresses and check.'),
  })
  // A transform, not a refinement: it runs only when every site parsed, so it sees their output shape.
  .transform((fqdn, ctx) => {
    const report = (path: (string | number)[], message: string): void => ctx.addIssue({ code: 'custom', path, input: undefined, message });
    const firstSite = new Map<string, number>();
    const siteOfAddress = new Map<string, string>();
    fqdn.sites.forEach((site, index) => {
      const first = firstSite.get(site.name);
      if (first !== undefined) report(['sites', index, 'name'], `site name "${site.name}" is already used by sites[${first}]; site names are unique within an FQDN`);
      else firstSite.set(site.name, index);
      site.addresses.forEach((address) => {
        const owner = siteOfAddress.get(address);
        if (owner !== undefined && owner !== site.name) report(['sites', index, 'address'], `${address} is also an address of site "${owner}"; a site's addresses are its own`);
        else siteOfAddress.set(address, site.name);
      });
    });
    if (fqdn.selection === 'proximity') {
      fqdn.sites.forEach((site, index) => {
        if (site.location.lat === null || site.location.lon === null) {
          report(['sites', index, site.location.country === null && site.location.continent === null ? 'name' : 'location'], `selection proximity needs every site's position: give site "${site.name}" location lat and lon`);
        }
      });
    }
    if (fqdn.selection === 'location' && fqdn.sites.every((site) => site.location.country === null && site.location.continent === null)) {
      report(['selection'], 'selection location needs a location (country or continent) on at least one site; without one every site serves everyone');
    }
    return fqdn;
  });

export type FqdnConfig = z.output<typeof FqdnSchema>;

export const FqdnsSchema = field(z.array(FqdnSchema).default([]), 'The balanced names: GSLB answers their A and AAAA queries with the addresses of sites that are up.');
