/**
 * Types only: the shapes the GSLB decision logic works on, apart from the code (site-state.ts,
 * select.ts, locate.ts). These are the resolved forms: durations in milliseconds, countries upper
 * case, addresses canonical. The config schema (src/config) owns the YAML and maps it to these.
 */

/** 4 answers A queries, 6 answers AAAA queries. */
import type { AddressFamily } from '../ip/bytes.ts';
export type { AddressFamily };

export const SELECTION_POLICIES = [
  'round-robin',
  'weighted-round-robin',
  'fixed-weight',
  'all-available',
  'real-server-load',
  'proximity',
  'location',
] as const;
export type SelectionPolicyName = (typeof SELECTION_POLICIES)[number];

export type Recovery = 'automatic' | 'manual';

export interface SiteFailure {
  /** Milliseconds from the fall-th failed check to the site going down; a passing check in between cancels it. */
  delay: number;
  /** manual: a site that went down stays out until an operator enables it, so a flapping site cannot bounce users. */
  recovery: Recovery;
}

/** What an FQDN answers when no site of the asked family is up. */
export type WhenAllDown =
  /** Select as if every site were up (gdnsd's rule: when every check fails, the checker is the likelier fault). */
  | { kind: 'all' }
  /** An empty answer: NOERROR with no records (NODATA), SOA in the authority section. */
  | { kind: 'none' }
  /** These addresses (the ones of the asked family; none of it: NODATA), e.g. a "sorry" site. */
  | { kind: 'addresses'; addresses: readonly string[] };

/** The seven continent codes GeoIP databases use. */
export const CONTINENTS = ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'] as const;
export type Continent = (typeof CONTINENTS)[number];

/** Where a site or a client is. Any part may be unknown (null). */
export interface Place {
  /** ISO 3166-1 alpha-2, upper case, e.g. "BE". */
  country: string | null;
  /** Given, or derived from the country (see continents.ts). */
  continent: Continent | null;
  /** Degrees; both or neither. */
  lat: number | null;
  lon: number | null;
}

export interface GslbSite {
  name: string;
  /** Canonical IPv4 and IPv6 addresses handed out; a site may hold several of each. */
  addresses: readonly string[];
  /** Positive; default 1 in the schema. */
  weight: number;
  /** null: the site serves everyone (location policy) and has no coordinates (proximity). */
  location: Place | null;
}

export interface CheckThresholds {
  fall: number;
  rise: number;
  /** Before the first check completes: up (answers include the site) or down. */
  startAs: 'up' | 'down';
}

export interface GslbFqdn {
  /** Lower case, without the trailing dot, e.g. "www.surveyor.lab". */
  name: string;
  selection: SelectionPolicyName;
  siteFailure: SiteFailure;
  whenAllDown: WhenAllDown;
  sites: readonly GslbSite[];
}

/**
 * One answer an FQDN can give to one family: interned by the selector, so the same set of
 * addresses is always the same object with the same key. `key` is a small integer (0, 1, 2, ...)
 * unique within one FqdnSelector across both families: the DNS layer keeps one pre-encoded
 * response template per key (an array indexed by key) and never encodes per query.
 */
export interface Answer {
  readonly key: number;
  readonly family: AddressFamily;
  /** In site order, then address order as configured. Empty: send NOERROR with no answer (NODATA). */
  readonly addresses: readonly string[];
  /** Names of the sites whose addresses these are; empty for a whenAllDown fixed address or NODATA. */
  readonly sites: readonly string[];
  /** "192.0.2.10,198.51.100.20" or "" : for logs and the admin API. */
  readonly text: string;
}

/** Where the client is, and how widely an answer based on it may be cached (RFC 7871 SCOPE PREFIX-LENGTH). */
export interface Located {
  /** null: no table entry and no GeoIP record matched. */
  location: Place | null;
  /** Bits of the client address the location depended on; see locate.ts for how it is chosen. */
  scope: number;
}

/**
 * A GeoIP source (geoip.ts reads a MaxMind .mmdb file) consulted when no `locations` entry
 * matches. `bytes` holds the address (its first 4 bytes for IPv4), `prefixLength` its length in
 * bits (32 or 128).
 */
export interface GeoIpSource {
  /**
   * The place and the prefix length (in the family's own bits) of the database network that holds
   * the address. place null: the database knows that network and places it nowhere (absent from
   * it, or a record without a place): the prefix length still bounds the answer's scope, since
   * the networks around it may be placed. null: the source has nothing to say (an IPv6 address
   * and an IPv4-only database).
   */
  lookup(family: AddressFamily, bytes: Uint8Array, prefixLength: number): { place: Place | null; prefixLength: number } | null;
}

/** One site's verdict as the supervisor's checks see it, relayed to the workers that answer. */
export interface SiteReport {
  name: string;
  up: boolean;
  /** real-server-load: the load its fulcrum check reported; null when unknown. */
  load: number | null;
}
