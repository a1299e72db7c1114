import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { MatchSchema, type MatchConfig } from '../../src/config/rules.ts';
import { createCaptures } from '../../src/rules/captures.ts';
import { compileMatcher } from '../../src/rules/match-compile.ts';
import { naiveMatch } from '../../src/rules/naive.ts';
import { NO_CLIENT_CERTIFICATE, type ClientCertificate } from '../../src/tls/client-certificate.ts';
import { request, type RequestSpec } from './helpers.ts';

/** The index of the first match (as written in YAML) that holds; the compiled matcher and the naive one must agree. */
function first(matches: unknown[], spec: RequestSpec): number {
  const configs = matches.map((match) => z.parse(MatchSchema, match));
  const compiled = compileMatcher(configs).match(request(spec), createCaptures());
  assert.equal(naiveMatch(configs, request(spec), createCaptures()), compiled, 'naive and compiled disagree');
  return compiled;
}

function holds(match: unknown, spec: RequestSpec): boolean {
  return first([match], spec) === 0;
}

describe('match: host', () => {
  it('matches exact names without regard to case, and lists as any-of', () => {
    assert.ok(holds({ host: 'WWW.Example.com' }, { host: 'www.example.com' }));
    assert.ok(holds({ host: 'www.example.com.' }, { host: 'www.example.com' }));
    assert.ok(!holds({ host: 'www.example.com' }, { host: 'example.com' }));
    assert.ok(holds({ host: ['a.example', 'b.example'] }, { host: 'b.example' }));
  });

  it('*.example.com matches names below example.com at any depth, not example.com itself', () => {
    const match = { host: '*.example.com' };
    assert.ok(holds(match, { host: 'www.example.com' }));
    assert.ok(holds(match, { host: 'a.b.example.com' }));
    assert.ok(!holds(match, { host: 'example.com' }));
    assert.ok(!holds(match, { host: 'badexample.com' }));
    assert.ok(!holds(match, { host: '' }));
  });

  it('a host regex is tested against the lower-case host', () => {
    assert.ok(holds({ host: { regex: '^(www|static)\\.example\\.(com|org)$' } }, { host: 'static.example.org' }));
    assert.ok(!holds({ host: { regex: '^www\\.' } }, { host: 'api.example.com' }));
  });
});

describe('match: path', () => {
  it('a string is an exact, case-sensitive path', () => {
    assert.ok(holds({ path: '/login' }, { path: '/login' }));
    assert.ok(!holds({ path: '/login' }, { path: '/Login' }));
    assert.ok(!holds({ path: '/login' }, { path: '/login/' }));
    assert.ok(holds({ path: { exact: ['/a', '/b'] } }, { path: '/b' }));
  });

  it('prefix, suffix and regex', () => {
    assert.ok(holds({ path: { prefix: '/static/' } }, { path: '/static/css/site.css' }));
    assert.ok(!holds({ path: { prefix: '/static/' } }, { path: '/static' }));
    assert.ok(holds({ path: { prefix: ['/a/', '/b/'] } }, { path: '/b/x' }));
    assert.ok(holds({ path: { prefix: '/' } }, { path: '/anything' }));
    assert.ok(holds({ path: { suffix: ['.css', '.js'] } }, { path: '/x/app.js' }));
    assert.ok(!holds({ path: { suffix: '.JS' } }, { path: '/x/app.js' }));
    assert.ok(holds({ path: { regex: '^/users/[0-9]+$' } }, { path: '/users/42' }));
    assert.ok(!holds({ path: { regex: '^/users/[0-9]+$' } }, { path: '/users/me' }));
  });

  it('every prefix of a path holds, also when several prefixes share a trie branch', () => {
    const matches = [{ path: { prefix: '/static/images/' } }, { path: { prefix: '/static/' } }, { path: { prefix: '/st' } }, { path: { prefix: '/' } }];
    assert.equal(first(matches, { path: '/static/images/a.png' }), 0);
    assert.equal(first(matches, { path: '/static/css/a.css' }), 1);
    assert.equal(first(matches, { path: '/stats' }), 2);
    assert.equal(first(matches, { path: '/other' }), 3);
  });
});

describe('match: method, header, query, cookie', () => {
  it('method is a case-sensitive token or a list', () => {
    assert.ok(holds({ method: 'RPC_IN_DATA' }, { method: 'RPC_IN_DATA' }));
    assert.ok(holds({ method: ['GET', 'HEAD'] }, { method: 'HEAD' }));
    assert.ok(!holds({ method: ['GET', 'HEAD'] }, { method: 'POST' }));
  });

  it('header names ignore case; values are case-sensitive unless ignoreCase', () => {
    assert.ok(holds({ header: { name: 'X-Debug', present: true } }, { headers: { 'x-debug': '1' } }));
    assert.ok(!holds({ header: { name: 'X-Debug', present: true } }, {}));
    assert.ok(holds({ header: { name: 'X-Debug', present: false } }, {}));
    assert.ok(holds({ header: { name: 'Upgrade', equals: 'websocket' } }, { headers: { Upgrade: 'websocket' } }));
    assert.ok(!holds({ header: { name: 'Upgrade', equals: 'websocket' } }, { headers: { Upgrade: 'WebSocket' } }));
    assert.ok(holds({ header: { name: 'Upgrade', equals: 'websocket', ignoreCase: true } }, { headers: { Upgrade: 'WebSocket' } }));
    assert.ok(holds({ header: { name: 'user-agent', regex: 'curl/[0-9]' } }, { headers: { 'User-Agent': 'curl/8.5.0' } }));
    assert.ok(!holds({ header: { name: 'user-agent', regex: '.*' } }, {}));
  });

  it('query parameters are raw name=value pairs split on "&"', () => {
    assert.ok(holds({ query: { name: 'debug', present: true } }, { query: 'a=1&debug' }));
    assert.ok(holds({ query: { name: 'debug', equals: '' } }, { query: 'debug&a=1' }));
    assert.ok(holds({ query: { name: 'q', equals: 'a%20b' } }, { query: 'q=a%20b' }));
    assert.ok(!holds({ query: { name: 'q', equals: 'a b' } }, { query: 'q=a%20b' }));
    assert.ok(holds({ query: { name: 'v', equals: 'b=c' } }, { query: 'v=b=c' }));
    assert.ok(holds({ query: { name: 'v', equals: '1' } }, { query: 'v=1&v=2' }), 'the first pair of a name wins');
    assert.ok(!holds({ query: { name: 'v', equals: '2' } }, { query: 'v=1&v=2' }));
    assert.ok(!holds({ query: { name: 'V', present: true } }, { query: 'v=1' }), 'names are case-sensitive');
    assert.ok(!holds({ query: { name: 'v', present: true } }, { query: 'vv=1&xv=2' }));
    assert.ok(holds({ query: { name: 'id', regex: '^[0-9]+$' } }, { query: '&&id=42&' }));
  });

  it('cookies by case-sensitive name, values case-sensitive', () => {
    assert.ok(holds({ cookie: { name: 'session', present: true } }, { cookies: { session: 'abc' } }));
    assert.ok(!holds({ cookie: { name: 'Session', present: true } }, { cookies: { session: 'abc' } }));
    assert.ok(holds({ cookie: { name: 'beta', equals: 'yes' } }, { cookies: { beta: 'yes' } }));
    assert.ok(!holds({ cookie: { name: 'beta', equals: 'yes' } }, { cookies: { beta: 'YES' } }));
    assert.ok(holds({ cookie: { name: 'beta', regex: '^y' } }, { cookies: { beta: 'yes' } }));
  });
});

describe('match: client address and country', () => {
  it('clientAddress is a CIDR or a list, IPv4 and IPv6; an unknown address is in none', () => {
    const match = { clientAddress: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'] };
    assert.ok(holds(match, { client: '10.20.30.40' }));
    assert.ok(holds(match, { client: '::ffff:10.1.1.1' }));
    assert.ok(holds(match, { client: '2001:db8::5' }));
    assert.ok(holds(match, { client: '192.0.2.7' }));
    assert.ok(!holds(match, { client: '192.0.2.8' }));
    assert.ok(!holds(match, {}));
  });

  it('country is an ISO code or a list; an unknown country matches none', () => {
    assert.ok(holds({ country: ['DE', 'AT'] }, { country: 'AT' }));
    assert.ok(!holds({ country: 'DE' }, { country: 'FR' }));
    assert.ok(!holds({ country: 'DE' }, { country: null }));
  });
});

describe('match: combinators', () => {
  it('several keys in one match must all hold', () => {
    const match = { host: 'api.example.com', method: 'POST', path: { prefix: '/v1/' } };
    assert.ok(holds(match, { host: 'api.example.com', method: 'POST', path: '/v1/x' }));
    assert.ok(!holds(match, { host: 'api.example.com', method: 'GET', path: '/v1/x' }));
    assert.ok(!holds(match, { host: 'www.example.com', method: 'POST', path: '/v1/x' }));
  });

  it('all, any and not, nested', () => {
    const match = {
      all: [{ path: { prefix: '/admin' } }, { not: { clientAddress: ['127.0.0.0/8', '10.0.0.0/8'] } }],
      any: [{ method: 'POST' }, { not: { header: { name: 'X-Read-Only', present: true } } }],
    };
    assert.ok(holds(match, { path: '/admin/users', client: '203.0.113.5', method: 'POST' }));
    assert.ok(holds(match, { path: '/admin/users', client: '203.0.113.5', method: 'GET' }));
    assert.ok(!holds(match, { path: '/admin/users', client: '203.0.113.5', method: 'GET', headers: { 'X-Read-Only': '1' } }));
    assert.ok(!holds(match, { path: '/admin/users', client: '10.1.1.1', method: 'POST' }));
    assert.ok(!holds(match, { path: '/public', client: '203.0.113.5', method: 'POST' }));
  });
});

describe('the rule chain', () => {
  it('returns the first rule whose match holds, in list order, whatever the index', () => {
    const matches = [{ path: { regex: '^/x' } }, { host: 'a.example' }, { path: { prefix: '/' } }, { host: 'a.example', path: '/x' }];
    assert.equal(first(matches, { host: 'a.example', path: '/x' }), 0);
    assert.equal(first(matches, { host: 'a.example', path: '/y' }), 1);
    assert.equal(first(matches, { host: 'b.example', path: '/y' }), 2);
    assert.equal(first([{ host: 'a.example' }, { host: 'b.example' }], { host: 'c.example' }), -1);
  });

  it('merges gated rules of several hosts, wildcards and prefixes with ungated ones in rule order', () => {
    const matches = [
      { host: 'b.example', method: 'POST' },
      { header: { name: 'X-A', present: true } },
      { host: '*.example' },
      { path: { prefix: '/p' }, method: 'PUT' },
      { host: 'b.example' },
      { path: '/p/q' },
    ];
    assert.equal(first(matches, { host: 'b.example', method: 'POST' }), 0);
    assert.equal(first(matches, { host: 'b.example', headers: { 'x-a': '1' } }), 1);
    assert.equal(first(matches, { host: 'b.example' }), 2);
    assert.equal(first(matches, { host: 'c.org', path: '/p/q', method: 'PUT' }), 3);
    assert.equal(first(matches, { host: 'c.org', path: '/p/q' }), 5);
  });

  it('with thousands of host rules, finds the right one', () => {
    const matches = Array.from({ length: 5_000 }, (_, i) => ({ host: `site${i}.example`, path: { prefix: `/app${i % 7}/` } }));
    matches.push({ host: 'site4999.example', path: { prefix: '/' } });
    const matcher = compileMatcher(matches.map((match) => z.parse(MatchSchema, match)));
    assert.equal(matcher.match(request({ host: 'site1234.example', path: '/app2/x' }), createCaptures()), 1234);
    assert.equal(matcher.match(request({ host: 'site1234.example', path: '/app3/x' }), createCaptures()), -1);
    assert.equal(matcher.match(request({ host: 'site4999.example', path: '/zzz' }), createCaptures()), 5000);
  });

  it('reads each header, cookie and the country at most once per request, however many rules test them', () => {
    const matches = [
      { header: { name: 'X-A', equals: '1' } },
      { header: { name: 'x-a', equals: '2' } },
      { header: { name: 'X-A', regex: '^3' }, cookie: { name: 'c', present: true } },
      { cookie: { name: 'c', equals: 'v' }, country: 'DE' },
      { country: ['FR', 'DE'], header: { name: 'X-A', present: false } },
    ];
    const matcher = compileMatcher(matches.map((match) => z.parse(MatchSchema, match)));
    const input = request({ headers: { 'X-A': '9' }, cookies: { c: 'v' }, country: 'IT' });
    assert.equal(matcher.match(input, createCaptures()), -1);
    assert.deepEqual(Object.fromEntries(input.reads), { 'header:x-a': 1, 'cookie:c': 1, country: 1 });
    // The next request reads afresh.
    const next = request({ headers: { 'X-A': '2' } });
    assert.equal(matcher.match(next, createCaptures()), 1);
    assert.deepEqual(Object.fromEntries(next.reads), { 'header:x-a': 1 });
  });

  it('evaluates lazily: a rule decided by its host never reads its header', () => {
    const matcher = compileMatcher([z.parse(MatchSchema, { host: 'a.example', header: { name: 'X-A', present: true } })]);
    const input = request({ host: 'b.example' });
    assert.equal(matcher.match(input, createCaptures()), -1);
    assert.equal(input.reads.size, 0);
  });
});

describe('captures', () => {
  function captured(matches: unknown[], spec: RequestSpec): [number, string[]] {
    const configs: MatchConfig[] = matches.map((match) => z.parse(MatchSchema, match));
    const captures = createCaptures();
    const index = compileMatcher(configs).match(request(spec), captures);
    const naive = createCaptures();
    assert.equal(naiveMatch(configs, request(spec), naive), index);
    assert.deepEqual(naive.groups.slice(0, naive.count), captures.groups.slice(0, captures.count));
    return [index, captures.groups.slice(0, captures.count)];
  }

  it('fills $1..$9 from the matched rule\'s top-level path regex; groups that did not take part are empty', () => {
    assert.deepEqual(captured([{ path: { regex: '^/api/v([0-9])/(.*)$' } }], { path: '/api/v1/users/7' }), [0, ['1', 'users/7']]);
    assert.deepEqual(captured([{ path: { regex: '^/(a)?(b)$' } }], { path: '/b' }), [0, ['', 'b']]);
  });

  it('takes the regex from a top-level all too, and none from any or not', () => {
    assert.deepEqual(captured([{ all: [{ method: 'GET' }, { path: { regex: '^/(x+)' } }] }], { path: '/xx' }), [0, ['xx']]);
    assert.deepEqual(captured([{ any: [{ path: { regex: '^/(x+)' } }] }], { path: '/xx' }), [0, []]);
  });

  it('comes from the rule that matched, and is cleared when none does', () => {
    const captures = createCaptures();
    const matcher = compileMatcher([{ path: { regex: '^/a/(.*)' } }, { path: { regex: '^/(.*)' } }].map((match) => z.parse(MatchSchema, match)));
    assert.equal(matcher.match(request({ path: '/b/c' }), captures), 1);
    assert.deepEqual(captures.groups.slice(0, captures.count), ['b/c']);
    assert.equal(matcher.match(request({ path: '*' }), captures), -1);
    assert.equal(captures.count, 0);
  });

  it('keeps at most 9 groups', () => {
    const [, groups] = captured([{ path: { regex: '^/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)$' } }], { path: '/abcdefghij' });
    assert.deepEqual(groups, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
  });
});

describe('match: clientCertificate', () => {
  const facts = (verified: boolean, subject: string): ClientCertificate => ({
    ...NO_CLIENT_CERTIFICATE,
    present: true,
    verified,
    verifyCode: verified ? '' : 'CERT_REVOKED',
    verifyError: verified ? '' : 'certificate revoked',
    subject,
  });
  const alice = facts(true, 'CN=alice.example,O=Example');
  const forged = facts(false, 'CN=alice.example,O=Example');

  it('verified: true holds for a verified certificate only; false for none, an unverified one, or no clientAuth', () => {
    assert.ok(holds({ clientCertificate: { verified: true } }, { clientCertificate: alice }));
    assert.ok(!holds({ clientCertificate: { verified: true } }, { clientCertificate: forged }));
    assert.ok(!holds({ clientCertificate: { verified: true } }, { clientCertificate: NO_CLIENT_CERTIFICATE }));
    assert.ok(holds({ clientCertificate: { verified: false } }, { clientCertificate: forged }));
    assert.ok(holds({ clientCertificate: { verified: false } }, { clientCertificate: NO_CLIENT_CERTIFICATE }));
    assert.ok(holds({ clientCertificate: { verified: false } }, { clientCertificate: null }));
    assert.ok(!holds({ clientCertificate: { verified: false } }, { clientCertificate: alice }));
  });

  it('subject: exact or regex, on a verified certificate only', () => {
    assert.ok(holds({ clientCertificate: { subject: 'CN=alice.example,O=Example' } }, { clientCertificate: alice }));
    assert.ok(holds({ clientCertificate: { subject: { equals: 'CN=alice.example,O=Example' } } }, { clientCertificate: alice }));
    assert.ok(!holds({ clientCertificate: { subject: 'cn=alice.example,o=example' } }, { clientCertificate: alice }));
    assert.ok(holds({ clientCertificate: { verified: true, subject: { regex: '^CN=[a-z]+\\.example,' } } }, { clientCertificate: alice }));
    assert.ok(!holds({ clientCertificate: { subject: { regex: '^CN=alice' } } }, { clientCertificate: forged }), 'anyone can write any subject');
    assert.ok(!holds({ clientCertificate: { subject: { regex: '' } } }, { clientCertificate: null }));
    assert.ok(holds({ not: { clientCertificate: { subject: { regex: '^CN=alice' } } } }, { clientCertificate: forged }));
  });

  it('refuses an empty condition, both equals and regex, and a subject with verified: false', () => {
    const problems = (match: unknown): string[] => {
      const parsed = z.safeParse(MatchSchema, match);
      return parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
    };
    assert.match(problems({ clientCertificate: {} }).join('\n'), /verified, subject or both/);
    assert.match(problems({ clientCertificate: { subject: { equals: 'CN=a', regex: 'a' } } }).join('\n'), /exactly one of equals or regex/);
    assert.match(problems({ clientCertificate: { verified: false, subject: 'CN=a' } }).join('\n'), /never holds/);
  });
});
