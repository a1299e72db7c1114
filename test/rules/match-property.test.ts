/**
 * The compiled matcher (indexes, gating, lazy atoms, cost ordering) must decide exactly as the
 * naive interpreter does: same rule index, same captures, for random rule lists and requests
 * drawn from small pools so that conditions and requests collide often.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { FieldCondition, HostCondition, MatchConfig, PathCondition } from '../../src/config/rules.ts';
import { createCaptures } from '../../src/rules/captures.ts';
import { compileMatcher } from '../../src/rules/match-compile.ts';
import { naiveMatch } from '../../src/rules/naive.ts';
import { request, type RequestSpec } from './helpers.ts';

const HOSTS = ['a.com', 'b.a.com', 'x.b.a.com', 'c.org', 'a.comx', 'org', ''];
const HOST_PATTERNS = ['a.com', 'b.a.com', '*.a.com', '*.b.a.com', 'c.org', '*.org', 'x.b.a.com', '*.com'];
const HOST_REGEXES = ['^a', '\\.com$', '^(x|b)\\.', 'org'];
const PATHS = ['/', '/a', '/a/', '/a/b', '/ab', '/ab/c.js', '/static/x.css', '/static', '*', '/api/v1/users', '/api/v2/x/y', '/b'];
const PREFIXES = ['/', '/a', '/a/', '/ab', '/static/', '/api/', '/api/v1/'];
const EXACTS = ['/', '/a', '/a/b', '*', '/static', '/b'];
const SUFFIXES = ['.js', '.css', 'b', '/'];
const PATH_REGEXES = ['^/api/v([0-9])/(.*)$', '^/(a)(b)?', '/([a-z]+)$', '^/static/(.*)\\.(css|js)$', 'x', '^/(?:a|b)$'];
const METHODS = ['GET', 'POST', 'HEAD', 'PUT'];
const HEADER_VALUES = ['1', 'yes', 'YES', 'Yes', ''];
const VALUE_REGEXES = ['^y', '^[0-9]+$', 'E', '^$'];
const CIDRS = ['10.0.0.0/8', '10.1.0.0/16', '192.168.1.7/32', '2001:db8::/32', '::1/128', '0.0.0.0/0'];
const CLIENTS = ['10.1.2.3', '10.2.0.1', '192.168.1.7', '172.16.0.1', '2001:db8::1', '::1', '2001:db9::1', '::ffff:10.1.0.9'];
const COUNTRIES = ['DE', 'FR', 'US'];

const some = <T>(values: readonly T[]): fc.Arbitrary<T[]> => fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 3 });

const host: fc.Arbitrary<HostCondition> = fc.oneof(
  some(HOST_PATTERNS).map((names) => ({ names })),
  fc.constantFrom(...HOST_REGEXES).map((regex) => ({ regex })),
);

const path: fc.Arbitrary<PathCondition> = fc.oneof(
  some(EXACTS).map((exact) => ({ exact })),
  some(PREFIXES).map((prefix) => ({ prefix })),
  some(SUFFIXES).map((suffix) => ({ suffix })),
  fc.constantFrom(...PATH_REGEXES).map((regex) => ({ regex })),
);

function field(names: readonly string[], values: readonly string[], ignoreCase: boolean): fc.Arbitrary<FieldCondition> {
  const name = fc.constantFrom(...names);
  return fc.oneof(
    fc.record({ name, present: fc.boolean() }),
    fc.record({ name, equals: fc.constantFrom(...values), ignoreCase: ignoreCase ? fc.boolean() : fc.constant(false) }),
    fc.record({ name, regex: fc.constantFrom(...VALUE_REGEXES) }),
  );
}

const leafKeys = {
  host,
  path,
  method: some(METHODS),
  header: field(['x-a', 'x-b'], HEADER_VALUES, true),
  query: field(['a', 'b', 'ab'], ['1', '', 'x', 'yes'], false),
  cookie: field(['s', 'S'], ['v', 'V', 'x'], false),
  clientAddress: some(CIDRS),
  country: some(COUNTRIES),
};

type Arbitraries = Record<string, fc.Arbitrary<unknown>>;

/** An object with one or two of `keys`, each drawn from its arbitrary. */
function oneOrTwoOf(model: Arbitraries): fc.Arbitrary<MatchConfig> {
  return fc
    .uniqueArray(fc.constantFrom(...Object.keys(model)), { minLength: 1, maxLength: 2 })
    .chain((keys) => fc.record(Object.fromEntries(keys.map((key) => [key, model[key]!]))) as fc.Arbitrary<MatchConfig>);
}

/** Matches with combinators nested up to `depth` deep; each object carries one or two keys. */
function matchArbitrary(depth: number): fc.Arbitrary<MatchConfig> {
  const leaf = oneOrTwoOf(leafKeys);
  if (depth === 0) return leaf;
  const inner = matchArbitrary(depth - 1);
  const combinators = {
    all: fc.array(inner, { minLength: 1, maxLength: 3 }),
    any: fc.array(inner, { minLength: 1, maxLength: 3 }),
    not: inner,
  };
  const combined = fc.tuple(oneOrTwoOf(combinators), fc.option(oneOrTwoOf(leafKeys), { nil: undefined })).map(([node, extra]) => ({ ...extra, ...node }));
  return fc.oneof({ arbitrary: leaf, weight: 2 }, { arbitrary: combined, weight: 1 });
}

const requestSpec: fc.Arbitrary<RequestSpec> = fc.record({
  method: fc.constantFrom(...METHODS),
  host: fc.constantFrom(...HOSTS),
  path: fc.constantFrom(...PATHS),
  query: fc.array(fc.constantFrom('a=1', 'a=', 'a', 'b=x', 'ab=yes', 'b', '', 'a=yes', 'b=1'), { maxLength: 4 }).map((pairs) => pairs.join('&')),
  headers: fc.record({ 'x-a': fc.constantFrom(...HEADER_VALUES), 'x-b': fc.constantFrom(...HEADER_VALUES) }, { requiredKeys: [] }),
  cookies: fc.record({ s: fc.constantFrom('v', 'V', 'x'), S: fc.constantFrom('v', 'x') }, { requiredKeys: [] }),
  client: fc.option(fc.constantFrom(...CLIENTS), { nil: undefined }),
  country: fc.option(fc.constantFrom(...COUNTRIES), { nil: null }),
});

describe('compiled matcher against the naive interpreter', () => {
  it('picks the same rule with the same captures', () => {
    fc.assert(
      fc.property(fc.array(matchArbitrary(3), { minLength: 1, maxLength: 8 }), fc.array(requestSpec, { minLength: 1, maxLength: 6 }), (matches, specs) => {
        const matcher = compileMatcher(matches);
        for (const spec of specs) {
          const compiled = createCaptures();
          const naive = createCaptures();
          const index = matcher.match(request(spec), compiled);
          assert.equal(index, naiveMatch(matches, request(spec), naive), 'rule index');
          assert.deepEqual(compiled.groups.slice(0, compiled.count), naive.groups.slice(0, naive.count), 'captures');
        }
      }),
      { numRuns: 1_500, seed: 20_240_611 },
    );
  });

  it('the matches it was given hold for some requests: the test is not vacuous', () => {
    let matched = 0;
    let total = 0;
    fc.assert(
      fc.property(fc.array(matchArbitrary(3), { minLength: 1, maxLength: 8 }), requestSpec, (matches, spec) => {
        total++;
        if (compileMatcher(matches).match(request(spec), createCaptures()) !== -1) matched++;
      }),
      { numRuns: 500, seed: 7 },
    );
    assert.ok(matched > total / 10 && matched < total * 0.9, `${matched} of ${total} requests matched a rule`);
  });
});
