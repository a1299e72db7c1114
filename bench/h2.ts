/**
 * The HTTP/2 row of `npm run bench` (issue 11): `h2load -c 100 -m 10` over TLS 1.3 against each
 * proxy of h2-proxies.ts, 100-byte responses from the backend nginx (HTTP/1.1 behind the proxy).
 * The same pinning as every row: the proxy on core 0, h2load and the backend nginx on core 1.
 *
 * h2load sends the URL's host as SNI and :authority; `--connect-to` makes it connect to 127.0.0.1.
 * It prints no percentiles (a --log-file would cost core 1 a line per request), so the table gives
 * its mean and max time per request.
 *
 * The check before a column is measured, both through h2:
 * - Node's http2 client, SNI www.surveyor.lab, the test root as the only trusted CA: a verified
 *   chain, TLS 1.3, ALPN h2, the ECDSA leaf (SHA-256 fingerprint), status 200 and the 100-byte body;
 * - h2load itself (the system OpenSSL, as in the measured run), 100 requests on one connection:
 *   TLS 1.3, h2, 100 succeeded with 2xx and 100 × 100 bytes of data. What it negotiated (suite,
 *   group) goes in the table.
 */
import { readFile } from 'node:fs/promises';
import http2 from 'node:http2';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { startProcess } from '../test/helpers/processes.ts';
import { peer } from '../interop/peers.ts';
import { cpuSeconds } from './dns.ts';
import { cell, firstLine, fmtMs, fmtRatio, fmtRps } from './format.ts';
import { H2_PROXIES, type RunningH2Proxy } from './h2-proxies.ts';
import { cpuOpt } from './proxies.ts';
import { BODY_100 } from './scenarios.ts';
import { CERTIFICATES, TLS_ROOT_CA, TLS_SERVER_NAME } from './tls-proxies.ts';

export const H2_SCENARIOS = [
  {
    name: 'h2',
    description: 'HTTP/2 over TLS 1.3 (ECDSA P-256): `h2load -c 100 -m 10 -t 1`, 100 connections with 10 streams each in flight, GET /, 100-byte response; HTTP/1.1 from the proxy to nginx',
  },
] as const;

/** Issue 11's target: Fulcrum's requests/s at least this fraction of nginx's. */
const TARGET_VS_NGINX = 0.5;
/** Below this share of its core, a one-core proxy was not the limit of its run (as in tls.ts). */
const SATURATED = 0.9;
const CLIENTS = 100;
const STREAMS = 10;

export interface H2Row {
  proxy: string;
  rps?: number;
  meanMs?: number;
  maxMs?: number;
  /** CPU time of the proxy's processes per second of the measured run: 1 is its core busy. */
  proxyCpu?: number;
  /**
   * How busy the proxy's core was during the run, whoever used it (/proc/stat): the proxy, the
   * kernel's softirq network work that no process is charged for, and any other process.
   */
  coreBusy?: number;
  /** The same for the load side's core (h2load and the backend nginx). */
  loadCoreBusy?: number;
  /** What h2load's OpenSSL negotiated, e.g. "TLSv1.3, TLS_AES_256_GCM_SHA384, X25519, h2". */
  negotiated?: string;
  notes: string[];
  error?: string;
}

export interface H2Options {
  proxies: readonly string[];
  durationS: number;
  warmupS: number;
  proxyCpus: string | undefined;
  loadCpus: string | undefined;
  dir: string;
  /** The backend nginx, "127.0.0.1:PORT". */
  backend: string;
  /** Fulcrum's CPU profile dir for this row, if one is wanted. */
  cpuProfileDir: string | undefined;
  log: (msg: string) => void;
}

export interface H2loadResult {
  rps: number;
  total: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  /** Responses by class: [2xx, 3xx, 4xx, 5xx]. */
  statusClasses: number[];
  dataBytes: number;
  meanMs: number;
  maxMs: number;
  negotiated: string;
  raw: string;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };

/** Parses h2load's report (nghttp2 1.52). */
export function parseH2load(raw: string): H2loadResult {
  const num = (re: RegExp, what: string): number => {
    const m = re.exec(raw);
    if (m === null) throw new Error(`h2load: no ${what} in its report:\n${raw.slice(-2000)}`);
    return Number(m[1]);
  };
  const requests = /^requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/m.exec(raw);
  const status = /^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m.exec(raw);
  const times = /^time for request:\s+\S+?(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)/m.exec(raw);
  if (requests === null || status === null || times === null) throw new Error(`h2load: unexpected report:\n${raw.slice(-2000)}`);
  const field = (name: string): string => new RegExp(`^${name}: (.+)$`, 'm').exec(raw)?.[1]?.trim() ?? '?';
  return {
    rps: num(/^finished in [\d.]+m?s, ([\d.]+) req\/s/m, 'req/s'),
    total: Number(requests[1]),
    succeeded: Number(requests[2]),
    failed: Number(requests[3]),
    errored: Number(requests[4]),
    timeout: Number(requests[5]),
    statusClasses: status.slice(1, 5).map(Number),
    dataBytes: num(/^traffic: .*, \S+ \((\d+)\) data$/m, 'data bytes'),
    maxMs: Number(times[2]) * UNIT_MS[times[3]!]!,
    meanMs: Number(times[4]) * UNIT_MS[times[5]!]!,
    // "Server Temp Key: X25519 253 bits" -> X25519
    negotiated: [field('TLS Protocol'), field('Cipher'), field('Server Temp Key').split(' ')[0], field('Application protocol')].join(', '),
    raw,
  };
}

interface H2loadRun {
  port: number;
  clients: number;
  streams: number;
  /** Seconds (-D), or a request count (-n). */
  duration?: number;
  requests?: number;
  cpus: string | undefined;
}

/**
 * h2load still running well after its run, with connections to the proxy open: no report.
 * h2load 1.52 stops its clients at the end of the duration by terminating their HTTP/2 sessions;
 * a client whose TLS handshake had not finished then has no session to terminate, and once
 * connected it sends requests until killed. A proxy that accepts or handshakes slowly at the
 * start (a cold worker) triggers it; Fulcrum did, with one listening socket per worker
 * (src/worker/accept-group.ts).
 */
export class H2loadHang extends Error {}

/** How long after its duration h2load may take to exit (it waits for the streams in flight). */
const EXIT_GRACE_S = 10;

/** Established connections whose local port is `port` (/proc/net/tcp, state 01): the proxy's side of the clients'. */
async function establishedOn(port: number): Promise<number> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const text = await readFile('/proc/net/tcp', 'utf8').catch(() => '');
  return text.split('\n').filter((line) => {
    const f = line.trim().split(/\s+/);
    return f[3] === '01' && f[1]?.endsWith(hex);
  }).length;
}

export async function runH2load({ port, clients, streams, duration, requests, cpus }: H2loadRun): Promise<H2loadResult> {
  const args = ['-t', '1', '-c', String(clients), '-m', String(streams), `--connect-to=127.0.0.1:${port}`];
  if (duration !== undefined) args.push('-D', String(duration));
  if (requests !== undefined) args.push('-n', String(requests));
  const proc = startProcess('h2load', peer('h2load'), [...args, `https://${TLS_SERVER_NAME}:${port}/`], cpuOpt(cpus));
  let hang: string | undefined;
  const timer = setTimeout(
    () =>
      void establishedOn(port).then((open) => {
        hang = `h2load did not exit ${EXIT_GRACE_S} s after its run (${open} connections to the proxy still open) and was killed`;
        proc.child.kill('SIGKILL');
      }),
    ((duration ?? 20) + EXIT_GRACE_S) * 1000,
  );
  const exit = await proc.exited;
  clearTimeout(timer);
  if (hang !== undefined) throw new H2loadHang(hang);
  if (exit.code !== 0) throw new Error(`h2load exited with ${exit.code ?? exit.signal}: ${proc.output.stderr.trim().split('\n').at(-1) ?? ''}\n${proc.output.stdout.slice(-2000)}`);
  return parseH2load(proc.output.stdout);
}

/** An HTTP/2 session to the proxy on `port`: SNI www.surveyor.lab, the test root as the only CA. */
export function connectH2(port: number, ca: Buffer): { session: http2.ClientHttp2Session; socket: tls.TLSSocket } {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: TLS_SERVER_NAME, ca, ALPNProtocols: ['h2'] });
  return { socket, session: http2.connect(`https://${TLS_SERVER_NAME}:${port}`, { createConnection: () => socket }) };
}

/** GET / on `session`; resolves once the response is read in full, rejects on a session or stream error. */
export function getOverH2(session: http2.ClientHttp2Session): Promise<{ status: number; bodyBytes: number }> {
  return new Promise((resolve, reject) => {
    session.once('error', reject);
    const req = session.request({ ':path': '/' }, { signal: AbortSignal.timeout(30_000) });
    let status = 0;
    let bodyBytes = 0;
    req.on('response', (headers) => (status = Number(headers[':status'])));
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on('end', () => {
      session.off('error', reject);
      resolve({ status, bodyBytes });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Throws unless a response is 200 with the 100-byte body. */
export function expectBody100(what: string, status: number, bodyBytes: number): void {
  if (status !== 200) throw new Error(`${what}: status ${status}`);
  if (bodyBytes !== BODY_100.length) throw new Error(`${what}: body of ${bodyBytes} bytes, expected ${BODY_100.length}`);
}

/** One GET / through node:http2 with the test root as the only CA; throws unless it is as the header says. */
async function checkWithNode(port: number): Promise<void> {
  const expected = new X509Certificate(await readFile(CERTIFICATES.ecdsa.cert)).fingerprint256;
  const { session, socket } = connectH2(port, await readFile(TLS_ROOT_CA));
  try {
    const { status, bodyBytes } = await getOverH2(session);
    if (socket.getProtocol() !== 'TLSv1.3') throw new Error(`check request: ${socket.getProtocol() ?? 'no protocol'}, expected TLSv1.3`);
    if (socket.alpnProtocol !== 'h2') throw new Error(`check request: ALPN ${String(socket.alpnProtocol)}, expected h2`);
    if (socket.getPeerX509Certificate()?.fingerprint256 !== expected) throw new Error('check request: a certificate other than ECDSA P-256 www.surveyor.lab');
    expectBody100('check request', status, bodyBytes);
  } finally {
    session.destroy();
  }
}

/** The column's check (see the header); returns what h2load negotiated. */
export async function checkH2Column(port: number, cpus: string | undefined): Promise<string> {
  await checkWithNode(port);
  const n = 100;
  const r = await runH2load({ port, clients: 1, streams: STREAMS, requests: n, cpus });
  if (!r.negotiated.startsWith('TLSv1.3, ') || !r.negotiated.endsWith(', h2')) throw new Error(`h2load check: negotiated ${r.negotiated}, expected TLSv1.3 and h2`);
  if (r.succeeded !== n || r.statusClasses[0] !== n) throw new Error(`h2load check: ${r.succeeded} of ${n} succeeded, status classes ${r.statusClasses.join('/')}`);
  if (r.dataBytes !== n * BODY_100.length) throw new Error(`h2load check: ${r.dataBytes} bytes of data, expected ${n * BODY_100.length}`);
  return r.negotiated;
}

/** Busy and total time (clock ticks) of the CPUs in `cpus` ("0", "0-1", "0,1") so far, from /proc/stat. */
async function cpuTimes(cpus: string): Promise<{ busy: number; total: number }> {
  const wanted = new Set<string>();
  for (const part of cpus.split(',')) {
    const [from = 0, to = from] = part.split('-').map(Number);
    for (let c = from; c <= to; c++) wanted.add(`cpu${c}`);
  }
  let busy = 0;
  let total = 0;
  for (const line of (await readFile('/proc/stat', 'utf8')).split('\n')) {
    const [name, ...fields] = line.split(/\s+/);
    if (name === undefined || !wanted.has(name)) continue;
    // user nice system idle iowait irq softirq steal: idle and iowait are the idle ones.
    const ticks = fields.slice(0, 8).map(Number);
    const sum = ticks.reduce((a, b) => a + b, 0);
    total += sum;
    busy += sum - (ticks[3] ?? 0) - (ticks[4] ?? 0);
  }
  return { busy, total };
}

/** Starts counting the CPU time of the run: the proxy's processes, and how busy each side's core is. */
async function cpuMeter(running: RunningH2Proxy, options: H2Options): Promise<(durationS: number) => Promise<Pick<H2Row, 'proxyCpu' | 'coreBusy' | 'loadCoreBusy'>>> {
  const busySince = async (cpus: string | undefined): Promise<() => Promise<number | undefined>> => {
    if (cpus === undefined) return () => Promise.resolve(undefined);
    const before = await cpuTimes(cpus);
    return async () => {
      const after = await cpuTimes(cpus);
      return (after.busy - before.busy) / Math.max(1, after.total - before.total);
    };
  };
  const proxyCore = await busySince(options.proxyCpus);
  const loadCore = await busySince(options.loadCpus);
  const before = await cpuSeconds(running.cpuPids);
  return async (durationS) => {
    const proxyCpu = ((await cpuSeconds(running.cpuPids)) - before) / durationS;
    const coreBusy = await proxyCore();
    const loadCoreBusy = await loadCore();
    return { proxyCpu, ...(coreBusy !== undefined ? { coreBusy } : {}), ...(loadCoreBusy !== undefined ? { loadCoreBusy } : {}) };
  };
}

async function measure(running: RunningH2Proxy, options: H2Options): Promise<Pick<H2Row, 'rps' | 'meanMs' | 'maxMs' | 'proxyCpu' | 'coreBusy' | 'loadCoreBusy' | 'notes'>> {
  const load = { port: running.port, clients: CLIENTS, streams: STREAMS, cpus: options.loadCpus };
  const notes: string[] = [];
  // A run that hangs (H2loadHang) gives no report: the warm-up's is not needed, the measured run
  // is made once more. Either way the row says so.
  if (options.warmupS > 0) {
    await runH2load({ ...load, duration: options.warmupS }).catch((err: unknown) => {
      if (!(err instanceof H2loadHang)) throw err;
      notes.push(`warm-up: ${err.message}`);
    });
  }
  let cpu = await cpuMeter(running, options);
  let r: H2loadResult;
  try {
    r = await runH2load({ ...load, duration: options.durationS });
  } catch (err) {
    if (!(err instanceof H2loadHang)) throw err;
    notes.push(`${err.message}; measured again`);
    cpu = await cpuMeter(running, options);
    r = await runH2load({ ...load, duration: options.durationS });
  }
  const used = await cpu(options.durationS);
  if (r.succeeded === 0) throw new Error(`h2load: no request succeeded:\n${r.raw.slice(-2000)}`);
  if (r.failed + r.errored + r.timeout > 0) notes.push(`h2load: ${r.failed} failed, ${r.errored} errored, ${r.timeout} timeout`);
  const [, s3 = 0, s4 = 0, s5 = 0] = r.statusClasses;
  if (s3 + s4 + s5 > 0) notes.push(`status codes: ${r.statusClasses.join(' / ')} (2xx / 3xx / 4xx / 5xx)`);
  return { rps: r.rps, meanMs: r.meanMs, maxMs: r.maxMs, ...used, notes };
}

export async function runH2(options: H2Options): Promise<H2Row[]> {
  const { log } = options;
  const rows: H2Row[] = [];
  for (const def of H2_PROXIES.filter((p) => options.proxies.includes(p.name))) {
    const row: H2Row = { proxy: def.name, notes: [] };
    rows.push(row);
    let running: RunningH2Proxy;
    try {
      running = await def.start({
        backend: options.backend,
        cpus: options.proxyCpus,
        dir: options.dir,
        cpuProfileDir: def.name === 'fulcrum' ? options.cpuProfileDir : undefined,
      });
    } catch (err) {
      log(`${def.name} h2: failed to start: ${firstLine(err)}`);
      row.error = `failed to start: ${firstLine(err)}`;
      continue;
    }
    try {
      row.negotiated = await checkH2Column(running.port, options.loadCpus);
      Object.assign(row, await measure(running, options));
      log(`${def.name} h2: ${fmtRps(row.rps ?? 0)} req/s, mean ${fmtMs(row.meanMs ?? 0)}, proxy CPU ${pct(row.proxyCpu)}, cores busy ${pct(row.coreBusy)} / ${pct(row.loadCoreBusy)} (${row.negotiated})`);
    } catch (err) {
      log(`${def.name} h2: ${firstLine(err)}`);
      row.error = firstLine(err);
    } finally {
      await running.stop().catch((err: unknown) => log(`${def.name}: stop failed: ${firstLine(err)}`));
    }
  }
  return rows;
}

const pct = (share: number | undefined): string => (share === undefined ? '' : `${Math.round(share * 100)}%`);

function perCpuSecond(row: H2Row | undefined): number | undefined {
  if (row?.rps === undefined || row.proxyCpu === undefined || row.proxyCpu <= 0) return undefined;
  return row.rps / row.proxyCpu;
}

/** Throughput when both kept their core busy, per CPU-second otherwise (saying so), as tls.ts judges its targets. */
function verdict(fulcrum: H2Row | undefined, nginx: H2Row | undefined): string {
  const f = fulcrum?.rps;
  const n = nginx?.rps;
  if (f === undefined || n === undefined || n <= 0) return 'not measured in this run';
  const busy = (row: H2Row | undefined): boolean => (row?.proxyCpu ?? 0) >= SATURATED;
  const judge = (ratio: number): string => (ratio >= TARGET_VS_NGINX ? 'met' : 'missed');
  if (busy(fulcrum) && busy(nginx)) return `${(f / n).toFixed(2)}×: ${judge(f / n)}`;
  const fc = perCpuSecond(fulcrum);
  const nc = perCpuSecond(nginx);
  if (fc === undefined || nc === undefined) return `${(f / n).toFixed(2)}× in throughput, CPU time unknown: not judged`;
  const idle = [fulcrum!, nginx!]
    .filter((row) => !busy(row))
    .map((row) => `${row.proxy} ${pct(row.proxyCpu)}`);
  return (
    `${(fc / nc).toFixed(2)}× per CPU-second: ${judge(fc / nc)} (throughput ${(f / n).toFixed(2)}×, not judged: ${idle.join(', ')} of a core, ` +
    'so something other than its own work set the pace: the load side, or other processes on its core; see the core busy columns)'
  );
}

export function renderH2Table(rows: readonly H2Row[], header: readonly string[]): string {
  const out: string[] = [...header, ''];
  out.push('| proxy | requests/s | mean | max | vs nginx | vs HAProxy | proxy CPU | proxy core busy | load core busy | per CPU-second | vs nginx per CPU | h2load negotiated | notes |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|');
  const find = (proxy: string): H2Row | undefined => rows.find((r) => r.proxy === proxy && r.rps !== undefined);
  const nginx = find('nginx');
  const haproxy = find('haproxy');
  for (const row of rows) {
    if (row.rps === undefined) {
      out.push(`| ${row.proxy} | error | | | | | | | | | | | ${cell(row.error ?? '')} |`);
      continue;
    }
    const perCpu = perCpuSecond(row);
    const nginxPerCpu = perCpuSecond(nginx);
    out.push(
      `| ${row.proxy} | ${fmtRps(row.rps)} | ${fmtMs(row.meanMs ?? NaN)} | ${fmtMs(row.maxMs ?? NaN)} | ${fmtRatio(row.rps, nginx?.rps)} | ${fmtRatio(row.rps, haproxy?.rps)} | ` +
        `${pct(row.proxyCpu)} | ${pct(row.coreBusy)} | ${pct(row.loadCoreBusy)} | ${perCpu === undefined ? '' : fmtRps(perCpu)} | ` +
        `${perCpu === undefined ? '–' : fmtRatio(perCpu, nginxPerCpu)} | ${cell(row.negotiated ?? '')} | ${cell(row.notes.join('; '))} |`,
    );
  }
  out.push('', `- h2 target: fulcrum ≥ ${TARGET_VS_NGINX}× nginx; ${verdict(find('fulcrum'), nginx)}.`);
  return out.join('\n') + '\n';
}
