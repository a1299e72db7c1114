/**
 * Places in the gslb section: a site's location, the client networks of `locations`, and the
 * optional GeoIP database. A country implies its continent, so `location: { country: BE }` also
 * matches a client placed only in EU, and a client network given a country gets its continent.
 */
import { statSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import { canonicalIPv6 } from './gslb-records.ts';
import { checkMmdbFile, errnoReason } from './mmdb-file.ts';
import type { ParseResult } from './problem.ts';
import { field, parsedString } from './schema-builders.ts';

export const CONTINENTS = ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'] as const;
export type Continent = (typeof CONTINENTS)[number];

/**
 * ISO 3166-1 alpha-2 codes by continent, as GeoNames and MaxMind place them (Turkey, Georgia,
 * Armenia and Azerbaijan in AS; Russia and Cyprus in EU), plus XK (Kosovo), which GeoIP uses.
 */
const COUNTRIES_BY_CONTINENT: Record<Continent, string> = {
  AF: 'DZ AO BJ BW BF BI CV CM CF TD KM CG CD CI DJ EG GQ ER SZ ET GA GM GH GN GW KE LS LR LY MG MW ML MR MU YT MA MZ NA NE NG RE RW SH ST SN SC SL SO ZA SS SD TZ TG TN UG EH ZM ZW',
  AN: 'AQ BV GS HM TF',
  AS: 'AF AM AZ BH BD BT IO BN KH CN CX CC GE HK IN ID IR IQ IL JP JO KZ KW KG LA LB MO MY MV MN MM NP KP OM PK PS PH QA SA SG KR LK SY TW TJ TH TL TR TM AE UZ VN YE',
  EU: 'AX AL AD AT BY BE BA BG HR CY CZ DK EE FO FI FR DE GI GR GG VA HU IS IE IM IT JE XK LV LI LT LU MT MD MC ME NL MK NO PL PT RO RU SM RS SK SI ES SJ SE CH UA GB',
  NA: 'AI AG AW BS BB BZ BM BQ VG CA KY CR CU CW DM DO SV GL GD GP GT HT HN JM MQ MX MS NI PA PR BL KN LC MF PM VC SX TT TC US VI',
  OC: 'AS AU CK FJ PF GU KI MH FM NR NC NZ NU NF MP PW PG PN WS SB TK TO TV UM VU WF',
  SA: 'AR BO BR CL CO EC FK GF GY PY PE SR UY VE',
};

/** Country code to continent, for every code the config accepts. */
export const CONTINENT_OF_COUNTRY: ReadonlyMap<string, Continent> = new Map(
  Object.entries(COUNTRIES_BY_CONTINENT).flatMap(([continent, codes]) => codes.split(' ').map((code) => [code, continent as Continent] as const)),
);

/** Codes people write that ISO 3166 spells otherwise. */
const COUNTRY_ALIASES: Record<string, string> = { UK: 'GB', EL: 'GR' };

/** A place; null where the config gives none and none follows from what it gives. */
export interface PlaceConfig {
  country: string | null;
  continent: Continent | null;
  lat: number | null;
  lon: number | null;
}

function parseCountry(text: string): ParseResult<string> {
  const upper = text.toUpperCase();
  if (text === upper && CONTINENT_OF_COUNTRY.has(text)) return { ok: true, value: text };
  const suggestion = COUNTRY_ALIASES[upper] ?? (CONTINENT_OF_COUNTRY.has(upper) ? upper : undefined);
  const message = /^[A-Za-z]{2}$/.test(text) && CONTINENT_OF_COUNTRY.has(upper)
    ? `${JSON.stringify(text)}: country codes are upper case`
    : `${JSON.stringify(text)} is not an ISO 3166 country code`;
  return suggestion === undefined ? { ok: false, message } : { ok: false, message, suggestion };
}

/** The keys of a place, each built fresh per use (the site's and the client network's). */
function placeShape(who: string) {
  return {
    country: field(parsedString(parseCountry, '^[A-Z]{2}$').optional(), `The country ${who}, as an ISO 3166-1 alpha-2 code in upper case: BE, NL, US, GB. It implies the continent.`, {
      noun: 'a country code',
      allowed: 'an ISO 3166-1 alpha-2 code in upper case, e.g. BE, US, GB',
    }),
    continent: field(z.enum(CONTINENTS).optional(), `The continent ${who}: AF (Africa), AN (Antarctica), AS (Asia), EU (Europe), NA (North America), OC (Oceania), SA (South America). Default: the country's.`, {
      noun: 'a continent code',
    }),
    lat: field(z.number().min(-90).max(90).optional(), `Latitude ${who} in degrees (-90..90, north positive); with lon, for proximity selection.`),
    lon: field(z.number().min(-180).max(180).optional(), `Longitude ${who} in degrees (-180..180, east positive); with lat, for proximity selection.`),
  };
}

type PlaceInput = { country?: string | undefined; continent?: Continent | undefined; lat?: number | undefined; lon?: number | undefined };

function toPlace(input: PlaceInput, ctx: z.RefinementCtx): PlaceConfig {
  if ((input.lat === undefined) !== (input.lon === undefined)) {
    const missing = input.lat === undefined ? 'lat' : 'lon';
    ctx.addIssue({ code: 'custom', path: [missing === 'lat' ? 'lon' : 'lat'], input: undefined, message: `a position needs both lat and lon; add ${missing}` });
  }
  const country = input.country ?? null;
  return {
    country,
    continent: input.continent ?? (country === null ? null : (CONTINENT_OF_COUNTRY.get(country) ?? null)),
    lat: input.lat ?? null,
    lon: input.lon ?? null,
  };
}

export const SiteLocationSchema = field(
  z.strictObject(placeShape('of the site')).transform(toPlace).optional(),
  'Where the site is, for the location and proximity selections; any of country, continent, lat and lon. A site without a location serves clients from anywhere.',
);

/** An IPv4 or IPv6 network with its host bits zero. */
export interface CidrConfig {
  family: 4 | 6;
  /** The network address, canonical. */
  address: string;
  prefixLength: number;
}

export function parseCidr(text: string): ParseResult<CidrConfig> {
  const match = /^([^/\s]+)\/([0-9]{1,3})$/.exec(text.trim());
  if (match === null) return { ok: false, message: `${JSON.stringify(text)} is not a network; write ADDRESS/PREFIX, e.g. 10.1.0.0/16 or 2001:db8::/32` };
  const [, host = '', prefixText = ''] = match;
  const family = isIPv4(host) ? 4 : isIPv6(host) && !host.includes('%') ? 6 : 0;
  if (family === 0) return { ok: false, message: `"${host}" in ${JSON.stringify(text)} is not an IP address` };
  const bits = family === 4 ? 32 : 128;
  const prefixLength = Number(prefixText);
  if (prefixLength > bits) return { ok: false, message: `prefix /${prefixLength} is longer than an IPv${family} address (${bits} bits)` };
  const value = family === 4 ? ipv4ToBigInt(host) : ipv6ToBigInt(host);
  const hostMask = (1n << BigInt(bits - prefixLength)) - 1n;
  const network = value & ~hostMask;
  const address = family === 4 ? bigIntToIPv4(network) : bigIntToIPv6(network);
  if ((value & hostMask) !== 0n) {
    return { ok: false, message: `${JSON.stringify(text)} has host bits set; the network is ${address}/${prefixLength}`, suggestion: `${address}/${prefixLength}` };
  }
  return { ok: true, value: { family, address, prefixLength } };
}

function ipv4ToBigInt(address: string): bigint {
  return address.split('.').reduce((total, part) => (total << 8n) | BigInt(Number(part)), 0n);
}

function bigIntToIPv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join('.');
}

function ipv6ToBigInt(address: string): bigint {
  const full = canonicalIPv6(address);
  // The URL parser keeps an embedded IPv4 tail (::ffff:1.2.3.4) in hex, so every group is hex here.
  const [head = '', tail] = full.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((total, group) => (total << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

function bigIntToIPv6(value: bigint): string {
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  return canonicalIPv6(groups.join(':'));
}

const LocationSchema = z
  .strictObject({
    cidr: field(parsedString(parseCidr, '^[0-9A-Fa-f.:]+/[0-9]{1,3}$'), 'The client network, e.g. 10.1.0.0/16 or 2001:db8:1::/48, host bits zero. The longest matching prefix wins.', {
      noun: 'a network',
      allowed: 'ADDRESS/PREFIX, e.g. 10.1.0.0/16, 2001:db8::/32',
    }),
    ...placeShape('of the clients in this network'),
  })
  .transform((input, ctx) => {
    const { cidr, ...place } = input;
    if (Object.values(place).every((value) => value === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['cidr'], input: undefined, message: `network ${cidr.address}/${cidr.prefixLength} has no place; give it a country, continent, or lat and lon` });
    }
    return { cidr, ...toPlace(place, ctx) };
  });

export type ClientLocationConfig = z.output<typeof LocationSchema>;

export const LocationsSchema = field(
  z.array(LocationSchema).default([]),
  'Client networks and where they are, consulted before any GeoIP database (the longest matching prefix wins): your own offices and VPN ranges, which a GeoIP database places wrongly or not at all. The client is the EDNS Client Subnet when the query carries one, else the resolver that asks.',
);

function parseGeoipPath(text: string): ParseResult<string> {
  if (!text.endsWith('.mmdb')) return { ok: false, message: `${JSON.stringify(text)} is not a .mmdb file; geoipDatabase is a MaxMind DB file, e.g. /var/lib/GeoIP/GeoLite2-City.mmdb` };
  const path = resolve(text);
  try {
    if (!statSync(path).isFile()) return { ok: false, message: `${path} is not a file` };
  } catch (error) {
    return { ok: false, message: `cannot read the GeoIP database ${path}: ${errnoReason(error)}; download it (MaxMind GeoLite2 City or Country), or set geoipDatabase: null` };
  }
  // The metadata only (the file's last 128 KiB): each worker reads the whole file when it applies the config.
  const checked = checkMmdbFile(path);
  return checked.ok ? { ok: true, value: path } : checked;
}

export const GeoipDatabaseSchema = field(
  z.union([z.null(), parsedString(parseGeoipPath, '\\.mmdb$')]).default(null),
  'A MaxMind DB file (.mmdb, GeoLite2 or GeoIP2 City or Country) that places clients outside `locations`; null: none, and such clients count as from anywhere. A relative path is taken from the working directory. Checked at load: the file must be a MaxMind DB (its metadata is read); each worker reads the whole file when it applies the config and keeps it while the file is unchanged (replace the file and reload to update it).',
  { noun: 'a .mmdb file path or null', allowed: 'null, or the path of a .mmdb file' },
);
