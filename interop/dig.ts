/**
 * dig as a real DNS client peer, with a minimal parse of its default output: the header's status
 * and flags and the ANSWER section.
 */
import { run } from '../test/helpers/processes.ts';
import { peer } from './peers.ts';

export interface DigAnswer {
  /** Absolute, as dig prints it: "www.example.test." */
  name: string;
  type: string;
  ttl: number;
  /** The rest of the line: "192.0.2.10", "\"hello world\"" */
  data: string;
}

export interface DigResult {
  stdout: string;
  /** "NOERROR", "NXDOMAIN", "REFUSED", ... */
  status: string;
  /** Header flags: "qr", "aa", "rd", "ra", ... */
  flags: string[];
  answers: DigAnswer[];
  /** "UDP" or "TCP", from the ";; SERVER:" line. */
  transport: string;
}

/**
 * Runs `dig +tries=1 +time=2 ARGS`, e.g. `dig(['@127.0.0.1', '-p', '5353', 'www.example.test', 'A', '+tcp'])`.
 * Rejects when no server answered (dig exits 9: "connection timed out; no servers could be reached").
 */
export async function dig(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<DigResult> {
  const { stdout } = await run(peer('dig'), ['+tries=1', '+time=2', ...args], { timeoutMs: options.timeoutMs ?? 15_000 });
  return parseDig(stdout);
}

export function parseDig(stdout: string): DigResult {
  const status = /status: ([A-Z]+)/.exec(stdout)?.[1] ?? '';
  const flags = /^;; flags: ([^;]*);/m.exec(stdout)?.[1]?.trim().split(/\s+/) ?? [];
  const transport = /^;; SERVER: .*\((UDP|TCP)\)$/m.exec(stdout)?.[1] ?? '';
  const answers: DigAnswer[] = [];
  const start = stdout.indexOf(';; ANSWER SECTION:\n');
  const section = start < 0 ? '' : (stdout.slice(start).split('\n\n')[0] ?? '');
  for (const line of section.split('\n').slice(1)) {
    const m = /^(\S+)\s+(\d+)\s+\S+\s+(\S+)\s+(.*)$/.exec(line);
    if (m) answers.push({ name: m[1]!, ttl: Number(m[2]), type: m[3]!, data: m[4]! });
  }
  return { stdout, status, flags, answers, transport };
}
