// Pools in the admin API and the CLI, end to end: `fulcrum start` as a user runs it with a named
// pool that a virtual service and a rule both route to, a pool only a rule uses, and a service
// with an inline pool; real servers; real requests; the config file on disk.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PoolStatus, StatusDocument, VirtualServiceStatus } from '../../src/admin/types.ts';
import { freePort, fulcrumBin, startBackends, startFulcrum, type Backends, type Fulcrum } from '../helpers/fulcrum.ts';
import { api, get, status } from './helpers.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

function cli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [fulcrumBin, ...args], { cwd: repoRoot, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

function poolIn(doc: StatusDocument, name: string): PoolStatus {
  const found = doc.pools.find((p) => p.name === name);
  assert.ok(found !== undefined, `pool ${name} in ${JSON.stringify(doc.pools)}`);
  return found;
}

function serviceIn(doc: StatusDocument, name: string): VirtualServiceStatus {
  const found = doc.virtualServices.find((v) => v.name === name);
  assert.ok(found !== undefined, `virtual service ${name}`);
  return found;
}

function putState(port: number, collection: 'pools' | 'virtual-services', name: string, address: string, state: string) {
  return api<Record<string, unknown>>(port, 'PUT', `/api/v1/${collection}/${encodeURIComponent(name)}/real-servers/${encodeURIComponent(address)}/state`, { state });
}

/** Which backends answered `n` GETs of `path` (by the name in the body). */
async function spread(port: number, path: string, n: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const answer = await get(port, path);
    assert.equal(answer.status, 200, answer.body);
    seen[answer.body] = (seen[answer.body] ?? 0) + 1;
  }
  return seen;
}

describe('pools in the admin API and the CLI', () => {
  let backends: Backends;
  let fulcrum: Fulcrum;
  let original: string;
  let adminPort: number;
  let sitePort: number;
  let legacyPort: number;
  /** farm: a and b; static: c; legacy's own pool: d. */
  let a: string, b: string, c: string, d: string;

  before(async () => {
    backends = await startBackends(4);
    [a, b, c, d] = backends.servers.map((s) => s.address) as [string, string, string, string];
    [adminPort, sitePort, legacyPort] = [await freePort(), await freePort(), await freePort()];
    original = [
      '# Fulcrum config for the pool admin tests',
      'workers: 1',
      'accessLog: off',
      'admin:',
      `  listen: 127.0.0.1:${adminPort}   # loopback only`,
      '',
      'pools:',
      '  # the application farm, shared',
      '  - name: farm',
      '    realServers:',
      `      - address: ${a}   # rack 1`,
      `      - address: ${b}   # rack 2`,
      '  - name: static       # files only',
      '    realServers:',
      `      - address: ${c}`,
      '',
      'virtualServices:',
      '  - name: site',
      `    listen: 127.0.0.1:${sitePort}`,
      '    protocol: http',
      '    pool: farm',
      '    rules:',
      '      - name: files',
      '        match: { path: { prefix: /static/ } }',
      '        pool: static',
      '  - name: legacy       # the old way: a pool of its own',
      `    listen: 127.0.0.1:${legacyPort}`,
      '    protocol: http',
      '    rules:',
      '      - name: to-farm',
      '        match: { path: { prefix: /app/ } }',
      '        pool: farm',
      '    realServers:',
      `      - address: ${d}   # the old box`,
      '',
    ].join('\n');
    fulcrum = await startFulcrum({ config: original });
  });
  after(async () => {
    await fulcrum.stop();
    await backends.close();
  });

  it('status: pools with who uses them, each service with its pool and its rules, hit counts that follow real requests', async () => {
    const first = await status(adminPort);
    assert.deepEqual(first.pools.map((p) => [p.name, p.inline, p.scheduler, p.persistence, p.queued]), [
      ['farm', false, 'round-robin', null, 0],
      ['static', false, 'round-robin', null, 0],
      ['legacy', true, 'round-robin', null, 0],
    ]);
    assert.deepEqual(poolIn(first, 'farm').usedBy, [{ virtualService: 'site', rule: null }, { virtualService: 'legacy', rule: 'to-farm' }]);
    assert.deepEqual(poolIn(first, 'static').usedBy, [{ virtualService: 'site', rule: 'files' }]);
    assert.deepEqual(poolIn(first, 'legacy').usedBy, [{ virtualService: 'legacy', rule: null }]);
    assert.deepEqual(poolIn(first, 'farm').realServers.map((r) => r.address), [a, b]);
    assert.equal(serviceIn(first, 'site').pool, 'farm');
    assert.equal(serviceIn(first, 'legacy').pool, 'legacy');
    assert.deepEqual(serviceIn(first, 'site').rules, [{ name: 'files', pool: 'static', action: 'route', hits: 0 }]);
    assert.deepEqual(serviceIn(first, 'legacy').rules, [{ name: 'to-farm', pool: 'farm', action: 'route', hits: 0 }]);

    // Real requests, routed by the rules to the pools they name.
    assert.deepEqual(await spread(sitePort, '/static/logo.png', 3), { 'backend-3': 3 });
    assert.deepEqual(await spread(legacyPort, '/app/login', 2), { 'backend-1': 1, 'backend-2': 1 });
    assert.deepEqual(await spread(legacyPort, '/', 1), { 'backend-4': 1 });
    assert.deepEqual(await spread(sitePort, '/', 2), { 'backend-1': 1, 'backend-2': 1 });
    const after = await status(adminPort);
    assert.equal(serviceIn(after, 'site').rules[0]!.hits, 3);
    assert.equal(serviceIn(after, 'legacy').rules[0]!.hits, 2);
    // The farm served the site's default and the legacy rule alike: four requests over its two servers.
    assert.deepEqual(poolIn(after, 'farm').realServers.map((r) => r.requests), [2, 2]);
    assert.deepEqual(poolIn(after, 'static').realServers.map((r) => r.requests), [3]);
  });

  it('PUT /api/v1/pools/{pool}/... drains a server of the named pool and writes state: drain into its pools: entry, comments kept', async () => {
    const before = await readFile(fulcrum.configPath, 'utf8');
    assert.equal(before, original);
    const drained = await putState(adminPort, 'pools', 'farm', a, 'drain');
    assert.equal(drained.status, 200, JSON.stringify(drained.body));
    assert.equal(drained.body['pool'], 'farm');
    assert.equal(drained.body['changed'], true);
    assert.ok(!('virtualService' in drained.body));
    const rackOne = `      - address: ${a}   # rack 1\n`;
    assert.equal(await readFile(fulcrum.configPath, 'utf8'), original.replace(rackOne, `${rackOne}        state: drain\n`));
    assert.equal(poolIn(await status(adminPort), 'farm').realServers[0]!.state, 'drain');
    // Both of the pool's users stop sending it new clients.
    assert.deepEqual(await spread(sitePort, '/', 3), { 'backend-2': 3 });
    assert.deepEqual(await spread(legacyPort, '/app/x', 3), { 'backend-2': 3 });
  });

  it('PUT /api/v1/virtual-services/{vs}/... changes an inline pool in the service, and a named pool through the service that uses it', async () => {
    const text = await readFile(fulcrum.configPath, 'utf8');
    const inline = await putState(adminPort, 'virtual-services', 'legacy', d, 'disabled');
    assert.equal(inline.status, 200, JSON.stringify(inline.body));
    assert.deepEqual([inline.body['virtualService'], inline.body['pool']], ['legacy', 'legacy']);
    const oldBox = `      - address: ${d}   # the old box\n`;
    const afterInline = text.replace(oldBox, `${oldBox}        state: disabled\n`);
    assert.equal(await readFile(fulcrum.configPath, 'utf8'), afterInline);
    assert.equal((await get(legacyPort, '/')).status, 503, 'its only server is disabled');

    // site is no pool: the farm is.
    const notAPool = await putState(adminPort, 'pools', 'site', a, 'enabled');
    assert.equal(notAPool.status, 404, JSON.stringify(notAPool.body));
    assert.match(JSON.stringify(notAPool.body), /no pool named \\"site\\" \(virtual service \\"site\\" uses pool \\"farm\\"\)/);
    // site uses the farm: its state lives in the farm's pools: entry, which is what changes.
    const viaService = await putState(adminPort, 'virtual-services', 'site', a, 'enabled');
    assert.equal(viaService.status, 200, JSON.stringify(viaService.body));
    assert.deepEqual([viaService.body['virtualService'], viaService.body['pool']], ['site', 'farm']);
    assert.equal(await readFile(fulcrum.configPath, 'utf8'), afterInline.replace(`# rack 1\n        state: drain\n`, `# rack 1\n        state: enabled\n`));
    assert.deepEqual(await spread(sitePort, '/', 2), { 'backend-1': 1, 'backend-2': 1 });
  });

  it('fulcrum rs drain POOL ADDRESS and fulcrum rs drain VS ADDRESS (inline) from the CLI', async () => {
    const pool = await cli(['rs', 'drain', 'farm', b, '-c', fulcrum.configPath]);
    assert.equal(pool.code, 0, pool.stderr);
    assert.equal(pool.stdout, `real server ${b} in "farm" is now drain; 0 active requests\n`);
    assert.match(await readFile(fulcrum.configPath, 'utf8'), new RegExp(`- address: ${b}   # rack 2\\n        state: drain\\n`));

    const inline = await cli(['rs', 'drain', 'legacy', d, '-c', fulcrum.configPath]);
    assert.equal(inline.code, 0, inline.stderr);
    assert.equal(inline.stdout, `real server ${d} in "legacy" is now drain; 0 active requests\n`);
    assert.match(await readFile(fulcrum.configPath, 'utf8'), new RegExp(`- address: ${d}   # the old box\\n        state: drain\\n`));
    const doc = await status(adminPort);
    assert.deepEqual([poolIn(doc, 'farm').realServers[1]!.state, poolIn(doc, 'legacy').realServers[0]!.state], ['drain', 'drain']);
  });

  it('fulcrum status prints the pools (with their users) and the rules (with their hits)', async () => {
    const run = await cli(['status', '-c', fulcrum.configPath]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^VIRTUAL SERVICE\s+LISTEN\s+PROTOCOL\s+POOL\s+CONNECTIONS$/m);
    assert.match(run.stdout, /^site\s+127\.0\.0\.1:\d+\s+http\s+farm\s+\d+$/m);
    assert.match(run.stdout, /^legacy\s+127\.0\.0\.1:\d+\s+http\s+legacy\s+\d+$/m);
    assert.match(run.stdout, /^VIRTUAL SERVICE\s+RULE\s+ACTION\s+POOL\s+HITS$/m);
    assert.match(run.stdout, /^site\s+files\s+route\s+static\s+3$/m);
    assert.match(run.stdout, /^legacy\s+to-farm\s+route\s+farm\s+5$/m);
    assert.match(run.stdout, /^POOL\s+SCHEDULER\s+PERSISTENCE\s+QUEUED\s+USED BY$/m);
    assert.match(run.stdout, /^farm\s+round-robin\s+off\s+0\s+site, legacy\/to-farm$/m);
    assert.match(run.stdout, /^static\s+round-robin\s+off\s+0\s+site\/files$/m);
    assert.match(run.stdout, /^legacy\s+round-robin\s+off\s+0\s+legacy$/m);
    assert.match(run.stdout, new RegExp(`^farm\\s+${b}\\s+drain\\s+UP\\s+0\\s+\\d+`, 'm'));
  });
});
