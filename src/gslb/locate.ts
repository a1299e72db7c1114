/**
 * Where a client is: the config's `locations` table (longest prefix wins), then an optional GeoIP
 * source, by the client's address or its EDNS Client Subnet (RFC 7871) address and source prefix.
 *
 * The scope (RFC 7871 SCOPE PREFIX-LENGTH) is the largest network around the client whose every
 * address gets the same lookup result, so a resolver caching the answer for that network never
 * hands it to a client the table places elsewhere:
 * - a matched entry gives its prefix length, lengthened just enough to leave out any more
 *   specific entry nested in it (10.1.0.0/16 holding 10.1.5.0/24: a client at 10.1.200.1 gets
 *   scope 17, not 16, or a resolver would serve 10.1.5.x the /16 answer). This is the RFC's
 *   section 7.2.1 choice 1, deaggregation, done per query instead of by warning the operator;
 * - nothing matched: the same rule against every entry of the family: 0 for an empty table
 *   ("suitable for all addresses in FAMILY"), else just long enough to exclude the nearest
 *   entry. Not the source prefix length, which is always safe but splits resolver caches into
 *   one entry per /24 for clients the table says nothing about;
 * - a GeoIP match gives the database network's prefix length, lengthened the same way; so does
 *   an address in a network the database leaves unplaced (it is "nowhere", but only within that
 *   network: scope 0 would let a resolver hand the unlocated answer to placed clients too).
 * The ECS address is taken with its bits after the source prefix zeroed, as the RFC has the
 * resolver send it; when a table entry is longer than the source prefix the scope comes out
 * longer than the source ("not specific enough", which the RFC allows and resolvers honour).
 * A source prefix of 0 (the resolver asks for an untailored answer) locates nothing, scope 0.
 *
 * Lookups are linear over the entries: tables are tens of entries, and a scan of a few typed
 * arrays costs less than a trie's pointer chasing at that size. No allocation per lookup: the
 * result object is reused (read it before the next lookup) and places are the table's own
 * objects, so selectors can memoise answers by place.
 */
import type { ParseResult } from '../config/problem.ts';
import { commonPrefixLength, maskBytes, parseCidr, parseIpInto } from '../ip/bytes.ts';
import { type PlaceText, resolvePlace } from './place.ts';
import type { AddressFamily, GeoIpSource, Located, Place } from './types.ts';

export interface LocationEntryText extends PlaceText {
  cidr: string;
}

interface Entry {
  bytes: Uint8Array;
  prefixLength: number;
  place: Place;
  /** Entries of the same family strictly inside this one. */
  nested: Entry[];
}

export class LocationTable {
  /** Longest prefix first, so the first match is the longest. */
  readonly #v4: Entry[];
  readonly #v6: Entry[];
  readonly #geoip: GeoIpSource | null;
  readonly #address = new Uint8Array(16);
  readonly #result: Located = { location: null, scope: 0 };

  private constructor(v4: Entry[], v6: Entry[], geoip: GeoIpSource | null) {
    this.#v4 = v4;
    this.#v6 = v6;
    this.#geoip = geoip;
  }

  /** Build from the config's `locations`; the message names the first bad entry. */
  static build(entries: readonly LocationEntryText[], geoip: GeoIpSource | null = null): ParseResult<LocationTable> {
    const v4: Entry[] = [];
    const v6: Entry[] = [];
    for (const [index, text] of entries.entries()) {
      const cidr = parseCidr(text.cidr);
      if (!cidr.ok) return { ok: false, message: `locations[${index}]: ${cidr.message}`, ...(cidr.suggestion ? { suggestion: cidr.suggestion } : {}) };
      const entry: Entry = { bytes: cidr.value.bytes, prefixLength: cidr.value.prefixLength, place: resolvePlace(text), nested: [] };
      (cidr.value.family === 4 ? v4 : v6).push(entry);
    }
    for (const list of [v4, v6]) {
      list.sort((a, b) => b.prefixLength - a.prefixLength); // stable: equal prefixes keep config order, the first wins
      for (const outer of list) {
        for (const inner of list) {
          if (inner.prefixLength > outer.prefixLength && commonPrefixLength(inner.bytes, outer.bytes, outer.prefixLength) === outer.prefixLength) {
            outer.nested.push(inner);
          }
        }
      }
    }
    return { ok: true, value: new LocationTable(v4, v6, geoip) };
  }

  /** By the address a query came from (rinfo.address or socket.remoteAddress). Unparsable: nowhere, scope 0. */
  locateAddress(address: string): Located {
    const family = parseIpInto(address, this.#address);
    if (family === 0) return this.#set(null, 0);
    return this.#lookup(family, family === 4 ? 32 : 128);
  }

  /**
   * By an ECS option: FAMILY (1 -> 4, 2 -> 6), ADDRESS (the option's bytes, ceil(source/8) of
   * them, read from `offset`) and SOURCE PREFIX-LENGTH. The DNS layer validates the option first
   * (RFC 7871: a bad family or a source longer than the address is FORMERR).
   */
  locateSubnet(family: AddressFamily, bytes: Uint8Array, offset: number, length: number, sourcePrefix: number): Located {
    if (sourcePrefix === 0) return this.#set(null, 0);
    const address = this.#address;
    address.fill(0);
    const size = family === 4 ? 4 : 16;
    for (let i = 0; i < length && i < size; i++) address[i] = bytes[offset + i]!;
    maskBytes(address, sourcePrefix);
    return this.#lookup(family, size * 8);
  }

  #lookup(family: AddressFamily, bits: number): Located {
    const address = this.#address;
    const list = family === 4 ? this.#v4 : this.#v6;
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]!;
      if (commonPrefixLength(address, entry.bytes, entry.prefixLength) === entry.prefixLength) {
        return this.#set(entry.place, excludingScope(address, entry.nested, entry.prefixLength, bits));
      }
    }
    const geo = this.#geoip?.lookup(family, address, bits) ?? null;
    if (geo !== null) return this.#set(geo.place, excludingScope(address, list, geo.prefixLength, bits));
    return this.#set(null, excludingScope(address, list, 0, bits));
  }

  #set(location: Place | null, scope: number): Located {
    this.#result.location = location;
    this.#result.scope = scope;
    return this.#result;
  }
}

/**
 * The shortest prefix length, at least `base`, whose network around `address` contains none of
 * `others` (none of which holds `address`): one bit past the longest prefix shared with any.
 */
function excludingScope(address: Uint8Array, others: readonly Entry[], base: number, bits: number): number {
  let scope = base;
  for (let i = 0; i < others.length; i++) {
    const other = others[i]!;
    const shared = commonPrefixLength(address, other.bytes, other.prefixLength);
    if (shared < other.prefixLength && shared + 1 > scope) scope = shared + 1;
  }
  return Math.min(scope, bits);
}

/** The scope to send: a policy that ignores the client's location gives answers good for everyone (0). */
export function answerScope(policyUsesLocation: boolean, located: Located): number {
  return policyUsesLocation ? located.scope : 0;
}
