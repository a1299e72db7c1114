// Every match key and combinator, through the engine: host (name, wildcard, regex, list), path
// (exact, prefix, suffix, regex), method (an unknown one included), header, query and cookie
// (present, equals, ignoreCase, regex), clientAddress, country (a GeoIP database written for the
// test), all/any/not and several keys in one match; then the case rules in one place.
import { ruleTables } from './table.ts';

ruleTables([
  {
    name: 'host: a name, a wildcard, a regex, a list; any case, without the port',
    config: `
pools: [main, api, img, shop]
rules:
  - { name: api-host, match: { host: api.example.com }, pool: api }
  - { name: img-wildcard, match: { host: "*.img.example.com" }, pool: img }
  - { name: shop-regex, match: { host: { regex: "^shop[0-9]+\\\\.example\\\\.com$" } }, pool: shop }
  - { name: host-list, match: { host: [a.example.net, b.example.net] }, pool: api }
`,
    requests: [
      { host: 'api.example.com', path: '/' },
      { host: 'API.Example.COM', path: '/' },
      { host: 'api.example.com:8080', path: '/' },
      { host: 'cdn.img.example.com', path: '/' },
      { host: 'a.b.img.example.com', path: '/' },
      { host: 'img.example.com', path: '/' },
      { host: 'shop12.example.com', path: '/' },
      { host: 'SHOP3.EXAMPLE.COM', path: '/' },
      { host: 'shopx.example.com', path: '/' },
      { host: 'b.example.net', path: '/' },
      { host: 'c.example.net', path: '/' },
    ],
    expect: [
      { pool: 'api', rule: 'api-host' },
      { pool: 'api', rule: 'api-host' },
      { pool: 'api', rule: 'api-host' },
      { pool: 'img', rule: 'img-wildcard' },
      { pool: 'img', rule: 'img-wildcard' },
      // "*.img.example.com" is any name under it, not the name itself.
      { pool: 'main' },
      { pool: 'shop', rule: 'shop-regex' },
      // The regex is tested against the lower-case host.
      { pool: 'shop', rule: 'shop-regex' },
      { pool: 'main' },
      { pool: 'api', rule: 'host-list' },
      { pool: 'main' },
    ],
  },
  {
    name: 'path: exact (a string or a list), prefix, suffix, regex; without the query; case-sensitive',
    config: `
pools: [main, a, b, c, d]
rules:
  - { name: exact, match: { path: /exact }, pool: a }
  - { name: exact-list, match: { path: { exact: [/one, /two] } }, pool: a }
  - { name: prefix, match: { path: { prefix: /pre/ } }, pool: b }
  - { name: suffix, match: { path: { suffix: [.css, .js] } }, pool: c }
  - { name: regex, match: { path: { regex: "^/item/[0-9]+$" } }, pool: d }
`,
    requests: [
      { path: '/exact' },
      { path: '/exact?x=1' },
      { path: '/exact/' },
      { path: '/Exact' },
      { path: '/two' },
      { path: '/pre/x/y' },
      { path: '/pre' },
      { path: '/PRE/x' },
      { path: '/x/style.css' },
      { path: '/x/app.js?v=3' },
      { path: '/x/style.CSS' },
      { path: '/item/42' },
      { path: '/item/42/' },
      { path: '/item/4x' },
    ],
    expect: [
      { pool: 'a', rule: 'exact', upstreamPath: '/exact' },
      { pool: 'a', rule: 'exact', upstreamPath: '/exact?x=1' },
      { pool: 'main' },
      { pool: 'main' },
      { pool: 'a', rule: 'exact-list' },
      { pool: 'b', rule: 'prefix' },
      { pool: 'main' },
      { pool: 'main' },
      { pool: 'c', rule: 'suffix' },
      { pool: 'c', rule: 'suffix', upstreamPath: '/x/app.js?v=3' },
      { pool: 'main' },
      { pool: 'd', rule: 'regex' },
      { pool: 'main' },
      { pool: 'main' },
    ],
  },
  {
    name: 'method: a list, an unknown method (RPC_IN_DATA), case-sensitive',
    config: `
pools: [main, write, rpc, purge]
rules:
  - { name: writes, match: { method: [PUT, DELETE] }, pool: write }
  - { name: rpc, match: { method: RPC_IN_DATA }, pool: rpc }
  - { name: purge, match: { method: purge }, pool: purge }
`,
    requests: [
      { method: 'PUT', path: '/doc', body: 'new text' },
      { method: 'DELETE', path: '/doc' },
      { method: 'put', path: '/doc', body: 'x' },
      { method: 'GET', path: '/doc' },
      { method: 'RPC_IN_DATA', path: '/rpc/rpcproxy.dll?host:6001', body: 'hello' },
      { method: 'RPC_OUT_DATA', path: '/rpc/rpcproxy.dll?host:6001' },
      { method: 'purge', path: '/cache/x' },
      { method: 'PURGE', path: '/cache/x' },
    ],
    expect: [
      { pool: 'write', rule: 'writes', upstreamMethod: 'PUT', upstreamBody: 'new text' },
      { pool: 'write', rule: 'writes', upstreamMethod: 'DELETE' },
      { pool: 'main', upstreamMethod: 'put', upstreamBody: 'x' },
      { pool: 'main', upstreamMethod: 'GET' },
      { pool: 'rpc', rule: 'rpc', upstreamMethod: 'RPC_IN_DATA', upstreamPath: '/rpc/rpcproxy.dll?host:6001', upstreamBody: 'hello' },
      { pool: 'main', upstreamMethod: 'RPC_OUT_DATA' },
      { pool: 'purge', rule: 'purge', upstreamMethod: 'purge' },
      { pool: 'main', upstreamMethod: 'PURGE' },
    ],
  },
  {
    name: 'header, query and cookie: present, equals (ignoreCase), regex',
    config: `
pools: [main, canary, anon, acme, staging, curl, v2, debug, num, beta, admin]
rules:
  - { name: header-present, match: { header: { name: X-Canary, present: true } }, pool: canary }
  - name: header-absent
    match: { all: [ { path: /account }, { header: { name: Authorization, present: false } } ] }
    pool: anon
  - { name: header-equals, match: { header: { name: X-Tenant, equals: Acme } }, pool: acme }
  - { name: header-ignore-case, match: { header: { name: X-Env, equals: staging, ignoreCase: true } }, pool: staging }
  - { name: header-regex, match: { header: { name: User-Agent, regex: "^curl/" } }, pool: curl }
  - { name: query-equals, match: { query: { name: version, equals: 2 } }, pool: v2 }
  - { name: query-present, match: { query: { name: debug, present: true } }, pool: debug }
  - { name: query-regex, match: { query: { name: id, regex: "^[0-9]+$" } }, pool: num }
  - { name: cookie-equals, match: { cookie: { name: beta, equals: "yes" } }, pool: beta }
  - { name: cookie-regex, match: { cookie: { name: session, regex: "^adm-" } }, pool: admin }
`,
    requests: [
      { path: '/', headers: { 'x-CANARY': '1' } },
      { path: '/account' },
      { path: '/account', headers: { Authorization: 'Bearer t' } },
      { path: '/', headers: { 'X-Tenant': 'Acme' } },
      { path: '/', headers: { 'X-Tenant': 'acme' } },
      { path: '/', headers: [['X-Tenant', 'Other'], ['X-Tenant', 'Acme']] },
      { path: '/', headers: { 'X-ENV': 'STAGING' } },
      { path: '/', headers: { 'User-Agent': 'curl/8.5.0' } },
      { path: '/', headers: { 'User-Agent': 'Mozilla/5.0 curl/8' } },
      { path: '/?a=1&version=2' },
      { path: '/?version=20' },
      { path: '/?Version=2' },
      { path: '/?debug' },
      { path: '/?id=123' },
      { path: '/?id=12a' },
      { path: '/', headers: { Cookie: 'a=1; beta=yes' } },
      { path: '/', headers: { Cookie: 'Beta=yes' } },
      { path: '/', headers: { Cookie: 'session=adm-77' } },
    ],
    expect: [
      { pool: 'canary', rule: 'header-present' },
      { pool: 'anon', rule: 'header-absent' },
      { pool: 'main' },
      { pool: 'acme', rule: 'header-equals' },
      { pool: 'main' },
      // The first field of that name is the one tested.
      { pool: 'main' },
      { pool: 'staging', rule: 'header-ignore-case' },
      { pool: 'curl', rule: 'header-regex' },
      { pool: 'main' },
      { pool: 'v2', rule: 'query-equals' },
      { pool: 'main' },
      { pool: 'main' },
      { pool: 'debug', rule: 'query-present' },
      { pool: 'num', rule: 'query-regex' },
      { pool: 'main' },
      { pool: 'beta', rule: 'cookie-equals' },
      { pool: 'main' },
      { pool: 'admin', rule: 'cookie-regex' },
    ],
  },
  {
    name: 'clientAddress (an address, a network) and country (one, a list; unknown matches none)',
    options: { geoip: { '127.0.0.7/32': 'DE', '127.0.0.8/32': 'FR', '127.0.0.9/32': 'BE' } },
    config: `
pools: [main, lan, de, fr]
rules:
  - { name: one-host, match: { clientAddress: 127.0.0.5 }, pool: lan }
  - { name: one-net, match: { clientAddress: [127.0.1.0/24] }, pool: lan }
  - { name: germany, match: { country: DE }, pool: de }
  - { name: france-or-belgium, match: { country: [FR, BE] }, pool: fr }
`,
    requests: [
      { path: '/', clientAddress: '127.0.0.5' },
      { path: '/', clientAddress: '127.0.0.6' },
      { path: '/', clientAddress: '127.0.1.200' },
      { path: '/', clientAddress: '127.0.0.7' },
      { path: '/', clientAddress: '127.0.0.8' },
      { path: '/', clientAddress: '127.0.0.9' },
      { path: '/', clientAddress: '127.0.0.10' },
    ],
    expect: [
      { pool: 'lan', rule: 'one-host', client: '127.0.0.5' },
      { pool: 'main', client: '127.0.0.6' },
      { pool: 'lan', rule: 'one-net' },
      { pool: 'de', rule: 'germany' },
      { pool: 'fr', rule: 'france-or-belgium' },
      { pool: 'fr', rule: 'france-or-belgium' },
      { pool: 'main' },
    ],
  },
  {
    name: 'combinators: keys of one match all hold; all, any, not, nested',
    config: `
pools: [main, a, b, c, d]
rules:
  - { name: keys, match: { host: k.example.com, path: /k, method: GET }, pool: c }
  - name: all
    match: { all: [ { method: POST }, { path: { prefix: /upload } } ] }
    pool: a
  - name: any
    match: { any: [ { host: x.example.com }, { header: { name: X-Route, equals: b } } ] }
    pool: b
  - name: not
    match: { all: [ { path: { prefix: /internal } }, { not: { header: { name: X-Internal, present: true } } } ] }
    deny: true
  - name: nested
    match: { not: { any: [ { path: { prefix: /public } }, { method: [GET, HEAD] } ] } }
    pool: d
`,
    requests: [
      { host: 'k.example.com', path: '/k' },
      { host: 'k.example.com', path: '/k', method: 'HEAD' },
      { method: 'POST', path: '/upload/1', body: 'x' },
      { method: 'GET', path: '/upload/1' },
      { host: 'x.example.com', path: '/' },
      { path: '/', headers: { 'X-Route': 'b' } },
      { path: '/internal/x' },
      { path: '/internal/x', headers: { 'X-Internal': '1' } },
      { method: 'POST', path: '/form', body: 'y' },
      { method: 'POST', path: '/public/form', body: 'y' },
    ],
    expect: [
      { pool: 'c', rule: 'keys' },
      // HEAD is not GET: one key that does not hold and the rule does not apply; "nested" excludes HEAD too.
      { pool: 'main' },
      { pool: 'a', rule: 'all' },
      { pool: 'main' },
      { pool: 'b', rule: 'any' },
      { pool: 'b', rule: 'any' },
      { status: 403, rule: 'not', termination: 'denied' },
      { pool: 'main' },
      { pool: 'd', rule: 'nested' },
      { pool: 'main' },
    ],
  },
  {
    name: 'case: host and header names ignore case; paths, methods, header values, query and cookie names do not',
    config: `
pools: [main, hit]
rules:
  - name: all-keys
    match: { host: Case.Example.com, path: /Case/Path, method: GET, header: { name: X-Case, equals: Value }, query: { name: Q, equals: v }, cookie: { name: C, equals: v } }
    pool: hit
`,
    requests: [
      { host: 'CASE.example.COM', path: '/Case/Path?Q=v', headers: { 'x-cAsE': 'Value', Cookie: 'C=v' } },
      { host: 'case.example.com', path: '/case/path?Q=v', headers: { 'X-Case': 'Value', Cookie: 'C=v' } },
      { host: 'case.example.com', path: '/Case/Path?Q=v', method: 'get', headers: { 'X-Case': 'Value', Cookie: 'C=v' } },
      { host: 'case.example.com', path: '/Case/Path?Q=v', headers: { 'X-Case': 'value', Cookie: 'C=v' } },
      { host: 'case.example.com', path: '/Case/Path?q=v', headers: { 'X-Case': 'Value', Cookie: 'C=v' } },
      { host: 'case.example.com', path: '/Case/Path?Q=v', headers: { 'X-Case': 'Value', Cookie: 'c=v' } },
    ],
    expect: [{ pool: 'hit', rule: 'all-keys' }, { pool: 'main' }, { pool: 'main', upstreamMethod: 'get' }, { pool: 'main' }, { pool: 'main' }, { pool: 'main' }],
  },
]);
