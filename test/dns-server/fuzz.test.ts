// Hostile packets at a running Fulcrum (two workers), from a fuzzer with a fixed seed: valid
// queries mutated (bytes set, cut, inserted, bits flipped, header counts rewritten) and random
// bytes, over UDP, and over TCP framed right, cut into random pieces, or framed at random.
// Afterwards the same worker processes are running, nothing in the log tells of an uncaught
// error, and valid queries still get the right answers. Issue 5: "Malformed or hostile packets
// never crash it"; "malformed packets from a fuzzer".
//
// Every answer a fuzzed packet gets is also checked: a whole header with QR set, an ID that one
// of the packets carried, no larger than 512 bytes unless it carries an OPT (the query had EDNS),
// and dns-packet can read it.
//
// Run counts scale with FUZZ_RUNS and the seed is FUZZ_SEED (test/fuzz/settings.ts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decode } from 'dns-packet';
import fc from 'fast-check';
import { RUNS, SEED } from '../fuzz/settings.ts';
import { answersOf, frameLength, query, rcodeOf, RCODE, TcpClient, tcpQuery, udpQuery, UdpClient } from './client.ts';
import { currentWorkers, startDnsFulcrum, troubleLines, WWW, type DnsFulcrum } from './fixture.ts';

/** Mutated valid queries over UDP (21,000 with the CI's RUNS of 3000). */
const UDP_MUTATED = RUNS * 7;
const UDP_RANDOM = RUNS;
const TCP_MUTATED = RUNS * 2;
const TCP_GARBAGE_STREAMS = Math.ceil(RUNS / 30);
/** Packets sent before each probe, from one socket: few enough that a worker's socket buffer (212 KB) holds every lane's batch. */
const BATCH = 16;
const LANES = 4;

let dns: DnsFulcrum;

before(async () => {
  dns = await startDnsFulcrum({
    workers: 2,
    fqdns: [
      WWW,
      { name: 'ntrip.surveyor.lab', selection: 'location', sites: [{ name: 'be', address: '192.0.2.11', location: { country: 'BE' } }, { name: 'us', address: '203.0.113.11', location: { continent: 'NA' } }] },
      { name: 'many.surveyor.lab', selection: 'all-available', sites: Array.from({ length: 40 }, (_, i) => ({ name: `s${i}`, address: `198.18.0.${i + 1}` })) },
    ],
    locations: [{ cidr: '10.1.0.0/16', country: 'BE' }, { cidr: '10.2.0.0/16', continent: 'NA' }],
  });
});

after(() => dns.stop());

const SEEDS: Buffer[] = [
  query('www.surveyor.lab'),
  query('Www.Surveyor.Lab', { type: 'AAAA', edns: { do: true } }),
  query('ntrip.surveyor.lab', { edns: { ecs: { family: 1, source: 24, ip: '10.2.3.0' } } }),
  query('ntrip.surveyor.lab', { edns: { ecs: { family: 2, source: 56, ip: '2001:db8:aa:bb00::' } } }),
  query('many.surveyor.lab', { edns: { udpPayloadSize: 4096 } }),
  query('many.surveyor.lab'),
  query('surveyor.lab', { type: 'ANY' }),
  query('surveyor.lab', { type: 'NS', edns: {} }),
  query('ftp.surveyor.lab', { type: 'A' }),
  query('nope.surveyor.lab', { type: 'MX' }),
  query('example.com', { type: 'TXT' }),
  query('www.surveyor.lab', { flags: (4 << 11) | 0x0100 }),
  query('www.surveyor.lab', { edns: { version: 1 } }),
];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  // QDCOUNT, ANCOUNT, NSCOUNT or ARCOUNT: the counts the parser trusts least.
  fc.record({ kind: fc.constant('count' as const), field: fc.integer({ min: 0, max: 3 }), value: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0xffff })) }),
  // A compression pointer anywhere.
  fc.record({ kind: fc.constant('pointer' as const), at: fc.nat(), target: fc.integer({ min: 0, max: 0x3fff }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(seed: Buffer, mutations: readonly Mutation[]): Buffer {
  let buf = Buffer.from(seed);
  for (const m of mutations) {
    if (m.kind === 'count') {
      if (buf.length >= 12) buf.writeUInt16BE(m.value, 4 + 2 * m.field);
      continue;
    }
    if (buf.length === 0) break;
    const at = m.at % buf.length;
    if (m.kind === 'set') buf[at] = m.value;
    else if (m.kind === 'flip') buf[at]! ^= 1 << m.bit;
    else if (m.kind === 'cut') buf = buf.subarray(0, at);
    else if (m.kind === 'insert') buf = Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)]);
    else if (at + 1 < buf.length) {
      buf[at] = 0xc0 | (m.target >> 8);
      buf[at + 1] = m.target & 0xff;
    }
  }
  return buf;
}

const mutatedQuery = fc.tuple(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 5 })).map(([seed, mutations]) => mutate(seed, mutations));
const randomBytes = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
  // Random bytes behind a plausible header: the parser gets past the first checks.
  fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.uint8Array({ maxLength: 300 })).map(([id, qd, ar, rest]) =>
    Buffer.concat([Buffer.from([id >> 8, id & 0xff, 1, 0, 0, qd, 0, 0, 0, 0, 0, ar]), rest]),
  ),
);

/** What every answer to a fuzzed packet must be (see the header comment); `ids` are the IDs sent. */
function checkAnswer(bytes: Buffer, ids: ReadonlySet<number>, transport: 'udp' | 'tcp'): void {
  assert.ok(bytes.length >= 12, `an answer of ${bytes.length} bytes`);
  assert.equal(bytes[2]! & 0x80, 0x80, 'QR set');
  assert.ok(ids.has(bytes.readUInt16BE(0)), `answer ID ${bytes.readUInt16BE(0)} was sent`);
  const packet = decode(bytes);
  const hasOpt = (packet.additionals ?? []).some((r) => r.type === 'OPT');
  if (transport === 'udp') assert.ok(bytes.length <= (hasOpt ? 4096 : 512), `${bytes.length} bytes over UDP, OPT ${hasOpt}`);
}

const probe = (): Buffer => query('www.surveyor.lab');

function assertProbe(reply: Buffer): void {
  assert.equal(rcodeOf({ bytes: reply, packet: decode(reply) }), RCODE.NOERROR);
  assert.deepEqual(answersOf({ bytes: reply, packet: decode(reply) }, 'A'), ['192.0.2.10']);
}

/**
 * The probe's answer; sent again if lost (a flood can overflow a socket buffer: that is not the
 * server's fault). The IDs of the probes sent go into `probeIds`: a late answer to a lost one is
 * no answer to a fuzzed packet.
 */
async function probeOver(client: UdpClient, probeIds: Set<number>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const message = probe();
    probeIds.add(message.readUInt16BE(0));
    try {
      assertProbe(await client.exchange(message, 1500));
      return;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

/** Sends `packets` over LANES sockets, BATCH at a time, each batch followed by a probe; checks every answer. */
async function floodUdp(packets: readonly Buffer[]): Promise<{ answered: number }> {
  let answered = 0;
  const lane = async (index: number): Promise<void> => {
    const client = await UdpClient.open(dns.port);
    const probeIds = new Set<number>();
    try {
      for (let start = index * BATCH; start < packets.length; start += LANES * BATCH) {
        const batch = packets.slice(start, start + BATCH);
        const ids = new Set(batch.filter((p) => p.length >= 2).map((p) => p.readUInt16BE(0)));
        for (const packet of batch) await client.send(packet);
        await probeOver(client, probeIds);
        for (const bytes of client.unexpected.splice(0)) {
          if (bytes.length >= 2 && probeIds.has(bytes.readUInt16BE(0)) && !ids.has(bytes.readUInt16BE(0))) continue;
          checkAnswer(bytes, ids, 'udp');
          answered++;
        }
      }
    } finally {
      await client.close();
    }
  };
  await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i)));
  return { answered };
}

/** Splits `stream` into pieces of random sizes (1..max bytes) from `sizes`. */
function cut(stream: Buffer, sizes: readonly number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let from = 0;
  for (let i = 0; from < stream.length; i++) {
    const size = sizes[i % sizes.length]!;
    pieces.push(stream.subarray(from, from + size));
    from += size;
  }
  return pieces;
}

describe('fuzzing the running server', () => {
  let workers: number[];

  before(async () => {
    workers = [...dns.fulcrum.workers].sort();
    assert.deepEqual((await currentWorkers(dns.fulcrum)).sort(), workers);
  });

  it(`${UDP_MUTATED} mutated queries and ${UDP_RANDOM} random packets over UDP`, async () => {
    const packets = [...fc.sample(mutatedQuery, { seed: SEED, numRuns: UDP_MUTATED }), ...fc.sample(randomBytes, { seed: SEED + 1, numRuns: UDP_RANDOM })];
    const { answered } = await floodUdp(packets);
    // Most mutations still make a query worth an answer (if only FORMERR): silence for all would be a broken server.
    assert.ok(answered > packets.length / 4, `${answered} answers to ${packets.length} packets`);
  });

  it(`${TCP_MUTATED} mutated queries over TCP, well framed, written in random pieces`, async () => {
    const perConnection = 25;
    const messages = fc.sample(mutatedQuery, { seed: SEED + 2, numRuns: TCP_MUTATED });
    const sizes = fc.sample(fc.integer({ min: 1, max: 300 }), { seed: SEED + 3, numRuns: 97 });
    const connections: Buffer[][] = [];
    for (let i = 0; i < messages.length; i += perConnection) connections.push(messages.slice(i, i + perConnection));
    const run = async (batch: Buffer[]): Promise<void> => {
      const client = await TcpClient.connect(dns.port);
      try {
        const ids = new Set(batch.filter((p) => p.length >= 2).map((p) => p.readUInt16BE(0)));
        // Last on the connection, and a question no seed asks: the answers before it are the batch's.
        const sentinel = query('mail.surveyor.lab', { id: 0xfffe });
        const stream = Buffer.concat([...batch, sentinel].flatMap((m) => [frameLength(m.length), m]));
        for (const piece of cut(stream, sizes)) await client.writeRaw(piece);
        let answers = 0;
        for (;;) {
          const bytes = await client.next();
          if (bytes.readUInt16BE(0) === 0xfffe && decode(bytes).questions?.[0]?.name.toLowerCase() === 'mail.surveyor.lab') {
            assert.deepEqual(answersOf({ bytes, packet: decode(bytes) }, 'A'), ['192.0.2.25']);
            break;
          }
          checkAnswer(bytes, ids, 'tcp');
          answers++;
        }
        assert.ok(answers <= batch.length, 'no more answers than messages');
        assert.equal(client.queued, 0, 'nothing after the sentinel');
      } finally {
        await client.close();
      }
    };
    for (let i = 0; i < connections.length; i += 8) await Promise.all(connections.slice(i, i + 8).map(run));
  });

  it(`${TCP_GARBAGE_STREAMS} TCP streams of random bytes (random framing), each ended by the client: the server closes them`, async () => {
    const streams = fc.sample(
      fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((b) => Buffer.from(b)),
        // Valid-looking frames with random lengths around the truth.
        fc.tuple(fc.constantFrom(...SEEDS), fc.integer({ min: -20, max: 20 }), fc.uint8Array({ maxLength: 40 })).map(([seed, skew, tail]) =>
          Buffer.concat([frameLength(Math.max(0, seed.length + skew)), seed, tail]),
        ),
      ),
      { seed: SEED + 4, numRuns: TCP_GARBAGE_STREAMS },
    );
    const sizes = fc.sample(fc.integer({ min: 1, max: 64 }), { seed: SEED + 5, numRuns: 31 });
    const run = async (stream: Buffer): Promise<void> => {
      const client = await TcpClient.connect(dns.port);
      for (const piece of cut(stream, sizes)) await client.writeRaw(piece);
      client.socket.end();
      await client.closed;
    };
    for (let i = 0; i < streams.length; i += 10) await Promise.all(streams.slice(i, i + 10).map(run));
  });

  it('afterwards: the same workers, no uncaught error in the log, right answers over UDP and TCP', async () => {
    assert.deepEqual((await currentWorkers(dns.fulcrum)).sort(), workers, 'no worker died or was replaced');
    assert.deepEqual(troubleLines(dns.fulcrum), []);
    for (const send of [udpQuery, tcpQuery]) {
      const www = await send(dns.port, query('www.surveyor.lab'));
      assert.deepEqual(answersOf(www, 'A'), ['192.0.2.10']);
      const ntrip = await send(dns.port, query('ntrip.surveyor.lab', { edns: { ecs: { family: 1, source: 24, ip: '10.2.3.0' } } }));
      assert.deepEqual(answersOf(ntrip, 'A'), ['203.0.113.11']);
      const many = await send(dns.port, query('many.surveyor.lab', { edns: { udpPayloadSize: 4096 } }));
      assert.equal(answersOf(many, 'A').length, 40);
      const ns = await send(dns.port, query('surveyor.lab', { type: 'NS' }));
      assert.deepEqual(answersOf(ns, 'NS'), ['ns1.surveyor.lab', 'ns.example.net']);
    }
    // From many source ports, so both workers are asked.
    const replies = await Promise.all(Array.from({ length: 64 }, () => udpQuery(dns.port, query('mail.surveyor.lab'))));
    for (const reply of replies) assert.deepEqual(answersOf(reply, 'A'), ['192.0.2.25']);
  });
});
