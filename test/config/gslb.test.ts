import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatProblems } from '../../src/config/format.ts';
import { loadConfigText } from '../../src/config/load.ts';
import type { ConfigProblem } from '../../src/config/problem.ts';
import type { Config, GslbConfig } from '../../src/config/schema.ts';
import { cityRecord, writeMmdb } from '../helpers/mmdb-writer.ts';

interface Parts {
  records?: string[];
  zone?: string[];
  fqdns?: string[];
  gslb?: string[];
  top?: string[];
}

/** A gslb config; records start at line 8, fqdns follow them. */
function file({ records = [], zone = [], fqdns = [], gslb = [], top = [] }: Parts): string {
  return [
    ...top,
    'gslb:',
    '  listen: [127.0.0.1:5353]',
    '  zones:',
    '    - name: example.com',
    '      nameServers: [ns1.example.net]',
    '      hostmaster: hostmaster@example.com',
    ...zone,
    records.length === 0 ? '      records: []' : '      records:',
    ...records.map((r) => `        - ${r}`),
    fqdns.length === 0 ? '  fqdns: []' : '  fqdns:',
    ...fqdns.map((f) => `    ${f}`),
    ...gslb,
  ].join('\n');
}

/** An FQDN www.example.com with the given site lines (each a flow mapping) and extra keys. */
function fqdn(sites: string[], extra: string[] = []): string[] {
  return ['- name: www.example.com', ...extra.map((l) => `  ${l}`), '  sites:', ...sites.map((s) => `    - ${s}`)];
}

function configOf(text: string): Config {
  const result = loadConfigText(text, 'g.yaml');
  assert.ok(result.ok, result.ok ? '' : formatProblems(result.problems));
  return result.config;
}

function gslbOf(text: string): GslbConfig {
  const gslb = configOf(text).gslb;
  assert.ok(gslb !== undefined);
  return gslb;
}

function problems(text: string): ConfigProblem[] {
  const result = loadConfigText(text, 'g.yaml');
  assert.equal(result.ok, false, 'expected the config to be rejected');
  return result.ok ? [] : result.problems;
}

/** The one problem of `text`: its path and message, and line when given. */
function only(text: string, path: string, message: RegExp, line?: number): ConfigProblem {
  const found = problems(text);
  assert.equal(found.length, 1, formatProblems(found));
  const [problem] = found as [ConfigProblem];
  assert.equal(problem.path, path, formatProblems(found));
  assert.match(problem.message, message);
  if (line !== undefined) assert.equal(problem.line, line, formatProblems(found));
  return problem;
}

describe('gslb: the config as a whole', () => {
  it('needs virtualServices, gslb, or both; an empty file still says so', () => {
    only('workers: 1', '', /^a config needs virtualServices, gslb, or both$/, 1);
    only('virtualServices: []', 'virtualServices', /needs at least 1 entry/);
  });

  it('a host without a port listens on 53; IPv6 too; a repeated address is refused', () => {
    const gslb = gslbOf(file({ gslb: [] }).replace('[127.0.0.1:5353]', '[192.0.2.53, "::1", "[2001:db8::53]:5300"]'));
    assert.deepEqual(gslb.listen, [{ host: '192.0.2.53', port: 53 }, { host: '::1', port: 53 }, { host: '2001:db8::53', port: 5300 }]);
    only(file({}).replace('[127.0.0.1:5353]', '[127.0.0.1:5353, 127.0.0.1:5353]'), 'gslb.listen[1]', /listed twice/, 2);
  });

  it('the DNS listen address conflicts with a udp or tcp virtual service and the admin API (UDP and TCP both), not with another port', () => {
    for (const protocol of ['udp', 'tcp', 'http']) {
      const top = ['virtualServices:', `  - { name: vs, listen: 127.0.0.1:5353, protocol: ${protocol}, realServers: [ { address: 127.0.0.1:9001 } ] }`];
      const problem = only(file({ top }), 'gslb.listen[0]', /the DNS server's 127\.0\.0\.1:5353 \(UDP and TCP\) is also where .* virtual service "vs" listens/, 4);
      assert.equal(problem.related?.path, 'virtualServices[0].listen');
    }
    only(file({ top: ['admin: { listen: 127.0.0.1:5353 }'] }), 'gslb.listen[0]', /admin API/);
    const wildcard = ['virtualServices:', '  - { name: vs, listen: "*:5353", protocol: udp, realServers: [ { address: 127.0.0.1:9001 } ] }'];
    only(file({ top: wildcard }), 'gslb.listen[0]', /overlaps where udp virtual service "vs"/);
    const elsewhere = ['virtualServices:', '  - { name: vs, listen: 127.0.0.1:5354, protocol: udp, realServers: [ { address: 127.0.0.1:9001 } ] }'];
    assert.equal(configOf(file({ top: elsewhere })).virtualServices.length, 1);
  });

  it('unknown keys are refused with a suggestion', () => {
    const found = problems(file({ fqdns: fqdn(['{ name: a, adress: 192.0.2.1 }']) }));
    assert.deepEqual(
      found.map((p) => [p.line, p.path, p.message, p.suggestion]),
      [
        [11, 'gslb.fqdns[0].sites[0].address', 'required key "address" is missing', undefined],
        [11, 'gslb.fqdns[0].sites[0].adress', 'unknown key', 'address'],
      ],
    );
  });
});

describe('gslb: zones', () => {
  it('hostmaster becomes the SOA RNAME, a dot in the mailbox escaped; SOA timers are durations in ms', () => {
    const gslb = gslbOf(file({ zone: ['      hostmaster: john.doe@Example.com', '      soa: { refresh: 2h, minimum: 30s }'] }).replace('      hostmaster: hostmaster@example.com\n', ''));
    assert.deepEqual(gslb.zones[0]?.soa, { mname: 'ns1.example.net', rname: 'john\\.doe.example.com', refresh: 7_200_000, retry: 900_000, expire: 1_209_600_000, minimum: 30_000 });
    const problem = only(file({}).replace('hostmaster@example.com', 'hostmaster.example.com'), 'gslb.zones[0].hostmaster', /not an email address/, 6);
    assert.equal(problem.suggestion, 'hostmaster@example.com');
    only(file({ zone: ['      soa: { retry: 1500ms }'] }), 'gslb.zones[0].soa.retry', /not a whole number of seconds/);
  });

  it('the RNAME must fit 255 bytes on the wire (the local part is one label)', () => {
    const domain = `${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(60)}.example.com`;
    gslbOf(file({}).replace('hostmaster@example.com', `${'l'.repeat(40)}@${domain}`));
    only(file({}).replace('hostmaster@example.com', `${'l'.repeat(63)}@${domain}`), 'gslb.zones[0].hostmaster', /makes an SOA RNAME of 260 bytes; the most a name holds is 255/, 6);
  });

  it('a single-label name server is under the zone and needs an address there', () => {
    const text = file({}).replace('[ns1.example.net]', '[ns1]');
    only(text, 'gslb.zones[0].nameServers[0]', /name server ns1\.example\.com is inside zone example\.com but has no A or AAAA record/, 5);
    const gslb = gslbOf(file({ records: ['{ name: ns1, type: AAAA, value: "2001:DB8:0::53" }'] }).replace('[ns1.example.net]', '[ns1]'));
    assert.deepEqual(gslb.zones[0]?.nameServers, ['ns1.example.com']);
    assert.deepEqual(gslb.zones[0]?.records[0]?.data, { address: '2001:db8::53' });
  });

  it('zone names are unique and not nested', () => {
    const second = ['  zones:', '    - { name: Example.com., nameServers: [ns.example.net], hostmaster: h@example.com }'];
    only(file({}).replace('  zones:\n', `${second.join('\n')}\n`), 'gslb.zones[1].name', /zone example\.com is already defined \(zones\[0\]\)/);
    const nested = ['  zones:', '    - { name: sub.example.com, nameServers: [ns.example.net], hostmaster: h@example.com }'];
    only(file({}).replace('  zones:\n', `${nested.join('\n')}\n`), 'gslb.zones[1].name', /overlaps zone sub\.example\.com/);
  });
});

describe('gslb: records', () => {
  it('parses each type into data, with names made absolute', () => {
    const records = gslbOf(
      file({
        records: [
          '{ name: "@", type: MX, value: "10 mail" }',
          '{ name: _sip._udp, type: SRV, value: "0 5 5060 sip.example.net." }',
          '{ name: "@", type: CAA, value: "0 issue \\"letsencrypt.org\\"" }',
          '{ name: old.example.com., type: CNAME, value: "@", ttl: 60 }',
          '{ name: sub, type: NS, value: ns.elsewhere.net. }',
          '{ name: "@", type: TXT, value: "\\"first\\" \\"second \\\\\\"quoted\\\\\\"\\"" }',
          '{ name: 1.2.0.192.in-addr, type: PTR, value: host.example.net. }',
        ],
      }),
    ).zones[0]?.records;
    assert.deepEqual(
      records?.map((r) => [r.name, r.type, r.ttl, r.data]),
      [
        ['example.com', 'MX', 300, { preference: 10, exchange: 'mail.example.com' }],
        ['_sip._udp.example.com', 'SRV', 300, { priority: 0, weight: 5, port: 5060, target: 'sip.example.net' }],
        ['example.com', 'CAA', 300, { flags: 0, tag: 'issue', value: 'letsencrypt.org' }],
        ['old.example.com', 'CNAME', 60, { target: 'example.com' }],
        ['sub.example.com', 'NS', 300, { host: 'ns.elsewhere.net' }],
        ['example.com', 'TXT', 300, { strings: ['first', 'second "quoted"'] }],
        ['1.2.0.192.in-addr.example.com', 'PTR', 300, { target: 'host.example.net' }],
      ],
    );
  });

  it('a long TXT value is split into strings of at most 255 bytes, on character boundaries', () => {
    const long = `v=DKIM1; p=${'A'.repeat(300)}é${'B'.repeat(300)}`;
    const data = gslbOf(file({ records: [`{ name: k._domainkey, type: TXT, value: "${long}" }`] })).zones[0]?.records[0]?.data;
    assert.ok(data !== undefined && 'strings' in data);
    assert.equal(data.strings.join(''), long);
    assert.ok(data.strings.length === 3 && data.strings.every((s) => Buffer.byteLength(s) <= 255), JSON.stringify(data.strings.map((s) => Buffer.byteLength(s))));
  });

  it('a value that does not fit its type is an error at the value, saying why', () => {
    const cases: Array<[string, RegExp]> = [
      ['{ name: a, type: A, value: "2001:db8::1" }', /is an IPv6 address; an A record holds IPv4, use type AAAA/],
      ['{ name: a, type: A, value: 192.0.2.300 }', /is not an IPv4 address/],
      ['{ name: a, type: AAAA, value: 192.0.2.1 }', /is an IPv4 address; an AAAA record holds IPv6, use type A/],
      ['{ name: "@", type: MX, value: mail.example.com. }', /is not an MX value; write PREFERENCE NAME/],
      ['{ name: "@", type: MX, value: "70000 mail" }', /preference "70000" is not a number 0\.\.65535/],
      ['{ name: s, type: SRV, value: "0 5 sip.example.com." }', /is not an SRV value; write PRIORITY WEIGHT PORT TARGET/],
      ['{ name: c, type: CNAME, value: "a b" }', /a CNAME record holds one domain name/],
      ['{ name: c, type: CNAME, value: "bad..name." }', /is not a domain name/],
      ['{ name: t, type: TXT, value: "\\"open" }', /mixes quoted and unquoted text/],
    ];
    for (const [record, message] of cases) only(file({ records: [record] }), 'gslb.zones[0].records[0].value', message, 8);
  });

  it('CAA: one quoted value with \" escapes, or plain text to the end; the tag in lower case', () => {
    const records = gslbOf(
      file({
        records: [
          String.raw`{ name: "@", type: CAA, value: '128 ISSUE "ca.example.net; account=\"42\""' }`,
          '{ name: "@", type: CAA, value: "0 iodef mailto:security@example.com" }',
          `{ name: "@", type: CAA, value: '0 issuewild ";"' }`,
        ],
      }),
    ).zones[0]?.records;
    assert.deepEqual(records?.map((r) => r.data), [
      { flags: 128, tag: 'issue', value: 'ca.example.net; account="42"' },
      { flags: 0, tag: 'iodef', value: 'mailto:security@example.com' },
      { flags: 0, tag: 'issuewild', value: ';' },
    ]);
  });

  it('TXT and CAA escapes: \\DDD is a byte, the bytes must be UTF-8; bad values are errors at the value', () => {
    const records = gslbOf(file({ records: [String.raw`{ name: t, type: TXT, value: '"a\059b" "caf\195\169" "\\\""' }`] })).zones[0]?.records;
    assert.deepEqual(records?.[0]?.data, { strings: ['a;b', 'café', '\\"'] });
    const cases: Array<[string, RegExp]> = [
      [String.raw`{ name: t, type: TXT, value: '"a\05b"' }`, /"\\05" is not an escape; write a byte as three decimal digits/],
      [String.raw`{ name: t, type: TXT, value: '"a\300"' }`, /"\\300" is not an escape/],
      [String.raw`{ name: t, type: TXT, value: '"\255\000"' }`, /are not UTF-8; values are sent as UTF-8 text/],
      [`{ name: "@", type: CAA, value: '0 issue "a" "b"' }`, /is not one quoted string/],
      [`{ name: "@", type: CAA, value: '256 issue "ca.example.net"' }`, /CAA flags 256 is above 255/],
      [`{ name: "@", type: CAA, value: '0 is-sue "ca.example.net"' }`, /is not a CAA value; write FLAGS TAG VALUE/],
      [`{ name: "@", type: CAA, value: "0 issue ${'x'.repeat(65_530)}" }`, /the CAA value is 65537 bytes on the wire; the most a record holds is 65535/],
    ];
    for (const [record, message] of cases) only(file({ records: [record] }), 'gslb.zones[0].records[0].value', message, 8);
  });

  it('an RRset must fit one DNS message: 61,000 bytes at most, records together', () => {
    const txt = (n: number): string => `{ name: big, type: TXT, value: "${'x'.repeat(n)}" }`;
    gslbOf(file({ records: [txt(60_700)] }));
    only(file({ records: [txt(35_000), `{ name: big, type: TXT, value: "${'y'.repeat(30_000)}" }`] }), 'gslb.zones[0].records[1].value', /the TXT records of big\.example\.com take 65\d+ bytes with this one; an answer must fit one DNS message, so an RRset holds at most 61000/, 9);
  });

  it('a relative name that repeats the zone is refused with both fixes', () => {
    const problem = only(file({ records: ['{ name: www.example.com, type: A, value: 192.0.2.1 }'] }), 'gslb.zones[0].records[0].name', /has no final dot, so it is relative to the zone and would mean www\.example\.com\.example\.com; write "www" or "www\.example\.com\."/, 8);
    assert.equal(problem.suggestion, 'www.example.com.');
    only(file({ records: ['{ name: "@", type: MX, value: "10 mail.example.com" }'] }), 'gslb.zones[0].records[0].value', /would mean mail\.example\.com\.example\.com/);
  });

  it('names must be inside the zone; SOA is not a record type here', () => {
    only(file({ records: ['{ name: www.other.org., type: A, value: 192.0.2.1 }'] }), 'gslb.zones[0].records[0].name', /www\.other\.org is outside zone example\.com/);
    const problem = only(file({ records: ['{ name: "@", type: SOA, value: x }'] }), 'gslb.zones[0].records[0].type', /"SOA" is not a record type/);
    assert.match(problem.allowed ?? '', /A, AAAA, CNAME, NS, MX, TXT, SRV/);
  });

  it('CNAME: not at the apex, and alone at its name (RFC 1034 3.6.2)', () => {
    only(file({ records: ['{ name: "@", type: CNAME, value: www.example.net. }'] }), 'gslb.zones[0].records[0].type', /a CNAME cannot be at the zone apex/);
    const both = ['{ name: ftp, type: A, value: 192.0.2.1 }', '{ name: ftp, type: CNAME, value: www }'];
    only(file({ records: both }), 'gslb.zones[0].records[1].name', /ftp\.example\.com already has a A record \(records\[0\]\); a name with a CNAME can hold no other record/, 9);
    const twice = ['{ name: ftp, type: CNAME, value: www }', '{ name: ftp, type: TXT, value: hello }'];
    only(file({ records: twice }), 'gslb.zones[0].records[1].name', /already has a CNAME record/);
  });

  it('duplicates, apex NS and data below a delegation are refused', () => {
    const dup = ['{ name: mail, type: A, value: 192.0.2.25 }', '{ name: MAIL.example.com., type: A, value: 192.0.2.25, ttl: 5 }'];
    only(file({ records: dup }), 'gslb.zones[0].records[1]', /repeats records\[0\]/, 9);
    only(file({ records: ['{ name: "@", type: NS, value: ns2.example.net. }'] }), 'gslb.zones[0].records[0].type', /come from nameServers/);
    const below = ['{ name: sub, type: NS, value: ns.elsewhere.net. }', '{ name: www.sub, type: TXT, value: hi }', '{ name: ns.sub, type: A, value: 192.0.2.9 }'];
    only(file({ records: below }), 'gslb.zones[0].records[1].name', /www\.sub\.example\.com is below sub\.example\.com, which NS records delegate/);
  });
});

describe('gslb: fqdns', () => {
  const site = '{ name: a, address: 192.0.2.10 }';

  it('defaults: ttl 20, fixed-weight, no delay, automatic recovery, whenAllDown all, weight 100, check none', () => {
    const [f] = gslbOf(file({ fqdns: fqdn([site]) })).fqdns;
    assert.deepEqual([f?.ttl, f?.selection, f?.siteFailure, f?.whenAllDown], [20, 'fixed-weight', { delay: 0, recovery: 'automatic' }, { answer: 'all' }]);
    assert.deepEqual([f?.sites[0]?.weight, f?.sites[0]?.check.type, f?.sites[0]?.check.target, f?.sites[0]?.location.country], [100, 'none', null, null]);
  });

  it('a site may hold several addresses, IPv4 and IPv6, canonical; duplicates are refused', () => {
    const [f] = gslbOf(file({ fqdns: fqdn(['{ name: a, address: [192.0.2.10, "2001:DB8::0:10"] }', '{ name: b, address: "2001:db8::20" }']) })).fqdns;
    assert.deepEqual(f?.sites.map((s) => s.addresses), [['192.0.2.10', '2001:db8::10'], ['2001:db8::20']]);
    only(file({ fqdns: fqdn(['{ name: a, address: [192.0.2.10, 192.0.2.10] }']) }), 'gslb.fqdns[0].sites[0].address[1]', /listed twice/);
    only(file({ fqdns: fqdn([site, '{ name: b, address: 192.0.2.10 }']) }), 'gslb.fqdns[0].sites[1].address', /also an address of site "a"/);
    const port = only(file({ fqdns: fqdn(['{ name: a, address: "192.0.2.10:80" }']) }), 'gslb.fqdns[0].sites[0].address', /addresses, not ports/);
    assert.equal(port.suggestion, '192.0.2.10');
    only(file({ fqdns: fqdn(['{ name: a, address: www.example.net }']) }), 'gslb.fqdns[0].sites[0].address', /is not an IP address/);
  });

  it('whenAllDown: all, none, an address or a list', () => {
    const whenAllDown = (value: string) => gslbOf(file({ fqdns: fqdn([site], [`whenAllDown: ${value}`]) })).fqdns[0]?.whenAllDown;
    assert.deepEqual(whenAllDown('none'), { answer: 'none' });
    assert.deepEqual(whenAllDown('192.0.2.99'), { answer: 'addresses', addresses: ['192.0.2.99'] });
    assert.deepEqual(whenAllDown('[192.0.2.99, "2001:db8::99"]'), { answer: 'addresses', addresses: ['192.0.2.99', '2001:db8::99'] });
    only(file({ fqdns: fqdn([site], ['whenAllDown: some']) }), 'gslb.fqdns[0].whenAllDown', /"some" is not all, none or an IP address/);
  });

  it('must be inside a zone, once, and not clash with A, AAAA, CNAME or NS records (MX and TXT may stay)', () => {
    only(file({ fqdns: ['- name: www.example.org', '  sites: [ { name: a, address: 192.0.2.1 } ]'] }), 'gslb.fqdns[0].name', /www\.example\.org is in none of the zones \(example\.com\)/, 9);
    const twice = [...fqdn([site]), ...fqdn([site]).map((l) => l.replace('www.example.com', 'WWW.example.com.'))];
    only(file({ fqdns: twice }), 'gslb.fqdns[1].name', /FQDN www\.example\.com is already defined \(fqdns\[0\]\)/);
    for (const type of ['A', 'CNAME']) {
      const value = type === 'A' ? '192.0.2.1' : 'other.example.net.';
      only(file({ records: [`{ name: www, type: ${type}, value: ${value} }`], fqdns: fqdn([site]) }), 'gslb.fqdns[0].name', new RegExp(`also a ${type} record of zone example\\.com \\(zones\\[0\\]\\.records\\[0\\]\\)`));
    }
    const coexist = gslbOf(file({ records: ['{ name: www, type: MX, value: "10 mail" }', '{ name: www, type: TXT, value: hi }'], fqdns: fqdn([site]) }));
    assert.equal(coexist.fqdns.length, 1);
    only(file({ records: ['{ name: sub, type: NS, value: ns.x.net. }'], fqdns: fqdn([site]).map((l) => l.replace('www.example.com', 'www.sub.example.com')) }), 'gslb.fqdns[0].name', /below sub\.example\.com/);
  });

  it('site names are unique within an FQDN', () => {
    only(file({ fqdns: fqdn([site, '{ name: a, address: 192.0.2.11 }']) }), 'gslb.fqdns[0].sites[1].name', /site name "a" is already used by sites\[0\]/);
  });

  it('proximity needs lat and lon on every site (an error, not a silent fallback)', () => {
    const sites = ['{ name: a, address: 192.0.2.1, location: { lat: 50, lon: 4 } }', '{ name: b, address: 192.0.2.2, location: { country: NL } }'];
    only(file({ fqdns: fqdn(sites, ['selection: proximity']) }), 'gslb.fqdns[0].sites[1].location', /selection proximity needs every site's position: give site "b" location lat and lon/);
    assert.equal(gslbOf(file({ fqdns: fqdn([sites[0]!], ['selection: proximity']) })).fqdns[0]?.selection, 'proximity');
  });

  it('location needs a location on at least one site', () => {
    only(file({ fqdns: fqdn([site], ['selection: location']) }), 'gslb.fqdns[0].selection', /selection location needs a location/);
  });

  it('an unknown selection suggests the right one', () => {
    const problem = only(file({ fqdns: fqdn([site], ['selection: fixed-weigth']) }), 'gslb.fqdns[0].selection', /is not a selection method/);
    assert.equal(problem.suggestion, 'fixed-weight');
  });
});

describe('gslb: site locations', () => {
  const withLocation = (location: string) => file({ fqdns: fqdn([`{ name: a, address: 192.0.2.1, location: ${location} }`]) });

  it('a country implies its continent; an explicit continent wins', () => {
    assert.deepEqual(gslbOf(withLocation('{ country: JP }')).fqdns[0]?.sites[0]?.location, { country: 'JP', continent: 'AS', lat: null, lon: null });
    assert.deepEqual(gslbOf(withLocation('{ country: TR, continent: EU }')).fqdns[0]?.sites[0]?.location.continent, 'EU');
  });

  it('country codes are ISO 3166 upper case; continents the seven codes; lat and lon in range and together', () => {
    assert.equal(only(withLocation('{ country: be }'), 'gslb.fqdns[0].sites[0].location.country', /upper case/).suggestion, 'BE');
    assert.equal(only(withLocation('{ country: UK }'), 'gslb.fqdns[0].sites[0].location.country', /not an ISO 3166 country code/).suggestion, 'GB');
    const continent = only(withLocation('{ continent: EUR }'), 'gslb.fqdns[0].sites[0].location.continent', /is not a continent code/);
    assert.match(continent.allowed ?? '', /AF, AN, AS, EU, NA, OC, SA/);
    only(withLocation('{ lat: 91, lon: 0 }'), 'gslb.fqdns[0].sites[0].location.lat', /the maximum is 90/);
    only(withLocation('{ lat: 50 }'), 'gslb.fqdns[0].sites[0].location.lat', /needs both lat and lon; add lon/);
  });
});

describe('gslb: site checks', () => {
  const withCheck = (check: string) => file({ fqdns: fqdn([`{ name: a, address: 192.0.2.1, check: ${check} }`]) });
  const checkOf = (check: string) => gslbOf(withCheck(check)).fqdns[0]?.sites[0]?.check;
  const at = 'gslb.fqdns[0].sites[0].check';

  it('timeout defaults to 2s or half a shorter interval; equal to interval is allowed, longer is not', () => {
    assert.deepEqual([checkOf('{ type: tcp, target: 10.0.0.1:80, interval: 3s }')?.timeout], [1500]);
    assert.deepEqual([checkOf('{ type: tcp, target: 10.0.0.1:80, interval: 1s, timeout: 1s }')?.timeout], [1000]);
    only(withCheck('{ type: tcp, target: 10.0.0.1:80, interval: 1s, timeout: 2s }'), `${at}.timeout`, /timeout 2s is longer than interval 1s/);
  });

  it('keys of another type are refused, naming the types that use them', () => {
    only(withCheck('{ type: tcp, target: 10.0.0.1:80, path: /health }'), `${at}.path`, /path applies to http and https checks only, and this check is type tcp/);
    only(withCheck('{ type: http, target: 10.0.0.1:80, tls: { verify: true } }'), `${at}.tls`, /tls applies to https checks only/);
    only(withCheck('{ type: http, target: 10.0.0.1:80, minUp: 2 }'), `${at}.minUp`, /minUp applies to fulcrum checks only/);
    only(withCheck('{ type: none, target: 10.0.0.1:80 }'), `${at}.target`, /target applies to icmp and tcp and http and https and fulcrum checks only/);
  });

  it('target is required unless none, icmp takes a host alone, the others a port', () => {
    only(withCheck('{ type: tcp }'), `${at}.target`, /^required key "target" is missing$/);
    assert.deepEqual(checkOf('{ type: icmp, target: 10.0.0.1 }')?.target, { host: '10.0.0.1', port: 0 });
    assert.deepEqual(checkOf('{ type: icmp, target: "2001:db8::1" }')?.target, { host: '2001:db8::1', port: 0 });
    only(withCheck('{ type: icmp, target: 10.0.0.1:80 }'), `${at}.target`, /an icmp check goes to a host, without a port/);
    only(withCheck('{ type: http, target: 10.0.0.1 }'), `${at}.target`, /needs a port in its target/);
  });

  it('fulcrum needs virtualService; minUp defaults to 1', () => {
    only(withCheck('{ type: fulcrum, target: 10.0.0.1:9090 }'), `${at}.virtualService`, /^required key "virtualService" is missing$/);
    assert.deepEqual(checkOf('{ type: fulcrum, target: 10.0.0.1:9090, virtualService: web, minUp: 2 }')?.fulcrum, { virtualService: 'web', minUp: 2 });
  });

  it('http keys parse as for real servers', () => {
    const check = checkOf('{ type: https, target: "[2001:db8::1]:443", method: HEAD, httpVersion: 1.0, expectStatus: [200, "300-302"], tls: { verify: true } }');
    assert.deepEqual([check?.method, check?.httpVersion, check?.expectStatus, check?.tls, check?.target], ['HEAD', '1.0', [[200, 200], [300, 302]], { verify: true }, { host: '2001:db8::1', port: 443 }]);
    only(withCheck('{ type: http, target: 10.0.0.1:80, expectStatus: [2xx] }'), `${at}.expectStatus[0]`, /not a status code or range/);
    only(withCheck('{ type: ping, target: 10.0.0.1 }'), `${at}.type`, /is not a site check type/);
  });
});

describe('gslb: client locations and GeoIP', () => {
  const withLocations = (lines: string[]) => file({ gslb: ['  locations:', ...lines.map((l) => `    - ${l}`)] });

  it('networks are IPv4 or IPv6 with host bits zero, and need a place', () => {
    const gslb = gslbOf(withLocations(['{ cidr: "2001:DB8:1::/48", continent: EU }', '{ cidr: 10.0.0.0/8, lat: 1, lon: 2 }']));
    assert.deepEqual(gslb.locations.map((l) => [l.cidr, l.continent]), [[{ family: 6, address: '2001:db8:1::', prefixLength: 48 }, 'EU'], [{ family: 4, address: '10.0.0.0', prefixLength: 8 }, null]]);
    const bits = only(withLocations(['{ cidr: 10.1.2.3/16, country: BE }']), 'gslb.locations[0].cidr', /has host bits set; the network is 10\.1\.0\.0\/16/);
    assert.equal(bits.suggestion, '10.1.0.0/16');
    assert.equal(only(withLocations(['{ cidr: "2001:db8::1/32", country: BE }']), 'gslb.locations[0].cidr', /host bits/).suggestion, '2001:db8::/32');
    only(withLocations(['{ cidr: 10.0.0.0/33, country: BE }']), 'gslb.locations[0].cidr', /longer than an IPv4 address/);
    only(withLocations(['{ cidr: 10.0.0.0/8 }']), 'gslb.locations[0].cidr', /has no place; give it a country, continent, or lat and lon/);
  });

  it('geoipDatabase: null, or an existing .mmdb file (checked at load)', async () => {
    only(file({ gslb: ['  geoipDatabase: /nonexistent/GeoLite2-City.mmdb'] }), 'gslb.geoipDatabase', /cannot read the GeoIP database \/nonexistent\/GeoLite2-City\.mmdb: no such file/);
    only(file({ gslb: ['  geoipDatabase: /etc/hostname'] }), 'gslb.geoipDatabase', /is not a \.mmdb file/);
    const dir = await mkdtemp(join(tmpdir(), 'fulcrum-geoip-'));
    try {
      const path = join(dir, 'test.mmdb');
      await writeFile(path, writeMmdb([{ cidr: '10.0.0.0/8', data: cityRecord({ country: 'BE' }) }], { ipVersion: 6 }));
      assert.equal(gslbOf(file({ gslb: [`  geoipDatabase: ${path}`] })).geoipDatabase, path);
      // A file that is not a MaxMind DB is refused at load, at the key's line, naming the file.
      const bad = join(dir, 'bad.mmdb');
      await writeFile(bad, 'not really a database');
      only(file({ gslb: [`  geoipDatabase: ${bad}`] }), 'gslb.geoipDatabase', new RegExp(`${bad.replaceAll('.', '\\.')} is not a usable MaxMind DB file: no MaxMind DB metadata`), 9);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
