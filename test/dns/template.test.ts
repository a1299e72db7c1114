// Template answers equal the ResponseWriter's answer to the same query byte for byte, whatever
// the client's case, EDNS, ECS or size limit; a new template replaces the old on a change.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode } from 'dns-packet';
import { ParsedQuery, QueryVerdict, parseQuery, udpLimit } from '../../src/dns/query.ts';
import { addressRecord } from '../../src/dns/records.ts';
import { ResponseWriter } from '../../src/dns/response.ts';
import { answerFromTemplate, buildTemplate } from '../../src/dns/template.ts';
import { Rcode, type AnswerSections, type DnsRecord } from '../../src/dns/types.ts';
import { headerText, packetQuery, type QueryOptions } from './helpers.ts';

const query = new ParsedQuery();
const writer = new ResponseWriter();
const out = Buffer.alloc(65_535);

function a(name: string, text: string, ttl = 20): DnsRecord {
  const record = addressRecord(name, ttl, text);
  assert.ok(record !== null);
  return record;
}

const SOA: DnsRecord = {
  type: 'SOA',
  name: 'surveyor.lab',
  ttl: 300,
  mname: 'ns1.surveyor.lab',
  rname: 'hostmaster.surveyor.lab',
  serial: 7,
  refresh: 3600,
  retry: 600,
  expire: 86400,
  minimum: 300,
};

function slowPath(message: Buffer, sections: AnswerSections, limit: number, scope: number, rcode: number = Rcode.NOERROR): Buffer {
  writer.begin(query, message, rcode);
  for (const r of sections.answer) writer.answer(r);
  for (const r of sections.authority ?? []) writer.authority(r);
  for (const r of sections.additional ?? []) writer.additional(r);
  return Buffer.from(writer.buf.subarray(0, writer.finish(limit, scope)));
}

describe('answer templates', () => {
  const sections: AnswerSections = {
    answer: [a('www.surveyor.lab', '192.0.2.10'), a('www.surveyor.lab', '198.51.100.20'), { type: 'CNAME', name: 'www.surveyor.lab', ttl: 20, target: 'edge.surveyor.lab' }],
    authority: [{ type: 'NS', name: 'surveyor.lab', ttl: 3600, target: 'ns1.surveyor.lab' }],
    additional: [a('ns1.surveyor.lab', '192.0.2.53', 3600)],
  };
  const template = buildTemplate('www.surveyor.lab', 1, sections);
  const variants: Array<[string, string, QueryOptions, number | null]> = [
    ['lower case, no EDNS', 'www.surveyor.lab', {}, null],
    ['mixed case, RD clear', 'WWW.SurVEYor.lAb', { flags: 0 }, null],
    ['CD set', 'www.surveyor.lab', { flags: 0x0110 }, null],
    ['EDNS with DO', 'Www.surveyor.lab', { edns: { do: true, udpPayloadSize: 1400 } }, null],
    ['EDNS with ECS', 'www.surveyor.LAB', { edns: { ecs: { family: 1, source: 24, ip: '10.2.3.0' } } }, null],
    ['over TCP', 'www.surveyor.lab', {}, 65_535],
    // Question ends at 34, answer and authority at 103, the additional A at 119.
    ['truncated to the additional section', 'www.surveyor.lab', {}, 110],
    ['truncated fully', 'www.surveyor.lab', {}, 60],
  ];
  for (const [name, qname, options, limitOverride] of variants) {
    it(`equals the slow path: ${name}`, () => {
      const message = packetQuery(qname, { ...options, id: 0x5a5a });
      assert.equal(parseQuery(message, query), QueryVerdict.OK);
      const limit = limitOverride ?? udpLimit(query);
      const length = answerFromTemplate(template, query, message, out, limit, 20);
      assert.ok(length > 0);
      const fast = out.subarray(0, length);
      const slow = slowPath(message, sections, limit, 20);
      assert.deepEqual([...fast], [...slow]);
      const packet = decode(fast);
      assert.equal(packet.id, 0x5a5a);
      assert.equal(packet.questions?.[0]?.name, qname);
      assert.equal(packet.flag_tc, limit < 103);
      assert.equal(packet.answers?.length, limit < 103 ? 0 : 3);
      const additionals = packet.additionals?.filter((r) => r.type !== 'OPT').length;
      assert.equal(additionals, limit < 119 ? 0 : 1);
    });
  }

  it('decodes to the records with the client case', () => {
    const message = packetQuery('WWW.surveyor.lab');
    parseQuery(message, query);
    const packet = decode(out.subarray(0, answerFromTemplate(template, query, message, out, 512)));
    assert.deepEqual(
      packet.answers?.map((r) => [r.name, r.type, 'data' in r ? r.data : null]),
      [
        ['WWW.surveyor.lab', 'A', '192.0.2.10'],
        ['WWW.surveyor.lab', 'A', '198.51.100.20'],
        ['WWW.surveyor.lab', 'CNAME', 'edge.surveyor.lab'],
      ],
    );
    assert.equal(packet.flag_aa, true);
  });

  it('refuses another question, leaving it to the slow path', () => {
    for (const [name, type] of [
      ['www.surveyor.lax', 'A'],
      ['www.surveyor.lab', 'AAAA'],
      ['ww.surveyor.lab', 'A'],
    ] as const) {
      const message = packetQuery(name, { type });
      parseQuery(message, query);
      assert.equal(answerFromTemplate(template, query, message, out, 512), -1, `${name} ${type}`);
    }
  });

  it('templates negative answers (NXDOMAIN with the SOA)', () => {
    const negative = buildTemplate('gone.surveyor.lab', 1, { answer: [], authority: [SOA] }, { rcode: Rcode.NXDOMAIN });
    const message = packetQuery('GONE.surveyor.lab', { edns: {} });
    parseQuery(message, query);
    const length = answerFromTemplate(negative, query, message, out, udpLimit(query));
    assert.deepEqual([...out.subarray(0, length)], [...slowPath(message, { answer: [], authority: [SOA] }, udpLimit(query), 0, Rcode.NXDOMAIN)]);
    assert.equal(headerText(decode(out.subarray(0, length))).rcode, 'NXDOMAIN');
  });

  it('is rebuilt, not patched, when the answer changes (site failover)', () => {
    const primary = buildTemplate('www.surveyor.lab', 1, { answer: [a('www.surveyor.lab', '192.0.2.10')] });
    const drc = buildTemplate('www.surveyor.lab', 1, { answer: [a('www.surveyor.lab', '198.51.100.20')] });
    const message = packetQuery('www.surveyor.lab');
    parseQuery(message, query);
    let current = primary;
    const answerNow = (): unknown => {
      const packet = decode(out.subarray(0, answerFromTemplate(current, query, message, out, 512)));
      return packet.answers?.[0] !== undefined && 'data' in packet.answers[0] ? packet.answers[0].data : null;
    };
    assert.equal(answerNow(), '192.0.2.10');
    current = drc;
    assert.equal(answerNow(), '198.51.100.20');
  });

  it('rejects a name it cannot carry', () => {
    assert.throws(() => buildTemplate('Upper.lab', 1, { answer: [] }), /lower-case/);
    assert.throws(() => buildTemplate(`${'a'.repeat(64)}.lab`, 1, { answer: [] }), /valid/);
  });
});
