/**
 * The HTTPS rows of `npm run bench` (issue 11, "Performance"): TLS 1.3 terminated by the proxy
 * on core 0, wrk and the backend nginx on core 1, as in the HTTP rows.
 *
 * - tls-keepalive: wrk over https (1 thread, 50 keep-alive connections), 100-byte responses:
 *   the cost of TLS records on a proxied request. ECDSA P-256 certificate.
 * - tls-handshake: the same with `Connection: close` and no session tickets (tls-proxies.ts):
 *   every request is a new connection and a full handshake. ECDSA P-256, then RSA-2048.
 *
 * wrk sends the URL's host as SNI and Host, so the URL names www.surveyor.lab; a Lua script makes
 * wrk connect to 127.0.0.1 instead of resolving it (no /etc/hosts entry needed).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runWrk, type WrkOptions } from '../interop/wrk.ts';
import { cpuSeconds } from './dns.ts';
import { cell, firstLine, fmtMs, fmtRatio, fmtRps } from './format.ts';
import { checkTlsColumn, type Negotiated } from './tls-check.ts';
import { CERTIFICATES, TLS_PROXIES, TLS_SERVER_NAME, type CertificateKind, type RunningTlsProxy } from './tls-proxies.ts';

export type TlsScenarioName = 'tls-keepalive' | 'tls-handshake';

export interface TlsScenario {
  name: TlsScenarioName;
  description: string;
  certificates: readonly CertificateKind[];
  /** True: `Connection: close` and no session tickets, a full handshake per request. */
  newConnections: boolean;
  unit: 'req/s' | 'handshakes/s';
  /** Issue 11's target for Fulcrum, as a fraction of HAProxy in the same run. */
  target: number;
}

export const TLS_SCENARIOS: readonly TlsScenario[] = [
  {
    name: 'tls-keepalive',
    description: 'GET over HTTPS keep-alive connections, 100-byte response; wrk 1 thread, 50 connections',
    certificates: ['ecdsa'],
    newConnections: false,
    unit: 'req/s',
    target: 0.6,
  },
  {
    name: 'tls-handshake',
    description: 'GET with `Connection: close` and no session tickets: every request a new TCP connection and a full TLS 1.3 handshake (no resumption)',
    certificates: ['ecdsa', 'rsa'],
    newConnections: true,
    unit: 'handshakes/s',
    target: 0.7,
  },
];

export const TLS_PROXY_NAMES: readonly string[] = TLS_PROXIES.map((p) => p.name);

export interface TlsRow {
  scenario: TlsScenarioName;
  certificate: CertificateKind;
  proxy: string;
  /** In the scenario's unit. */
  rate?: number;
  p99Ms?: number;
  /** CPU time of the proxy's processes per second of the measured run: 1 is its core busy. */
  proxyCpu?: number;
  negotiated?: Negotiated;
  notes: string[];
  error?: string;
}

export interface TlsOptions {
  scenarios: readonly TlsScenarioName[];
  proxies: readonly string[];
  durationS: number;
  warmupS: number;
  /** Seconds per tls-handshake run: short, so that TIME_WAIT sockets stay few (as tcp-connect). */
  connectDurationS: number;
  connections: number;
  proxyCpus: string | undefined;
  loadCpus: string | undefined;
  dir: string;
  /** The backend nginx, "127.0.0.1:PORT". */
  backend: string;
  cpuProfileRoot: string | undefined;
  log: (msg: string) => void;
}

/** wrk takes SNI and Host from the URL's host; this makes it connect to 127.0.0.1 whatever the host. */
async function writeResolveScript(dir: string): Promise<string> {
  const file = path.join(dir, 'tls-resolve.lua');
  await writeFile(file, 'wrk.resolve = function(host, service)\n  wrk.addrs = wrk.lookup("127.0.0.1", service)\nend\n');
  return file;
}

export async function runTls(options: TlsOptions): Promise<TlsRow[]> {
  const { log } = options;
  const script = await writeResolveScript(options.dir);
  const rows: TlsRow[] = [];
  for (const s of TLS_SCENARIOS.filter((x) => options.scenarios.includes(x.name))) {
    for (const certificate of s.certificates) {
      for (const def of TLS_PROXIES.filter((p) => options.proxies.includes(p.name))) {
        const row: TlsRow = { scenario: s.name, certificate, proxy: def.name, notes: [] };
        rows.push(row);
        const what = `${def.name} ${s.name} ${CERTIFICATES[certificate].label}`;
        let running: RunningTlsProxy;
        try {
          running = await def.start({
            backend: options.backend,
            cpus: options.proxyCpus,
            dir: options.dir,
            cpuProfileDir: await profileDir(options, def.name, s.name, certificate),
            certificate,
            sessionTickets: !s.newConnections,
          });
        } catch (err) {
          log(`${what}: failed to start: ${firstLine(err)}`);
          row.error = `failed to start: ${firstLine(err)}`;
          continue;
        }
        try {
          row.negotiated = await checkTlsColumn({ port: running.port, certificate, sessionTickets: !s.newConnections });
          Object.assign(row, await measure(s, running, script, options));
          log(`${what}: ${fmtRps(row.rate ?? 0)} ${s.unit}, p99 ${fmtMs(row.p99Ms ?? 0)}, proxy CPU ${Math.round((row.proxyCpu ?? 0) * 100)}% (${row.negotiated})`);
        } catch (err) {
          log(`${what}: ${firstLine(err)}`);
          row.error = firstLine(err);
        } finally {
          await running.stop().catch((err: unknown) => log(`${def.name}: stop failed: ${firstLine(err)}`));
        }
      }
    }
  }
  return rows;
}

async function profileDir(options: TlsOptions, proxy: string, scenario: string, certificate: CertificateKind): Promise<string | undefined> {
  if (options.cpuProfileRoot === undefined) return undefined;
  const dir = path.join(options.cpuProfileRoot, `${proxy}-${scenario}-${certificate}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

async function measure(s: TlsScenario, running: RunningTlsProxy, script: string, options: TlsOptions): Promise<Pick<TlsRow, 'rate' | 'p99Ms' | 'proxyCpu' | 'notes'>> {
  const wrkOptions: Omit<WrkOptions, 'durationS'> = {
    url: `https://${TLS_SERVER_NAME}:${running.port}/`,
    threads: 1,
    connections: options.connections,
    headers: s.newConnections ? ['Connection: close'] : [],
    script,
    ...(options.loadCpus !== undefined ? { cpus: options.loadCpus } : {}),
  };
  if (options.warmupS > 0) await runWrk({ ...wrkOptions, durationS: options.warmupS });
  const cpuBefore = await cpuSeconds(running.cpuPids);
  const wrk = await runWrk({ ...wrkOptions, durationS: s.newConnections ? options.connectDurationS : options.durationS });
  const proxyCpu = ((await cpuSeconds(running.cpuPids)) - cpuBefore) / wrk.durationS;
  if (wrk.requests === 0) throw new Error(`wrk completed no request:\n${wrk.raw}`);
  const notes: string[] = [];
  const se = wrk.socketErrors;
  if (se.connect + se.read + se.write + se.timeout > 0) notes.push(`socket errors: connect ${se.connect}, read ${se.read}, write ${se.write}, timeout ${se.timeout}`);
  if (wrk.errorResponses > 0) notes.push(`${wrk.errorResponses} responses ≥ 400`);
  return { rate: wrk.requestsPerSec, p99Ms: wrk.latencyMs.p99, proxyCpu, notes };
}

/** Requests (or handshakes) per second of the proxy's CPU time: what its one core would do if the load kept it busy. */
function perCpuSecond(row: TlsRow | undefined): number | undefined {
  if (row?.rate === undefined || row.proxyCpu === undefined || row.proxyCpu <= 0) return undefined;
  return row.rate / row.proxyCpu;
}

/** Below this share of its core, a one-core proxy was not the limit of its run (wrk and nginx on core 1 were). */
const SATURATED = 0.9;

/** The HTTPS section of the results: one table, ratios to HAProxy per scenario and certificate, then the targets. */
export function renderTlsTable(rows: readonly TlsRow[], header: readonly string[]): string {
  const out: string[] = [...header, ''];
  out.push('| scenario | certificate | proxy | rate | unit | p99 | vs HAProxy | proxy CPU | per CPU-second | vs HAProxy per CPU | wrk negotiated | notes |');
  out.push('|---|---|---|---:|---|---:|---:|---:|---:|---:|---|---|');
  const find = (scenario: string, certificate: CertificateKind, proxy: string): TlsRow | undefined =>
    rows.find((r) => r.scenario === scenario && r.certificate === certificate && r.proxy === proxy && r.rate !== undefined);
  for (const row of rows) {
    const s = TLS_SCENARIOS.find((x) => x.name === row.scenario)!;
    const label = CERTIFICATES[row.certificate].label;
    if (row.rate === undefined) {
      out.push(`| ${row.scenario} | ${label} | ${row.proxy} | error | | | | | | | | ${cell(row.error ?? '')} |`);
      continue;
    }
    const cpu = row.proxyCpu === undefined ? '' : `${Math.round(row.proxyCpu * 100)}%`;
    const haproxy = find(row.scenario, row.certificate, 'haproxy');
    const perCpu = perCpuSecond(row);
    out.push(
      `| ${row.scenario} | ${label} | ${row.proxy} | ${fmtRps(row.rate)} | ${s.unit} | ${row.p99Ms === undefined ? '' : fmtMs(row.p99Ms)} | ` +
        `${fmtRatio(row.rate, haproxy?.rate)} | ${cpu} | ${perCpu === undefined ? '' : fmtRps(perCpu)} | ${perCpu === undefined ? '–' : fmtRatio(perCpu, perCpuSecond(haproxy))} | ` +
        `${cell(row.negotiated ?? '')} | ${cell(row.notes.join('; '))} |`,
    );
  }
  const verdicts: string[] = [];
  for (const s of TLS_SCENARIOS) {
    for (const certificate of s.certificates) {
      if (!rows.some((r) => r.scenario === s.name && r.certificate === certificate)) continue;
      const verdict = verdictOf(s.target, find(s.name, certificate, 'fulcrum'), find(s.name, certificate, 'haproxy'));
      verdicts.push(`- ${s.name} (${CERTIFICATES[certificate].label}) target: fulcrum ≥ ${s.target}× HAProxy; ${verdict}.`);
    }
  }
  if (verdicts.length > 0) out.push('', ...verdicts);
  return out.join('\n') + '\n';
}

/**
 * Throughput against throughput when both proxies kept their core busy; per CPU-second when either
 * did not: wrk on core 1 (sharing it with nginx) then set the pace, and a throughput ratio would
 * flatter the slower proxy. As in the DNS table (dns.ts).
 */
function verdictOf(target: number, fulcrum: TlsRow | undefined, haproxy: TlsRow | undefined): string {
  const f = fulcrum?.rate;
  const h = haproxy?.rate;
  if (f === undefined || h === undefined || h <= 0) return 'not measured in this run';
  const busy = (row: TlsRow | undefined): boolean => (row?.proxyCpu ?? 0) >= SATURATED;
  if (busy(fulcrum) && busy(haproxy)) return `${(f / h).toFixed(2)}×: ${f / h >= target ? 'met' : 'missed'}`;
  const fc = perCpuSecond(fulcrum);
  const hc = perCpuSecond(haproxy);
  if (fc === undefined || hc === undefined) return `${(f / h).toFixed(2)}× in throughput, CPU time unknown: not judged`;
  const idle = [fulcrum, haproxy].filter((row) => !busy(row)).map((row) => `${row!.proxy} ${Math.round((row!.proxyCpu ?? 0) * 100)}%`);
  return `${(fc / hc).toFixed(2)}× per CPU-second: ${fc / hc >= target ? 'met' : 'missed'} (throughput ${(f / h).toFixed(2)}×, not judged: ${idle.join(', ')} of a core, so the load side, not the proxy, was the limit)`;
}
