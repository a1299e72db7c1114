/**
 * The answer engine against the sample config (examples/gslb.yaml) and a few records
 * added around it, queried with dns-packet-encoded messages and decoded with dns-packet: the
 * DNS correctness rules of issue 5 that do not need a socket.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode, type Answer as PacketAnswer, type Packet } from 'dns-packet';
import { ParsedQuery, parseQuery, udpLimit } from '../../src/dns/query.ts';
import { MAX_MESSAGE_SIZE } from '../../src/dns/types.ts';
import { type Built, buildEngine, loadGslb, sampleText } from './authority-fixture.ts';
import { header, optRecord, packetQuery, question, type QueryOptions } from './helpers.ts';

const EXTRA_RECORDS = `
        - { name: a.b, type: A, value: 192.0.2.77 }
        - { name: sub, type: NS, value: ns.sub.surveyor.lab. }
        - { name: ns.sub, type: A, value: 192.0.2.99 }
        - { name: chain1, type: CNAME, value: chain2 }
        - { name: chain2, type: CNAME, value: www }
        - { name: ext, type: CNAME, value: www.example.com. }
        - { name: dangling, type: CNAME, value: nowhere }
        - { name: intosub, type: CNAME, value: host.sub }
        - { name: loop1, type: CNAME, value: loop2 }
        - { name: loop2, type: CNAME, value: loop1 }
        - { name: big, type: TXT, value: "${'x'.repeat(700)}" }
        - { name: www, type: TXT, value: "served by GSLB" }`;

function sample(edit: (text: string) => string = (t) => t, serial = 1): Built {
  return buildEngine(loadGslb(edit(sampleText())), serial);
}

function extended(): Built {
  return sample((text) => text.replace(/(- \{ name: "@", type: TXT, value: "v=spf1 mx -all" \})/, `$1${EXTRA_RECORDS}`));
}

interface Reply {
  packet: Packet & { rcode: string; flag_aa: boolean; flag_tc: boolean };
  raw: Buffer;
}

const parsed = new ParsedQuery();

function send(built: Built, message: Buffer, options: { client?: string; tcp?: boolean } = {}): Reply | null {
  const verdict = parseQuery(message, parsed);
  const limit = options.tcp === true ? MAX_MESSAGE_SIZE : udpLimit(parsed);
  const length = built.engine.answer(parsed, message, verdict, options.client ?? '192.0.2.200', limit);
  if (length < 0) return null;
  const raw = Buffer.from(built.engine.buf.subarray(0, length));
  return { packet: decode(raw) as unknown as Reply['packet'], raw };
}

function ask(built: Built, name: string, type: string, options: QueryOptions & { client?: string; tcp?: boolean } = {}): Reply {
  const reply = send(built, packetQuery(name, { ...options, type }), options);
  assert.ok(reply !== null, 'an answer');
  return reply;
}

function data(records: PacketAnswer[] | undefined): string[] {
  return (records ?? []).map((record) => {
    const r = record as { name: string; ttl?: number; type: string; data?: unknown };
    return `${r.name} ${r.ttl} ${r.type} ${text(r.data)}`;
  });
}

function text(value: unknown): string {
  if (Array.isArray(value)) return value.map((s) => String(s)).join('');
  return typeof value === 'object' && !Buffer.isBuffer(value) ? JSON.stringify(value) : String(value);
}

function soaOf(reply: Reply): { ttl: number | undefined; serial: number | undefined } {
  const [soa] = reply.packet.authorities ?? [];
  assert.ok(soa !== undefined && soa.type === 'SOA', 'SOA in the authority section');
  return { ttl: soa.ttl, serial: soa.data.serial };
}

function ecsScope(reply: Reply): number | undefined {
  const opt = reply.packet.additionals?.find((r) => r.type === 'OPT') as { options?: { code: number; scopePrefixLength?: number }[] } | undefined;
  return opt?.options?.find((o) => o.code === 8)?.scopePrefixLength;
}

describe('authoritative answers for the sample zone', () => {
  const built = extended();

  it('answers every record type of the sample, authoritatively, with the configured TTLs', () => {
    const cases: [string, string, string[]][] = [
      ['www.surveyor.lab', 'A', ['www.surveyor.lab 20 A 192.0.2.10']],
      ['ntrip.surveyor.lab', 'A', ['ntrip.surveyor.lab 10 A 192.0.2.11']],
      ['ns1.surveyor.lab', 'A', ['ns1.surveyor.lab 300 A 192.0.2.53']],
      ['mail.surveyor.lab', 'A', ['mail.surveyor.lab 300 A 192.0.2.25']],
      ['surveyor.lab', 'MX', ['surveyor.lab 300 MX {"preference":10,"exchange":"mail.surveyor.lab"}']],
      ['surveyor.lab', 'TXT', ['surveyor.lab 300 TXT v=spf1 mx -all']],
      ['ftp.surveyor.lab', 'CNAME', ['ftp.surveyor.lab 300 CNAME www.surveyor.lab']],
      ['www.surveyor.lab', 'TXT', ['www.surveyor.lab 300 TXT served by GSLB']],
    ];
    for (const [name, type, expected] of cases) {
      const reply = ask(built, name, type);
      assert.equal(reply.packet.rcode, 'NOERROR', `${name} ${type}`);
      assert.equal(reply.packet.flag_aa, true, `${name} ${type} AA`);
      assert.deepEqual(data(reply.packet.answers), expected, `${name} ${type}`);
      assert.deepEqual(reply.packet.authorities, [], `${name} ${type}: no authority records in a positive answer`);
    }
  });

  it('apex SOA carries the serial given and the timers in seconds; apex NS carries glue', () => {
    const soa = ask(sample(undefined, 2026112201), 'surveyor.lab', 'SOA');
    assert.deepEqual(data(soa.packet.answers), [
      'surveyor.lab 300 SOA {"mname":"ns1.surveyor.lab","rname":"hostmaster.surveyor.lab","serial":2026112201,"refresh":3600,"retry":900,"expire":1209600,"minimum":60}',
    ]);
    const ns = ask(built, 'surveyor.lab', 'NS');
    assert.equal(ns.packet.flag_aa, true);
    assert.deepEqual(data(ns.packet.answers), ['surveyor.lab 300 NS ns1.surveyor.lab']);
    assert.deepEqual(data(ns.packet.additionals), ['ns1.surveyor.lab 300 A 192.0.2.53']);
  });

  it('NXDOMAIN with the SOA, negative TTL min(SOA TTL 300, minimum 60) = 60', () => {
    for (const name of ['nope.surveyor.lab', 'x.mail.surveyor.lab', 'deep.er.www.surveyor.lab']) {
      const reply = ask(built, name, 'A');
      assert.equal(reply.packet.rcode, 'NXDOMAIN', name);
      assert.equal(reply.packet.flag_aa, true);
      assert.deepEqual(reply.packet.answers, []);
      assert.deepEqual(soaOf(reply), { ttl: 60, serial: 1 });
    }
  });

  it('NODATA (NOERROR, no answer, SOA) for a name without the type, and for an empty non-terminal (RFC 8020)', () => {
    for (const [name, type] of [
      ['mail.surveyor.lab', 'MX'],
      ['www.surveyor.lab', 'AAAA'],
      ['www.surveyor.lab', 'MX'],
      ['surveyor.lab', 'SRV'],
      ['surveyor.lab', 'A'],
      ['b.surveyor.lab', 'A'],
      ['b.surveyor.lab', 'HINFO'],
    ]) {
      const reply = ask(built, name!, type!);
      assert.equal(reply.packet.rcode, 'NOERROR', `${name} ${type}`);
      assert.deepEqual(reply.packet.answers, [], `${name} ${type}`);
      assert.equal(soaOf(reply).ttl, 60, `${name} ${type}`);
    }
    assert.deepEqual(data(ask(built, 'a.b.surveyor.lab', 'A').packet.answers), ['a.b.surveyor.lab 300 A 192.0.2.77']);
    assert.equal(ask(built, 'c.b.surveyor.lab', 'A').packet.rcode, 'NXDOMAIN');
  });

  it('follows CNAME chains inside the zone, to the GSLB answer of an FQDN', () => {
    assert.deepEqual(data(ask(built, 'ftp.surveyor.lab', 'A').packet.answers), ['ftp.surveyor.lab 300 CNAME www.surveyor.lab', 'www.surveyor.lab 20 A 192.0.2.10']);
    assert.deepEqual(data(ask(built, 'chain1.surveyor.lab', 'A').packet.answers), [
      'chain1.surveyor.lab 300 CNAME chain2.surveyor.lab',
      'chain2.surveyor.lab 300 CNAME www.surveyor.lab',
      'www.surveyor.lab 20 A 192.0.2.10',
    ]);
    const aaaa = ask(built, 'ftp.surveyor.lab', 'AAAA');
    assert.deepEqual(data(aaaa.packet.answers), ['ftp.surveyor.lab 300 CNAME www.surveyor.lab']);
    assert.equal(soaOf(aaaa).ttl, 60, 'the chain ends in NODATA: SOA');
    assert.deepEqual(data(ask(built, 'ftp.surveyor.lab', 'TXT').packet.answers), ['ftp.surveyor.lab 300 CNAME www.surveyor.lab', 'www.surveyor.lab 300 TXT served by GSLB']);
  });

  it('stops a chain that leaves the zone, is NXDOMAIN at a missing target (RFC 6604), stops a loop', () => {
    const ext = ask(built, 'ext.surveyor.lab', 'A');
    assert.deepEqual([ext.packet.rcode, data(ext.packet.answers), ext.packet.authorities], ['NOERROR', ['ext.surveyor.lab 300 CNAME www.example.com'], []]);
    const dangling = ask(built, 'dangling.surveyor.lab', 'A');
    assert.deepEqual([dangling.packet.rcode, data(dangling.packet.answers)], ['NXDOMAIN', ['dangling.surveyor.lab 300 CNAME nowhere.surveyor.lab']]);
    assert.equal(soaOf(dangling).ttl, 60);
    const loop = ask(built, 'loop1.surveyor.lab', 'A');
    assert.deepEqual(data(loop.packet.answers), ['loop1.surveyor.lab 300 CNAME loop2.surveyor.lab', 'loop2.surveyor.lab 300 CNAME loop1.surveyor.lab']);
  });

  it('REFUSED with no records outside the zones, for class CH and for zone transfers', () => {
    for (const [name, type, extra] of [
      ['example.com', 'A', {}],
      ['lab', 'NS', {}],
      ['', 'NS', {}],
      ['surveyor.lab.example.com', 'ANY', {}],
      ['surveyor.lab', 'AXFR', {}],
    ] as const) {
      const reply = ask(built, name, type, extra);
      assert.equal(reply.packet.rcode, 'REFUSED', `${name} ${type}`);
      assert.equal(reply.packet.flag_aa, false);
      assert.deepEqual([reply.packet.answers, reply.packet.authorities, reply.packet.additionals], [[], [], []]);
    }
    // One label "x.surveyor" then "lab": outside the zone, though its text ends in "surveyor.lab".
    const dotted = Buffer.concat([header({}), Buffer.from([10]), Buffer.from('x.surveyor'), Buffer.from([3]), Buffer.from('lab'), Buffer.from([0, 0, 1, 0, 1])]);
    assert.equal(send(built, dotted)!.packet.rcode, 'REFUSED');
    const dottedInside = Buffer.concat([header({}), Buffer.from([3]), Buffer.from('a.b'), question('surveyor.lab')]);
    assert.equal(send(built, dottedInside)!.packet.rcode, 'NXDOMAIN');
    const ch = Buffer.concat([header({}), question('version.bind', 16).subarray(0, -2), Buffer.from([0, 3])]);
    assert.equal(send(built, ch)!.packet.rcode, 'REFUSED');
    const chInZone = Buffer.concat([header({}), question('www.surveyor.lab', 1).subarray(0, -2), Buffer.from([0, 3])]);
    assert.equal(send(built, chInZone)!.packet.rcode, 'REFUSED');
  });

  it('answers ANY minimally (RFC 8482): one RRset', () => {
    assert.deepEqual(data(ask(built, 'surveyor.lab', 'ANY').packet.answers), ['surveyor.lab 300 MX {"preference":10,"exchange":"mail.surveyor.lab"}']);
    assert.deepEqual(data(ask(built, 'www.surveyor.lab', 'ANY').packet.answers), ['www.surveyor.lab 20 A 192.0.2.10']);
    assert.deepEqual(data(ask(built, 'ftp.surveyor.lab', 'ANY').packet.answers), ['ftp.surveyor.lab 300 CNAME www.surveyor.lab']);
    const ent = ask(built, 'b.surveyor.lab', 'ANY');
    assert.deepEqual([ent.packet.rcode, ent.packet.answers], ['NOERROR', []]);
  });

  it("matches names case-insensitively and preserves the question's case", () => {
    for (const [name, type] of [
      ['WwW.SuRvEyOr.LaB', 'A'],
      ['FTP.surveyor.LAB', 'A'],
      ['MAIL.Surveyor.Lab', 'MX'],
      ['NoPe.SURVEYOR.lab', 'A'],
      ['SURVEYOR.LAB', 'NS'],
    ]) {
      const reply = ask(built, name!, type!);
      assert.equal(reply.packet.questions![0]!.name, name);
      assert.notEqual(reply.packet.rcode, 'REFUSED');
      const query = packetQuery(name!, { type: type! });
      assert.deepEqual(reply.raw.subarray(12, query.length), query.subarray(12), 'question bytes copied');
    }
    assert.deepEqual(data(ask(built, 'WWW.SURVEYOR.LAB', 'A').packet.answers), ['WWW.SURVEYOR.LAB 20 A 192.0.2.10']);
  });

  it('refers below a delegation: not authoritative, NS in authority, glue in additional', () => {
    for (const name of ['sub.surveyor.lab', 'host.sub.surveyor.lab', 'ns.sub.surveyor.lab']) {
      const reply = ask(built, name, 'A');
      assert.equal(reply.packet.rcode, 'NOERROR', name);
      assert.equal(reply.packet.flag_aa, false, name);
      assert.deepEqual(reply.packet.answers, [], name);
      assert.deepEqual(data(reply.packet.authorities), ['sub.surveyor.lab 300 NS ns.sub.surveyor.lab'], name);
      assert.deepEqual(data(reply.packet.additionals), ['ns.sub.surveyor.lab 300 A 192.0.2.99'], name);
    }
  });

  it('ends a CNAME chain at a target below a delegation with the CNAME alone, not NXDOMAIN', () => {
    const reply = ask(built, 'intosub.surveyor.lab', 'A');
    assert.deepEqual([reply.packet.rcode, reply.packet.flag_aa], ['NOERROR', true]);
    assert.deepEqual(data(reply.packet.answers), ['intosub.surveyor.lab 300 CNAME host.sub.surveyor.lab']);
    assert.deepEqual(reply.packet.authorities, []);
    const dangling = ask(built, 'dangling.surveyor.lab', 'A');
    assert.equal(dangling.packet.rcode, 'NXDOMAIN', 'a target in the zone proper that does not exist is still NXDOMAIN');
  });

  it('truncates a referral whose glue does not fit rather than send it without (RFC 9471), and drops optional additionals elsewhere', () => {
    const servers = Array.from({ length: 20 }, (_, i) => `ns${i}`);
    const records = servers.flatMap((ns, i) => [`        - { name: deep, type: NS, value: ${ns}.deep.surveyor.lab. }`, `        - { name: ${ns}.deep, type: A, value: 192.0.2.${i + 100} }`]).join('\n');
    const big = sample((text) => text.replace(/(- \{ name: "@", type: TXT, value: "v=spf1 mx -all" \})/, `$1\n${records}`));
    for (const name of ['deep.surveyor.lab', 'host.deep.surveyor.lab']) {
      const udp = ask(big, name, 'A');
      assert.deepEqual([udp.packet.flag_tc, udp.packet.flag_aa, udp.raw.length <= 512], [true, false, true], name);
      const tcp = ask(big, name, 'A', { tcp: true });
      assert.deepEqual([tcp.packet.flag_tc, tcp.packet.authorities!.length, tcp.packet.additionals!.length], [false, 20, 20], name);
    }
  });

  it('answers the parser verdicts: FORMERR, NOTIMP, BADVERS; drops responses', () => {
    const formerr = send(built, Buffer.concat([header({ qd: 2 }), question('www.surveyor.lab'), question('www.surveyor.lab')]))!;
    assert.deepEqual([formerr.packet.rcode, formerr.packet.flag_aa, formerr.packet.answers], ['FORMERR', false, []]);
    const notify = send(built, Buffer.concat([header({ flags: 4 << 11 }), question('surveyor.lab', 6)]))!;
    assert.equal(notify.packet.rcode, 'NOTIMP');
    const badvers = send(built, Buffer.concat([header({ ar: 1 }), question('www.surveyor.lab'), optRecord({ version: 1 })]))!;
    const opt = badvers.packet.additionals?.[0] as unknown as { extendedRcode: number };
    assert.deepEqual([badvers.raw[3]! & 0xf, opt.extendedRcode, badvers.packet.answers], [0, 1, []], 'BADVERS = 16: upper bits 1 in the OPT');
    assert.equal(send(built, Buffer.concat([header({ flags: 0x8000 }), question('www.surveyor.lab')])), null);
    assert.equal(send(built, Buffer.alloc(5)), null);
  });

  it('sets TC over UDP when the answer does not fit, and answers in full within a larger limit', () => {
    const udp = ask(built, 'big.surveyor.lab', 'TXT');
    assert.deepEqual([udp.packet.flag_tc, udp.packet.answers, udp.raw.length <= 512], [true, [], true]);
    const tcp = ask(built, 'big.surveyor.lab', 'TXT', { tcp: true });
    assert.equal(tcp.packet.flag_tc, false);
    assert.equal(((tcp.packet.answers![0] as { data: Buffer[] }).data).map((b) => b.toString()).join(''), 'x'.repeat(700));
    const edns = ask(built, 'big.surveyor.lab', 'TXT', { edns: { udpPayloadSize: 1232 } });
    assert.equal(edns.packet.flag_tc, false);
  });
});

describe('GSLB answers from the selectors', () => {
  it('ntrip by location: ECS 10.1.0.0/16 gets be with scope 16, 10.2.0.0/16 gets us; else the client address', () => {
    const built = sample();
    const be = ask(built, 'ntrip.surveyor.lab', 'A', { edns: { ecs: { family: 1, source: 16, ip: '10.1.0.0' } } });
    assert.deepEqual([data(be.packet.answers), ecsScope(be)], [['ntrip.surveyor.lab 10 A 192.0.2.11'], 16]);
    const us = ask(built, 'ntrip.surveyor.lab', 'A', { edns: { ecs: { family: 1, source: 16, ip: '10.2.0.0' } } });
    assert.deepEqual([data(us.packet.answers), ecsScope(us)], [['ntrip.surveyor.lab 10 A 203.0.113.11'], 16]);
    // ECS wins over the address the query came from.
    const byEcs = ask(built, 'ntrip.surveyor.lab', 'A', { client: '10.1.2.3', edns: { ecs: { family: 1, source: 24, ip: '10.2.7.0' } } });
    assert.deepEqual(data(byEcs.packet.answers), ['ntrip.surveyor.lab 10 A 203.0.113.11']);
    assert.deepEqual(data(ask(built, 'ntrip.surveyor.lab', 'A', { client: '10.2.3.4' }).packet.answers), ['ntrip.surveyor.lab 10 A 203.0.113.11']);
    assert.deepEqual(data(ask(built, 'ntrip.surveyor.lab', 'A', { client: '10.1.3.4' }).packet.answers), ['ntrip.surveyor.lab 10 A 192.0.2.11']);
  });

  it('sends ECS scope 0 for answers that do not depend on the client', () => {
    const built = sample();
    const ecs = { edns: { ecs: { family: 1, source: 24, ip: '10.1.2.0' } } };
    assert.equal(ecsScope(ask(built, 'www.surveyor.lab', 'A', ecs)), 0);
    assert.equal(ecsScope(ask(built, 'mail.surveyor.lab', 'A', ecs)), 0);
    assert.equal(ecsScope(ask(built, 'nope.surveyor.lab', 'A', ecs)), 0);
  });

  it('fails over to the DR site when the primary goes down, and back, through FqdnState', () => {
    const built = sample();
    const www = built.states.get('www.surveyor.lab')!;
    const before = ask(built, 'www.surveyor.lab', 'A');
    assert.deepEqual(data(before.packet.answers), ['www.surveyor.lab 20 A 192.0.2.10']);
    const ftpBefore = ask(built, 'ftp.surveyor.lab', 'A');
    // A first check that fails takes a site down at once; this one has passed before.
    www.record(0, true, 'HTTP 200', 0);
    www.record(0, false, 'connection refused', 1000);
    assert.deepEqual(data(ask(built, 'www.surveyor.lab', 'A').packet.answers), ['www.surveyor.lab 20 A 192.0.2.10'], 'fall is 2');
    www.record(0, false, 'connection refused', 2000);
    const after = ask(built, 'www.surveyor.lab', 'A');
    assert.deepEqual(data(after.packet.answers), ['www.surveyor.lab 20 A 198.51.100.20']);
    assert.deepEqual(data(ask(built, 'ftp.surveyor.lab', 'A').packet.answers), ['ftp.surveyor.lab 300 CNAME www.surveyor.lab', 'www.surveyor.lab 20 A 198.51.100.20']);
    // The answer's template is reused: same bytes for the same question, whatever the ID.
    const again = ask(built, 'www.surveyor.lab', 'A');
    assert.deepEqual(again.raw, after.raw);
    for (let t = 3000; t <= 5000; t += 1000) www.record(0, true, 'HTTP 200', t);
    const back = ask(built, 'www.surveyor.lab', 'A');
    assert.deepEqual(back.raw, before.raw, 'failback: the first template again');
    assert.deepEqual(ask(built, 'ftp.surveyor.lab', 'A').raw, ftpBefore.raw);
  });

  it('whenAllDown none answers NODATA with the SOA; an address answers that address', () => {
    const none = sample((text) => text.replace('whenAllDown: all', 'whenAllDown: none'));
    const www = none.states.get('www.surveyor.lab')!;
    for (const t of [1000, 2000]) www.record(0, false, 'down', t);
    for (const t of [1000, 2000, 3000]) www.record(1, false, 'down', t);
    const reply = ask(none, 'www.surveyor.lab', 'A');
    assert.deepEqual([reply.packet.rcode, reply.packet.answers, soaOf(reply).ttl], ['NOERROR', [], 60]);
    const ftp = ask(none, 'ftp.surveyor.lab', 'A');
    assert.deepEqual(data(ftp.packet.answers), ['ftp.surveyor.lab 300 CNAME www.surveyor.lab']);
    assert.equal(soaOf(ftp).ttl, 60);

    const sorry = sample((text) => text.replace('whenAllDown: all', 'whenAllDown: 192.0.2.99'));
    const www2 = sorry.states.get('www.surveyor.lab')!;
    for (const t of [1000, 2000]) www2.record(0, false, 'down', t);
    for (const t of [1000, 2000, 3000]) www2.record(1, false, 'down', t);
    assert.deepEqual(data(ask(sorry, 'www.surveyor.lab', 'A').packet.answers), ['www.surveyor.lab 20 A 192.0.2.99']);
    const all = sample();
    const www3 = all.states.get('www.surveyor.lab')!;
    for (const t of [1000, 2000]) www3.record(0, false, 'down', t);
    for (const t of [1000, 2000, 3000]) www3.record(1, false, 'down', t);
    assert.deepEqual(data(ask(all, 'www.surveyor.lab', 'A').packet.answers), ['www.surveyor.lab 20 A 192.0.2.10'], 'whenAllDown all: as if all were up');
  });

  it('answers AAAA from IPv6 sites and A from IPv4 ones at a mixed-family FQDN', () => {
    const built = sample((text) => text.replace('address: 198.51.100.20', 'address: [198.51.100.20, "2001:db8::20"]'));
    const www = built.states.get('www.surveyor.lab')!;
    assert.deepEqual(data(ask(built, 'www.surveyor.lab', 'AAAA').packet.answers), ['www.surveyor.lab 20 AAAA 2001:db8::20']);
    for (const t of [1000, 2000]) www.record(0, false, 'down', t);
    assert.deepEqual(data(ask(built, 'www.surveyor.lab', 'A').packet.answers), ['www.surveyor.lab 20 A 198.51.100.20']);
    assert.deepEqual(data(ask(built, 'ftp.surveyor.lab', 'AAAA').packet.answers), ['ftp.surveyor.lab 300 CNAME www.surveyor.lab', 'www.surveyor.lab 20 AAAA 2001:db8::20']);
  });
});
