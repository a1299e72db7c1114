/**
 * The Layer 4 rows of `npm run bench` (issue 4, "Performance"): TCP proxies relaying bytes they
 * never read, in the same layout as the HTTP rows (proxy on core 0, load and real server on core 1).
 *
 * - tcp-small: wrk (1 thread, 50 keep-alive connections) → proxy → nginx, 100-byte responses.
 * - tcp-bulk: iperf3 client → proxy → iperf3 server, one stream, Gbit/s as the server counted it.
 * - tcp-connect: wrk with `Connection: close`, so that each request is a new TCP connection to the
 *   proxy and a new one from the proxy to nginx: connection set-up and tear-down per second.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../test/helpers/processes.ts';
import { runIperf3Client, startIperf3Server, type Iperf3Result, type Iperf3Server } from '../interop/iperf3.ts';
import type { Nginx } from '../interop/nginx.ts';
import { runWrk, type WrkOptions, type WrkResult } from '../interop/wrk.ts';
import { cell, firstLine, fmtMs, fmtRatio, fmtRps } from './format.ts';
import { L4_PROXIES } from './l4-proxies.ts';
import { DIRECT, type ProxyDef, type RunningProxy } from './proxies.ts';
import { BODY_100 } from './scenarios.ts';

export type L4ScenarioName = 'tcp-small' | 'tcp-bulk' | 'tcp-connect';
type Backend = 'nginx' | 'iperf3';

export interface L4Scenario {
  name: L4ScenarioName;
  description: string;
  backend: Backend;
  unit: 'req/s' | 'Gbit/s' | 'conn/s';
  /** Issue 4's target for Fulcrum, as a fraction of HAProxy in the same run. */
  target?: number;
  /** What the product brief measured on its machine, for the ratios (not the absolute numbers). */
  brief: string;
}

export const L4_SCENARIOS: readonly L4Scenario[] = [
  {
    name: 'tcp-small',
    description: 'HTTP keep-alive GETs (100-byte responses) relayed as bytes by a TCP proxy; wrk 1 thread, 50 connections',
    backend: 'nginx',
    unit: 'req/s',
    target: 0.75,
    brief: 'HAProxy ~101,000 req/s, node-pipe ~80,000 (0.79×)',
  },
  {
    name: 'tcp-bulk',
    description: 'iperf3, one TCP stream client → server through the proxy; what the server received',
    backend: 'iperf3',
    unit: 'Gbit/s',
    target: 0.6,
    brief: 'direct 20 Gbit/s, HAProxy 15.1, node-pipe 7.9 (0.52×)',
  },
  {
    name: 'tcp-connect',
    description: 'wrk with `Connection: close`: every request a new TCP connection to the proxy and from the proxy to nginx',
    backend: 'nginx',
    unit: 'conn/s',
    brief: 'not measured',
  },
];

export const L4_PROXY_NAMES: readonly string[] = [DIRECT, ...L4_PROXIES.map((p) => p.name)];

export interface L4Row {
  scenario: L4ScenarioName;
  proxy: string;
  /** In the scenario's unit. */
  rate?: number;
  p99Ms?: number;
  notes: string[];
  error?: string;
}

export interface L4Options {
  scenarios: readonly L4ScenarioName[];
  proxies: readonly string[];
  durationS: number;
  warmupS: number;
  /** Seconds per tcp-connect run: short, so that TIME_WAIT sockets stay few (see README). */
  connectDurationS: number;
  connections: number;
  proxyCpus: string | undefined;
  loadCpus: string | undefined;
  dir: string;
  nginx: Nginx;
  /** When set, Node proxies write CPU profiles under DIR/PROXY-BACKEND/. */
  cpuProfileRoot: string | undefined;
  log: (msg: string) => void;
}

/** Where the client connects: a proxy in front of `backend`, or the backend itself (direct). */
interface Target {
  url: string;
  port: number;
}

export async function runL4(options: L4Options): Promise<L4Row[]> {
  const { log } = options;
  const scenarios = L4_SCENARIOS.filter((s) => options.scenarios.includes(s.name));
  const rows: L4Row[] = [];
  // One iperf3 server serves the tests one after another (never two at once: a second client is
  // told the server is busy), so every proxy can share it.
  let iperf3: Iperf3Server | undefined;
  if (scenarios.some((s) => s.backend === 'iperf3')) {
    iperf3 = await startIperf3Server(await freePort());
    log(`iperf3 server on ${iperf3.address}${options.loadCpus !== undefined ? ` (core ${options.loadCpus})` : ''}`);
  }
  try {
    for (const name of options.proxies) {
      const def: ProxyDef | undefined = L4_PROXIES.find((p) => p.name === name);
      for (const backend of ['nginx', 'iperf3'] as const) {
        const group = scenarios.filter((s) => s.backend === backend);
        if (group.length === 0) continue;
        const backendAddress = backend === 'nginx' ? options.nginx.address : iperf3!.address;
        let running: RunningProxy;
        try {
          running =
            def === undefined
              ? { url: `http://${backendAddress}`, memoryPids: [], stop: async () => {} }
              : await def.start({ backend: backendAddress, cpus: options.proxyCpus, dir: options.dir, cpuProfileDir: await profileDir(options, name, backend) });
        } catch (err) {
          log(`${name} (tcp): failed to start: ${firstLine(err)}`);
          for (const s of group) rows.push({ scenario: s.name, proxy: name, notes: [], error: `failed to start: ${firstLine(err)}` });
          continue;
        }
        const target = { url: running.url, port: Number(new URL(running.url).port) };
        try {
          log(`${name} (tcp → ${backend}): listening at ${running.url}`);
          for (const s of group) {
            try {
              const row = await measure(s, name, target, options);
              rows.push(row);
              log(`${name} ${s.name}: ${formatRate(s, row.rate ?? 0)} ${s.unit}${row.p99Ms !== undefined ? `, p99 ${fmtMs(row.p99Ms)}` : ''}`);
            } catch (err) {
              log(`${name} ${s.name}: ${firstLine(err)}`);
              rows.push({ scenario: s.name, proxy: name, notes: [], error: firstLine(err) });
            }
          }
        } finally {
          await running.stop().catch((err: unknown) => log(`${name}: stop failed: ${firstLine(err)}`));
        }
      }
    }
  } finally {
    await iperf3?.stop();
  }
  rows.sort((a, b) => L4_SCENARIOS.findIndex((s) => s.name === a.scenario) - L4_SCENARIOS.findIndex((s) => s.name === b.scenario));
  return rows;
}

async function profileDir(options: L4Options, proxy: string, backend: Backend): Promise<string | undefined> {
  if (options.cpuProfileRoot === undefined) return undefined;
  const dir = path.join(options.cpuProfileRoot, `${proxy}-tcp-${backend}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

function measure(s: L4Scenario, proxy: string, target: Target, options: L4Options): Promise<L4Row> {
  switch (s.name) {
    case 'tcp-small':
      return measureWrk(s, proxy, target, options, [], options.durationS);
    case 'tcp-connect':
      return measureWrk(s, proxy, target, options, ['Connection: close'], options.connectDurationS);
    case 'tcp-bulk':
      return measureIperf3(s, proxy, target, options);
  }
}

async function measureWrk(s: L4Scenario, proxy: string, target: Target, options: L4Options, headers: string[], durationS: number): Promise<L4Row> {
  await checkHttpThrough(target.url);
  const wrkOptions: Omit<WrkOptions, 'durationS'> = {
    url: `${target.url}/`,
    threads: 1,
    connections: options.connections,
    headers,
    ...(options.loadCpus !== undefined ? { cpus: options.loadCpus } : {}),
  };
  if (options.warmupS > 0) await runWrk({ ...wrkOptions, durationS: options.warmupS });
  const wrk = await runWrk({ ...wrkOptions, durationS });
  if (wrk.requests === 0) throw new Error(`wrk completed no request:\n${wrk.raw}`);
  const notes = wrkNotes(wrk);
  if (s.name === 'tcp-connect') notes.push(`${fmtRps(await countTimeWait())} sockets in TIME_WAIT after the run`);
  return { scenario: s.name, proxy, rate: wrk.requestsPerSec, p99Ms: wrk.latencyMs.p99, notes };
}

/** One request outside wrk, to check that the bytes make it through both ways before measuring. */
async function checkHttpThrough(url: string): Promise<void> {
  const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(10_000) });
  const body = await res.text();
  if (res.status !== 200 || body !== BODY_100) throw new Error(`check request: status ${res.status}, body of ${body.length} bytes, expected ${BODY_100.length}`);
}

function wrkNotes(w: WrkResult): string[] {
  const notes: string[] = [];
  const se = w.socketErrors;
  if (se.connect + se.read + se.write + se.timeout > 0) notes.push(`socket errors: connect ${se.connect}, read ${se.read}, write ${se.write}, timeout ${se.timeout}`);
  if (w.errorResponses > 0) notes.push(`${w.errorResponses} responses ≥ 400`);
  return notes;
}

async function measureIperf3(s: L4Scenario, proxy: string, target: Target, options: L4Options): Promise<L4Row> {
  const client = { host: '127.0.0.1', port: target.port };
  // The warm-up doubles as the check: iperf3 fails unless control and data connections both work.
  if (options.warmupS > 0) await iperf3WhenIdle({ ...client, seconds: Math.max(1, Math.round(options.warmupS)) });
  const result = await iperf3WhenIdle({ ...client, seconds: Math.max(1, Math.round(options.durationS)) });
  const notes: string[] = [];
  const retransmits = (result.json['end'] as { sum_sent?: { retransmits?: number } } | undefined)?.sum_sent?.retransmits;
  if (retransmits !== undefined && retransmits > 0) notes.push(`${retransmits} retransmits`);
  return { scenario: s.name, proxy, rate: result.bitsPerSecond / 1e9, notes };
}

/**
 * The proxy's readiness probe (waitForPort) reached the iperf3 server as an empty test, which the
 * server may still be closing: "the server is busy" then means "try again in a moment".
 */
async function iperf3WhenIdle(options: { host: string; port: number; seconds: number }): Promise<Iperf3Result> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runIperf3Client(options);
    } catch (err) {
      if (attempt >= 5 || !/busy/i.test(String(err))) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

/** TCP sockets in TIME_WAIT (state 06 in /proc/net/tcp{,6}): what a connection-rate run leaves behind. */
async function countTimeWait(): Promise<number> {
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'latin1').catch(() => '');
    // "sl local_address rem_address st ...": sl is right-aligned, so trim before splitting.
    for (const line of text.split('\n').slice(1)) if (line.trim().split(/\s+/, 4)[3] === '06') count++;
  }
  return count;
}

function formatRate(s: L4Scenario, rate: number): string {
  return s.unit === 'Gbit/s' ? rate.toFixed(2) : fmtRps(rate);
}

/** net.ipv4.tcp_tw_reuse: 1 or 2 lets a new outgoing loopback connection take a port still in TIME_WAIT. */
export async function tcpTwReuse(): Promise<string> {
  return (await readFile('/proc/sys/net/ipv4/tcp_tw_reuse', 'utf8').catch(() => '?')).trim();
}

/** The Layer 4 section of the results: one table, ratios to HAProxy and to the bare Node pipe, then the targets. */
export function renderL4Table(rows: readonly L4Row[], header: readonly string[]): string {
  const out: string[] = [...header, ''];
  out.push('| scenario | proxy | rate | unit | p99 | vs HAProxy | vs node-pipe | notes |');
  out.push('|---|---|---:|---|---:|---:|---:|---|');
  const rateOf = (scenario: string, proxy: string): number | undefined => rows.find((r) => r.scenario === scenario && r.proxy === proxy)?.rate;
  for (const row of rows) {
    const s = L4_SCENARIOS.find((x) => x.name === row.scenario)!;
    if (row.rate === undefined) {
      out.push(`| ${row.scenario} | ${row.proxy} | error | | | | | ${cell(row.error ?? '')} |`);
      continue;
    }
    const p99 = row.p99Ms === undefined ? '' : fmtMs(row.p99Ms);
    out.push(
      `| ${row.scenario} | ${row.proxy} | ${formatRate(s, row.rate)} | ${s.unit} | ${p99} | ${fmtRatio(row.rate, rateOf(row.scenario, 'haproxy'))} | ` +
        `${fmtRatio(row.rate, rateOf(row.scenario, 'node-pipe'))} | ${cell(row.notes.join('; '))} |`,
    );
  }
  const targets = L4_SCENARIOS.filter((s) => s.target !== undefined && rows.some((r) => r.scenario === s.name));
  if (targets.length > 0) out.push('');
  for (const s of targets) {
    const fulcrum = rateOf(s.name, 'fulcrum');
    const haproxy = rateOf(s.name, 'haproxy');
    const verdict =
      fulcrum === undefined || haproxy === undefined || haproxy <= 0
        ? 'not measured in this run'
        : `${(fulcrum / haproxy).toFixed(2)}×: ${fulcrum / haproxy >= s.target! ? 'met' : 'missed'}`;
    out.push(`- ${s.name} target: fulcrum ≥ ${s.target}× HAProxy; ${verdict}. The brief measured ${s.brief}.`);
  }
  return out.join('\n') + '\n';
}
