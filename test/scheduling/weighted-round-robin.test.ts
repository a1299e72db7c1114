import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createScheduler } from '../../src/scheduling/index.ts';
import { ctx, makeServers, sequence, tally } from './helpers.ts';

it('gives each server exactly its weight per cycle of sum(weights) picks', () => {
  const scheduler = createScheduler('weighted-round-robin', makeServers([1, 2, 3, 4]));
  // 1000 picks = 100 cycles of 10.
  assert.deepEqual(Object.fromEntries(tally(scheduler, 1000)), { a: 100, b: 200, c: 300, d: 400 });
});

it('keeps proportions with large weights and never bursts', () => {
  const scheduler = createScheduler('weighted-round-robin', makeServers([100, 300, 7]));
  const picks = sequence(scheduler, 4070).split(' ');
  const counts = { a: 0, b: 0, c: 0 } as Record<string, number>;
  let longestRun = 0;
  let run = 0;
  for (let i = 0; i < picks.length; i++) {
    counts[picks[i]!]!++;
    run = i > 0 && picks[i] === picks[i - 1] ? run + 1 : 1;
    longestRun = Math.max(longestRun, run);
  }
  // 4070 picks = 10 cycles of 407.
  assert.deepEqual(counts, { a: 1000, b: 3000, c: 70 });
  // b has 300/407 = 74% of the traffic, so it must repeat, but smooth WRR spreads a and c between
  // its picks: never more than ceil(300/107) = 3 in a row (a plain WRR would send 300 at once).
  assert.ok(longestRun <= 3, `longest run ${longestRun}`);
});

it('follows a weight change after rebuild', () => {
  const servers = makeServers([1, 1]);
  const scheduler = createScheduler('weighted-round-robin', servers);
  assert.equal(sequence(scheduler, 4), 'a b a b');
  servers[0]!.weight = 3;
  scheduler.rebuild();
  assert.equal(sequence(scheduler, 8), 'a a b a a a b a');
});

it('a retry competes among the servers not tried, with nginx bookkeeping', () => {
  const servers = makeServers([5, 1, 1]);
  const scheduler = createScheduler('weighted-round-robin', servers);
  assert.equal(sequence(scheduler, 2), 'a a'); // current weights now -4, 2, 2
  // Excluding a: b and c grow to 3, 3, b wins the tie and pays their total 2 (a stays at -4).
  assert.equal(scheduler.pick(ctx('192.0.2.1', [servers[0]!]))?.host, 'b');
  // From -4, 1, 3 the picks go on: c first (3 + 1 beats a's -4 + 5 and b's 1 + 1), then a again.
  assert.equal(sequence(scheduler, 5), 'c a a b a');
});
