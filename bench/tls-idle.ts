/**
 * Memory per idle TLS connection and per idle HTTP/2 connection (issue 11), the TLS side of the
 * memory table (memory.ts, idle.ts): each proxy of h2-proxies.ts started afresh, 1,000 warm-up
 * connections opened and closed, RSS read from /proc, then N connections opened that each make one
 * request (GET /, the whole 100-byte response read) and stay open and idle, and RSS read again.
 *
 * - `tls-idle-memory`: HTTP/1.1 keep-alive over TLS 1.3 (ALPN http/1.1).
 * - `h2-idle-memory`: an HTTP/2 session over TLS 1.3 (ALPN h2) that made one request, its stream
 *   closed, the session left open.
 *
 * The client is this process (on core 1): Node's TLS client with SNI www.surveyor.lab and the test
 * root as the only CA, 200 handshakes in flight at a time; node:https with a keep-alive agent of
 * one socket per connection for HTTP/1.1 (the socket stays in the agent, open), node:http2 for h2.
 */
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { rssKiB } from '../test/helpers/fulcrum.ts';
import { cell, firstLine } from './format.ts';
import { H2_PROXIES, type RunningH2Proxy } from './h2-proxies.ts';
import { connectH2, expectBody100, getOverH2 } from './h2.ts';
import type { ProxyContext } from './proxies.ts';
import { TLS_ROOT_CA, TLS_SERVER_NAME } from './tls-proxies.ts';

export const TLS_IDLE_SCENARIOS = [
  { name: 'tls-idle-memory', alpn: 'http/1.1', description: 'HTTP/1.1 keep-alive over TLS 1.3 (ALPN http/1.1), ECDSA P-256: one GET / per connection, then idle' },
  { name: 'h2-idle-memory', alpn: 'h2', description: 'HTTP/2 over TLS 1.3 (ALPN h2), ECDSA P-256: one session per connection, one GET / on it, then idle' },
] as const;
export type TlsIdleScenarioName = (typeof TLS_IDLE_SCENARIOS)[number]['name'];
type Alpn = (typeof TLS_IDLE_SCENARIOS)[number]['alpn'];

const WHAT = "idle connection's request";

/** What the client must close at the end. */
interface Open {
  close(): void;
}

/** One idle connection, opened: resolves once its one response is read in full. */
type Opener = (onClose: () => void) => Promise<Open>;

export interface TlsIdleRow {
  scenario: TlsIdleScenarioName;
  proxy: string;
  connections?: number;
  stillOpen?: number;
  rssBeforeKiB?: number;
  rssAfterKiB?: number;
  error?: string;
}

function openers(port: number, ca: Buffer): Record<Alpn, Opener> {
  const tlsOptions = { host: '127.0.0.1', port, servername: TLS_SERVER_NAME, ca };
  return {
    'http/1.1': (onClose) =>
      new Promise((resolve, reject) => {
        // A keep-alive agent of one socket: after the response the socket waits in it, open.
        const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ALPNProtocols: ['http/1.1'] });
        const req = https.request({ ...tlsOptions, path: '/', agent, headers: { Host: TLS_SERVER_NAME }, signal: AbortSignal.timeout(30_000) }, (res) => {
          let bodyBytes = 0;
          res.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
          res.on('end', () => {
            try {
              expectBody100(WHAT, res.statusCode ?? 0, bodyBytes);
              resolve({ close: () => agent.destroy() });
            } catch (err) {
              agent.destroy();
              reject(err as Error);
            }
          });
        });
        req.on('socket', (socket) => socket.once('close', onClose));
        req.on('error', (err) => {
          agent.destroy();
          reject(err);
        });
        req.end();
      }),
    h2: async (onClose) => {
      const { session } = connectH2(port, ca);
      session.once('close', onClose);
      // Errors after the request (none expected while idle) must not be unhandled.
      session.on('error', () => {});
      try {
        const { status, bodyBytes } = await getOverH2(session);
        expectBody100(WHAT, status, bodyBytes);
      } catch (err) {
        session.destroy();
        throw err;
      }
      return { close: () => session.destroy() };
    },
  };
}

/** Opens `count` connections, 200 handshakes in flight at a time; returns them and how many are still open. */
async function openMany(opener: Opener, count: number): Promise<{ opened: Open[]; open: () => number }> {
  const opened: Open[] = [];
  let closed = 0;
  let next = 0;
  let failure: Error | undefined;
  const worker = async (): Promise<void> => {
    while (next < count && failure === undefined) {
      next++;
      let counted = false;
      try {
        // Only a connection that made its request counts as closed: a failed one is not in `opened`.
        opened.push(await opener(() => counted && closed++));
        counted = true;
      } catch (err) {
        failure ??= new Error(`with ${opened.length - closed} connections open: ${firstLine(err)}`);
      }
    }
  };
  // Every worker stops at the first failure; what they opened until then is closed.
  await Promise.all(Array.from({ length: Math.min(200, count) }, worker));
  if (failure !== undefined) {
    for (const o of opened) o.close();
    throw failure;
  }
  return { opened, open: () => opened.length - closed };
}

async function totalRss(pids: readonly number[]): Promise<number> {
  let sum = 0;
  for (const pid of pids) sum += await rssKiB(pid);
  return sum;
}

async function measure(opener: Opener, running: RunningH2Proxy, count: number): Promise<Omit<TlsIdleRow, 'scenario' | 'proxy'>> {
  // Warm-up: the first connections pay for code, pools and JIT; close them before the baseline.
  const warm = await openMany(opener, Math.min(1000, count));
  for (const o of warm.opened) o.close();
  const rssBeforeKiB = await totalRss(running.memoryPids);
  const idle = await openMany(opener, count);
  try {
    const rssAfterKiB = await totalRss(running.memoryPids);
    return { connections: count, stillOpen: idle.open(), rssBeforeKiB, rssAfterKiB };
  } finally {
    for (const o of idle.opened) o.close();
  }
}

export interface TlsIdleOptions {
  scenarios: readonly TlsIdleScenarioName[];
  proxies: readonly string[];
  connections: number;
  /** The proxies' context: no CPU profile (a profiler's memory would be in the RSS). */
  context: ProxyContext;
  log: (msg: string) => void;
}

export async function runTlsIdle({ scenarios, proxies, connections, context, log }: TlsIdleOptions): Promise<TlsIdleRow[]> {
  const ca = await readFile(TLS_ROOT_CA);
  const rows: TlsIdleRow[] = [];
  for (const s of TLS_IDLE_SCENARIOS.filter((x) => scenarios.includes(x.name))) {
    for (const def of H2_PROXIES.filter((p) => proxies.includes(p.name))) {
      const row: TlsIdleRow = { scenario: s.name, proxy: def.name };
      rows.push(row);
      let running: RunningH2Proxy | undefined;
      try {
        running = await def.start(context);
        Object.assign(row, await measure(openers(running.port, ca)[s.alpn], running, connections));
        log(`${def.name} ${s.name}: ${perConnectionKiB(row)?.toFixed(2)} KiB per idle connection (${row.stillOpen} of ${connections} still open)`);
      } catch (err) {
        log(`${def.name} ${s.name}: ${firstLine(err)}`);
        row.error = firstLine(err);
      } finally {
        await running?.stop().catch((err: unknown) => log(`${def.name}: stop failed: ${firstLine(err)}`));
      }
    }
  }
  return rows;
}

function perConnectionKiB(row: TlsIdleRow | undefined): number | undefined {
  if (row?.rssAfterKiB === undefined || row.rssBeforeKiB === undefined || !row.connections) return undefined;
  return (row.rssAfterKiB - row.rssBeforeKiB) / row.connections;
}

export function renderTlsIdleTable(rows: readonly TlsIdleRow[]): string {
  const out: string[] = ['### Memory per idle TLS and HTTP/2 client connection', ''];
  out.push(
    'Each proxy started afresh with the config of its `h2` row (TLS 1.3, ECDSA P-256, ALPN h2 and http/1.1); 1,000 warm-up connections opened and closed; then each connection makes one request (`GET /`), reads the 100-byte response, and stays open and idle. RSS of the proxy process (Fulcrum: its worker) from /proc before and after. The client is the bench process on core 1.',
    '',
    ...TLS_IDLE_SCENARIOS.filter((s) => rows.some((r) => r.scenario === s.name)).map((s) => `- \`${s.name}\`: ${s.description}`),
    '',
  );
  out.push('| scenario | proxy | idle connections | RSS before | RSS after | KiB per connection | vs HAProxy | still open |');
  out.push('|---|---|---:|---:|---:|---:|---:|---:|');
  const mib = (kib: number | undefined): string => (kib === undefined ? '' : `${(kib / 1024).toFixed(1)} MiB`);
  for (const row of rows) {
    const per = perConnectionKiB(row);
    if (per === undefined) {
      out.push(`| ${row.scenario} | ${row.proxy} | error | | | | | ${cell(row.error ?? '')} |`);
      continue;
    }
    const haproxy = perConnectionKiB(rows.find((r) => r.scenario === row.scenario && r.proxy === 'haproxy'));
    const ratio = haproxy !== undefined && haproxy > 0 ? `${(per / haproxy).toFixed(2)}×` : '–';
    out.push(`| ${row.scenario} | ${row.proxy} | ${row.connections} | ${mib(row.rssBeforeKiB)} | ${mib(row.rssAfterKiB)} | ${per.toFixed(2)} | ${ratio} | ${row.stillOpen} |`);
  }
  return out.join('\n') + '\n';
}
