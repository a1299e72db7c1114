// parseQuery against queries encoded by dns-packet (every field) and against hand-made malformed
// packets, one per FORMERR / NOTIMP / BADVERS / DROP rule.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParsedQuery, QueryVerdict, parseQuery, udpLimit } from '../../src/dns/query.ts';
import { ecsAddressText } from '../../src/dns/records.ts';
import { ecsOption, header, optRecord, packetQuery, question, u16, wireName } from './helpers.ts';

const q = new ParsedQuery();

function verdictOf(...parts: Buffer[]): QueryVerdict {
  return parseQuery(Buffer.concat(parts), q);
}

describe('parseQuery on well-formed queries', () => {
  it('reads the header, the question in lower case and its bounds', () => {
    const message = packetQuery('WwW.Surveyor.LAB', { id: 0xbeef, type: 'AAAA', flags: 0x0110 });
    assert.equal(parseQuery(message, q), QueryVerdict.OK);
    assert.equal(q.id, 0xbeef);
    assert.equal(q.opcode, 0);
    assert.equal(q.rd, true);
    assert.equal(q.cd, true);
    assert.equal(q.qname, 'www.surveyor.lab');
    assert.equal(q.qtype, 28);
    assert.equal(q.qclass, 1);
    assert.equal(q.qnameWireLength, 18);
    assert.equal(q.questionEnd, message.length);
    assert.equal(message.toString('latin1', 13, 16), 'WwW', 'the raw question keeps its case');
    assert.equal(q.hasEdns, false);
    assert.equal(udpLimit(q), 512);
  });

  it('gives the same string for the same name asked again, in any case', () => {
    parseQuery(packetQuery('a.example'), q);
    const first = q.qname;
    parseQuery(packetQuery('A.EXAMPLE'), q);
    assert.equal(q.qname, first);
  });

  it('reads the root and escapes odd bytes in the name', () => {
    assert.equal(verdictOf(header({}), question('')), QueryVerdict.OK);
    assert.equal(q.qname, '');
    assert.equal(q.qnameWireLength, 1);
    const odd = Buffer.concat([header({}), Buffer.from([3, 0x61, 0x2e, 0x20, 3, 0x5c, 0xff, 0x42, 0]), u16(1, 1)]);
    assert.equal(parseQuery(odd, q), QueryVerdict.OK);
    assert.equal(q.qname, 'a\\.\\032.\\\\\\255b');
  });

  it('reads EDNS: size, DO, version; clamps the size', () => {
    assert.equal(parseQuery(packetQuery('x.lab', { edns: { udpPayloadSize: 1400, do: true } }), q), QueryVerdict.OK);
    assert.equal(q.hasEdns, true);
    assert.equal(q.udpPayloadSize, 1400);
    assert.equal(q.doBit, true);
    assert.equal(q.ednsVersion, 0);
    assert.equal(q.hasEcs, false);
    parseQuery(packetQuery('x.lab', { edns: { udpPayloadSize: 100 } }), q);
    assert.equal(q.udpPayloadSize, 512);
    assert.equal(q.doBit, false);
    parseQuery(packetQuery('x.lab', { edns: { udpPayloadSize: 65000 } }), q);
    assert.equal(q.udpPayloadSize, 4096);
    assert.equal(udpLimit(q), 1232, 'never past the size we advertise: larger datagrams fragment (RFC 9715)');
    parseQuery(packetQuery('x.lab', { edns: { udpPayloadSize: 1000 } }), q);
    assert.equal(udpLimit(q), 1000, "the client's, when smaller");
  });

  it('reads ECS for IPv4 and IPv6', () => {
    const v4 = packetQuery('x.lab', { edns: { ecs: { family: 1, source: 24, ip: '10.1.2.0' } } });
    assert.equal(parseQuery(v4, q), QueryVerdict.OK);
    assert.equal(q.hasEcs, true);
    assert.equal(q.ecsFamily, 1);
    assert.equal(q.ecsSourcePrefix, 24);
    assert.equal(q.ecsIPv4, 0x0a010200);
    assert.equal(ecsAddressText(q), '10.1.2.0');
    const v6 = packetQuery('x.lab', { edns: { ecs: { family: 2, source: 56, ip: '2001:db8:aa:bb00::' } } });
    assert.equal(parseQuery(v6, q), QueryVerdict.OK);
    assert.equal(q.ecsFamily, 2);
    assert.equal(q.ecsSourcePrefix, 56);
    assert.equal(ecsAddressText(q), '2001:db8:aa:bb00::');
    const zero = packetQuery('x.lab', { edns: { ecs: { family: 1, source: 0, ip: '0.0.0.0' } } });
    assert.equal(parseQuery(zero, q), QueryVerdict.OK);
    assert.equal(q.ecsSourcePrefix, 0);
  });

  it('skips records in other sections, compressed ones included', () => {
    // An answer record owned by a pointer to the question, as some clients send with NOTIFY-like queries.
    const answer = Buffer.concat([Buffer.from([0xc0, 12]), u16(1, 1, 0, 60, 4), Buffer.from([1, 2, 3, 4])]);
    assert.equal(verdictOf(header({ an: 1 }), question('a.lab'), answer), QueryVerdict.OK);
    assert.equal(verdictOf(header({ an: 1, ar: 1 }), question('a.lab'), answer, optRecord()), QueryVerdict.OK);
    assert.equal(q.hasEdns, true);
  });
});

describe('parseQuery verdicts for malformed packets', () => {
  const cases: Array<[string, Buffer, QueryVerdict]> = [
    ['empty', Buffer.alloc(0), QueryVerdict.DROP],
    ['11 bytes', Buffer.alloc(11), QueryVerdict.DROP],
    ['QR set', Buffer.concat([header({ flags: 0x8100 }), question('a.lab')]), QueryVerdict.DROP],
    ['opcode STATUS', Buffer.concat([header({ flags: 2 << 11 }), question('a.lab')]), QueryVerdict.NOTIMP],
    ['opcode UPDATE with garbage', Buffer.concat([header({ flags: 5 << 11, qd: 3 }), Buffer.from([1, 2, 3])]), QueryVerdict.NOTIMP],
    ['QDCOUNT 0', header({ qd: 0 }), QueryVerdict.FORMERR],
    ['QDCOUNT 2', Buffer.concat([header({ qd: 2 }), question('a.lab'), question('b.lab')]), QueryVerdict.FORMERR],
    ['header only', header({}), QueryVerdict.FORMERR],
    ['name cut short', Buffer.concat([header({}), Buffer.from([5, 0x61, 0x62])]), QueryVerdict.FORMERR],
    ['no QTYPE', Buffer.concat([header({}), wireName('a.lab'), Buffer.from([0, 1])]), QueryVerdict.FORMERR],
    ['pointer in the question', Buffer.concat([header({}), Buffer.from([1, 0x61, 0xc0, 12]), u16(1, 1)]), QueryVerdict.FORMERR],
    ['label of 64', Buffer.concat([header({}), Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0]), u16(1, 1)]), QueryVerdict.FORMERR],
    ['label type 0x40', Buffer.concat([header({}), Buffer.from([0x41, 0]), u16(1, 1)]), QueryVerdict.FORMERR],
    ['name of 256', Buffer.concat([header({}), question(Array.from({ length: 4 }, () => 'a'.repeat(63)).join('.'))]), QueryVerdict.FORMERR],
    ['trailing garbage', Buffer.concat([header({}), question('a.lab'), Buffer.from([0])]), QueryVerdict.FORMERR],
    ['ARCOUNT beyond the end', Buffer.concat([header({ ar: 1 }), question('a.lab')]), QueryVerdict.FORMERR],
    ['record RDATA cut short', Buffer.concat([header({ an: 1 }), question('a.lab'), Buffer.from([0]), u16(1, 1, 0, 0, 4), Buffer.from([1])]), QueryVerdict.FORMERR],
    ['pointer loop', Buffer.concat([header({ an: 1 }), question('a.lab'), Buffer.from([0xc0, 23]), u16(1, 1, 0, 0, 0)]), QueryVerdict.FORMERR],
    ['forward pointer', Buffer.concat([header({ an: 1 }), question('a.lab'), Buffer.from([0xc0, 40]), u16(1, 1, 0, 0, 0)]), QueryVerdict.FORMERR],
    ['pointer into the header', Buffer.concat([header({ an: 1 }), question('a.lab'), Buffer.from([0xc0, 2]), u16(1, 1, 0, 0, 0)]), QueryVerdict.FORMERR],
    ['two OPTs', Buffer.concat([header({ ar: 2 }), question('a.lab'), optRecord(), optRecord()]), QueryVerdict.FORMERR],
    ['OPT in the answer section', Buffer.concat([header({ an: 1 }), question('a.lab'), optRecord()]), QueryVerdict.FORMERR],
    ['OPT not at the root', Buffer.concat([header({ ar: 1 }), question('a.lab'), wireName('x').subarray(0, 2), optRecord()]), QueryVerdict.FORMERR],
    ['EDNS option cut short', Buffer.concat([header({ ar: 1 }), question('a.lab'), optRecord({ options: u16(8, 10, 1) })]), QueryVerdict.FORMERR],
    ['EDNS version 1', Buffer.concat([header({ ar: 1 }), question('a.lab'), optRecord({ version: 1 })]), QueryVerdict.BADVERS],
    ['ECS /33 for IPv4', Buffer.concat([header({ ar: 1 }), question('a.lab'), optRecord({ options: ecsOption(1, 33, 0, [1, 2, 3, 4, 5]) })]), QueryVerdict.FORMERR],
    ['ECS /129 for IPv6', Buffer.concat([header({ ar: 1 }), question('a.lab'), optRecord({ options: ecsOption(2, 129, 0, new Array(17).fill(0)) })]), QueryVerdict.FORMERR],
    ['ECS unknown family', Buffer.concat([header({ ar: 1 }), question('a.lab'), optRecord({ options: ecsOption(3, 8, 0, [1]) })]), QueryVerdict.FORMERR],
    ['ECS /24 with 4 address bytes', Buffer.concat([header({ ar: 1 }), question('a.lab'), optRecord({ options: ecsOption(1, 24, 0, [10, 1, 2, 0]) })]), QueryVerdict.FORMERR],
    ['ECS /24 with 2 address bytes', Buffer.concat([header({ ar: 1 }), question('a.lab'), optRecord({ options: ecsOption(1, 24, 0, [10, 1]) })]), QueryVerdict.FORMERR],
    ['ECS /20 with host bits', Buffer.concat([header({ ar: 1 }), question('a.lab'), optRecord({ options: ecsOption(1, 20, 0, [10, 1, 0x18]) })]), QueryVerdict.FORMERR],
    ['ECS twice', Buffer.concat([header({ ar: 1 }), question('a.lab'), optRecord({ options: Buffer.concat([ecsOption(1, 8, 0, [10]), ecsOption(1, 8, 0, [10])]) })]), QueryVerdict.FORMERR],
    ['ECS too short', Buffer.concat([header({ ar: 1 }), question('a.lab'), optRecord({ options: u16(8, 2, 1) })]), QueryVerdict.FORMERR],
  ];
  for (const [name, packet, expected] of cases) {
    it(name, () => assert.equal(parseQuery(packet, q), expected));
  }

  it('keeps the question of a NOTIMP query to echo it', () => {
    assert.equal(verdictOf(header({ flags: 4 << 11 }), question('A.lab')), QueryVerdict.NOTIMP);
    assert.equal(q.opcode, 4);
    assert.equal(q.qname, 'a.lab');
    assert.ok(q.questionEnd > 0);
    assert.equal(q.hasEdns, false);
  });

  it('notes the OPT of a NOTIMP query, so the answer carries one (RFC 6891 section 7)', () => {
    assert.equal(verdictOf(header({ flags: 4 << 11, ar: 1 }), question('a.lab'), optRecord({ size: 4096 })), QueryVerdict.NOTIMP);
    assert.equal(q.hasEdns, true);
    assert.equal(q.udpPayloadSize, 4096);
    // Sections it cannot read stay NOTIMP, without OPT.
    assert.equal(verdictOf(header({ flags: 5 << 11, an: 1, ar: 1 }), question('a.lab'), Buffer.from([0xc0, 40]), optRecord()), QueryVerdict.NOTIMP);
    assert.equal(q.hasEdns, false);
  });

  it('accepts a /20 ECS with its host bits clear, and notes EDNS on BADVERS', () => {
    assert.equal(verdictOf(header({ ar: 1 }), question('a.lab'), optRecord({ options: ecsOption(1, 20, 0, [10, 1, 0x10]) })), QueryVerdict.OK);
    assert.equal(ecsAddressText(q), '10.1.16.0');
    assert.equal(verdictOf(header({ ar: 1 }), question('a.lab'), optRecord({ version: 3, size: 4000 })), QueryVerdict.BADVERS);
    assert.equal(q.hasEdns, true);
    assert.equal(q.ednsVersion, 3);
  });
});
