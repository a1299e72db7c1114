// Config reload while DNS clients keep asking, on a real Fulcrum with two workers (the config
// file rewritten, then SIGHUP): not one query goes unanswered, the answers switch to the new
// sites, and the SOA serial rises exactly when the gslb section changed. A reload that fails
// (a bad gslb section, an address taken) keeps the old answers and says why. Issue 5: "Config
// reload applies zone and FQDN changes without dropping a query; the serial of the SOA increases
// with every change".
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { answersOf, HOST, query, rr, rcodeOf, RCODE, udpQuery, UdpClient } from './client.ts';
import { dnsConfig, freeDnsPort, startDnsFulcrum, WWW, type DnsConfigSpec, type DnsFulcrum, type FqdnSpec } from './fixture.ts';
import { freePort } from '../helpers/fulcrum.ts';

/** Clients asking at once, each waiting for its answer before the next query (no socket buffer overflows). */
const LANES = 8;
/** At least this many queries in all, and this many sent after the reload finished. */
const MIN_TOTAL = 2000;
const MIN_AFTER = 400;

const OLD = '192.0.2.10';
const NEW = '203.0.113.77';
const WWW_MOVED: FqdnSpec = { ...WWW, sites: [{ name: 'new-primary', address: NEW, weight: 1000 }, { name: 'drc', address: '198.51.100.20', weight: 1 }] };

let dns: DnsFulcrum;

before(async () => {
  dns = await startDnsFulcrum({ fqdns: [WWW], workers: 2 });
});

after(() => dns.stop());

interface Sample {
  /** Sent after the reload had finished (the `reloaded` or `reload failed` line seen). */
  afterReload: boolean;
  /** Sent before SIGHUP. */
  beforeReload: boolean;
  address: string;
}

/**
 * Runs `reload` while LANES clients query www.surveyor.lab A without pause, and keeps them going
 * until MIN_TOTAL queries and MIN_AFTER after the reload. Any query unanswered within the client
 * timeout fails the test.
 */
async function queriesDuring(reload: () => Promise<string>): Promise<{ samples: Sample[]; outcome: string }> {
  const samples: Sample[] = [];
  let phase: 'before' | 'during' | 'after' = 'before';
  let after = 0;
  let failed: unknown = null;
  const done = (): boolean => failed !== null || (phase === 'after' && after >= MIN_AFTER && samples.length >= MIN_TOTAL);
  const lane = async (index: number): Promise<void> => {
    const client = await UdpClient.open(dns.port);
    try {
      for (let seq = 0; !done(); seq++) {
        const sentIn = phase;
        const reply = await client.query(query('www.surveyor.lab', { id: ((index * 8191 + seq) % 0xffff) + 1 }));
        assert.equal(rcodeOf(reply), RCODE.NOERROR);
        const addresses = answersOf(reply, 'A') as string[];
        assert.equal(addresses.length, 1);
        samples.push({ afterReload: sentIn === 'after', beforeReload: sentIn === 'before', address: addresses[0]! });
        if (sentIn === 'after') after++;
      }
    } catch (error) {
      failed ??= error;
    } finally {
      await client.close();
    }
  };
  const lanes = Array.from({ length: LANES }, (_, i) => lane(i));
  // Let the clients get going before the reload.
  while (samples.length < 200 && failed === null) await new Promise((resolve) => setImmediate(resolve));
  phase = 'during';
  let outcome: string;
  try {
    outcome = await reload();
  } finally {
    phase = 'after';
  }
  await Promise.all(lanes);
  if (failed !== null) throw failed;
  return { samples, outcome };
}

async function soaSerial(): Promise<number> {
  const reply = await udpQuery(dns.port, query('surveyor.lab', { type: 'SOA' }));
  return (rr(reply.packet.answers![0]!).data as { serial: number }).serial;
}

function reloadTo(spec: Omit<DnsConfigSpec, 'port'>): () => Promise<string> {
  return () => dns.fulcrum.reload(dnsConfig({ ...spec, port: dns.port, workers: 2 }));
}

function counts(samples: readonly Sample[], which: (s: Sample) => boolean): Map<string, number> {
  const byAddress = new Map<string, number>();
  for (const s of samples) if (which(s)) byAddress.set(s.address, (byAddress.get(s.address) ?? 0) + 1);
  return byAddress;
}

describe('reload under query load', () => {
  it('new sites for www (and a new record): every query answered, old answers before, new ones after, the serial up', async () => {
    const serialBefore = await soaSerial();
    const from = dns.fulcrum.logs.length;
    const { samples, outcome } = await queriesDuring(reloadTo({ fqdns: [WWW_MOVED], records: [{ name: 'added', type: 'A', value: '192.0.2.200' }] }));
    assert.equal(outcome, 'reloaded');
    assert.ok(samples.length >= MIN_TOTAL, `${samples.length} queries, each answered`);
    assert.deepEqual([...counts(samples, (s) => s.beforeReload).keys()], [OLD], 'before SIGHUP: the old site');
    assert.deepEqual([...counts(samples, (s) => s.afterReload).keys()], [NEW], 'after the reload: the new site only');
    const during = counts(samples, (s) => !s.beforeReload && !s.afterReload);
    for (const address of during.keys()) assert.ok(address === OLD || address === NEW, `during: ${address}`);
    const answeredDuring = [...during.values()].reduce((a, b) => a + b, 0);
    assert.ok(answeredDuring > 0, 'queries were sent and answered while the reload ran');
    const serialAfter = await soaSerial();
    assert.ok(serialAfter > serialBefore, `serial ${serialBefore} -> ${serialAfter}`);
    const logged = dns.fulcrum.logs.slice(from).find((line) => line['dnsSerial'] !== undefined);
    assert.equal(logged?.['dnsSerial'], serialAfter, 'the log names the new serial');
    const added = await udpQuery(dns.port, query('added.surveyor.lab'));
    assert.deepEqual(answersOf(added, 'A'), ['192.0.2.200']);
  });

  it('a reload that leaves the gslb section alone (a virtual service added) keeps the serial and the answers', async () => {
    const serialBefore = await soaSerial();
    const from = dns.fulcrum.logs.length;
    const web = { name: 'web', listen: `${HOST}:${await freePort()}`, protocol: 'http', scheduler: 'round-robin', realServers: [{ address: '127.0.0.1:9', weight: 100 }] };
    const { samples, outcome } = await queriesDuring(reloadTo({ fqdns: [WWW_MOVED], records: [{ name: 'added', type: 'A', value: '192.0.2.200' }], extra: { virtualServices: [web] } }));
    assert.equal(outcome, 'reloaded');
    assert.deepEqual([...counts(samples, () => true).keys()], [NEW]);
    assert.equal(await soaSerial(), serialBefore);
    assert.equal(dns.fulcrum.logs.slice(from).find((line) => line['dnsSerial'] !== undefined), undefined, 'no serial change logged');
  });

  it('a bad gslb section (an FQDN in no zone): reload failed, the log names it, the old answers and serial stay', async () => {
    const serialBefore = await soaSerial();
    const from = dns.fulcrum.logs.length;
    const stray: FqdnSpec = { name: 'www.elsewhere.example', sites: [{ name: 'x', address: '192.0.2.1' }] };
    const { samples, outcome } = await queriesDuring(reloadTo({ fqdns: [WWW, stray] }));
    assert.equal(outcome, 'reload failed');
    assert.deepEqual([...counts(samples, () => true).keys()], [NEW], 'still the running config\'s answer');
    const failure = dns.fulcrum.logs.slice(from).find((line) => line.msg === 'reload failed');
    assert.match(JSON.stringify(failure), /www\.elsewhere\.example/);
    assert.match(JSON.stringify(failure), /fqdns/);
    assert.equal(await soaSerial(), serialBefore);
    // Nothing of the rejected config leaked in: added.surveyor.lab is still there.
    assert.equal(rcodeOf(await udpQuery(dns.port, query('added.surveyor.lab'))), RCODE.NOERROR);
  });

  it('a gslb listen address already taken: reload failed, the log names the address, the old answers stay', async () => {
    const taken = await freeDnsPort();
    const squatter = createSocket('udp4');
    squatter.bind(taken, HOST);
    await once(squatter, 'listening');
    try {
      const from = dns.fulcrum.logs.length;
      const spec = { fqdns: [WWW], port: dns.port, workers: 2 };
      const text = dnsConfig(spec).replace(`- ${HOST}:${dns.port}`, `- ${HOST}:${dns.port}\n    - ${HOST}:${taken}`);
      assert.ok(text.includes(`${HOST}:${taken}`), 'the second listen address is in the config');
      const { samples, outcome } = await queriesDuring(() => dns.fulcrum.reload(text));
      assert.equal(outcome, 'reload failed');
      assert.deepEqual([...counts(samples, () => true).keys()], [NEW]);
      const failure = dns.fulcrum.logs.slice(from).find((line) => line.msg === 'reload failed');
      assert.match(JSON.stringify(failure), new RegExp(`${taken}`));
    } finally {
      squatter.close();
    }
  });
});
