import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.ts';
import { HealthMonitor } from '../../src/health/monitor.ts';
import { firstDelay, nextDelay } from '../../src/health/schedule.ts';
import { silentLogger, waitFor } from './monitor-helpers.ts';

describe('check schedule (jitter)', () => {
  it('first check anywhere within the interval; later ones every interval +-10 %, less the check time', () => {
    assert.equal(firstDelay(5000, () => 0), 0);
    assert.equal(firstDelay(5000, () => 0.999), 4995);
    assert.equal(nextDelay(5000, 0, () => 0), 4500);
    assert.equal(nextDelay(5000, 0, () => 0.5), 5000);
    assert.equal(nextDelay(5000, 0, () => 1), 5500);
    assert.equal(nextDelay(5000, 300, () => 0.5), 4700);
    assert.equal(nextDelay(1000, 5000, () => 0.5), 0);
  });

  it('spreads 1000 servers evenly over the interval, never all at once', () => {
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 1000; i++) {
      const delay = firstDelay(5000, Math.random);
      assert.ok(delay >= 0 && delay < 5000);
      buckets[Math.floor(delay / 500)]! += 1;
    }
    // Uniform: about 100 per 500 ms slot; a slot above 160 or below 50 would be far outside chance.
    for (const count of buckets) assert.ok(count > 50 && count < 160, `slots ${buckets.join(',')}`);
  });

  it('a running monitor starts 30 servers spread over the interval, and keeps them apart', async () => {
    const servers = Array.from({ length: 30 }, (_, i) => `      - address: 127.0.0.1:${10_001 + i}`);
    const text = ['virtualServices:', '  - name: web', '    listen: 127.0.0.1:8080', '    protocol: http', '    healthCheck: { interval: 600ms, timeout: 100ms }', '    realServers:', ...servers].join('\n');
    const result = loadConfigText(text, 'x.yaml');
    assert.ok(result.ok);
    const starts: { port: number; at: number }[] = [];
    const started = performance.now();
    const monitor = new HealthMonitor({
      logger: silentLogger(),
      probe: async (address) => {
        starts.push({ port: address.port, at: performance.now() - started });
        return { ok: true, latencyMs: 1, reason: 'fine' };
      },
    });
    monitor.apply(result.config);
    try {
      await waitFor(() => new Set(starts.filter((s) => s.at < 600).map((s) => s.port)).size === 30 || starts.length >= 60, 3000);
      const first = new Map<number, number>();
      for (const { port, at } of starts) if (!first.has(port)) first.set(port, at);
      const times = [...first.values()].sort((a, b) => a - b);
      assert.equal(times.length, 30);
      assert.ok((times.at(-1) ?? 0) < 650, `last first check at ${times.at(-1)} ms`);
      // Spread, not a burst: the first checks span most of the interval.
      assert.ok((times.at(-1) ?? 0) - (times[0] ?? 0) > 300, `first checks within ${times[0]}..${times.at(-1)} ms`);
      const inAnyFifty = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 50).length));
      assert.ok(inAnyFifty <= 12, `${inAnyFifty} first checks within 50 ms`);
    } finally {
      monitor.stop();
    }
  });
});
