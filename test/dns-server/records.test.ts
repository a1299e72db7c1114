// Every record type the zone config accepts, and the GSLB answers, through real UDP and TCP
// sockets to a running Fulcrum: A, AAAA, MX, TXT, CNAME chains inside the zone, NS and SOA at
// the apex with glue, SRV, CAA, PTR. Issue 5, "DNS correctness": RFC 1035 over UDP and TCP, NS
// and SOA at the apex, CNAME chains inside the zone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { answersOf, query, rcodeOf, RCODE, rr, TRANSPORTS, type QueryOptions, type Reply } from './client.ts';
import { assertAnswers } from './assertions.ts';
import { SOA_MINIMUM_S, startDnsFulcrum, WWW, ZONE_TTL, type DnsFulcrum } from './fixture.ts';

const RECORDS = [
  { name: 'alias', type: 'CNAME', value: 'ftp' },
  { name: 'ext', type: 'CNAME', value: 'www.example.org.' },
  { name: '_sip._udp', type: 'SRV', value: '0 5 5060 sip.surveyor.lab.' },
  { name: 'sip', type: 'A', value: '192.0.2.60' },
  { name: '@', type: 'CAA', value: '0 issue "letsencrypt.org"' },
  { name: 'ptr', type: 'PTR', value: 'www.surveyor.lab.' },
  { name: 'ipv6', type: 'AAAA', value: '2001:db8::80', ttl: 60 },
  { name: 'multi', type: 'TXT', value: '"first string" "second"' },
];

const DUAL = { name: 'dual.surveyor.lab', ttl: 15, sites: [{ name: 'both', address: ['2001:db8::10', '192.0.2.31'] }] };

let dns: DnsFulcrum;
let serial: number;

before(async () => {
  dns = await startDnsFulcrum({ records: RECORDS, fqdns: [WWW, DUAL] });
  serial = dns.fulcrum.logs.find((line) => line.msg === 'ready')!['dnsSerial'] as number;
  assert.equal(typeof serial, 'number', 'the ready line names the SOA serial');
});

after(() => dns.stop());

for (const [transport, send] of Object.entries(TRANSPORTS)) {
  describe(`records over ${transport}`, () => {
    async function ask(name: string, type: QueryOptions['type']): Promise<Reply> {
      const message = query(name, { type });
      const reply = await send(dns.port, message);
      assertAnswers(reply, message);
      assert.equal(reply.packet.flag_tc, false, 'not truncated');
      return reply;
    }

    function authoritativeAnswer(reply: Reply): void {
      assert.equal(rcodeOf(reply), RCODE.NOERROR);
      assert.equal(reply.packet.flag_aa, true, 'AA set: the zone is ours');
    }

    it('A of an FQDN: the fixed-weight primary, with the FQDN ttl', async () => {
      const reply = await ask('www.surveyor.lab', 'A');
      authoritativeAnswer(reply);
      assert.deepEqual(
        reply.packet.answers?.map((r) => [r.name, r.type, rr(r).ttl, rr(r).data]),
        [['www.surveyor.lab', 'A', 20, '192.0.2.10']],
      );
    });

    it('A and AAAA of a site with both families: each query gets its own family', async () => {
      const a = await ask('dual.surveyor.lab', 'A');
      authoritativeAnswer(a);
      assert.deepEqual(answersOf(a, 'A'), ['192.0.2.31']);
      assert.equal(a.packet.answers?.length, 1);
      const aaaa = await ask('dual.surveyor.lab', 'AAAA');
      authoritativeAnswer(aaaa);
      assert.deepEqual(answersOf(aaaa, 'AAAA'), ['2001:db8::10']);
      assert.equal(rr(aaaa.packet.answers![0]!).ttl, 15);
    });

    it('static A and AAAA records with their own ttl', async () => {
      const mail = await ask('mail.surveyor.lab', 'A');
      authoritativeAnswer(mail);
      assert.deepEqual(mail.packet.answers?.map((r) => [r.name, rr(r).ttl, rr(r).data]), [['mail.surveyor.lab', ZONE_TTL, '192.0.2.25']]);
      const v6 = await ask('ipv6.surveyor.lab', 'AAAA');
      authoritativeAnswer(v6);
      assert.deepEqual(v6.packet.answers?.map((r) => [r.name, rr(r).ttl, rr(r).data]), [['ipv6.surveyor.lab', 60, '2001:db8::80']]);
    });

    it('MX at the apex', async () => {
      const reply = await ask('surveyor.lab', 'MX');
      authoritativeAnswer(reply);
      assert.deepEqual(answersOf(reply, 'MX'), [{ preference: 10, exchange: 'mail.surveyor.lab' }]);
    });

    it('TXT: one string, and several character-strings kept apart', async () => {
      const spf = await ask('surveyor.lab', 'TXT');
      authoritativeAnswer(spf);
      assert.deepEqual(answersOf(spf, 'TXT').map((d) => (d as Buffer[]).map(String)), [['v=spf1 mx -all']]);
      const multi = await ask('multi.surveyor.lab', 'TXT');
      authoritativeAnswer(multi);
      assert.deepEqual(answersOf(multi, 'TXT').map((d) => (d as Buffer[]).map(String)), [['first string', 'second']]);
    });

    it('CNAME to an FQDN (ftp -> www): the CNAME, then the GSLB answer', async () => {
      const reply = await ask('ftp.surveyor.lab', 'A');
      authoritativeAnswer(reply);
      assert.deepEqual(
        rows(reply),
        [
          ['ftp.surveyor.lab', 'CNAME', 'www.surveyor.lab'],
          ['www.surveyor.lab', 'A', '192.0.2.10'],
        ],
      );
    });

    it('a chain of two CNAMEs inside the zone (alias -> ftp -> www) is followed to the end', async () => {
      const reply = await ask('alias.surveyor.lab', 'A');
      authoritativeAnswer(reply);
      assert.deepEqual(
        rows(reply),
        [
          ['alias.surveyor.lab', 'CNAME', 'ftp.surveyor.lab'],
          ['ftp.surveyor.lab', 'CNAME', 'www.surveyor.lab'],
          ['www.surveyor.lab', 'A', '192.0.2.10'],
        ],
      );
    });

    it('a CNAME query gets the CNAME alone; a CNAME out of the zone ends the chain (no recursion)', async () => {
      const own = await ask('ftp.surveyor.lab', 'CNAME');
      authoritativeAnswer(own);
      assert.deepEqual(rows(own), [['ftp.surveyor.lab', 'CNAME', 'www.surveyor.lab']]);
      const ext = await ask('ext.surveyor.lab', 'A');
      authoritativeAnswer(ext);
      assert.deepEqual(rows(ext), [['ext.surveyor.lab', 'CNAME', 'www.example.org']]);
    });

    it('NS at the apex, with glue (A and AAAA) for the in-zone name server only', async () => {
      const reply = await ask('surveyor.lab', 'NS');
      authoritativeAnswer(reply);
      assert.deepEqual(answersOf(reply, 'NS'), ['ns1.surveyor.lab', 'ns.example.net']);
      assert.deepEqual(
        (reply.packet.additionals ?? []).map((r) => [r.name, r.type, rr(r).data]),
        [
          ['ns1.surveyor.lab', 'A', '192.0.2.53'],
          ['ns1.surveyor.lab', 'AAAA', '2001:db8::53'],
        ],
      );
    });

    it('SOA at the apex: primary, hostmaster mailbox, Fulcrum\'s serial, the configured minimum', async () => {
      const reply = await ask('surveyor.lab', 'SOA');
      authoritativeAnswer(reply);
      assert.equal(reply.packet.answers?.length, 1);
      const soa = reply.packet.answers![0]!;
      assert.equal(rr(soa).ttl, ZONE_TTL);
      assert.deepEqual(rr(soa).data, {
        mname: 'ns1.surveyor.lab',
        rname: 'hostmaster.surveyor.lab',
        serial,
        refresh: 3600,
        retry: 900,
        expire: 1_209_600,
        minimum: SOA_MINIMUM_S,
      });
    });

    it('SRV', async () => {
      const reply = await ask('_sip._udp.surveyor.lab', 'SRV');
      authoritativeAnswer(reply);
      assert.deepEqual(answersOf(reply, 'SRV'), [{ priority: 0, weight: 5, port: 5060, target: 'sip.surveyor.lab' }]);
    });

    it('CAA', async () => {
      const reply = await ask('surveyor.lab', 'CAA');
      authoritativeAnswer(reply);
      assert.deepEqual(answersOf(reply, 'CAA'), [{ flags: 0, tag: 'issue', value: 'letsencrypt.org', issuerCritical: false }]);
    });

    it('PTR', async () => {
      const reply = await ask('ptr.surveyor.lab', 'PTR');
      authoritativeAnswer(reply);
      assert.deepEqual(answersOf(reply, 'PTR'), ['www.surveyor.lab']);
    });
  });
}

/** The answer section as [name, type, data] rows. */
function rows(r: Reply): unknown[] {
  return (r.packet.answers ?? []).map((record) => [record.name, record.type, rr(record).data]);
}
