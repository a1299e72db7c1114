// Names with zone-file escapes (the SOA RNAME john\.doe.example.com, RFC 1035 section 8) go on
// the wire with the escaped dot inside one label. dns-packet reads an RNAME's labels back with
// their dots escaped whether the wire holds one label "john.doe" or two labels "john\" and "doe",
// so these tests look at the label bytes too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { ParsedQuery, QueryVerdict, parseQuery } from '../../src/dns/query.ts';
import { CompressionTable, isValidDnsName, writeName } from '../../src/dns/names.ts';
import { ResponseWriter } from '../../src/dns/response.ts';
import type { DnsRecord } from '../../src/dns/types.ts';
import { packetQuery, wireName } from './helpers.ts';

/** dns-packet's name codec, which its type declarations leave out. */
const packetName = (dnsPacket as unknown as { name: { decode(buf: Buffer, offset: number, options?: { mail?: boolean }): string } }).name;

/** The labels of the name at `offset`, following compression pointers, each as latin1 text. */
function labelsAt(wire: Buffer, offset: number): string[] {
  const labels: string[] = [];
  let at = offset;
  for (let length = wire[at]!; length !== 0; length = wire[at]!) {
    if ((length & 0xc0) === 0xc0) {
      at = wire.readUInt16BE(at) & 0x3fff;
      continue;
    }
    labels.push(wire.toString('latin1', at + 1, at + 1 + length));
    at += 1 + length;
  }
  return labels;
}

function written(name: string): Buffer {
  const buf = Buffer.alloc(300);
  return buf.subarray(0, writeName(buf, 0, name, null));
}

describe('names with escapes', () => {
  it('writes \\. \\\\ and \\DDD as the byte they stand for, inside one label', () => {
    assert.deepEqual(written('john\\.doe.example.com'), Buffer.concat([Buffer.from([8]), Buffer.from('john.doe'), wireName('example.com')]));
    assert.deepEqual(labelsAt(written('a\\\\b.c'), 0), ['a\\b', 'c']);
    assert.deepEqual(labelsAt(written('a\\046b\\255.c'), 0), ['a.b\xff', 'c']);
    assert.deepEqual(labelsAt(written('a.b\\.c'), 0), ['a', 'b.c'], 'an escape in the last label');
    assert.deepEqual(written('www.example.com'), wireName('www.example.com'), 'plain names as before');
  });

  it('compresses the plain suffix of an escaped name, never the escaped labels', () => {
    const buf = Buffer.alloc(300);
    const table = new CompressionTable();
    let end = writeName(buf, 12, 'ns1.example.com', table);
    const rname = end;
    end = writeName(buf, end, 'john\\.doe.example.com', table);
    // "john.doe" in full (9 bytes), then a pointer to example.com at 12 + 4.
    assert.equal(end - rname, 9 + 2);
    assert.deepEqual(buf.subarray(rname + 9, end), Buffer.from([0xc0, 16]));
    assert.deepEqual(labelsAt(buf, rname), ['john.doe', 'example', 'com']);
    // A second john\.doe is written in full again: the table holds no escaped suffix.
    const again = end;
    end = writeName(buf, end, 'john\\.doe.example.com', table);
    assert.deepEqual(labelsAt(buf, again), ['john.doe', 'example', 'com']);
    assert.equal(end - again, 11);
  });

  it('isValidDnsName reads escapes: label and name lengths count bytes, bad escapes fail', () => {
    for (const name of ['', 'a', 'john\\.doe.example.com', 'a\\\\b', 'a\\046b', `${'x'.repeat(62)}\\..com`, `${'a.'.repeat(126)}b`]) {
      assert.equal(isValidDnsName(name), true, name);
    }
    for (const name of ['a.', '.a', 'a..b', 'a\\', 'a\\04', 'a\\256', 'a\\04x', `${'x'.repeat(63)}\\..com`, `${'a.'.repeat(127)}b`, 'a\u0100']) {
      assert.equal(isValidDnsName(name), false, name);
    }
  });

  it('writes the SOA RNAME john\\.doe.surveyor.lab with "john.doe" as its first label, which dns-packet decodes', () => {
    const query = new ParsedQuery();
    const message = packetQuery('surveyor.lab', { type: 'SOA' });
    assert.equal(parseQuery(message, query), QueryVerdict.OK);
    const writer = new ResponseWriter();
    writer.begin(query, message);
    const soa: DnsRecord = { type: 'SOA', name: 'surveyor.lab', ttl: 300, mname: 'ns1.surveyor.lab', rname: 'john\\.doe.surveyor.lab', serial: 1, refresh: 3600, retry: 900, expire: 1_209_600, minimum: 60 };
    writer.answer(soa);
    const wire = Buffer.from(writer.buf.subarray(0, writer.finish(512)));
    const packet = dnsPacket.decode(wire);
    const answer = packet.answers?.[0];
    assert.ok(answer?.type === 'SOA');
    assert.equal(answer.data.rname, 'john\\.doe.surveyor.lab', 'dns-packet shows the dot in the label escaped');
    assert.equal(answer.data.mname, 'ns1.surveyor.lab');
    const label = Buffer.concat([Buffer.from([8]), Buffer.from('john.doe')]);
    const at = wire.indexOf(label);
    assert.ok(at > 0, 'one 8-byte label "john.doe"');
    assert.equal(wire.indexOf(Buffer.from('john\\')), -1, 'no backslash on the wire');
    assert.equal(packetName.decode(wire, at), 'john.doe.surveyor.lab', 'then the labels of surveyor.lab');
    assert.deepEqual(labelsAt(wire, at), ['john.doe', 'surveyor', 'lab']);
  });
});
