// End to end in one process: the agent monitor polls real backends, its reports reach a
// WorkerRuntime (as the supervisor relays them to workers), and real requests follow the loads.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Client } from 'undici';
import { stringify } from 'yaml';
import { AgentMonitor } from '../../src/agent/monitor.ts';
import type { Config } from '../../src/config/schema.ts';
import { WorkerRuntime } from '../../src/worker/runtime.ts';
import { silentLogger, waitFor } from '../health/monitor-helpers.ts';
import { freePort } from '../helpers/processes.ts';
import { parseConfig, sleep } from '../l7/harness.ts';
import { agentCheckServer, type Backend, backend } from './servers.ts';

const cleanups: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Setup {
  port: number;
  monitor: AgentMonitor;
  runtime: WorkerRuntime;
  config: Config;
}

/** A runtime with one adaptive service over `servers`, and the monitor that feeds it. */
async function start(adaptive: Record<string, unknown>, servers: string[]): Promise<Setup> {
  const port = await freePort();
  const text = stringify({
    workers: 1,
    accessLog: 'off',
    virtualServices: [{ name: 'web', listen: `127.0.0.1:${port}`, protocol: 'http', scheduler: 'adaptive', adaptive, realServers: servers.map((address) => ({ address })) }],
  });
  const config = parseConfig(text);
  const runtime = new WorkerRuntime();
  await runtime.apply(config);
  cleanups.push(() => runtime.drain(0));
  const monitor = new AgentMonitor({ logger: silentLogger() });
  monitor.on('report', (r) => runtime.setAgent(r.pool, r.server, r.verdict));
  monitor.apply(config);
  cleanups.push(() => monitor.stop());
  return { port, monitor, runtime, config };
}

/** `n` sequential GETs over one keep-alive connection; the bodies (backend names) counted. */
async function send(port: number, n: number): Promise<Record<string, number>> {
  const client = new Client(`http://127.0.0.1:${port}`);
  const counts: Record<string, number> = {};
  try {
    for (let i = 0; i < n; i++) {
      const res = await client.request({ path: '/', method: 'GET' });
      const body = await res.body.text();
      const key = res.statusCode === 200 ? body : String(res.statusCode);
      counts[key] = (counts[key] ?? 0) + 1;
    }
  } finally {
    await client.close();
  }
  return counts;
}

async function backends(...specs: Array<[string, string, string?]>): Promise<Backend[]> {
  const list = await Promise.all(specs.map(([name, load, host]) => backend(name, load, host)));
  for (const b of list) cleanups.push(() => b.close());
  return list;
}

describe('adaptive scheduling end to end (in process)', () => {
  it('LoadMaster agents reporting 10 and 80: the idle server gets clearly more (about 90:20)', async () => {
    const [idle, busy] = await backends(['idle', '10\n'], ['busy', '80\n']);
    const { port, monitor } = await start({ type: 'http', path: '/load', interval: '200ms' }, [idle!.address, busy!.address]);
    await waitFor(() => monitor.verdicts().every((r) => r.verdict.load !== null), 3000, 'both loads');
    // Weights move half-way per interval (200 ms): after 2 s they are within 0.1 % of 90:20.
    await sleep(2000);
    const counts = await send(port, 330);
    assert.equal((counts['idle'] ?? 0) + (counts['busy'] ?? 0), 330, JSON.stringify(counts));
    // 90:20 is 270:60 of 330; a few early picks of the rotation aside.
    assert.ok(Math.abs(counts['idle']! - 270) <= 6, JSON.stringify(counts));
    assert.ok(counts['busy']! > 0, 'the busy server still gets a share');
  });

  it('a sudden load change shifts traffic gradually, then fully', async () => {
    const [a, b] = await backends(['a', '10\n'], ['b', '10\n']);
    const { port, monitor } = await start({ type: 'http', interval: '500ms' }, [a!.address, b!.address]);
    await waitFor(() => monitor.verdicts().every((r) => r.verdict.load === 10), 4000, 'both at 10');
    await sleep(500);
    b!.load = '90\n';
    await waitFor(() => monitor.verdicts()[1]!.verdict.load === 90, 4000, 'b at 90');
    const soon = await send(port, 100);
    // Just after the report b still has most of its old share (90 -> 10 takes seconds).
    assert.ok(soon['b']! > 30, `b right after its jump: ${JSON.stringify(soon)}`);
    await sleep(3000);
    const later = await send(port, 100);
    // 10:90 after six half-lives is 11:90; 16 would be far behind.
    assert.ok(later['b']! < 16, `b six intervals later: ${JSON.stringify(later)}`);
  });

  it('all below minLoad: plain weighted round robin on the configured weights', async () => {
    const [a, b] = await backends(['a', '2\n'], ['b', '4\n']);
    const port = await freePort();
    const config = parseConfig(
      stringify({
        workers: 1,
        accessLog: 'off',
        virtualServices: [
          { name: 'web', listen: `127.0.0.1:${port}`, protocol: 'http', scheduler: 'adaptive', adaptive: { interval: '200ms' }, realServers: [{ address: a!.address, weight: 3 }, { address: b!.address, weight: 1 }] },
        ],
      }),
    );
    const runtime = new WorkerRuntime();
    await runtime.apply(config);
    cleanups.push(() => runtime.drain(0));
    const monitor = new AgentMonitor({ logger: silentLogger() });
    monitor.on('report', (r) => runtime.setAgent(r.pool, r.server, r.verdict));
    monitor.apply(config);
    cleanups.push(() => monitor.stop());
    await waitFor(() => monitor.verdicts().every((r) => r.verdict.load !== null), 3000);
    await sleep(1500);
    assert.deepEqual(await send(port, 80), { a: 60, b: 20 });
  });

  it('101 takes a server out and 102 drains it; a load brings it back', async () => {
    const [a, b] = await backends(['a', '20\n'], ['b', '101\n']);
    const { port, monitor } = await start({ type: 'http', interval: '100ms' }, [a!.address, b!.address]);
    await waitFor(() => monitor.verdicts()[1]!.verdict.operational === 'down' && monitor.verdicts()[0]!.verdict.load === 20, 3000, 'b down');
    assert.deepEqual(await send(port, 20), { a: 20 });
    b!.load = '102\n';
    await waitFor(() => monitor.verdicts()[1]!.verdict.admin === 'drain', 3000, 'b drained');
    assert.deepEqual(await send(port, 20), { a: 20 });
    b!.load = '20\n';
    await waitFor(() => monitor.verdicts()[1]!.verdict.load === 20 && monitor.verdicts()[1]!.verdict.admin === 'ready', 3000, 'b back');
    await sleep(1500);
    const counts = await send(port, 40);
    assert.ok(counts['b']! >= 15, JSON.stringify(counts));
  });

  it('a reload keeps the weights and the agents\' say; a reload away from adaptive ends it', async () => {
    const [a, b, c] = await backends(['a', '10\n'], ['b', '80\n'], ['c', '101\n']);
    const { port, monitor, runtime, config } = await start({ type: 'http', interval: '200ms' }, [a!.address, b!.address, c!.address]);
    await waitFor(() => monitor.verdicts()[2]!.verdict.operational === 'down' && monitor.verdicts()[1]!.verdict.load === 80, 3000, 'verdicts');
    await sleep(2000);
    monitor.stop(); // no more reports: what follows is the runtime's memory
    await runtime.apply(config);
    const kept = await send(port, 110);
    assert.equal(kept['c'], undefined, `c stays down across the reload: ${JSON.stringify(kept)}`);
    assert.ok(Math.abs(kept['a']! - 90) <= 4, `weights kept, not reset to 1:1: ${JSON.stringify(kept)}`);
    const plain = structuredClone(config);
    plain.pools[0]!.scheduler = 'round-robin';
    delete plain.pools[0]!.adaptive;
    await runtime.apply(plain);
    assert.deepEqual(await send(port, 30), { a: 10, b: 10, c: 10 });
  });

  it('HAProxy agent-check: 100% and 25% share 4:1; drain takes one out, ready brings it back', async () => {
    // Two loopback addresses, so the two servers' agents share one agent port as on two hosts.
    const agentPort = await freePort();
    const [a, b] = await backends(['a', '', '127.0.0.2'], ['b', '', '127.0.0.3']);
    const agentA = await agentCheckServer('100%\n', true, '127.0.0.2', agentPort);
    const agentB = await agentCheckServer('25%\n', true, '127.0.0.3', agentPort);
    cleanups.push(() => agentA.close(), () => agentB.close());
    const { port, monitor } = await start({ type: 'agent', port: agentPort, interval: '200ms' }, [a!.address, b!.address]);
    await waitFor(() => monitor.verdicts().every((r) => r.verdict.weightPercent !== null), 3000, 'both weights');
    await sleep(2000);
    const counts = await send(port, 100);
    assert.ok(Math.abs(counts['a']! - 80) <= 3, JSON.stringify(counts));
    agentA.reply = 'drain\n';
    await waitFor(() => monitor.verdicts()[0]!.verdict.admin === 'drain', 3000, 'a drained');
    assert.deepEqual(await send(port, 20), { b: 20 });
    agentA.reply = 'ready\n';
    await waitFor(() => monitor.verdicts()[0]!.verdict.admin === 'ready', 3000, 'a ready');
    await sleep(1500);
    const back = await send(port, 50);
    assert.ok(back['a']! >= 35, JSON.stringify(back));
  });
});
