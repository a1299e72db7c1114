// What the TLS-to-the-real-servers tests share: one http service in front of pool "web" (one
// retry), a GET through it, and the access log's last line.
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { rawExchange } from '../l7/harness.ts';

export interface LogLine {
  termination?: string;
  error?: string;
}

/** A config whose service on `port` sends to pool "web" (`pool` its keys), logging to `log`. */
export function poolConfig(log: string, port: number, pool: Record<string, unknown>): string {
  return stringify({ workers: 1, accessLog: { path: log }, pools: [{ name: 'web', ...pool }], virtualServices: [{ name: 'front', listen: `127.0.0.1:${port}`, protocol: 'http', pool: 'web', retries: 1 }] });
}

export async function get(port: number): Promise<{ status: number; body: string }> {
  const res = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: www.surveyor.lab\r\nConnection: close\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(res.text)?.[1] ?? 0);
  return { status, body: res.text.slice(res.text.indexOf('\r\n\r\n') + 4) };
}

/** The log's last line once `want` accepts it (the worker writes it after answering), or after a second. */
export async function lastLogLine(log: string, want: (line: LogLine) => boolean): Promise<LogLine> {
  let last: LogLine = {};
  for (let i = 0; i < 100; i++) {
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    last = JSON.parse(lines[lines.length - 1]!) as LogLine;
    if (want(last)) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return last;
}
