import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HealthStateMachine } from '../../src/health/state-machine.ts';

/** Feed results ('+' pass, '-' fail) and return the state after each, as 'U' or 'D'. */
function run(machine: HealthStateMachine, results: string): string {
  return [...results].map((r) => (machine.record(r === '+'), machine.up ? 'U' : 'D')).join('');
}

describe('health state machine', () => {
  it('startAs up: up before any check; the first failure takes it down at once', () => {
    const machine = new HealthStateMachine({ rise: 2, fall: 3, startAs: 'up' });
    assert.equal(machine.up, true);
    assert.equal(run(machine, '-'), 'D');
  });

  it('startAs up: after a first pass, it takes fall failures in a row to go down', () => {
    const machine = new HealthStateMachine({ rise: 2, fall: 3, startAs: 'up' });
    assert.equal(run(machine, '+--+---'), 'UUUUUUD');
  });

  it('takes rise passes in a row to come back up', () => {
    const machine = new HealthStateMachine({ rise: 2, fall: 3, startAs: 'up' });
    assert.equal(run(machine, '-+-++'), 'DDDDU');
  });

  it('startAs down: down before any check; the first pass brings it up at once, later recoveries take rise', () => {
    const machine = new HealthStateMachine({ rise: 3, fall: 2, startAs: 'down' });
    assert.equal(machine.up, false);
    assert.equal(run(machine, '+'), 'U');
    assert.equal(run(machine, '--++' + '+'), 'UDDDU');
  });

  it('startAs down: failures keep it down, then rise passes (the first-check rule is spent)', () => {
    const machine = new HealthStateMachine({ rise: 2, fall: 3, startAs: 'down' });
    assert.equal(run(machine, '--+-++'), 'DDDDDU');
  });

  it('absorbs flapping: alternating results never reach rise 2 or fall 3', () => {
    const machine = new HealthStateMachine({ rise: 2, fall: 3, startAs: 'up' });
    run(machine, '+');
    assert.equal(run(machine, '-+-+-+--+--+-+'), 'UUUUUUUUUUUUUU');
    const down = new HealthStateMachine({ rise: 2, fall: 3, startAs: 'down' });
    run(down, '-');
    assert.equal(run(down, '+-+-+-+-'), 'DDDDDDDD');
  });

  it('rise 1 and fall 1 follow every result', () => {
    const machine = new HealthStateMachine({ rise: 1, fall: 1, startAs: 'up' });
    assert.equal(run(machine, '+-+-'), 'UDUD');
  });

  it('reports the pending change in words', () => {
    const machine = new HealthStateMachine({ rise: 2, fall: 3, startAs: 'up' });
    run(machine, '+-');
    assert.equal(machine.progress(), 'failure 1 of 3 before down');
    run(machine, '--+');
    assert.equal(machine.progress(), 'pass 1 of 2 before up');
    run(machine, '+');
    assert.equal(machine.progress(), '');
  });
});
