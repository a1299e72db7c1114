// Metrics aggregated across 2 real workers: N requests through the load balancer to a local HTTP
// server, every one counted once, spread over both workers, summed by the supervisor's path
// (stats IPC, aggregateMetrics, the status document) and rendered without any client's data.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PrometheusExporter } from '../../src/metrics/prometheus.ts';
import { freePort, teardown } from '../helpers/processes.ts';
import { startWorkers, type WorkerPair } from './worker-pair.ts';

const N = 200;

function get(port: number, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    // agent: false: a connection per request, so the kernel's SO_REUSEPORT hash spreads them over the workers.
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

describe('metrics across 2 workers', { timeout: 60_000 }, () => {
  let backend: http.Server;
  let workers: WorkerPair | undefined;
  let port = 0;

  before(async () => {
    backend = http.createServer((_req, res) => res.end('hello from the real server\n'));
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const backendPort = (backend.address() as AddressInfo).port;
    port = await freePort();
    workers = await startWorkers(
      [
        'workers: 2',
        'accessLog: off',
        'virtualServices:',
        '  - name: web',
        `    listen: 127.0.0.1:${port}`,
        '    protocol: http',
        '    realServers:',
        `      - address: 127.0.0.1:${backendPort}`,
        '',
      ].join('\n'),
    );
  });

  after(() => teardown(() => workers?.stop(), () => new Promise((resolve) => backend.close(resolve))));

  it(`counts ${N} requests once each, across both workers, and renders their sum`, async () => {
    const backendAddress = `127.0.0.1:${(backend.address() as AddressInfo).port}`;
    for (let i = 0; i < N; i += 20) {
      const batch = Array.from({ length: 20 }, (_, j) =>
        get(port, `/customers/${i + j}/secret-path?token=t0k3n`, { host: 'client-chosen-host.example', 'x-forwarded-for': '198.51.100.123' }),
      );
      assert.deepEqual(new Set(await Promise.all(batch)), new Set([200]));
    }
    const { perWorker, metrics, status } = await workers!.collect();

    const served = perWorker.map((w) => w.metrics?.services.find((s) => s.name === 'web')?.statusClasses[2] ?? 0);
    assert.equal(served.length, 2);
    assert.ok(served.every((n) => n > 0), `both workers served requests: ${served}`);
    const web = metrics.services.find((s) => s.name === 'web');
    assert.ok(web !== undefined);
    assert.deepEqual(web.statusClasses, [0, 0, N, 0, 0, 0]);
    assert.deepEqual(web.terminations, { ok: N });
    assert.equal(web.connections, N);
    assert.equal(web.duration.counts.reduce((a, b) => a + b, 0), N);
    assert.equal(web.upstream.counts.reduce((a, b) => a + b, 0), N);
    assert.ok(web.requestBytes > 0 && web.responseBytes >= N * 'hello from the real server\n'.length);
    const [server] = metrics.realServers;
    assert.deepEqual(server && [server.pool, server.address, server.statusClasses[2]], ['web', backendAddress, N]);

    const text = await new PrometheusExporter({ processMetrics: false }).render({ metrics, status });
    assert.ok(text.includes(`fulcrum_requests_total{virtual_service="web",status_class="2xx"} ${N}\n`), text);
    assert.ok(text.includes(`fulcrum_request_duration_seconds_count{virtual_service="web"} ${N}\n`));
    assert.ok(text.includes(`fulcrum_real_server_requests_total{pool="web",real_server="${backendAddress}",status_class="2xx"} ${N}\n`));
    assert.ok(text.includes('fulcrum_workers 2\n'));
    for (const tell of ['customers', 'secret-path', 't0k3n', 'client-chosen-host', '198.51.100.123']) assert.ok(!text.includes(tell), `${tell} in the metrics`);
  });
});
