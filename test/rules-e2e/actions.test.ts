// Every action, through the engine: redirect ($host, $path, $query, $1..$9; each status),
// respond (status, headers, body; HEAD), deny (default and custom status), header edits on the
// request and the response (remove, replace, set, add), Fulcrum's own answers edited too,
// rewrite (stripPrefix, replacePrefix, path with captures, regex), a rule's access list, the
// virtual service's own allow list; and a rule's edits of the headers Fulcrum forwards itself.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawExchange } from '../l7/harness.ts';
import { send } from './client.ts';
import type { Echo } from './echo-server.ts';
import { startEngine, type Engine } from './engine.ts';
import { ruleTables } from './table.ts';

ruleTables([
  {
    name: 'redirect: $host, $path, $query and captures; every status; the answer edited',
    config: `
pools: [main]
rules:
  - name: to-https
    match: { path: { prefix: /secure/ } }
    redirect: { to: "https://$host$path?$query", status: 308 }
  - name: moved
    match: { path: { regex: "^/old/([a-z]+)/([0-9]+)$" } }
    redirect: { to: "https://new.example.com/$2/$1" }
  - { name: see-other, match: { path: /go }, redirect: { to: "http://example.org/landing", status: 303 } }
  - { name: permanent, match: { path: /perm }, redirect: { to: "http://example.org/p", status: 301 } }
  - name: edited
    match: { path: /go-edit }
    redirect: { to: "http://example.org/x", status: 307 }
    responseHeaders: { set: { Cache-Control: no-store }, add: { X-Rule: go-edit } }
`,
    requests: [
      { host: 'Shop.Example.com:8443', path: '/secure/a?b=1&c=2' },
      { host: 'shop.example.com', path: '/secure/a' },
      { host: 'shop.example.com', path: '/secure/../secure/b?x' },
      { path: '/old/abc/42' },
      { path: '/old/abc/42/more' },
      { method: 'POST', path: '/go', body: 'form=1' },
      { path: '/perm' },
      { path: '/go-edit' },
    ],
    expect: [
      // $host is the host asked for, lower case and without its port.
      { status: 308, location: 'https://shop.example.com/secure/a?b=1&c=2', rule: 'to-https', termination: 'redirected' },
      // No query: "?$query" at the end is left out, "?" included.
      { status: 308, location: 'https://shop.example.com/secure/a', rule: 'to-https', termination: 'redirected' },
      // $path is the normalised path the rule matched.
      { status: 308, location: 'https://shop.example.com/secure/b?x', rule: 'to-https', termination: 'redirected' },
      { status: 302, location: 'https://new.example.com/42/abc', rule: 'moved', termination: 'redirected' },
      { pool: 'main', upstreamPath: '/old/abc/42/more' },
      { status: 303, location: 'http://example.org/landing', rule: 'see-other', termination: 'redirected' },
      { status: 301, location: 'http://example.org/p', rule: 'permanent', termination: 'redirected' },
      { status: 307, location: 'http://example.org/x', rule: 'edited', termination: 'redirected', headers: { response: { 'cache-control': 'no-store', 'x-rule': 'go-edit' } } },
    ],
  },
  {
    name: 'respond: status, headers and body of our own; HEAD gets the head only; the answer edited',
    config: `
pools: [main]
rules:
  - { name: health, match: { path: /healthz }, respond: { body: "ok\\n" } }
  - name: maintenance
    match: { path: { prefix: /shop } }
    respond: { status: 503, headers: { Retry-After: "120", Content-Type: text/html }, body: "<h1>Back soon</h1>" }
  - { name: empty, match: { path: /empty }, respond: { status: 204 } }
  - name: edited
    match: { path: /edited }
    respond: { headers: { X-Remove-Me: "1", X-Keep: "1" }, body: "e" }
    responseHeaders: { remove: [X-Remove-Me], set: { X-Set: "2" } }
`,
    requests: [{ path: '/healthz' }, { method: 'HEAD', path: '/healthz' }, { path: '/shop/cart' }, { path: '/empty' }, { path: '/edited' }],
    expect: [
      { status: 200, body: 'ok\n', rule: 'health', termination: 'answered-by-rule', headers: { response: { 'content-type': 'text/plain; charset=utf-8', 'content-length': '3' } } },
      { status: 200, body: '', rule: 'health', termination: 'answered-by-rule', headers: { response: { 'content-length': '3' } } },
      { status: 503, body: '<h1>Back soon</h1>', rule: 'maintenance', termination: 'answered-by-rule', headers: { response: { 'retry-after': '120', 'content-type': 'text/html' } } },
      { status: 204, body: '', rule: 'empty', termination: 'answered-by-rule' },
      { status: 200, body: 'e', rule: 'edited', termination: 'answered-by-rule', headers: { response: { 'x-remove-me': null, 'x-keep': '1', 'x-set': '2' } } },
    ],
  },
  {
    name: 'deny: 403 by default, a custom status, the answer edited',
    config: `
pools: [main]
rules:
  - { name: deny-default, match: { path: /private }, deny: true }
  - { name: deny-custom, match: { path: /gone }, deny: { status: 410 } }
  - name: deny-edited
    match: { path: /hidden }
    deny: { status: 404 }
    responseHeaders: { set: { X-Denied-By: fulcrum } }
`,
    requests: [{ path: '/private' }, { path: '/gone' }, { path: '/hidden' }, { path: '/public' }],
    expect: [
      { status: 403, rule: 'deny-default', termination: 'denied', body: '403 Forbidden: access denied (virtual service "vs")\n' },
      { status: 410, rule: 'deny-custom', termination: 'denied', body: /^410 Gone: access denied/ },
      { status: 404, rule: 'deny-edited', termination: 'denied', headers: { response: { 'x-denied-by': 'fulcrum' } } },
      { pool: 'main' },
    ],
  },
  {
    name: 'header edits: remove, replace, set, add, on the request and on the response',
    config: `
pools: [main]
rules:
  - name: edits
    match: { path: { prefix: /edit } }
    requestHeaders:
      remove: [X-Remove]
      replace: [ { name: X-Version, regex: "^v([0-9]+)$", with: "version-$1" } ]
      set: { X-Set: set-value }
      add: { X-Add: added }
    responseHeaders:
      remove: [X-Powered-By]
      replace: [ { name: Server, regex: "^echo-(.*)$", with: "fulcrum-$1" } ]
      set: { X-Frame-Options: DENY }
      add: { X-Pool: extra }
`,
    requests: [
      {
        path: '/edit',
        headers: [
          ['X-Remove', 'a'],
          ['x-remove', 'b'],
          ['X-Version', 'v7'],
          ['X-Set', 'old-1'],
          ['X-Set', 'old-2'],
          ['X-Add', 'original'],
        ],
      },
      { path: '/edit/2', headers: { 'X-Version': 'beta' } },
      { path: '/other', headers: { 'X-Remove': 'a', 'X-Version': 'v7' } },
    ],
    expect: [
      {
        pool: 'main',
        rule: 'edits',
        headers: {
          upstream: { 'x-remove': null, 'x-version': 'version-7', 'x-set': 'set-value', 'x-add': 'original, added' },
          response: { 'x-powered-by': null, server: 'fulcrum-main', 'x-frame-options': 'DENY', 'x-pool': 'main, extra' },
        },
      },
      // A value the regex does not match is left as it is.
      { pool: 'main', rule: 'edits', headers: { upstream: { 'x-version': 'beta', 'x-set': 'set-value' } } },
      { pool: 'main', headers: { upstream: { 'x-remove': 'a', 'x-version': 'v7', 'x-set': null }, response: { server: 'echo-main', 'x-powered-by': 'echo', 'x-frame-options': null } } },
    ],
  },
  {
    name: 'rewrite: stripPrefix, replacePrefix, path with captures, regex; the query kept; to another pool',
    config: `
pools: [main, b]
rules:
  - { name: strip, match: { path: { prefix: /static } }, rewrite: { stripPrefix: /static } }
  - { name: replace, match: { path: { prefix: /old/ } }, rewrite: { replacePrefix: { from: /old, to: /new } } }
  - name: capture
    match: { path: { regex: "^/api/v([0-9]+)/(.*)$" } }
    rewrite: { path: "/version$1/$2" }
  - { name: regex, match: { path: { prefix: /img/ } }, rewrite: { regex: "\\\\.jpeg$", with: ".jpg" } }
  - name: regex-groups
    match: { path: { prefix: /u/ } }
    rewrite: { regex: "^/u/([^/]+)/(.*)$", with: "/users/$1/files/$2" }
  - { name: other-pool, match: { path: { prefix: /b/ } }, pool: b, rewrite: { stripPrefix: /b } }
`,
    requests: [
      { path: '/static/app.js?v=1' },
      { path: '/static' },
      { path: '/staticky/x' },
      { path: '/old/x/y?z' },
      { path: '/api/v2/users/7?full=1' },
      { path: '/img/a/b.jpeg' },
      { path: '/img/a.jpeg.png' },
      { path: '/u/ann/docs/a.txt' },
      { path: '/b/x' },
    ],
    expect: [
      { pool: 'main', rule: 'strip', upstreamPath: '/app.js?v=1' },
      { pool: 'main', rule: 'strip', upstreamPath: '/' },
      // The prefix matched, but stripPrefix applies at a "/" boundary only.
      { pool: 'main', rule: 'strip', upstreamPath: '/staticky/x' },
      { pool: 'main', rule: 'replace', upstreamPath: '/new/x/y?z' },
      { pool: 'main', rule: 'capture', upstreamPath: '/version2/users/7?full=1' },
      { pool: 'main', rule: 'regex', upstreamPath: '/img/a/b.jpg' },
      { pool: 'main', rule: 'regex', upstreamPath: '/img/a.jpeg.png' },
      { pool: 'main', rule: 'regex-groups', upstreamPath: '/users/ann/files/docs/a.txt' },
      { pool: 'b', rule: 'other-pool', upstreamPath: '/x' },
    ],
  },
  {
    name: 'a rule\'s access list: checked after the match, before the action; deny wins over allow',
    config: `
pools: [main, office]
trustedProxies: [127.0.0.2/32]
rules:
  - name: office-only
    match: { path: { prefix: /office } }
    access: { allow: [127.0.0.0/24, 10.0.0.0/8], deny: [10.9.0.0/16] }
    pool: office
  - name: vip
    match: { path: /vip }
    access: { allow: [127.0.0.4/32], status: 404 }
    respond: { body: "vip\\n" }
`,
    requests: [
      { path: '/office/a' },
      { path: '/office/a', clientAddress: '127.0.1.1' },
      { path: '/office/a', clientAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '10.1.1.1' } },
      { path: '/office/a', clientAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '10.9.1.1' } },
      { path: '/vip', clientAddress: '127.0.0.4' },
      { path: '/vip' },
      { path: '/elsewhere', clientAddress: '127.0.1.1' },
    ],
    expect: [
      { pool: 'office', rule: 'office-only' },
      { status: 403, rule: 'office-only', termination: 'denied', client: '127.0.1.1' },
      { pool: 'office', rule: 'office-only', client: '10.1.1.1' },
      { status: 403, rule: 'office-only', termination: 'denied', client: '10.9.1.1' },
      { status: 200, body: 'vip\n', rule: 'vip', termination: 'answered-by-rule' },
      { status: 404, rule: 'vip', termination: 'denied', body: /access denied/ },
      { pool: 'main' },
    ],
  },
  {
    name: 'the virtual service\'s access list: an allow list with its own status, before any rule',
    config: `
pools: [main]
access: { allow: [127.0.0.0/24], status: 401 }
rules:
  - { name: health, match: { path: /healthz }, respond: { body: "ok" } }
`,
    requests: [{ path: '/healthz' }, { path: '/healthz', clientAddress: '127.0.5.1' }, { path: '/x', clientAddress: '127.0.5.1' }],
    expect: [
      { status: 200, rule: 'health', termination: 'answered-by-rule', body: 'ok' },
      { status: 401, termination: 'denied', body: /^401 Unauthorized: access denied/ },
      { status: 401, termination: 'denied' },
    ],
  },
]);

describe('a rule\'s edits of the forwarding headers (X-Forwarded-For, X-Forwarded-Proto)', { timeout: 30_000 }, () => {
  let engine: Engine;
  before(async () => {
    engine = await startEngine(`
pools: [main]
rules:
  - { name: drop-xff, match: { path: /remove }, requestHeaders: { remove: [X-Forwarded-For] } }
  - { name: set-xff, match: { path: /set }, requestHeaders: { set: { X-Forwarded-For: 203.0.113.50 } } }
  - { name: set-proto, match: { path: /proto }, requestHeaders: { set: { X-Forwarded-Proto: https } } }
`);
  });
  after(() => engine.close());

  /** The values of each field line named `name` that the real server got for `path`. */
  async function upstreamLines(path: string, name: string): Promise<string[]> {
    const { response } = await send(engine.port, { path, headers: { 'X-Forwarded-For': '198.51.100.66' } });
    assert.equal(response.status, 200);
    const echo = JSON.parse(response.body.toString()) as Echo;
    return echo.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
  }

  it('remove: the client\'s X-Forwarded-For does not reach the real server; the client\'s address starts a new chain', async () => {
    const lines = await upstreamLines('/remove', 'x-forwarded-for');
    assert.deepEqual(lines, ['127.0.0.1']);
  });

  it('set: one X-Forwarded-For line, starting with the rule\'s value, without the client\'s', async () => {
    const lines = await upstreamLines('/set', 'x-forwarded-for');
    assert.equal(lines.length, 1, `the real server got ${JSON.stringify(lines)}`);
    assert.equal(lines[0], '203.0.113.50, 127.0.0.1');
  });

  it('set: one X-Forwarded-Proto line, the rule\'s (Fulcrum behind a TLS offloader)', async () => {
    const lines = await upstreamLines('/proto', 'x-forwarded-proto');
    assert.deepEqual(lines, ['https']);
  });
});

describe('a rule that removes Host', { timeout: 30_000 }, () => {
  it(
    'cannot send a real server an HTTP/1.1 request without Host (RFC 9112 §3.2): refused at load, or Host kept',
    async () => {
      const config = '{ pools: [main], rules: [ { name: no-host, match: { path: /h }, requestHeaders: { remove: [Host] } } ] }';
      let engine: Engine;
      try {
        engine = await startEngine(config);
      } catch (error) {
        assert.match(String(error), /Host/);
        return;
      }
      try {
        const { response } = await send(engine.port, { path: '/h' });
        const echo = JSON.parse(response.body.toString()) as Echo;
        assert.ok(echo.headers.some(([name]) => name.toLowerCase() === 'host'), `the real server got ${JSON.stringify(echo.headers)}`);
      } finally {
        await engine.close();
      }
    },
  );
});

describe('a rule that sets Host', { timeout: 30_000 }, () => {
  it('sends exactly one Host, the rule\'s, for origin-form and absolute-form targets', async () => {
    const engine = await startEngine('{ pools: [main], rules: [ { name: inner-host, match: { path: { prefix: /h } }, requestHeaders: { set: { Host: app.internal } } } ] }');
    try {
      for (const target of ['/h', 'http://www.example.com/h']) {
        const { text } = await rawExchange(engine.port, `GET ${target} HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n`, { timeoutMs: 2000 });
        const echo = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Echo;
        const hosts = echo.headers.filter(([name]) => name.toLowerCase() === 'host').map(([, value]) => value);
        assert.deepEqual(hosts, ['app.internal'], target);
      }
    } finally {
      await engine.close();
    }
  });
});

describe('a $host redirect for a request that names no host (HTTP/1.0 without Host)', { timeout: 30_000 }, () => {
  it(
    'never sends a Location without a host',
    async () => {
      const engine = await startEngine('{ pools: [main], rules: [ { name: to-https, match: { path: { prefix: /s } }, redirect: { to: "https://$host$path" } } ] }');
      try {
        const { text } = await rawExchange(engine.port, 'GET /s/a HTTP/1.0\r\n\r\n', { timeoutMs: 1000 });
        const location = /^Location: (.*)$/im.exec(text)?.[1] ?? '';
        assert.doesNotMatch(location, /^https?:\/\/(\/|$)/, `got ${JSON.stringify(text.split('\r\n')[0])} with Location ${JSON.stringify(location)}`);
        assert.match(text, /^HTTP\/1\.1 400 /, 'a 400: the request gave no host to redirect to');
        // With a Host, the same rule redirects as written.
        const named = await rawExchange(engine.port, 'GET /s/a HTTP/1.0\r\nHost: example.com\r\n\r\n', { timeoutMs: 1000 });
        assert.match(named.text, /^Location: https:\/\/example\.com\/s\/a$/im);
      } finally {
        await engine.close();
      }
    },
  );
});
