// When a certificate is renewed and how long a failure waits: pure functions of the clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BACKOFF_FIRST_MS, BACKOFF_MAX_MS, backoffDelay, renewalDue } from '../../src/acme/schedule.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

describe('renewalDue', () => {
  it('is two thirds into the lifetime: day 60 of 90, day 4 of 6', () => {
    assert.equal(renewalDue(T0, T0 + 90 * DAY), T0 + 60 * DAY);
    assert.equal(renewalDue(T0, T0 + 6 * DAY), T0 + 4 * DAY);
  });

  it('is renewBefore before the end when given, but never before half the lifetime', () => {
    assert.equal(renewalDue(T0, T0 + 90 * DAY, 30 * DAY), T0 + 60 * DAY);
    assert.equal(renewalDue(T0, T0 + 90 * DAY, 10 * DAY), T0 + 80 * DAY);
    // 30d on a 6-day certificate would be due before it was issued: halfway instead.
    assert.equal(renewalDue(T0, T0 + 6 * DAY, 30 * DAY), T0 + 3 * DAY);
  });
});

describe('backoffDelay', () => {
  it('is 1 minute after the first failure, doubling, 24 hours at most', () => {
    assert.equal(backoffDelay(0), 0);
    assert.equal(backoffDelay(1), BACKOFF_FIRST_MS);
    assert.deepEqual(
      Array.from({ length: 12 }, (_, i) => backoffDelay(i + 1) / 60_000),
      [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1440],
    );
    assert.equal(backoffDelay(1_000), BACKOFF_MAX_MS);
  });
});
