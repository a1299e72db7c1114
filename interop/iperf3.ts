/**
 * iperf3 as a bulk-TCP peer: a server in the foreground on a loopback port and a client whose
 * JSON report gives what the receiving side counted.
 *
 * An iperf3 test is a control connection plus one data connection per stream, all to the same
 * port, and the server matches them by a cookie: behind a balancer they must all reach the same
 * real server (persistence by client address). One server runs one test at a time; a second
 * client meanwhile is told "the server is busy running a test".
 */
import { run, startProcess, type Exit, type ManagedProcess } from '../test/helpers/processes.ts';
import { peer } from './peers.ts';

export interface Iperf3Server {
  host: string;
  port: number;
  /** "HOST:PORT" */
  address: string;
  proc: ManagedProcess;
  stop(): Promise<Exit>;
}

export interface Iperf3ServerOptions {
  /** Bind address (default 127.0.0.1). */
  host?: string;
  /** Exit after one test (--one-off). Default: serve tests one after another until stopped. */
  oneOff?: boolean;
}

export async function startIperf3Server(port: number, options: Iperf3ServerOptions = {}): Promise<Iperf3Server> {
  const host = options.host ?? '127.0.0.1';
  let listening!: () => void;
  const ready = new Promise<void>((resolve) => {
    listening = resolve;
  });
  let seen = '';
  // A probe connection would count as a test (and end a --one-off server): wait for iperf3's own
  // "Server listening on PORT" instead, which --forceflush writes at once to a pipe.
  const args = ['-s', '-B', host, '-p', String(port), '--forceflush', ...(options.oneOff ? ['--one-off'] : [])];
  const proc = startProcess(`iperf3 -s ${host}:${port}`, peer('iperf3'), args, {
    onStdout: (chunk) => {
      seen += chunk;
      if (seen.includes('Server listening on')) listening();
    },
  });
  const outcome = await Promise.race([
    ready.then(() => 'ready' as const),
    proc.exited.then(() => 'exited' as const),
    new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref()),
  ]);
  if (outcome !== 'ready') {
    await proc.stop('SIGKILL');
    throw new Error(`iperf3 server on ${host}:${port} did not start (${outcome})\n${proc.output.stderr}${proc.output.stdout}`);
  }
  return { host, port, address: `${host}:${port}`, proc, stop: () => proc.stop('SIGTERM', 5000) };
}

export interface Iperf3ClientOptions {
  host: string;
  port: number;
  /** Test length (-t). */
  seconds: number;
  /** Parallel streams (-P), each its own data connection. */
  parallel?: number;
  /** Server sends, client receives (-R). */
  reverse?: boolean;
}

export interface Iperf3Result {
  /** end.sum_received.bits_per_second: what the receiving side counted, all streams together. */
  bitsPerSecond: number;
  /** end.sum_received.bytes */
  bytes: number;
  /** The whole `iperf3 -J` report. */
  json: Record<string, unknown>;
}

/** Runs `iperf3 -c HOST -p PORT -t SECONDS -J`; rejects with iperf3's own error ("unable to connect ...", "the server is busy ..."). */
export async function runIperf3Client(options: Iperf3ClientOptions): Promise<Iperf3Result> {
  const args = ['-c', options.host, '-p', String(options.port), '-t', String(options.seconds), '-J', '--connect-timeout', '5000'];
  if (options.parallel !== undefined) args.push('-P', String(options.parallel));
  if (options.reverse) args.push('-R');
  const { stdout, stderr, code } = await run(peer('iperf3'), args, { timeoutMs: (options.seconds + 20) * 1000, allowFailure: true });
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`iperf3 ${args.join(' ')} exited with ${code} and no JSON report\n${stderr}${stdout.slice(0, 2000)}`);
  }
  const sum = (json['end'] as { sum_received?: { bits_per_second?: number; bytes?: number } } | undefined)?.sum_received;
  if (code !== 0 || typeof json['error'] === 'string' || sum?.bits_per_second === undefined || sum.bytes === undefined) {
    throw new Error(`iperf3 ${args.join(' ')} failed (exit ${code}): ${String(json['error'] ?? 'no end.sum_received in the report')}\n${stderr}`);
  }
  return { bitsPerSecond: sum.bits_per_second, bytes: sum.bytes, json };
}
