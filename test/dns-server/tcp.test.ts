// DNS over TCP through a real Fulcrum (RFC 1035 4.2.2, RFC 7766): each message has a 2-byte
// length; many may be pipelined on one connection and come back in order; a message may arrive
// in any number of pieces; a connection half-closed after its query still gets the answer.
// The idle timeout itself (10 s in the server, not configurable) is tested in tcp-idle.test.ts
// against a DnsTcpServer with a short one; here, a stalled connection harms no one else.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { answersOf, frameLength, query, rcodeOf, RCODE, TcpClient, toReply, udpQuery, type QueryOptions } from './client.ts';
import { assertAnswers } from './assertions.ts';
import { startDnsFulcrum, WWW, type DnsFulcrum } from './fixture.ts';

let dns: DnsFulcrum;

before(async () => {
  dns = await startDnsFulcrum({ fqdns: [WWW], workers: 1 });
});

after(() => dns.stop());

/** A mix of answers of every kind, each with what its answer must hold. */
const KINDS: Array<[string, QueryOptions['type'], number, string | null]> = [
  ['www.surveyor.lab', 'A', RCODE.NOERROR, '192.0.2.10'],
  ['mail.surveyor.lab', 'A', RCODE.NOERROR, '192.0.2.25'],
  ['nope.surveyor.lab', 'A', RCODE.NXDOMAIN, null],
  ['example.com', 'A', RCODE.REFUSED, null],
  ['surveyor.lab', 'MX', RCODE.NOERROR, null],
  ['ftp.surveyor.lab', 'A', RCODE.NOERROR, '192.0.2.10'],
];

describe('DNS over TCP', () => {
  it('300 queries pipelined in one write: 300 answers, in order, each right', async () => {
    const client = await TcpClient.connect(dns.port);
    try {
      const sent = Array.from({ length: 300 }, (_, i) => {
        const [name, type, rcode, address] = KINDS[i % KINDS.length]!;
        return { message: query(name, { type, id: 1000 + i }), rcode, address };
      });
      await client.send(...sent.map((s) => s.message));
      for (const [i, s] of sent.entries()) {
        const reply = toReply(await client.next());
        assertAnswers(reply, s.message);
        assert.equal(reply.packet.id, 1000 + i, `answer ${i} in order`);
        assert.equal(rcodeOf(reply), s.rcode);
        if (s.address !== null) assert.deepEqual(answersOf(reply, 'A'), [s.address]);
      }
    } finally {
      await client.close();
    }
  });

  it('5000 pipelined queries from a client that reads only after writing them all: every answer, in order', async () => {
    const client = await TcpClient.connect(dns.port);
    try {
      const count = 5000;
      const messages = Array.from({ length: count }, (_, i) => query('www.surveyor.lab', { id: i + 1 }));
      client.socket.pause();
      const written = client.send(...messages);
      // Round trips elsewhere while this client reads nothing: the server answers into a full pipe.
      for (let i = 0; i < 5; i++) await udpQuery(dns.port, query('surveyor.lab', { type: 'SOA' }));
      client.socket.resume();
      for (let i = 0; i < count; i++) {
        const answer = await client.next();
        assert.equal(answer.readUInt16BE(0), i + 1);
      }
      await written;
    } finally {
      await client.close();
    }
  });

  it('one message written a byte at a time, its length prefix split too', async () => {
    const client = await TcpClient.connect(dns.port);
    try {
      const message = query('www.surveyor.lab', { id: 0x4444 });
      const framed = Buffer.concat([frameLength(message.length), message]);
      for (let i = 0; i < framed.length; i++) await client.writeRaw(framed.subarray(i, i + 1));
      const reply = toReply(await client.next());
      assertAnswers(reply, message);
      assert.deepEqual(answersOf(reply, 'A'), ['192.0.2.10']);
    } finally {
      await client.close();
    }
  });

  it('three messages cut at awkward places: inside a prefix, inside a message, two in one piece', async () => {
    const client = await TcpClient.connect(dns.port);
    try {
      const messages = [query('www.surveyor.lab', { id: 1 }), query('mail.surveyor.lab', { id: 2 }), query('surveyor.lab', { type: 'SOA', id: 3 })];
      const stream = Buffer.concat(messages.flatMap((m) => [frameLength(m.length), m]));
      const first = 2 + messages[0]!.length + 1; // ends after the first byte of the second prefix
      const cuts = [first, first + 10, stream.length - 5, stream.length];
      let from = 0;
      for (const cut of cuts) {
        await client.writeRaw(stream.subarray(from, cut));
        // A round trip elsewhere, so the pieces reach the server as separate reads.
        await udpQuery(dns.port, query('surveyor.lab', { type: 'SOA' }));
        from = cut;
      }
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await client.next()).readUInt16BE(0));
      assert.deepEqual(ids, [1, 2, 3]);
    } finally {
      await client.close();
    }
  });

  it('a query then FIN (half-close): the answer still comes, then the server closes', async () => {
    const client = await TcpClient.connect(dns.port);
    const message = query('www.surveyor.lab', { id: 0x5555 });
    client.socket.end(Buffer.concat([frameLength(message.length), message]));
    const reply = toReply(await client.next());
    assert.equal(reply.packet.id, 0x5555);
    await client.closed;
  });

  it('a connection stalled after half a length prefix holds nothing up; completed later, it is answered', async () => {
    const stalled = await TcpClient.connect(dns.port);
    const other = await TcpClient.connect(dns.port);
    try {
      const message = query('mail.surveyor.lab', { id: 0x6666 });
      const framed = Buffer.concat([frameLength(message.length), message]);
      await stalled.writeRaw(framed.subarray(0, 1));
      // Meanwhile the server answers others over both transports.
      for (let i = 0; i < 20; i++) assert.equal((await other.query(query('www.surveyor.lab', { id: 100 + i }))).packet.id, 100 + i);
      assert.equal(rcodeOf(await udpQuery(dns.port, query('www.surveyor.lab'))), RCODE.NOERROR);
      assert.equal(stalled.queued, 0, 'nothing answered for half a prefix');
      assert.equal(stalled.socket.destroyed, false, 'still open (the idle timeout is 10 s)');
      await stalled.writeRaw(framed.subarray(1));
      const reply = toReply(await stalled.next());
      assert.equal(reply.packet.id, 0x6666);
      assert.deepEqual(answersOf(reply, 'A'), ['192.0.2.25']);
    } finally {
      await stalled.close();
      await other.close();
    }
  });

  it('a message longer than its prefix says is read as the prefix says: the rest starts the next message', async () => {
    const client = await TcpClient.connect(dns.port);
    try {
      const a = query('www.surveyor.lab', { id: 0x0a0a });
      const b = query('mail.surveyor.lab', { id: 0x0b0b });
      // Two messages framed as one: FORMERR (bytes after the last record) for the pair.
      const pair = Buffer.concat([a, b]);
      await client.writeRaw(Buffer.concat([frameLength(pair.length), pair, frameLength(b.length), b]));
      const first = toReply(await client.next());
      assert.equal(first.packet.id, 0x0a0a);
      assert.equal(rcodeOf(first), RCODE.FORMERR);
      const second = toReply(await client.next());
      assert.equal(second.packet.id, 0x0b0b);
      assert.equal(rcodeOf(second), RCODE.NOERROR);
    } finally {
      await client.close();
    }
  });

  it('many connections at once, each with its own answers', async () => {
    const clients = await Promise.all(Array.from({ length: 50 }, () => TcpClient.connect(dns.port)));
    try {
      const replies = await Promise.all(clients.map((client, i) => client.query(query('www.surveyor.lab', { id: 2000 + i }))));
      replies.forEach((reply, i) => assert.equal(reply.packet.id, 2000 + i));
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });

  it('a client that resets its connection mid-answer does not disturb the server', async () => {
    const client = await TcpClient.connect(dns.port);
    await client.send(...Array.from({ length: 500 }, (_, i) => query('www.surveyor.lab', { id: i + 1 })));
    client.socket.resetAndDestroy();
    await once(client.socket, 'close');
    assert.equal(rcodeOf(await udpQuery(dns.port, query('www.surveyor.lab'))), RCODE.NOERROR);
  });
});
