/**
 * npm run bench: Fulcrum against the proxies people compare it with, on one core each.
 *
 * Layout (the one in shared/BRIEF.md's performance table): the proxy under test pinned to core 0;
 * wrk (1 thread, 50 keep-alive connections) and the nginx real server (1 process) pinned to core 1,
 * and so is this process (and the iperf3 client and server it starts), the load side.
 * Each (proxy, scenario) gets a warm-up run, then a measured run. A proxy that fails to start or to
 * answer correctly gets an error row; the run goes on. HTTP rows first (http.ts), then latency at a
 * fixed rate (fixed-rate.ts, for small and rules), then the memory table (when an HTTP scenario
 * ran), then the HTTPS rows (tls.ts), then the HTTP/2 row (h2.ts) and the memory per idle TLS and
 * HTTP/2 connection (tls-idle.ts), then the Layer 4 rows (l4.ts), then the DNS rows (dns.ts).
 *
 * Environment:
 *   BENCH_DURATION=10           seconds per measured run
 *   BENCH_WARMUP=2              seconds of warm-up before each measured run
 *   BENCH_CONNECT_DURATION=5    seconds per measured tcp-connect and tls-handshake run
 *   BENCH_CONNECTIONS=50        wrk connections
 *   BENCH_IDLE_CONNECTIONS=5000 idle keep-alive connections for the memory measurement, and idle
 *                               TLS and HTTP/2 connections for tls-idle-memory, h2-idle-memory (0: skip)
 *   BENCH_ONLY=haproxy,nginx    proxies to run: direct, fulcrum, fulcrum+accesslog, haproxy, nginx,
 *                               http-proxy, node-pipe, gdnsd, fulcrum-2workers, h2o (each in the
 *                               tables it belongs to)
 *   BENCH_SCENARIOS=small       scenarios to run: small, realistic, 1MiB, post10k, rules (HTTP);
 *                               tls-keepalive, tls-handshake (HTTPS); h2, tls-idle-memory,
 *                               h2-idle-memory (HTTP/2 and idle TLS memory); tcp-small, tcp-bulk,
 *                               tcp-connect (Layer 4); dns-gslb, dns-static (DNS)
 *   BENCH_FIXED_RATE=N          the fixed-rate table's requests/s (default: half HAProxy's; 0 skips it)
 *   BENCH_BASELINE=7d8d887      also run Fulcrum at this commit (baseline.ts), as column fulcrum@SHA
 *   BENCH_DNS_CLIENTS=16        dnsperf -c (sockets)
 *   BENCH_DNS_OUTSTANDING=200   dnsperf -q (queries in flight)
 *   BENCH_CPU_PROFILE=DIR       Node proxies (Fulcrum's supervisor and worker, node-pipe) write V8
 *                               CPU profiles under DIR/PROXY-SCENARIO(S)/ when they stop
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { killAllNow } from '../test/helpers/processes.ts';
import { peer, requirePeers, type Peer } from '../interop/peers.ts';
import { baselineColumn, prepareBaseline, type Baseline } from './baseline.ts';
import { FIXED_RATE_SCENARIOS, renderFixedRateTable, runFixedRates, type FixedRateRow } from './fixed-rate.ts';
import { envList, envNumber, firstLine } from './format.ts';
import { directColumn, renderHttpTable, runHttp, type HttpRow } from './http.ts';
import { renderMemoryTable, runMemory, type MemoryRow } from './memory.ts';
import { L4_PROXY_NAMES, L4_SCENARIOS, renderL4Table, runL4, tcpTwReuse, type L4Row, type L4ScenarioName } from './l4.ts';
import { L4_PROXIES } from './l4-proxies.ts';
import { DNS_SCENARIOS, DNS_SERVER_NAMES, renderDnsTable, runDns, type DnsRow, type DnsScenarioName } from './dns.ts';
import { gdnsdVersion } from './dns-servers.ts';
import { dnsperfVersion } from './dnsperf.ts';
import { DIRECT, PROXIES, startBackendNginx, type BackendNginx, type HttpProxyContext, type HttpProxyDef } from './proxies.ts';
import { SCENARIOS, type ConfigShape, type Scenario } from './scenarios.ts';
import { renderTlsTable, runTls, TLS_PROXY_NAMES, TLS_SCENARIOS, type TlsRow, type TlsScenarioName } from './tls.ts';
import { TLS_PROXIES } from './tls-proxies.ts';
import { H2_SCENARIOS, renderH2Table, runH2, type H2Row } from './h2.ts';
import { H2_PROXIES, H2_PROXY_NAMES, h2oVersion } from './h2-proxies.ts';
import { renderTlsIdleTable, runTlsIdle, TLS_IDLE_SCENARIOS, type TlsIdleRow, type TlsIdleScenarioName } from './tls-idle.ts';

function versionOf(cmd: string, args: string[]): string {
  // nginx -v prints to stderr, haproxy -v to stdout
  const { stdout, stderr } = spawnSync(cmd, args, { encoding: 'utf8' });
  const line = `${stdout ?? ''}${stderr ?? ''}`.split('\n')[0]?.trim() ?? '';
  return line.replace(/ - https?:\/\/\S+/, '') || '?';
}

/** "OpenSSL 3.0.19 27 Jan 2026 (Library: OpenSSL 3.0.19 27 Jan 2026)" -> "OpenSSL 3.0.19": the library the system's programs load. */
function openSslLibrary(): string {
  const line = versionOf(peer('openssl'), ['version']);
  return /Library: (OpenSSL \S+)/.exec(line)?.[1] ?? line.split(' ').slice(0, 2).join(' ');
}

async function cpuModel(): Promise<string> {
  const info = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  return /^model name\s*:\s*(.+)$/m.exec(info)?.[1] ?? 'unknown CPU';
}

/** Moves this process (all its threads) to the load side's CPUs; children it starts without taskset inherit them. */
function pinSelf(cpus: string): void {
  const { status, stderr } = spawnSync(peer('taskset'), ['-a', '-p', '-c', cpus, String(process.pid)], { encoding: 'utf8' });
  if (status !== 0) throw new Error(`taskset -a -p -c ${cpus} ${process.pid} failed: ${stderr}`);
}

/** The HTTP columns in `names` order, the baseline right after `fulcrum` (or first) so that the two run back to back. */
function httpColumns(names: readonly string[], backend: BackendNginx, baseline: HttpProxyDef | undefined): HttpProxyDef[] {
  const columns = names.map((name) => (name === DIRECT ? directColumn(backend) : PROXIES.find((p) => p.name === name))).filter((c) => c !== undefined);
  if (baseline !== undefined) columns.splice(columns.findIndex((c) => c.name === 'fulcrum') + 1, 0, baseline);
  return columns;
}

function fixedRateHeader(connections: number, durationS: number, warmupS: number, fixedRate: number | undefined): string[] {
  return [
    '### Latency at a fixed request rate',
    '',
    `${versionOf(peer('h2load'), ['--version'])}, \`--h1\`, ${connections} connections on core 1, each paced at 1/${connections} of the target rate with one request in flight, ` +
      `${durationS} s after ${warmupS} s of warm-up, against a fresh instance of each proxy after the throughput runs. ` +
      (fixedRate === undefined ? "The target is half HAProxy's requests/s for the scenario in the table above. " : `The target is BENCH_FIXED_RATE=${fixedRate}. `) +
      'Latency runs from the moment h2load writes a request to the end of its response; as with wrk, a request that waits in h2load behind a late response is timed from when it is sent, so a stall shows in max and in an achieved rate below the target more than in p99.',
  ];
}

async function main(): Promise<void> {
  const durationS = envNumber('BENCH_DURATION', 10);
  const warmupS = envNumber('BENCH_WARMUP', 2);
  const connectDurationS = envNumber('BENCH_CONNECT_DURATION', 5);
  const connections = envNumber('BENCH_CONNECTIONS', 50);
  const idleConnections = envNumber('BENCH_IDLE_CONNECTIONS', 5000);
  const httpProxyNames = [DIRECT, ...PROXIES.map((p) => p.name)];
  const allProxyNames = [...new Set([...httpProxyNames, ...L4_PROXIES.map((p) => p.name), ...DNS_SERVER_NAMES, ...H2_PROXY_NAMES])];
  const proxyNames = envList('BENCH_ONLY', allProxyNames);
  const scenarioNames = envList('BENCH_SCENARIOS', [
    ...SCENARIOS.map((s) => s.name),
    ...TLS_SCENARIOS.map((s) => s.name),
    ...H2_SCENARIOS.map((s) => s.name),
    ...TLS_IDLE_SCENARIOS.map((s) => s.name),
    ...L4_SCENARIOS.map((s) => s.name),
    ...DNS_SCENARIOS.map((s) => s.name),
  ]);
  const scenarios = SCENARIOS.filter((s) => scenarioNames.includes(s.name));
  const tlsScenarios = TLS_SCENARIOS.filter((s) => scenarioNames.includes(s.name)).map((s): TlsScenarioName => s.name);
  const tlsProxies = proxyNames.filter((n) => TLS_PROXY_NAMES.includes(n));
  const h2Proxies = H2_PROXY_NAMES.filter((n) => proxyNames.includes(n));
  const runH2Row = H2_SCENARIOS.some((s) => scenarioNames.includes(s.name)) && h2Proxies.length > 0;
  const tlsIdleScenarios = idleConnections > 0 ? TLS_IDLE_SCENARIOS.filter((s) => scenarioNames.includes(s.name)).map((s): TlsIdleScenarioName => s.name) : [];
  const l4Scenarios = L4_SCENARIOS.filter((s) => scenarioNames.includes(s.name)).map((s): L4ScenarioName => s.name);
  const httpProxies = proxyNames.filter((n) => httpProxyNames.includes(n));
  const l4Proxies = proxyNames.filter((n) => L4_PROXY_NAMES.includes(n));
  const dnsScenarios = DNS_SCENARIOS.filter((s) => scenarioNames.includes(s.name)).map((s): DnsScenarioName => s.name);
  const dnsServers = DNS_SERVER_NAMES.filter((n) => proxyNames.includes(n));
  const dnsClients = envNumber('BENCH_DNS_CLIENTS', 16);
  const dnsOutstanding = envNumber('BENCH_DNS_OUTSTANDING', 200);
  const cpuProfileRoot = process.env['BENCH_CPU_PROFILE'] ? path.resolve(process.env['BENCH_CPU_PROFILE']) : undefined;
  const baselineRef = process.env['BENCH_BASELINE']?.trim() || undefined;
  // Unset: half HAProxy's rate; 0: no fixed-rate table.
  const fixedRate = process.env['BENCH_FIXED_RATE'] ? envNumber('BENCH_FIXED_RATE', 0) : undefined;
  const fixedRateScenarios = fixedRate === 0 ? [] : scenarios.filter((s) => FIXED_RATE_SCENARIOS.includes(s.name));
  const fixedRateProxies = ['fulcrum', 'haproxy'].filter((n) => proxyNames.includes(n));

  const needed: Peer[] = ['wrk', 'nginx', 'haproxy', 'taskset'];
  if (fixedRateScenarios.length > 0 || runH2Row) needed.push('h2load');
  if (tlsScenarios.length > 0) needed.push('openssl');
  if (l4Scenarios.includes('tcp-bulk')) needed.push('iperf3');
  // gdnsd is a column: missing, it gets an error row like a proxy that fails to start.
  if (dnsScenarios.length > 0) needed.push('dnsperf');
  requirePeers(...needed);

  // Read before pinSelf, which leaves this process one CPU.
  const cpuCount = availableParallelism();
  const pinned = cpuCount >= 2;
  const proxyCpus = pinned ? '0' : undefined;
  const loadCpus = pinned ? '1' : undefined;
  if (!pinned) console.error('bench: fewer than 2 CPUs, running unpinned; numbers are not comparable with the reference table');
  // Nothing but the proxy on core 0: this process (fetch checks, the idle clients) and the
  // iperf3 client and server (which interop/iperf3.ts starts without taskset) belong to the load side.
  if (loadCpus !== undefined) pinSelf(loadCpus);

  const dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-bench-'));
  let rows: HttpRow[] = [];
  let fixedRows: FixedRateRow[] = [];
  let memory: MemoryRow[] = [];
  let tlsRows: TlsRow[] = [];
  let h2Rows: H2Row[] = [];
  let tlsIdleRows: TlsIdleRow[] = [];
  let l4Rows: L4Row[] = [];
  let dnsRows: DnsRow[] = [];
  const log = (msg: string): void => console.error(`bench: ${msg}`);
  let baseline: Baseline | undefined;
  let backend: BackendNginx | undefined;

  try {
    backend = await startBackendNginx(dir, loadCpus);
    log(`backend nginx on ${backend.address}${pinned ? ' (core 1)' : ''}`);
    const scripts = new Map<string, string>();
    for (const s of scenarios) if (s.script) scripts.set(s.name, await s.script(dir));
    const profileDir = async (name: string, what: string): Promise<string | undefined> => {
      if (cpuProfileRoot === undefined) return undefined;
      const d = path.join(cpuProfileRoot, `${name}-${what}`);
      await mkdir(d, { recursive: true });
      return d;
    };
    const context: HttpProxyContext = { backend: backend.address, rulesPools: backend.rulesPools, cpus: proxyCpus, dir };
    // One CPU profile dir per column, phase and config shape: fulcrum-http, fulcrum-http-rules, fulcrum-fixed-rate, ...
    const contextFor =
      (phase: string) =>
      async (column: string, shape: ConfigShape): Promise<HttpProxyContext> => ({
        ...context,
        cpuProfileDir: await profileDir(column, shape === 'plain' ? phase : `${phase}-${shape}`),
      });

    let baselineDef: HttpProxyDef | undefined;
    if (baselineRef !== undefined && scenarios.length > 0) {
      const shapes = [...new Set(scenarios.map((s) => s.shape))];
      try {
        baseline = await prepareBaseline(baselineRef, log);
        baselineDef = await baselineColumn(baseline, shapes, context, log);
      } catch (err) {
        log(`baseline ${baselineRef}: ${firstLine(err)}`);
        baselineDef = { name: `fulcrum@${baselineRef}`, description: 'the baseline', shapes, start: () => Promise.reject(err) };
      }
    }
    const columns = httpColumns(httpProxies, backend, baselineDef);

    rows = await runHttp({ columns, scenarios, context: contextFor('http'), connections, durationS, warmupS, loadCpus, scripts, log });
    if (fixedRateScenarios.length > 0 && fixedRateProxies.length > 0) {
      fixedRows = await runFixedRates({
        scenarios: fixedRateScenarios,
        columns: httpColumns(fixedRateProxies, backend, baselineDef),
        httpRows: rows,
        rateOverride: fixedRate,
        context: contextFor('fixed-rate'),
        connections,
        durationS,
        warmupS,
        loadCpus,
        dir,
        log,
      });
    }
    // Memory is measured on a fresh instance of each proxy (memory.ts). It is part of the HTTP
    // table: a run of Layer 4 scenarios alone skips it.
    if (idleConnections > 0 && scenarios.length > 0) {
      memory = await runMemory(PROXIES.filter((p) => httpProxies.includes(p.name)), context, idleConnections, log);
    }
    if (tlsScenarios.length > 0 && tlsProxies.length > 0) {
      tlsRows = await runTls({
        scenarios: tlsScenarios,
        proxies: tlsProxies,
        durationS,
        warmupS,
        connectDurationS,
        connections,
        proxyCpus,
        loadCpus,
        dir,
        backend: backend.address,
        cpuProfileRoot,
        log,
      });
    }
    if (runH2Row) {
      h2Rows = await runH2({ proxies: h2Proxies, durationS, warmupS, proxyCpus, loadCpus, dir, backend: backend.address, cpuProfileDir: await profileDir('fulcrum', 'h2'), log });
    }
    if (tlsIdleScenarios.length > 0 && h2Proxies.length > 0) {
      tlsIdleRows = await runTlsIdle({ scenarios: tlsIdleScenarios, proxies: h2Proxies, connections: idleConnections, context, log });
    }
    if (l4Scenarios.length > 0 && l4Proxies.length > 0) {
      l4Rows = await runL4({
        scenarios: l4Scenarios,
        proxies: l4Proxies,
        durationS,
        warmupS,
        connectDurationS,
        connections,
        proxyCpus,
        loadCpus,
        dir,
        nginx: backend,
        cpuProfileRoot,
        log,
      });
    }
    if (dnsScenarios.length > 0 && dnsServers.length > 0) {
      dnsRows = await runDns({
        scenarios: dnsScenarios,
        servers: dnsServers,
        durationS,
        warmupS,
        clients: dnsClients,
        outstanding: dnsOutstanding,
        serverCpus: proxyCpus,
        twoCpus: pinned ? '0-1' : undefined,
        loadCpus,
        dir,
        cpuProfileRoot,
        log,
      });
    }
  } finally {
    await backend?.stop();
    baseline?.remove();
    await rm(dir, { recursive: true, force: true });
  }

  // Rows grouped by scenario, proxies in the order they ran.
  rows.sort((a, b) => scenarioNames.indexOf(a.scenario) - scenarioNames.indexOf(b.scenario));
  const out = [
    `## Fulcrum bench, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `${await cpuModel()}, ${cpuCount} CPUs. ${pinned ? 'Proxy pinned to core 0; wrk and the nginx real server pinned to core 1.' : 'Unpinned.'}`,
    `wrk: 1 thread, ${connections} connections, ${durationS} s per run after ${warmupS} s of warm-up. ` +
      `Node ${process.version}; ${versionOf(peer('nginx'), ['-v'])}; ${versionOf(peer('haproxy'), ['-v'])}.`,
  ];
  if (scenarios.length > 0) {
    out.push('', ...scenarios.map((s) => `- \`${s.name}\`: ${s.description}`));
    if (baseline !== undefined) out.push(`- \`${baseline.name}\`: Fulcrum at ${baseline.sha} (BENCH_BASELINE=${baselineRef}), from a temporary worktree, with the \`fulcrum\` column's config`);
    out.push('', renderHttpTable(rows, baseline?.name).trimEnd());
  }
  if (fixedRows.length > 0) out.push('', renderFixedRateTable(fixedRows, fixedRateHeader(connections, durationS, warmupS, fixedRate)).trimEnd());
  if (memory.length > 0) out.push('', renderMemoryTable(memory).trimEnd());
  if (tlsRows.length > 0) {
    const tlsHeader = [
      '### HTTPS (TLS 1.3)',
      '',
      `Proxies on core 0, TLS 1.3 only, one certificate for www.surveyor.lab (chain included), in front of the same nginx: ${TLS_PROXIES.filter((p) => tlsProxies.includes(p.name))
        .map((p) => `\`${p.name}\` (${p.description})`)
        .join('; ')}. ` +
        `wrk on core 1: 1 thread, ${connections} connections to https://www.surveyor.lab:PORT/ (SNI and Host www.surveyor.lab, connecting to 127.0.0.1), ` +
        `${durationS} s per run (tls-handshake: ${connectDurationS} s) after ${warmupS} s of warm-up. ` +
        `OpenSSL: Fulcrum runs Node's own ${process.versions.openssl}; HAProxy, nginx, wrk and s_client the system's (${openSslLibrary()}). ` +
        '`proxy CPU` is the CPU time of the proxy\'s processes per second of the run (100%: its core busy); `per CPU-second` divides the rate by it, ' +
        'what the proxy would do with its core kept busy (an estimate), and the target lines use it when fulcrum or haproxy was under 90%. ' +
        '`wrk negotiated` is what `openssl s_client` (wrk\'s library) got: suite, group, signature.',
      '',
      ...TLS_SCENARIOS.filter((s) => tlsScenarios.includes(s.name)).map((s) => `- \`${s.name}\`: ${s.description}`),
    ];
    out.push('', renderTlsTable(tlsRows, tlsHeader).trimEnd());
  }
  if (h2Rows.length > 0) {
    const h2Header = [
      '### HTTP/2 (h2 over TLS 1.3)',
      '',
      `Proxies on core 0, TLS 1.3 only, the ECDSA P-256 certificate for www.surveyor.lab, ALPN h2 and http/1.1, HTTP/1.1 to the same nginx: ${H2_PROXIES.filter((p) => h2Proxies.includes(p.name))
        .map((p) => `\`${p.name}\` (${p.description}${p.name === 'h2o' ? `, ${h2oVersion()}` : ''})`)
        .join('; ')}. ` +
        `${versionOf(peer('h2load'), ['--version'])} on core 1: 1 thread, 100 connections to https://www.surveyor.lab:PORT/ (SNI and :authority www.surveyor.lab, \`--connect-to\` 127.0.0.1), 10 streams in flight on each, ` +
        `${durationS} s per run after ${warmupS} s of warm-up. OpenSSL: Fulcrum runs Node's own ${process.versions.openssl}; the others and h2load the system's (${openSslLibrary()}). ` +
        '`mean` and `max` are h2load\'s time per request; `proxy CPU` and `per CPU-second` as in the HTTPS table; `proxy core busy` and `load core busy`: ' +
        'how busy cores 0 and 1 were during the run, whoever used them (/proc/stat: the proxy or h2load and nginx, the kernel\'s softirq network work, any other process).',
      '',
      ...H2_SCENARIOS.map((s) => `- \`${s.name}\`: ${s.description}`),
    ];
    out.push('', renderH2Table(h2Rows, h2Header).trimEnd());
  }
  if (tlsIdleRows.length > 0) out.push('', renderTlsIdleTable(tlsIdleRows).trimEnd());
  if (l4Rows.length > 0) {
    const l4Header = [
      '### Layer 4 (TCP)',
      '',
      'Proxies: `fulcrum` is a `protocol: tcp` virtual service (workers: 1, access log off); `haproxy` is `mode tcp`, nbthread 1; ' +
        '`node-pipe` is `client.pipe(upstream).pipe(client)` in plain Node (bench/node-pipe.ts), the floor of what Node costs. ' +
        `Same pinning; iperf3 client and server on core 1 too${l4Scenarios.includes('tcp-bulk') ? ` (${versionOf(peer('iperf3'), ['--version'])})` : ''}. ` +
        `tcp-connect runs ${connectDurationS} s after ${warmupS} s of warm-up; net.ipv4.tcp_tw_reuse = ${await tcpTwReuse()}.`,
      '',
      ...L4_SCENARIOS.filter((s) => l4Scenarios.includes(s.name)).map((s) => `- \`${s.name}\`: ${s.description}`),
    ];
    out.push('', renderL4Table(l4Rows, l4Header));
  }
  if (dnsRows.length > 0) {
    const dnsHeader = [
      '### DNS (GSLB)',
      '',
      `Servers: \`gdnsd\` (${await gdnsdVersion()}; one UDP thread, plugin_weighted, an extmon TCP check), ` +
        '`fulcrum` (a `gslb` section, workers: 1, access log off) on core 0; `fulcrum-2workers` (workers: 2) on cores 0-1, the second shared with dnsperf. ' +
        `${await dnsperfVersion()} on core 1: ${dnsClients} clients (sockets), ${dnsOutstanding} queries in flight, no EDNS, ` +
        `${durationS} s per run after ${warmupS} s of warm-up. The weighted name's two sites are checked by a TCP connect to a listener the bench keeps open (both up).`,
      '',
      ...DNS_SCENARIOS.filter((s) => dnsScenarios.includes(s.name)).map((s) => `- \`${s.name}\`: ${s.description}`),
    ];
    out.push('', renderDnsTable(dnsRows, dnsHeader));
  }
  const table = out.join('\n').replace(/\n+$/, '') + '\n';
  process.stdout.write(table);
  const resultsDir = path.join(import.meta.dirname, 'results');
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, 'latest.md'), table);
  log(`written to ${path.relative(process.cwd(), path.join(resultsDir, 'latest.md'))}`);
  if (cpuProfileRoot !== undefined) log(`CPU profiles under ${cpuProfileRoot} (summarise one with: node bench/profile-top.ts FILE)`);
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  killAllNow();
  process.exitCode = 1;
});
