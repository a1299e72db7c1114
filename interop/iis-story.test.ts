// Issue 3's user story with real peers: nginx plays IIS with host-header bindings. An HTTP/1.0
// health check (no Host) gets the default site's 400 and marks every server down, and Fulcrum says
// why and what to change; HTTP/1.1 with `host` brings them up. Then curl's cookie jar stays on one
// server through an active cookie, and `fulcrum rs drain` keeps new clients off that server while
// the jar-holding client continues.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StatusDocument } from '../src/admin/types.ts';
import { configYaml, freePort, fulcrumBin, startFulcrum, type Fulcrum, type LogLine } from '../test/helpers/fulcrum.ts';
import { run, teardown } from '../test/helpers/processes.ts';
import { curl } from './curl.ts';
import { startHostHeaderNginx, type Nginx } from './nginx.ts';
import { requirePeers } from './peers.ts';

const SITE = 'ntrip.surveyor.lab';
const repoRoot = path.resolve(import.meta.dirname, '..');

/** The words src/health/reason.ts writes for a host-name based server checked without a name. */
const HTTP10_REASON = 'HTTP 400 to "HEAD / HTTP/1.0" (expected 200-299, 301, 302, 401); if this server serves sites by host name, use httpVersion "1.1" with host';

const baseCheck = { type: 'http', method: 'HEAD', path: '/', interval: '300ms', timeout: '200ms', fall: 1, rise: 1 };

describe('IIS with host-header bindings (nginx) behind Fulcrum: health check, persistence, drain', () => {
  const servers: Nginx[] = [];
  let fulcrum: Fulcrum | undefined;
  let url = '';
  let vsPort = 0;
  let adminPort = 0;
  let workDir = '';

  const config = (healthCheck: Record<string, unknown>): string =>
    configYaml({
      workers: 2,
      admin: { listen: `127.0.0.1:${adminPort}` },
      virtualServices: [
        {
          name: 'web',
          listen: `127.0.0.1:${vsPort}`,
          scheduler: 'round-robin',
          healthCheck,
          persistence: { type: 'active-cookie', cookieName: 'FULCRUMID', timeout: '1h' },
          realServers: servers.map((n) => n.address),
        },
      ],
    });

  /** `fulcrum ARGS` as an administrator runs it; rejects with its output on a non-zero exit. */
  const cli = (args: readonly string[]) => run(process.execPath, [fulcrumBin, ...args], { cwd: repoRoot, timeoutMs: 20_000 });

  /** One curl (a new connection): status code and body, the body naming the nginx instance. */
  const get = async (extra: readonly string[] = []): Promise<{ status: number; body: string }> => {
    const { stdout } = await curl([...extra, '-w', '\n%{http_code}', `${url}/`], { timeoutMs: 10_000 });
    const cut = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut).trim() };
  };
  const site = ['-H', `Host: ${SITE}`];

  const adminStatus = async (): Promise<StatusDocument> => {
    const res = await fetch(`http://127.0.0.1:${adminPort}/api/v1/status`);
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as StatusDocument;
  };

  const healthLine = (address: string, state: 'DOWN' | 'UP') => (l: LogLine) =>
    typeof l.msg === 'string' && l.msg.startsWith(`real server ${address} in "web" is ${state}`);

  before(async () => {
    requirePeers('curl', 'nginx');
    workDir = await mkdtemp(path.join(tmpdir(), 'interop-iis-'));
    for (let i = 1; i <= 3; i++) servers.push(await startHostHeaderNginx({ name: `iis-${i}`, siteName: SITE }));
    [vsPort, adminPort] = [await freePort(), await freePort()];
    url = `http://127.0.0.1:${vsPort}`;
  });

  after(async () => {
    await teardown(
      () => fulcrum?.stop(),
      ...servers.map((n) => () => n.stop()),
      () => workDir !== '' && rm(workDir, { recursive: true, force: true }),
    );
  });

  it('nginx answers like IIS with a host-header binding: 200 for the site name, 400 for anything else', async () => {
    for (const n of servers) {
      assert.deepEqual(await curl(['-H', `Host: ${SITE}`, n.url + '/']).then((r) => r.stdout), `${n.name}\n`);
      const bare = await curl(['-o', '/dev/null', '-w', '%{http_code}', '--http1.0', '-H', 'Host:', '-I', n.url + '/']);
      assert.equal(bare.stdout, '400', `HEAD / HTTP/1.0 without Host to ${n.name}`);
    }
  });

  it('an HTTP/1.0 check marks every server DOWN with the reason and the fix, in the log and in fulcrum status; clients get 503', async () => {
    fulcrum = await startFulcrum({ config: config({ ...baseCheck, httpVersion: '1.0' }) });
    for (const n of servers) {
      const line = await fulcrum.waitForLog(healthLine(n.address, 'DOWN'), { timeoutMs: 5000 });
      assert.equal(line.msg, `real server ${n.address} in "web" is DOWN: ${HTTP10_REASON}`);
    }

    const table = await cli(['status', '-c', fulcrum.configPath]);
    for (const n of servers) {
      const row = table.stdout.split('\n').find((l) => l.startsWith('web') && l.includes(` ${n.address} `));
      assert.ok(row !== undefined, `no row for ${n.address} in fulcrum status:\n${table.stdout}`);
      assert.match(row, new RegExp(`^web\\s+${n.address}\\s+enabled\\s+DOWN\\s`), table.stdout);
      assert.ok(row.includes(HTTP10_REASON), `fulcrum status row lacks the reason:\n${table.stdout}`);
    }

    // Even a request for the right site name gets nothing: every server is down.
    assert.equal((await get(site)).status, 503);
    assert.equal((await get()).status, 503);
  });

  it('a reload with httpVersion "1.1" and host brings every server UP, and curl for the site gets 200', async () => {
    assert.ok(fulcrum, 'fulcrum did not start');
    const from = fulcrum.logs.length;
    // startAs: down, so that the UP lines come from checks that passed, not from the reload.
    const result = await fulcrum.reload(config({ ...baseCheck, httpVersion: '1.1', host: SITE, startAs: 'down' }));
    assert.equal(result, 'reloaded', fulcrum.stderrLines.join('\n'));
    for (const n of servers) {
      const line = await fulcrum.waitForLog(healthLine(n.address, 'UP'), { from, timeoutMs: 5000 });
      assert.match(String(line.msg), /is UP: HTTP 200 in /);
    }
    const names = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const res = await get(site);
      assert.equal(res.status, 200, res.body);
      names.add(res.body);
    }
    assert.deepEqual([...names].sort(), servers.map((n) => n.name));
  });

  it('a cookie jar stays on one server; after fulcrum rs drain, new clients avoid it while the jar keeps reaching it', async () => {
    assert.ok(fulcrum, 'fulcrum did not start');
    const jar = path.join(workDir, 'cookies.txt');
    const withJar = [...site, '-c', jar, '-b', jar];

    const first = await get(withJar);
    assert.equal(first.status, 200, first.body);
    const pinned = servers.find((n) => n.name === first.body);
    assert.ok(pinned, `unexpected body ${JSON.stringify(first.body)}`);
    const jarText = await readFile(jar, 'utf8');
    const cookie = /\tFULCRUMID\t(\S+)/.exec(jarText)?.[1];
    assert.ok(cookie !== undefined, `no FULCRUMID cookie in the jar:\n${jarText}`);
    assert.ok(!cookie.includes(String(pinned.port)) && !cookie.includes('127.0.0.1'), `the cookie shows the address: ${cookie}`);
    for (let i = 1; i < 10; i++) {
      const res = await get(withJar);
      assert.equal(res.body, pinned.name, `request ${i + 1} with the jar left ${pinned.name}`);
    }

    const drained = await cli(['rs', 'drain', 'web', pinned.address, '-c', fulcrum.configPath]);
    assert.match(drained.stdout, new RegExp(`real server ${pinned.address} in "web" is now drain`), drained.stdout);

    const others = servers.filter((n) => n !== pinned).map((n) => n.name);
    const newClients: string[] = [];
    for (let i = 0; i < 20; i++) {
      const fresh = await get(site);
      assert.equal(fresh.status, 200, fresh.body);
      newClients.push(fresh.body);
      if (i % 2 === 0) {
        const held = await get(withJar);
        assert.equal(held.body, pinned.name, `the jar-holding client left the draining ${pinned.name} (request ${i})`);
      }
    }
    assert.ok(!newClients.includes(pinned.name), `a new client reached the draining ${pinned.name}: ${newClients.join(', ')}`);
    assert.deepEqual([...new Set(newClients)].sort(), others, `new clients: ${newClients.join(', ')}`);

    const doc = await adminStatus();
    const rs = doc.virtualServices.find((vs) => vs.name === 'web')?.realServers.find((r) => r.address === pinned.address);
    assert.ok(rs, JSON.stringify(doc, null, 2));
    assert.equal(rs.state, 'drain');
    assert.equal(rs.effectiveWeight, 0);
    assert.equal(rs.health.up, true);
    for (const other of doc.virtualServices[0]!.realServers.filter((r) => r.address !== pinned.address)) assert.equal(other.state, 'enabled');
    // The drain is in the config file, so it survives a reload and a restart.
    assert.match(await readFile(fulcrum.configPath, 'utf8'), /state: drain/);
  });
});
