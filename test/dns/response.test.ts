// ResponseWriter checked by decoding what it writes with dns-packet: records, case, compression,
// truncation, EDNS and ECS echo, error answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode, type Answer, type DecodedPacket } from 'dns-packet';
import { ParsedQuery, QueryVerdict, parseQuery, udpLimit } from '../../src/dns/query.ts';
import { addressRecord, caaRecord, txtRecord } from '../../src/dns/records.ts';
import { ResponseWriter, verdictRcode } from '../../src/dns/response.ts';
import { Rcode, type DnsRecord } from '../../src/dns/types.ts';
import { header, headerText, packetQuery, question } from './helpers.ts';

const writer = new ResponseWriter();
const query = new ParsedQuery();

function address(name: string, ttl: number, text: string): DnsRecord {
  const record = addressRecord(name, ttl, text);
  assert.ok(record !== null);
  return record;
}

const SOA: DnsRecord = {
  type: 'SOA',
  name: 'surveyor.lab',
  ttl: 3600,
  mname: 'ns1.surveyor.lab',
  rname: 'hostmaster.surveyor.lab',
  serial: 2024010101,
  refresh: 7200,
  retry: 900,
  expire: 1209600,
  minimum: 300,
};

function respond(message: Buffer, fill: (w: ResponseWriter) => void, limit?: number, scope = 0): { wire: Buffer; packet: DecodedPacket } {
  assert.equal(parseQuery(message, query), QueryVerdict.OK);
  writer.begin(query, message);
  fill(writer);
  const length = writer.finish(limit ?? udpLimit(query), scope);
  const wire = Buffer.from(writer.buf.subarray(0, length));
  return { wire, packet: decode(wire) };
}

function plain(answers: readonly Answer[] | undefined): unknown[] {
  return (answers ?? []).map((a) => ({ name: a.name, type: a.type, ttl: 'ttl' in a ? a.ttl : undefined, data: 'data' in a ? a.data : undefined }));
}

describe('ResponseWriter', () => {
  it('writes every record type, decodable by dns-packet, with the question case kept', () => {
    const { packet } = respond(packetQuery('WwW.SurVeyor.lab', { id: 777, type: 'ANY' }), (w) => {
      w.answer(address('www.surveyor.lab', 20, '192.0.2.10'));
      w.answer(address('www.surveyor.lab', 20, '2001:db8::10'));
      w.answer({ type: 'CNAME', name: 'ftp.surveyor.lab', ttl: 60, target: 'www.surveyor.lab' });
      w.answer({ type: 'MX', name: 'surveyor.lab', ttl: 60, preference: 10, exchange: 'mail.surveyor.lab' });
      w.answer(txtRecord('surveyor.lab', 60, ['v=spf1 mx -all', 'x'.repeat(300), '']));
      w.answer({ type: 'SRV', name: '_sip._tcp.surveyor.lab', ttl: 60, priority: 1, weight: 5, port: 5060, target: 'sip.surveyor.lab' });
      w.authority({ type: 'NS', name: 'surveyor.lab', ttl: 3600, target: 'ns1.surveyor.lab' });
      w.authority(SOA);
      w.additional(address('ns1.surveyor.lab', 3600, '192.0.2.53'));
    }, 65535);
    assert.equal(packet.id, 777);
    assert.equal(packet.flag_qr, true);
    assert.equal(packet.flag_aa, true);
    assert.equal(packet.flag_rd, true);
    assert.equal(packet.flag_tc, false);
    assert.equal(headerText(packet).rcode, 'NOERROR');
    assert.deepEqual(packet.questions, [{ name: 'WwW.SurVeyor.lab', type: 'ANY', class: 'IN' }]);
    assert.deepEqual(plain(packet.answers), [
      { name: 'WwW.SurVeyor.lab', type: 'A', ttl: 20, data: '192.0.2.10' },
      { name: 'WwW.SurVeyor.lab', type: 'AAAA', ttl: 20, data: '2001:db8::10' },
      // Suffixes point into the question, so they read in the client's case.
      { name: 'ftp.SurVeyor.lab', type: 'CNAME', ttl: 60, data: 'WwW.SurVeyor.lab' },
      { name: 'SurVeyor.lab', type: 'MX', ttl: 60, data: { preference: 10, exchange: 'mail.SurVeyor.lab' } },
      {
        name: 'SurVeyor.lab',
        type: 'TXT',
        ttl: 60,
        data: [Buffer.from('v=spf1 mx -all'), Buffer.from('x'.repeat(255)), Buffer.from('x'.repeat(45)), Buffer.alloc(0)],
      },
      { name: '_sip._tcp.SurVeyor.lab', type: 'SRV', ttl: 60, data: { priority: 1, weight: 5, port: 5060, target: 'sip.surveyor.lab' } },
    ]);
    assert.deepEqual(plain(packet.authorities), [
      { name: 'SurVeyor.lab', type: 'NS', ttl: 3600, data: 'ns1.SurVeyor.lab' },
      {
        name: 'SurVeyor.lab',
        type: 'SOA',
        ttl: 3600,
        data: { mname: 'ns1.SurVeyor.lab', rname: 'hostmaster.SurVeyor.lab', serial: 2024010101, refresh: 7200, retry: 900, expire: 1209600, minimum: 300 },
      },
    ]);
    assert.deepEqual(plain(packet.additionals), [{ name: 'ns1.SurVeyor.lab', type: 'A', ttl: 3600, data: '192.0.2.53' }]);
  });

  it('writes CAA as flags, tag length, tag and value (RFC 8659 section 4.1), decodable by dns-packet', () => {
    const { wire, packet } = respond(packetQuery('surveyor.lab', { type: 'CAA' }), (w) => {
      w.answer(caaRecord('surveyor.lab', 300, 0, 'issue', 'letsencrypt.org'));
      w.answer(caaRecord('surveyor.lab', 300, 128, 'iodef', 'mailto:security@surveyor.lab'));
      w.answer(caaRecord('surveyor.lab', 300, 0, 'issuewild', ';'));
    });
    assert.deepEqual(plain(packet.answers), [
      { name: 'surveyor.lab', type: 'CAA', ttl: 300, data: { flags: 0, tag: 'issue', value: 'letsencrypt.org', issuerCritical: false } },
      { name: 'surveyor.lab', type: 'CAA', ttl: 300, data: { flags: 128, tag: 'iodef', value: 'mailto:security@surveyor.lab', issuerCritical: true } },
      { name: 'surveyor.lab', type: 'CAA', ttl: 300, data: { flags: 0, tag: 'issuewild', value: ';', issuerCritical: false } },
    ]);
    // The first record's bytes after its owner pointer: TYPE 257, CLASS IN, TTL, RDLENGTH 22, RDATA.
    const rdata = Buffer.concat([Buffer.from([0, 5]), Buffer.from('issue'), Buffer.from('letsencrypt.org')]);
    const first = Buffer.concat([Buffer.from([0xc0, 12, 1, 1, 0, 1, 0, 0, 1, 44, 0, rdata.length]), rdata]);
    const start = packetQuery('surveyor.lab', { type: 'CAA' }).length;
    assert.deepEqual(wire.subarray(start, start + first.length), first);
  });

  it('never compresses the SRV target (RFC 2782)', () => {
    const { wire } = respond(packetQuery('_sip._tcp.surveyor.lab', { type: 'SRV' }), (w) => {
      w.answer({ type: 'SRV', name: '_sip._tcp.surveyor.lab', ttl: 60, priority: 1, weight: 5, port: 5060, target: 'surveyor.lab' });
    });
    const target = Buffer.from([8, ...Buffer.from('surveyor'), 3, ...Buffer.from('lab'), 0]);
    assert.ok(wire.subarray(wire.length - target.length).equals(target));
  });

  it('compresses: ten names under one zone stay small and decode', () => {
    const names = Array.from({ length: 10 }, (_, i) => `host${i}.surveyor.lab`);
    const { wire, packet } = respond(packetQuery('surveyor.lab', { type: 'NS' }), (w) => {
      for (const name of names) w.answer({ type: 'NS', name: 'surveyor.lab', ttl: 60, target: name });
      for (const name of names) w.additional(address(name, 60, '192.0.2.1'));
    });
    assert.deepEqual(packet.answers?.map((a) => ('data' in a ? a.data : null)), names);
    assert.deepEqual(packet.additionals?.map((a) => a.name), names);
    // Uncompressed, each NS record alone would be 14 + 10 + 20 bytes; compressed: 2 + 10 + 8 and 8 + 10 + 4 for the A.
    assert.ok(wire.length <= 12 + 18 + 10 * 20 + 10 * 16, `${wire.length} bytes`);
  });

  it('sets TC and drops every record when the answer does not fit 512 bytes', () => {
    const many = (w: ResponseWriter): void => {
      for (let i = 0; i < 40; i++) w.answer(address('big.surveyor.lab', 60, `192.0.2.${i}`));
    };
    const udp = respond(packetQuery('big.surveyor.lab'), many);
    assert.equal(udp.packet.flag_tc, true);
    assert.equal(udp.packet.answers?.length, 0);
    assert.equal(udp.packet.questions?.[0]?.name, 'big.surveyor.lab');
    assert.ok(udp.wire.length <= 512);
    const edns = respond(packetQuery('big.surveyor.lab', { edns: { udpPayloadSize: 1232 } }), many);
    assert.equal(edns.packet.flag_tc, false);
    assert.equal(edns.packet.answers?.length, 40);
    const tcp = respond(packetQuery('big.surveyor.lab'), many, 65535);
    assert.equal(tcp.packet.answers?.length, 40);
  });

  it('drops the additional section alone, without TC, when that is enough', () => {
    const { packet } = respond(packetQuery('surveyor.lab', { type: 'MX' }), (w) => {
      w.answer({ type: 'MX', name: 'surveyor.lab', ttl: 60, preference: 10, exchange: 'mail.surveyor.lab' });
      for (let i = 0; i < 40; i++) w.additional(address('mail.surveyor.lab', 60, `192.0.2.${i}`));
    });
    assert.equal(packet.flag_tc, false);
    assert.equal(packet.answers?.length, 1);
    assert.equal(packet.additionals?.length, 0);
  });

  it('echoes EDNS: our size, DO, ECS with the scope set', () => {
    const message = packetQuery('www.surveyor.lab', { edns: { udpPayloadSize: 4096, do: true, ecs: { family: 1, source: 24, ip: '10.1.2.0' } } });
    const { packet } = respond(message, (w) => w.answer(address('www.surveyor.lab', 20, '192.0.2.10')), undefined, 16);
    const opt = packet.additionals?.[0] as unknown as { type: string; udpPayloadSize: number; flag_do: boolean; ednsVersion: number; options: Array<Record<string, unknown>> };
    assert.equal(opt.type, 'OPT');
    assert.equal(opt.udpPayloadSize, 1232);
    assert.equal(opt.flag_do, true);
    assert.equal(opt.ednsVersion, 0);
    assert.equal(opt.options.length, 1);
    assert.equal(opt.options[0]!.code, 8);
    assert.equal(opt.options[0]!.family, 1);
    assert.equal(opt.options[0]!.sourcePrefixLength, 24);
    assert.equal(opt.options[0]!.scopePrefixLength, 16);
    assert.equal(opt.options[0]!.ip, '10.1.2.0');
    const v6 = respond(packetQuery('www.surveyor.lab', { edns: { ecs: { family: 2, source: 48, ip: '2001:db8:7::' } } }), () => {}, undefined, 200);
    const option = (v6.packet.additionals?.[0] as unknown as { options: Array<Record<string, unknown>> }).options[0]!;
    assert.equal(option.scopePrefixLength, 128, 'the scope is clamped to the family');
    assert.equal(option.ip, '2001:db8:7::');
  });

  it('answers errors: FORMERR with the question, NOTIMP echoing the opcode, BADVERS in the OPT', () => {
    const formerr = Buffer.concat([header({ ar: 2 }), question('a.lab'), packetQuery('a.lab', { edns: {} }).subarray(-11), packetQuery('a.lab', { edns: {} }).subarray(-11)]);
    const verdict = parseQuery(formerr, query);
    assert.equal(verdict, QueryVerdict.FORMERR);
    writer.begin(query, formerr, verdictRcode(verdict));
    let packet = decode(writer.buf.subarray(0, writer.finish(udpLimit(query))));
    assert.equal(headerText(packet).rcode, 'FORMERR');
    assert.equal(packet.questions?.[0]?.name, 'a.lab');

    const status = Buffer.concat([header({ flags: (2 << 11) | 0x100 }), question('a.lab')]);
    assert.equal(parseQuery(status, query), QueryVerdict.NOTIMP);
    writer.begin(query, status, Rcode.NOTIMP);
    packet = decode(writer.buf.subarray(0, writer.finish(udpLimit(query))));
    assert.equal(headerText(packet).rcode, 'NOTIMP');
    assert.equal(headerText(packet).opcode, 'STATUS');

    const badvers = packetQuery('a.lab', { edns: { version: 1 } });
    assert.equal(parseQuery(badvers, query), QueryVerdict.BADVERS);
    writer.begin(query, badvers, verdictRcode(QueryVerdict.BADVERS));
    const wire = writer.buf.subarray(0, writer.finish(udpLimit(query)));
    packet = decode(wire);
    assert.equal(wire[3]! & 0xf, 0);
    const opt = packet.additionals?.[0] as unknown as { extendedRcode: number; ednsVersion: number };
    assert.equal(opt.extendedRcode, 1, 'BADVERS = 16: upper bits 1 in the OPT');
    assert.equal(opt.ednsVersion, 0);

    const nothing = Buffer.concat([header({ qd: 0 })]);
    assert.equal(parseQuery(nothing, query), QueryVerdict.FORMERR);
    writer.begin(query, nothing, Rcode.FORMERR);
    packet = decode(writer.buf.subarray(0, writer.finish(512)));
    assert.equal(packet.questions?.length, 0);
    assert.equal(headerText(packet).rcode, 'FORMERR');
  });

  it('answers NXDOMAIN with the SOA in the authority section', () => {
    const message = packetQuery('nope.surveyor.lab');
    assert.equal(parseQuery(message, query), QueryVerdict.OK);
    writer.begin(query, message, Rcode.NXDOMAIN);
    writer.authority({ ...SOA, ttl: 300 });
    const packet = decode(writer.buf.subarray(0, writer.finish(512)));
    assert.equal(headerText(packet).rcode, 'NXDOMAIN');
    assert.equal(packet.answers?.length, 0);
    assert.equal(packet.authorities?.[0]?.type, 'SOA');
  });

  it('refuses records out of section order', () => {
    const message = packetQuery('a.lab');
    parseQuery(message, query);
    writer.begin(query, message);
    writer.authority(SOA);
    assert.throws(() => writer.answer(address('a.lab', 1, '192.0.2.1')), /section order/);
  });
});
