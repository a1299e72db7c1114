/**
 * The `rules` scenario's HAProxy config: the 20 rules of rules-fulcrum.ts as ACLs, in the same
 * order and with the same names.
 *
 * Fulcrum applies the first rule that matches and only that one; HAProxy runs every
 * `http-request` line whose condition holds. So each rule first names itself in the variable
 * txn.rule unless an earlier rule already has (`!ruled`), and every action is conditioned on that
 * name: first match wins, as in Fulcrum. Once a rule has matched, each later rule costs HAProxy
 * one variable lookup, as a later rule costs Fulcrum nothing.
 */
import { HAPROXY_HTTP_MODE, haproxyHead } from './haproxy-config.ts';
import type { RulesPools } from './rules.ts';
import { NEVER_REFUSING_RATE } from './rules-fulcrum.ts';

const MATCHES: ReadonlyArray<readonly [rule: string, condition: string]> = [
  ['www-moved', '{ var(txn.host) -m str www.surveyor.lab }'],
  ['old-domains', '{ var(txn.host) -m str surveyor.example www.surveyor.example surveyor-lab.example }'],
  ['health', '{ path /healthz }'],
  ['maintenance', '{ path /maintenance /status/maintenance }'],
  ['static-files', '{ path_beg /static/ }'],
  ['assets', '{ path_beg /assets/ /img/ /css/ /js/ /fonts/ }'],
  ['downloads', '{ path_beg /downloads/ }'],
  ['no-admin-from-outside', '{ path_beg /admin } !{ src 127.0.0.1/32 10.0.0.0/8 }'],
  ['admin', '{ path_beg /admin }'],
  ['tenants', '{ var(txn.host) -m end .tenants.surveyor.lab }'],
  ['partners', '{ var(txn.host) -m str partner-a.surveyor.lab partner-b.surveyor.lab partner-c.surveyor.lab }'],
  ['scanners', '{ req.hdr(x-debug-token) -m found }'],
  ['uploads', '{ path_beg /upload/ } { method POST PUT }'],
  ['legacy-pages', '{ path_beg /old/ /legacy/ }'],
  ['docs', '{ path_beg /docs/ }'],
  ['api-v1', '{ path_reg ^/api/v1/(.*)$ }'],
  ['canary', '{ req.cook(canary) -m str 1 }'],
  ['api-v2', '{ var(txn.host) -m str api.surveyor.lab } { path_reg ^/api/v2/([a-z]+)/([0-9]+)$ }'],
  ['api-other', '{ path_beg /api/ }'],
  ['everything-else', '{ var(txn.host) -m end .surveyor.lab }'],
];

const TEXT = '"text/plain; charset=utf-8"';

/** What each rule does, in HAProxy's phases: answers, path rewrites, request headers, response headers, backends. */
const ACTIONS = `
  http-request redirect location http://www.bussines.lab/surveyors/services code 301 if www-moved
  http-request redirect prefix https://surveyor.lab code 308 if old-domains
  http-request return status 200 content-type ${TEXT} string "ok" if health
  http-request return status 503 content-type ${TEXT} string "down for maintenance" if maintenance
  http-request deny deny_status 403 if no-admin-from-outside
  http-request deny deny_status 403 if scanners
  http-request redirect location http://surveyor.lab/ code 301 if legacy-pages
  http-request deny deny_status 404 if api-other

  http-request replace-path ^/static(/.*)$ \\1 if static-files
  http-request replace-path ^/downloads(/.*)$ /files\\1 if downloads
  http-request replace-path ^/docs(/.*)$ \\1 if docs
  http-request replace-path ^/api/v1/(.*)$ /v1/\\1 if api-v1
  http-request replace-path ^/api/v2/([a-z]+)/([0-9]+)$ /v2/\\1/\\2 if api-v2

  http-request set-header X-Admin 1 if admin
  http-request set-header X-Tenant-Zone eu if tenants
  http-request set-header X-Partner 1 if partners
  http-request set-header X-Api-Version 1 if api-v1
  http-request del-header X-Debug if api-v1
  http-request set-header X-Api-Version 2 if api-v2
  http-request del-header X-Debug if api-v2

  http-response set-header Cache-Control "public, max-age=300" if static-files
  http-response set-header Cache-Control "public, max-age=86400" if assets
  http-response set-header Cache-Control no-store if admin
  http-response del-header Server if api-v1
  http-response del-header X-Powered-By if api-v1
  http-response set-header X-Content-Type-Options nosniff if api-v2
  http-response del-header Server if api-v2
  http-response del-header X-Powered-By if api-v2
  http-response set-header X-Frame-Options DENY if everything-else

  use_backend static if static-files || assets || downloads || uploads || docs
  use_backend api if partners || api-v1 || canary || api-v2
  default_backend web
`;

export function rulesHaproxyConfig(port: number, pools: RulesPools): string {
  const naming = MATCHES.map(([rule, condition], i) => `  http-request set-var(txn.rule) str(${rule}) if ${i === 0 ? '' : '!ruled '}${condition}`);
  const named = MATCHES.map(([rule]) => `  acl ${rule} var(txn.rule) -m str ${rule}`);
  return `${haproxyHead(HAPROXY_HTTP_MODE)}frontend surveyor
  bind 127.0.0.1:${port}
  # access: { deny: [192.0.2.0/24] }
  http-request deny deny_status 403 if { src 192.0.2.0/24 }
  # rateLimit.perClient: requests per second per client address, counted on every request
  stick-table type ip size 100k expire 10s store http_req_rate(1s)
  http-request track-sc0 src
  http-request deny deny_status 429 if { sc_http_req_rate(0) gt ${NEVER_REFUSING_RATE} }
  # Fulcrum matches the host without its port, whatever its case
  http-request set-var(txn.host) req.hdr(host),field(1,:),lower
  acl ruled var(txn.rule) -m found
${naming.join('\n')}
${named.join('\n')}
${ACTIONS}
backend web
  server web1 ${pools.web}
backend static
  server static1 ${pools.static}
backend api
  server api1 ${pools.api}
`;
}
