// The sample, read from examples/surveyor.yaml as shipped: every rule, the service's
// access list, and the admin rule from inside and outside. 127.0.0.0/8 is loopback, so every
// address a test can bind is inside; 10.x and outside clients come through a trusted proxy's
// X-Forwarded-For (127.0.0.2, the one key the test adds).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { ruleTables } from './table.ts';

/** examples/surveyor.yaml's virtual service as written, its pools by name, and a trusted proxy to speak for outside clients. */
function surveyorTable(): string {
  const example = parse(readFileSync(path.join(import.meta.dirname, '..', '..', 'examples', 'surveyor.yaml'), 'utf8')) as {
    pools: Array<{ name: string }>;
    virtualServices: Array<Record<string, unknown>>;
  };
  const { rules, access, rateLimit, pool } = example.virtualServices[0]!;
  const others = example.pools.map((p) => p.name).filter((name) => name !== pool);
  return stringify({ pools: [pool, ...others], pool, access, rateLimit, rules, trustedProxies: ['127.0.0.2/32'] });
}

const HOST = 'ntrip.surveyor.lab';
const viaProxy = (client: string): { clientAddress: string; headers: Record<string, string> } => ({ clientAddress: '127.0.0.2', headers: { 'X-Forwarded-For': client } });

ruleTables([
  {
    name: 'the surveyors\' sample (issue 10)',
    config: surveyorTable(),
    requests: [
      { host: 'www.surveyor.lab', path: '/' },
      { host: 'www.surveyor.lab', path: '/static/app.js?v=2' },
      { host: HOST, path: '/static/app.js' },
      { host: HOST, path: '/static/' },
      { host: HOST, path: '/staticky' },
      { host: HOST, path: '/admin/users' },
      { host: HOST, path: '/admin', ...viaProxy('10.1.2.3') },
      { host: HOST, path: '/admin', ...viaProxy('203.0.113.9') },
      { host: HOST, path: '/administrator', ...viaProxy('203.0.113.9') },
      { host: HOST, path: '/admin', clientAddress: '127.0.0.3', headers: { 'X-Forwarded-For': '203.0.113.9' } },
      { host: HOST, path: '/api/v1/stations?near=50.8,4.3', headers: { 'X-Debug': 'on', 'X-Api-Version': '9' } },
      { host: HOST, path: '/api/v2/stations' },
      { host: HOST, path: '/', ...viaProxy('192.0.2.77') },
      { host: HOST, path: '/' },
    ],
    expect: [
      { status: 301, location: 'http://www.bussines.lab/surveyors/services', rule: 'www-moved', termination: 'redirected' },
      // The first rule that matches decides: the host rule comes before the static one.
      { status: 301, location: 'http://www.bussines.lab/surveyors/services', rule: 'www-moved', termination: 'redirected' },
      { pool: 'static', upstreamPath: '/app.js', rule: 'static-files', headers: { response: { 'cache-control': 'public, max-age=300', server: 'echo-static' } } },
      { pool: 'static', upstreamPath: '/', rule: 'static-files' },
      { pool: 'ntrip-farm', upstreamPath: '/staticky', headers: { response: { 'cache-control': null } } },
      { pool: 'ntrip-farm', upstreamPath: '/admin/users', client: '127.0.0.1' },
      { pool: 'ntrip-farm', upstreamPath: '/admin', client: '10.1.2.3' },
      { status: 403, rule: 'no-admin-from-outside', termination: 'denied', client: '203.0.113.9', body: /access denied/ },
      // A path prefix is a prefix of the path's characters, not of its segments.
      { status: 403, rule: 'no-admin-from-outside', termination: 'denied', client: '203.0.113.9' },
      // From a peer that is not a trusted proxy, X-Forwarded-For is ignored: the client is the peer.
      { pool: 'ntrip-farm', upstreamPath: '/admin', client: '127.0.0.3' },
      {
        pool: 'ntrip-farm',
        rule: 'api',
        upstreamPath: '/v1/stations?near=50.8,4.3',
        headers: { upstream: { 'x-api-version': '1', 'x-debug': null }, response: { server: null, 'x-powered-by': null, 'x-pool': 'ntrip-farm' } },
      },
      { pool: 'ntrip-farm', upstreamPath: '/api/v2/stations', headers: { response: { server: 'echo-ntrip-farm' } } },
      { status: 403, termination: 'denied', client: '192.0.2.77', body: /access denied/ },
      { pool: 'ntrip-farm', upstreamPath: '/' },
    ],
  },
]);
