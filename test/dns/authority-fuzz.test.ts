// Mutated queries against the answer engine built from the sample: it never throws, never
// answers past the limit, and every answer it writes decodes with the query's ID.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode } from 'dns-packet';
import fc from 'fast-check';
import { ParsedQuery, parseQuery, udpLimit } from '../../src/dns/query.ts';
import { buildEngine, loadGslb, sampleText } from './authority-fixture.ts';
import { packetQuery } from './helpers.ts';

const { engine } = buildEngine(loadGslb(sampleText()));
const query = new ParsedQuery();

const SEEDS = [
  packetQuery('www.surveyor.lab'),
  packetQuery('FTP.surveyor.lab', { type: 'AAAA', edns: { do: true } }),
  packetQuery('ntrip.surveyor.lab', { edns: { ecs: { family: 1, source: 24, ip: '10.1.2.0' } } }),
  packetQuery('ntrip.surveyor.lab', { edns: { ecs: { family: 2, source: 56, ip: '2001:db8:aa:bb00::' } } }),
  packetQuery('surveyor.lab', { type: 'ANY', edns: { udpPayloadSize: 4096 } }),
  packetQuery('nope.surveyor.lab', { type: 'MX' }),
];

describe('answer engine fuzz', () => {
  it('answers any mutated query without throwing, within the limit, with a decodable message', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), cut: fc.boolean() }), { maxLength: 6 }), (seed, mutations) => {
        let packet = Buffer.from(seed);
        for (const m of mutations) {
          if (packet.length === 0) break;
          if (m.cut && m.value < 16) packet = packet.subarray(0, m.at % packet.length);
          else packet[m.at % packet.length] = m.value;
        }
        const verdict = parseQuery(packet, query);
        const limit = udpLimit(query);
        const length = engine.answer(query, packet, verdict, '10.1.2.3', limit);
        if (length < 0) return;
        assert.ok(length <= limit);
        assert.equal(decode(engine.buf.subarray(0, length)).id, query.id);
      }),
      { numRuns: 20_000, seed: 5 },
    );
  });
});
