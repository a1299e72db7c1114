// Token-bucket arithmetic and the authority's exact grants: burst first, then the rate; the
// Retry-After it reports; fractional rates.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitAuthority } from '../../src/limits/authority.ts';
import { msUntilToken, refill, retryAfterSeconds, wholeTokens } from '../../src/limits/token-bucket.ts';
import { toAuthority } from './sim.ts';

function authority(rate: number, burst: number): LimitAuthority {
  const a = new LimitAuthority();
  a.configure([{ id: 'r', kind: 'rate', rate, burst, maxKeys: 1000 }]);
  return a;
}

/** How many single takes succeed at `now`, taking until the first refusal. */
function drain(a: LimitAuthority, now: number, key = 'k'): number {
  let n = 0;
  while (a.grant(0, 'r', key, 1, now) === 1) n++;
  return n;
}

describe('token bucket', () => {
  it('refills at the rate, never past the burst, and not when the clock goes back', () => {
    assert.equal(refill(0, 1000, 50, 100), 50);
    assert.equal(refill(90, 1000, 50, 100), 100);
    assert.equal(refill(3, -5, 50, 100), 3);
    assert.equal(refill(0, 2000, 0.5, 1), 1);
  });

  it('counts whole tokens despite float drift, and the ms until the next one', () => {
    let tokens = 0;
    for (let i = 0; i < 20; i++) tokens = refill(tokens, 1, 50, 100);
    assert.equal(wholeTokens(tokens), 1, `20 ms at 50/s is one token (float: ${tokens})`);
    assert.equal(msUntilToken(0, 50), 20);
    assert.equal(msUntilToken(0.5, 50), 10);
    assert.equal(msUntilToken(0.99, 50), 1, 'never 0 while a token is missing');
    assert.equal(msUntilToken(1, 50), 0);
    assert.equal(msUntilToken(0, 0.5), 2000);
    assert.equal(msUntilToken(0, 100 / 3600), 36_000);
  });

  it('rounds Retry-After up to whole seconds, at least 1', () => {
    assert.equal(retryAfterSeconds(1), 1);
    assert.equal(retryAfterSeconds(1000), 1);
    assert.equal(retryAfterSeconds(1001), 2);
    assert.equal(retryAfterSeconds(36_000), 36);
  });

  it('lets the burst through at once, then one per 1/rate, and says how long to wait', () => {
    const a = authority(50, 100);
    assert.equal(drain(a, 0), 100);
    assert.equal(a.retryAfterMs, 20, 'empty at 50/s: the next token in 20 ms');
    assert.equal(drain(a, 10), 0);
    assert.equal(a.retryAfterMs, 10);
    assert.equal(drain(a, 20), 1);
    assert.equal(drain(a, 100), 4);
    assert.equal(drain(a, 1100), 50, 'a quiet second refills 50');
    assert.equal(drain(a, 10_000), 100, 'a long quiet spell refills the burst, no more');
  });

  it('keeps a bucket per key', () => {
    const a = authority(1, 2);
    assert.equal(drain(a, 0, 'a'), 2);
    assert.equal(drain(a, 0, 'b'), 2);
    assert.equal(drain(a, 999, 'a'), 0);
    assert.equal(drain(a, 1000, 'a'), 1);
  });

  it('handles fractional rates: 0.5/s is one every 2 s; 100/h one every 36 s', () => {
    const half = authority(0.5, 1);
    assert.equal(drain(half, 0), 1);
    assert.equal(half.retryAfterMs, 2000);
    assert.equal(drain(half, 1999), 0);
    assert.equal(half.retryAfterMs, 1);
    assert.equal(drain(half, 2000), 1);
    const hourly = authority(100 / 3600, 1);
    assert.equal(drain(hourly, 0), 1);
    assert.equal(hourly.retryAfterMs, 36_000);
    assert.equal(retryAfterSeconds(hourly.retryAfterMs), 36);
    assert.equal(drain(hourly, 36_000), 1);
    // A million 1-ms steps at 1/3 per second: exactly one token per 3 s, no drift.
    const third = authority(1 / 3, 1);
    let allowed = 0;
    for (let t = 0; t <= 999_999; t++) allowed += third.grant(0, 'r', 'k', 1, t);
    assert.equal(allowed, 1 + Math.floor(999_999 / 3000));
  });

  it('grants up to the lease size to an IPC ask, never more than the bucket holds', () => {
    const a = new LimitAuthority({ workers: 4 });
    // lease = max(1, min(1000 / 16, 10000 × 20 ms)) = 62
    a.configure([{ id: 'r', kind: 'rate', rate: 10_000, burst: 1000, maxKeys: 10 }]);
    const ask = (want: number, now: number) => {
      const answer = a.receive(1, toAuthority(1, [['r', 'k', want]]), now)!;
      return { granted: answer.granted[0], retryAfterMs: answer.retryAfterMs[0] };
    };
    assert.deepEqual(ask(1, 0), { granted: 62, retryAfterMs: 0 });
    assert.deepEqual(ask(500, 0), { granted: 500, retryAfterMs: 0 }, 'waiting requests get all they need');
    assert.deepEqual(ask(1000, 0), { granted: 1000 - 562, retryAfterMs: 1 }, 'dry: the next token comes in 0.1 ms, reported as 1');
    assert.equal(a.receive(1, toAuthority(0, [], [['r', 'k', 62]]), 0), null, 'returns only: no answer');
    // Returned tokens go back, never past the burst.
    assert.equal(a.level('r', 'k', 0), 62);
  });
});
