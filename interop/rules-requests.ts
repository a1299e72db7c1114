/**
 * Requests for the rules differential test, generated from a seed so that a failing run can be
 * repeated exactly (RULES_DIFF_SEED). The vocabularies hold, for every condition of the rule
 * set, values that match and near-misses: host case and a trailing dot, ports, a label more or
 * less, prefixes one character off, suffixes in another case, header names in other cases,
 * header values that differ in case or by a space, query parameters in another order or without
 * "=", cookies among others, three client addresses.
 *
 * Left out on purpose, because the two products differ there by design (rules-haproxy.ts
 * says how the reference follows Fulcrum where it can):
 * - percent-encoded paths and dot segments: Fulcrum matches (and forwards) the normalised path
 *   (`/a/../b/%61` is `/b/a`), HAProxy matches and forwards the path as sent;
 * - absolute-form targets: Fulcrum takes the authority as the host and forwards origin-form,
 *   HAProxy refuses one whose Host differs (400) and forwards the absolute URI; and OPTIONS *,
 *   which has no path to match;
 * - a query parameter named twice, or a value with ";": Fulcrum takes the first pair split on
 *   "&" only, `url_param` also ends a value at ";" and an ACL on it tries every occurrence;
 * - a cookie named twice: Fulcrum tests the first, an HAProxy ACL on req.cook any of them;
 * - an empty cookie value at the end of the Cookie field ("consent=" alone): HAProxy 2.6's
 *   req.cook does not find it, though it finds the same cookie before another ("consent=; a=1")
 *   or after one ("a=1; consent="), which are in the vocabulary;
 * - lower-case or unknown methods: the echo servers (Node's llhttp) refuse them, so no real
 *   server would tell the two apart;
 * - invalid Host values (empty labels, "@", bytes outside reg-name): Fulcrum answers 400 by
 *   design (src/http/host.ts) where HAProxy forwards them.
 */

export interface GeneratedRequest {
  index: number;
  /** The local address the client binds: the rules' clientAddress. */
  client: string;
  method: string;
  /** origin-form: path and query. */
  target: string;
  /** In the order sent, Host included, names as sent. */
  headers: Array<[string, string]>;
  body: string;
}

export const CLIENTS = ['127.0.0.1', '127.0.0.2', '127.1.2.3'] as const;

const METHODS = ['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'HEAD', 'HEAD', 'POST', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'OPTIONS', 'PATCH'];

// Grouped by the rule they aim at, a group picked first: a rule whose values are few among many
// still gets its share of hits and near-misses.
const HOSTS = [
  ['www.surveyor.lab', 'WWW.Surveyor.LAB', 'www.surveyor.lab.', 'www.surveyor.lab:8080', 'www.surveyor.lab.:80', 'www.surveyor.lab:', 'ww.surveyor.lab', 'www.surveyor.labs', 'wwww.surveyor.lab', 'www.surveyor.la'],
  ['ntrip.surveyor.lab', 'ntrip.surveyor.lab:2101', 'NTRIP.surveyor.lab.', 'ntrip.surveyor.labx'],
  ['api.surveyor.lab', 'API.surveyor.lab.', 'api.surveyor.lab:443', 'apix.surveyor.lab', 'api.surveyor.lab.example'],
  ['a.old.lab', 'deep.a.OLD.lab', 'old.lab', 'xold.lab', 'a.old.lab.', 'a.old.labs', 'a-old.lab'],
  ['shop.tenants.lab', 'A.B.tenants.lab:8443', 'tenants.lab', 'Tenants.Lab.', 'xtenants.lab', 'tenants.lab.example', 'shop.tenants.la'],
  ['localhost', '127.0.0.1', 'example.com', 'example.com:80', '[::1]:8080'],
  ['localhost', '127.0.0.1', 'example.com', 'example.com:80', '[::1]'],
];

const HOST_NAMES = ['Host', 'Host', 'Host', 'host', 'HOST'];

const PATHS = [
  ['/', '/index.html', '/search', '/a/b/c', '/~user/page', '/a+b', '/search;jsessionid=1', '/.well-known/acme-challenge/t0k3n'],
  ['/static/', '/static/app.js', '/static/css/site.css', '/static', '/staticky/x', '/Static/app.js', '/static/img/logo.png'],
  ['/admin', '/admin/users', '/administrator', '/Admin', '/admi'],
  ['/api/v1/', '/api/v1/users/42', '/api/v1', '/api/v10/x', '/api/v2/users', '/API/v1/x', '/api/v1/a.png'],
  ['/healthz', '/healthz/', '/HEALTHZ', '/healthzz', '/livez', '/livez/'],
  ['/legacy/page/12', '/legacy/Page/12', '/legacy/page/12/', '/legacy/page/x', '/legacy/about/7', '/legacy/page'],
  ['/img/logo.png', '/img/logo.PNG', '/photo.jpg', '/photo.jpeg', '/photo.jpg/', '/png'],
  ['/app', '/app/', '/app/x', '/apple', '/ap'],
  ['/items', '/items/5', '/itemsx', '/item'],
  ['/reports', '/reports/q1', '/reports/2024/q2', '/report', '/reportsx'],
  ['/internal/', '/internal/metrics', '/internal', '/internals/x'],
  ['/docs/', '/docs/guide', '/docs', '/docsx/'],
];

const QUERIES = [
  ['', '', '', '?'],
  ['?version=2', '?version=20', '?a=1&version=2', '?version=2&a=1', '?Version=2', '?version=', '?xversion=2', '?version=%32'],
  ['?debug', '?debug=', '?debug=1', '?xdebug=1', '?a=1&debug', '?debug&a=1', '?debugx=1'],
  ['?id=42', '?id=4a', '?id=', '?id', '?id=42&debug=1', '?x=1&id=7', '?id=%34%32'],
  ['?q=a+b&page=2', '?version=2&id=7'],
];

/** An optional header: how often it is sent, its name in the cases it is sent in, its values (in groups, as above). */
interface HeaderVocabulary {
  share: number;
  names: string[];
  values: string[][];
}

const HEADERS: HeaderVocabulary[] = [
  { share: 0.15, names: ['X-Beta', 'x-beta', 'X-BETA'], values: [['on', 'ON', 'On', 'off', 'on ', 'on\t', 'o n', '', 'onn', 'on,off']] },
  {
    share: 0.5,
    names: ['Cookie', 'cookie'],
    values: [
      ['tier=gold', 'tier=Gold', 'tier=golden', 'tiers=gold', 'a=1; tier=gold', 'tier=gold; a=1', 'xtier=gold', 'tier=a,b'],
      ['session=s12', 'session=s12x', 'session=S1', 'a=1; session=s7', 'session=', 'tier=silver; consent=1; session=s99'],
      ['consent=yes', 'consent=1', 'a=1; consent=1', 'consent=1; a=2', 'consent=yes; session=s5', 'consent=1; tier=gold'],
      ['a=1; consent=', 'consent=; a=1', 'consent', 'xconsent=1', 'consents=1', 'a=1'],
    ],
  },
  { share: 0.4, names: ['User-Agent', 'user-agent'], values: [['curl/8.5.0', 'Mozilla/5.0', 'Wget/1.21'], ['Googlebot/2.1', 'Mozilla/5.0 (compatible; bingbot/2.0)', 'spider', 'SPIDER', 'Spider-Man', 'Robot', 'BOT', 'B0t']] },
  { share: 0.15, names: ['X-Trace-Id', 'x-trace-id'], values: [['abc123', '']] },
  { share: 0.15, names: ['X-Debug', 'x-debug'], values: [['1', 'yes']] },
  { share: 0.1, names: ['X-Api-Version'], values: [['0']] },
  { share: 0.12, names: ['X-Api-Key', 'x-api-key'], values: [['k1']] },
  { share: 0.1, names: ['X-Api-Client'], values: [['client']] },
  { share: 0.2, names: ['X-Region', 'x-region'], values: [['eu-west', 'us-east', 'eu-', 'EU-west', 'xeu-1']] },
  { share: 0.25, names: ['Accept-Language', 'accept-language'], values: [['de-DE', 'de-de', 'en', 'de-DE,en;q=0.5', 'de-DE ', '\tde-DE']] },
  { share: 0.2, names: ['Origin', 'origin'], values: [['http://a.example', '']] },
  { share: 0.05, names: ['X-Internal'], values: [['spoofed']] },
  { share: 0.05, names: ['X-Tenant-Route', 'X-Session-Route', 'X-Traced', 'X-Debug-Query'], values: [['from-client']] },
];

/** mulberry32: a small, fast PRNG whose whole state is one 32-bit number. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateRequests(seed: number, count: number): GeneratedRequest[] {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const requests: GeneratedRequest[] = [];
  for (let index = 0; index < count; index++) {
    const method = pick(METHODS);
    const headers: Array<[string, string]> = [[pick(HOST_NAMES), pick(pick(HOSTS))]];
    for (const vocabulary of HEADERS) {
      if (random() >= vocabulary.share) continue;
      headers.push([pick(vocabulary.names), pick(pick(vocabulary.values))]);
      // A second field of the same name now and then: the first one is what rules test, and
      // remove takes both.
      if (random() < 0.1 && vocabulary.names[0] !== 'Cookie') headers.push([pick(vocabulary.names), pick(pick(vocabulary.values))]);
    }
    // The Host field is not always first.
    if (headers.length > 1 && random() < 0.2) headers.push(headers.shift()!);
    const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? 'k=v' : '';
    if (body !== '') headers.push(['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', String(body.length)]);
    requests.push({ index, client: pick(CLIENTS), method, target: pick(pick(PATHS)) + pick(pick(QUERIES)), headers, body });
  }
  return requests;
}

export function requestBytes(request: GeneratedRequest): Buffer {
  const head = [`${request.method} ${request.target} HTTP/1.1`, ...request.headers.map(([name, value]) => `${name}: ${value}`)].join('\r\n');
  return Buffer.from(`${head}\r\n\r\n${request.body}`, 'latin1');
}

/** The request as text, one line per field, for the report. */
export function describeRequest(request: GeneratedRequest): string {
  const lines = [`${request.method} ${request.target} HTTP/1.1`, ...request.headers.map(([name, value]) => `${name}: ${value}`)];
  return `from ${request.client}: ${lines.join(' | ')}${request.body === '' ? '' : ` | (body ${JSON.stringify(request.body)})`}`;
}
