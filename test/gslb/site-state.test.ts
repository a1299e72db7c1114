import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SiteStateMachine, type SiteStateOptions } from '../../src/gslb/site-state.ts';

const REFUSED = 'connection refused on 127.0.0.1:9001';
const OK = 'HTTP 200 in 2 ms';

function machine(overrides: Partial<SiteStateOptions> = {}): SiteStateMachine {
  return new SiteStateMachine({ fqdn: 'www.surveyor.lab', site: 'primary', fall: 2, rise: 3, startAs: 'up', delay: 0, recovery: 'automatic', ...overrides });
}

/** Feed results ('+' pass, '-' fail), one per second from `start`; the state after each as U or D. */
function run(site: SiteStateMachine, results: string, start = 0): string {
  return [...results].map((r, i) => (site.record(r === '+', r === '+' ? OK : REFUSED, start + i * 1000), site.up ? 'U' : 'D')).join('');
}

describe('GSLB site state', () => {
  it('goes down at the fall-th failure with no delay, saying why', () => {
    const site = machine();
    assert.equal(run(site, '+-'), 'UU');
    const events = site.record(false, REFUSED, 2000);
    assert.deepEqual(events.map((e) => [e.kind, e.up, e.at]), [['down', false, 2000]]);
    assert.equal(events[0]!.message, `site "primary" of www.surveyor.lab is DOWN after 2 failed checks and a 0s delay: ${REFUSED}`);
  });

  it('with a delay, stays up until the delay after the fall-th failure ends, then goes down on tick', () => {
    const site = machine({ delay: 30_000 });
    run(site, '+--'); // fall-th failure at t=2000
    assert.equal(site.up, true);
    assert.equal(site.deadline(), 32_000);
    assert.match(site.status().progress, /going down at the end of the 30s delay/);
    assert.equal(site.tick(31_999).length, 0);
    assert.equal(site.up, true);
    const events = site.tick(32_000);
    assert.equal(site.up, false);
    assert.equal(events[0]!.at, 32_000);
    assert.match(events[0]!.message, /is DOWN after 2 failed checks and a 30s delay: connection refused/);
    assert.equal(site.deadline(), null);
  });

  it('a delay that ran out is settled by the next check result even without tick', () => {
    const site = machine({ delay: 5000 });
    run(site, '+--');
    const events = site.record(false, REFUSED, 9000);
    assert.deepEqual(events.map((e) => [e.kind, e.at]), [['down', 7000]]);
  });

  it('a passing check during the delay cancels it', () => {
    const site = machine({ delay: 30_000 });
    run(site, '+--');
    const events = site.record(true, OK, 10_000);
    assert.deepEqual(events.map((e) => e.kind), ['delay-cancelled']);
    assert.equal(site.deadline(), null);
    assert.equal(site.tick(40_000).length, 0);
    assert.equal(site.up, true);
    // And the count starts over: it takes fall failures again.
    assert.equal(run(site, '-', 11_000), 'U');
    assert.equal(site.deadline(), null);
  });

  it('automatic recovery: rise passes in a row bring it back', () => {
    const site = machine();
    assert.equal(run(site, '+--++-+++'), 'UUDDDDDDU');
    assert.equal(site.status().progress, '');
  });

  it('manual recovery holds a down site while its checks pass, until enable()', () => {
    const site = machine({ recovery: 'manual' });
    const down = site.record(true, OK, 0).concat(site.record(false, REFUSED, 1000), site.record(false, REFUSED, 2000));
    assert.match(down.at(-1)!.message, /stays out until an operator enables it \(recovery: manual\)/);
    assert.equal(run(site, '++', 3000), 'DD');
    const recoverable = site.record(true, OK, 5000);
    assert.deepEqual(recoverable.map((e) => e.kind), ['recoverable']);
    assert.match(recoverable[0]!.message, /checks pass again \(3 in a row\); waiting for manual recovery \(fulcrum gslb site enable www.surveyor.lab primary\)/);
    assert.equal(run(site, '++++', 6000), 'DDDD');
    assert.equal(site.status().progress, 'checks pass again; waiting for manual recovery');
    assert.equal(site.status().held, true);
    const enabled = site.enable(20_000);
    assert.deepEqual(enabled.map((e) => [e.kind, e.up]), [['up', true]]);
    assert.match(enabled[0]!.message, /is UP: enabled by an operator/);
  });

  it('manual: enable() while checks fail releases the hold; rise passes then bring it up', () => {
    const site = machine({ recovery: 'manual' });
    run(site, '+--');
    assert.deepEqual(site.enable(3000).map((e) => e.kind), ['enabled']);
    assert.equal(site.up, false);
    assert.equal(run(site, '+++', 4000), 'DDU');
  });

  it('cold start, startAs up: in the answers before any check; a failing first check takes it down at once, not held', () => {
    const site = machine({ recovery: 'manual', delay: 30_000 });
    assert.equal(site.up, true);
    assert.equal(site.status().checked, false);
    assert.equal(site.status().reason, 'not checked yet');
    const events = site.record(false, REFUSED, 0);
    assert.equal(site.up, false);
    assert.match(events[0]!.message, /is DOWN: its first check failed: connection refused/);
    assert.equal(site.status().held, false);
    assert.equal(run(site, '+++', 1000), 'DDU'); // never passed before: no manual hold
  });

  it('cold start, startAs down: out until the first check passes, which brings it up at once', () => {
    const site = machine({ startAs: 'down' });
    assert.equal(site.up, false);
    assert.equal(run(site, '-'), 'D');
    assert.equal(run(site, '+', 1000), 'D'); // the first-check rule is spent: rise applies
    const fresh = machine({ startAs: 'down' });
    assert.match(fresh.record(true, OK, 0)[0]!.message, /is UP after its first check passed/);
  });

  it('disable() takes an up site out until enable(), whatever the checks say', () => {
    const site = machine();
    run(site, '+');
    assert.match(site.disable(1000)[0]!.message, /is DOWN: disabled by an operator/);
    assert.equal(run(site, '++++', 2000), 'DDDD');
    assert.equal(site.status().progress, 'disabled by an operator');
    assert.deepEqual(site.enable(9000).map((e) => e.kind), ['up']);
  });

  it('reports progress toward down and up in words', () => {
    const site = machine({ fall: 3 });
    run(site, '+-');
    assert.equal(site.status().progress, 'failure 1 of 3 before down');
    run(site, '--+', 2000);
    assert.equal(site.status().progress, 'pass 1 of 3 before up');
  });
});
