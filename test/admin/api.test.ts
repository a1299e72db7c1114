// The admin API end to end: `fulcrum start` as a user runs it, real servers, requests through it,
// and the config file on disk.
import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { describe, it } from 'node:test';
import type { RealServerStatus, StatusDocument } from '../../src/admin/types.ts';
import { freePort, startBackends, startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';
import { adminConfig, api, get, holdingServer, setState, status, waitFor } from './helpers.ts';

function server(doc: StatusDocument, address: string, vs = 'web'): RealServerStatus {
  const found = doc.virtualServices.find((v) => v.name === vs)?.realServers.find((r) => r.address === address);
  assert.ok(found !== undefined, `${address} in ${vs}: ${JSON.stringify(doc)}`);
  return found;
}

/** SIGHUP with the file as it is, and wait for the outcome. */
async function sighup(fulcrum: Fulcrum): Promise<string | undefined> {
  const from = fulcrum.logs.length;
  process.kill(fulcrum.pid, 'SIGHUP');
  const line = await fulcrum.waitForLog((l) => l.msg === 'reloaded' || l.msg === 'reload failed', { from });
  return line.msg;
}

/** Which backends answered `n` requests (by the name in the body). */
async function spread(port: number, n: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const answer = await get(port);
    assert.equal(answer.status, 200, answer.body);
    seen[answer.body] = (seen[answer.body] ?? 0) + 1;
  }
  return seen;
}

type ErrorBody = { error: { code: string; message: string; suggestion?: string; allowed?: string[]; problems?: string[] } };

describe('admin API', () => {
  it('status: every virtual service and real server, a down server with its reason, in-flight requests summed over workers', async () => {
    const holding = await holdingServer('holding');
    const closedPort = await freePort();
    const down = `127.0.0.1:${closedPort}`;
    const [adminPort, vsPort] = [await freePort(), await freePort()];
    const fulcrum = await startFulcrum({
      config: adminConfig({ adminPort, vsPort, workers: 2, servers: [holding.address, down], vsExtra: ['    healthCheck: { type: tcp, interval: 1s, timeout: 500ms }'] }),
    });
    try {
      const first = await status(adminPort);
      assert.deepEqual(Object.keys(first).sort(), ['generation', 'pools', 'virtualServices', 'workers', 'workersNotAnswering']);
      assert.deepEqual(first.workers.sort(), [...fulcrum.workers].sort());
      assert.deepEqual(first.workersNotAnswering, []);
      assert.equal(first.generation, 1);
      const [vs] = first.virtualServices;
      assert.deepEqual([vs?.name, vs?.listen, vs?.protocol, vs?.scheduler], ['web', `127.0.0.1:${vsPort}`, 'http', 'round-robin']);
      assert.deepEqual(vs?.realServers.map((r) => r.address), [holding.address, down]);
      assert.deepEqual(Object.keys(vs!.realServers[0]!).sort(), ['activeRequests', 'address', 'effectiveWeight', 'ejected', 'health', 'idleConnections', 'requests', 'state', 'weight']);

      // The reason a server is down is in the status, with the check that said so.
      const afterCheck = await waitFor(() => status(adminPort), (d) => server(d, down).health.lastCheck !== null && !server(d, down).health.up, 10_000, 'the down server to be seen down');
      const bad = server(afterCheck, down);
      assert.match(bad.health.reason, /refused/);
      assert.equal(bad.health.lastCheck?.ok, false);
      assert.match(bad.health.check, new RegExp(`tcp.*${closedPort}`));
      assert.ok(bad.health.checks.failed >= 1);
      assert.equal(bad.effectiveWeight, 0, 'a down server takes no new clients');
      assert.equal(server(afterCheck, holding.address).health.up, true);
      assert.equal(server(afterCheck, holding.address).effectiveWeight, 100);

      // A slow request in flight is an active request until it finishes.
      const slow = get(vsPort, '/slow');
      const busy = await waitFor(() => status(adminPort), (d) => server(d, holding.address).activeRequests === 1, 5000, 'activeRequests 1');
      assert.equal(busy.virtualServices[0]!.clientConnections, 1);
      // Dispatched is not yet arrived: release only a request the server holds.
      await waitFor(async () => holding.held, (n) => n === 1, 5000, 'the request to reach the server');
      holding.release();
      assert.deepEqual(await slow, { status: 200, body: 'holding' });
      const idle = await waitFor(() => status(adminPort), (d) => server(d, holding.address).activeRequests === 0, 5000, 'activeRequests 0');
      assert.equal(server(idle, holding.address).requests, 1);
      assert.equal(server(idle, holding.address).idleConnections, 1, 'the keep-alive connection went back to the pool');
    } finally {
      await fulcrum.stop();
      await holding.close();
    }
  });

  it('drain through the API: no new clients, the request in flight finishes, the file says drain (comments kept), a reload and a restart keep it; enable brings traffic back', async () => {
    const holding = await holdingServer('holding');
    const backends = await startBackends(1);
    const other = backends.servers[0]!;
    const [adminPort, vsPort] = [await freePort(), await freePort()];
    const original = adminConfig({ adminPort, vsPort, workers: 2, servers: [holding.address, other.address] });
    let fulcrum = await startFulcrum({ config: original });
    try {
      // A client of the server to drain, mid-request.
      const inFlight: Array<Promise<{ status: number; body: string }>> = [];
      while (holding.held === 0) {
        inFlight.push(get(vsPort, '/slow'));
        await waitFor(async () => holding.requests + other.requests, (n) => n >= inFlight.length, 5000, 'the request to arrive');
      }

      const drained = await setState(adminPort, 'web', holding.address, 'drain');
      assert.equal(drained.status, 200, JSON.stringify(drained.body));
      const answer = drained.body as { virtualService: string; realServer: RealServerStatus; generation: number; changed: boolean };
      assert.equal(answer.virtualService, 'web');
      assert.equal(answer.changed, true);
      assert.equal(answer.generation, 2);
      assert.equal(answer.realServer.state, 'drain');
      assert.equal(answer.realServer.effectiveWeight, 0);
      assert.equal(answer.realServer.activeRequests, 1, 'what the admin watches go to zero');

      // The file: one line added, everything else byte for byte.
      const line = `      - address: ${holding.address}   # rack 1\n`;
      assert.equal(await readFile(fulcrum.configPath, 'utf8'), original.replace(line, `${line}        state: drain\n`));
      assert.ok(fulcrum.logs.some((l) => l.msg === 'reloaded'));

      // New clients go elsewhere; the request in flight is not cut.
      const before = holding.requests;
      assert.deepEqual(await spread(vsPort, 8), { 'backend-1': 8 });
      assert.equal(holding.requests, before);
      holding.release();
      for (const r of await Promise.all(inFlight)) assert.equal(r.status, 200);
      await waitFor(() => status(adminPort), (d) => server(d, holding.address).activeRequests === 0, 5000, 'the drain to finish');

      // SIGHUP re-reads the file: still drained.
      assert.equal(await sighup(fulcrum), 'reloaded');
      assert.equal(server(await status(adminPort), holding.address).state, 'drain');
      assert.deepEqual(await spread(vsPort, 4), { 'backend-1': 4 });

      // Stop and start again from the same file: still drained.
      const saved = await readFile(fulcrum.configPath, 'utf8');
      await fulcrum.stop();
      fulcrum = await startFulcrum({ config: saved });
      assert.equal(server(await status(adminPort), holding.address).state, 'drain');
      assert.deepEqual(await spread(vsPort, 4), { 'backend-1': 4 });

      // Enable: traffic comes back, and the file says so.
      const enabled = await setState(adminPort, 'web', holding.address, 'enabled');
      assert.equal(enabled.status, 200, JSON.stringify(enabled.body));
      assert.equal(await readFile(fulcrum.configPath, 'utf8'), original.replace(line, `${line}        state: enabled\n`));
      const after = await spread(vsPort, 8);
      assert.ok((after['holding'] ?? 0) > 0 && (after['backend-1'] ?? 0) > 0, JSON.stringify(after));

      // The same state again: nothing to write, nothing to reload.
      const again = await setState(adminPort, 'web', holding.address, 'enabled');
      assert.equal(again.status, 200);
      assert.equal((again.body as { changed: boolean }).changed, false);
    } finally {
      await fulcrum.stop();
      await holding.close();
      await backends.close();
    }
  });

  it('unknown virtual service or real server: 404 with a suggestion; a bad state: 400 listing the allowed ones; the file untouched', async () => {
    const backends = await startBackends(2);
    const [a, b] = backends.servers.map((s) => s.address) as [string, string];
    const [adminPort, vsPort] = [await freePort(), await freePort()];
    const fulcrum = await startFulcrum({ config: adminConfig({ adminPort, vsPort, servers: [a, b] }) });
    try {
      const text = await readFile(fulcrum.configPath, 'utf8');
      const noVs = await setState(adminPort, 'wbe', a, 'drain');
      assert.equal(noVs.status, 404);
      const noVsError = (noVs.body as unknown as ErrorBody).error;
      assert.equal(noVsError.code, 'FULCRUM_ERR_ADMIN_NOT_FOUND');
      assert.equal(noVsError.suggestion, 'web');
      assert.match(noVsError.message, /no virtual service named "wbe"; did you mean "web"\?/);

      const typo = a.replace(/:(\d+)$/, (_, port: string) => `:${port}0`);
      const noRs = await setState(adminPort, 'web', typo, 'drain');
      assert.equal(noRs.status, 404);
      const noRsError = (noRs.body as unknown as ErrorBody).error;
      assert.match(noRsError.message, new RegExp(`no real server ${typo} in virtual service "web"`));
      assert.match(noRsError.message, new RegExp(`its real servers: ${a}, ${b}`));

      const badState = await setState(adminPort, 'web', a, 'maintenance');
      assert.equal(badState.status, 400);
      const badError = (badState.body as unknown as ErrorBody).error;
      assert.equal(badError.code, 'FULCRUM_ERR_ADMIN_BAD_REQUEST');
      assert.deepEqual(badError.allowed, ['enabled', 'disabled', 'drain']);

      assert.equal(await readFile(fulcrum.configPath, 'utf8'), text);
      assert.equal((await status(adminPort)).generation, 1, 'nothing was reloaded');
    } finally {
      await fulcrum.stop();
      await backends.close();
    }
  });

  it('never writes an invalid file, leaves a read-only file alone, and puts the file back when the reload fails', async () => {
    const backends = await startBackends(2);
    const [a, b] = backends.servers.map((s) => s.address) as [string, string];
    const [adminPort, vsPort] = [await freePort(), await freePort()];
    const fulcrum = await startFulcrum({ config: adminConfig({ adminPort, vsPort, servers: [a, b] }) });
    const blocker = net.createServer();
    try {
      const valid = await readFile(fulcrum.configPath, 'utf8');

      // 1. The file on disk has a mistake nobody reloaded yet: the API refuses, and says where.
      const broken = valid.replace('weight: 100', 'weight: lots');
      await writeFile(fulcrum.configPath, broken);
      const invalid = await setState(adminPort, 'web', a, 'drain');
      assert.equal(invalid.status, 409, JSON.stringify(invalid.body));
      const invalidError = (invalid.body as unknown as ErrorBody).error;
      assert.equal(invalidError.code, 'FULCRUM_ERR_CONFIG_INVALID');
      assert.match(invalidError.message, /fulcrum\.yaml:\d+:\d+: virtualServices\[0\]\.realServers\[0\]\.weight/);
      assert.equal(invalidError.problems?.length, 1);
      assert.equal(await readFile(fulcrum.configPath, 'utf8'), broken, 'not written');
      assert.deepEqual(Object.keys(await spread(vsPort, 4)).sort(), ['backend-1', 'backend-2'], 'the running config is unchanged');

      // 2. Read-only: the administrator's "not through the API".
      await writeFile(fulcrum.configPath, valid);
      await chmod(fulcrum.configPath, 0o444);
      const readOnly = await setState(adminPort, 'web', a, 'drain');
      await chmod(fulcrum.configPath, 0o644);
      assert.equal(readOnly.status, 409, JSON.stringify(readOnly.body));
      const readOnlyError = (readOnly.body as unknown as ErrorBody).error;
      assert.equal(readOnlyError.code, 'FULCRUM_ERR_CONFIG_WRITE');
      assert.match(readOnlyError.message, /read-only \(mode 0444\)/);
      assert.equal(await readFile(fulcrum.configPath, 'utf8'), valid);

      // 3. A valid file that cannot be applied (a new virtual service's address is taken by
      // another process): the reload fails, the file goes back to what it was.
      const takenPort = await freePort();
      await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: takenPort, exclusive: true }, resolve));
      const withNewService = `${valid}  - name: api\n    listen: 127.0.0.1:${takenPort}\n    protocol: http\n    realServers: [{ address: ${b} }]\n`;
      await writeFile(fulcrum.configPath, withNewService);
      const failed = await setState(adminPort, 'web', a, 'drain');
      assert.equal(failed.status, 409, JSON.stringify(failed.body));
      const failedError = (failed.body as unknown as ErrorBody).error;
      assert.equal(failedError.code, 'FULCRUM_ERR_RELOAD_FAILED');
      assert.match(failedError.message, new RegExp(`"api" cannot listen on 127\\.0\\.0\\.1:${takenPort}.*put back as it was`));
      assert.equal(await readFile(fulcrum.configPath, 'utf8'), withNewService);
      const after = await status(adminPort);
      assert.equal(server(after, a).state, 'enabled');
      assert.equal(after.generation, 1);
    } finally {
      blocker.close();
      await fulcrum.stop();
      await backends.close();
    }
  });

  it('a stuck worker cannot hang the status: its counters are left out and its pid reported', async () => {
    const backends = await startBackends(1);
    const [adminPort, vsPort] = [await freePort(), await freePort()];
    const fulcrum = await startFulcrum({ config: adminConfig({ adminPort, vsPort, workers: 2, servers: [backends.servers[0]!.address] }) });
    const stuck = fulcrum.workers[0]!;
    try {
      process.kill(stuck, 'SIGSTOP');
      const started = Date.now();
      const doc = await status(adminPort);
      assert.ok(Date.now() - started < 3000, `answered in ${Date.now() - started} ms`);
      assert.deepEqual(doc.workersNotAnswering, [stuck]);
      assert.equal(doc.workers.length, 2);
    } finally {
      process.kill(stuck, 'SIGCONT');
      await fulcrum.stop();
      await backends.close();
    }
    // After SIGCONT the late answer is ignored: nothing to check but that the stop was clean.
  });

  it('a reload can move the admin API; a taken admin address fails the reload and keeps the old one', async () => {
    const backends = await startBackends(1);
    const [adminPort, vsPort, nextPort] = [await freePort(), await freePort(), await freePort()];
    const config = adminConfig({ adminPort, vsPort, servers: [backends.servers[0]!.address] });
    const fulcrum = await startFulcrum({ config });
    const blocker = net.createServer();
    try {
      assert.equal(await fulcrum.reload(config.replace(`127.0.0.1:${adminPort}`, `127.0.0.1:${nextPort}`)), 'reloaded');
      assert.equal((await status(nextPort)).generation, 2);
      await assert.rejects(api(adminPort, 'GET', '/api/v1/status'), /ECONNREFUSED/);

      const takenPort = await freePort();
      await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: takenPort }, resolve));
      assert.equal(await fulcrum.reload(config.replace(`127.0.0.1:${adminPort}`, `127.0.0.1:${takenPort}`)), 'reload failed');
      assert.ok(fulcrum.logs.some((l) => l.msg === 'reload failed' && JSON.stringify(l).includes('admin API cannot listen')));
      assert.equal((await status(nextPort)).generation, 2);
    } finally {
      blocker.close();
      await fulcrum.stop();
      await backends.close();
    }
  });
});
