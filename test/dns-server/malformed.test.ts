// What Fulcrum does with messages it cannot or will not answer, through real sockets: NOTIMP for
// opcodes other than QUERY, FORMERR for malformed queries (with the ID echoed so the client can
// match it), and nothing at all for responses (QR set: answering them invites reflection loops)
// and for packets shorter than a header. Issue 5: "NOTIMP for unknown opcodes, FORMERR for
// malformed packets".
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encode } from 'dns-packet';
import { countsOf, ecsOf, frameLength, query, rcodeOf, RCODE, TcpClient, tcpQuery, toReply, udpQuery, udpSilence, UdpClient, type Reply } from './client.ts';
import { assertAnswers } from './assertions.ts';
import { startDnsFulcrum, type DnsFulcrum } from './fixture.ts';

let dns: DnsFulcrum;

before(async () => {
  dns = await startDnsFulcrum();
});

after(() => dns.stop());

const ID = 0x5a5a;

function header(fields: { flags?: number; qd?: number; an?: number; ns?: number; ar?: number }): Buffer {
  const buf = Buffer.alloc(12);
  buf.writeUInt16BE(ID, 0);
  buf.writeUInt16BE(fields.flags ?? 0x0100, 2);
  buf.writeUInt16BE(fields.qd ?? 1, 4);
  buf.writeUInt16BE(fields.an ?? 0, 6);
  buf.writeUInt16BE(fields.ns ?? 0, 8);
  buf.writeUInt16BE(fields.ar ?? 0, 10);
  return buf;
}

/** QTYPE A, QCLASS IN. */
const A_IN = Buffer.from([0, 1, 0, 1]);
const WWW_WIRE = Buffer.from('\x03www\x08surveyor\x03lab\x00', 'latin1');
const valid = query('www.surveyor.lab', { id: ID });

/** The raw queries that must be FORMERR, each with why. */
const FORMERR: Array<[string, Buffer]> = [
  ['QDCOUNT 2', encode({ type: 'query', id: ID, flags: 0x0100, questions: [{ name: 'www.surveyor.lab', type: 'A' }, { name: 'mail.surveyor.lab', type: 'A' }] })],
  ['QDCOUNT 0', header({ qd: 0 })],
  ['the question cut before QCLASS', valid.subarray(0, valid.length - 2)],
  ['the question name cut inside a label', valid.subarray(0, 16)],
  ['a label of 64 bytes', Buffer.concat([header({}), Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from('\x08surveyor\x03lab\x00', 'latin1'), A_IN])],
  ['a label type 0x40 (extended label, RFC 6891 obsoleted)', Buffer.concat([header({}), Buffer.from([0x41]), Buffer.alloc(1, 0x61), Buffer.from([0]), A_IN])],
  ['a compression pointer in the question', Buffer.concat([header({}), Buffer.from([0xc0, 12]), A_IN])],
  ['a name of 256 bytes', Buffer.concat([header({}), ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([50]), Buffer.alloc(50, 0x62)])), Buffer.from([0]), A_IN])],
  ['ANCOUNT 1 with no record', Buffer.concat([header({ an: 1 }), WWW_WIRE, A_IN])],
  ['bytes after the last record', Buffer.concat([valid, Buffer.from([0, 0, 0])])],
  ['two OPT records', twoOpts()],
  ['an ECS option with address bits past its source prefix (RFC 7871 7.1.1)', query('www.surveyor.lab', { id: ID, edns: { ecs: { family: 1, source: 20, ip: '10.2.3.0' } } })],
  ['an ECS option of an unknown family', ecsWithFamily(3)],
];

/** The query's own OPT twice, ARCOUNT 2. */
function twoOpts(): Buffer {
  const once = query('www.surveyor.lab', { id: ID, edns: {} });
  const twice = Buffer.concat([once, once.subarray(once.length - 11)]);
  twice.writeUInt16BE(2, 10);
  return twice;
}

function ecsWithFamily(family: number): Buffer {
  const message = query('www.surveyor.lab', { id: ID, edns: { ecs: { family: 1, source: 24, ip: '10.2.3.0' } } });
  // OPT: root 1, TYPE 2, CLASS 2, TTL 4, RDLENGTH 2, then OPTION-CODE 2, OPTION-LENGTH 2, FAMILY.
  message.writeUInt16BE(family, message.length - 3 - 4);
  return message;
}

function assertFormerr(reply: Reply): void {
  assert.equal(reply.bytes.readUInt16BE(0), ID, 'the ID is echoed');
  assert.equal(reply.packet.flag_qr, true);
  assert.equal(rcodeOf(reply), RCODE.FORMERR);
  const counts = countsOf(reply.bytes);
  assert.deepEqual([counts.an, counts.ns], [0, 0], 'no records');
  assert.ok(counts.qd <= 1);
}

describe('NOTIMP for opcodes other than QUERY', () => {
  const opcodes: Array<[number, string]> = [
    [1, 'IQUERY (obsolete)'],
    [2, 'STATUS'],
    [3, 'unassigned'],
    [4, 'NOTIFY'],
    [5, 'UPDATE'],
    [6, 'DSO'],
    [15, 'unassigned'],
  ];
  for (const [opcode, name] of opcodes) {
    it(`opcode ${opcode} (${name}): NOTIMP over UDP and TCP, opcode and question echoed`, async () => {
      for (const send of [udpQuery, tcpQuery]) {
        const message = query('www.surveyor.lab', { flags: (opcode << 11) | 0x0100 });
        const reply = await send(dns.port, message);
        assertAnswers(reply, message);
        assert.equal(rcodeOf(reply), RCODE.NOTIMP);
        assert.equal(countsOf(reply.bytes).an, 0);
      }
    });
  }

  it('NOTIMP to a query with EDNS carries an OPT (RFC 6891 7: "MUST include an OPT record"), its ECS with scope 0', async () => {
    for (const send of [udpQuery, tcpQuery]) {
      const ecs = { family: 1, source: 24, ip: '10.2.3.0' };
      const message = query('surveyor.lab', { type: 'SOA', flags: 4 << 11, edns: { udpPayloadSize: 4096, ecs } });
      const reply = await send(dns.port, message);
      assertAnswers(reply, message);
      assert.equal(rcodeOf(reply), RCODE.NOTIMP);
      const opt = reply.packet.additionals?.find((r) => r.type === 'OPT');
      assert.ok(opt !== undefined && opt.type === 'OPT', 'an OPT in the NOTIMP answer');
      assert.equal(opt.ednsVersion, 0);
      assert.deepEqual(ecsOf(reply), { family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '10.2.3.0' });
    }
  });
});

describe('FORMERR for malformed queries', () => {
  it('a sanity check of the hand-made ECS mutation: the same query with family 1 is answered', async () => {
    const reply = await udpQuery(dns.port, ecsWithFamily(1));
    assert.equal(rcodeOf(reply), RCODE.NOERROR);
  });

  for (const [what, message] of FORMERR) {
    it(`${what}: FORMERR over UDP and TCP`, async () => {
      assertFormerr(await udpQuery(dns.port, message));
      assertFormerr(await tcpQuery(dns.port, message));
    });
  }
});

describe('silence: no answer at all', () => {
  const response = Buffer.from(valid);
  response[2]! |= 0x80;
  const silent: Array<[string, Buffer]> = [
    ['a response (QR set)', response],
    ['a response carrying an error RCODE (no reflection loops between servers)', (() => {
      const r = Buffer.from(valid);
      r.writeUInt16BE(0x8183, 2);
      return r;
    })()],
    ['11 bytes, shorter than a header', valid.subarray(0, 11)],
    ['2 bytes', Buffer.from([0x12, 0x34])],
    ['an empty datagram', Buffer.alloc(0)],
  ];

  for (const [what, bytes] of silent) {
    it(`${what}, over UDP: the probe sent after it is the first thing back`, async () => {
      const before = await udpSilence(dns.port, bytes);
      assert.deepEqual(before, [], 'nothing answered the packet');
    });
  }

  it('the same over TCP: bad frames then a probe in one write; the first answer is the probe\'s, the connection stays', async () => {
    const client = await TcpClient.connect(dns.port);
    try {
      const probe = query('surveyor.lab', { type: 'SOA', id: 0x0bb0 });
      const frames = [...silent.map(([, bytes]) => bytes), probe];
      await client.writeRaw(Buffer.concat(frames.flatMap((frame) => [frameLength(frame.length), frame])));
      const first = toReply(await client.next());
      assert.equal(first.packet.id, 0x0bb0);
      assert.equal(rcodeOf(first), RCODE.NOERROR);
      assert.equal(client.queued, 0);
      // Still usable.
      const again = await client.query(query('www.surveyor.lab', { id: 0x0bb1 }));
      assert.equal(again.packet.id, 0x0bb1);
    } finally {
      await client.close();
    }
  });

  it('a UDP socket that sends only responses gets nothing back, however many', async () => {
    const client = await UdpClient.open(dns.port);
    try {
      for (let i = 0; i < 50; i++) await client.send(response);
      const probe = query('surveyor.lab', { type: 'SOA' });
      await client.exchange(probe);
      assert.deepEqual(client.unexpected, []);
    } finally {
      await client.close();
    }
  });
});
