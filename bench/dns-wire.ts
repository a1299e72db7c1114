/**
 * The DNS wire hot path without sockets: parseQuery, a template lookup by name, and
 * answerFromTemplate, in a loop, for a plain query and an EDNS one; also the ResponseWriter slow
 * path and dns-packet decode+encode for scale. Prints queries per second on one core.
 * Run: node bench/dns-wire.ts [seconds per row, default 2]
 */
import { decode, encode } from 'dns-packet';
import { ParsedQuery, QueryVerdict, parseQuery, udpLimit } from '../src/dns/query.ts';
import { addressRecord } from '../src/dns/records.ts';
import { ResponseWriter } from '../src/dns/response.ts';
import { answerFromTemplate, buildTemplate, type AnswerTemplate } from '../src/dns/template.ts';
import type { DnsRecord } from '../src/dns/types.ts';

const seconds = Number(process.argv[2] ?? 2);
const records = [addressRecord('www.surveyor.lab', 20, '192.0.2.10'), addressRecord('www.surveyor.lab', 20, '198.51.100.20')] as DnsRecord[];
const templates = new Map<string, AnswerTemplate>([['www.surveyor.lab', buildTemplate('www.surveyor.lab', 1, { answer: records })]]);

function query(edns: boolean): Buffer {
  return encode({
    type: 'query',
    id: 4242,
    flags: 0x0100,
    questions: [{ name: 'WWW.surveyor.lab', type: 'A', class: 'IN' }],
    additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as never] : [],
  });
}

function measure(name: string, message: Buffer, step: (message: Buffer) => number): void {
  // Warm up so the optimising compiler has seen the loop.
  for (let i = 0; i < 200_000; i++) step(message);
  let count = 0;
  let bytes = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 10_000; i++) bytes += step(message);
    count += 10_000;
  }
  const rate = count / seconds;
  console.log(`${name.padEnd(44)} ${Math.round(rate).toLocaleString('en-US').padStart(12)} q/s  (${Math.round(bytes / count)} bytes/answer)`);
}

const parsed = new ParsedQuery();
const writer = new ResponseWriter();

function fastPath(message: Buffer): number {
  if (parseQuery(message, parsed) !== QueryVerdict.OK) return 0;
  const template = templates.get(parsed.qname);
  if (template === undefined) return 0;
  return answerFromTemplate(template, parsed, message, writer.buf, udpLimit(parsed));
}

function slowPath(message: Buffer): number {
  if (parseQuery(message, parsed) !== QueryVerdict.OK) return 0;
  writer.begin(parsed, message);
  for (const record of records) writer.answer(record);
  return writer.finish(udpLimit(parsed));
}

function dnsPacket(message: Buffer): number {
  const q = decode(message);
  return encode({
    type: 'response',
    id: q.id,
    flags: 0x0400,
    questions: q.questions,
    answers: [
      { type: 'A', name: q.questions![0]!.name, ttl: 20, data: '192.0.2.10' },
      { type: 'A', name: q.questions![0]!.name, ttl: 20, data: '198.51.100.20' },
    ],
  }).length;
}

measure('parse + template answer (no EDNS)', query(false), fastPath);
measure('parse + template answer (EDNS)', query(true), fastPath);
measure('parse + ResponseWriter (EDNS)', query(true), slowPath);
measure('dns-packet decode + encode (reference)', query(false), dnsPacket);
