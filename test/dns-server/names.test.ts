// Names on the wire, through real sockets: compression (RFC 1035 4.1.4) seen at the byte level,
// and case: names match whatever their case, and the question comes back as the client wrote it
// (RFC 4343; resolvers randomise the case of their queries, "DNS 0x20", and check the echo).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encode } from 'dns-packet';
import { answersOf, query, rcodeOf, RCODE, rr, tcpQuery, udpQuery } from './client.ts';
import { assertAnswers, questionBytes, readName, walkRecords } from './assertions.ts';
import { startDnsFulcrum, type DnsFulcrum } from './fixture.ts';

let dns: DnsFulcrum;

before(async () => {
  dns = await startDnsFulcrum();
});

after(() => dns.stop());

describe('name compression', () => {
  it('the NS answer and its glue point back into the message: every owner name is a pointer, and it is smaller than written out', async () => {
    const reply = await udpQuery(dns.port, query('surveyor.lab', { type: 'NS' }));
    const records = walkRecords(reply.bytes);
    assert.equal(records.length, 4, '2 NS, glue A and AAAA');
    for (const record of records) assert.equal(record.owner.compressed, true, `owner ${record.owner.text} at ${record.owner.offset} is a pointer`);
    // Owners of the answers are the question's name: a bare pointer to offset 12.
    assert.deepEqual(reply.bytes.subarray(records[0]!.owner.offset, records[0]!.owner.end), Buffer.from([0xc0, 12]));
    // The NS target ns1.surveyor.lab: one label, then a pointer to surveyor.lab.
    const target = readName(reply.bytes, records[0]!.rdata);
    assert.equal(target.text, 'ns1.surveyor.lab');
    assert.equal(target.compressed, true);
    assert.equal(target.end - target.offset, 1 + 3 + 2, '"ns1" and a pointer');
    // The glue's owner (ns1.surveyor.lab) points at that target: a whole name in 2 bytes.
    assert.equal(records[2]!.owner.end - records[2]!.owner.offset, 2);
    assert.equal(records[2]!.owner.text, 'ns1.surveyor.lab');
    const uncompressed = encode({ ...reply.packet, type: 'response' });
    assert.ok(reply.bytes.length < uncompressed.length, `${reply.bytes.length} < ${uncompressed.length} bytes written out (dns-packet does not compress)`);
    assert.deepEqual(answersOf(reply, 'NS'), ['ns1.surveyor.lab', 'ns.example.net']);
  });

  it('MX exchange, CNAME target and SOA names are compressed against the question and each other', async () => {
    for (const [name, type] of [['surveyor.lab', 'MX'], ['ftp.surveyor.lab', 'A'], ['surveyor.lab', 'SOA'], ['nothing.surveyor.lab', 'A']] as const) {
      const reply = await tcpQuery(dns.port, query(name, { type }));
      const records = walkRecords(reply.bytes);
      assert.ok(records.length > 0, `${name} ${type} has records`);
      for (const record of records) assert.equal(record.owner.compressed, true, `${name} ${type}: owner ${record.owner.text} is a pointer`);
      const uncompressed = encode({ ...reply.packet, type: 'response' });
      assert.ok(reply.bytes.length < uncompressed.length, `${name} ${type}: ${reply.bytes.length} < ${uncompressed.length}`);
    }
  });
});

describe('case', () => {
  it('wWw.SurVeyor.LAB matches www.surveyor.lab; the question comes back as written, and the answer owner points at it', async () => {
    for (const send of [udpQuery, tcpQuery]) {
      const message = query('wWw.SurVeyor.LAB');
      const reply = await send(dns.port, message);
      assertAnswers(reply, message);
      assert.equal(questionBytes(reply.bytes).subarray(0, 18).toString('latin1'), '\x03wWw\x08SurVeyor\x03LAB\x00');
      assert.equal(rcodeOf(reply), RCODE.NOERROR);
      assert.deepEqual(answersOf(reply, 'A'), ['192.0.2.10']);
      assert.equal(reply.packet.answers![0]!.name, 'wWw.SurVeyor.LAB', 'the owner is a pointer to the question, so it reads in the client\'s case');
    }
  });

  it('random case (DNS 0x20) on every kind of answer: the same data, the question echoed exactly', async () => {
    const cases: Array<[string, 'A' | 'MX' | 'NS' | 'TXT' | 'AAAA']> = [
      ['www.surveyor.lab', 'A'],
      ['ftp.surveyor.lab', 'A'],
      ['surveyor.lab', 'MX'],
      ['surveyor.lab', 'NS'],
      ['surveyor.lab', 'TXT'],
      ['mail.surveyor.lab', 'AAAA'],
      ['missing.surveyor.lab', 'A'],
    ];
    let seed = 0x2024;
    const random = (): number => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return seed >>> 16;
    };
    for (const [name, type] of cases) {
      const reference = await udpQuery(dns.port, query(name, { type }));
      for (let i = 0; i < 8; i++) {
        const mixed = [...name].map((c) => (random() & 1 ? c.toUpperCase() : c)).join('');
        const message = query(mixed, { type });
        const reply = await udpQuery(dns.port, message);
        assertAnswers(reply, message);
        assert.equal(rcodeOf(reply), rcodeOf(reference), `${mixed} ${type}`);
        // Lower case throughout: a name in RDATA compressed against the question takes its case, which is the same name (RFC 4343).
        const data = (r: typeof reply) =>
          [...(r.packet.answers ?? []), ...(r.packet.authorities ?? []), ...(r.packet.additionals ?? [])].map((record) => [record.name.toLowerCase(), record.type, JSON.stringify(rr(record).data).toLowerCase()]);
        assert.deepEqual(data(reply), data(reference), `${mixed} ${type} answers as ${name}`);
      }
    }
  });

  it('a name outside the zones is refused whatever its case, and so is one that only differs from a zone name by more than case', async () => {
    for (const name of ['SURVEYOR.LAB.example', 'surveyor.labs', 'xsurveyor.lab']) {
      const reply = await udpQuery(dns.port, query(name));
      assert.equal(rcodeOf(reply), RCODE.REFUSED, name);
    }
    const upper = await udpQuery(dns.port, query('SURVEYOR.LAB', { type: 'SOA' }));
    assert.equal(rcodeOf(upper), RCODE.NOERROR);
    assert.equal(upper.packet.answers?.length, 1);
  });
});
