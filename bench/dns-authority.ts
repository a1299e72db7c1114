/**
 * The authoritative engine without sockets: parseQuery then AuthorityEngine.answer, in a loop,
 * built from the sample config (examples/gslb.yaml), for the common answers (a GSLB A
 * by fixed weight, by location with ECS, a static A, a CNAME to a GSLB name) and the slow ones
 * (NXDOMAIN, REFUSED). Prints answers per second on one core.
 * Run: node bench/dns-authority.ts [seconds per row, default 2]
 */
import { encode } from 'dns-packet';
import { ParsedQuery, parseQuery, udpLimit } from '../src/dns/query.ts';
import { buildEngine, loadGslb, sampleText } from '../test/dns/authority-fixture.ts';

const seconds = Number(process.argv[2] ?? 2);
const { engine } = buildEngine(loadGslb(sampleText()));
const parsed = new ParsedQuery();

function query(name: string, type: string, ecs?: string): Buffer {
  return encode({
    type: 'query',
    id: 4242,
    flags: 0x0100,
    questions: [{ name, type: type as 'A', class: 'IN' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: 1232,
        flags: 0,
        options: ecs === undefined ? [] : [{ code: 'CLIENT_SUBNET', family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: ecs }],
      } as never,
    ],
  });
}

function step(message: Buffer): number {
  const verdict = parseQuery(message, parsed);
  return engine.answer(parsed, message, verdict, '192.0.2.200', udpLimit(parsed));
}

function measure(name: string, message: Buffer): void {
  for (let i = 0; i < 200_000; i++) step(message);
  let count = 0;
  let bytes = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 10_000; i++) bytes += step(message);
    count += 10_000;
  }
  console.log(`${name.padEnd(48)} ${Math.round(count / seconds).toLocaleString('en-US').padStart(12)} q/s  (${Math.round(bytes / count)} bytes/answer)`);
}

measure('GSLB A, fixed-weight (www)', query('WWW.surveyor.lab', 'A'));
measure('GSLB A, location by ECS (ntrip, 10.2.7.0/24)', query('ntrip.surveyor.lab', 'A', '10.2.7.0'));
measure('static A (mail)', query('mail.surveyor.lab', 'A'));
measure('static MX at the apex', query('surveyor.lab', 'MX'));
measure('CNAME to a GSLB name (ftp A)', query('ftp.surveyor.lab', 'A'));
measure('NXDOMAIN + SOA (slow path)', query('nope.surveyor.lab', 'A'));
measure('REFUSED (outside the zones)', query('www.example.com', 'A'));
