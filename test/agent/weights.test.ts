// The worker side of adaptive scheduling: agent verdicts -> adaptive factors (smoothly), the
// minLoad fallback to weighted round robin, the floor, drain and down, slow start, the rotation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NEUTRAL_VERDICT, type AgentVerdict } from '../../src/agent/types.ts';
import { AdaptiveWeights, adaptiveWeight, LOAD_FLOOR } from '../../src/scheduling/adaptive.ts';
import { createScheduler } from '../../src/scheduling/index.ts';
import type { RealServer } from '../../src/pool/real-server.ts';
import { makeServers, sequence, tally } from '../scheduling/helpers.ts';

const load = (value: number): AgentVerdict => ({ ...NEUTRAL_VERDICT, load: value });
const percent = (value: number): AgentVerdict => ({ ...NEUTRAL_VERDICT, weightPercent: value });
const HTTP = { type: 'http', minLoad: 5, interval: 1000 } as const;
const T0 = 1_000_000;

/** Tick `weights` every `stepMs` from `from` until `ms` have passed; returns the time reached. */
function run(weights: AdaptiveWeights, from: number, ms: number, stepMs = 100): number {
  let now = from;
  while (now < from + ms) {
    now += stepMs;
    weights.tick(now);
  }
  return now;
}

describe('adaptive weights from loads (LoadMaster agent)', () => {
  it('weighs by spare capacity, (100 - load) x configured weight, with a floor', () => {
    const servers = makeServers([100, 100, 200, 100, 100]);
    const weights = new AdaptiveWeights(servers, HTTP);
    const loads = [10, 80, 80, 99, 100];
    loads.forEach((l, i) => weights.report(servers[i]!, load(l)));
    weights.tick(T0);
    run(weights, T0, 30_000);
    assert.deepEqual(
      servers.map((s) => Math.round(adaptiveWeight(s) * 100) / 100),
      [90, 20, 40, 100 * LOAD_FLOOR, 100 * LOAD_FLOOR],
    );
    assert.equal(weights.fallback, false);
  });

  it('a sudden load jump moves the weight gradually: half-way in one interval, never in one step', () => {
    const [a, b] = makeServers([100, 100]) as [RealServer, RealServer];
    const weights = new AdaptiveWeights([a, b], HTTP);
    weights.report(a, load(10));
    weights.report(b, load(10));
    weights.tick(T0);
    let now = run(weights, T0, 20_000);
    assert.equal(adaptiveWeight(b), 90);

    weights.report(b, load(90)); // target 10
    assert.equal(adaptiveWeight(b), 90, 'a report alone does not move the weight');
    const seen: number[] = [];
    for (let i = 0; i < 40; i++) {
      now += 100;
      weights.tick(now);
      seen.push(adaptiveWeight(b));
    }
    // Every tick moves it down a little, never by more than 7 % of the distance (100 ms of a 1 s half-life).
    let previous = 90;
    for (const w of seen) {
      assert.ok(w < previous, `moves down: ${seen.join(', ')}`);
      assert.ok(previous - w <= (previous - 10) * 0.07 + 1e-9, `step ${previous} -> ${w}`);
      previous = w;
    }
    assert.ok(Math.abs(seen[9]! - 50) < 1, `half-way after one interval: ${seen[9]}`);
    assert.ok(Math.abs(seen[19]! - 30) < 1, `three quarters after two: ${seen[19]}`);
    assert.ok(seen[39]! < 16, `close after four: ${seen[39]}`);
    run(weights, now, 20_000);
    assert.equal(adaptiveWeight(b), 10, 'arrives (snaps) in the end');
  });

  it('falls back to plain weighted round robin (configured weights) when every load is below minLoad', () => {
    const servers = makeServers([5, 1, 1]);
    const reference = createScheduler('weighted-round-robin', makeServers([5, 1, 1]));
    const scheduler = createScheduler('adaptive', servers);
    const weights = new AdaptiveWeights(servers, HTTP);
    weights.report(servers[0]!, load(4));
    weights.report(servers[1]!, load(0));
    weights.report(servers[2]!, load(3));
    weights.tick(T0);
    run(weights, T0, 30_000);
    assert.equal(weights.fallback, true);
    assert.equal(sequence(scheduler, 14), sequence(reference, 14));
    assert.equal(sequence(scheduler, 7), 'a a b a c a a');

    // One server at minLoad: the loads count again.
    weights.report(servers[1]!, load(5));
    assert.equal(weights.fallback, false);
    assert.ok(Math.abs(weights.target(servers[0]!) - 0.96) < 1e-9);
    assert.ok(Math.abs(weights.target(servers[1]!) - 0.95) < 1e-9);
  });

  it('before any report, and for a server that never answered, the configured weight applies', () => {
    const servers = makeServers([3, 1]);
    const weights = new AdaptiveWeights(servers, HTTP);
    weights.tick(T0);
    run(weights, T0, 5000);
    assert.equal(weights.fallback, true);
    assert.deepEqual(servers.map(adaptiveWeight), [3, 1]);
    weights.report(servers[0]!, load(50));
    run(weights, T0 + 5000, 30_000);
    assert.deepEqual(servers.map(adaptiveWeight), [1.5, 1]);
  });

  it('only servers the agent lets take traffic decide the fallback', () => {
    const servers = makeServers([1, 1]);
    const weights = new AdaptiveWeights(servers, HTTP);
    weights.report(servers[0]!, load(2));
    weights.report(servers[1]!, { ...NEUTRAL_VERDICT, load: 90, admin: 'drain' });
    assert.equal(weights.fallback, true);
  });
});

describe("the agent's say on traffic", () => {
  it('drain (LoadMaster 102, HAProxy drain or 0%) takes no new clients at once, without touching health', () => {
    for (const drained of [{ ...load(30), admin: 'drain' as const }, percent(0)]) {
      const servers = makeServers([1, 1]);
      const scheduler = createScheduler('adaptive', servers);
      const weights = new AdaptiveWeights(servers, { type: drained.load === null ? 'agent' : 'http', minLoad: 5, interval: 1000 });
      weights.report(servers[0]!, drained);
      scheduler.rebuild();
      assert.equal(servers[0]!.available, false);
      assert.equal(servers[0]!.up, true, 'drain is not down: persisted clients may stay');
      assert.equal(servers[0]!.state, 'enabled', "the admin's state is the admin's");
      assert.deepEqual([...tally(scheduler, 20)], [['b', 20]]);
    }
  });

  it('back from a drain the weight starts from a trickle and climbs', () => {
    const servers = makeServers([100, 100]);
    const weights = new AdaptiveWeights(servers, { type: 'agent', minLoad: null, interval: 1000 });
    weights.report(servers[0]!, { ...NEUTRAL_VERDICT, admin: 'drain' });
    weights.tick(T0);
    run(weights, T0, 5000);
    assert.equal(servers[0]!.adaptiveFactor, 0);
    weights.report(servers[0]!, { ...NEUTRAL_VERDICT, admin: 'ready' });
    assert.equal(servers[0]!.available, true);
    assert.equal(adaptiveWeight(servers[0]!), 100 * LOAD_FLOOR);
    run(weights, T0 + 5000, 1000);
    const afterOne = adaptiveWeight(servers[0]!);
    assert.ok(afterOne > 45 && afterOne < 55, `half-way after one interval: ${afterOne}`);
  });

  it('down (LoadMaster 101, HAProxy down/fail/stopped) and maint make the server down; up needs health to agree', () => {
    for (const verdict of [{ ...load(20), operational: 'down' as const }, { ...NEUTRAL_VERDICT, admin: 'maint' as const }]) {
      const [a] = makeServers([1]);
      const weights = new AdaptiveWeights([a!], HTTP);
      weights.report(a!, verdict);
      assert.equal(a!.up, false);
      assert.equal(a!.healthUp, true, 'the checks said nothing');
      assert.equal(a!.available, false);
      weights.report(a!, NEUTRAL_VERDICT);
      assert.equal(a!.up, true);
      a!.up = false; // the health check marks it down
      weights.report(a!, verdict);
      weights.report(a!, NEUTRAL_VERDICT);
      assert.equal(a!.up, false, 'the agent saying up does not overrule a failed health check');
    }
  });

  it('HAProxy weights are a share of the configured weight; above 100 % applies in full', () => {
    const servers = makeServers([100, 100]);
    const weights = new AdaptiveWeights(servers, { type: 'agent', minLoad: null, interval: 1000 });
    weights.report(servers[0]!, percent(150));
    weights.report(servers[1]!, percent(25));
    weights.tick(T0);
    run(weights, T0, 30_000);
    assert.deepEqual(servers.map(adaptiveWeight), [150, 25]);
    assert.equal(weights.fallback, true, 'minLoad is a LoadMaster rule');
  });
});

describe('the adaptive scheduler', () => {
  it('with slow start, the lower of the two factors wins', () => {
    const [s] = makeServers([100]);
    s!.weight = 30; // ramping: 30 % of its weight
    s!.adaptiveFactor = 0.5;
    assert.equal(adaptiveWeight(s!), 30);
    s!.adaptiveFactor = 0.2;
    assert.equal(adaptiveWeight(s!), 20);
    s!.weight = 100; // the ramp is over
    s!.adaptiveFactor = 1.5;
    assert.equal(adaptiveWeight(s!), 150);
  });

  it('keeps its rotation across rebuilds, so frequent rebuilds at a low request rate do not favour one server', () => {
    const servers = makeServers([1, 1, 1]);
    const scheduler = createScheduler('adaptive', servers);
    const picks: string[] = [];
    for (let i = 0; i < 9; i++) {
      picks.push(scheduler.pick({ clientAddress: '192.0.2.1', exclude: null })?.host ?? '-');
      scheduler.rebuild();
    }
    assert.equal(picks.join(' '), 'a b c a b c a b c');
  });

  it('follows factors live, without a rebuild', () => {
    const servers = makeServers([1, 1]);
    const scheduler = createScheduler('adaptive', servers);
    servers[1]!.adaptiveFactor = 0.25;
    const counts = tally(scheduler, 1000);
    assert.equal(counts.get('a'), 800);
    assert.equal(counts.get('b'), 200);
  });
});
