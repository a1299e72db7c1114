// Issue 5 with real peers: dig (BIND 9) and kdig (Knot) against Fulcrum's authoritative DNS
// server, every record type it serves and every protocol rule a client can see (ANY, TCP, EDNS
// buffer sizes and truncation, negative answers, REFUSED, ECS); then unbound as a client's
// recursive resolver in front of it, showing failover through a real cache with TTLs honoured.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFulcrum, type Fulcrum } from '../test/helpers/fulcrum.ts';
import { run, teardown } from '../test/helpers/processes.ts';
import { dig, type DigAnswer, type DigResult } from './dig.ts';
import { freeDnsPort } from './dns-server.ts';
import { kdig, kdigText } from './kdig.ts';
import { peer, requirePeers } from './peers.ts';
import { startForwardingUnbound, type ForwardingUnbound } from './unbound-forward.ts';

it('finds the GSLB peers (run bash scripts/install-peers.sh if this fails)', () => {
  requirePeers('dig', 'kdig', 'unbound');
});

/** [name, ttl, type, data]: an expected record as dig and kdig print it. */
type Row = [string, number, string, string];
const rows = (records: readonly DigAnswer[]): Row[] => records.map((r) => [r.name, r.ttl, r.type, r.data]);

/** The SOA of the lab zone as both clients print it (the serial is Fulcrum's, from its ready line). */
const soaData = (serial: number): string => `ns1.surveyor.lab. hostmaster.surveyor.lab. ${serial} 3600 900 1209600 60`;

// 40 addresses: 2 sites x 20, 40 A records of 16 bytes (compressed owner) make a 685-byte answer,
// above 512 and below dig's default 1232.
const BIG_A = [...Array.from({ length: 20 }, (_, i) => `192.0.2.${100 + i}`), ...Array.from({ length: 20 }, (_, i) => `198.51.100.${100 + i}`)];
/** A TXT value longer than one character-string (255 bytes): sent as two. */
const LONG_TXT = `v=DKIM1; k=rsa; p=${'A'.repeat(300)}`;

function labConfig(port: number): string {
  return `workers: 1
accessLog: off
gslb:
  listen: [127.0.0.1:${port}]
  zones:
    - name: surveyor.lab
      nameServers: [ns1.surveyor.lab, ns2.surveyor.lab]
      hostmaster: hostmaster@surveyor.lab
      ttl: 300
      soa: { minimum: 60s }
      records:
        - { name: ns1, type: A, value: 192.0.2.53 }
        - { name: ns2, type: AAAA, value: "2001:db8::53" }
        - { name: "@", type: MX, value: "10 mail.surveyor.lab." }
        - { name: mail, type: A, value: 192.0.2.25 }
        - { name: ftp, type: CNAME, value: www.surveyor.lab. }
        - { name: files, type: CNAME, value: ftp }
        - { name: near, type: CNAME, value: geo.surveyor.lab. }
        - { name: "@", type: TXT, value: "v=spf1 mx -all" }
        - { name: dkim._domainkey, type: TXT, value: "${LONG_TXT}", ttl: 3600 }
        - { name: _sip._udp, type: SRV, value: "0 5 5060 sip.surveyor.lab." }
        - { name: "@", type: CAA, value: '0 issue "letsencrypt.org"' }
    - name: 2.0.192.in-addr.arpa
      nameServers: [ns1.surveyor.lab]
      hostmaster: hostmaster@surveyor.lab
      records:
        - { name: "10", type: PTR, value: www.surveyor.lab. }
  fqdns:
    - name: www.surveyor.lab
      ttl: 20
      selection: fixed-weight
      sites:
        - { name: primary, address: [192.0.2.10, "2001:db8::10"], weight: 1000 }
        - { name: drc, address: 198.51.100.20, weight: 1 }
    - name: big.surveyor.lab
      ttl: 30
      selection: all-available
      sites:
        - { name: a, address: [${BIG_A.slice(0, 20).join(', ')}] }
        - { name: b, address: [${BIG_A.slice(20).join(', ')}] }
    - name: geo.surveyor.lab
      ttl: 10
      selection: location
      sites:
        - { name: be, address: 192.0.2.11, location: { country: BE } }
        - { name: us, address: 203.0.113.11, location: { continent: NA } }
  locations:
    - { cidr: 10.1.0.0/16, country: BE }
    - { cidr: 10.2.0.0/16, country: US, continent: NA }
`;
}

describe('dig and kdig against Fulcrum\'s authoritative server', () => {
  let fulcrum: Fulcrum | undefined;
  let port = 0;
  let serial = 0;
  const at = (): string[] => ['@127.0.0.1', '-p', String(port)];
  before(async () => {
    port = await freeDnsPort();
    fulcrum = await startFulcrum({ config: labConfig(port) });
    serial = Number(fulcrum.logs.find((l) => l.msg === 'ready')?.['dnsSerial']);
    assert.ok(Number.isInteger(serial) && serial > 0, `the ready line names the SOA serial: ${serial}`);
  });
  after(() => teardown(() => fulcrum?.stop()));

  // Each case: what dig and kdig must both print, record for record.
  const cases = (): Array<{ name: string; type: string; answers: Row[]; additional?: Row[] }> => [
    { name: 'www.surveyor.lab', type: 'A', answers: [['www.surveyor.lab.', 20, 'A', '192.0.2.10']] },
    { name: 'www.surveyor.lab', type: 'AAAA', answers: [['www.surveyor.lab.', 20, 'AAAA', '2001:db8::10']] },
    { name: 'ns2.surveyor.lab', type: 'AAAA', answers: [['ns2.surveyor.lab.', 300, 'AAAA', '2001:db8::53']] },
    { name: 'surveyor.lab', type: 'MX', answers: [['surveyor.lab.', 300, 'MX', '10 mail.surveyor.lab.']] },
    { name: 'surveyor.lab', type: 'TXT', answers: [['surveyor.lab.', 300, 'TXT', '"v=spf1 mx -all"']] },
    {
      name: 'dkim._domainkey.surveyor.lab',
      type: 'TXT',
      answers: [['dkim._domainkey.surveyor.lab.', 3600, 'TXT', `"${LONG_TXT.slice(0, 255)}" "${LONG_TXT.slice(255)}"`]],
    },
    {
      // a chain of two CNAMEs inside the zone, ending at a GSLB name
      name: 'files.surveyor.lab',
      type: 'A',
      answers: [
        ['files.surveyor.lab.', 300, 'CNAME', 'ftp.surveyor.lab.'],
        ['ftp.surveyor.lab.', 300, 'CNAME', 'www.surveyor.lab.'],
        ['www.surveyor.lab.', 20, 'A', '192.0.2.10'],
      ],
    },
    { name: 'ftp.surveyor.lab', type: 'CNAME', answers: [['ftp.surveyor.lab.', 300, 'CNAME', 'www.surveyor.lab.']] },
    {
      name: 'surveyor.lab',
      type: 'NS',
      answers: [
        ['surveyor.lab.', 300, 'NS', 'ns1.surveyor.lab.'],
        ['surveyor.lab.', 300, 'NS', 'ns2.surveyor.lab.'],
      ],
      // glue for the in-zone name servers
      additional: [
        ['ns1.surveyor.lab.', 300, 'A', '192.0.2.53'],
        ['ns2.surveyor.lab.', 300, 'AAAA', '2001:db8::53'],
      ],
    },
    { name: 'surveyor.lab', type: 'SOA', answers: [['surveyor.lab.', 300, 'SOA', soaData(serial)]] },
    { name: '_sip._udp.surveyor.lab', type: 'SRV', answers: [['_sip._udp.surveyor.lab.', 300, 'SRV', '0 5 5060 sip.surveyor.lab.']] },
    { name: '10.2.0.192.in-addr.arpa', type: 'PTR', answers: [['10.2.0.192.in-addr.arpa.', 300, 'PTR', 'www.surveyor.lab.']] },
    { name: 'surveyor.lab', type: 'CAA', answers: [['surveyor.lab.', 300, 'CAA', '0 issue "letsencrypt.org"']] },
  ];

  for (const client of ['dig', 'kdig'] as const) {
    it(`${client}: every record type, exact values, AA set`, async () => {
      for (const c of cases()) {
        const result = client === 'dig' ? await dig([...at(), c.name, c.type]) : await kdig([...at(), c.name, c.type]);
        const label = `${client} ${c.name} ${c.type}\n${result.stdout}`;
        assert.equal(result.status, 'NOERROR', label);
        assert.ok(result.flags.includes('qr') && result.flags.includes('aa'), `${label}\nflags ${result.flags}`);
        assert.deepEqual(rows(result.answers), c.answers, label);
        assert.deepEqual(rows(result.authority), [], label);
        assert.deepEqual(rows(result.additional), c.additional ?? [], label);
      }
    });
  }

  it('dig -x: the PTR of 192.0.2.10 from the reverse zone', async () => {
    const result = await dig([...at(), '-x', '192.0.2.10']);
    assert.deepEqual(rows(result.answers), [['10.2.0.192.in-addr.arpa.', 300, 'PTR', 'www.surveyor.lab.']], result.stdout);
  });

  it('keeps the question\'s case (dig WwW.SurVeyor.LAB) and answers as for www.surveyor.lab', async () => {
    const result = await dig([...at(), 'WwW.SurVeyor.LAB', 'A']);
    assert.equal(result.question, 'WwW.SurVeyor.LAB.', result.stdout);
    assert.deepEqual(rows(result.answers), [['WwW.SurVeyor.LAB.', 20, 'A', '192.0.2.10']], result.stdout);
  });

  it('ANY gets one RRset (RFC 8482): the first at the apex, the GSLB A at an FQDN, the CNAME at an alias', async () => {
    const expected: Array<[string, Row[]]> = [
      ['surveyor.lab', [['surveyor.lab.', 300, 'MX', '10 mail.surveyor.lab.']]],
      ['www.surveyor.lab', [['www.surveyor.lab.', 20, 'A', '192.0.2.10']]],
      ['ftp.surveyor.lab', [['ftp.surveyor.lab.', 300, 'CNAME', 'www.surveyor.lab.']]],
    ];
    for (const [name, answers] of expected) {
      for (const result of [await dig([...at(), name, 'ANY']), await kdig([...at(), name, 'ANY']), await dig([...at(), name, 'ANY', '+tcp'])]) {
        assert.equal(result.status, 'NOERROR', result.stdout);
        assert.deepEqual(rows(result.answers), answers, result.stdout);
      }
    }
  });

  it('TCP (+tcp): the same answers, carried over TCP', async () => {
    const viaDig = await dig([...at(), 'files.surveyor.lab', 'A', '+tcp']);
    assert.equal(viaDig.transport, 'TCP', viaDig.stdout);
    assert.equal(viaDig.answers.length, 3, viaDig.stdout);
    assert.deepEqual(rows(viaDig.answers).at(-1), ['www.surveyor.lab.', 20, 'A', '192.0.2.10']);
    const viaKdig = await kdigText([...at(), 'surveyor.lab', 'MX', '+tcp']);
    assert.equal(viaKdig.transport, 'TCP', viaKdig.stdout);
    assert.deepEqual(rows(viaKdig.answers), [['surveyor.lab.', 300, 'MX', '10 mail.surveyor.lab.']], viaKdig.stdout);
    // several queries on one connection (dig +keepopen)
    const kept = await dig([...at(), '+tcp', '+keepopen', 'mail.surveyor.lab', 'A', 'surveyor.lab', 'TXT', 'big.surveyor.lab', 'A']);
    assert.deepEqual(
      kept.stdout.split('\n').filter((l) => /^\S+\.\s+\d+\s+IN\s+(A|TXT)\s/.test(l)).length,
      1 + 1 + BIG_A.length,
      kept.stdout,
    );
  });

  it('EDNS: the client\'s buffer size is honoured; a 685-byte answer truncates at +bufsize=512 and dig/kdig get it whole over TCP', async () => {
    const sorted = (r: DigResult): string[] => r.answers.map((a) => a.data).sort();
    // dig's default 1232: fits, over UDP, no TC
    const fits = await dig([...at(), 'big.surveyor.lab', 'A']);
    assert.equal(fits.transport, 'UDP', fits.stdout);
    assert.ok(!fits.flags.includes('tc') && !fits.retriedOverTcp, fits.stdout);
    assert.deepEqual(sorted(fits), [...BIG_A].sort());
    assert.equal(fits.ednsUdpSize, 1232, 'Fulcrum advertises 1232 (DNS Flag Day 2020)');
    // +ignore: the truncated UDP reply itself, TC set and no partial RRset
    const truncated = await dig([...at(), 'big.surveyor.lab', 'A', '+bufsize=512', '+ignore']);
    assert.ok(truncated.flags.includes('tc'), truncated.stdout);
    assert.equal(truncated.transport, 'UDP');
    assert.deepEqual(truncated.answers, [], 'a truncated reply carries no partial RRset');
    // dig's automatic retry over TCP gets all 40
    const retried = await dig([...at(), 'big.surveyor.lab', 'A', '+bufsize=512']);
    assert.ok(retried.retriedOverTcp, retried.stdout);
    assert.equal(retried.transport, 'TCP', retried.stdout);
    assert.deepEqual(sorted(retried), [...BIG_A].sort());
    // kdig the same
    const kTruncated = await kdig([...at(), 'big.surveyor.lab', 'A', '+bufsize=512', '+ignore']);
    assert.ok(kTruncated.flags.includes('tc') && kTruncated.answers.length === 0, kTruncated.stdout);
    const kRetried = await kdig([...at(), 'big.surveyor.lab', 'A', '+bufsize=512']);
    assert.ok(kRetried.retriedOverTcp, kRetried.stderr);
    assert.ok(!kRetried.flags.includes('tc'), kRetried.stdout);
    assert.deepEqual(sorted(kRetried), [...BIG_A].sort());
    // RFC 6891 6.2.5: a size below 512 counts as 512, so a 389-byte answer goes whole over UDP
    const small = await dig([...at(), 'dkim._domainkey.surveyor.lab', 'TXT', '+bufsize=100']);
    assert.ok(small.transport === 'UDP' && !small.flags.includes('tc') && !small.retriedOverTcp, small.stdout);
    assert.equal(small.answers.length, 1, small.stdout);
  });

  it('+noedns: no OPT in the reply, 512 bytes the UDP limit (TC, then TCP)', async () => {
    const small = await dig([...at(), 'www.surveyor.lab', 'A', '+noedns']);
    assert.equal(small.ednsUdpSize, null, small.stdout);
    assert.deepEqual(rows(small.answers), [['www.surveyor.lab.', 20, 'A', '192.0.2.10']]);
    const truncated = await dig([...at(), 'big.surveyor.lab', 'A', '+noedns', '+ignore']);
    assert.ok(truncated.flags.includes('tc'), truncated.stdout);
    assert.equal(truncated.ednsUdpSize, null, truncated.stdout);
    const retried = await dig([...at(), 'big.surveyor.lab', 'A', '+noedns']);
    assert.ok(retried.retriedOverTcp && retried.transport === 'TCP', retried.stdout);
    assert.equal(retried.answers.length, BIG_A.length, retried.stdout);
    assert.equal(retried.ednsUdpSize, null, retried.stdout);
    // kdig sends no EDNS unless asked: its plain query sees no OPT either
    const plain = await kdig([...at(), 'www.surveyor.lab', 'A']);
    assert.equal(plain.ednsUdpSize, null, plain.stdout);
    const withEdns = await kdig([...at(), 'www.surveyor.lab', 'A', '+edns']);
    assert.equal(withEdns.ednsUdpSize, 1232, withEdns.stdout);
  });

  it('NXDOMAIN and NODATA carry the SOA with the negative TTL (min of SOA minimum 60 and TTL 300)', async () => {
    const soa: Row = ['surveyor.lab.', 60, 'SOA', soaData(serial)];
    const expected: Array<[string, string, string]> = [
      ['nope.surveyor.lab', 'A', 'NXDOMAIN'],
      // below an existing name, and below a GSLB name
      ['x.mail.surveyor.lab', 'TXT', 'NXDOMAIN'],
      ['a.www.surveyor.lab', 'A', 'NXDOMAIN'],
      // NODATA: a static name, a GSLB name without the type, an empty non-terminal (_udp above _sip._udp)
      ['mail.surveyor.lab', 'AAAA', 'NOERROR'],
      ['www.surveyor.lab', 'MX', 'NOERROR'],
      ['geo.surveyor.lab', 'AAAA', 'NOERROR'],
      ['_udp.surveyor.lab', 'SRV', 'NOERROR'],
    ];
    for (const [name, type, status] of expected) {
      for (const result of [await dig([...at(), name, type]), await kdig([...at(), name, type])]) {
        assert.equal(result.status, status, result.stdout);
        assert.ok(result.flags.includes('aa'), result.stdout);
        assert.deepEqual(rows(result.answers), [], result.stdout);
        assert.deepEqual(rows(result.authority), [soa], result.stdout);
      }
    }
  });

  it('REFUSED, with no records and no AA, for names outside its zones (never a recursive resolver)', async () => {
    for (const [name, type] of [
      ['example.com', 'A'],
      ['lab', 'SOA'],
      ['surveyor.lab.example.com', 'A'],
      ['3.0.192.in-addr.arpa', 'PTR'],
    ] as const) {
      for (const result of [await dig([...at(), name, type]), await kdig([...at(), name, type]), await dig([...at(), name, type, '+tcp'])]) {
        assert.equal(result.status, 'REFUSED', result.stdout);
        assert.ok(!result.flags.includes('aa'), result.stdout);
        assert.deepEqual([...result.answers, ...result.authority, ...result.additional], [], result.stdout);
      }
    }
  });

  it('NOTIMP for opcode NOTIFY, BADVERS for EDNS version 1, REFUSED for a zone transfer (kdig AXFR)', async () => {
    const notify = await dig([...at(), '+opcode=notify', 'surveyor.lab', 'SOA']);
    assert.equal(notify.status, 'NOTIMP', notify.stdout);
    const badvers = await dig([...at(), '+edns=1', '+noednsneg', 'www.surveyor.lab', 'A']);
    assert.equal(badvers.status, 'BADVERS', badvers.stdout);
    assert.deepEqual(badvers.answers, [], badvers.stdout);
    // kdig exits 1 and says why: ";; ERROR: server replied with error 'REFUSED'"
    const axfr = await run(peer('kdig'), [...at(), '+retry=0', '+timeout=2', 'surveyor.lab', 'AXFR'], { allowFailure: true, timeoutMs: 15_000 });
    assert.equal(axfr.code, 1, axfr.stdout + axfr.stderr);
    assert.match(axfr.stdout + axfr.stderr, /server replied with error 'REFUSED'/);
  });

  it('ECS (+subnet): the answer follows `locations`, the reply\'s CLIENT-SUBNET carries the scope', async () => {
    // [subnet, name, expected answer, scope]
    const expected: Array<[string, string, string, number]> = [
      // location policy: 10.2.0.0/16 is US/NA -> the us site; the table's /16 is the scope
      ['10.2.0.0/24', 'geo.surveyor.lab', '203.0.113.11', 16],
      ['10.1.0.0/24', 'geo.surveyor.lab', '192.0.2.11', 16],
      ['10.2.77.0/24', 'near.surveyor.lab', '203.0.113.11', 16],
      // fixed-weight ignores the client's place: scope 0, the answer is good for everyone
      ['10.2.0.0/24', 'www.surveyor.lab', '192.0.2.10', 0],
      // a source prefix of 0 asks for an untailored answer
      ['0.0.0.0/0', 'geo.surveyor.lab', '192.0.2.11', 0],
    ];
    for (const [subnet, name, address, scope] of expected) {
      const [net, source] = subnet.split('/') as [string, string];
      const results = [
        await dig([...at(), name, 'A', `+subnet=${subnet}`]),
        await kdig([...at(), name, 'A', `+subnet=${subnet}`]),
        await kdigText([...at(), name, 'A', `+subnet=${subnet}`]),
      ];
      for (const result of results) {
        assert.equal(result.status, 'NOERROR', result.stdout);
        assert.equal(result.answers.at(-1)?.data, address, `${subnet} ${name}\n${result.stdout}`);
        assert.deepEqual(result.clientSubnet, { address: net, source: Number(source), scope }, `${subnet} ${name}\n${result.stdout}`);
      }
    }
    // the answer without ECS comes from the client's own address (127.0.0.1: in no entry, so "any")
    const own = await dig([...at(), 'geo.surveyor.lab', 'A']);
    assert.equal(own.clientSubnet, null, own.stdout);
    assert.equal(own.answers[0]?.data, '192.0.2.11', own.stdout);
  });
});

// ---- unbound in front of Fulcrum ------------------------------------------------------------

/** An HTTP health target that can stop and listen again on the same port. */
class HealthServer {
  #server: http.Server | null = null;
  port = 0;
  async start(port = 0): Promise<void> {
    const server = http.createServer((req, res) => {
      res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'text/plain' }).end('ok\n');
    });
    server.listen({ host: '127.0.0.1', port, exclusive: true });
    await once(server, 'listening');
    this.#server = server;
    this.port = (server.address() as { port: number }).port;
  }
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const TTL_S = 2;
const CHECK = { intervalMs: 300, fall: 2, rise: 2, delayMs: 0 };
const PRIMARY = '192.0.2.10';
const DR = '198.51.100.20';

function failoverConfig(port: number, primary: number, dr: number): string {
  const check = (target: number): string =>
    `{ type: http, target: 127.0.0.1:${target}, path: /health, interval: ${CHECK.intervalMs}ms, timeout: 200ms, fall: ${CHECK.fall}, rise: ${CHECK.rise} }`;
  return `workers: 1
accessLog: off
gslb:
  listen: [127.0.0.1:${port}]
  zones:
    - name: surveyor.lab
      nameServers: [ns1.surveyor.lab]
      hostmaster: hostmaster@surveyor.lab
      records:
        - { name: ns1, type: A, value: 192.0.2.53 }
  fqdns:
    - name: www.surveyor.lab
      ttl: ${TTL_S}
      selection: fixed-weight
      siteFailure: { delay: ${CHECK.delayMs}ms, recovery: automatic }
      sites:
        - { name: primary, address: ${PRIMARY}, weight: 1000, check: ${check(primary)} }
        - { name: drc, address: ${DR}, weight: 1, check: ${check(dr)} }
`;
}

/**
 * One query through unbound (and the same to Fulcrum directly): the wall clock before and after
 * (unbound's cache clock is the same system clock, in whole seconds), what each answered, and
 * whether unbound answered from its cache (its log-replies line).
 */
interface Sample {
  /** ms since the test's reference point, at `before`. */
  t: number;
  before: number;
  after: number;
  viaUnbound: string;
  ttl: number;
  direct: string;
  cached?: boolean;
}

/** The whole seconds of unbound's clock a query may have been answered in. */
const seconds = (s: Pick<Sample, 'before' | 'after'>): [number, number] => [Math.floor(s.before / 1000), Math.floor(s.after / 1000)];

/**
 * unbound's cache, exactly: an entry fetched in second F serves while unbound's clock (whole
 * seconds) is at most F + TTL, with TTL F + TTL - NOW, so a 2 s TTL shows 2, 1, 0 and the entry
 * lives 2 to 3 s depending on where in second F it was fetched. Checks every sample against the
 * fetch before it: no cached answer after its entry expired, and the TTL it shows.
 */
function checkCache(samples: readonly Sample[], firstFetch: Sample | null, table: string): void {
  let fetch = firstFetch === null ? null : seconds(firstFetch);
  for (const s of samples) {
    const [lo, hi] = seconds(s);
    assert.ok(s.ttl >= 0 && s.ttl <= TTL_S, `TTL ${s.ttl} outside 0..${TTL_S}: ${table}`);
    if (!s.cached) {
      assert.equal(s.ttl, TTL_S, `an answer fetched from Fulcrum has the full TTL: ${table}`);
      fetch = [lo, hi];
      continue;
    }
    assert.ok(fetch !== null, `a cached answer before any fetch: ${table}`);
    assert.ok(lo <= fetch[1] + TTL_S, `unbound answered from its cache at ${s.before} ms, after the entry fetched in second ${fetch[1]} expired: ${table}`);
    assert.ok(s.ttl >= fetch[0] + TTL_S - hi && s.ttl <= fetch[1] + TTL_S - lo, `TTL ${s.ttl} at ${s.before} for an entry fetched in second ${fetch[0]}: ${table}`);
  }
}

/** "1234 ms: unbound 192.0.2.10 ttl 1 (cache), fulcrum 198.51.100.20" */
const describeSample = (s: Sample): string =>
  `${Math.round(s.t)} ms: unbound ${s.viaUnbound} ttl ${s.ttl}${s.cached ? ' (cache)' : ''}, fulcrum ${s.direct}`;

for (const mode of ['stub', 'forward'] as const) {
  describe(`unbound (${mode}-zone surveyor.lab to Fulcrum), queried by dig: failover with TTLs honoured`, () => {
    const primary = new HealthServer();
    const dr = new HealthServer();
    let fulcrum: Fulcrum | undefined;
    let unbound: ForwardingUnbound | undefined;
    let port = 0;
    /** Queries sent to unbound so far, to pair each with its log-replies line. */
    let sent = 0;
    /** The latest sample that unbound fetched from Fulcrum. */
    let lastFetch: Sample | null = null;
    before(async () => {
      await primary.start();
      await dr.start();
      port = await freeDnsPort();
      fulcrum = await startFulcrum({ config: failoverConfig(port, primary.port, dr.port) });
      unbound = await startForwardingUnbound({ zone: 'surveyor.lab', upstream: `127.0.0.1:${port}`, mode });
    });
    after(() => teardown(() => unbound?.stop(), () => fulcrum?.stop(), () => primary.stop(), () => dr.stop()));

    const viaUnbound = async (): Promise<{ address: string; ttl: number }> => {
      const result = await dig([`@${unbound!.host}`, '-p', String(unbound!.port), 'www.surveyor.lab', 'A']);
      sent++;
      assert.equal(result.status, 'NOERROR', result.stdout);
      assert.equal(result.answers.length, 1, result.stdout);
      return { address: result.answers[0]!.data, ttl: result.answers[0]!.ttl };
    };
    const direct = async (): Promise<string> => (await dig(['@127.0.0.1', '-p', String(port), 'www.surveyor.lab', 'A'])).answers[0]?.data ?? '';

    /** Samples both every 100 ms until `stop` says so; each sample gets its cached flag from unbound's log. */
    const trace = async (t0: number, stop: (s: Sample) => boolean, timeoutMs: number, withDirect = true): Promise<Sample[]> => {
      const samples: Sample[] = [];
      const first = sent;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const before = Date.now();
        const [u, d] = await Promise.all([viaUnbound(), withDirect ? direct() : Promise.resolve('')]);
        const sample: Sample = { t: performance.now() - t0, before, after: Date.now(), viaUnbound: u.address, ttl: u.ttl, direct: d };
        samples.push(sample);
        if (stop(sample)) break;
        if (Date.now() > deadline) throw new Error(`no end within ${timeoutMs} ms: ${JSON.stringify(samples)}`);
        await sleep(100);
      }
      const replies = (await unbound!.waitForReplies(sent, 'www.surveyor.lab.')).slice(first);
      samples.forEach((s, i) => (s.cached = replies[i]!.cached));
      for (const s of samples) if (!s.cached) lastFetch = s;
      return samples;
    };

    it('answers the primary through unbound, with TTLs that count down and a cache that never outlives them', async () => {
      // past one whole entry life (at most TTL + 1 s on unbound's clock) and into the next
      const samples = await trace(performance.now(), (s) => s.t > TTL_S * 1000 + 1500, 15_000);
      const table = JSON.stringify(samples);
      for (const s of samples) assert.equal(s.viaUnbound, PRIMARY, table);
      assert.equal(samples[0]!.cached, false, `the first query goes to Fulcrum: ${table}`);
      checkCache(samples, null, table);
      assert.ok(samples.some((s) => s.cached && s.ttl < TTL_S), `a cached answer with a TTL below ${TTL_S}: ${table}`);
      assert.ok(samples.filter((s) => !s.cached).length >= 2, `unbound asked Fulcrum again once the TTL ran out: ${table}`);
    });

    it('fails over to DR: the cached primary until its TTL runs out, then DR within TTL + fall x interval + delay + one interval', async (t) => {
      // A fresh fetch late in a second (.850): unbound's whole-second clock then keeps it about
      // TTL + 0.15 s, not up to TTL + 1 s (see checkCache).
      let fetched: Sample | null = null;
      for (let attempt = 0; fetched === null; attempt++) {
        assert.ok(attempt < 6, 'no fresh fetch late in a second in 6 tries');
        await sleep((1850 - (Date.now() % 1000)) % 1000);
        const [sample] = await trace(performance.now(), () => true, 5000, false);
        const [lo, hi] = seconds(sample!);
        if (!sample!.cached && lo === hi && sample!.after % 1000 < 980) fetched = sample!;
      }
      assert.deepEqual([fetched.viaUnbound, fetched.ttl], [PRIMARY, TTL_S]);
      const t0 = performance.now() - (Date.now() - fetched.before);
      await primary.stop();
      const stoppedAt = performance.now() - t0;
      const samples = await trace(t0, (s) => s.viaUnbound === DR, 10_000);
      const table = JSON.stringify({ fetched, stoppedAt, samples });
      t.diagnostic(`primary stopped at ${Math.round(stoppedAt)} ms; ${samples.map(describeSample).join(', ')}`);
      checkCache(samples, fetched, table);
      /** Wall ms when unbound's entry for the primary expires: its clock passes fetch second + TTL. */
      const expires = (seconds(fetched)[1] + TTL_S + 1) * 1000;

      // Fulcrum switches while unbound still holds the primary: unbound keeps serving it, TTL counting down
      const switched = samples.find((s) => s.direct === DR);
      assert.ok(switched !== undefined && switched.after < expires, `Fulcrum switched to DR before unbound's entry expired: ${table}`);
      const stale = samples.filter((s) => s.direct === DR && s.viaUnbound === PRIMARY);
      assert.ok(stale.length > 0, `unbound answered its cached primary after Fulcrum switched: ${table}`);
      const primaries = samples.filter((s) => s.viaUnbound === PRIMARY);
      assert.ok(primaries.every((s) => s.cached), `every primary came from unbound's cache: ${table}`);
      assert.ok(
        primaries.every((s, i) => i === 0 || s.ttl <= primaries[i - 1]!.ttl) && primaries.some((s) => s.ttl < TTL_S),
        `the TTL counts down: ${table}`,
      );
      // DR: fetched afresh, full TTL, only once the entry expired, within the bound after the stop
      const drSample = samples.at(-1)!;
      assert.equal(drSample.cached, false, table);
      assert.equal(drSample.ttl, TTL_S, table);
      assert.ok(drSample.after >= expires - 1000 && seconds(drSample)[1] > seconds(fetched)[0] + TTL_S, `DR before the primary's entry could expire: ${table}`);
      const boundMs = TTL_S * 1000 + CHECK.fall * CHECK.intervalMs + CHECK.delayMs + CHECK.intervalMs;
      // + 200 ms: this loop polls every 100 ms, two dig processes a sample
      assert.ok(drSample.t - stoppedAt <= boundMs + 200, `DR via unbound ${Math.round(drSample.t - stoppedAt)} ms after the primary stopped; bound ${boundMs} ms: ${table}`);
      const down = fulcrum!.logs.find((l) => l['fqdn'] === 'www.surveyor.lab' && l['site'] === 'primary' && l['event'] === 'down');
      assert.match(String(down?.msg), /is DOWN after 2 failed checks and a 0s delay/, `the log says why: ${JSON.stringify(down)}`);
    });

    it('fails back to the primary through unbound once it passes rise checks, when the cached DR expires', async () => {
      const drFetch = lastFetch!;
      assert.equal(drFetch.viaUnbound, DR);
      const t0 = performance.now();
      await primary.start(primary.port);
      const restartedAt = Date.now();
      const samples = await trace(t0, (s) => s.viaUnbound === PRIMARY, 10_000);
      const table = JSON.stringify({ drFetch, samples });
      checkCache(samples, drFetch, table);
      const back = samples.at(-1)!;
      assert.equal(back.cached, false, table);
      // the later of: the DR entry's end on unbound's clock, and Fulcrum's rise (rise x interval + one interval)
      const expires = (seconds(drFetch)[1] + TTL_S + 1) * 1000;
      const boundAt = Math.max(expires, restartedAt + CHECK.rise * CHECK.intervalMs + CHECK.intervalMs);
      // + 400 ms: the poll that sees it starts up to 100 ms plus two dig processes after the bound
      assert.ok(back.before <= boundAt + 400, `primary via unbound at ${back.before}, bound ${boundAt}: ${table}`);
    });
  });
}
