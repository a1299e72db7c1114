/**
 * The user story on a simulated clock: "we normally connect to the primary data center
 * and fail over to the DR site when the primary fails", with the sample config's sites and
 * checks (interval 1s, fall 2, rise 3), driven the way the check driver will drive it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FqdnState } from '../../src/gslb/fqdn-state.ts';
import { LocationTable } from '../../src/gslb/locate.ts';
import { resolvePlace } from '../../src/gslb/place.ts';
import type { SiteEvent } from '../../src/gslb/site-state.ts';
import type { CheckThresholds, GslbFqdn, Recovery, SelectionPolicyName } from '../../src/gslb/types.ts';

const INTERVAL = 1000;
const PRIMARY_CHECK: CheckThresholds = { fall: 2, rise: 3, startAs: 'up' };

function www(delay: number, recovery: Recovery, selection: SelectionPolicyName = 'fixed-weight'): GslbFqdn {
  return {
    name: 'www.surveyor.lab',
    selection,
    siteFailure: { delay, recovery },
    whenAllDown: { kind: 'all' },
    sites: [
      { name: 'primary', addresses: ['192.0.2.10'], weight: 1000, location: resolvePlace({ country: 'BE', continent: 'EU', lat: 51.05, lon: 3.72 }) },
      { name: 'drc', addresses: ['198.51.100.20'], weight: 1, location: resolvePlace({ country: 'NL', continent: 'EU', lat: 52.37, lon: 4.9 }) },
    ],
  };
}

/**
 * Run checks every INTERVAL from `from` to `to` (exclusive), the primary's result from
 * `primaryOk(t)`, the DR site always passing, ticking at deadlines like the driver's timer;
 * returns the first time the A answer is `address`, or null.
 */
function simulate(state: FqdnState, from: number, to: number, primaryOk: (t: number) => boolean, address: string, log: SiteEvent[] = []): number | null {
  for (let t = from; t < to; t += 100) {
    const deadline = state.deadline();
    if (deadline !== null && deadline <= t) log.push(...state.tick(t));
    if (t % INTERVAL === 0) {
      log.push(...state.record(0, primaryOk(t), primaryOk(t) ? 'HTTP 200 in 1 ms' : 'connection refused on 127.0.0.1:9001', t));
      log.push(...state.record(1, true, 'connected in 1 ms', t));
    }
    if (state.selector.select(4, null).text === address) return t;
  }
  return null;
}

describe('GSLB failover and failback (sample config, simulated clock)', () => {
  it('cold start: the primary answers before any check completes (startAs up), never an empty answer', () => {
    const state = new FqdnState(www(0, 'automatic'), [PRIMARY_CHECK, undefined]);
    assert.equal(state.selector.select(4, null).text, '192.0.2.10');
    assert.equal(state.status().sites[0]!.checked, false);
  });

  it('cold start with startAs down on every site: whenAllDown all still answers the primary', () => {
    const state = new FqdnState(www(0, 'automatic'), [{ ...PRIMARY_CHECK, startAs: 'down' }, { ...PRIMARY_CHECK, startAs: 'down' }]);
    assert.equal(state.selector.select(4, null).text, '192.0.2.10');
    assert.equal(state.status().answers.A.allDown, true);
  });

  for (const delay of [0, 5000]) {
    it(`primary down: answers switch within fall x interval + ${delay}ms delay; automatic failback after rise passes`, () => {
      const state = new FqdnState(www(delay, 'automatic'), [PRIMARY_CHECK, PRIMARY_CHECK]);
      const diesAt = 10_500;
      const backAt = 30_500;
      const primaryOk = (t: number) => t < diesAt || t >= backAt;
      const log: SiteEvent[] = [];
      assert.equal(simulate(state, 0, diesAt, primaryOk, '198.51.100.20', log), null);
      const switched = simulate(state, diesAt, backAt, primaryOk, '198.51.100.20', log);
      assert.ok(switched !== null);
      // Failed checks at 11s and 12s: down at the second, plus the delay.
      assert.equal(switched, 12_000 + delay);
      assert.ok(switched - diesAt <= PRIMARY_CHECK.fall * INTERVAL + delay);
      const down = log.find((e) => e.kind === 'down')!;
      assert.equal(down.message, `site "primary" of www.surveyor.lab is DOWN after 2 failed checks and a ${delay / 1000}s delay: connection refused on 127.0.0.1:9001`);
      // Passes at 31s, 32s, 33s: up at the third.
      const failback = simulate(state, switched, 60_000, primaryOk, '192.0.2.10', log);
      assert.equal(failback, 33_000);
      assert.match(log.at(-1)!.message, /is UP after 3 passed checks/);
    });
  }

  it('a blip shorter than the delay does not move anyone', () => {
    const state = new FqdnState(www(5000, 'automatic'), [PRIMARY_CHECK, PRIMARY_CHECK]);
    const log: SiteEvent[] = [];
    const blip = (t: number) => t < 10_500 || t >= 13_500; // fails at 11, 12, 13; passes at 14 (< 12 + 5)
    assert.equal(simulate(state, 0, 30_000, blip, '198.51.100.20', log), null);
    assert.deepEqual(log.map((e) => e.kind), ['delaying', 'delay-cancelled']);
  });

  it('manual recovery: the DR site keeps answering while the primary passes again, until enable()', () => {
    const state = new FqdnState(www(0, 'manual'), [PRIMARY_CHECK, PRIMARY_CHECK]);
    const log: SiteEvent[] = [];
    const flapping = (t: number) => t < 10_500 || t >= 20_500;
    assert.equal(simulate(state, 0, 20_000, flapping, '198.51.100.20', log), 12_000);
    assert.equal(simulate(state, 20_000, 60_000, flapping, '192.0.2.10', log), null);
    assert.equal(log.filter((e) => e.kind === 'recoverable').length, 1);
    const primary = state.status().sites[0]!;
    assert.equal(primary.progress, 'checks pass again; waiting for manual recovery');
    assert.equal(state.status().answers.A.answers[0]![0], '198.51.100.20');
    const enabled = state.enable(0, 60_000);
    assert.deepEqual(enabled.map((e) => e.kind), ['up']);
    assert.equal(state.selector.select(4, null).text, '192.0.2.10');
  });

  it('location end to end: the issue\'s ntrip sites with its locations table and ECS', () => {
    const table = LocationTable.build([
      { cidr: '10.1.0.0/16', country: 'BE', lat: 50.85, lon: 4.35 },
      { cidr: '10.2.0.0/16', country: 'US', continent: 'NA', lat: 40.7, lon: -74.0 },
    ]);
    assert.ok(table.ok);
    const ntrip = new FqdnState({
      name: 'ntrip.surveyor.lab',
      selection: 'location',
      siteFailure: { delay: 0, recovery: 'automatic' },
      whenAllDown: { kind: 'all' },
      sites: [
        { name: 'be', addresses: ['192.0.2.11'], weight: 1, location: resolvePlace({ country: 'BE' }) },
        { name: 'us', addresses: ['203.0.113.11'], weight: 1, location: resolvePlace({ continent: 'NA' }) },
      ],
    });
    const answer = (client: string) => {
      const located = table.value.locateAddress(client);
      return [ntrip.selector.select(4, located.location).text, located.scope];
    };
    assert.deepEqual(answer('10.1.7.7'), ['192.0.2.11', 16]);
    assert.deepEqual(answer('10.2.7.7'), ['203.0.113.11', 16]);
    assert.deepEqual(answer('192.0.2.200'), ['192.0.2.11', 1]); // unknown: any site, the first listed
    const us = table.value.locateSubnet(4, Uint8Array.of(10, 2, 3), 0, 3, 24);
    assert.equal(ntrip.selector.select(4, us.location).text, '203.0.113.11');
    assert.equal(us.scope, 16);
  });
});
