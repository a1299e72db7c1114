// The supervisor's agent poller: jittered schedule, replies merged into verdicts, garbage kept
// out, reports only on change, status for the admin API, reloads.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AgentMonitor } from '../../src/agent/monitor.ts';
import type { AgentReport, PollResult } from '../../src/agent/types.ts';
import type { HostPort } from '../../src/config/address.ts';
import { loadConfigText } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { recordingLogger, silentLogger, waitFor } from '../health/monitor-helpers.ts';
import { agentCheckServer, backend } from './servers.ts';

function config(adaptive: string, servers: string[], extra: string[] = []): Config {
  const text = [
    'virtualServices:',
    '  - name: web',
    '    listen: 127.0.0.1:8080',
    '    protocol: http',
    '    scheduler: adaptive',
    `    adaptive: ${adaptive}`,
    '    realServers:',
    ...servers.map((s) => `      - address: ${s}`),
    ...extra,
  ].join('\n');
  const result = loadConfigText(text, 'test.yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups) await c();
});

/** A probe that answers each poll of a server (by port) from its script, repeating the last entry; notes every poll. */
function scripted(scripts: Map<number, PollResult[]>, polls: Array<{ port: number; at: number }>) {
  const started = performance.now();
  return async (address: HostPort): Promise<PollResult> => {
    polls.push({ port: address.port, at: performance.now() - started });
    const script = scripts.get(address.port) ?? [];
    return (script.length > 1 ? script.shift() : script[0]) ?? { ok: false, latencyMs: 0, reason: 'no script' };
  };
}
const reply = (text: string): PollResult => ({ ok: true, latencyMs: 1, reply: text });

describe('agent polling schedule (jitter)', () => {
  it('spreads 30 servers over the interval and polls each every interval +-10 %', async () => {
    const servers = Array.from({ length: 30 }, (_, i) => `127.0.0.1:${10_001 + i}`);
    const polls: Array<{ port: number; at: number }> = [];
    const monitor = new AgentMonitor({ logger: silentLogger(), probe: scripted(new Map(), polls) });
    cleanups.push(() => monitor.stop());
    monitor.apply(config('{ type: http, interval: 400ms }', servers));
    await waitFor(() => new Set(polls.map((p) => p.port)).size === 30 && polls.length >= 90, 5000, 'three rounds of polls');
    monitor.stop();
    const first = new Map<number, number>();
    for (const { port, at } of polls) if (!first.has(port)) first.set(port, at);
    const times = [...first.values()].sort((a, b) => a - b);
    assert.ok(times.at(-1)! < 450, `last first poll at ${times.at(-1)} ms`);
    assert.ok(times.at(-1)! - times[0]! > 200, `first polls within ${times[0]}..${times.at(-1)} ms: a burst`);
    const inAnyFifty = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 50).length));
    assert.ok(inAnyFifty <= 12, `${inAnyFifty} first polls within 50 ms`);
    // Then each server on its own beat: 360..440 ms apart (timer slack allowed above).
    for (const port of first.keys()) {
      const mine = polls.filter((p) => p.port === port).map((p) => p.at);
      for (let i = 1; i < mine.length; i++) {
        const gap = mine[i]! - mine[i - 1]!;
        assert.ok(gap >= 355 && gap <= 520, `server ${port}: gap ${gap.toFixed(1)} ms`);
      }
    }
  });
});

describe('agent verdicts', () => {
  it('garbage and failed polls keep the last load, say why, and log once per streak', async () => {
    const script: PollResult[] = [reply('40\n'), reply('lots\n'), reply(''), { ok: false, latencyMs: 3, reason: 'connection refused on 127.0.0.1:9001' }, reply('40\n'), reply('60\n')];
    const log = recordingLogger();
    // Each poll first notes what the previous one left in the status: one snapshot per poll, however late the timers run.
    const seen: Array<{ load: number | null; ok: boolean | undefined; reason: string }> = [];
    const monitor: AgentMonitor = new AgentMonitor({
      logger: log,
      probe: async () => {
        const s = monitor.status()['web']!['127.0.0.1:9001']!;
        if (s.lastPoll !== null) seen.push({ load: s.load, ok: s.lastPoll.ok, reason: s.reason });
        return script.shift() ?? reply('60\n');
      },
    });
    cleanups.push(() => monitor.stop());
    const reports: AgentReport[] = [];
    monitor.on('report', (r) => reports.push(r));
    monitor.apply(config('{ type: http, interval: 60ms }', ['127.0.0.1:9001']));
    await waitFor(() => seen.length >= 6, 3000, 'six polls');
    monitor.stop();
    assert.deepEqual(
      seen.slice(0, 6).map((s) => [s.load, s.ok]),
      [
        [40, true],
        [40, false],
        [40, false],
        [40, false],
        [40, true],
        [60, true],
      ],
    );
    assert.match(seen[1]!.reason, /^"lots" is not an integer; expected a load 0-100 .*; keeping the last load, 40$/);
    assert.match(seen[2]!.reason, /^the body is empty; .*; keeping the last load, 40$/);
    assert.match(seen[3]!.reason, /^connection refused on 127\.0\.0\.1:9001; keeping the last load, 40$/);
    assert.equal(seen[4]!.reason, 'load 40');
    // Reported when the verdict changed only: 40, then 60.
    assert.deepEqual(reports.map((r) => r.verdict.load), [40, 60]);
    const warnings = log.entries.filter((e) => e.level === 'warn');
    assert.equal(warnings.length, 1, JSON.stringify(log.entries));
    assert.match(warnings[0]!.message, /^the agent of real server 127\.0\.0\.1:9001 in "web" gave no usable answer: "lots" is not an integer/);
    assert.equal(log.entries.filter((e) => /answers again: load 40/.test(e.message)).length, 1);
  });

  it('a server whose agent never answered keeps its configured weight, and the status says so', async () => {
    const monitor = new AgentMonitor({ logger: silentLogger(), probe: async () => ({ ok: false, latencyMs: 0, reason: 'connection refused on 127.0.0.1:9001' }) });
    cleanups.push(() => monitor.stop());
    const reports: AgentReport[] = [];
    monitor.on('report', (r) => reports.push(r));
    monitor.apply(config('{ type: http, interval: 50ms }', ['127.0.0.1:9001']));
    const status = () => monitor.status()['web']!['127.0.0.1:9001']!;
    await waitFor(() => status().polls.failed >= 2, 2000);
    assert.equal(status().reason, 'connection refused on 127.0.0.1:9001; no usable reply yet, so the configured weight applies');
    assert.deepEqual(monitor.verdicts()[0]!.verdict, { load: null, weightPercent: null, operational: 'up', admin: 'ready' });
    assert.equal(reports.length, 0);
    monitor.stop();
  });

  it('status: what is polled, the verdict, the reason, the last reply; plain JSON', async () => {
    const b = await backend('b', '35\n');
    cleanups.push(() => b.close());
    const monitor = new AgentMonitor({ logger: silentLogger() });
    cleanups.push(() => monitor.stop());
    monitor.apply(config(`{ type: http, path: /load, port: ${b.port}, interval: 100ms }`, ['127.0.0.1:9001']));
    await waitFor(() => monitor.status()['web']!['127.0.0.1:9001']!.load === 35, 3000, 'load 35');
    const status = monitor.status()['web']!['127.0.0.1:9001']!;
    assert.deepEqual(JSON.parse(JSON.stringify(status)), status);
    assert.equal(status.agent, `GET /load HTTP/1.1 to 127.0.0.1:${b.port}, Host: 127.0.0.1:9001`);
    assert.equal(status.operational, 'up');
    assert.equal(status.admin, 'ready');
    assert.equal(status.weightPercent, null);
    assert.equal(status.reason, 'load 35');
    assert.equal(status.lastPoll?.reply, '35');
    assert.equal(status.lastPoll?.ok, true);
    assert.ok(status.polls.ok >= 1);
    assert.equal(b.loadPolls[0]?.host, '127.0.0.1:9001');
    monitor.stop();
  });

  it('LoadMaster 101 and 102 over real sockets: DOWN and DRAINING, logged with the reason; a load brings it back', async () => {
    const b = await backend('b', '101\n');
    cleanups.push(() => b.close());
    const log = recordingLogger();
    const monitor = new AgentMonitor({ logger: log });
    cleanups.push(() => monitor.stop());
    const reports: AgentReport[] = [];
    monitor.on('report', (r) => reports.push(r));
    monitor.apply(config('{ type: http, interval: 80ms }', [b.address]));
    await waitFor(() => reports.length === 1, 3000, 'down');
    assert.equal(reports[0]!.verdict.operational, 'down');
    assert.ok(log.entries.some((e) => e.level === 'warn' && e.message === `real server ${b.address} in "web" is DOWN by its agent: the agent reports 101: the server is down`));
    b.load = '102\n';
    await waitFor(() => reports.length === 2, 3000, 'drain');
    assert.deepEqual(reports[1]!.verdict, { load: null, weightPercent: null, operational: 'up', admin: 'drain' });
    assert.ok(log.entries.some((e) => e.level === 'warn' && /is DRAINING by its agent \(no new clients\): the agent reports 102/.test(e.message)));
    b.load = '20\n';
    await waitFor(() => reports.length === 3, 3000, 'back');
    assert.deepEqual(reports[2]!.verdict, { load: 20, weightPercent: null, operational: 'up', admin: 'ready' });
    assert.ok(log.entries.some((e) => e.level === 'info' && /is UP and READY by its agent: load 20/.test(e.message)));
  });

  it('HAProxy agent-check over real sockets: weight, drain, ready, down, up', async () => {
    const agent = await agentCheckServer('75%\n');
    cleanups.push(() => agent.close());
    const monitor = new AgentMonitor({ logger: silentLogger() });
    cleanups.push(() => monitor.stop());
    const reports: AgentReport[] = [];
    monitor.on('report', (r) => reports.push(r));
    monitor.apply(config(`{ type: agent, port: ${agent.port}, interval: 60ms }`, ['127.0.0.1:9001']));
    const next = async (text: string) => {
      const count = reports.length;
      agent.reply = text;
      await waitFor(() => reports.length > count, 3000, text);
      return reports.at(-1)!.verdict;
    };
    await waitFor(() => reports.length === 1, 3000, '75%');
    assert.deepEqual(reports[0]!.verdict, { load: null, weightPercent: 75, operational: 'up', admin: 'ready' });
    assert.deepEqual(await next('drain\n'), { load: null, weightPercent: 75, operational: 'up', admin: 'drain' });
    assert.deepEqual(await next('ready 20%\n'), { load: null, weightPercent: 20, operational: 'up', admin: 'ready' });
    assert.deepEqual(await next('down#maintenance window\n'), { load: null, weightPercent: 20, operational: 'down', admin: 'ready' });
    assert.match(monitor.status()['web']!['127.0.0.1:9001']!.reason, /agent says down \(maintenance window\)/);
    assert.deepEqual(await next('up\n'), { load: null, weightPercent: 20, operational: 'up', admin: 'ready' });
  });
});

describe('agent monitor and reloads', () => {
  it('keeps the verdict of an unchanged agent, restarts a changed one, stops removed ones', async () => {
    const scripts = new Map<number, PollResult[]>([
      [9001, [reply('30')]],
      [9002, [reply('70')]],
    ]);
    const monitor = new AgentMonitor({ logger: silentLogger(), probe: scripted(scripts, []) });
    cleanups.push(() => monitor.stop());
    const servers = ['127.0.0.1:9001', '127.0.0.1:9002'];
    monitor.apply(config('{ type: http, interval: 50ms }', servers));
    await waitFor(() => monitor.verdicts().every((r) => r.verdict.load !== null), 2000, 'both loads');
    monitor.apply(config('{ type: http, interval: 50ms }', servers));
    assert.deepEqual(monitor.verdicts().map((r) => r.verdict.load), [30, 70], 'unchanged: kept');
    monitor.apply(config('{ type: http, interval: 60ms }', ['127.0.0.1:9002']));
    assert.deepEqual(monitor.verdicts(), [{ pool: 'web', server: '127.0.0.1:9002', verdict: { load: null, weightPercent: null, operational: 'up', admin: 'ready' } }], 'changed: afresh; removed: gone');
    assert.match(monitor.status()['web']!['127.0.0.1:9002']!.reason, /not polled yet/);
    monitor.stop();
  });

  it('polls only virtual services with scheduler adaptive', () => {
    const text = ['virtualServices:', '  - name: plain', '    listen: 127.0.0.1:8080', '    protocol: http', '    realServers: [{ address: 127.0.0.1:9001 }]'].join('\n');
    const result = loadConfigText(text, 'x.yaml');
    assert.ok(result.ok);
    let polled = 0;
    const monitor = new AgentMonitor({ logger: silentLogger(), probe: async () => ((polled++), reply('1')) });
    monitor.apply(result.config);
    assert.deepEqual(monitor.status(), {});
    monitor.stop();
    assert.equal(polled, 0);
  });
});
