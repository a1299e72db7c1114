/**
 * Runs wrk and parses its report. Shared by the interop suite and the bench.
 */
import { run } from '../test/helpers/processes.ts';
import { peer } from './peers.ts';

export interface WrkOptions {
  url: string;
  threads?: number;
  connections?: number;
  /** Seconds (wrk -d). */
  durationS: number;
  /** Per-request timeout in seconds (wrk --timeout); default 5. */
  timeoutS?: number;
  /** Pin wrk with `taskset -c`. */
  cpus?: string;
  /** Extra request headers, "Name: value". */
  headers?: readonly string[];
  /** Path of a Lua script (wrk -s). */
  script?: string;
  /** Arguments passed to the script after `--`. */
  scriptArgs?: readonly string[];
}

export interface WrkResult {
  requests: number;
  durationS: number;
  requestsPerSec: number;
  /** Latency percentiles in milliseconds. */
  latencyMs: { p50: number; p75: number; p90: number; p99: number };
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  /** wrk counts responses with status > 399 here (its "Non-2xx or 3xx responses" line). */
  errorResponses: number;
  bytesRead: number;
  /** The full report, for error messages. */
  raw: string;
}

export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const args = [
    '-t',
    String(options.threads ?? 1),
    '-c',
    String(options.connections ?? 50),
    '-d',
    `${options.durationS}s`,
    '--timeout',
    `${options.timeoutS ?? 5}s`,
    '--latency',
  ];
  for (const h of options.headers ?? []) args.push('-H', h);
  if (options.script !== undefined) args.push('-s', options.script);
  args.push(options.url);
  if (options.scriptArgs !== undefined) args.push('--', ...options.scriptArgs);
  const { stdout } = await run(peer('wrk'), args, {
    ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
    timeoutMs: (options.durationS + (options.timeoutS ?? 5) + 30) * 1000,
  });
  return parseWrk(stdout);
}

const unitMs: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const unitBytes: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

function durationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`cannot parse wrk duration '${text}'`);
  return Number(m[1]) * (unitMs[m[2] ?? ''] ?? NaN);
}

/** Parses wrk 4.x output (with --latency). Throws, quoting the report, if a required line is missing. */
export function parseWrk(raw: string): WrkResult {
  const need = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(raw);
    if (!m) throw new Error(`wrk output has no ${what}:\n${raw}`);
    return m;
  };
  const total = need(/^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)([KMGT]?B) read/m, 'request total');
  const rps = need(/^Requests\/sec:\s+([\d.]+)/m, 'Requests/sec');
  const pct = (p: string): number => {
    const m = need(new RegExp(`^\\s+${p}%\\s+([\\d.]+(?:us|ms|s|m|h))`, 'm'), `${p}% latency (run with --latency)`);
    return durationMs(m[1] ?? '');
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  const non = /Non-2xx or 3xx responses: (\d+)/.exec(raw);
  return {
    requests: Number(total[1]),
    durationS: durationMs(`${total[2]}${total[3]}`) / 1000,
    requestsPerSec: Number(rps[1]),
    latencyMs: { p50: pct('50'), p75: pct('75'), p90: pct('90'), p99: pct('99') },
    socketErrors: {
      connect: Number(sock?.[1] ?? 0),
      read: Number(sock?.[2] ?? 0),
      write: Number(sock?.[3] ?? 0),
      timeout: Number(sock?.[4] ?? 0),
    },
    errorResponses: Number(non?.[1] ?? 0),
    bytesRead: Number(total[4]) * (unitBytes[total[5] ?? ''] ?? NaN),
    raw,
  };
}
