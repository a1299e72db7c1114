import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.ts';
import type { Config, HealthCheckConfig } from '../../src/config/schema.ts';
import { HealthMonitor } from '../../src/health/monitor.ts';
import type { HealthChange, ProbeResult } from '../../src/health/types.ts';
import type { Logger } from 'pino';
import type { HealthLogger } from '../../src/health/types.ts';
import { recordingLogger, waitFor } from './monitor-helpers.ts';

// The supervisor's pino logger is a HealthLogger as it is.
const _pinoFits = (logger: Logger): HealthLogger => logger;
void _pinoFits;

function config(healthCheck: string, servers: string[], extra: string[] = []): Config {
  const text = [
    'virtualServices:',
    '  - name: ntrip-web',
    '    listen: 127.0.0.1:8080',
    '    protocol: http',
    ...(healthCheck === '' ? [] : [`    healthCheck: ${healthCheck}`]),
    '    realServers:',
    ...servers.map((s) => `      - ${s}`),
    ...extra,
  ].join('\n');
  const result = loadConfigText(text, 'test.yaml');
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.problems));
  return result.config;
}

/** A probe whose answers per checked port the test sets; it counts calls per port. */
function scriptedProbe() {
  const answers = new Map<number, boolean>();
  const calls = new Map<number, number>();
  const probe = async (address: { port: number }, check: HealthCheckConfig): Promise<ProbeResult> => {
    const port = check.port ?? address.port;
    calls.set(port, (calls.get(port) ?? 0) + 1);
    const ok = answers.get(port) ?? true;
    return ok
      ? { ok: true, latencyMs: 2, reason: 'HTTP 200 in 2 ms' }
      : { ok: false, latencyMs: 1, reason: `connection refused on 127.0.0.1:${port}` };
  };
  return { probe, answers, calls, count: (port: number) => calls.get(port) ?? 0 };
}

const FAST = '{ interval: 40ms, timeout: 20ms, fall: 2, rise: 2 }';

describe('health monitor', () => {
  it('takes a failing server down after fall checks, logs and emits why, and brings it back after rise', async () => {
    const script = scriptedProbe();
    const logger = recordingLogger();
    const monitor = new HealthMonitor({ logger, probe: script.probe });
    const changes: HealthChange[] = [];
    monitor.on('change', (change) => changes.push(change));
    monitor.apply(config(FAST, ['address: 127.0.0.1:9001', 'address: 127.0.0.1:9002']));
    try {
      await waitFor(() => script.count(9001) >= 1, 1000, 'a first check');
      script.answers.set(9001, false);
      await waitFor(() => changes.length === 1, 1000, 'down');
      assert.deepEqual({ ...changes[0], lastCheck: undefined }, {
        pool: 'ntrip-web',
        server: '127.0.0.1:9001',
        up: false,
        reason: 'connection refused on 127.0.0.1:9001',
        lastCheck: undefined,
      });
      assert.equal(changes[0]?.lastCheck?.ok, false);
      assert.equal(changes[0]?.lastCheck?.latencyMs, 1);
      const down = logger.entries.find((e) => e.level === 'warn');
      assert.equal(down?.message, 'real server 127.0.0.1:9001 in "ntrip-web" is DOWN: connection refused on 127.0.0.1:9001');
      assert.deepEqual(down?.fields, {
        pool: 'ntrip-web',
        server: '127.0.0.1:9001',
        up: false,
        reason: 'connection refused on 127.0.0.1:9001',
        check: 'http "GET / HTTP/1.1" to 127.0.0.1:9001, Host: 127.0.0.1:9001',
      });

      const status = monitor.status();
      const entry = status['ntrip-web']?.['127.0.0.1:9001'];
      assert.equal(entry?.up, false);
      assert.equal(entry?.reason, 'connection refused on 127.0.0.1:9001');
      assert.equal(entry?.lastCheck?.ok, false);
      assert.ok((entry?.checks.failed ?? 0) >= 2);
      assert.ok(!Number.isNaN(Date.parse(entry?.since ?? '')));
      assert.equal(status['ntrip-web']?.['127.0.0.1:9002']?.up, true);

      script.answers.set(9001, true);
      await waitFor(() => changes.length === 2, 1000, 'up again');
      assert.equal(changes[1]?.up, true);
      assert.equal(logger.entries.find((e) => e.level === 'info')?.message, 'real server 127.0.0.1:9001 in "ntrip-web" is UP again: HTTP 200 in 2 ms');
    } finally {
      monitor.stop();
    }
  });

  it('status shows a pending change while fall is not reached', async () => {
    const script = scriptedProbe();
    const monitor = new HealthMonitor({ logger: recordingLogger(), probe: script.probe });
    monitor.apply(config('{ interval: 40ms, timeout: 20ms, fall: 1000 }', ['address: 127.0.0.1:9001']));
    try {
      await waitFor(() => script.count(9001) >= 1, 1000);
      script.answers.set(9001, false);
      const before = script.count(9001);
      await waitFor(() => script.count(9001) >= before + 2, 1000);
      const entry = monitor.status()['ntrip-web']?.['127.0.0.1:9001'];
      assert.equal(entry?.up, true);
      assert.match(entry?.reason ?? '', /^connection refused on 127\.0\.0\.1:9001 \(failure [0-9]+ of 1000 before down\)$/);
    } finally {
      monitor.stop();
    }
  });

  it('startAs down: no traffic until the first check passes, then "UP" (not "again")', async () => {
    const script = scriptedProbe();
    const logger = recordingLogger();
    const monitor = new HealthMonitor({ logger, probe: script.probe });
    monitor.apply(config('{ interval: 40ms, timeout: 20ms, startAs: down }', ['address: 127.0.0.1:9001']));
    try {
      assert.equal(monitor.status()['ntrip-web']?.['127.0.0.1:9001']?.up, false);
      assert.equal(monitor.status()['ntrip-web']?.['127.0.0.1:9001']?.reason, 'not checked yet; down until a check passes (startAs: down)');
      await waitFor(() => monitor.status()['ntrip-web']?.['127.0.0.1:9001']?.up === true, 1000);
      assert.equal(logger.entries[0]?.message, 'real server 127.0.0.1:9001 in "ntrip-web" is UP: HTTP 200 in 2 ms');
    } finally {
      monitor.stop();
    }
  });

  it('type none: every server is up, "not checked", and never probed', async () => {
    const script = scriptedProbe();
    const monitor = new HealthMonitor({ logger: recordingLogger(), probe: script.probe });
    monitor.apply(config('', ['address: 127.0.0.1:9001', 'address: "[::1]:9002"']));
    try {
      await new Promise((resolve) => setTimeout(resolve, 60));
      assert.deepEqual(Object.keys(monitor.status()['ntrip-web'] ?? {}), ['127.0.0.1:9001', '[::1]:9002']);
      const entry = monitor.status()['ntrip-web']?.['[::1]:9002'];
      assert.equal(entry?.up, true);
      assert.equal(entry?.check, 'not checked (healthCheck type none)');
      assert.equal(entry?.lastCheck, null);
      assert.equal(script.calls.size, 0);
    } finally {
      monitor.stop();
    }
  });

  it('a reload keeps the state and counters of unchanged checks, restarts changed ones, drops removed ones', async () => {
    const script = scriptedProbe();
    const monitor = new HealthMonitor({ logger: recordingLogger(), probe: script.probe });
    const changes: HealthChange[] = [];
    monitor.on('change', (change) => changes.push(change));
    const servers = ['address: 127.0.0.1:9001', 'address: 127.0.0.1:9002', 'address: 127.0.0.1:9003'];
    monitor.apply(config(FAST, servers));
    try {
      script.answers.set(9001, false);
      script.answers.set(9002, false);
      await waitFor(() => changes.length === 2, 1000, 'two down');
      const before = monitor.status()['ntrip-web'];
      const failedBefore = before?.['127.0.0.1:9001']?.checks.failed ?? 0;

      // 9001 unchanged; 9002 gets its own check port (a changed spec); 9003 leaves.
      monitor.apply(config(FAST, ['address: 127.0.0.1:9001', 'address: 127.0.0.1:9002\n        healthCheck: { port: 9102 }']));
      const after = monitor.status()['ntrip-web'];
      assert.deepEqual(Object.keys(after ?? {}), ['127.0.0.1:9001', '127.0.0.1:9002']);
      assert.equal(after?.['127.0.0.1:9001']?.up, false);
      assert.equal(after?.['127.0.0.1:9001']?.since, before?.['127.0.0.1:9001']?.since);
      assert.ok((after?.['127.0.0.1:9001']?.checks.failed ?? 0) >= failedBefore);
      // The changed check starts afresh (startAs up), and says so to whoever cached "down".
      assert.equal(after?.['127.0.0.1:9002']?.up, true);
      assert.deepEqual(after?.['127.0.0.1:9002']?.checks, { passed: 0, failed: 0 });
      assert.equal(changes.length, 3);
      assert.equal(changes[2]?.server, '127.0.0.1:9002');
      assert.equal(changes[2]?.up, true);
      assert.equal(changes[2]?.lastCheck, null);
      assert.match(changes[2]?.reason ?? '', /^health check changed; /);

      // The removed server is no longer checked.
      const removedCalls = script.count(9003);
      await new Promise((resolve) => setTimeout(resolve, 120));
      assert.equal(script.count(9003), removedCalls);
      // The changed one is checked on its new port.
      assert.ok(script.count(9102) >= 1);
    } finally {
      monitor.stop();
    }
  });

  it('a server that comes back into the config after being reported down is reported up again', async () => {
    const script = scriptedProbe();
    const monitor = new HealthMonitor({ logger: recordingLogger(), probe: script.probe });
    const changes: HealthChange[] = [];
    monitor.on('change', (change) => changes.push(change));
    monitor.apply(config(FAST, ['address: 127.0.0.1:9001', 'address: 127.0.0.1:9002']));
    try {
      script.answers.set(9002, false);
      await waitFor(() => changes.length === 1, 1000);
      monitor.apply(config(FAST, ['address: 127.0.0.1:9001']));
      script.answers.set(9002, true);
      monitor.apply(config(FAST, ['address: 127.0.0.1:9001', 'address: 127.0.0.1:9002']));
      assert.equal(changes.length, 2);
      assert.deepEqual([changes[1]?.server, changes[1]?.up], ['127.0.0.1:9002', true]);
      assert.match(changes[1]?.reason ?? '', /^back in the config; /);
    } finally {
      monitor.stop();
    }
  });

  it('stop() ends every check: nothing runs afterwards and a check in flight is aborted', async () => {
    let inFlight: AbortSignal | undefined;
    let calls = 0;
    const monitor = new HealthMonitor({
      logger: recordingLogger(),
      probe: (_address, _check, signal) => {
        calls++;
        inFlight = signal;
        return new Promise((resolve) => signal?.addEventListener('abort', () => resolve({ ok: false, latencyMs: 0, reason: 'check stopped' })));
      },
    });
    monitor.apply(config('{ interval: 40ms, timeout: 30ms }', ['address: 127.0.0.1:9001']));
    await waitFor(() => calls === 1, 1000);
    monitor.stop();
    assert.equal(inFlight?.aborted, true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(calls, 1);
    assert.deepEqual(monitor.status(), {});
  });

  it('a listener that throws is logged, not fatal', async () => {
    const script = scriptedProbe();
    const logger = recordingLogger();
    const monitor = new HealthMonitor({ logger, probe: script.probe });
    monitor.on('change', () => {
      throw new Error('listener bug');
    });
    script.answers.set(9001, false);
    monitor.apply(config(FAST, ['address: 127.0.0.1:9001']));
    try {
      await waitFor(() => logger.entries.some((e) => e.level === 'error'), 1000);
      const before = script.count(9001);
      await waitFor(() => script.count(9001) > before, 1000, 'checks continue');
    } finally {
      monitor.stop();
    }
  });
});
