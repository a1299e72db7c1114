import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redirectLoops } from '../../src/config/rules.ts';
import { rules } from './helpers.ts';

function loops(match: unknown, to: string, scheme: 'http' | 'https' = 'http', port?: number): boolean {
  const [rule] = rules([{ name: 'r', match, redirect: { to } }]);
  return redirectLoops(rule!, scheme, port) !== null;
}

describe('redirectLoops', () => {
  it('lets the standard HTTP to HTTPS redirect through, and refuses it on the HTTPS service', () => {
    assert.ok(!loops({ path: { prefix: '/' } }, 'https://$host$path?$query', 'http'));
    const [rule] = rules([{ name: 'to-https', match: { path: { prefix: '/' } }, redirect: { to: 'https://$host$path?$query', status: 301 } }]);
    assert.equal(
      redirectLoops(rule!, 'https'),
      'redirecting to "https://$host$path?$query" would loop: the client comes back to this https service with the same host ($host) and a path it may match, and rule "to-https" matches again. Redirect to another scheme, host or path, or narrow match so that the target no longer matches',
    );
  });

  it('lets a redirect to a host the match does not accept through', () => {
    assert.ok(!loops({ host: 'www.surveyor.lab' }, 'http://www.bussines.lab/surveyors/services'));
    assert.ok(!loops({ host: ['a.example', 'b.example'] }, 'http://c.example/'));
    assert.ok(!loops({ any: [{ host: 'a.example' }, { host: 'b.example' }] }, 'http://c.example/'));
  });

  it('refuses a redirect to a host the match accepts, or from a match without a host condition', () => {
    assert.ok(loops({ host: '*.example.com' }, 'http://www.example.com/x'));
    assert.ok(loops({ any: [{ host: 'a.example' }, { host: 'b.example' }] }, 'http://b.example/'));
    assert.ok(loops({ path: { prefix: '/' } }, 'http://www.example.com/'));
    assert.ok(loops({ header: { name: 'X-Forwarded-Proto', equals: 'http' } }, 'http://$host$path'));
  });

  it('decides on the target path when the match has a path condition', () => {
    assert.ok(!loops({ path: { prefix: '/old/' } }, 'http://$host/new/'));
    assert.ok(loops({ path: { prefix: '/old/' } }, 'http://$host/old/x'));
    assert.ok(!loops({ not: { path: { prefix: '/maintenance' } } }, 'http://$host/maintenance'));
    assert.ok(loops({ not: { path: { prefix: '/maintenance' } } }, 'http://$host/elsewhere'));
    assert.ok(!loops({ path: '/' }, 'http://$host/home'));
    assert.ok(loops({ path: '/' }, 'http://$host'), 'a URL without a path asks for /');
  });

  it('knows the start of a path that continues with a variable', () => {
    assert.ok(!loops({ path: { regex: '^/old/(.*)$' }, host: 'a.example' }, 'http://b.example/new/$1'));
    assert.ok(!loops({ path: { prefix: '/old/' } }, 'http://$host/new$path'));
    assert.ok(loops({ path: { prefix: '/old/' } }, 'http://$host/old/v2$path'));
    assert.ok(loops({ path: { prefix: '/old/' } }, 'http://$host/o$path'), '/o$path may start with /old/');
  });

  it('decides on a literal query', () => {
    assert.ok(!loops({ query: { name: 'lang', present: false } }, 'http://$host$path?lang=en'));
    assert.ok(loops({ query: { name: 'lang', present: false } }, 'http://$host$path?$query'));
  });

  it('lets a redirect to another port through', () => {
    assert.ok(!loops({ path: { prefix: '/' } }, 'http://$host:8080$path'));
    assert.ok(loops({ path: { prefix: '/' } }, 'http://$host:8080$path', 'http', 8080));
    assert.ok(!loops({ path: { prefix: '/' } }, 'http://$host$path', 'http', 8080));
    assert.ok(loops({ path: { prefix: '/' } }, 'https://$host:443$path', 'https'));
  });

  it('says nothing about a rule without a redirect', () => {
    const [rule] = rules([{ name: 'web', match: { path: { prefix: '/' } }, pool: 'web' }]);
    assert.equal(redirectLoops(rule!, 'http'), null);
  });
});
