// Never a recursive resolver, never an open amplifier, through real sockets: names outside the
// zones, other classes and zone transfers are REFUSED with nothing but the question (the answer
// is no larger than the query, so a spoofed source gains nothing), and ANY gets one RRset
// (RFC 8482), not everything at the name. Issue 5: "REFUSED for names outside its zones (never a
// recursive resolver, never an open amplifier) ... minimal answers to ANY (RFC 8482)".
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { countsOf, query, rcodeOf, RCODE, rr, tcpQuery, udpQuery, type QueryOptions } from './client.ts';
import { assertAnswers } from './assertions.ts';
import { startDnsFulcrum, WWW, type DnsFulcrum } from './fixture.ts';

let dns: DnsFulcrum;

before(async () => {
  dns = await startDnsFulcrum({
    fqdns: [WWW, { name: 'dual.surveyor.lab', sites: [{ name: 'both', address: ['2001:db8::10', '192.0.2.31'] }] }],
    records: [
      // www holds other types beside its GSLB A: ANY must still answer one RRset.
      { name: 'www', type: 'TXT', value: 'hello' },
      { name: 'www', type: 'MX', value: '5 mail.surveyor.lab.' },
      { name: 'mail', type: 'AAAA', value: '2001:db8::25' },
      { name: 'mail', type: 'TXT', value: 'mail server' },
    ],
  });
});

after(() => dns.stop());

describe('REFUSED outside the zones', () => {
  const refused: Array<[string, string, QueryOptions]> = [
    ['example.com', 'a name in no zone', {}],
    ['www.example.com', 'with RD set, as a stub resolver asks', { flags: 0x0100 }],
    ['lab', "the zone's parent", {}],
    ['', 'the root', { type: 'NS' }],
    ['surveyor.lab.evil.example', 'a name that contains the zone name', {}],
    ['surveyor.lab', 'class CH', { qclass: 'CH', type: 'TXT' }],
    ['surveyor.lab', 'class ANY', { qclass: 'ANY', type: 'SOA' }],
    ['surveyor.lab', 'AXFR: no zone transfers', { type: 'AXFR' }],
    ['surveyor.lab', 'IXFR', { type: 'IXFR' }],
    ['example.com', 'with EDNS and a large buffer', { edns: { udpPayloadSize: 4096 }, type: 'ANY' }],
  ];
  for (const [name, what, options] of refused) {
    for (const [transport, send] of [['UDP', udpQuery], ['TCP', tcpQuery]] as const) {
      it(`${name || '.'} (${what}) over ${transport}: REFUSED, no records, no larger than the query`, async () => {
        const message = query(name, options);
        const reply = await send(dns.port, message);
        assertAnswers(reply, message);
        assert.equal(rcodeOf(reply), RCODE.REFUSED);
        assert.equal(reply.packet.flag_aa, false, 'no authority claimed');
        const counts = countsOf(reply.bytes);
        assert.deepEqual([counts.an, counts.ns], [0, 0]);
        assert.equal(counts.ar, options.edns === undefined ? 0 : 1, 'only the OPT');
        assert.ok(reply.bytes.length <= message.length, `${reply.bytes.length} bytes for a ${message.length}-byte query`);
      });
    }
  }
});

describe('ANY: one RRset (RFC 8482)', () => {
  async function any(name: string) {
    const message = query(name, { type: 'ANY', edns: { udpPayloadSize: 4096 } });
    const reply = await udpQuery(dns.port, message);
    assertAnswers(reply, message);
    assert.equal(rcodeOf(reply), RCODE.NOERROR);
    assert.equal(reply.packet.flag_tc, false);
    const answers = reply.packet.answers ?? [];
    assert.ok(answers.length > 0, `${name} ANY has an answer`);
    const rrsets = new Set(answers.map((r) => `${r.name.toLowerCase()} ${r.type}`));
    assert.equal(rrsets.size, 1, `one RRset, got ${[...rrsets].join(', ')}`);
    return { reply, type: answers[0]!.type };
  }

  it('at the apex (SOA, NS, MX, TXT there): one of them', async () => {
    const { reply, type } = await any('surveyor.lab');
    assert.ok(['SOA', 'NS', 'MX', 'TXT'].includes(type));
    assert.equal((reply.packet.authorities ?? []).length, 0, 'no NS in authority either');
  });

  it('at a GSLB name that also holds TXT and MX: the A answer alone', async () => {
    const { reply, type } = await any('www.surveyor.lab');
    assert.equal(type, 'A');
    assert.deepEqual(reply.packet.answers!.map((r) => rr(r).data), ['192.0.2.10']);
  });

  it('at a static name with A, AAAA and TXT: one of them', async () => {
    const { type } = await any('mail.surveyor.lab');
    assert.ok(['A', 'AAAA', 'TXT'].includes(type));
  });

  it('at a CNAME: the CNAME, not its target\'s records', async () => {
    const { reply, type } = await any('ftp.surveyor.lab');
    assert.equal(type, 'CNAME');
    assert.equal(reply.packet.answers!.length, 1);
  });

  it('at a name that does not exist: NXDOMAIN, as for any type', async () => {
    const reply = await udpQuery(dns.port, query('none.surveyor.lab', { type: 'ANY' }));
    assert.equal(rcodeOf(reply), RCODE.NXDOMAIN);
  });
});
