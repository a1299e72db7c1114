/**
 * The bench's rows: what wrk sends and what a correct answer looks like.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PROBES, RULES_HEADERS, RULES_PATH, RULES_UPSTREAM_PATH, type Probe } from './rules.ts';

export const BODY_100 = 'fulcrum-bench-'.repeat(8).slice(0, 99) + '\n';
export const BIG_BYTES = 1024 * 1024;
export const POST_BYTES = 10 * 1024;

/**
 * About 600 bytes of the headers a desktop browser sends for a page, beyond Host: what a proxy
 * parses on every real request (the `small` row has almost none).
 */
export const BROWSER_HEADERS: readonly string[] = [
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8',
  'Accept-Language: en-US,en;q=0.9,de;q=0.8',
  'Accept-Encoding: gzip, deflate, br, zstd',
  'Cookie: session=7f3c2a91d4e84b1f9a6e0c5d2b8f4a17; _ga=GA1.1.1736451290.1716200000; theme=dark; cart=3; consent=analytics%3Dtrue',
  'Referer: https://shop.example.com/catalog/shoes?page=2&sort=price',
  'Sec-Fetch-Dest: document',
  'Sec-Fetch-Mode: navigate',
  'Sec-Fetch-Site: same-origin',
  'Upgrade-Insecure-Requests: 1',
  'Cache-Control: max-age=0',
];

/**
 * The config a proxy runs a scenario with: `plain` forwards every request to one real server;
 * `rules` is the content-rule config of rules-fulcrum.ts and rules-haproxy.ts, which only some
 * columns have.
 */
export type ConfigShape = 'plain' | 'rules';

export interface Scenario {
  name: string;
  description: string;
  shape: ConfigShape;
  path: string;
  /** The `direct` row's path, when the proxies rewrite `path` before nginx sees it. */
  directPath?: string;
  /** Requests each proxy (not `direct`) must answer as stated before it is measured. */
  probes?: readonly Probe[];
  method: 'GET' | 'POST';
  headers: readonly string[];
  /** Body size a correct response has. */
  expectBytes: number;
  /** Writes the wrk Lua script this scenario needs into `dir`, if any, and returns its path. */
  script?: (dir: string) => Promise<string>;
}

export const SCENARIOS: readonly Scenario[] = [
  { name: 'small', description: 'GET, 100-byte response', shape: 'plain', path: '/', method: 'GET', headers: [], expectBytes: BODY_100.length },
  {
    name: 'realistic',
    description: `GET with ${BROWSER_HEADERS.reduce((n, h) => n + h.length + 2, 0)} bytes of browser headers, 100-byte response`,
    shape: 'plain',
    path: '/',
    method: 'GET',
    headers: BROWSER_HEADERS,
    expectBytes: BODY_100.length,
  },
  { name: '1MiB', description: 'GET, 1 MiB static file', shape: 'plain', path: '/big', method: 'GET', headers: [], expectBytes: BIG_BYTES },
  {
    name: 'post10k',
    description: 'POST of a 10 KiB body, 3-byte response',
    shape: 'plain',
    path: '/post',
    method: 'POST',
    headers: [],
    expectBytes: 3,
    script: async (dir) => {
      const file = path.join(dir, 'post10k.lua');
      await writeFile(
        file,
        `wrk.method = "POST"\nwrk.body = string.rep("x", ${POST_BYTES})\nwrk.headers["Content-Type"] = "application/octet-stream"\n`,
      );
      return file;
    },
  },
  {
    name: 'rules',
    description:
      `GET ${RULES_PATH} with Host: api.surveyor.lab and X-Debug: 1, through an access list, a per-client rate limit that never refuses and 20 content rules ` +
      `(bench/rules-fulcrum.ts, bench/rules-haproxy.ts) to rule 18: host and path regex, rewrite to ${RULES_UPSTREAM_PATH} with two captures, ` +
      'X-Api-Version set and X-Debug removed, X-Content-Type-Options set and Server and X-Powered-By removed, a second pool; 100-byte response. ' +
      `\`direct\` asks nginx for ${RULES_UPSTREAM_PATH}`,
    shape: 'rules',
    path: RULES_PATH,
    directPath: RULES_UPSTREAM_PATH,
    probes: PROBES,
    method: 'GET',
    headers: RULES_HEADERS,
    expectBytes: BODY_100.length,
  },
];
