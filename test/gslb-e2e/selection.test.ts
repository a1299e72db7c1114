/**
 * Issue 5, "Selection and failover", end to end: each selection policy's distribution as a DNS
 * client sees it, from one real Fulcrum serving one FQDN per policy. Sites that must be down are
 * checked against a closed port with `startAs: down`, so they are out from the first query on and
 * stay out; real-server-load has its own file (it needs two more Fulcrum nodes).
 *
 * The bounds are tolerant (a share within a few points of its target) so that another rotation
 * state or a second worker would still pass, and tight enough that the wrong policy fails: a
 * rotation stuck on one site, weights ignored (3:1 read as 1:1 is 50 %, not 75 %), a down site
 * answered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';
import { teardown } from '../helpers/processes.ts';
import { closedPort, describeTally, DnsClient, freePort, gslbYaml, HealthTarget, pollUntil, siteLog, START_TIMEOUT_MS, SUITE_TIMEOUT_MS, ZONE } from './helpers.ts';

const RR = `rr.${ZONE}`;
const WRR = `wrr.${ZONE}`;
const FIXED = `fixed.${ZONE}`;
const ALL = `all.${ZONE}`;
const NEAR = `near.${ZONE}`;
const GEO = `geo.${ZONE}`;
const GEO_ANY = `geo-any.${ZONE}`;

/** Client networks: each a country (its continent follows) and a point, for location and proximity. */
const LOCATIONS = [
  { cidr: '10.1.0.0/16', country: 'BE', lat: 51.05, lon: 3.72 }, // Ghent
  { cidr: '10.2.0.0/16', country: 'US', lat: 42.36, lon: -71.06 }, // Boston
  { cidr: '10.3.0.0/16', country: 'KR', lat: 37.57, lon: 126.98 }, // Seoul
  { cidr: '10.4.0.0/16', country: 'PT', lat: 38.72, lon: -9.14 }, // Lisbon
  { cidr: '10.5.0.0/16', country: 'NL', lat: 52.37, lon: 4.9 }, // Amsterdam
];
const GHENT = { ip: '10.1.7.0', source: 24 };
const BOSTON = { ip: '10.2.7.0', source: 24 };
const SEOUL = { ip: '10.3.7.0', source: 24 };
const LISBON = { ip: '10.4.7.0', source: 24 };
const AMSTERDAM = { ip: '10.5.7.0', source: 24 };

describe('GSLB selection policies against a real Fulcrum', { timeout: SUITE_TIMEOUT_MS }, () => {
  let fulcrum: Fulcrum;
  let dns: DnsClient;
  /** fixed-weight's primary: a TCP check target the test stops. */
  const primary = new HealthTarget();

  before(async () => {
    const port = await freePort();
    const refused = `127.0.0.1:${await closedPort()}`;
    // Down from the start and for good: its check is refused, and it never counted as up.
    const deadCheck = { type: 'tcp', target: refused, interval: '1s', startAs: 'down' };
    await primary.start();
    const config = gslbYaml(
      port,
      [
        {
          name: RR,
          selection: 'round-robin',
          sites: [
            { name: 'a', address: '192.0.2.1' },
            { name: 'b', address: '192.0.2.2' },
            { name: 'c', address: '192.0.2.3' },
            { name: 'dead', address: '192.0.2.4', check: deadCheck },
          ],
        },
        {
          name: WRR,
          selection: 'weighted-round-robin',
          sites: [
            { name: 'big', address: '192.0.2.11', weight: 3 },
            { name: 'small', address: '192.0.2.12', weight: 1 },
            { name: 'dead', address: '192.0.2.13', weight: 100, check: deadCheck },
          ],
        },
        {
          name: FIXED,
          selection: 'fixed-weight',
          sites: [
            { name: 'third', address: '192.0.2.23', weight: 10 },
            { name: 'first', address: '192.0.2.21', weight: 100, check: { type: 'tcp', target: primary.address, interval: '200ms', fall: 1, rise: 1 } },
            { name: 'second', address: '192.0.2.22', weight: 50 },
          ],
        },
        {
          name: ALL,
          selection: 'all-available',
          sites: [
            { name: 'x', address: ['192.0.2.31', '2001:db8::31'] },
            { name: 'y', address: ['192.0.2.32', '192.0.2.33'] },
            { name: 'dead', address: ['192.0.2.34', '2001:db8::34'], check: deadCheck },
          ],
        },
        {
          name: NEAR,
          selection: 'proximity',
          sites: [
            { name: 'brussels', address: '192.0.2.41', location: { lat: 50.85, lon: 4.35 } },
            { name: 'amsterdam', address: '192.0.2.42', location: { lat: 52.37, lon: 4.9 }, check: deadCheck },
            { name: 'newyork', address: '192.0.2.43', location: { lat: 40.71, lon: -74.01 } },
            // The highest weight: the answer for a client of unknown place.
            { name: 'tokyo', address: '192.0.2.44', weight: 1000, location: { lat: 35.68, lon: 139.69 } },
          ],
        },
        {
          name: GEO,
          selection: 'location',
          sites: [
            { name: 'be', address: '192.0.2.51', location: { country: 'BE' } },
            { name: 'nl', address: '192.0.2.52', location: { country: 'NL' }, check: deadCheck },
            // The BE and NL sites are on continent EU too (from their country): the heavier EU site
            // wins a continent match among them.
            { name: 'eu', address: '192.0.2.53', weight: 200, location: { continent: 'EU' } },
            { name: 'na', address: '192.0.2.54', location: { continent: 'NA' } },
            { name: 'everyone', address: '192.0.2.55' },
          ],
        },
        {
          name: GEO_ANY,
          selection: 'location',
          sites: [
            { name: 'be', address: '192.0.2.61', weight: 10, location: { country: 'BE' } },
            { name: 'na', address: '192.0.2.62', weight: 50, location: { continent: 'NA' } },
          ],
        },
      ],
      { locations: LOCATIONS },
    );
    fulcrum = await startFulcrum({ config, readyTimeoutMs: START_TIMEOUT_MS });
    dns = await DnsClient.open(port);
  });

  after(() => teardown(() => dns?.close(), () => fulcrum?.stop(), () => primary.stop()));

  it('round-robin: equal shares over the healthy sites, never the down one; answers good for every client (ECS scope 0)', async () => {
    const counts = await dns.tally(RR, 300);
    assert.equal(counts.get('192.0.2.4'), undefined, `the down site was answered: ${describeTally(counts)}`);
    assert.deepEqual([...counts.keys()].sort(), ['192.0.2.1', '192.0.2.2', '192.0.2.3'], describeTally(counts));
    // 100 each; +-10 leaves room for another rotation start, not for a policy that favours a site.
    for (const [answer, n] of counts) assert.ok(Math.abs(n - 100) <= 10, `${answer}: ${n} of 300, expected 100 +- 10 (${describeTally(counts)})`);
    const withEcs = await dns.query(RR, { ecs: GHENT });
    assert.equal(withEcs.scope, 0, 'round-robin ignores the client location: scope 0');
    assert.equal(withEcs.aa, true);
  });

  it('weighted-round-robin: shares follow the weights (3:1) over the healthy sites', async () => {
    const counts = await dns.tally(WRR, 400);
    assert.equal(counts.get('192.0.2.13'), undefined, `the down site (weight 100) was answered: ${describeTally(counts)}`);
    const big = counts.get('192.0.2.11') ?? 0;
    const small = counts.get('192.0.2.12') ?? 0;
    assert.equal(big + small, 400, describeTally(counts));
    // 75 % expected; 70-80 % fails both 1:1 (50 %) and always-the-heaviest (100 %).
    assert.ok(big >= 280 && big <= 320, `weight 3 got ${big} of 400, expected 300 +- 20 (${describeTally(counts)})`);
  });

  it('fixed-weight: always the healthy site with the highest weight, then the next when it fails', async () => {
    const counts = await dns.tally(FIXED, 50);
    assert.deepEqual([...counts], [['192.0.2.21', 50]], `the weight-100 site (listed second) takes every answer: ${describeTally(counts)}`);
    const from = fulcrum.logs.length;
    await primary.stop();
    const moved = await pollUntil(dns, FIXED, '192.0.2.22', 3000);
    assert.deepEqual(moved.before, ['192.0.2.21'], 'nothing but the primary before the switch');
    const down = await siteLog(fulcrum, FIXED, 'first', 'down', { from });
    assert.match(String(down.msg), /DOWN.*connection refused/);
    const after = await dns.tally(FIXED, 50);
    assert.deepEqual([...after], [['192.0.2.22', 50]], `weight 50 next, not weight 10: ${describeTally(after)}`);
  });

  it('all-available: every healthy address in one answer, per family', async () => {
    for (let i = 0; i < 20; i++) {
      const a = await dns.query(ALL);
      assert.equal(a.rcode, 'NOERROR');
      assert.deepEqual([...a.addresses].sort(), ['192.0.2.31', '192.0.2.32', '192.0.2.33'], `A answer ${i}`);
      const aaaa = await dns.query(ALL, { type: 'AAAA' });
      assert.deepEqual(aaaa.addresses, ['2001:db8::31'], `AAAA answer ${i}: the down site's 2001:db8::34 stays out`);
    }
  });

  it('proximity: the nearest healthy site to the client subnet (ECS), the highest weight when the place is unknown', async () => {
    const cases: [string, { ip: string; source: number }, string][] = [
      ['Ghent -> Brussels', GHENT, '192.0.2.41'],
      ['Amsterdam -> Brussels (the Amsterdam site is down)', AMSTERDAM, '192.0.2.41'],
      ['Lisbon -> Brussels (1700 km, New York 5400 km)', LISBON, '192.0.2.41'],
      ['Boston -> New York', BOSTON, '192.0.2.43'],
      ['Seoul -> Tokyo', SEOUL, '192.0.2.44'],
    ];
    for (const [what, ecs, expected] of cases) {
      for (let i = 0; i < 10; i++) {
        const reply = await dns.query(NEAR, { ecs });
        assert.deepEqual(reply.addresses, [expected], what);
        // The answer holds for the whole /16 of the locations entry, and only for it.
        assert.equal(reply.scope, 16, `${what}: ECS scope`);
      }
    }
    assert.equal(await dns.answer(NEAR), '192.0.2.44', 'no ECS, and 127.0.0.1 is in no locations entry: the highest weight');
  });

  it('location: country, then continent, then a site without location, then any', async () => {
    const cases: [string, { ip: string; source: number }, string][] = [
      ['BE: the BE site', GHENT, '192.0.2.51'],
      ['NL: its country site is down, so a continent match (the heaviest)', AMSTERDAM, '192.0.2.53'],
      ['PT: no PT site, the EU continent site', LISBON, '192.0.2.53'],
      ['US: the NA continent site', BOSTON, '192.0.2.54'],
      ['KR: no AS site, the site without location (serves everyone)', SEOUL, '192.0.2.55'],
    ];
    for (const [what, ecs, expected] of cases) {
      for (let i = 0; i < 10; i++) {
        const reply = await dns.query(GEO, { ecs });
        assert.deepEqual(reply.addresses, [expected], what);
        assert.equal(reply.scope, 16, `${what}: ECS scope`);
      }
    }
    assert.equal(await dns.answer(GEO), '192.0.2.55', 'unknown place: the site without location');
    // No site fits KR and none is without location: any site (the highest weight) rather than nothing.
    assert.equal(await dns.answer(GEO_ANY, { ecs: SEOUL }), '192.0.2.62');
    assert.equal(await dns.answer(GEO_ANY, { ecs: GHENT }), '192.0.2.61', 'a BE client still gets its own country over the heavier site');
  });
});
