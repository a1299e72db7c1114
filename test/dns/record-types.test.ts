/**
 * Every record type the zone config accepts, from config text through the answer engine to the
 * wire, read back with dns-packet: A, AAAA, CNAME, NS (a delegation), MX, TXT (quoted, escaped,
 * UTF-8, and over 255 bytes), SRV, CAA, PTR, and the SOA with an escaped RNAME.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode, type Answer, type DecodedPacket } from 'dns-packet';
import { ParsedQuery, parseQuery, udpLimit } from '../../src/dns/query.ts';
import { MAX_CHAIN } from '../../src/dns/resolve.ts';
import { MAX_MESSAGE_SIZE } from '../../src/dns/types.ts';
import { buildEngine, loadGslb } from './authority-fixture.ts';
import { headerText, packetQuery } from './helpers.ts';

const DKIM_KEY = 'A'.repeat(200) + 'é' + 'B'.repeat(200);

// YAML single quotes keep backslashes as written, so the TXT escapes reach the zone-file parser.
const CONFIG = String.raw`
gslb:
  listen: [127.0.0.1:5353]
  zones:
    - name: example.com
      nameServers: [ns1.example.com]
      hostmaster: john.doe@example.com
      records:
        - { name: "@", type: CAA, value: '0 issue "letsencrypt.org"' }
        - { name: "@", type: CAA, value: '128 iodef "mailto:security@example.com"' }
        - { name: "@", type: MX, value: "10 mail.example.net." }
        - { name: "@", type: TXT, value: "v=spf1 mx -all" }
        - { name: ns1, type: A, value: 192.0.2.53 }
        - { name: www, type: A, value: 192.0.2.10 }
        - { name: www, type: AAAA, value: "2001:db8::10" }
        - { name: ftp, type: CNAME, value: www }
        - { name: k._domainkey, type: TXT, value: "v=DKIM1; k=rsa; p=${DKIM_KEY}" }
        - { name: quoted, type: TXT, value: '"say \"hi\"; ok" "a\059b" "caf\195\169" "naïve €" ""' }
        - { name: _sip._udp, type: SRV, value: "0 5 5060 sip.example.net." }
        - { name: sub, type: NS, value: ns.sub.example.com. }
        - { name: ns.sub, type: A, value: 192.0.2.99 }
    - name: 2.0.192.in-addr.arpa
      nameServers: [ns1.example.com]
      hostmaster: hostmaster@example.com
      records:
        - { name: "10", type: PTR, value: www.example.com. }
  fqdns: []
`;

const { engine } = buildEngine(loadGslb(CONFIG), 2026010101);
const parsed = new ParsedQuery();

function ask(name: string, type: string): { packet: DecodedPacket; wire: Buffer } {
  const message = packetQuery(name, { type });
  const verdict = parseQuery(message, parsed);
  const length = engine.answer(parsed, message, verdict, '192.0.2.200', udpLimit(parsed));
  const wire = Buffer.from(engine.buf.subarray(0, length));
  const packet = decode(wire);
  assert.equal(packet.flag_tc, false, `${name} ${type} fits 512 bytes`);
  return { packet, wire };
}

function records(list: readonly Answer[] | undefined): unknown[] {
  return (list ?? []).map((r) => ({ name: r.name, type: r.type, ttl: 'ttl' in r ? r.ttl : undefined, data: 'data' in r ? r.data : undefined }));
}

function answers(name: string, type: string): unknown[] {
  const { packet } = ask(name, type);
  assert.equal(headerText(packet).rcode, 'NOERROR', `${name} ${type}`);
  assert.equal(packet.flag_aa, true, `${name} ${type}`);
  return records(packet.answers);
}

const text = (...strings: string[]): Buffer[] => strings.map((s) => Buffer.from(s, 'utf8'));

describe('every configured record type round-trips through the engine', () => {
  it('A, AAAA, CNAME (alone and followed), MX, SRV, PTR', () => {
    assert.deepEqual(answers('www.example.com', 'A'), [{ name: 'www.example.com', type: 'A', ttl: 300, data: '192.0.2.10' }]);
    assert.deepEqual(answers('www.example.com', 'AAAA'), [{ name: 'www.example.com', type: 'AAAA', ttl: 300, data: '2001:db8::10' }]);
    assert.deepEqual(answers('ftp.example.com', 'CNAME'), [{ name: 'ftp.example.com', type: 'CNAME', ttl: 300, data: 'www.example.com' }]);
    assert.deepEqual(answers('ftp.example.com', 'A'), [
      { name: 'ftp.example.com', type: 'CNAME', ttl: 300, data: 'www.example.com' },
      { name: 'www.example.com', type: 'A', ttl: 300, data: '192.0.2.10' },
    ]);
    assert.deepEqual(answers('example.com', 'MX'), [{ name: 'example.com', type: 'MX', ttl: 300, data: { preference: 10, exchange: 'mail.example.net' } }]);
    assert.deepEqual(answers('_sip._udp.example.com', 'SRV'), [
      { name: '_sip._udp.example.com', type: 'SRV', ttl: 300, data: { priority: 0, weight: 5, port: 5060, target: 'sip.example.net' } },
    ]);
    assert.deepEqual(answers('10.2.0.192.in-addr.arpa', 'PTR'), [{ name: '10.2.0.192.in-addr.arpa', type: 'PTR', ttl: 300, data: 'www.example.com' }]);
  });

  it('NS below the apex: a referral with the NS in authority and its glue', () => {
    const { packet } = ask('host.sub.example.com', 'A');
    assert.deepEqual([headerText(packet).rcode, packet.flag_aa, records(packet.answers)], ['NOERROR', false, []]);
    assert.deepEqual(records(packet.authorities), [{ name: 'sub.example.com', type: 'NS', ttl: 300, data: 'ns.sub.example.com' }]);
    assert.deepEqual(records(packet.additionals), [{ name: 'ns.sub.example.com', type: 'A', ttl: 300, data: '192.0.2.99' }]);
  });

  it('CAA: a CAA query gets the RRset, ANY gets it as the first RRset listed at the name (RFC 8482)', () => {
    const caa = [
      { name: 'example.com', type: 'CAA', ttl: 300, data: { flags: 0, tag: 'issue', value: 'letsencrypt.org', issuerCritical: false } },
      { name: 'example.com', type: 'CAA', ttl: 300, data: { flags: 128, tag: 'iodef', value: 'mailto:security@example.com', issuerCritical: true } },
    ];
    assert.deepEqual(answers('example.com', 'CAA'), caa);
    assert.deepEqual(answers('example.com', 'ANY'), caa);
    const { packet } = ask('www.example.com', 'CAA');
    assert.deepEqual([headerText(packet).rcode, records(packet.answers), packet.authorities?.[0]?.type], ['NOERROR', [], 'SOA'], 'NODATA where there is none');
  });

  it('TXT: plain text with semicolons, quoted strings with \\" and \\DDD escapes, UTF-8, empty strings', () => {
    assert.deepEqual(answers('example.com', 'TXT'), [{ name: 'example.com', type: 'TXT', ttl: 300, data: text('v=spf1 mx -all') }]);
    assert.deepEqual(answers('quoted.example.com', 'TXT'), [
      { name: 'quoted.example.com', type: 'TXT', ttl: 300, data: text('say "hi"; ok', 'a;b', 'café', 'naïve €', '') },
    ]);
  });

  it('TXT over 255 bytes: several character-strings of at most 255 bytes that join to the value', () => {
    const [record] = answers('k._domainkey.example.com', 'TXT') as [{ data: Buffer[] }];
    const lengths = record.data.map((b) => b.length);
    assert.ok(record.data.length === 2 && lengths.every((n) => n <= 255), `lengths ${lengths.join(', ')}`);
    assert.equal(Buffer.concat(record.data).toString('utf8'), `v=DKIM1; k=rsa; p=${DKIM_KEY}`, 'the é is not cut in two');
  });

  it('SOA: the RNAME of john.doe@example.com is john\\.doe.example.com, "john.doe" one label on the wire', () => {
    const label = Buffer.concat([Buffer.from([8]), Buffer.from('john.doe')]);
    const [soa] = answers('example.com', 'SOA') as [{ data: { mname: string; rname: string; serial: number } }];
    assert.deepEqual([soa.data.mname, soa.data.rname, soa.data.serial], ['ns1.example.com', 'john\\.doe.example.com', 2026010101]);
    assert.ok(ask('example.com', 'SOA').wire.includes(label));
    // The negative answers carry it too, from a template (NODATA) and from the writer (NXDOMAIN).
    for (const name of ['www.example.com', 'nope.example.com']) {
      const { packet, wire } = ask(name, name === 'www.example.com' ? 'MX' : 'A');
      const authority = packet.authorities?.[0];
      assert.ok(authority?.type === 'SOA', name);
      assert.equal(authority.data.rname, 'john\\.doe.example.com', name);
      assert.ok(wire.includes(label), `${name}: one label "john.doe"`);
      assert.ok(!wire.includes(Buffer.from('john\\')), `${name}: no backslash on the wire`);
    }
  });

  it('the largest TXT RRset the config takes is answered in one TCP message, behind the longest CNAME chain', () => {
    // Long names make the chain as large as it gets: each alias 3 labels of 60 bytes under the zone.
    const alias = (i: number): string => `${String(i).repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}`;
    const links = Array.from({ length: MAX_CHAIN - 1 }, (_, i) => `        - { name: ${alias(i + 1)}, type: CNAME, value: ${i + 2 < MAX_CHAIN ? alias(i + 2) : 'big'} }`);
    // 12 + 60,700 + 239 length bytes = 60,951 bytes, under the config's 61,000.
    const config = CONFIG.replace('      records:\n', `      records:\n${links.join('\n')}\n        - { name: big, type: TXT, value: "${'x'.repeat(60_700)}" }\n`);
    const big = buildEngine(loadGslb(config)).engine;
    const message = packetQuery(`${alias(1)}.example.com`, { type: 'TXT' });
    const length = big.answer(parsed, message, parseQuery(message, parsed), '192.0.2.200', MAX_MESSAGE_SIZE);
    const packet = decode(big.buf.subarray(0, length));
    assert.equal(packet.flag_tc, false);
    assert.deepEqual(packet.answers?.map((a) => a.type), [...Array<string>(MAX_CHAIN - 1).fill('CNAME'), 'TXT']);
  });
});
