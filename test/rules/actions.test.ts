import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRules } from '../../src/config/rules.ts';
import { compileAccess } from '../../src/rules/access.ts';
import { applyHeaderEdits, compileHeaderEdits, compileRedirect, compileRewrite, redirectLocation, rewritePath } from '../../src/rules/actions.ts';
import { createCaptures } from '../../src/rules/captures.ts';
import { parseTemplate } from '../../src/rules/template.ts';
import type { Captures } from '../../src/rules/types.ts';
import { HeaderList, request, rules } from './helpers.ts';

function captures(...groups: string[]): Captures {
  const result = createCaptures();
  groups.forEach((group, i) => (result.groups[i] = group));
  result.count = groups.length;
  return result;
}

describe('redirectLocation', () => {
  const location = (to: string, spec: Parameters<typeof request>[0], groups: Captures = captures()): string =>
    redirectLocation(compileRedirect({ to, status: 302 }), request(spec), groups);

  it('substitutes $host, $path and $query', () => {
    assert.equal(location('https://$host$path?$query', { host: 'www.example.com', path: '/a/b', query: 'x=1&y' }), 'https://www.example.com/a/b?x=1&y');
    assert.equal(location('https://new.example.com/moved$path', { path: '/x' }), 'https://new.example.com/moved/x');
  });

  it('drops the "?" before an empty $query at the end of the URL or before its fragment', () => {
    assert.equal(location('https://$host$path?$query', { host: 'a.example', path: '/p', query: '' }), 'https://a.example/p');
    assert.equal(location('https://$host$path?$query#top', { host: 'a.example', path: '/p', query: '' }), 'https://a.example/p#top');
    assert.equal(location('https://$host/search?from=old&$query', { host: 'a.example', query: '' }), 'https://a.example/search?from=old&');
  });

  it('substitutes $1..$9 from the captures; missing groups are empty', () => {
    assert.equal(location('https://docs.example.com/$2/$1$3', {}, captures('v1', 'guide')), 'https://docs.example.com/guide/v1');
  });

  it('leaves a "$" that starts no variable alone', () => {
    assert.equal(location('https://a.example/price$', {}), 'https://a.example/price$');
  });
});

describe('parseTemplate', () => {
  it('refuses unknown variables and groups outside $1..$9', () => {
    const message = (text: string, kind: 'url' | 'groups'): string => {
      const parsed = parseTemplate(text, kind);
      return parsed.ok ? 'accepted' : parsed.message;
    };
    assert.equal(message('/v1/$10', 'groups'), '"$10" is not a capture group; groups are $1..$9 (a literal "$" is written %24)');
    assert.equal(message('/v1/$0', 'groups'), '"$0" is not a capture group; groups are $1..$9 (a literal "$" is written %24)');
    assert.equal(message('/v1/$path', 'groups'), '"$path" is not a variable here; write $1..$9 (a literal "$" is written %24)');
    assert.equal(message('https://x/$uri', 'url'), '"$uri" is not a variable here; write $host, $path, $query or $1..$9 (a literal "$" is written %24)');
    assert.equal(message('/a/$1x/$-', 'groups'), 'accepted');
  });
});

describe('rewritePath', () => {
  const rewrite = (config: Parameters<typeof compileRewrite>[0], path: string, groups: Captures = captures()): string => rewritePath(compileRewrite(config), path, groups);

  it('stripPrefix removes the prefix at a "/" boundary and never leaves an empty path', () => {
    assert.equal(rewrite({ stripPrefix: '/static' }, '/static/css/a.css'), '/css/a.css');
    assert.equal(rewrite({ stripPrefix: '/static' }, '/static'), '/');
    assert.equal(rewrite({ stripPrefix: '/static' }, '/static/'), '/');
    assert.equal(rewrite({ stripPrefix: '/static' }, '/staticky'), '/staticky');
    assert.equal(rewrite({ stripPrefix: '/static' }, '/other'), '/other');
    assert.equal(rewrite({ stripPrefix: '/static/' }, '/static/a'), '/a');
    assert.equal(rewrite({ stripPrefix: '/static/' }, '/static/'), '/');
  });

  it('replacePrefix swaps one prefix for another without doubling or losing the "/"', () => {
    assert.equal(rewrite({ replacePrefix: { from: '/old', to: '/new' } }, '/old/x'), '/new/x');
    assert.equal(rewrite({ replacePrefix: { from: '/old', to: '/new' } }, '/old'), '/new');
    assert.equal(rewrite({ replacePrefix: { from: '/old', to: '/new/' } }, '/old/x'), '/new/x');
    assert.equal(rewrite({ replacePrefix: { from: '/old/', to: '/new' } }, '/old/x'), '/new/x');
    assert.equal(rewrite({ replacePrefix: { from: '/old', to: '/' } }, '/old/x'), '/x');
    assert.equal(rewrite({ replacePrefix: { from: '/old', to: '/new' } }, '/older'), '/older');
  });

  it('path builds a new path from the match\'s captures', () => {
    assert.equal(rewrite({ path: '/v1/$1' }, '/api/v1/users', captures('users')), '/v1/users');
    assert.equal(rewrite({ path: '/v1/$1' }, '/api/v1/', captures('')), '/v1/');
  });

  it('regex replaces the first part of the path it matches, with its own groups', () => {
    assert.equal(rewrite({ regex: '^/user/([0-9]+)/', with: '/profiles/$1/' }, '/user/42/edit'), '/profiles/42/edit');
    assert.equal(rewrite({ regex: '\\.html$', with: '' }, '/a/index.html'), '/a/index');
    assert.equal(rewrite({ regex: '^/[a-z]+', with: '' }, '/abc'), '/');
    assert.equal(rewrite({ regex: '^/x', with: '/y' }, '/a'), '/a');
  });

  it('never rewrites "*" (OPTIONS *)', () => {
    assert.equal(rewrite({ regex: '.*', with: '/x' }, '*'), '*');
  });
});

describe('applyHeaderEdits', () => {
  it('applies remove, replace, set, add in that order, whatever the order of the keys', () => {
    const plan = compileHeaderEdits({
      add: { 'X-Tag': 'added' },
      set: { 'X-Tag': 'set', Server: 'fulcrum' },
      replace: [{ name: 'Location', regex: '^http://internal(:[0-9]+)?/', with: 'https://www.example.com/' }],
      remove: ['x-tag', 'X-Powered-By'],
    });
    const headers = new HeaderList([
      ['Server', 'nginx'],
      ['X-Powered-By', 'PHP'],
      ['x-tag', 'old'],
      ['Location', 'http://internal:8080/login'],
      ['Date', 'today'],
    ]);
    applyHeaderEdits(headers, plan);
    assert.deepEqual(headers.fields, [
      ['Date', 'today'],
      ['Location', 'https://www.example.com/login'],
      ['X-Tag', 'set'],
      ['Server', 'fulcrum'],
      ['X-Tag', 'added'],
    ]);
  });

  it('replace rewrites every value of the name and uses the regex\'s groups; untouched headers stay in place', () => {
    const plan = compileHeaderEdits({ remove: [], set: {}, add: {}, replace: [{ name: 'Set-Cookie', regex: '; Domain=([a-z.]+)', with: '; Domain=.$1' }] });
    const headers = new HeaderList([
      ['Set-Cookie', 'a=1; Domain=example.com'],
      ['Vary', 'Accept'],
      ['set-cookie', 'b=2; Domain=example.org; Secure'],
    ]);
    applyHeaderEdits(headers, plan);
    assert.deepEqual(headers.fields, [
      ['Vary', 'Accept'],
      ['Set-Cookie', 'a=1; Domain=.example.com'],
      ['Set-Cookie', 'b=2; Domain=.example.org; Secure'],
    ]);
    const untouched = new HeaderList([['Set-Cookie', 'c=3'], ['Vary', 'Accept']]);
    applyHeaderEdits(untouched, plan);
    assert.deepEqual(untouched.fields, [['Set-Cookie', 'c=3'], ['Vary', 'Accept']]);
  });
});

describe('access', () => {
  it('deny wins over allow; with an allow list, others are refused; unknowns are in no list', () => {
    const access = compileAccess({ allow: ['10.0.0.0/8'], deny: ['10.6.0.0/16'], allowCountries: ['DE'], denyCountries: ['KP'], status: 403 });
    assert.ok(access.allows(request({ client: '10.1.2.3' })));
    assert.ok(!access.allows(request({ client: '10.6.0.1' })));
    assert.ok(access.allows(request({ client: '203.0.113.1', country: 'DE' })));
    assert.ok(!access.allows(request({ client: '203.0.113.1', country: 'FR' })));
    assert.ok(!access.allows(request({ client: '10.1.2.3', country: 'KP' })));
    assert.ok(!access.allows(request({ country: null })));
  });

  it('with deny lists only, everyone else is let in, and the country is not looked up without a country list', () => {
    const access = compileAccess({ deny: ['192.0.2.0/24'], status: 451 });
    const input = request({ client: '198.51.100.1' });
    assert.ok(access.allows(input));
    assert.ok(!access.allows(request({ client: '192.0.2.9' })));
    assert.equal(input.reads.get('country'), undefined);
    assert.equal(access.status, 451);
  });
});

describe('compileRules', () => {
  it('compiles the sample rules into a matcher and per-rule actions', () => {
    const set = compileRules(
      rules([
        { name: 'www-moved', match: { host: 'www.surveyor.lab' }, redirect: { to: 'http://www.bussines.lab/surveyors/services', status: 301 } },
        { name: 'static-files', match: { path: { prefix: '/static/' } }, pool: 'static', rewrite: { stripPrefix: '/static' }, responseHeaders: { set: { 'Cache-Control': 'public, max-age=300' } } },
        { name: 'no-admin-from-outside', match: { all: [{ path: { prefix: '/admin' } }, { not: { clientAddress: ['127.0.0.0/8', '10.0.0.0/8'] } }] }, deny: { status: 403 } },
        { name: 'api', match: { path: { regex: '^/api/v1/(.*)$' } }, rewrite: { path: '/v1/$1' }, requestHeaders: { set: { 'X-Api-Version': '1' }, remove: ['X-Debug'] }, requestBody: { maxBytes: '1MiB' } },
        { name: 'maintenance', match: { path: '/maintenance' }, respond: { status: 503, body: 'back soon' }, access: { allow: ['10.0.0.0/8'] } },
      ]),
    );
    const groups = createCaptures();
    const www = set.find(request({ host: 'www.surveyor.lab', path: '/x' }), groups)!;
    assert.equal(www.name, 'www-moved');
    assert.ok(www.action.kind === 'redirect');
    assert.equal(www.action.redirect.status, 301);
    assert.equal(redirectLocation(www.action.redirect, request(), groups), 'http://www.bussines.lab/surveyors/services');

    const statics = set.find(request({ path: '/static/app.js' }), groups)!;
    assert.deepEqual(statics.action, { kind: 'forward', pool: 'static' });
    assert.equal(rewritePath(statics.rewrite!, '/static/app.js', groups), '/app.js');
    assert.deepEqual(statics.responseHeaders?.set, [['Cache-Control', 'public, max-age=300']]);

    assert.deepEqual(set.find(request({ path: '/admin/x', client: '203.0.113.9' }), groups)?.action, { kind: 'deny', status: 403 });
    assert.equal(set.find(request({ path: '/admin/x', client: '10.0.0.9' }), groups), null);

    const api = set.find(request({ path: '/api/v1/users' }), groups)!;
    assert.deepEqual(api.action, { kind: 'forward', pool: null });
    assert.equal(rewritePath(api.rewrite!, '/api/v1/users', groups), '/v1/users');
    assert.equal(api.maxRequestBodyBytes, 1_048_576);
    assert.equal(api.access, null);

    const maintenance = set.find(request({ path: '/maintenance' }), groups)!;
    assert.ok(maintenance.action.kind === 'respond');
    assert.equal(maintenance.action.respond.status, 503);
    assert.equal(maintenance.action.respond.body.toString(), 'back soon');
    assert.deepEqual(maintenance.action.respond.headers, [['Content-Type', 'text/plain; charset=utf-8']]);
    assert.ok(!maintenance.access!.allows(request({ client: '192.0.2.1' })));
  });
});
