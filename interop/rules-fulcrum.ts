/**
 * The rule set of the differential test as a Fulcrum config (rules-haproxy.ts is the same set
 * written by hand for HAProxy). The first four rules are examples/surveyor.yaml's, as written;
 * the others cover what the sample does not: wildcard hosts, exact and suffix paths, methods,
 * every kind of header, query and cookie condition, client networks, all/any/not, redirects
 * with $host, $path, $query and groups, respond, deny with other statuses, header add and
 * replace, replacePrefix and regex rewrites, and three pools besides the default one.
 *
 * The pools are named after what they serve; `web` is the virtual service's default pool.
 */

/** Pool name -> how many echo servers it has. */
export const POOLS = { web: 2, static: 1, tenants: 1, beta: 1 } as const;
export type PoolName = keyof typeof POOLS;
export const DEFAULT_POOL: PoolName = 'web';

export const RULES_YAML = `
# examples/surveyor.yaml, as written
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
# the rest of the language
- name: admin-office
  match: { all: [ { path: { prefix: /admin } }, { not: { clientAddress: 127.0.0.1 } } ] }
  deny: true
  responseHeaders: { set: { X-Denied-By: admin-office } }
- name: health
  match: { path: { exact: [/healthz, /livez] }, method: [GET, HEAD] }
  respond: { status: 200, body: "ok\\n", headers: { X-Health: fulcrum } }
  responseHeaders: { set: { X-Frame-Options: DENY } }
- name: old-site
  match: { host: "*.old.lab" }
  redirect: { to: "https://www.new.lab$path?$query", status: 301 }
- name: legacy-pages
  match: { path: { regex: "^/legacy/([a-z]+)/([0-9]+)$" } }
  redirect: { to: "http://$host/pages/$2/$1?$query", status: 302 }
- name: cors-preflight
  match: { method: OPTIONS, header: { name: Origin, present: true } }
  respond: { status: 204, headers: { Access-Control-Allow-Origin: "*", Access-Control-Allow-Methods: "GET, POST" } }
- name: images
  match: { path: { suffix: [.png, .jpg] }, method: [GET, HEAD] }
  pool: static
  responseHeaders: { remove: [X-Powered-By], set: { Cache-Control: "public, max-age=86400" } }
- name: tenant-sites
  match: { host: ["*.tenants.lab", tenants.lab] }
  pool: tenants
  requestHeaders: { set: { X-Tenant-Route: wildcard }, replace: [ { name: X-Region, regex: "^eu-(.*)$", with: "europe-$1" } ] }
- name: beta-users
  match: { any: [ { header: { name: X-Beta, equals: "on", ignoreCase: true } }, { cookie: { name: tier, equals: gold } } ] }
  pool: beta
  requestHeaders: { remove: [X-Beta] }
  responseHeaders: { set: { X-Served-By: beta } }
- name: bots
  match: { header: { name: User-Agent, regex: "[Bb]ot|[Ss]pider" } }
  deny: { status: 429 }
- name: traced
  match: { header: { name: X-Trace-Id, present: true }, method: [GET, POST], not: { host: ntrip.surveyor.lab } }
  requestHeaders: { set: { X-Traced: "yes" } }
  responseHeaders: { set: { X-Trace-Echo: kept } }
- name: app-v2
  match: { path: { prefix: /app }, query: { name: version, equals: "2" } }
  pool: beta
  rewrite: { replacePrefix: { from: /app, to: /app2 } }
- name: items-by-id
  match: { all: [ { path: { prefix: /items } }, { query: { name: id, regex: "^[0-9]+$" } } ] }
  pool: tenants
  rewrite: { regex: "^/items(.*)$", with: "/catalog$1" }
- name: debug-query
  match: { query: { name: debug, present: true } }
  requestHeaders: { set: { X-Debug-Query: "1" } }
- name: reports-consent
  match: { path: { prefix: /reports }, cookie: { name: consent, present: false } }
  respond: { status: 451, body: "consent required\\n", headers: { Content-Type: text/plain } }
- name: report-writes
  match: { path: { prefix: /reports }, method: [POST, PUT, DELETE] }
  deny: { status: 403 }
- name: internal-net
  match: { path: { prefix: /internal/ }, clientAddress: [127.1.0.0/16] }
  pool: tenants
  requestHeaders: { set: { X-Internal: "true" } }
- name: internal-others
  match: { path: { prefix: /internal/ } }
  deny: { status: 404 }
- name: german-docs
  match: { header: { name: Accept-Language, equals: de-DE } }
  rewrite: { replacePrefix: { from: /docs/, to: /docs/de/ } }
- name: api-clients
  match: { any: [ { host: api.surveyor.lab }, { header: { name: X-Api-Key, present: true } } ], not: { method: DELETE } }
  requestHeaders: { remove: [X-Api-Key], add: { X-Api-Client: surveyor } }
- name: sessions
  match: { cookie: { name: session, regex: "^s[0-9]+$" }, not: { any: [ { method: OPTIONS }, { clientAddress: 127.0.0.2 } ] } }
  requestHeaders: { set: { X-Session-Route: sticky } }
`;

/**
 * The statuses of the set's deny rules; its respond and redirect rules use others. A refusal's
 * body, Content-Type and Cache-Control are each product's own error page and are not compared.
 */
export const DENY_STATUSES: ReadonlySet<number> = new Set([403, 404, 429]);

/** Request headers some rule sets, adds, replaces or removes (lower case): the backend's view of them is compared. */
export const EDITED_REQUEST_HEADERS = [
  'x-api-version',
  'x-debug',
  'x-tenant-route',
  'x-region',
  'x-beta',
  'x-traced',
  'x-debug-query',
  'x-internal',
  'x-api-key',
  'x-api-client',
  'x-session-route',
] as const;

/**
 * Response headers some rule sets or removes, or a respond rule writes (lower case): the
 * client's view of them is compared. Server, X-Powered-By and Cache-Control come from the echo
 * servers (echo-pools.ts) so that their removal and replacement show.
 */
export const EDITED_RESPONSE_HEADERS = [
  'server',
  'x-powered-by',
  'cache-control',
  'x-denied-by',
  'x-frame-options',
  'x-health',
  'access-control-allow-origin',
  'access-control-allow-methods',
  'x-served-by',
  'x-trace-echo',
] as const;

/** The config of `fulcrum start`: one virtual service on `port` with the rules, the pools at `addresses`. */
export function fulcrumConfig(port: number, addresses: Record<string, string[]>): string {
  const pools = Object.keys(POOLS)
    .map((pool) => `  - name: ${pool}\n    realServers:\n${(addresses[pool] ?? []).map((address) => `      - address: ${address}\n`).join('')}`)
    .join('');
  const rules = RULES_YAML.trim()
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
  return `workers: 1
accessLog: off
pools:
${pools}virtualServices:
  - name: rules
    listen: 127.0.0.1:${port}
    protocol: http
    pool: ${DEFAULT_POOL}
    rules:
${rules}
`;
}
