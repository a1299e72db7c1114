/**
 * Issue 5's user story end to end: "we normally connect to the primary data center and fail over
 * to the DR site when the primary fails", timed from the outside. A real Fulcrum serves three
 * fixed-weight FQDNs, each a primary with an http check against its own HTTP server and a DR
 * site without a check:
 * - auto.example.test: siteFailure.delay 0s, recovery automatic; the primary's server stops;
 * - delayed.example.test: delay 500ms, recovery automatic; the primary's server answers 503;
 * - manual.example.test: delay 0s, recovery manual; the primary's server answers 503.
 * The test breaks the primary at T and asks DNS every 20 ms until the answer is the DR site, then
 * mends it and asks until the answer is the primary again (or, for manual, that it is not).
 * T is just after a passed check, so the first check to see the failure comes almost a whole
 * interval later: the slowest phase there is, and the measured times sit near the top of the
 * bound (about 600 ms of the 760 allowed for fall 2 x 300 ms).
 *
 * The three run at once: they share nothing but the Fulcrum process, and each case's work (a
 * check every 300 ms, a query every 20 ms) is far below what would delay another's timers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JITTER_FRACTION } from '../../src/health/schedule.ts';
import { startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';
import { teardown } from '../helpers/processes.ts';
import { changeLog, DnsClient, type FqdnSpec, freePort, gslbYaml, HealthTarget, holdsFor, pollUntil, siteLog, START_TIMEOUT_MS, SUITE_TIMEOUT_MS, ZONE } from './helpers.ts';

const INTERVAL = 300;
const FALL = 2;
const RISE = 2;
const PRIMARY = '192.0.2.10';
const DR = '198.51.100.20';

/**
 * What one switch may take, from the moment the primary breaks (or mends) to the first answer
 * that shows it, when `count` checks in a row must agree (fall or rise) and then `delay` runs.
 *
 * The check scheduler (src/health/schedule.ts) starts each check interval +-JITTER_FRACTION
 * (10 %) after the last one started. So:
 * - latest: the first check to see the change starts at most one jittered interval after it,
 *   and the count-th at most count jittered intervals after it: count x 1.1 x interval + delay,
 *   plus MARGIN_MS for what is not the schedule: the check's own time (a refused connect or a
 *   503, about a millisecond), the relay to the worker, timer lateness on a busy machine, and the
 *   20 ms poll. That stays inside the issue's bound, fall x interval + delay + one interval, as
 *   bounds() checks: 2 x 330 + 100 = 760 ms <= 900 ms, and 1260 <= 1400 with the 500 ms delay
 *   (rise and failback alike).
 * - earliest: the first check to see it may start right after it, and then count - 1 intervals
 *   of at least 0.9 x interval must pass: a switch sooner means fewer checks than count decided.
 */
const MARGIN_MS = 100;
function bounds(count: number, delay: number): { earliest: number; latest: number; issue: number } {
  const earliest = (count - 1) * (1 - JITTER_FRACTION) * INTERVAL + delay - 2; // a timer may fire a millisecond early
  const latest = count * (1 + JITTER_FRACTION) * INTERVAL + delay + MARGIN_MS;
  const issue = count * INTERVAL + delay + INTERVAL;
  assert.ok(latest <= issue, `the bound tested (${latest} ms) is within the issue's (${issue} ms)`);
  return { earliest, latest, issue };
}

function fqdn(name: string, target: HealthTarget, siteFailure: { delay: string; recovery: 'automatic' | 'manual' }): FqdnSpec {
  return {
    name,
    selection: 'fixed-weight',
    ttl: 1,
    siteFailure,
    sites: [
      {
        name: 'primary',
        address: PRIMARY,
        weight: 1000,
        check: { type: 'http', target: target.address, path: '/health', interval: `${INTERVAL}ms`, fall: FALL, rise: RISE },
      },
      { name: 'dr', address: DR, weight: 1 },
    ],
  };
}

describe('GSLB failover, failback and manual recovery, timed against a real Fulcrum', { concurrency: true, timeout: SUITE_TIMEOUT_MS }, () => {
  const AUTO = `auto.${ZONE}`;
  const DELAYED = `delayed.${ZONE}`;
  const MANUAL = `manual.${ZONE}`;
  const auto = new HealthTarget();
  const delayed = new HealthTarget();
  const manual = new HealthTarget();
  let fulcrum: Fulcrum;
  let dns: DnsClient;

  before(async () => {
    await Promise.all([auto.start(), delayed.start(), manual.start()]);
    const port = await freePort();
    const config = gslbYaml(port, [
      fqdn(AUTO, auto, { delay: '0s', recovery: 'automatic' }),
      fqdn(DELAYED, delayed, { delay: '500ms', recovery: 'automatic' }),
      fqdn(MANUAL, manual, { delay: '0s', recovery: 'manual' }),
    ]);
    fulcrum = await startFulcrum({ config, readyTimeoutMs: START_TIMEOUT_MS });
    dns = await DnsClient.open(port);
  });

  after(() => teardown(() => dns?.close(), () => fulcrum?.stop(), () => auto.stop(), () => delayed.stop(), () => manual.stop()));

  it('delay 0s: the primary stops; DR answers within fall x interval + one interval, not before fall checks failed; back within rise x interval + one', async (t) => {
    // A passed check first: a site whose first check fails goes down at once (cold start), not after fall.
    assert.equal(await auto.nextAnswered(), 200);
    assert.equal(await dns.answer(AUTO), PRIMARY);
    const from = fulcrum.logs.length;

    const down = bounds(FALL, 0);
    const brokeAt = performance.now();
    await auto.stop();
    const failover = await pollUntil(dns, AUTO, DR, down.latest + 1000);
    const tookDown = failover.at - brokeAt;
    t.diagnostic(`failover ${tookDown.toFixed(0)} ms after the primary stopped (allowed ${down.earliest.toFixed(0)}..${down.latest.toFixed(0)}; issue ${down.issue})`);
    assert.deepEqual(failover.before, [PRIMARY], 'only the primary before the switch');
    assert.ok(tookDown >= down.earliest, `switched ${tookDown.toFixed(0)} ms after the stop: sooner than ${FALL} checks can fail (${down.earliest.toFixed(0)} ms)`);
    assert.ok(tookDown <= down.latest, `switched ${tookDown.toFixed(0)} ms after the stop; at most ${down.latest} ms`);
    const event = await siteLog(fulcrum, AUTO, 'primary', 'down', { from });
    assert.match(String(event.msg), /is DOWN after 2 failed checks and a 0s delay: connection refused/);
    const change = await changeLog(fulcrum, AUTO, { from });
    assert.deepEqual((change['answers'] as { A: { answers: string[][] } }).A.answers, [[DR]], 'the change line says what is answered now');

    const up = bounds(RISE, 0);
    const mendedAt = performance.now();
    await auto.start();
    const failback = await pollUntil(dns, AUTO, PRIMARY, up.latest + 1000);
    const tookUp = failback.at - mendedAt;
    t.diagnostic(`failback ${tookUp.toFixed(0)} ms after the primary listened again (allowed ${up.earliest.toFixed(0)}..${up.latest.toFixed(0)})`);
    assert.deepEqual(failback.before, [DR]);
    assert.ok(tookUp >= up.earliest, `back ${tookUp.toFixed(0)} ms after the restart: sooner than ${RISE} checks can pass`);
    assert.ok(tookUp <= up.latest, `back ${tookUp.toFixed(0)} ms after the restart; at most ${up.latest} ms`);
    assert.match(String((await siteLog(fulcrum, AUTO, 'primary', 'up', { from })).msg), /is UP after 2 passed checks: HTTP 200/);
  });

  it('delay 500ms: the primary answers 503; DR answers within fall x interval + delay + one interval, exactly the delay after the second failure', async (t) => {
    assert.equal(await delayed.nextAnswered(), 200);
    assert.equal(await dns.answer(DELAYED), PRIMARY);
    const from = fulcrum.logs.length;
    const seen = delayed.requests.length;

    const down = bounds(FALL, 500);
    const brokeAt = performance.now();
    delayed.status = 503;
    const failover = await pollUntil(dns, DELAYED, DR, down.latest + 1000);
    const tookDown = failover.at - brokeAt;
    assert.deepEqual(failover.before, [PRIMARY]);
    assert.ok(tookDown >= down.earliest, `switched ${tookDown.toFixed(0)} ms after the 503s began: sooner than ${FALL} checks and the delay`);
    assert.ok(tookDown <= down.latest, `switched ${tookDown.toFixed(0)} ms after the 503s began; at most ${down.latest} ms`);
    // The checks the server saw: the fall-th 503 starts the delay, and the switch is its end.
    const failed = delayed.requests.slice(seen).filter((r) => r.status === 503);
    assert.ok(failed.length >= FALL, `${failed.length} failed checks seen`);
    const fallAt = failed[FALL - 1]!.at;
    const afterFall = failover.at - fallAt;
    t.diagnostic(`failover ${tookDown.toFixed(0)} ms after the 503s began, ${afterFall.toFixed(0)} ms after the ${FALL}nd failed check (allowed ${down.earliest.toFixed(0)}..${down.latest.toFixed(0)})`);
    assert.ok(afterFall >= 500, `DR answered ${afterFall.toFixed(0)} ms after the ${FALL}nd failed check, before the 500 ms delay ran out`);
    assert.ok(afterFall <= 500 + MARGIN_MS, `DR answered ${afterFall.toFixed(0)} ms after the ${FALL}nd failed check; the delay is 500 ms`);
    const delaying = await siteLog(fulcrum, DELAYED, 'primary', 'delaying', { from });
    assert.match(String(delaying.msg), /will go DOWN in 500ms unless a check passes, after 2 failed checks: .*503/);
    assert.match(String((await siteLog(fulcrum, DELAYED, 'primary', 'down', { from })).msg), /is DOWN after 2 failed checks and a 500ms delay/);

    const up = bounds(RISE, 0);
    const mendedAt = performance.now();
    delayed.status = 200;
    const failback = await pollUntil(dns, DELAYED, PRIMARY, up.latest + 1000);
    const tookUp = failback.at - mendedAt;
    t.diagnostic(`failback ${tookUp.toFixed(0)} ms after the primary answered 200 again (allowed ${up.earliest.toFixed(0)}..${up.latest.toFixed(0)})`);
    assert.ok(tookUp >= up.earliest && tookUp <= up.latest, `back ${tookUp.toFixed(0)} ms after the mend; allowed ${up.earliest.toFixed(0)}..${up.latest} ms`);
  });

  it('recovery manual: after the primary fails and comes back, answers stay on DR, and the log says it is held for an operator', async (t) => {
    assert.equal(await manual.nextAnswered(), 200);
    assert.equal(await dns.answer(MANUAL), PRIMARY);
    const from = fulcrum.logs.length;

    const down = bounds(FALL, 0);
    const brokeAt = performance.now();
    manual.status = 503;
    const failover = await pollUntil(dns, MANUAL, DR, down.latest + 1000);
    const tookDown = failover.at - brokeAt;
    t.diagnostic(`failover ${tookDown.toFixed(0)} ms after the 503s began`);
    assert.ok(tookDown >= down.earliest && tookDown <= down.latest, `switched ${tookDown.toFixed(0)} ms after the 503s began; allowed ${down.earliest.toFixed(0)}..${down.latest} ms`);
    const event = await siteLog(fulcrum, MANUAL, 'primary', 'down', { from });
    assert.match(String(event.msg), /is DOWN after 2 failed checks.*; it stays out until an operator enables it \(recovery: manual\)/);

    // The primary is healthy again. Automatic recovery would bring it back within
    // rise x 1.1 x interval + margin; past that, and for three intervals more, answers stay on DR.
    const mendedAt = performance.now();
    manual.status = 200;
    const recoverable = siteLog(fulcrum, MANUAL, 'primary', 'recoverable', { from, timeoutMs: 5000 });
    const queries = await holdsFor(dns, MANUAL, DR, bounds(RISE, 0).latest + 3 * INTERVAL);
    const line = await recoverable;
    t.diagnostic(`held on DR for ${(performance.now() - mendedAt).toFixed(0)} ms (${queries} queries) after the primary passed its checks again`);
    assert.match(String(line.msg), /checks pass again \(2 in a row\); waiting for manual recovery \(fulcrum gslb site enable manual\.example\.test primary\)/);
    const passed = manual.requests.filter((r) => r.at > mendedAt && r.status === 200).length;
    assert.ok(passed >= RISE + 2, `the primary passed ${passed} checks while held; at least ${RISE + 2} fit in the time`);
    assert.equal(
      fulcrum.logs.slice(from).find((l) => l['fqdn'] === MANUAL && l['event'] === 'up'),
      undefined,
      'no up event for a site held for manual recovery',
    );
  });
});
