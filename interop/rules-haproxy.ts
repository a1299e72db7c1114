/**
 * The rule set of rules-fulcrum.ts written by hand as an HAProxy 2.6 config: the reference the
 * differential test holds Fulcrum to.
 *
 * First match wins, as in Fulcrum: one http-request chain first names the matching rule in
 * txn.rule (each `set-var` is guarded by `!ruled`, so the first rule that matches keeps it), and
 * only then does anything, every action guarded by `rule_NAME`. So a rewrite never changes what
 * a later condition sees, and no two rules act on one request. HAProxy has no parentheses in
 * conditions: `any` is written out as `||` of conjunctions, `not` of an `any` as several negations.
 *
 * Fulcrum's conditions and HAProxy's fetches, where they are not one to one:
 * - host: Fulcrum matches the Host name without ":port" and without the trailing "." of an FQDN,
 *   any case; txn.host is exactly that.
 * - header: Fulcrum tests the first field of the name, its whole value: `req.fhdr(NAME,1)`
 *   (`req.hdr` would split on commas; in an ACL, any occurrence would do).
 * - query present: Fulcrum counts a bare `debug` (no "=") as present with the value "", while
 *   `url_param` does not find it; a regex on the query says what Fulcrum means.
 * - answers (redirect, return, deny) skip http-response rules; their response edits are
 *   http-after-response rules.
 * - HAProxy's replace-path replaces the whole path with the format; the regexes here match the
 *   whole path, so this is Fulcrum's rewrite.
 */
import { DEFAULT_POOL, POOLS } from './rules-fulcrum.ts';

/** Set on HAProxy's answers only, for the report (the rule HAProxy applied); never compared. */
export const HAPROXY_RULE_HEADER = 'x-haproxy-rule';

/** The config of `haproxy -f`: one frontend on `port` with the rules, a backend per pool at `addresses`. */
export function haproxyConfig(port: number, addresses: Record<string, string[]>): string {
  const backends = Object.keys(POOLS)
    .map((pool) => [`backend ${pool}`, '  balance roundrobin', ...(addresses[pool] ?? []).map((address, i) => `  server ${pool}${i + 1} ${address}`)].join('\n'))
    .join('\n');
  return `global
  maxconn 2000
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout http-keep-alive 120s
  timeout http-request 30s

frontend rules
  bind 127.0.0.1:${port}

  # Fulcrum's host: the Host name without ":port" and without an FQDN's trailing ".", lower case.
  http-request set-var(txn.host) 'req.fhdr(host),lower,regsub(":[0-9]*$",""),regsub("[.]$","")'

  # ---- the conditions ----
  acl ruled var(txn.rule) -m found
  acl has_query query -m len 1:
  acl host_www var(txn.host) -m str www.surveyor.lab
  acl host_old var(txn.host) -m end .old.lab
  acl host_tenants var(txn.host) -m end .tenants.lab
  acl host_tenants var(txn.host) -m str tenants.lab
  acl host_api var(txn.host) -m str api.surveyor.lab
  acl host_ntrip var(txn.host) -m str ntrip.surveyor.lab
  acl path_static path_beg /static/
  acl path_admin path_beg /admin
  acl path_api path_reg '^/api/v1/(.*)$'
  acl path_health path /healthz /livez
  acl path_legacy path_reg '^/legacy/([a-z]+)/([0-9]+)$'
  acl path_images path_end .png .jpg
  acl path_app path_beg /app
  acl path_items path_beg /items
  acl path_reports path_beg /reports
  acl path_internal path_beg /internal/
  acl method_get_head method GET HEAD
  acl method_get_post method GET POST
  acl method_options method OPTIONS
  acl method_writes method POST PUT DELETE
  acl method_delete method DELETE
  acl client_loopback_or_10 src 127.0.0.0/8 10.0.0.0/8
  acl client_office src 127.0.0.1
  acl client_internal src 127.1.0.0/16
  acl client_two src 127.0.0.2
  acl origin_present req.fhdr_cnt(origin) gt 0
  acl beta_header req.fhdr(x-beta,1) -i -m str on
  acl bot_agent req.fhdr(user-agent,1) -m reg '[Bb]ot|[Ss]pider'
  acl trace_present req.fhdr_cnt(x-trace-id) gt 0
  acl lang_de req.fhdr(accept-language,1) -m str de-DE
  acl api_key_present req.fhdr_cnt(x-api-key) gt 0
  acl version_2 url_param(version) -m str 2
  acl id_numeric url_param(id) -m reg '^[0-9]+$'
  acl debug_present query -m reg '(^|&)debug(=|&|$)'
  acl tier_gold req.cook(tier) -m str gold
  acl consent_present req.cook(consent) -m found
  acl session_numbered req.cook(session) -m reg '^s[0-9]+$'

  # ---- the first matching rule, in Fulcrum's order ----
  http-request set-var(txn.rule) str(www-moved) if !ruled host_www
  http-request set-var(txn.rule) str(static-files) if !ruled path_static
  http-request set-var(txn.rule) str(no-admin-from-outside) if !ruled path_admin !client_loopback_or_10
  http-request set-var(txn.rule) str(api) if !ruled path_api
  http-request set-var(txn.rule) str(admin-office) if !ruled path_admin !client_office
  http-request set-var(txn.rule) str(health) if !ruled path_health method_get_head
  http-request set-var(txn.rule) str(old-site) if !ruled host_old
  http-request set-var(txn.rule) str(legacy-pages) if !ruled path_legacy
  http-request set-var(txn.rule) str(cors-preflight) if !ruled method_options origin_present
  http-request set-var(txn.rule) str(images) if !ruled path_images method_get_head
  http-request set-var(txn.rule) str(tenant-sites) if !ruled host_tenants
  http-request set-var(txn.rule) str(beta-users) if !ruled beta_header || !ruled tier_gold
  http-request set-var(txn.rule) str(bots) if !ruled bot_agent
  http-request set-var(txn.rule) str(traced) if !ruled trace_present method_get_post !host_ntrip
  http-request set-var(txn.rule) str(app-v2) if !ruled path_app version_2
  http-request set-var(txn.rule) str(items-by-id) if !ruled path_items id_numeric
  http-request set-var(txn.rule) str(debug-query) if !ruled debug_present
  http-request set-var(txn.rule) str(reports-consent) if !ruled path_reports !consent_present
  http-request set-var(txn.rule) str(report-writes) if !ruled path_reports method_writes
  http-request set-var(txn.rule) str(internal-net) if !ruled path_internal client_internal
  http-request set-var(txn.rule) str(internal-others) if !ruled path_internal
  http-request set-var(txn.rule) str(german-docs) if !ruled lang_de
  http-request set-var(txn.rule) str(api-clients) if !ruled host_api !method_delete || !ruled api_key_present !method_delete
  http-request set-var(txn.rule) str(sessions) if !ruled session_numbered !method_options !client_two

${ruleAcls()}

  # ---- answers ----
  http-request redirect location http://www.bussines.lab/surveyors/services code 301 if rule_www-moved
  http-request deny deny_status 403 if rule_no-admin-from-outside
  http-request deny deny_status 403 if rule_admin-office
  http-request return status 200 content-type "text/plain; charset=utf-8" string "ok\\n" hdr X-Health fulcrum if rule_health
  # "?$query" is left out when the query is empty, as Fulcrum's template does.
  http-request redirect location 'https://www.new.lab%[path]?%[query]' code 301 if rule_old-site has_query
  http-request redirect location 'https://www.new.lab%[path]' code 301 if rule_old-site !has_query
  http-request set-var(txn.legacy) 'path,regsub("^/legacy/([a-z]+)/([0-9]+)$","/pages/\\2/\\1")' if rule_legacy-pages
  http-request redirect location 'http://%[var(txn.host)]%[var(txn.legacy)]?%[query]' code 302 if rule_legacy-pages has_query
  http-request redirect location 'http://%[var(txn.host)]%[var(txn.legacy)]' code 302 if rule_legacy-pages !has_query
  http-request return status 204 hdr Access-Control-Allow-Origin "*" hdr Access-Control-Allow-Methods "GET, POST" if rule_cors-preflight
  http-request deny deny_status 429 if rule_bots
  http-request return status 451 content-type text/plain string "consent required\\n" if rule_reports-consent
  http-request deny deny_status 403 if rule_report-writes
  http-request deny deny_status 404 if rule_internal-others

  # ---- request edits, each rule's in Fulcrum's order: remove, replace, set, add ----
  http-request replace-path '^/static(/.*)$' '\\1' if rule_static-files
  http-request del-header X-Debug if rule_api
  http-request set-header X-Api-Version 1 if rule_api
  http-request replace-path '^/api/v1/(.*)$' '/v1/\\1' if rule_api
  http-request replace-header X-Region '^eu-(.*)$' 'europe-\\1' if rule_tenant-sites
  http-request set-header X-Tenant-Route wildcard if rule_tenant-sites
  http-request del-header X-Beta if rule_beta-users
  http-request set-header X-Traced yes if rule_traced
  http-request replace-path '^/app(/.*)?$' '/app2\\1' if rule_app-v2
  http-request replace-path '^/items(.*)$' '/catalog\\1' if rule_items-by-id
  http-request set-header X-Debug-Query 1 if rule_debug-query
  http-request set-header X-Internal true if rule_internal-net
  http-request replace-path '^/docs/(.*)$' '/docs/de/\\1' if rule_german-docs
  http-request del-header X-Api-Key if rule_api-clients
  http-request add-header X-Api-Client surveyor if rule_api-clients
  http-request set-header X-Session-Route sticky if rule_sessions

  # ---- pools ----
  use_backend static if rule_static-files || rule_images
  use_backend tenants if rule_tenant-sites || rule_items-by-id || rule_internal-net
  use_backend beta if rule_beta-users || rule_app-v2
  default_backend ${DEFAULT_POOL}

  # ---- response edits on the real servers' answers ----
  http-response set-header Cache-Control "public, max-age=300" if rule_static-files
  http-response del-header Server if rule_api
  http-response del-header X-Powered-By if rule_api
  http-response del-header X-Powered-By if rule_images
  http-response set-header Cache-Control "public, max-age=86400" if rule_images
  http-response set-header X-Served-By beta if rule_beta-users
  http-response set-header X-Trace-Echo kept if rule_traced

  # ---- response edits on the answers the rules write themselves ----
  http-after-response set-header X-Denied-By admin-office if rule_admin-office
  http-after-response set-header X-Frame-Options DENY if rule_health
  http-after-response set-header ${HAPROXY_RULE_HEADER} %[var(txn.rule)] if ruled

${backends}
`;
}

/** Every rule of the set, in order: `rule_NAME` holds when txn.rule names it. */
export const RULE_NAMES = [
  'www-moved',
  'static-files',
  'no-admin-from-outside',
  'api',
  'admin-office',
  'health',
  'old-site',
  'legacy-pages',
  'cors-preflight',
  'images',
  'tenant-sites',
  'beta-users',
  'bots',
  'traced',
  'app-v2',
  'items-by-id',
  'debug-query',
  'reports-consent',
  'report-writes',
  'internal-net',
  'internal-others',
  'german-docs',
  'api-clients',
  'sessions',
] as const;

function ruleAcls(): string {
  return RULE_NAMES.map((name) => `  acl rule_${name} var(txn.rule) -m str ${name}`).join('\n');
}
