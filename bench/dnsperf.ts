/**
 * dnsperf (DNS-OARC) as the DNS load generator of the bench: runs it pinned like wrk and reads
 * the numbers from its "Statistics:" block.
 */
import { writeFile } from 'node:fs/promises';
import { run } from '../test/helpers/processes.ts';
import { peer } from '../interop/peers.ts';

export interface DnsperfOptions {
  /** "127.0.0.1" */
  server: string;
  port: number;
  /** The query file: one "NAME TYPE" a line (dnsperf cycles through it). */
  queryFile: string;
  durationS: number;
  /** -c: clients, each with its own socket (source port), so SO_REUSEPORT can spread them over workers. */
  clients: number;
  /** -q: queries in flight at once, over all clients. */
  outstanding: number;
  /** taskset -c for dnsperf, e.g. "1"; undefined leaves it unpinned. */
  cpus?: string | undefined;
}

export interface DnsperfResult {
  sent: number;
  completed: number;
  lost: number;
  queriesPerSec: number;
  /** "Run time (s)": from the first query sent to the last answer or timeout. */
  runTimeS: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
  /** "NOERROR 1234 (100.00%)", as dnsperf prints it. */
  responseCodes: string;
  avgResponseBytes: number;
  raw: string;
}

/** Writes a dnsperf query file with these lines ("www.bench.lab A") and returns its path. */
export async function writeQueryFile(file: string, lines: readonly string[]): Promise<string> {
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

export async function runDnsperf(options: DnsperfOptions): Promise<DnsperfResult> {
  const args = [
    ...['-s', options.server, '-p', String(options.port), '-d', options.queryFile],
    ...['-l', String(options.durationS), '-c', String(options.clients), '-q', String(options.outstanding)],
  ];
  // dnsperf waits up to its query timeout (-t, 5 s) for the last answers after the time limit.
  const { stdout, stderr } = await run(peer('dnsperf'), args, {
    timeoutMs: (options.durationS + 30) * 1000,
    ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
  });
  return parseDnsperf(`${stdout}${stderr}`);
}

/**
 * The statistics dnsperf 2.x prints at the end of a run:
 *
 *   Queries sent:         426177
 *   Queries completed:    426177 (100.00%)
 *   Queries lost:         0 (0.00%)
 *   Response codes:       NOERROR 426177 (100.00%)
 *   Average packet size:  request 31, response 47
 *   Queries per second:   85099.156251
 *   Average Latency (s):  0.001683 (min 0.000020, max 0.071757)
 */
export function parseDnsperf(text: string): DnsperfResult {
  const number = (label: string): number => {
    const m = new RegExp(`^\\s*${label}:\\s+([0-9.]+)`, 'm').exec(text);
    if (m === null) throw new Error(`dnsperf output has no "${label}" line:\n${text.slice(-2000)}`);
    return Number(m[1]);
  };
  const latency = /^\s*Average Latency \(s\):\s+([0-9.]+) \(min [0-9.]+, max ([0-9.]+)\)/m.exec(text);
  return {
    sent: number('Queries sent'),
    completed: number('Queries completed'),
    lost: number('Queries lost'),
    queriesPerSec: number('Queries per second'),
    runTimeS: number('Run time \\(s\\)'),
    avgLatencyMs: latency === null ? Number.NaN : Number(latency[1]) * 1000,
    maxLatencyMs: latency === null ? Number.NaN : Number(latency[2]) * 1000,
    responseCodes: /^\s*Response codes:\s+(.*)$/m.exec(text)?.[1]?.trim() ?? '',
    avgResponseBytes: Number(/^\s*Average packet size:\s+request \d+, response (\d+)/m.exec(text)?.[1] ?? Number.NaN),
    raw: text,
  };
}

/** "DNS Performance Testing Tool\nVersion 2.10.0" → "dnsperf 2.10.0". */
export async function dnsperfVersion(): Promise<string> {
  const { stdout, stderr } = await run(peer('dnsperf'), ['-h'], { allowFailure: true, timeoutMs: 5000 });
  const version = /^Version (\S+)/m.exec(`${stdout}${stderr}`)?.[1];
  return version === undefined ? 'dnsperf' : `dnsperf ${version}`;
}
