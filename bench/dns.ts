/**
 * The DNS rows of `npm run bench` (issue 5, "Performance"): dnsperf against gdnsd and against
 * Fulcrum's GSLB answering the same names, in the layout of the brief's DNS figures (the server
 * on core 0, dnsperf on core 1).
 *
 * - dns-gslb: `www.bench.lab A`, a health-checked weighted name (two sites up, weights 3 and 1).
 * - dns-static: `static.bench.lab A`, a static record of the same zone.
 *
 * Rows: gdnsd (one UDP thread, core 0), fulcrum (workers: 1, core 0) and fulcrum-2workers
 * (workers: 2 on cores 0-1, the second core shared with dnsperf). Target (issue 5): Fulcrum ≥ 0.4×
 * gdnsd per core.
 */
import net from 'node:net';
import { once } from 'node:events';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { askA, judgeAnswers } from './dns-check.ts';
import { DNS_SERVERS, GSLB_NAME, GSLB_SITES, STATIC_ADDRESS, STATIC_NAME, type DnsServerDef, type RunningDnsServer } from './dns-servers.ts';
import { runDnsperf, writeQueryFile, type DnsperfResult } from './dnsperf.ts';
import { cell, firstLine, fmtMs, fmtRatio, fmtRps } from './format.ts';

export type DnsScenarioName = 'dns-gslb' | 'dns-static';

export interface DnsScenario {
  name: DnsScenarioName;
  description: string;
  qname: string;
  /** What every answer must hold, and what the check's answers together must show. */
  expect: { allowed: readonly string[]; perAnswer: number; mustSee: readonly string[] };
}

const SITE_ADDRESSES = GSLB_SITES.map((s) => s.address);

export const DNS_SCENARIOS: readonly DnsScenario[] = [
  {
    name: 'dns-gslb',
    description: `\`${GSLB_NAME} A\`: a weighted name, two sites (${GSLB_SITES.map((s) => `${s.address} weight ${s.weight}`).join(', ')}), each up by a TCP check; one address per answer`,
    qname: GSLB_NAME,
    expect: { allowed: SITE_ADDRESSES, perAnswer: 1, mustSee: SITE_ADDRESSES },
  },
  {
    name: 'dns-static',
    description: `\`${STATIC_NAME} A\`: a static record in the same zone`,
    qname: STATIC_NAME,
    expect: { allowed: [STATIC_ADDRESS], perAnswer: 1, mustSee: [STATIC_ADDRESS] },
  },
];

export const DNS_SERVER_NAMES: readonly string[] = DNS_SERVERS.map((s) => s.name);

/** Issue 5's target: Fulcrum (one worker, one core) against gdnsd (one core). */
const TARGET = 0.4;
const BRIEF = 'gdnsd ~365,000 q/s; Node dgram + dns-packet ~88,000 (0.24×); Node from a pre-encoded template ~156,000 (0.43×)';
/**
 * Queries for the check: the weighted name must show both sites. Fulcrum's rotation (3:1) shows
 * both within 4; gdnsd draws at random, so 32 queries miss the weight-1 site with odds 0.75^32 ≈ 1e-4.
 */
const CHECK_QUERIES = 32;
/** How long a server may take to report both sites up after it started (Fulcrum's first check runs within an interval). */
const SITES_UP_TIMEOUT_MS = 15_000;

export interface DnsRow {
  scenario: DnsScenarioName;
  server: string;
  result?: DnsperfResult;
  /** CPU time the server used during the measured run, per second of it: 1 is one core busy. */
  serverCpu?: number;
  notes: string[];
  error?: string;
}

export interface DnsOptions {
  scenarios: readonly DnsScenarioName[];
  servers: readonly string[];
  durationS: number;
  warmupS: number;
  /** dnsperf -c: sockets, so that SO_REUSEPORT spreads them over Fulcrum's workers. */
  clients: number;
  /** dnsperf -q: queries in flight. */
  outstanding: number;
  serverCpus: string | undefined;
  /** Both cores, for the two-worker row. */
  twoCpus: string | undefined;
  loadCpus: string | undefined;
  dir: string;
  cpuProfileRoot: string | undefined;
  log: (msg: string) => void;
}

export async function runDns(options: DnsOptions): Promise<DnsRow[]> {
  const { log } = options;
  const scenarios = DNS_SCENARIOS.filter((s) => options.scenarios.includes(s.name));
  const rows: DnsRow[] = [];
  const queryFiles = new Map<DnsScenarioName, string>();
  for (const s of scenarios) queryFiles.set(s.name, await writeQueryFile(path.join(options.dir, `${s.name}.queries`), [`${s.qname} A`]));
  // The sites' checks connect here; accepted and closed at once, like a port that is open.
  const checkTarget = net.createServer((socket) => socket.destroy());
  checkTarget.listen(0, '127.0.0.1');
  await once(checkTarget, 'listening');
  const checkPort = (checkTarget.address() as net.AddressInfo).port;
  try {
    for (const name of options.servers) {
      const def: DnsServerDef | undefined = DNS_SERVERS.find((d) => d.name === name);
      if (def === undefined) continue;
      let running: RunningDnsServer;
      try {
        running = await def.start({
          checkPort,
          cpus: options.serverCpus,
          twoCpus: options.twoCpus,
          dir: options.dir,
          cpuProfileDir: await profileDir(options, name),
        });
      } catch (err) {
        log(`${name} (dns): failed to start: ${firstLine(err)}`);
        for (const s of scenarios) rows.push({ scenario: s.name, server: name, notes: [], error: `failed to start: ${firstLine(err)}` });
        continue;
      }
      try {
        log(`${name} (dns): listening at ${running.host}:${running.port} (${running.cores})`);
        for (const s of scenarios) {
          try {
            await checkServer(running, s);
            const dnsperf = {
              server: running.host,
              port: running.port,
              queryFile: queryFiles.get(s.name)!,
              clients: options.clients,
              outstanding: options.outstanding,
              cpus: options.loadCpus,
            };
            if (options.warmupS > 0) await runDnsperf({ ...dnsperf, durationS: options.warmupS });
            const cpuBefore = await cpuSeconds(running.pids);
            const result = await runDnsperf({ ...dnsperf, durationS: options.durationS });
            const serverCpu = (await cpuSeconds(running.pids)) - cpuBefore;
            if (result.completed === 0) throw new Error(`dnsperf completed no query:\n${result.raw}`);
            rows.push({ scenario: s.name, server: name, result, serverCpu: serverCpu / result.runTimeS, notes: notesOf(result, running) });
            log(`${name} ${s.name}: ${fmtRps(result.queriesPerSec)} q/s, average ${fmtMs(result.avgLatencyMs)}, ${result.lost} lost`);
          } catch (err) {
            log(`${name} ${s.name}: ${firstLine(err)}`);
            rows.push({ scenario: s.name, server: name, notes: [], error: firstLine(err) });
          }
        }
      } finally {
        await running.stop().catch((err: unknown) => log(`${name}: stop failed: ${firstLine(err)}`));
      }
    }
  } finally {
    checkTarget.close();
  }
  rows.sort((a, b) => DNS_SCENARIOS.findIndex((s) => s.name === a.scenario) - DNS_SCENARIOS.findIndex((s) => s.name === b.scenario));
  return rows;
}

async function profileDir(options: DnsOptions, server: string): Promise<string | undefined> {
  if (options.cpuProfileRoot === undefined || !server.startsWith('fulcrum')) return undefined;
  const dir = path.join(options.cpuProfileRoot, `${server}-dns`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Real queries before the measured run: the server's own view of the sites where it has one,
 * then answers as the scenario expects, retried until SITES_UP_TIMEOUT_MS after the start (a
 * site enters the answers after its first passed check).
 */
async function checkServer(server: RunningDnsServer, s: DnsScenario): Promise<void> {
  const deadline = Date.now() + SITES_UP_TIMEOUT_MS;
  for (;;) {
    let problem: string | undefined;
    try {
      problem = s.name === 'dns-gslb' ? await server.sitesProblem?.() : undefined;
      if (problem === undefined) problem = judgeAnswers(await askA(server.host, server.port, s.qname, CHECK_QUERIES), s.expect);
    } catch (err) {
      problem = firstLine(err);
    }
    if (problem === undefined) return;
    if (Date.now() > deadline) throw new Error(`check queries: ${problem}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Ticks per second of /proc/PID/stat's times: USER_HZ, which Linux fixes at 100 for user space (sysconf CLK_TCK). */
const CLOCK_TICKS = 100;

/** User plus system CPU time of these processes (all their threads) so far, in seconds. */
export async function cpuSeconds(pids: readonly number[]): Promise<number> {
  let ticks = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // "pid (comm) state ppid ...": comm may hold spaces, so count fields after its ')'. utime and
    // stime are fields 14 and 15, the 12th and 13th after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return ticks / CLOCK_TICKS;
}

function notesOf(r: DnsperfResult, server: RunningDnsServer): string[] {
  const notes = [server.cores, `${r.avgResponseBytes}-byte answers`];
  if (!/^NOERROR \d+ \(100\.00%\)$/.test(r.responseCodes)) notes.push(`response codes: ${r.responseCodes}`);
  notes.push(`max latency ${fmtMs(r.maxLatencyMs)}`);
  return notes;
}

/** Queries per second of server CPU time: what one core of the server would answer if the load kept it busy. */
function perCpuSecond(row: DnsRow | undefined): number | undefined {
  if (row?.result === undefined || row.serverCpu === undefined || row.serverCpu <= 0) return undefined;
  return row.result.queriesPerSec / row.serverCpu;
}

/** Below this share of its core, a one-core server was not the limit of its run (dnsperf, or another process, was). */
const SATURATED = 0.9;

/** The DNS section of the results: one table with the ratios to gdnsd, then the target. */
export function renderDnsTable(rows: readonly DnsRow[], header: readonly string[]): string {
  const out: string[] = [...header, ''];
  out.push('| scenario | server | queries/s | avg latency | lost | vs gdnsd | server CPU | q/s per CPU-second | vs gdnsd per CPU | notes |');
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---|');
  const rowOf = (scenario: string, server: string): DnsRow | undefined => rows.find((r) => r.scenario === scenario && r.server === server && r.result !== undefined);
  for (const row of rows) {
    const r = row.result;
    if (r === undefined) {
      out.push(`| ${row.scenario} | ${row.server} | error | | | | | | | ${cell(row.error ?? '')} |`);
      continue;
    }
    const gdnsd = rowOf(row.scenario, 'gdnsd');
    const lost = `${fmtRps(r.lost)} (${((r.lost / Math.max(1, r.sent)) * 100).toFixed(2)}%)`;
    const cpu = row.serverCpu === undefined ? '' : `${Math.round(row.serverCpu * 100)}%`;
    const perCpu = perCpuSecond(row);
    out.push(
      `| ${row.scenario} | ${row.server} | ${fmtRps(r.queriesPerSec)} | ${fmtMs(r.avgLatencyMs)} | ${lost} | ${fmtRatio(r.queriesPerSec, gdnsd?.result?.queriesPerSec)} | ` +
        `${cpu} | ${perCpu === undefined ? '' : fmtRps(perCpu)} | ${perCpu === undefined ? '–' : fmtRatio(perCpu, perCpuSecond(gdnsd))} | ${cell(row.notes.join('; '))} |`,
    );
  }
  const measured = DNS_SCENARIOS.filter((s) => rows.some((r) => r.scenario === s.name));
  if (measured.length > 0) out.push('');
  for (const s of measured) {
    out.push(`- ${s.name} target: fulcrum (workers: 1, one core) ≥ ${TARGET}× gdnsd per core; ${verdictOf(rowOf(s.name, 'fulcrum'), rowOf(s.name, 'gdnsd'))}.`);
  }
  if (measured.length > 0) out.push(`- The brief measured (dnsperf, one core): ${BRIEF}.`);
  return out.join('\n') + '\n';
}

/**
 * Throughput against throughput when both servers kept their core busy; per CPU-second when
 * either did not (dnsperf on one core may not keep gdnsd busy: a throughput ratio would then
 * flatter Fulcrum).
 */
function verdictOf(fulcrum: DnsRow | undefined, gdnsd: DnsRow | undefined): string {
  const f = fulcrum?.result?.queriesPerSec;
  const g = gdnsd?.result?.queriesPerSec;
  if (f === undefined || g === undefined || g <= 0) return 'not measured in this run';
  const busy = (row: DnsRow | undefined): boolean => (row?.serverCpu ?? 0) >= SATURATED;
  if (busy(fulcrum) && busy(gdnsd)) return `${(f / g).toFixed(2)}×: ${f / g >= TARGET ? 'met' : 'missed'}`;
  const fc = perCpuSecond(fulcrum);
  const gc = perCpuSecond(gdnsd);
  if (fc === undefined || gc === undefined) return `${(f / g).toFixed(2)}× in throughput, CPU time unknown: not judged`;
  const idle = [fulcrum, gdnsd].filter((row) => !busy(row)).map((row) => `${row!.server} ${Math.round((row!.serverCpu ?? 0) * 100)}%`);
  return `${(fc / gc).toFixed(2)}× per CPU-second: ${fc / gc >= TARGET ? 'met' : 'missed'} (throughput ${(f / g).toFixed(2)}×, not judged: ${idle.join(', ')} of a core, so dnsperf or another process, not the server, was the limit)`;
}
