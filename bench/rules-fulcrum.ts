/**
 * The `rules` scenario's Fulcrum config: examples/surveyor.yaml grown to 20 rules, in the order
 * rules-haproxy.ts repeats them. bench/rules.ts has one probe per rule.
 */
import type { RulesPools } from './rules.ts';

/**
 * The highest rate the schema takes (src/config/rate-limit.ts: 10,000,000/s): the limit is
 * counted on every request and never refuses one, so the row measures what it costs.
 */
export const NEVER_REFUSING_RATE = 10_000_000;

/** `accessLog` as the config takes it ('off', or { path, format }); JSON is YAML. */
export function rulesFulcrumConfig(port: number, pools: RulesPools, accessLog: unknown): string {
  return `workers: 1
accessLog: ${JSON.stringify(accessLog)}
pools:
  - name: web
    realServers: [ { address: ${pools.web} } ]
  - name: static
    realServers: [ { address: ${pools.static} } ]
  - name: api
    realServers: [ { address: ${pools.api} } ]
virtualServices:
  - name: surveyor
    listen: 127.0.0.1:${port}
    protocol: http
    pool: web
    access: { deny: [192.0.2.0/24] }
    rateLimit: { perClient: { rate: ${NEVER_REFUSING_RATE}/s, burst: ${NEVER_REFUSING_RATE} } }
    rules:
      - name: www-moved
        match: { host: www.surveyor.lab }
        redirect: { to: "http://www.bussines.lab/surveyors/services", status: 301 }
      - name: old-domains
        match: { host: [surveyor.example, www.surveyor.example, surveyor-lab.example] }
        redirect: { to: "https://surveyor.lab$path?$query", status: 308 }
      - name: health
        match: { path: /healthz }
        respond: { status: 200, body: "ok" }
      - name: maintenance
        match: { path: { exact: [/maintenance, /status/maintenance] } }
        respond: { status: 503, body: "down for maintenance" }
      - name: static-files
        match: { path: { prefix: /static/ } }
        pool: static
        rewrite: { stripPrefix: /static }
        responseHeaders: { set: { Cache-Control: "public, max-age=300" } }
      - name: assets
        match: { path: { prefix: [/assets/, /img/, /css/, /js/, /fonts/] } }
        pool: static
        responseHeaders: { set: { Cache-Control: "public, max-age=86400" } }
      - name: downloads
        match: { path: { prefix: /downloads/ } }
        pool: static
        rewrite: { replacePrefix: { from: /downloads, to: /files } }
      - name: no-admin-from-outside
        match: { all: [ { path: { prefix: /admin } }, { not: { clientAddress: [127.0.0.1/32, 10.0.0.0/8] } } ] }
        deny: { status: 403 }
      - name: admin
        match: { path: { prefix: /admin } }
        requestHeaders: { set: { X-Admin: "1" } }
        responseHeaders: { set: { Cache-Control: no-store } }
      - name: tenants
        match: { host: "*.tenants.surveyor.lab" }
        requestHeaders: { set: { X-Tenant-Zone: eu } }
      - name: partners
        match: { host: [partner-a.surveyor.lab, partner-b.surveyor.lab, partner-c.surveyor.lab] }
        pool: api
        requestHeaders: { set: { X-Partner: "1" } }
      - name: scanners
        match: { header: { name: X-Debug-Token, present: true } }
        deny: { status: 403 }
      - name: uploads
        match: { path: { prefix: /upload/ }, method: [POST, PUT] }
        pool: static
      - name: legacy-pages
        match: { path: { prefix: [/old/, /legacy/] } }
        redirect: { to: "http://surveyor.lab/", status: 301 }
      - name: docs
        match: { path: { prefix: /docs/ } }
        pool: static
        rewrite: { stripPrefix: /docs }
      - name: api-v1
        match: { path: { regex: "^/api/v1/(.*)$" } }
        pool: api
        rewrite: { path: "/v1/$1" }
        requestHeaders: { set: { X-Api-Version: "1" }, remove: [X-Debug] }
        responseHeaders: { remove: [Server, X-Powered-By] }
      - name: canary
        match: { cookie: { name: canary, equals: "1" } }
        pool: api
      - name: api-v2
        match: { host: api.surveyor.lab, path: { regex: "^/api/v2/([a-z]+)/([0-9]+)$" } }
        pool: api
        rewrite: { path: "/v2/$1/$2" }
        requestHeaders: { set: { X-Api-Version: "2" }, remove: [X-Debug] }
        responseHeaders: { set: { X-Content-Type-Options: nosniff }, remove: [Server, X-Powered-By] }
      - name: api-other
        match: { path: { prefix: /api/ } }
        deny: { status: 404 }
      - name: everything-else
        match: { host: "*.surveyor.lab" }
        responseHeaders: { set: { X-Frame-Options: DENY } }
`;
}
