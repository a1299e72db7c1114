// GET /metrics of a running Fulcrum (two workers, the admin listener on loopback without users)
// after real traffic, checked by Prometheus's own linter: `promtool check metrics` (Debian package
// prometheus) must accept it as it is, and the counters must hold the requests of both workers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startProcess } from '../test/helpers/processes.ts';
import { get, startMetricsNode, type MetricsNode } from '../test/metrics/metrics-node.ts';
import { peer } from './peers.ts';

const N = 100;


describe('promtool check metrics on GET /metrics', { timeout: 90_000 }, () => {
  let node: MetricsNode | undefined;
  let vsPort = 0;
  let adminPort = 0;

  before(async () => {
    peer('promtool');
    node = await startMetricsNode();
    ({ vsPort, adminPort } = node);
  });

  after(() => node?.stop());

  it('is accepted by promtool, and counts every request of both workers', async () => {
    for (let i = 0; i < N; i++) assert.equal((await get(vsPort, `/item/${i}`)).status, 200);
    // The stats answer follows each exchange's end by an IPC round trip: read until it shows them all.
    const line = `fulcrum_requests_total{virtual_service="web",status_class="2xx"} ${N}`;
    const deadline = Date.now() + 10_000;
    let metrics = await get(adminPort, '/metrics');
    while (!metrics.body.split('\n').includes(line) && Date.now() < deadline) metrics = await get(adminPort, '/metrics');
    assert.equal(metrics.status, 200, metrics.body);
    assert.match(metrics.type, /^text\/plain; version=0\.0\.4/);
    assert.ok(metrics.body.split('\n').includes(line), metrics.body);
    assert.ok(metrics.body.includes('fulcrum_workers 2\n'));
    assert.ok(metrics.body.includes('# TYPE fulcrum_request_duration_seconds histogram\n'));
    assert.ok(metrics.body.includes('process_cpu_user_seconds_total'));

    const promtool = startProcess('promtool', peer('promtool'), ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    promtool.child.stdin!.end(metrics.body);
    const exit = await promtool.exited;
    const said = `${promtool.output.stdout}${promtool.output.stderr}`;
    assert.equal(exit.code, 0, `promtool check metrics refused the output:\n${said}`);
    assert.equal(said.trim(), '');
  });
});
