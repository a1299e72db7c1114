// EDNS(0) (RFC 6891) and truncation, through real sockets: an FQDN answering 40 addresses
// (all-available over 40 sites) does not fit 512 bytes. Issue 5: "EDNS(0) with the client's
// buffer size honoured and truncation with TC set then a full answer over TCP".
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { answersOf, countsOf, query, rcodeOf, RCODE, tcpQuery, udpQuery, type Reply } from './client.ts';
import { assertAnswers } from './assertions.ts';
import { startDnsFulcrum, type DnsFulcrum } from './fixture.ts';

const SITES = Array.from({ length: 40 }, (_, i) => ({ name: `site${i + 1}`, address: `198.18.0.${i + 1}` }));
const ALL = SITES.map((site) => site.address).sort();
const NAME = 'many.surveyor.lab';
/** Header 12, question 19 + 4, 40 records of 16 bytes (owner pointer 2, fixed 10, address 4). */
const FULL_SIZE = 12 + 23 + 40 * 16;

let dns: DnsFulcrum;

before(async () => {
  dns = await startDnsFulcrum({ fqdns: [{ name: NAME, selection: 'all-available', sites: SITES }] });
});

after(() => dns.stop());

function optOf(reply: Reply) {
  const opt = reply.packet.additionals?.find((r) => r.type === 'OPT');
  return opt !== undefined && opt.type === 'OPT' ? opt : undefined;
}

function sortedAddresses(reply: Reply): string[] {
  return (answersOf(reply, 'A') as string[]).sort();
}

describe('EDNS(0) and truncation', () => {
  it('without EDNS over UDP: TC set, within 512 bytes, no partial RRset to cache', async () => {
    const message = query(NAME);
    const reply = await udpQuery(dns.port, message);
    assertAnswers(reply, message);
    assert.equal(rcodeOf(reply), RCODE.NOERROR);
    assert.equal(reply.packet.flag_tc, true, 'TC: the answer is longer than 512 bytes');
    assert.ok(reply.bytes.length <= 512, `${reply.bytes.length} bytes`);
    assert.equal(countsOf(reply.bytes).an, 0, 'no part of the RRset (RFC 2181 9)');
    assert.equal(optOf(reply), undefined, 'no OPT to a query without one');
  });

  it('the same query over TCP: the whole answer, 40 addresses', async () => {
    const reply = await tcpQuery(dns.port, query(NAME));
    assert.equal(reply.packet.flag_tc, false);
    assert.deepEqual(sortedAddresses(reply), ALL);
    assert.equal(reply.bytes.length, FULL_SIZE);
  });

  it('EDNS 4096 over UDP: the whole answer, the OPT echoed (version 0, our size, DO copied)', async () => {
    const message = query(NAME, { edns: { udpPayloadSize: 4096, do: true } });
    const reply = await udpQuery(dns.port, message);
    assertAnswers(reply, message);
    assert.equal(reply.packet.flag_tc, false);
    assert.deepEqual(sortedAddresses(reply), ALL);
    const opt = optOf(reply);
    assert.ok(opt !== undefined, 'an OPT in the answer');
    assert.equal(opt.ednsVersion, 0);
    assert.equal(opt.udpPayloadSize, 1232, 'Fulcrum advertises 1232 (DNS Flag Day 2020)');
    assert.equal(opt.flags & 0x8000, 0x8000, 'DO copied (RFC 3225)');
    assert.equal(reply.bytes.length, FULL_SIZE + 11);
  });

  it('the client\'s size, not ours: 700 holds the answer, 600 does not', async () => {
    assert.ok(FULL_SIZE + 11 <= 700 && FULL_SIZE + 11 > 600, 'the sizes bracket the answer');
    const fits = await udpQuery(dns.port, query(NAME, { edns: { udpPayloadSize: 700 } }));
    assert.equal(fits.packet.flag_tc, false);
    assert.deepEqual(sortedAddresses(fits), ALL);
    const short = await udpQuery(dns.port, query(NAME, { edns: { udpPayloadSize: 600 } }));
    assert.equal(short.packet.flag_tc, true);
    assert.ok(short.bytes.length <= 600);
    assert.ok(optOf(short) !== undefined, 'the OPT stays in a truncated answer');
    assert.equal(optOf(short)!.flags & 0x8000, 0, 'DO clear when the query had it clear');
  });

  it('EDNS with a size below 512 counts as 512 (RFC 6891 6.2.5): a small answer still comes whole', async () => {
    const reply = await udpQuery(dns.port, query('mail.surveyor.lab', { edns: { udpPayloadSize: 100 } }));
    assert.equal(reply.packet.flag_tc, false);
    assert.deepEqual(answersOf(reply, 'A'), ['192.0.2.25']);
    const big = await udpQuery(dns.port, query(NAME, { edns: { udpPayloadSize: 100 } }));
    assert.equal(big.packet.flag_tc, true);
    assert.ok(big.bytes.length <= 512);
  });

  it('over TCP, an EDNS size smaller than the answer does not truncate', async () => {
    const reply = await tcpQuery(dns.port, query(NAME, { edns: { udpPayloadSize: 512 } }));
    assert.equal(reply.packet.flag_tc, false);
    assert.deepEqual(sortedAddresses(reply), ALL);
  });

  for (const [transport, send] of [['UDP', udpQuery], ['TCP', tcpQuery]] as const) {
    it(`EDNS version 1 over ${transport}: BADVERS (16, in the OPT's extended RCODE), version 0 offered, no records`, async () => {
      const message = query(NAME, { edns: { version: 1 } });
      const reply = await send(dns.port, message);
      assertAnswers(reply, message);
      assert.equal(rcodeOf(reply), RCODE.BADVERS);
      assert.equal(reply.bytes[3]! & 0x0f, 0, 'the low 4 bits of BADVERS are 0');
      const opt = optOf(reply);
      assert.ok(opt !== undefined);
      assert.equal(opt.extendedRcode, 1);
      assert.equal(opt.ednsVersion, 0, 'the version we speak');
      assert.deepEqual(countsOf(reply.bytes), { qd: 1, an: 0, ns: 0, ar: 1 });
    });
  }

  it('a truncated answer over UDP then TCP, as a resolver does it, gives the same ID and the whole RRset', async () => {
    const message = query(NAME, { id: 0x7777 });
    const udp = await udpQuery(dns.port, message);
    assert.equal(udp.packet.flag_tc, true);
    const tcp = await tcpQuery(dns.port, message);
    assert.equal(tcp.packet.id, 0x7777);
    assert.deepEqual(sortedAddresses(tcp), ALL);
  });
});
