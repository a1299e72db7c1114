import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { z } from 'zod';
import { makeRulesSchema, RulesSchema } from '../../src/config/rules.ts';
import { type Problem, problems, ruleProblems } from './helpers.ts';

/** The one problem of a rule, without the field's `allowed` text. */
function problemOf(rule: Record<string, unknown>): Omit<Problem, 'allowed'> {
  const found = ruleProblems(rule);
  assert.equal(found.length, 1, JSON.stringify(found));
  const { allowed: _, ...rest } = found[0]!;
  return rest;
}

const SAMPLE = `
rules:
  - name: www-moved
    match: { host: www.surveyor.lab }
    redirect: { to: "http://www.bussines.lab/surveyors/services", status: 301 }
  - name: static-files
    match: { path: { prefix: /static/ } }
    pool: static
    rewrite: { stripPrefix: /static }
    responseHeaders: { set: { Cache-Control: "public, max-age=300" } }
  - name: no-admin-from-outside
    match: { all: [ { path: { prefix: /admin } }, { not: { clientAddress: [127.0.0.0/8, 10.0.0.0/8] } } ] }
    deny: { status: 403 }
  - name: api
    match: { path: { regex: "^/api/v1/(.*)$" } }
    rewrite: { path: "/v1/$1" }
    requestHeaders: { set: { X-Api-Version: "1" }, remove: [X-Debug] }
    responseHeaders: { remove: [Server, X-Powered-By] }
`;

describe('RulesSchema accepts', () => {
  it('the sample rules, in normal form', () => {
    const rules = z.parse(RulesSchema, parse(SAMPLE).rules);
    assert.deepEqual(rules[0], { name: 'www-moved', match: { host: { names: ['www.surveyor.lab'] } }, redirect: { to: 'http://www.bussines.lab/surveyors/services', status: 301 } });
    assert.deepEqual(rules[1]!.match, { path: { prefix: ['/static/'] } });
    assert.deepEqual(rules[1]!.responseHeaders, { remove: [], replace: [], set: { 'Cache-Control': 'public, max-age=300' }, add: {} });
    assert.deepEqual(rules[2]!.match, { all: [{ path: { prefix: ['/admin'] } }, { not: { clientAddress: ['127.0.0.0/8', '10.0.0.0/8'] } }] });
    assert.deepEqual(rules[2]!.deny, { status: 403 });
    assert.deepEqual(rules[3]!.rewrite, { path: '/v1/$1' });
    assert.deepEqual(rules[3]!.requestHeaders, { remove: ['X-Debug'], replace: [], set: { 'X-Api-Version': '1' }, add: {} });
  });

  it('every match key, deny: true, sizes with units, and YAML numbers where text is meant', () => {
    const rules = z.parse(
      RulesSchema,
      parse(`
- name: everything
  match:
    host: [Www.Example.com., "*.example.org"]
    method: [GET, RPC_IN_DATA]
    header: { name: X-Version, equals: 2, ignoreCase: true }
    query: { name: debug, present: true }
    cookie: { name: beta, regex: "^y" }
    clientAddress: [10.0.0.1, "2001:db8::/32"]
    country: DE
    any: [ { path: /exact }, { path: { suffix: [.css, .js] } } ]
  deny: true
  access: { allow: [10.0.0.0/8], denyCountries: [KP] }
- name: upload
  match: { path: { prefix: / } }
  requestBody: { maxBytes: 1MiB }
`),
    );
    assert.deepEqual(rules[0]!.match, {
      host: { names: ['www.example.com', '*.example.org'] },
      method: ['GET', 'RPC_IN_DATA'],
      header: { name: 'x-version', equals: '2', ignoreCase: true },
      query: { name: 'debug', present: true },
      cookie: { name: 'beta', regex: '^y' },
      clientAddress: ['10.0.0.1/32', '2001:db8::/32'],
      country: ['DE'],
      any: [{ path: { exact: ['/exact'] } }, { path: { suffix: ['.css', '.js'] } }],
    });
    assert.deepEqual(rules[0]!.deny, { status: 403 });
    assert.deepEqual(rules[0]!.access, { allow: ['10.0.0.0/8'], denyCountries: ['KP'], status: 403 });
    assert.equal(rules[1]!.requestBody?.maxBytes, 1_048_576);
  });

  it('a rateLimit read by the schema the architect passes to makeRulesSchema', () => {
    const schema = makeRulesSchema(z.strictObject({ requestsPerSecond: z.int().min(1) }));
    const rules = z.parse(schema, [{ name: 'limited', match: { path: { prefix: '/' } }, rateLimit: { requestsPerSecond: 5 } }]);
    assert.deepEqual(rules[0]!.rateLimit, { requestsPerSecond: 5 });
    assert.equal(schema.safeParse([{ name: 'limited', match: { path: { prefix: '/' } }, rateLimit: { requestsPerSecond: 0 } }]).success, false);
  });

  it('produces a JSON Schema for editors', () => {
    const json = JSON.stringify(z.toJSONSchema(RulesSchema, { io: 'input' }));
    assert.match(json, /"stripPrefix"/);
  });
});

describe('RulesSchema refuses, saying what to write instead', () => {
  it('a redirect without a scheme, with the http:// form as the suggestion', () => {
    assert.deepEqual(problemOf({ match: { host: 'www.surveyor.lab' }, redirect: { to: 'www.bussines.lab/x' } }), {
      path: '[0].redirect.to',
      message: '"www.bussines.lab/x" has no scheme; write "http://www.bussines.lab/x" or "https://www.bussines.lab/x" (without one, browsers read it as a path on the same site and may loop)',
      suggestion: 'http://www.bussines.lab/x',
    });
  });

  it('other redirect targets that are not absolute http(s) URLs', () => {
    const to = (target: string): Omit<Problem, 'allowed'> => problemOf({ match: { host: 'a.example' }, redirect: { to: target } });
    assert.deepEqual(to('/maintenance'), {
      path: '[0].redirect.to',
      message: '"/maintenance" has no scheme or host; write "https://$host/maintenance" to stay on the host the client asked for, or a full URL such as "https://www.example.com/new"',
    });
    assert.equal(to('ftp://files.example/').message, 'a redirect goes to an http:// or https:// URL, not ftp://');
    assert.deepEqual(to('http:/x.example/y'), { path: '[0].redirect.to', message: '"http:/x.example/y" needs "//" after the scheme; write "http://x.example/y"', suggestion: 'http://x.example/y' });
    assert.equal(to('//cdn.example/x').suggestion, 'http://cdn.example/x');
    assert.equal(to('https:///x').message, '"https:///x" has no host; write a URL such as "https://www.example.com/new"');
    assert.equal(to('https://www.$host/').message, 'in "https://www.$host/", the host is either written out or is $host as a whole; other variables belong in the path');
    assert.equal(to('https://$host$1').message, 'in "https://$host$1", only $path may follow the host directly; start the path with "/", e.g. "https://$host/$1"');
    assert.equal(to('https://$host$uri').message, '"$uri" is not a variable here; write $host, $path, $query or $1..$9 (a literal "$" is written %24)');
    assert.equal(to('https://$host/$uri').message, '"$uri" is not a variable here; write $host, $path, $query or $1..$9 (a literal "$" is written %24)');
    assert.equal(to('https://a.example/x y').message, '"https://a.example/x y" contains a space; percent-encode it (a space is %20)');
    assert.equal(to('https://a.example:99999/').message, 'port "99999" in "https://a.example:99999/" is not a number from 1 to 65535');
  });

  it('a rule without match, or a match without conditions, naming the match-all form', () => {
    const missing = ruleProblems({ pool: 'web' });
    assert.equal(missing.length, 1);
    assert.equal(missing[0]!.path, '[0].match');
    assert.match(missing[0]!.allowed!, /to match every request, write match: \{ path: \{ prefix: \/ \} \}/);
    // The schema's own issue says it too, for callers that read zod's issues.
    const raw = RulesSchema.safeParse([{ name: 'r', pool: 'web' }]);
    assert.equal(raw.error?.issues[0]?.message, 'a rule needs match; to match every request, write match: { path: { prefix: / } }');
    assert.deepEqual(problemOf({ match: {}, pool: 'web' }), {
      path: '[0].match',
      message: 'a match needs at least one condition (host, path, method, header, query, cookie, clientAddress, country, clientCertificate, all, any, not); to match every request, write match: { path: { prefix: / } }',
    });
    assert.equal(problemOf({ match: { all: [{ any: [{}] }] }, pool: 'web' }).path, '[0].match.all[0].any[0]');
  });

  it('two actions, and request edits on a rule that answers by itself', () => {
    assert.deepEqual(problemOf({ match: { host: 'a.example' }, pool: 'web', redirect: { to: 'https://b.example/' } }), {
      path: '[0].redirect',
      message: 'a rule takes one action, and this one has both pool and redirect; split it into two rules',
    });
    assert.deepEqual(problemOf({ match: { host: 'a.example' }, deny: true, rewrite: { stripPrefix: '/a' } }), {
      path: '[0].rewrite',
      message: 'has no effect: this rule answers the client itself (deny) and forwards nothing; remove rewrite',
    });
  });

  it('$N without a path regex of at least N groups', () => {
    assert.deepEqual(problemOf({ match: { path: { prefix: '/api/' } }, rewrite: { path: '/v1/$1' } }), {
      path: '[0].rewrite.path',
      message: '"$1" needs a path regex with capture groups in this rule\'s match, e.g. match: { path: { regex: "^/api/(.*)$" } }; the regex must be in match itself or in its all list',
    });
    assert.deepEqual(problemOf({ match: { path: { regex: '^/api/v1/(.*)$' } }, rewrite: { path: '/v1/$2' } }), {
      path: '[0].rewrite.path',
      message: '"$2" refers to group 2 of the match\'s path regex "^/api/v1/(.*)$", which has only 1 group',
    });
    assert.equal(problemOf({ match: { path: { regex: '^/(a)$' } }, redirect: { to: 'https://x.example/$3' } }).path, '[0].redirect.to');
    assert.deepEqual(ruleProblems({ match: { all: [{ method: 'GET' }, { path: { regex: '^/(a)/(b)$' } }] }, rewrite: { path: '/$2/$1' } }), []);
    assert.equal(problemOf({ match: { host: 'a.example' }, rewrite: { regex: '^/(a)', with: '/$2' } }).message, '"$2" refers to group 2 of the rewrite regex, which has only 1 group');
  });

  it('a regex that cannot run in linear time, at the regex', () => {
    assert.deepEqual(problemOf({ match: { path: { regex: '^/(a+)\\1$' } }, pool: 'web' }), {
      path: '[0].match.path.regex',
      message: '"^/(a+)\\\\1$" cannot run in linear time: it uses a backreference (\\1). Fulcrum only accepts patterns that run in time proportional to the input, so that no request can stall a worker',
    });
    assert.equal(problemOf({ match: { header: { name: 'Referer', regex: '(?!x)' } }, pool: 'web' }).path, '[0].match.header.regex');
    assert.equal(problemOf({ match: { host: 'a.example' }, requestHeaders: { replace: [{ name: 'X-A', regex: '(a', with: 'b' }] } }).path, '[0].requestHeaders.replace[0].regex');
  });

  it('hosts, paths, methods, countries and networks written the wrong way', () => {
    const match = (value: unknown): Omit<Problem, 'allowed'> => problemOf({ match: value as Record<string, unknown>, pool: 'web' });
    assert.deepEqual(match({ host: 'www.example.com:8080' }), { path: '[0].match.host', message: '"www.example.com:8080" has a port; hosts are matched without it: write "www.example.com"', suggestion: 'www.example.com' });
    assert.deepEqual(match({ host: ['a.example', 'https://b.example/'] }), { path: '[0].match.host[1]', message: '"https://b.example/" is a URL; a host condition is the host name alone: write "b.example"', suggestion: 'b.example' });
    assert.equal(match({ host: 'w*.example' }).message, '"w*.example" has a "*" inside; a wildcard is a whole first label, e.g. "*.example.com", or use host: { regex: ... }');
    assert.deepEqual(match({ path: { prefix: 'static/' } }), { path: '[0].match.path.prefix', message: '"static/" does not start with "/"; write "/static/"', suggestion: '/static/' });
    assert.deepEqual(match({ path: '/search?q=x' }), { path: '[0].match.path', message: '"/search?q=x" contains "?"; the path is matched without the query string: match the query with query: { name, equals }' });
    assert.deepEqual(match({ path: { prefix: '/a', exact: '/b' } }), { path: '[0].match.path.prefix', message: 'write exactly one of exact, prefix, suffix or regex, not both exact and prefix; to accept either, use any: [...]' });
    assert.deepEqual(match({ method: ['GET', 'post'] }), { path: '[0].match.method[1]', message: 'methods are case-sensitive and clients send "POST"; write "POST"', suggestion: 'POST' });
    assert.deepEqual(match({ country: 'de' }), { path: '[0].match.country', message: 'country codes are upper case: write "DE"', suggestion: 'DE' });
    assert.deepEqual(match({ clientAddress: ['10.0.0.0/8', '10.0.0.1/8'] }), { path: '[0].match.clientAddress[1]', message: '"10.0.0.1/8" has bits set after the first 8; the network is 10.0.0.0/8', suggestion: '10.0.0.0/8' });
    assert.equal(match({ query: { name: 'a=b', present: true } }).message, 'a query parameter name cannot contain "=": parameters are split on "&" and "=" (write the name as sent, percent-encoded)');
    assert.deepEqual(match({ cookie: { name: 'my cookie', present: true } }), { path: '[0].match.cookie.name', message: '"my cookie" is not a valid cookie name (letters, digits and !#$%&\'*+.^_`|~-)' });
    assert.deepEqual(match({ header: { name: 'X-A' } }), { path: '[0].match.header', message: 'write exactly one of present, equals or regex' });
    assert.deepEqual(match({ header: { name: 'X-A', regex: 'a', ignoreCase: true } }), { path: '[0].match.header.ignoreCase', message: 'ignoreCase applies to equals only; a regex can list both cases, e.g. [Yy]es' });
  });

  it('header edits of framing and hop-by-hop fields, bad names and values with line breaks', () => {
    assert.deepEqual(problemOf({ match: { host: 'a.example' }, requestHeaders: { set: { 'Content-Length': '5' } } }), {
      path: '[0].requestHeaders.set.Content-Length',
      message: 'header "Content-Length" cannot be edited by a rule: Content-Length is framing: Fulcrum computes it for the body it sends',
    });
    assert.deepEqual(problemOf({ match: { host: 'a.example' }, responseHeaders: { remove: ['Server', 'connection'] } }), {
      path: '[0].responseHeaders.remove[1]',
      message: 'header "connection" cannot be edited by a rule: Connection is hop-by-hop: it applies to one connection and Fulcrum sets it per connection',
    });
    for (const name of ['Transfer-Encoding', 'Keep-Alive', 'Upgrade', 'TE', 'Trailer', 'Proxy-Connection']) {
      assert.match(problemOf({ match: { host: 'a.example' }, requestHeaders: { add: { [name]: 'x' } } }).message, new RegExp(`^header "${name}" cannot be edited by a rule: `));
    }
    assert.deepEqual(problemOf({ match: { host: 'a.example' }, requestHeaders: { set: { 'X-A': 'one\r\nX-Injected: two' } } }), {
      path: '[0].requestHeaders.set.X-A',
      message: 'the value of header "X-A" contains a line break, which would start a new header field',
    });
    assert.equal(problemOf({ match: { host: 'a.example' }, requestHeaders: { remove: ['Bad Name'] } }).message, '"Bad Name" is not a valid header name (letters, digits and !#$%&\'*+.^_`|~-)');
    assert.equal(problemOf({ match: { host: 'a.example' }, requestHeaders: {} }).message, 'lists no edits; give remove, replace, set or add, or leave the key out');
  });

  it('respond, deny and access out of range or empty', () => {
    const host = { host: 'a.example' };
    assert.deepEqual(problemOf({ match: host, respond: { status: 204, body: 'x' } }), { path: '[0].respond.body', message: 'a 204 answer has no body; remove body or use another status' });
    assert.deepEqual(problemOf({ match: host, respond: { body: 'é'.repeat(40_000) } }), { path: '[0].respond.body', message: 'the body is 80000 bytes; the limit is 65536 (64 KiB). Serve larger content from a real server' });
    assert.equal(problemOf({ match: host, respond: { headers: { 'X-A': 'a\nb' } } }).path, '[0].respond.headers.X-A');
    assert.deepEqual(problemOf({ match: host, respond: { status: 101 } }), { path: '[0].respond.status', message: '101 is too small; the minimum is 200' });
    assert.deepEqual(problemOf({ match: host, deny: { status: 302 } }), { path: '[0].deny.status', message: '302 is too small; the minimum is 400' });
    assert.deepEqual(problemOf({ match: host, access: {} }), { path: '[0].access', message: 'lists no one; give allow, deny, allowCountries or denyCountries' });
    assert.equal(problemOf({ match: host, access: { allowCountries: ['de'] } }).suggestion, 'DE');
  });

  it('rewrites that are not one kind, or not a path', () => {
    const host = { host: 'a.example' };
    assert.deepEqual(problemOf({ match: host, rewrite: { stripPrefix: '/a', path: '/b' } }), { path: '[0].rewrite.path', message: 'write one kind of rewrite, not both stripPrefix and path' });
    assert.deepEqual(problemOf({ match: host, rewrite: { stripPrefix: 'static' } }), { path: '[0].rewrite.stripPrefix', message: '"static" does not start with "/"; write "/static"', suggestion: '/static' });
    assert.equal(problemOf({ match: host, rewrite: { regex: '^/a' } }).message, 'regex needs with, the replacement: { regex: "^/old/(.*)$", with: "/new/$1" }');
    assert.equal(problemOf({ match: host, rewrite: { path: '/a?b' } }).message, '"/a?b" contains "?" or "#"; a rewrite changes the path only, and the query string is kept as the client sent it');
  });

  it('request body sizes that are not sizes', () => {
    assert.deepEqual(problemOf({ match: { host: 'a.example' }, requestBody: { maxBytes: '1 megabyte' } }), {
      path: '[0].requestBody.maxBytes',
      message: '"megabyte" in "1 megabyte" is not a size unit; write B, KiB, MiB, GiB, KB, MB or GB',
    });
  });

  it('a rateLimit before the rate-limit module provides its schema', () => {
    assert.deepEqual(problemOf({ match: { host: 'a.example' }, rateLimit: { requestsPerSecond: 5 } }), {
      path: '[0].rateLimit',
      message: 'rate limits on rules are not available in this version of Fulcrum; remove rateLimit',
    });
  });

  it('a name used twice, at the second use', () => {
    const found = problems([{ name: 'api', match: { host: 'a.example' } }, { name: 'web', match: { host: 'b.example' } }, { name: 'api', match: { host: 'c.example' } }]);
    assert.deepEqual(found.map(({ path, message }) => ({ path, message })), [
      { path: '[2].name', message: 'rule name "api" is already used by the rule at index 0; names must be unique in the list' },
    ]);
    assert.equal(problemOf({ name: 'has space', match: { host: 'a.example' } }).message, '"has space" is not a rule name');
  });
});
