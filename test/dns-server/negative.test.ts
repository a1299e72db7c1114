// Negative answers through real sockets (RFC 2308, RFC 8020, RFC 6604): NXDOMAIN for a name that
// does not exist, NODATA (NOERROR, no answer) for a name without the asked type, both with the
// zone's SOA in the authority section and the SOA minimum as its TTL, so resolvers cache the
// absence as long as the zone says. Issue 5: "SOA in the authority section for NXDOMAIN and
// NODATA with the SOA minimum as negative TTL".
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { countsOf, query, rcodeOf, RCODE, rr, TRANSPORTS, type QueryOptions, type Reply } from './client.ts';
import { assertAnswers } from './assertions.ts';
import { SOA_MINIMUM_S, startDnsFulcrum, WWW, ZONE_TTL, type DnsFulcrum } from './fixture.ts';

/** A zone whose own TTL is below its SOA minimum: the negative TTL is the smaller of the two. */
const SHORT_ZONE = { name: 'short.test', nameServers: ['ns.example.net'], hostmaster: 'hostmaster@short.test', ttl: 3, soa: { minimum: '7s' }, records: [{ name: 'a', type: 'A', value: '192.0.2.80' }] };

let dns: DnsFulcrum;
let serial: number;

before(async () => {
  dns = await startDnsFulcrum({
    fqdns: [WWW],
    records: [
      { name: '_sip._udp', type: 'SRV', value: '0 5 5060 sip.surveyor.lab.' },
      { name: 'sip', type: 'A', value: '192.0.2.60' },
      { name: 'dangling', type: 'CNAME', value: 'gone.surveyor.lab.' },
    ],
    zones: [SHORT_ZONE],
  });
  serial = dns.fulcrum.logs.find((line) => line.msg === 'ready')!['dnsSerial'] as number;
});

after(() => dns.stop());

/** The single SOA of the authority section, checked to be the zone's, and its TTL. */
function negativeSoa(reply: Reply, zone = 'surveyor.lab'): number {
  const authority = reply.packet.authorities ?? [];
  assert.equal(authority.length, 1, 'one record in authority: the SOA');
  const soa = authority[0]!;
  assert.equal(soa.type, 'SOA');
  assert.equal(soa.name, zone);
  const data = (soa as { data: { serial: number; minimum: number } }).data;
  assert.equal(data.serial, serial);
  assert.equal(data.minimum, SOA_MINIMUM_S);
  return soa.ttl!;
}

for (const [transport, send] of Object.entries(TRANSPORTS)) {
  describe(`negative answers over ${transport}`, () => {
    async function ask(name: string, type: QueryOptions['type']): Promise<Reply> {
      const message = query(name, { type });
      const reply = await send(dns.port, message);
      assertAnswers(reply, message);
      assert.equal(reply.packet.flag_aa, true, 'authoritative');
      return reply;
    }

    for (const name of ['nope.surveyor.lab', 'a.b.nope.surveyor.lab', 'below.mail.surveyor.lab', 'x._udp.surveyor.lab']) {
      it(`NXDOMAIN for ${name}: no answer, the SOA with TTL = SOA minimum (${SOA_MINIMUM_S} s, not the zone's ${ZONE_TTL})`, async () => {
        const reply = await ask(name, 'A');
        assert.equal(rcodeOf(reply), RCODE.NXDOMAIN);
        assert.equal(countsOf(reply.bytes).an, 0);
        assert.equal(negativeSoa(reply), SOA_MINIMUM_S);
        assert.equal(countsOf(reply.bytes).ar, 0);
      });
    }

    const nodata: Array<[string, QueryOptions['type'], string]> = [
      ['www.surveyor.lab', 'AAAA', 'an FQDN whose sites are IPv4 only'],
      ['mail.surveyor.lab', 'TXT', 'a static name without that type'],
      ['surveyor.lab', 'AAAA', 'the apex'],
      ['_udp.surveyor.lab', 'A', 'an empty non-terminal (RFC 8020: it exists)'],
    ];
    for (const [name, type, what] of nodata) {
      it(`NODATA for ${name} ${type} (${what}): NOERROR, no answer, the SOA with the negative TTL`, async () => {
        const reply = await ask(name, type);
        assert.equal(rcodeOf(reply), RCODE.NOERROR);
        assert.equal(countsOf(reply.bytes).an, 0);
        assert.equal(negativeSoa(reply), SOA_MINIMUM_S);
      });
    }

    it('a CNAME to a name in the zone that does not exist: NXDOMAIN with the CNAME (RFC 6604) and the SOA', async () => {
      const reply = await ask('dangling.surveyor.lab', 'A');
      assert.equal(rcodeOf(reply), RCODE.NXDOMAIN);
      assert.deepEqual(
        reply.packet.answers?.map((r) => [r.name, r.type, rr(r).data]),
        [['dangling.surveyor.lab', 'CNAME', 'gone.surveyor.lab']],
      );
      assert.equal(negativeSoa(reply), SOA_MINIMUM_S);
    });

    it('a zone whose TTL (3 s) is below its SOA minimum (7 s): the negative TTL is the TTL (RFC 2308 5)', async () => {
      const reply = await ask('missing.short.test', 'A');
      assert.equal(rcodeOf(reply), RCODE.NXDOMAIN);
      assert.equal(negativeSoa(reply, 'short.test'), 3);
      const present = await ask('a.short.test', 'A');
      assert.equal(rcodeOf(present), RCODE.NOERROR, 'a control: the zone is served');
    });
  });
}
