import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileSafeRegex, groupCount, MAX_PATTERN_LENGTH, REGEX_SAFETY_FLAGS } from '../../src/rules/regex.ts';

function compiled(pattern: string): RegExp {
  const result = compileSafeRegex(pattern);
  assert.ok(result.ok, result.ok ? '' : result.message);
  return result.value;
}

function refusal(pattern: string, flags?: string): string {
  const result = compileSafeRegex(pattern, flags);
  assert.ok(!result.ok, `${pattern} was accepted`);
  return result.message;
}

describe('compileSafeRegex', () => {
  it('accepts ordinary patterns and returns a plain (backtracking) RegExp without state', () => {
    const regex = compiled('^/api/v1/(.*)$');
    assert.equal(regex.flags, '');
    assert.deepEqual(regex.exec('/api/v1/users')?.slice(1), ['users']);
    for (const pattern of ['\\.(css|js)$', '^[a-z0-9-]+\\.example\\.com$', 'a{2,16}', '(?<=/)x', '^$', '\\d{1,3}(\\.\\d{1,3}){3}']) compiled(pattern);
  });

  it('finishes catastrophic patterns on 100 KB inputs in well under a second each', () => {
    const cases: [string, string][] = [
      ['^(a+)+$', `${'a'.repeat(100_000)}!`],
      ['(a|a)*c', 'a'.repeat(100_000)],
      ['(x+x+)+y', 'x'.repeat(100_000)],
    ];
    for (const [pattern, input] of cases) {
      const regex = compiled(pattern);
      const start = performance.now();
      assert.equal(regex.test(input), false);
      const ms = performance.now() - start;
      assert.ok(ms < 500, `${pattern} took ${ms.toFixed(0)} ms`);
    }
  });

  it('refuses what cannot run in linear time, naming the construct', () => {
    assert.equal(
      refusal('^(a+)\\1$'),
      '"^(a+)\\\\1$" cannot run in linear time: it uses a backreference (\\1). Fulcrum only accepts patterns that run in time proportional to the input, so that no request can stall a worker',
    );
    assert.match(refusal('(?<word>a)\\k<word>'), /a named backreference \(\\k<name>\)/);
    assert.match(refusal('^/(?!admin)'), /cannot run in linear time: it uses a lookahead \(\(\?!\.\.\.\)/);
    assert.match(refusal('foo(?=bar)'), /a lookahead \(\(\?=\.\.\.\)/);
    assert.match(refusal('[a-z]{1,64}'), /a counted repetition of 64 \(more than 16\); write \+ or \* instead/);
    assert.match(refusal('(a{4}){8}'), /counted repetitions inside each other/);
  });

  it('does not mistake escapes or classes for backreferences', () => {
    compiled('[\\1]x');
    compiled('\\\\1');
  });

  it('refuses syntax errors with the reason', () => {
    assert.equal(refusal('(abc'), '"(abc" is not a valid regular expression: Unterminated group');
  });

  it(`refuses patterns longer than ${MAX_PATTERN_LENGTH} characters`, () => {
    assert.equal(refusal('a'.repeat(MAX_PATTERN_LENGTH + 1)), `the regular expression is ${MAX_PATTERN_LENGTH + 1} characters long; the limit is ${MAX_PATTERN_LENGTH}`);
    compiled('a'.repeat(MAX_PATTERN_LENGTH));
  });

  it('refuses flags that are stateful or not linear', () => {
    assert.match(refusal('abc', 'i'), /flag "i" is not supported .*\[Ww\]ww/);
    assert.match(refusal('abc', 'g'), /flag "g" is not supported/);
    assert.equal(compileSafeRegex('^a.b$', 's').ok, true);
  });

  it('exports the V8 flags a worker process needs', () => {
    assert.deepEqual([...REGEX_SAFETY_FLAGS], ['--enable-experimental-regexp-engine', '--enable-experimental-regexp-engine-on-excessive-backtracks']);
  });

  it('counts capture groups, named ones included, not non-capturing ones', () => {
    assert.equal(groupCount(/^\/api\/(v[0-9])\/(?:x|y)\/(?<rest>.*)$/), 2);
    assert.equal(groupCount(/abc/), 0);
  });
});
