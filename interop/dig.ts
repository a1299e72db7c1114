/**
 * dig as a real DNS client peer, with a parse of its default output: the header's status and
 * flags, the OPT pseudosection (the server's UDP size and the CLIENT-SUBNET option), the
 * question as echoed, and the ANSWER, AUTHORITY and ADDITIONAL sections.
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

/** An EDNS Client Subnet option (RFC 7871) as dig prints it: "; CLIENT-SUBNET: 10.2.0.0/24/16". */
export interface ClientSubnet {
  /** "10.2.0.0", "2001:db8::" */
  address: string;
  source: number;
  scope: number;
}

export interface DigResult {
  stdout: string;
  /** "NOERROR", "NXDOMAIN", "REFUSED", ... */
  status: string;
  /** Header flags: "qr", "aa", "rd", "ra", ... */
  flags: string[];
  /** The question section's name as the server echoed it (case preserved), "" when there is none. */
  question: string;
  answers: DigAnswer[];
  authority: DigAnswer[];
  /** Without the OPT pseudo-record (see ednsUdpSize). */
  additional: DigAnswer[];
  /** The UDP payload size in the reply's OPT record; null when the reply has no OPT. */
  ednsUdpSize: number | null;
  /** The reply's ECS option; null when it carries none. */
  clientSubnet: ClientSubnet | null;
  /** dig got a truncated UDP reply and asked again over TCP (";; Truncated, retrying in TCP mode."). */
  retriedOverTcp: boolean;
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

/** The records of one ";; NAME SECTION:" block (it ends at the first empty line). */
function section(stdout: string, name: string): DigAnswer[] {
  const start = stdout.indexOf(`;; ${name} SECTION:\n`);
  if (start < 0) return [];
  const block = stdout.slice(start).split('\n\n')[0] ?? '';
  const records: DigAnswer[] = [];
  for (const line of block.split('\n').slice(1)) {
    const m = /^(\S+)\s+(\d+)\s+\S+\s+(\S+)\s+(.*)$/.exec(line);
    if (m) records.push({ name: m[1]!, ttl: Number(m[2]), type: m[3]!, data: m[4]! });
  }
  return records;
}

export function parseDig(stdout: string): DigResult {
  const status = /status: ([A-Z]+)/.exec(stdout)?.[1] ?? '';
  const flags = /^;; flags: ([^;]*);/m.exec(stdout)?.[1]?.trim().split(/\s+/).filter((f) => f !== '') ?? [];
  const transport = /^;; SERVER: .*\((UDP|TCP)\)$/m.exec(stdout)?.[1] ?? '';
  const question = /^;; QUESTION SECTION:\n;(\S+)/m.exec(stdout)?.[1] ?? '';
  const udp = /^; EDNS: version: \d+, flags:[^;]*; udp: (\d+)$/m.exec(stdout)?.[1];
  const ecs = /^; CLIENT-SUBNET: ([0-9a-fA-F.:]+)\/(\d+)\/(\d+)$/m.exec(stdout);
  return {
    stdout,
    status,
    flags,
    question,
    answers: section(stdout, 'ANSWER'),
    authority: section(stdout, 'AUTHORITY'),
    additional: section(stdout, 'ADDITIONAL'),
    ednsUdpSize: udp === undefined ? null : Number(udp),
    clientSubnet: ecs === null ? null : { address: ecs[1]!, source: Number(ecs[2]), scope: Number(ecs[3]) },
    retriedOverTcp: stdout.includes(';; Truncated, retrying in TCP mode.'),
    transport,
  };
}
