/**
 * The `rules` scenario: examples/surveyor.yaml grown to 20 content rules (host map, wildcard
 * hosts, prefix paths to two more pools, two path regexes, header edits on both sides, an access
 * list and a per-client rate limit too high to refuse), in Fulcrum (rules-fulcrum.ts) and as the
 * equivalent HAProxy ACLs (rules-haproxy.ts). This file holds what both share: the measured
 * request, the real servers of the three pools, and the probes that prove both configs route
 * every rule's request alike before anything is measured.
 *
 * The measured request matches rule 18 of 20 (`api-v2`): host and path regex, a rewrite with two
 * captures, a request header set and one removed, a response header set and two removed, a second
 * pool. Every earlier rule is tried and fails on it, so the matcher and the edits are on the
 * measured path.
 */

/** Where each pool's real server listens: three server blocks of the one backend nginx. */
export interface RulesPools {
  web: string;
  static: string;
  api: string;
}

export const RULES_HOST = 'api.surveyor.lab';
export const RULES_PATH = '/api/v2/surveys/1234';
/** What `api-v2` rewrites RULES_PATH to, and what the `direct` row asks nginx for. */
export const RULES_UPSTREAM_PATH = '/v2/surveys/1234';
/** wrk's headers: the Host the rules match, and the X-Debug header rule 18 removes. */
export const RULES_HEADERS: readonly string[] = [`Host: ${RULES_HOST}`, 'X-Debug: 1'];

/**
 * The request headers that reached nginx, echoed in one response header (nginx leaves out a header
 * whose value is empty, so each field is named): which request edits each rule made.
 */
const SEEN =
  'path=$uri api-version=$http_x_api_version debug=$http_x_debug admin=$http_x_admin tenant=$http_x_tenant_zone partner=$http_x_partner';

function echo(pool: keyof RulesPools): string {
  return `add_header X-Seen-Pool ${pool} always; add_header X-Seen "${SEEN}" always;`;
}

/**
 * Server blocks for the backend nginx's `http {}`: web and static answer every path; api answers
 * only /v1/... and /v2/... (what its rules rewrite to), 404 otherwise, and adds X-Powered-By for
 * its rules to remove. `bodyText` (one line and a newline) is every 200's body.
 */
export function rulesServerBlocks(ports: { web: number; static: number; api: number }, bodyText: string): string {
  const body = `"${bodyText.trimEnd()}\\n"`;
  const block = (pool: keyof RulesPools, locations: string): string =>
    `server {\n    listen 127.0.0.1:${ports[pool]} backlog=4096;\n    default_type text/plain;\n${locations}\n  }`;
  return [
    block('web', `    location / { ${echo('web')} return 200 ${body}; }`),
    block('static', `    location / { ${echo('static')} return 200 ${body}; }`),
    block(
      'api',
      `    location ~ ^/v[12]/ { ${echo('api')} add_header X-Powered-By bench-nginx always; return 200 ${body}; }\n` +
        `    location / { ${echo('api')} return 404; }`,
    ),
  ].join('\n  ');
}

/** A request to send and what must come back, one per rule: proof that both configs match alike. */
export interface Probe {
  rule: string;
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** Connect from this loopback address (the access rules see it as the client). */
  localAddress?: string;
  status: number;
  /** The pool whose real server answered, from X-Seen-Pool. */
  pool?: keyof RulesPools;
  /** Fields of X-Seen that must have these values ('' for a header that was removed or never set). */
  seen?: Record<string, string>;
  /** Response headers that must have these values; null: must be absent. */
  response?: Record<string, string | null>;
}

const host = (name: string): Record<string, string> => ({ Host: name });

/** The measured request's answer: rewritten, its request and response headers edited, from the api pool. */
export const MEASURED_PROBE: Probe = {
  rule: 'api-v2',
  path: RULES_PATH,
  headers: { Host: RULES_HOST, 'X-Debug': '1' },
  status: 200,
  pool: 'api',
  seen: { path: RULES_UPSTREAM_PATH, 'api-version': '2', debug: '' },
  response: { 'x-content-type-options': 'nosniff', server: null, 'x-powered-by': null },
};

export const PROBES: readonly Probe[] = [
  { rule: 'www-moved', path: '/', headers: host('www.surveyor.lab'), status: 301, response: { location: 'http://www.bussines.lab/surveyors/services' } },
  { rule: 'old-domains', path: '/maps/7', headers: host('surveyor-lab.example'), status: 308, response: { location: 'https://surveyor.lab/maps/7' } },
  { rule: 'health', path: '/healthz', status: 200, response: { 'x-seen-pool': null } },
  { rule: 'maintenance', path: '/status/maintenance', status: 503, response: { 'x-seen-pool': null } },
  { rule: 'static-files', path: '/static/app.js', status: 200, pool: 'static', seen: { path: '/app.js' }, response: { 'cache-control': 'public, max-age=300' } },
  { rule: 'assets', path: '/img/logo.png', status: 200, pool: 'static', seen: { path: '/img/logo.png' }, response: { 'cache-control': 'public, max-age=86400' } },
  { rule: 'downloads', path: '/downloads/tool.zip', status: 200, pool: 'static', seen: { path: '/files/tool.zip' } },
  { rule: 'no-admin-from-outside', path: '/admin/users', localAddress: '127.0.0.2', status: 403 },
  { rule: 'admin', path: '/admin/users', status: 200, pool: 'web', seen: { admin: '1' }, response: { 'cache-control': 'no-store' } },
  { rule: 'tenants', path: '/board', headers: host('acme.tenants.surveyor.lab'), status: 200, pool: 'web', seen: { tenant: 'eu' } },
  { rule: 'partners', path: '/v2/points/9', headers: host('partner-b.surveyor.lab'), status: 200, pool: 'api', seen: { partner: '1' } },
  { rule: 'scanners', path: '/', headers: { 'X-Debug-Token': 'x' }, status: 403 },
  { rule: 'uploads', method: 'POST', path: '/upload/obs.rnx', status: 200, pool: 'static', seen: { path: '/upload/obs.rnx' } },
  { rule: 'legacy-pages', path: '/old/index.html', status: 301, response: { location: 'http://surveyor.lab/' } },
  { rule: 'docs', path: '/docs/guide', status: 200, pool: 'static', seen: { path: '/guide' } },
  {
    rule: 'api-v1',
    path: '/api/v1/points',
    headers: { 'X-Debug': '1' },
    status: 200,
    pool: 'api',
    seen: { path: '/v1/points', 'api-version': '1', debug: '' },
    response: { server: null, 'x-powered-by': null },
  },
  { rule: 'canary', path: '/v2/points/9', headers: { Cookie: 'theme=dark; canary=1' }, status: 200, pool: 'api', seen: { path: '/v2/points/9', partner: '' } },
  MEASURED_PROBE,
  { rule: 'api-other', path: '/api/v3/points', status: 404, response: { 'x-seen-pool': null } },
  { rule: 'everything-else', path: '/about', headers: host('shop.surveyor.lab'), status: 200, pool: 'web', response: { 'x-frame-options': 'DENY' } },
  { rule: '(none)', path: '/about', headers: host('other.example'), status: 200, pool: 'web', seen: { path: '/about' }, response: { 'x-frame-options': null } },
];

/** "path=/x api-version=2 debug=" -> { path: '/x', 'api-version': '2', debug: '' } */
export function parseSeen(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of (header ?? '').split(' ')) {
    const eq = field.indexOf('=');
    if (eq > 0) out[field.slice(0, eq)] = field.slice(eq + 1);
  }
  return out;
}
