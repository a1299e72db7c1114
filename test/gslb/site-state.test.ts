import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type SiteEvent, SiteStateMachine, type SiteStateOptions } from '../../src/gslb/site-state.ts';

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

  describe('a reload: snapshot() of the old machine, restore() into the one built from the new config', () => {
    /** The machine a reload builds from `overrides`, with the state of `old` carried over at `now`. */
    function reloaded(old: SiteStateMachine, now: number, overrides: Partial<SiteStateOptions> = {}): { site: SiteStateMachine; events: readonly SiteEvent[] } {
      const site = machine(overrides);
      return { site, events: site.restore(old.snapshot(), now) };
    }

    it('a held site stays held and out, and is recoverable by the same rules', () => {
      const old = machine({ recovery: 'manual' });
      assert.equal(run(old, '+--++'), 'UUDDD');
      const { site, events } = reloaded(old, 5000, { recovery: 'manual' });
      assert.deepEqual(events, []);
      assert.deepEqual(site.status(), old.status(), 'the same state, to the words');
      assert.deepEqual(site.record(true, OK, 5000).map((e) => e.kind), ['recoverable'], 'the third pass in a row, counted across the reload');
      assert.equal(site.up, false);
      assert.deepEqual(site.enable(6000).map((e) => e.kind), ['up']);
    });

    it('a disabled site stays disabled, whatever its checks say after the reload', () => {
      const old = machine();
      run(old, '+');
      old.disable(1000);
      const { site } = reloaded(old, 2000);
      assert.equal(site.up, false);
      assert.equal(site.status().disabled, true);
      assert.equal(run(site, '+++', 3000), 'DDD');
      assert.deepEqual(site.enable(9000).map((e) => e.kind), ['up']);
    });

    it('a checked site is not on its first check again: its next failure counts toward fall', () => {
      const old = machine({ delay: 30_000 });
      run(old, '++');
      const { site } = reloaded(old, 2000, { delay: 30_000 });
      assert.equal(run(site, '-', 3000), 'U', 'one failure of fall 2 does not take it down');
      assert.equal(site.status().progress, 'failure 1 of 2 before down');
    });

    it('a running delay goes on to the same end, and fail and pass counts carry', () => {
      const old = machine({ fall: 3, delay: 30_000 });
      run(old, '+---'); // the delay starts at 3000
      const { site, events } = reloaded(old, 10_000, { fall: 3, delay: 30_000 });
      assert.deepEqual(events, []);
      assert.equal(site.up, true);
      assert.equal(site.deadline(), 33_000);
      assert.deepEqual(site.tick(33_000).map((e) => [e.kind, e.at]), [['down', 33_000]]);

      const counting = machine({ fall: 3 });
      run(counting, '+--');
      assert.equal(run(reloaded(counting, 3000, { fall: 3 }).site, '-', 3000), 'D', 'the third failure, two of them before the reload');
    });

    it('a new delay applies from when the running one started: longer waits longer, shorter and run out takes the site down at once, saying why', () => {
      const old = machine({ delay: 30_000 });
      run(old, '+--'); // the delay starts at 2000
      assert.equal(reloaded(old, 10_000, { delay: 60_000 }).site.deadline(), 62_000);
      const { site, events } = reloaded(old, 10_000, { delay: 5000 });
      assert.deepEqual(events.map((e) => [e.kind, e.up, e.at]), [['down', false, 7000]]);
      assert.equal(events[0]!.message, `site "primary" of www.surveyor.lab is DOWN after 2 failed checks and a 5s delay: ${REFUSED}`);
      assert.equal(site.up, false);
      assert.equal(site.deadline(), null);
    });

    it('fail and pass counts that reach a lower fall or rise wait for the next result', () => {
      const failing = machine({ fall: 3 });
      run(failing, '+--');
      const lowerFall = reloaded(failing, 3000, { fall: 2 });
      assert.deepEqual(lowerFall.events, [], 'a reload alone takes no site down');
      assert.equal(lowerFall.site.up, true);
      assert.equal(lowerFall.site.status().progress, 'failure 1 of 2 before down');
      assert.equal(run(lowerFall.site, '-', 3000), 'D');

      const passing = machine({ rise: 3 });
      run(passing, '+--++');
      const lowerRise = reloaded(passing, 5000, { rise: 1 });
      assert.deepEqual(lowerRise.events, [], 'a reload alone brings no site up');
      assert.equal(lowerRise.site.up, false);
      assert.equal(run(lowerRise.site, '+', 5000), 'U');
    });

    it('a removed check (type none): a down site is up, saying why; a held one stays held', () => {
      const old = machine();
      run(old, '+--');
      const site = machine();
      const events = site.restore(old.snapshot(), 3000, { withoutCheck: true });
      assert.deepEqual(events.map((e) => [e.kind, e.up]), [['up', true]]);
      assert.match(events[0]!.message, /is UP: a reload removed its check \(type none\), and a site without a check is always up/);
      assert.equal(site.status().checked, false);

      const held = machine({ recovery: 'manual' });
      run(held, '+--');
      const stillHeld = machine({ recovery: 'manual' });
      assert.deepEqual(stillHeld.restore(held.snapshot(), 3000, { withoutCheck: true }), []);
      assert.equal(stillHeld.up, false);
      assert.equal(stillHeld.status().held, true);
    });

    it('a hold stays when recovery became automatic: an operator lets the site back', () => {
      const old = machine({ recovery: 'manual' });
      run(old, '+--+++');
      const { site, events } = reloaded(old, 6000, { recovery: 'automatic' });
      assert.deepEqual(events, []);
      assert.equal(site.status().held, true);
      assert.equal(run(site, '++', 6000), 'DD');
    });
  });
});
