/**
 * npm run bench: Fulcrum against the proxies people compare it with, on one core each.
 *
 * Layout (the one in shared/BRIEF.md's performance table): the proxy under test pinned to core 0;
 * wrk (1 thread, 50 keep-alive connections) and the nginx real server (1 process) pinned to core 1.
 * Each (proxy, scenario) gets a warm-up run, then a measured run. A proxy that fails to start or to
 * answer correctly gets an error row; the run goes on.
 *
 * Environment:
 *   BENCH_DURATION=10           seconds per measured run
 *   BENCH_WARMUP=2              seconds of warm-up before each measured run
 *   BENCH_CONNECTIONS=50        wrk connections
 *   BENCH_IDLE_CONNECTIONS=5000 idle keep-alive connections for the memory measurement (0: skip)
 *   BENCH_ONLY=haproxy,nginx    proxies to run: direct, fulcrum, fulcrum+accesslog, haproxy, nginx, http-proxy
 *   BENCH_SCENARIOS=small       scenarios to run: small, realistic, 1MiB, post10k
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { killAllNow } from '../test/helpers/processes.ts';
import { peer, requirePeers } from '../interop/peers.ts';
import { runWrk, type WrkResult } from '../interop/wrk.ts';
import { measureIdleConnections, type IdleResult } from './idle.ts';
import { DIRECT, PROXIES, startBackendNginx, type ProxyDef, type RunningProxy } from './proxies.ts';
import { SCENARIOS, POST_BYTES, type Scenario } from './scenarios.ts';

interface Row {
  scenario: string;
  proxy: string;
  wrk?: WrkResult;
  error?: string;
}

interface MemoryRow {
  proxy: string;
  idle?: IdleResult;
  error?: string;
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${raw} is not a non-negative number`);
  return n;
}

function envList(name: string, valid: readonly string[]): string[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return [...valid];
  const picked = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = picked.filter((p) => !valid.includes(p));
  if (unknown.length > 0) throw new Error(`${name}: unknown ${unknown.join(', ')}; choose from ${valid.join(', ')}`);
  return valid.filter((v) => picked.includes(v));
}

/** A one-line summary for a table cell: the first line, plus the last line that names an error (e.g. from a child's stderr). */
function firstLine(err: unknown): string {
  const lines = (err instanceof Error ? err.message : String(err)).split('\n').map((l) => l.trim());
  const first = lines[0] ?? '';
  const cause = lines.slice(1).findLast((l) => /error|failed|cannot|refused|EADDRINUSE|ENOENT/i.test(l));
  return (cause !== undefined ? `${first}: ${cause}` : first).slice(0, 240);
}

/** One request outside wrk, to check the proxy answers this scenario correctly before measuring it. */
async function checkOnce(url: string, scenario: Scenario): Promise<void> {
  const res = await fetch(url + scenario.path, {
    method: scenario.method,
    ...(scenario.method === 'POST' ? { body: 'x'.repeat(POST_BYTES) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`check request: status ${res.status}`);
  if (body.byteLength !== scenario.expectBytes) throw new Error(`check request: body of ${body.byteLength} bytes, expected ${scenario.expectBytes}`);
}

function versionOf(cmd: string, args: string[]): string {
  // nginx -v prints to stderr, haproxy -v to stdout
  const { stdout, stderr } = spawnSync(cmd, args, { encoding: 'utf8' });
  const line = `${stdout ?? ''}${stderr ?? ''}`.split('\n')[0]?.trim() ?? '';
  return line.replace(/ - https?:\/\/\S+/, '') || '?';
}

async function cpuModel(): Promise<string> {
  const info = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  return /^model name\s*:\s*(.+)$/m.exec(info)?.[1] ?? 'unknown CPU';
}

const fmtRps = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtMs = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);

function renderTable(rows: Row[], memory: MemoryRow[], header: string[]): string {
  const out: string[] = [...header, ''];
  out.push('| scenario | proxy | requests/s | p99 | vs HAProxy | MiB/s | notes |');
  out.push('|---|---|---:|---:|---:|---:|---|');
  for (const row of rows) {
    if (row.wrk === undefined) {
      out.push(`| ${row.scenario} | ${row.proxy} | error | | | | ${(row.error ?? '').replaceAll('|', '\\|')} |`);
      continue;
    }
    const w = row.wrk;
    const ha = rows.find((r) => r.scenario === row.scenario && r.proxy === 'haproxy')?.wrk;
    const ratio = ha && ha.requestsPerSec > 0 ? `${(w.requestsPerSec / ha.requestsPerSec).toFixed(2)}×` : '–';
    const notes: string[] = [];
    const se = w.socketErrors;
    if (se.connect + se.read + se.write + se.timeout > 0) notes.push(`socket errors: connect ${se.connect}, read ${se.read}, write ${se.write}, timeout ${se.timeout}`);
    if (w.errorResponses > 0) notes.push(`${w.errorResponses} responses ≥ 400`);
    const mibs = w.bytesRead / w.durationS / (1024 * 1024);
    out.push(`| ${row.scenario} | ${row.proxy} | ${fmtRps(w.requestsPerSec)} | ${fmtMs(w.latencyMs.p99)} | ${ratio} | ${mibs.toFixed(0)} | ${notes.join('; ')} |`);
  }
  if (memory.length > 0) {
    out.push('', '### Memory per idle keep-alive client connection', '');
    out.push('Each connection makes one request (`GET /`), reads the response, then stays open and idle; RSS of the proxy process(es) from /proc before and after. Measured on a fresh instance after 1,000 warm-up connections were opened and closed.', '');
    out.push('| proxy | idle connections | RSS before | RSS after | KiB per connection | still open |');
    out.push('|---|---:|---:|---:|---:|---:|');
    for (const m of memory) {
      if (m.idle === undefined) {
        out.push(`| ${m.proxy} | error | | | | ${(m.error ?? '').replaceAll('|', '\\|')} |`);
        continue;
      }
      const i = m.idle;
      out.push(
        `| ${m.proxy} | ${i.connections} | ${(i.rssBeforeKiB / 1024).toFixed(1)} MiB | ${(i.rssAfterKiB / 1024).toFixed(1)} MiB | ${i.perConnectionKiB.toFixed(2)} | ${i.stillOpen} |`,
      );
    }
  }
  return out.join('\n') + '\n';
}

async function main(): Promise<void> {
  requirePeers('wrk', 'nginx', 'haproxy', 'taskset');
  const durationS = envNumber('BENCH_DURATION', 10);
  const warmupS = envNumber('BENCH_WARMUP', 2);
  const connections = envNumber('BENCH_CONNECTIONS', 50);
  const idleConnections = envNumber('BENCH_IDLE_CONNECTIONS', 5000);
  const proxyNames = envList('BENCH_ONLY', [DIRECT, ...PROXIES.map((p) => p.name)]);
  const scenarioNames = envList('BENCH_SCENARIOS', SCENARIOS.map((s) => s.name));
  const scenarios = SCENARIOS.filter((s) => scenarioNames.includes(s.name));

  const pinned = availableParallelism() >= 2;
  const proxyCpus = pinned ? '0' : undefined;
  const loadCpus = pinned ? '1' : undefined;
  if (!pinned) console.error('bench: fewer than 2 CPUs, running unpinned; numbers are not comparable with the reference table');

  const dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-bench-'));
  const rows: Row[] = [];
  const memory: MemoryRow[] = [];
  const log = (msg: string): void => console.error(`bench: ${msg}`);
  const backend = await startBackendNginx(dir, loadCpus);
  log(`backend nginx on ${backend.address}${pinned ? ' (core 1)' : ''}`);

  const scripts = new Map<string, string>();
  for (const s of scenarios) if (s.script) scripts.set(s.name, await s.script(dir));

  try {
    for (const name of proxyNames) {
      const def: ProxyDef | undefined = PROXIES.find((p) => p.name === name);
      let running: RunningProxy;
      try {
        running =
          def === undefined
            ? { url: backend.url, memoryPids: [], stop: async () => {} }
            : await def.start({ backend: backend.address, cpus: proxyCpus, dir });
      } catch (err) {
        log(`${name}: failed to start: ${firstLine(err)}`);
        for (const s of scenarios) rows.push({ scenario: s.name, proxy: name, error: `failed to start: ${firstLine(err)}` });
        continue;
      }
      try {
        log(`${name}: listening at ${running.url}`);
        for (const s of scenarios) {
          try {
            await checkOnce(running.url, s);
            const wrkOptions = {
              url: running.url + s.path,
              threads: 1,
              connections,
              headers: s.headers,
              ...(loadCpus !== undefined ? { cpus: loadCpus } : {}),
              ...(scripts.has(s.name) ? { script: scripts.get(s.name) } : {}),
            };
            if (warmupS > 0) await runWrk({ ...wrkOptions, durationS: warmupS });
            const wrk = await runWrk({ ...wrkOptions, durationS });
            if (wrk.requests === 0) throw new Error(`wrk completed no request:\n${wrk.raw}`);
            rows.push({ scenario: s.name, proxy: name, wrk });
            log(`${name} ${s.name}: ${fmtRps(wrk.requestsPerSec)} req/s, p99 ${fmtMs(wrk.latencyMs.p99)}`);
          } catch (err) {
            log(`${name} ${s.name}: ${firstLine(err)}`);
            rows.push({ scenario: s.name, proxy: name, error: firstLine(err) });
          }
        }
      } finally {
        await running.stop().catch((err: unknown) => log(`${name}: stop failed: ${firstLine(err)}`));
      }
    }
    // Memory is measured on a fresh instance of each proxy: after the throughput runs, heaps and
    // buffer pools have grown to absorb thousands of connections without a change in RSS.
    for (const def of PROXIES.filter((p) => proxyNames.includes(p.name) && idleConnections > 0)) {
      let running: RunningProxy | undefined;
      try {
        running = await def.start({ backend: backend.address, cpus: proxyCpus, dir });
        const idle = await measureIdleConnections(Number(new URL(running.url).port), running.memoryPids, idleConnections);
        memory.push({ proxy: def.name, idle });
        log(`${def.name}: ${idle.perConnectionKiB.toFixed(2)} KiB per idle connection`);
      } catch (err) {
        log(`${def.name}: memory: ${firstLine(err)}`);
        memory.push({ proxy: def.name, error: firstLine(err) });
      } finally {
        await running?.stop().catch((err: unknown) => log(`${def.name}: stop failed: ${firstLine(err)}`));
      }
    }
  } finally {
    await backend.stop();
    await rm(dir, { recursive: true, force: true });
  }

  // Rows grouped by scenario, proxies in the order they ran.
  rows.sort((a, b) => scenarioNames.indexOf(a.scenario) - scenarioNames.indexOf(b.scenario));
  const header = [
    `## Fulcrum bench, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `${await cpuModel()}, ${availableParallelism()} CPUs. ${pinned ? 'Proxy pinned to core 0; wrk and the nginx real server pinned to core 1.' : 'Unpinned.'}`,
    `wrk: 1 thread, ${connections} connections, ${durationS} s per run after ${warmupS} s of warm-up. ` +
      `Node ${process.version}; ${versionOf(peer('nginx'), ['-v'])}; ${versionOf(peer('haproxy'), ['-v'])}.`,
    '',
    ...scenarios.map((s) => `- \`${s.name}\`: ${s.description}`),
  ];
  const table = renderTable(rows, memory, header);
  process.stdout.write(table);
  const resultsDir = path.join(import.meta.dirname, 'results');
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, 'latest.md'), table);
  log(`written to ${path.relative(process.cwd(), path.join(resultsDir, 'latest.md'))}`);
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  killAllNow();
  process.exitCode = 1;
});
