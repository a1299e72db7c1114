// LoginLimiter: per user, per address, the lock's length, success, and the memory bound.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoginLimiter } from '../../../src/admin/auth/login-limiter.ts';
import { ManualClock, MINUTE } from './helpers.ts';

describe('LoginLimiter', () => {
  it('locks a user name after 5 failures for 15 minutes from the last one, from any address', () => {
    const clock = new ManualClock();
    const limiter = new LoginLimiter({ now: clock.now });
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(limiter.check('alice', `10.0.0.${i}`), { ok: true });
      limiter.recordFailure('alice', `10.0.0.${i}`);
      clock.advance(MINUTE);
    }
    limiter.recordFailure('alice', '10.0.0.9');
    assert.deepEqual(limiter.check('alice', '10.9.9.9'), { ok: false, scope: 'user', retryAfterSeconds: 15 * 60 });
    assert.deepEqual(limiter.check('bob', '10.0.0.9'), { ok: true }, 'other names are not locked, nor is the address');
    clock.advance(15 * MINUTE - 1500);
    assert.deepEqual(limiter.check('alice', '10.9.9.9'), { ok: false, scope: 'user', retryAfterSeconds: 2 }, 'rounded up');
    clock.advance(1500);
    assert.deepEqual(limiter.check('alice', '10.9.9.9'), { ok: true });
    limiter.recordFailure('alice', '10.9.9.9');
    assert.deepEqual(limiter.check('alice', '10.9.9.9'), { ok: true }, 'a new window: one failure is far from the limit');
  });

  it('failures spread over more than the window do not add up', () => {
    const clock = new ManualClock();
    const limiter = new LoginLimiter({ now: clock.now });
    for (let i = 0; i < 4; i++) limiter.recordFailure('alice', '10.0.0.1');
    clock.advance(15 * MINUTE);
    for (let i = 0; i < 4; i++) limiter.recordFailure('alice', '10.0.0.1');
    assert.deepEqual(limiter.check('alice', '10.0.0.1'), { ok: true });
    limiter.recordFailure('alice', '10.0.0.1');
    assert.equal(limiter.check('alice', '10.0.0.1').ok, false);
  });

  it('locks an address after 20 failures, whatever names it tries', () => {
    const clock = new ManualClock();
    const limiter = new LoginLimiter({ now: clock.now });
    for (let i = 0; i < 19; i++) limiter.recordFailure(`user${i}`, '192.0.2.7');
    assert.deepEqual(limiter.check('someone', '192.0.2.7'), { ok: true });
    limiter.recordFailure('user19', '192.0.2.7');
    assert.deepEqual(limiter.check('someone', '192.0.2.7'), { ok: false, scope: 'address', retryAfterSeconds: 900 });
    assert.deepEqual(limiter.check('someone', '::ffff:192.0.2.7'), { ok: false, scope: 'address', retryAfterSeconds: 900 }, 'the IPv4-mapped form is the same client');
    assert.deepEqual(limiter.check('someone', '192.0.2.8'), { ok: true });
  });

  it('counts an IPv6 client by its /64', () => {
    const limiter = new LoginLimiter({ perAddress: { failures: 2, windowMs: 15 * MINUTE } });
    limiter.recordFailure('a', '2001:db8:1:2::1');
    limiter.recordFailure('b', '2001:db8:1:2:ffff:ffff:ffff:ffff');
    assert.equal(limiter.check('c', '2001:db8:1:2::abcd').ok, false);
    assert.equal(limiter.check('c', '2001:db8:1:3::1').ok, true);
  });

  it('a success clears the user name and forgives the address the attempt', () => {
    const limiter = new LoginLimiter({ perAddress: { failures: 5, windowMs: 15 * MINUTE } });
    for (let i = 0; i < 4; i++) limiter.recordFailure('alice', '10.0.0.1');
    limiter.recordFailure('alice', '10.0.0.1');
    assert.equal(limiter.check('alice', '10.0.0.1').ok, false);
    limiter.recordSuccess('alice', '10.0.0.1');
    assert.deepEqual(limiter.check('alice', '10.0.0.1'), { ok: true }, 'the address is back under its limit');
    for (let i = 0; i < 4; i++) limiter.recordFailure('alice', '10.0.0.2');
    assert.deepEqual(limiter.check('alice', '10.0.0.2'), { ok: true }, 'the name starts from zero again');
  });

  it('keeps at most maxKeys keys, evicting unlocked ones before a locked one', () => {
    const clock = new ManualClock();
    const limiter = new LoginLimiter({ now: clock.now, maxKeys: 50 });
    for (let i = 0; i < 5; i++) limiter.recordFailure('admin', '10.0.0.1');
    assert.equal(limiter.check('admin', '10.9.9.9').ok, false);
    for (let i = 0; i < 1000; i++) limiter.recordFailure(`stranger${i}`, `10.1.${i >> 8}.${i & 255}`);
    assert.equal(limiter.size, 50);
    assert.equal(limiter.check('admin', '10.9.9.9').ok, false, 'a flood of new names did not unlock the admin');
  });

  it('the default bound is 10,000 keys', () => {
    const limiter = new LoginLimiter();
    for (let i = 0; i < 6000; i++) limiter.recordFailure(`name${i}`, `10.2.${i >> 8}.${i & 255}`);
    assert.equal(limiter.size, 10_000);
  });

  it('when every key is locked, the oldest goes', () => {
    const limiter = new LoginLimiter({ maxKeys: 2, perUser: { failures: 1, windowMs: MINUTE }, perAddress: { failures: 1, windowMs: MINUTE } });
    limiter.recordFailure('first', '10.0.0.1');
    limiter.recordFailure('second', '10.0.0.1');
    assert.equal(limiter.size, 2);
    assert.equal(limiter.check('first', '10.9.9.9').ok, true, '"first" was evicted');
    assert.equal(limiter.check('second', '10.9.9.9').ok, false);
  });

  it('does not keep a huge user name', () => {
    const limiter = new LoginLimiter({ perUser: { failures: 1, windowMs: MINUTE } });
    limiter.recordFailure('x'.repeat(1_000_000), '10.0.0.1');
    assert.equal(limiter.check(`${'x'.repeat(65)}other`, '10.0.0.2').ok, false, 'names longer than any valid one share a key');
  });
});
