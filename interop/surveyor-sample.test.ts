// "The sample works as written": Fulcrum runs examples/surveyor.yaml (issue 10's sample) byte for
// byte on 127.0.0.1:8080, with real servers on exactly the addresses it names: two NTRIP-farm web
// servers on 9001 and 9002 (their health check asks GET / with Host: ntrip.surveyor.lab) and nginx
// serving static files on 9003. curl is the client; a second loopback address outside the
// sample's trusted networks (198.51.100.77, added to lo for the test and removed after) is the
// "outside" client, and 192.0.2.77 one the access list denies.
//
// The ports are fixed on purpose, as in the other sample tests: a taken port fails the run with
// its name, never moves.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readFile, writeFile } from 'node:fs/promises';
import { startFulcrum, type Fulcrum } from '../test/helpers/fulcrum.ts';
import { teardown } from '../test/helpers/processes.ts';
import { curl } from './curl.ts';
import { startNginx, type Nginx } from './nginx.ts';
import { requirePeers } from './peers.ts';

const SAMPLE = path.resolve(import.meta.dirname, '..', 'examples', 'surveyor.yaml');
const OUTSIDE = '198.51.100.77';
const DENIED = '192.0.2.77';

function addLoopbackAddress(address: string): void {
  execFileSync('ip', ['addr', 'add', `${address}/32`, 'dev', 'lo']);
}

function removeLoopbackAddress(address: string): void {
  try {
    execFileSync('ip', ['addr', 'del', `${address}/32`, 'dev', 'lo'], { stdio: 'ignore' });
  } catch {
    // not there
  }
}

async function farmServer(port: number, name: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    res.setHeader('Server', `farm/${name}`);
    res.setHeader('X-Powered-By', 'surveyors');
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ name, url: req.url, host: req.headers.host, apiVersion: req.headers['x-api-version'] ?? null, debug: req.headers['x-debug'] ?? null }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`port ${port} (the sample's ${name}) is taken: ${error.message}`)));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, resolve);
  });
  return server;
}

/** `curl -i` from `source` (a local address), as status, headers (lower-case names) and body. */
async function get(pathAndQuery: string, options: { host?: string; source?: string; headers?: string[] } = {}): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const args = ['-i', '--max-time', '5', '-H', `Host: ${options.host ?? 'surveyor.lab'}`];
  for (const h of options.headers ?? []) args.push('-H', h);
  if (options.source !== undefined) args.push('--interface', options.source);
  const { stdout } = await curl([...args, `http://127.0.0.1:8080${pathAndQuery}`]);
  const [head = '', ...rest] = stdout.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(lines[0]?.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

describe('examples/surveyor.yaml as written (issue 10)', () => {
  let fulcrum: Fulcrum | undefined;
  let nginx: Nginx | undefined;
  const farms: http.Server[] = [];

  before(async () => {
    requirePeers('curl', 'nginx');
    addLoopbackAddress(OUTSIDE);
    addLoopbackAddress(DENIED);
    farms.push(await farmServer(9001, 'ntrip-a'), await farmServer(9002, 'ntrip-b'));
    nginx = await startNginx({ name: 'static', port: 9003, server: 'location / { add_header X-From static; try_files $uri =404; }' });
    await writeFile(path.join(nginx.prefix, 'app.js'), 'console.log("surveyors");\n');
    fulcrum = await startFulcrum({ config: await readFile(SAMPLE, 'utf8') });
    // The farm's health check (interval 5s by default, rise 2) starts up: wait for a 200.
    for (let i = 0; i < 100; i++) {
      const probe = await get('/').catch(() => null);
      if (probe?.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  after(async () => {
    await teardown(
      () => fulcrum?.stop(),
      () => nginx?.stop(),
      ...farms.map((f) => () => new Promise<void>((resolve) => f.close(() => resolve()))),
      () => removeLoopbackAddress(OUTSIDE),
      () => removeLoopbackAddress(DENIED),
    );
  });

  it('www.surveyor.lab is redirected (301) to the absolute URL the rule names', async () => {
    const res = await get('/anything', { host: 'www.surveyor.lab' });
    assert.equal(res.status, 301);
    assert.equal(res.headers['location'], 'http://www.bussines.lab/surveyors/services');
  });

  it('/static/ goes to the static pool with the prefix stripped, and carries Cache-Control', async () => {
    const res = await get('/static/app.js');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-from'], 'static');
    assert.equal(res.body, 'console.log("surveyors");\n');
    assert.equal(res.headers['cache-control'], 'public, max-age=300');
  });

  it('/admin is refused (403) from outside 127.0.0.0/8 and 10.0.0.0/8, served from inside', async () => {
    assert.equal((await get('/admin/users', { source: OUTSIDE })).status, 403);
    assert.equal((await get('/admin/users', { source: '127.0.0.1' })).status, 200);
  });

  it('/api/v1/... is rewritten to /v1/..., with X-Api-Version set, X-Debug removed, and Server and X-Powered-By removed from the answer', async () => {
    const res = await get('/api/v1/stations/7?fmt=rtcm3', { headers: ['X-Debug: 1'] });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body) as { url: string; apiVersion: string; debug: string | null };
    assert.equal(seen.url, '/v1/stations/7?fmt=rtcm3');
    assert.equal(seen.apiVersion, '1');
    assert.equal(seen.debug, null);
    assert.equal(res.headers['server'], undefined);
    assert.equal(res.headers['x-powered-by'], undefined);
  });

  it('the default pool (ntrip-farm, least-connections) answers what no rule takes, from both farm servers', async () => {
    const names = new Set<string>();
    for (let i = 0; i < 10; i++) names.add((JSON.parse((await get('/')).body) as { name: string }).name);
    assert.deepEqual([...names].sort(), ['ntrip-a', 'ntrip-b']);
  });

  it('192.0.2.0/24 is denied by the access list', async () => {
    assert.equal((await get('/', { source: DENIED })).status, 403);
  });

  it('over 50/s with a burst of 100, a client gets 429 with Retry-After', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20, localAddress: OUTSIDE });
    const statuses = await Promise.all(
      Array.from({ length: 250 }, () =>
        new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port: 8080, path: '/', headers: { host: 'surveyor.lab' }, agent }, (res) => {
              res.resume();
              res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
            })
            .on('error', reject);
        }),
      ),
    );
    agent.destroy();
    const ok = statuses.filter((s) => s.status === 200).length;
    const limited = statuses.filter((s) => s.status === 429);
    assert.ok(ok >= 100 && ok < 160, `${ok} let through: the burst of 100 plus what 50/s refills while they run`);
    assert.equal(ok + limited.length, 250);
    assert.ok(limited.every((s) => Number(s.retryAfter) >= 1), 'each 429 says when to come back');
  });

  it('the access log names the rule and pool of each request and how it ended', async () => {
    // The sample has no admin listener (the API is off unless configured): its access log, on
    // stdout as the sample leaves it, says which rule decided and why each exchange ended.
    const lines = fulcrum!.stdoutLines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { rule?: string; pool: string; termination: string });
    const rules = new Set(lines.map((l) => l.rule).filter((r) => r !== undefined));
    for (const rule of ['www-moved', 'static-files', 'no-admin-from-outside', 'api']) assert.ok(rules.has(rule), `${rule} in the access log (${[...rules].join(', ')})`);
    assert.ok(lines.some((l) => l.pool === 'static' && l.rule === 'static-files'));
    assert.ok(lines.some((l) => l.termination === 'rate-limited'));
    assert.ok(lines.some((l) => l.termination === 'denied'));
    assert.ok(lines.some((l) => l.termination === 'redirected'));
  });
});

