/**
 * h2load (nghttp2-client) as a paced HTTP/1.1 load generator: `--h1 --rps=N` sends each
 * connection's requests at N per second, one in flight at a time (HTTP/1.1 without pipelining),
 * and `--log-file` records each request: start, status, microseconds to the end of the response.
 * h2load prints no percentiles; they come from that log.
 *
 * Like wrk (and unlike wrk2), h2load times a request from the moment it is sent: when a response
 * is late, the connection's next requests wait in h2load and their wait is not counted. A proxy
 * that stalls shows up in max and in an achieved rate below the target, not fully in p99.
 */
import { readFile, rm } from 'node:fs/promises';
import { run } from '../test/helpers/processes.ts';
import { peer } from '../interop/peers.ts';

export interface FixedRateOptions {
  url: string;
  connections: number;
  /** Requests per second over all connections. */
  rate: number;
  durationS: number;
  warmupS: number;
  /** "Name: value" request headers; Host becomes h2load's :authority (a second Host would be sent otherwise). */
  headers: readonly string[];
  /** Where h2load writes its per-request log (removed after reading). */
  logFile: string;
  cpus?: string;
}

export interface FixedRateResult {
  /** Responses with a status below 400, per second of the measured period. */
  achievedRps: number;
  requests: number;
  /** Responses with status >= 400, and requests that got no response (h2load logs status -1). */
  errorResponses: number;
  failedRequests: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  raw: string;
}

function h2loadHeader(line: string): string {
  const colon = line.indexOf(':');
  return line.slice(0, colon).trim().toLowerCase() === 'host' ? `:authority: ${line.slice(colon + 1).trim()}` : line;
}

/** Nearest-rank percentile of ascending `sorted`. */
function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

export async function runFixedRate(options: FixedRateOptions): Promise<FixedRateResult> {
  const args = ['--h1', '-t', '1', '-c', String(options.connections), `--rps=${(options.rate / options.connections).toFixed(3)}`];
  for (const h of options.headers) args.push('-H', h2loadHeader(h));
  const h2load = (durationS: number, extra: readonly string[]): Promise<{ stdout: string }> =>
    run(peer('h2load'), [...args, '-D', String(durationS), ...extra, options.url], {
      ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
      timeoutMs: (durationS + 30) * 1000,
    });
  // The warm-up is a run of its own, not h2load's --warm-up-time: requests that a slow start
  // delays stay owed (h2load keeps the average rate), and a warm-up in the same run would pay
  // them back as a burst inside the measured period.
  if (options.warmupS > 0) await h2load(options.warmupS, []);
  const { stdout } = await h2load(options.durationS, [`--log-file=${options.logFile}`]);
  const log = await readFile(options.logFile, 'utf8');
  await rm(options.logFile, { force: true });
  return parseFixedRate(log, options.durationS, stdout);
}

/** Parses h2load's --log-file: "start µs since epoch \t status \t µs to end of response" per line. */
export function parseFixedRate(log: string, durationS: number, raw: string): FixedRateResult {
  const lines = log.split('\n').filter((l) => l !== '');
  const latencies = new Float64Array(lines.length);
  let ok = 0;
  let errorResponses = 0;
  let failedRequests = 0;
  let n = 0;
  for (const line of lines) {
    const [, status, micros] = line.split('\t');
    const code = Number(status);
    if (code < 0) {
      failedRequests++;
      continue;
    }
    if (code >= 400) errorResponses++;
    else ok++;
    latencies[n++] = Number(micros) / 1000;
  }
  const sorted = latencies.subarray(0, n).sort();
  if (n === 0) throw new Error(`h2load logged no response:\n${raw}`);
  return {
    achievedRps: ok / durationS,
    requests: n,
    errorResponses,
    failedRequests,
    latencyMs: { p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99), max: sorted[n - 1] ?? NaN },
    raw,
  };
}
