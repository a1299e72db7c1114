/**
 * kdig (Knot DNS 3.2) as a second DNS client peer. Its output differs from dig's, so it gets its
 * own parsers into dig's result shape:
 * - `kdig()` runs with `+json`: the reply as RFC 8427 JSON (numeric RCODE and flag fields, one
 *   `rdata<TYPE>` text per record, the OPT as a record whose CLASS is the UDP size and whose
 *   RDATAHEX holds the options, the ECS option decoded here byte by byte). JSON does not say
 *   which transport carried the reply;
 * - `kdigText()` reads the default text ("opcode: QUERY; status: NOERROR", ";; Flags: qr aa",
 *   ";; CLIENT-SUBNET: 10.2.0.0/24/16", ";; From 127.0.0.1@5353(TCP)").
 * A truncated UDP reply makes kdig warn on stderr and ask again over TCP (unless `+ignore`).
 */
import { run } from '../test/helpers/processes.ts';
import type { ClientSubnet, DigAnswer, DigResult } from './dig.ts';
import { peer } from './peers.ts';

export interface KdigResult extends DigResult {
  stderr: string;
  /** The parsed RFC 8427 document (kdig() only). */
  json: Record<string, unknown> | null;
}

const RCODES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 16: 'BADVERS' };
const FLAGS = ['QR', 'AA', 'TC', 'RD', 'RA', 'AD', 'CD'] as const;
/** EDNS option code of Client Subnet (RFC 7871). */
const OPTION_CLIENT_SUBNET = 8;

async function runKdig(args: readonly string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  // +retry=0: one attempt, as dig +tries=1; +timeout=2: seconds per attempt.
  const { stdout, stderr } = await run(peer('kdig'), ['+retry=0', '+timeout=2', ...args], { timeoutMs });
  return { stdout, stderr };
}

/** Runs `kdig +json ARGS`, e.g. `kdig(['@127.0.0.1', '-p', '5353', 'www.example.test', 'A', '+subnet=10.2.0.0/24'])`. */
export async function kdig(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<KdigResult> {
  const { stdout, stderr } = await runKdig(['+json', ...args], options.timeoutMs ?? 15_000);
  return parseKdigJson(stdout, stderr);
}

/** Runs `kdig ARGS` with its default text output. */
export async function kdigText(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<KdigResult> {
  const { stdout, stderr } = await runKdig(args, options.timeoutMs ?? 15_000);
  return parseKdigText(stdout, stderr);
}

function retried(stderr: string): boolean {
  return /WARNING: truncated reply from .* retrying over TCP/.test(stderr);
}

interface JsonRecord {
  NAME: string;
  TYPE: number;
  TYPEname?: string;
  CLASS: number;
  TTL: number;
  RDATAHEX?: string;
  [rdata: string]: unknown;
}

export function parseKdigJson(stdout: string, stderr = ''): KdigResult {
  const start = stdout.search(/^\{/m);
  if (start < 0) throw new Error(`kdig printed no JSON document\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);
  const json = JSON.parse(stdout.slice(start)) as Record<string, unknown>;
  const records = (key: string): JsonRecord[] => (Array.isArray(json[key]) ? (json[key] as JsonRecord[]) : []);
  const toAnswer = (r: JsonRecord): DigAnswer => {
    const type = r.TYPEname ?? `TYPE${r.TYPE}`;
    const text = r[`rdata${type}`];
    // kdig 3.2 ends some rdata texts with a space ('0 issue "letsencrypt.org" ').
    const data = typeof text === 'string' ? text.trim() : `\\# ${(r.RDATAHEX ?? '').length / 2} ${r.RDATAHEX ?? ''}`;
    return { name: r.NAME, type, ttl: r.TTL, data };
  };
  const additional = records('additionalRRs');
  const opt = additional.find((r) => r.TYPE === 41);
  const rcode = Number(json['RCODE']);
  return {
    stdout,
    stderr,
    json,
    status: RCODES[rcode] ?? `RCODE${rcode}`,
    flags: FLAGS.filter((flag) => json[flag] === 1).map((flag) => flag.toLowerCase()),
    question: typeof json['QNAME'] === 'string' ? json['QNAME'] : '',
    answers: records('answerRRs').map(toAnswer),
    authority: records('authorityRRs').map(toAnswer),
    additional: additional.filter((r) => r.TYPE !== 41).map(toAnswer),
    ednsUdpSize: opt === undefined ? null : opt.CLASS,
    clientSubnet: opt === undefined ? null : clientSubnetOf(Buffer.from(opt.RDATAHEX ?? '', 'hex')),
    retriedOverTcp: retried(stderr),
    transport: '',
  };
}

/** The ECS option among an OPT record's options (RFC 6891 6.1.2: CODE, LENGTH, DATA). */
export function clientSubnetOf(rdata: Buffer): ClientSubnet | null {
  for (let pos = 0; pos + 4 <= rdata.length; ) {
    const code = rdata.readUInt16BE(pos);
    const length = rdata.readUInt16BE(pos + 2);
    const data = rdata.subarray(pos + 4, pos + 4 + length);
    pos += 4 + length;
    if (code !== OPTION_CLIENT_SUBNET || data.length < 4) continue;
    // RFC 7871 6: FAMILY (1 IPv4, 2 IPv6), SOURCE PREFIX-LENGTH, SCOPE PREFIX-LENGTH, ADDRESS.
    const family = data.readUInt16BE(0);
    const address = Buffer.alloc(family === 1 ? 4 : 16);
    data.copy(address, 0, 4);
    const text =
      family === 1
        ? [...address].join('.')
        : new URL(`http://[${Array.from({ length: 8 }, (_, i) => address.readUInt16BE(i * 2).toString(16)).join(':')}]/`).hostname.slice(1, -1);
    return { address: text, source: data[2]!, scope: data[3]! };
  }
  return null;
}

/** The records of one ";; NAME SECTION:" block: "www.example.test.   \t20\tIN\tA\t192.0.2.10". */
function textSection(stdout: string, name: string): DigAnswer[] {
  const start = stdout.indexOf(`;; ${name} SECTION:\n`);
  if (start < 0) return [];
  const block = stdout.slice(start).split('\n\n')[0] ?? '';
  const records: DigAnswer[] = [];
  for (const line of block.split('\n').slice(1)) {
    const m = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$/.exec(line);
    if (m) records.push({ name: m[1]!, ttl: Number(m[2]), type: m[3]!, data: m[4]!.trim() });
  }
  return records;
}

export function parseKdigText(stdout: string, stderr = ''): KdigResult {
  const ecs = /^;; CLIENT-SUBNET: ([0-9a-fA-F.:]+)\/(\d+)\/(\d+)$/m.exec(stdout);
  const udp = /^;; Version: \d+; flags: [^;]*; UDP size: (\d+) B/m.exec(stdout)?.[1];
  return {
    stdout,
    stderr,
    json: null,
    status: /status: ([A-Z]+);/.exec(stdout)?.[1] ?? '',
    flags: /^;; Flags: ([^;]*);/m.exec(stdout)?.[1]?.trim().split(/\s+/).filter((f) => f !== '') ?? [],
    question: /^;; QUESTION SECTION:\n;; (\S+)/m.exec(stdout)?.[1] ?? '',
    answers: textSection(stdout, 'ANSWER'),
    authority: textSection(stdout, 'AUTHORITY'),
    additional: textSection(stdout, 'ADDITIONAL'),
    ednsUdpSize: udp === undefined ? null : Number(udp),
    clientSubnet: ecs === null ? null : { address: ecs[1]!, source: Number(ecs[2]), scope: Number(ecs[3]) },
    retriedOverTcp: retried(stderr),
    transport: /^;; From \S+\((UDP|TCP)\) in /m.exec(stdout)?.[1] ?? '',
  };
}
