// Random and mutated packets: parseQuery never throws and says one of its verdicts; whatever it
// accepts with only a question and an OPT dns-packet can read too, and the answer Fulcrum writes to it decodes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode } from 'dns-packet';
import fc from 'fast-check';
import { ParsedQuery, QueryVerdict, parseQuery, udpLimit } from '../../src/dns/query.ts';
import { ResponseWriter, verdictRcode } from '../../src/dns/response.ts';
import { packetQuery } from './helpers.ts';

const VERDICTS = new Set<number>(Object.values(QueryVerdict));
const query = new ParsedQuery();
const writer = new ResponseWriter();
const ADDRESS = new Uint8Array([192, 0, 2, 1]);

const SEEDS = [
  packetQuery('www.surveyor.lab'),
  packetQuery('Www.Surveyor.Lab', { type: 'AAAA', edns: { do: true } }),
  packetQuery('x.lab', { edns: { ecs: { family: 1, source: 24, ip: '10.1.2.0' } } }),
  packetQuery('x.lab', { edns: { ecs: { family: 2, source: 56, ip: '2001:db8:aa:bb00::' } } }),
  packetQuery('a.b.c.d.e.f.example', { type: 'TXT', edns: { udpPayloadSize: 4096 } }),
];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(seed: Buffer, mutations: readonly Mutation[]): Buffer {
  let buf = Buffer.from(seed);
  for (const m of mutations) {
    if (buf.length === 0) break;
    const at = m.at % buf.length;
    if (m.kind === 'set') buf[at] = m.value;
    else if (m.kind === 'cut') buf = buf.subarray(0, at);
    else buf = Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)]);
  }
  return buf;
}

/** After a name at `pos` (labels, or labels ending in a pointer): the offset past it. */
function skipName(buf: Buffer, pos: number): number {
  while (pos < buf.length) {
    const len = buf[pos]!;
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) return pos + 2;
    pos += len + 1;
  }
  return pos;
}

/**
 * A copy of a question + OPT packet whose EDNS options, other than ECS (the one the server reads),
 * carry an unassigned code (65001): dns-packet interprets some option payloads (KEY-TAG must be
 * an even length, RFC 8145) that an authoritative server rightly ignores (RFC 6891 section 6.1.2).
 */
function opaqueOptions(packet: Buffer): Buffer {
  const copy = Buffer.from(packet);
  let pos = skipName(copy, 12) + 4; // the question
  pos = skipName(copy, pos); // the OPT's owner
  if (pos + 10 > copy.length || copy.readUInt16BE(pos) !== 41) return copy;
  const end = Math.min(copy.length, pos + 10 + copy.readUInt16BE(pos + 8));
  for (let at = pos + 10; at + 4 <= end; at += 4 + copy.readUInt16BE(at + 2)) {
    if (copy.readUInt16BE(at) !== 8) copy.writeUInt16BE(65001, at);
  }
  return copy;
}

/** The property for one packet. */
function check(packet: Buffer): void {
  const verdict = parseQuery(packet, query);
  assert.ok(VERDICTS.has(verdict), `verdict ${verdict}`);
  if (verdict === QueryVerdict.DROP) return;
  // Records other than OPT are opaque to an authoritative server (their RDATA is not read), so
  // only a question and an OPT are held to dns-packet's reading.
  const onlyQuestionAndOpt = packet.readUInt32BE(6) === 0 && packet.readUInt16BE(10) === (query.hasEdns ? 1 : 0);
  if (verdict === QueryVerdict.OK && onlyQuestionAndOpt) assert.doesNotThrow(() => decode(opaqueOptions(packet)), 'accepted, so dns-packet reads it too');
  writer.begin(query, packet, verdictRcode(verdict));
  if (verdict === QueryVerdict.OK) writer.answer({ type: 'A', name: query.qname.indexOf('\\') < 0 ? query.qname : 'x', ttl: 5, address: ADDRESS });
  const limit = udpLimit(query);
  const length = writer.finish(limit, 8);
  assert.ok(length <= limit);
  const response = decode(writer.buf.subarray(0, length));
  assert.equal(response.id, query.id);
}

describe('parseQuery fuzzing', () => {
  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => check(Buffer.from(bytes))), { numRuns: 3000 });
  });

  it('random bytes behind a plausible header', () => {
    const plausible = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 2 }), fc.uint8Array({ maxLength: 300 }));
    fc.assert(
      fc.property(plausible, ([id, qd, ar, rest]) => {
        const head = Buffer.from([id >> 8, id & 0xff, 1, 0, 0, qd, 0, 0, 0, 0, 0, ar]);
        check(Buffer.concat([head, rest]));
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated valid queries', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 4 }), (seed, mutations) => check(mutate(seed, mutations))),
      { numRuns: 5000 },
    );
  });

  it('valid queries pass', () => {
    for (const seed of SEEDS) assert.equal(parseQuery(seed, query), QueryVerdict.OK);
  });
});
