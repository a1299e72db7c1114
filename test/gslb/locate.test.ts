import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { continentOf } from '../../src/gslb/continents.ts';
import { commonPrefixLength, formatBytes, parseCidr, parseIpInto } from '../../src/ip/bytes.ts';
import { answerScope, LocationTable, type LocationEntryText } from '../../src/gslb/locate.ts';
import { distanceKm, resolvePlace } from '../../src/gslb/place.ts';
import type { GeoIpSource } from '../../src/gslb/types.ts';

const SAMPLE: LocationEntryText[] = [
  { cidr: '10.1.0.0/16', country: 'BE', lat: 50.85, lon: 4.35 },
  { cidr: '10.2.0.0/16', country: 'US', continent: 'NA', lat: 40.7, lon: -74.0 },
];

function table(entries: LocationEntryText[], geoip: GeoIpSource | null = null): LocationTable {
  const built = LocationTable.build(entries, geoip);
  assert.ok(built.ok, built.ok ? '' : built.message);
  return built.value;
}

/** The ECS form of a subnet: the address's first ceil(prefix/8) bytes. */
function ecs(t: LocationTable, address: string, sourcePrefix: number) {
  const bytes = new Uint8Array(16);
  const family = parseIpInto(address, bytes);
  assert.ok(family !== 0);
  const { location, scope } = t.locateSubnet(family, bytes, 0, Math.ceil(sourcePrefix / 8), sourcePrefix);
  return { country: location?.country ?? null, scope };
}

function at(t: LocationTable, address: string) {
  const { location, scope } = t.locateAddress(address);
  return { country: location?.country ?? null, continent: location?.continent ?? null, scope };
}

describe('GSLB client location', () => {
  it('the issue\'s table: 10.1/16 is BE (continent EU derived), 10.2/16 is US/NA, both with the entry\'s prefix as scope', () => {
    const t = table(SAMPLE);
    assert.deepEqual(at(t, '10.1.2.3'), { country: 'BE', continent: 'EU', scope: 16 });
    assert.deepEqual(at(t, '10.2.200.1'), { country: 'US', continent: 'NA', scope: 16 });
    const place = t.locateAddress('10.1.9.9').location!;
    assert.equal(place.lat, 50.85);
    assert.equal(t.locateAddress('10.1.0.1').location, place); // interned: selectors memoise by it
  });

  it('an IPv4-mapped IPv6 client (dual-stack socket) is looked up as IPv4', () => {
    assert.deepEqual(at(table(SAMPLE), '::ffff:10.1.2.3'), { country: 'BE', continent: 'EU', scope: 16 });
  });

  it('no match: nowhere, with the shortest scope that leaves out every entry (0 for an empty table)', () => {
    const t = table(SAMPLE);
    // 10.0.0.0/15 holds 10.0/16 and 10.1/16 apart: 10.0.x shares 15 bits with 10.1.0.0, so scope 16.
    assert.deepEqual(at(t, '10.0.0.1'), { country: null, continent: null, scope: 16 });
    // 192.0.2.1 shares no leading bit with 10/8 (0000 1010 vs 1100 0000): scope 1.
    assert.deepEqual(at(t, '192.0.2.1'), { country: null, continent: null, scope: 1 });
    assert.deepEqual(at(table([]), '192.0.2.1'), { country: null, continent: null, scope: 0 });
    assert.deepEqual(at(t, '2001:db8::1'), { country: null, continent: null, scope: 0 }); // no IPv6 entries
    assert.deepEqual(at(t, 'not an address'), { country: null, continent: null, scope: 0 });
  });

  it('longest prefix wins, and a nested entry lengthens the outer entry\'s scope (RFC 7871 7.2.1: deaggregate)', () => {
    const t = table([
      { cidr: '10.0.0.0/8', country: 'NL' },
      { cidr: '10.1.5.0/24', country: 'DE' },
      { cidr: '10.1.0.0/16', country: 'BE' },
    ]);
    assert.deepEqual(at(t, '10.1.5.7'), { country: 'DE', continent: 'EU', scope: 24 });
    // In 10.1/16 but outside 10.1.5/24: the /16 answer holds for the largest block around it that avoids 10.1.5/24.
    assert.equal(at(t, '10.1.200.1').country, 'BE');
    assert.equal(at(t, '10.1.200.1').scope, 17);
    assert.equal(at(t, '10.1.4.1').scope, 24); // 10.1.4.0/24 is the largest block around it without 10.1.5/24
    assert.deepEqual(at(t, '10.9.0.1'), { country: 'NL', continent: 'EU', scope: 13 }); // 10.8/13 avoids 10.1/16
    assert.deepEqual(at(t, '10.200.0.1'), { country: 'NL', continent: 'EU', scope: 9 });
  });

  it('IPv6 entries, longest prefix first', () => {
    const t = table([
      { cidr: '2001:db8::/32', country: 'BE' },
      { cidr: '2001:db8:aa::/48', continent: 'NA' },
    ]);
    assert.deepEqual(at(t, '2001:db8:aa::5'), { country: null, continent: 'NA', scope: 48 });
    assert.deepEqual(at(t, '2001:db8:ff00::1'), { country: 'BE', continent: 'EU', scope: 33 });
    assert.deepEqual(at(t, '2001:DB8:0:0:1::1%eth0'), { country: 'BE', continent: 'EU', scope: 41 });
  });

  it('ECS: the subnet, with host bits past the source prefix ignored; scope from the table, never from the source', () => {
    const t = table(SAMPLE);
    assert.deepEqual(ecs(t, '10.1.2.0', 24), { country: 'BE', scope: 16 }); // source /24 more than needed: scope /16
    assert.deepEqual(ecs(t, '10.1.0.0', 8), { country: null, scope: 16 }); // 10.0.0.0/8 as sent: the /8 network address, in neither entry, but /16 would tell
    assert.deepEqual(ecs(t, '10.2.0.0', 16), { country: 'US', scope: 16 });
    assert.deepEqual(ecs(t, '10.1.2.0', 0), { country: null, scope: 0 }); // source 0: the resolver asks for an untailored answer
  });

  it('ECS with a source shorter than an entry: scope longer than source ("not specific enough")', () => {
    const t = table([{ cidr: '10.1.5.0/24', country: 'DE' }]);
    const bytes = Uint8Array.of(10, 1, 5, 99);
    // Source /20: the resolver sends 10.1.0.0/20; the zero-extended address is outside 10.1.5.0/24.
    const located = t.locateSubnet(4, bytes, 0, 3, 20);
    assert.equal(located.location, null);
    assert.equal(located.scope, 22); // 10.1.0.0/22 avoids 10.1.5.0/24: more bits than the source
  });

  it('ECS over IPv6 with an offset into the packet', () => {
    const t = table([{ cidr: '2001:db8:aa::/48', country: 'US' }]);
    const packet = Uint8Array.of(0xff, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0xaa, 0x12);
    assert.deepEqual(
      { country: t.locateSubnet(6, packet, 2, 7, 56).location?.country, scope: t.locateSubnet(6, packet, 2, 7, 56).scope },
      { country: 'US', scope: 48 },
    );
  });

  it('GeoIP is asked only when no entry matches; its network prefix is the scope, lengthened around table entries', () => {
    const asked: number[] = [];
    const jp = resolvePlace({ country: 'JP' });
    const geoip: GeoIpSource = {
      lookup(family, bytes) {
        asked.push(bytes[0]!);
        return family === 4 && bytes[0] === 10 ? { place: jp, prefixLength: 8 } : null;
      },
    };
    const t = table(SAMPLE, geoip);
    assert.equal(at(t, '10.1.0.1').country, 'BE');
    assert.deepEqual(asked, []);
    assert.deepEqual(at(t, '10.7.0.1'), { country: 'JP', continent: 'AS', scope: 14 }); // 10.4/14 avoids 10.0/15's entries
    assert.deepEqual(at(t, '11.0.0.1'), { country: null, continent: null, scope: 8 }); // 11/8 avoids 10/8's entries
  });

  it('answerScope: 0 for policies that ignore location', () => {
    assert.equal(answerScope(false, { location: null, scope: 16 }), 0);
    assert.equal(answerScope(true, { location: null, scope: 16 }), 16);
  });

  it('rejects a CIDR with host bits set, with the network as a suggestion', () => {
    const built = LocationTable.build([{ cidr: '10.1.2.3/16', country: 'BE' }]);
    assert.equal(built.ok, false);
    assert.equal(built.ok ? '' : built.suggestion, '10.1.0.0/16');
    assert.equal(parseCidr('2001:db8::1/32').ok, false);
    assert.equal(parseCidr('10.0.0.0/33').ok, false);
    assert.equal(parseCidr('300.0.0.0/8').ok, false);
  });
});

describe('GSLB address bytes', () => {
  const parse = (text: string) => {
    const out = new Uint8Array(16);
    const family = parseIpInto(text, out);
    return family === 0 ? null : [family, Array.from(out.subarray(0, family === 4 ? 4 : 16))];
  };

  it('parses IPv4 and IPv6 like node:net, and rejects what it rejects', () => {
    assert.deepEqual(parse('192.0.2.1'), [4, [192, 0, 2, 1]]);
    assert.deepEqual(parse('::'), [6, Array(16).fill(0)]);
    assert.deepEqual(parse('::1'), [6, [...Array(15).fill(0), 1]]);
    assert.deepEqual(parse('2001:db8::'), [6, [0x20, 0x01, 0x0d, 0xb8, ...Array(12).fill(0)]]);
    assert.deepEqual(parse('1:2:3:4:5:6:7:8'), [6, [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]]);
    assert.deepEqual(parse('1::7:8'), [6, [0, 1, ...Array(10).fill(0), 0, 7, 0, 8]]);
    assert.deepEqual(parse('64:ff9b::192.0.2.1'), [6, [0, 0x64, 0xff, 0x9b, ...Array(8).fill(0), 192, 0, 2, 1]]);
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1::2::3', ':1::', '1:', '1:2:3:4:5:6:7:8:9', '12345::', 'g::', '1:2:3:4:5:6:7::8:9', 'a.b.c.d', '01.2.3.4', '::ffff:1.2.3.04']) {
      assert.equal(parse(bad), null, bad);
    }
  });

  it('agrees with node:net and URL on generated addresses and strings', () => {
    const out = new Uint8Array(16);
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        const family = parseIpInto(text, out);
        const canonical = isIP(text) === 4 ? text : new URL(`http://[${text}]/`).hostname.slice(1, -1);
        const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(canonical) ?? /^::ffff:([0-9a-f]+:[0-9a-f]+)$/.exec(canonical);
        if (mapped !== null) return family === 4;
        return family !== 0 && family === isIP(text) && formatBytes(family, out) === canonical;
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789abcdef:.'), maxLength: 45 }), (text) => (parseIpInto(text, out) === 0) === (isIP(text) === 0)),
      { numRuns: 5000 },
    );
  });

  it('commonPrefixLength counts shared leading bits', () => {
    assert.equal(commonPrefixLength(Uint8Array.of(10, 1, 0, 0), Uint8Array.of(10, 0, 0, 0), 32), 15);
    assert.equal(commonPrefixLength(Uint8Array.of(10, 1, 0, 0), Uint8Array.of(10, 1, 0, 0), 16), 16);
  });
});

describe('GSLB places', () => {
  it('maps countries to the seven continents', () => {
    assert.deepEqual(['BE', 'us', 'BR', 'JP', 'AU', 'ZA', 'AQ', 'RU', 'TR', 'XX'].map(continentOf), ['EU', 'NA', 'SA', 'AS', 'OC', 'AF', 'AN', 'EU', 'AS', null]);
  });

  it('great-circle distances: Brussels to Ghent ~49 km, to Amsterdam ~173 km', () => {
    assert.ok(Math.abs(distanceKm(50.85, 4.35, 51.05, 3.72) - 49) < 3);
    assert.ok(Math.abs(distanceKm(50.85, 4.35, 52.37, 4.9) - 173) < 3);
  });
});
