import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, MAX_DURATION_MS, parseDuration } from '../../src/config/duration.ts';

describe('parseDuration', () => {
  it('reads every unit and combinations into milliseconds', () => {
    const cases: [string, number][] = [
      ['500ms', 500],
      ['10s', 10_000],
      ['1m', 60_000],
      ['1h', 3_600_000],
      ['2d', 172_800_000],
      ['1m30s', 90_000],
      ['1h1m1s1ms', 3_661_001],
      ['1.5s', 1_500],
      ['5ms', 5],
    ];
    for (const [text, ms] of cases) assert.deepEqual(parseDuration(text), { ok: true, value: ms }, text);
  });

  it('rejects text that is not a duration and guesses what was meant', () => {
    assert.deepEqual(parseDuration('3 seconds'), { ok: false, message: '"3 seconds" is not a duration', suggestion: '3s' });
    assert.deepEqual(parseDuration('1m 30s'), { ok: false, message: '"1m 30s" is not a duration', suggestion: '1m30s' });
    assert.deepEqual(parseDuration('10S'), { ok: false, message: '"10S" is not a duration', suggestion: '10s' });
    assert.deepEqual(parseDuration('2 hours'), { ok: false, message: '"2 hours" is not a duration', suggestion: '2h' });
    assert.deepEqual(parseDuration('soon'), { ok: false, message: '"soon" is not a duration' });
    assert.deepEqual(parseDuration(''), { ok: false, message: '"" is not a duration' });
  });

  it('says a bare number lacks its unit instead of guessing seconds or milliseconds', () => {
    assert.deepEqual(parseDuration('10'), { ok: false, message: '"10" has no unit' });
  });

  it('rejects zero and anything a Node timer cannot hold', () => {
    assert.equal(parseDuration('0s').ok, false);
    assert.equal(parseDuration('0.1ms').ok, false);
    assert.deepEqual(parseDuration('24d'), { ok: true, value: 24 * 86_400_000 });
    assert.equal(parseDuration('25d').ok, false);
    assert.ok(24 * 86_400_000 <= MAX_DURATION_MS);
  });
});

describe('formatDuration', () => {
  it('prints the shortest text that parses back to the same value', () => {
    for (const ms of [1, 500, 1_000, 4_000, 75_000, 90_000, 3_661_001, 172_800_000]) {
      const text = formatDuration(ms);
      assert.deepEqual(parseDuration(text), { ok: true, value: ms }, text);
    }
    assert.equal(formatDuration(90_000), '1m30s');
  });
});
