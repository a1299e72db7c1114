// EDNS Client Subnet (RFC 7871) through real sockets: the subnet a resolver sends places the
// client (the `locations` table), the answer's SCOPE PREFIX-LENGTH says how widely a resolver may
// cache it, and without ECS the address the query came from is used. Issue 5: "the client subnet
// is used for location decisions when present, and the answer's scope prefix says how widely it
// may be cached".
//
// The table, and the scopes that follow from it (locate.ts: a matched entry's prefix, lengthened
// to leave out any entry nested in it; no match: just long enough to leave out every entry):
//   10.1.0.0/16    BE        10.1.3.0/24 -> be, scope 17 (10.1.200.0/24 inside it differs at bit 17)
//   10.1.200.0/24  NL        10.1.200.0/24 -> nl, scope 24
//   10.2.0.0/16    NA        10.2.3.0/24 -> us, scope 16
//   127.0.0.0/8    JP (AS)   the test client itself, without ECS -> asia
//   no entry                 11.1.2.0/24 -> world, scope 8 (10.0.0.0/7 holds entries, 11.0.0.0/8 none);
//                            192.168.1.0/24 -> world, scope 1; any IPv6 -> world, scope 0 (no IPv6 entry)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { answersOf, ecsOf, query, rcodeOf, RCODE, tcpQuery, udpQuery, type EcsOption, type Reply } from './client.ts';
import { assertAnswers } from './assertions.ts';
import { startDnsFulcrum, WWW, type DnsFulcrum } from './fixture.ts';

const NTRIP = {
  name: 'ntrip.surveyor.lab',
  ttl: 10,
  selection: 'location',
  sites: [
    { name: 'be', address: '192.0.2.11', location: { country: 'BE' } },
    { name: 'nl', address: '192.0.2.12', location: { country: 'NL' } },
    { name: 'us', address: '203.0.113.11', location: { continent: 'NA' } },
    { name: 'asia', address: '192.0.2.14', location: { continent: 'AS' } },
    { name: 'world', address: '192.0.2.99' },
  ],
};
const SITE = { be: '192.0.2.11', nl: '192.0.2.12', us: '203.0.113.11', asia: '192.0.2.14', world: '192.0.2.99' };

let dns: DnsFulcrum;

before(async () => {
  dns = await startDnsFulcrum({
    fqdns: [WWW, NTRIP],
    records: [{ name: 'geo', type: 'CNAME', value: 'ntrip' }],
    locations: [
      { cidr: '10.1.0.0/16', country: 'BE', lat: 50.85, lon: 4.35 },
      { cidr: '10.1.200.0/24', country: 'NL' },
      { cidr: '10.2.0.0/16', continent: 'NA' },
      { cidr: '127.0.0.0/8', country: 'JP' },
    ],
  });
});

after(() => dns.stop());

async function ask(name: string, ecs: EcsOption | undefined, send = udpQuery, type: 'A' | 'ANY' = 'A'): Promise<Reply> {
  const message = query(name, { type, edns: ecs === undefined ? {} : { ecs } });
  const reply = await send(dns.port, message);
  assertAnswers(reply, message);
  return reply;
}

/** The ECS option came back as sent (RFC 7871 7.2.1: family, source prefix, address), with this scope. */
function assertScope(reply: Reply, sent: EcsOption, scope: number): void {
  const ecs = ecsOf(reply);
  assert.ok(ecs !== undefined, 'the ECS option is echoed');
  assert.equal(ecs.family, sent.family);
  assert.equal(ecs.sourcePrefixLength, sent.source);
  assert.equal(ecs.ip, sent.ip);
  assert.equal(ecs.scopePrefixLength, scope, `scope /${ecs.scopePrefixLength}, expected /${scope}`);
}

const v4 = (ip: string, source = 24): EcsOption => ({ family: 1, source, ip });

describe('ECS places the client: the answer and the scope', () => {
  const cases: Array<[string, EcsOption, keyof typeof SITE, number]> = [
    ['10.2.3.0/24, inside 10.2.0.0/16 (NA)', v4('10.2.3.0'), 'us', 16],
    ['10.1.3.0/24, inside 10.1.0.0/16 (BE) but not the nested 10.1.200.0/24', v4('10.1.3.0'), 'be', 17],
    ['10.1.200.0/24, the nested NL entry', v4('10.1.200.0'), 'nl', 24],
    ['10.1.200.0/22: the entry is longer than the source, so is the scope', v4('10.1.200.0', 22), 'nl', 24],
    ['11.1.2.0/24, no entry: the default site, cacheable for 11.0.0.0/8', v4('11.1.2.0'), 'world', 8],
    ['192.168.1.0/24, no entry: the default site, cacheable for 128.0.0.0/1', v4('192.168.1.0'), 'world', 1],
    ['2001:db8:1::/48, IPv6 with no IPv6 entry: the default, good for every IPv6 client', { family: 2, source: 48, ip: '2001:db8:1::' }, 'world', 0],
    ['source prefix 0 (the resolver asks for an untailored answer)', v4('0.0.0.0', 0), 'world', 0],
  ];
  for (const [what, ecs, site, scope] of cases) {
    it(`${what}: ${site}, scope ${scope}`, async () => {
      const reply = await ask('ntrip.surveyor.lab', ecs);
      assert.equal(rcodeOf(reply), RCODE.NOERROR);
      assert.deepEqual(answersOf(reply, 'A'), [SITE[site]]);
      assertScope(reply, ecs, scope);
    });
  }

  it('over TCP the same', async () => {
    const ecs = v4('10.2.3.0');
    const reply = await ask('ntrip.surveyor.lab', ecs, tcpQuery);
    assert.deepEqual(answersOf(reply, 'A'), [SITE.us]);
    assertScope(reply, ecs, 16);
  });

  it('through a CNAME to the location FQDN (geo -> ntrip): the chain, the located site, the scope', async () => {
    const ecs = v4('10.2.3.0');
    const reply = await ask('geo.surveyor.lab', ecs);
    assert.deepEqual(answersOf(reply, 'CNAME'), ['ntrip.surveyor.lab']);
    assert.deepEqual(answersOf(reply, 'A'), [SITE.us]);
    assertScope(reply, ecs, 16);
  });

  it('ANY at the location FQDN (the slow path): the located A answer and its scope', async () => {
    const ecs = v4('10.1.200.0');
    const reply = await ask('ntrip.surveyor.lab', ecs, udpQuery, 'ANY');
    assert.deepEqual(answersOf(reply, 'A'), [SITE.nl]);
    assertScope(reply, ecs, 24);
  });

  it('the same client network asked twice gets the same site (a resolver can cache it by scope)', async () => {
    const first = await ask('ntrip.surveyor.lab', v4('10.1.3.0'));
    const second = await ask('ntrip.surveyor.lab', v4('10.1.3.0'));
    assert.deepEqual(answersOf(second, 'A'), answersOf(first, 'A'));
  });
});

describe('scope 0 where the answer does not depend on the client', () => {
  it('a non-location FQDN (fixed-weight www) with ECS from NA: the primary, scope 0', async () => {
    const ecs = v4('10.2.3.0');
    const reply = await ask('www.surveyor.lab', ecs);
    assert.deepEqual(answersOf(reply, 'A'), ['192.0.2.10']);
    assertScope(reply, ecs, 0);
  });

  it('a static record with ECS: scope 0', async () => {
    const ecs = v4('10.1.200.0');
    const reply = await ask('mail.surveyor.lab', ecs);
    assert.deepEqual(answersOf(reply, 'A'), ['192.0.2.25']);
    assertScope(reply, ecs, 0);
  });

  it('NXDOMAIN with ECS: scope 0', async () => {
    const ecs = v4('10.2.3.0');
    const reply = await ask('nothing.surveyor.lab', ecs);
    assert.equal(rcodeOf(reply), RCODE.NXDOMAIN);
    assertScope(reply, ecs, 0);
  });
});

describe('without ECS, the address the query came from', () => {
  it('from 127.0.0.1 (127.0.0.0/8 is JP in the table): the Asian site, over UDP and TCP, with and without EDNS', async () => {
    for (const send of [udpQuery, tcpQuery]) {
      const plain = await send(dns.port, query('ntrip.surveyor.lab'));
      assert.deepEqual(answersOf(plain, 'A'), [SITE.asia]);
      const edns = await ask('ntrip.surveyor.lab', undefined, send);
      assert.deepEqual(answersOf(edns, 'A'), [SITE.asia]);
      assert.equal(ecsOf(edns), undefined, 'no ECS option in the answer to a query without one');
    }
  });

  it('ECS, when present, wins over the source address', async () => {
    const reply = await ask('ntrip.surveyor.lab', v4('10.1.3.0'));
    assert.deepEqual(answersOf(reply, 'A'), [SITE.be]);
  });
});
