// The real load balancer (bin/fulcrum.js start, two workers, the admin listener on loopback with
// no users): N requests through it, then GET /metrics holds their sum over both workers, and
// GET /api/v1/stats the 1-second history of their rate.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { get, startMetricsNode, type MetricsNode } from './metrics-node.ts';

const N = 120;


/** Reads `path` until `ok` accepts the answer; the metrics follow the traffic by a stats round trip, the history by a sample a second. */
async function until(port: number, path: string, ok: (body: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const answer = await get(port, path);
    if (answer.status === 200 && ok(answer.body)) return answer.body;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last answer ${answer.status}: ${answer.body.slice(0, 2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('GET /metrics and /api/v1/stats of a running load balancer with 2 workers', { timeout: 90_000 }, () => {
  let node: MetricsNode | undefined;
  let vsPort = 0;
  let adminPort = 0;

  before(async () => {
    node = await startMetricsNode();
    ({ vsPort, adminPort } = node);
  });

  after(() => node?.stop());

  it('sums the requests of both workers, and charts their rate', async () => {
    assert.equal(node!.fulcrum.workers.length, 2);
    // The history charts what comes after its first sample of the service (its baseline).
    await until(adminPort, '/api/v1/stats?range=10m&virtualService=web', (b) => (JSON.parse(b) as { t: number[] }).t.length >= 1, 'a first sample');
    for (let i = 0; i < N; i += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, (_, j) => get(vsPort, `/item/${i + j}`)));
      assert.deepEqual(new Set(batch.map((a) => a.status)), new Set([200]));
    }
    const line = `fulcrum_requests_total{virtual_service="web",status_class="2xx"} ${N}`;
    const text = await until(adminPort, '/metrics', (body) => body.split('\n').includes(line), line);
    assert.ok(text.includes('fulcrum_workers 2\n'));
    assert.ok(text.includes(`fulcrum_request_duration_seconds_count{virtual_service="web"} ${N}\n`));
    assert.ok(!text.includes('/item/'), 'no path in the metrics');

    // Every request falls in one interval between two samples: the rates times their intervals add up to N.
    const charted = (b: string): number => {
      const stats = JSON.parse(b) as { t: number[]; requestsPerSecond: (number | null)[] };
      let sum = 0;
      for (let i = 1; i < stats.t.length; i++) sum += (stats.requestsPerSecond[i] ?? 0) * (stats.t[i]! - stats.t[i - 1]!);
      return Math.round(sum);
    };
    const body = await until(adminPort, '/api/v1/stats?range=10m&virtualService=web', (b) => charted(b) === N, `the ${N} requests in the 1-second history`);
    const stats = JSON.parse(body) as { range: string; step: number; series: string; t: number[]; requestsPerSecond: (number | null)[]; latencyP50Ms: (number | null)[] };
    assert.deepEqual([stats.range, stats.step, stats.series], ['10m', 1, 'virtual-service:web']);
    assert.equal(stats.t.length, stats.requestsPerSecond.length);
    assert.ok(stats.latencyP50Ms.some((v) => v !== null && v > 0));
  });
});
