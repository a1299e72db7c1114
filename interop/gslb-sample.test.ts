// "The sample config works as written": Fulcrum runs examples/gslb.yaml (issue 5's sample) byte
// for byte on 127.0.0.1:5353, and real servers sit on exactly the check targets it names:
// - 127.0.0.1:9001, www's primary: an HTTP server that answers GET /health 200 only for
//   Host: www.surveyor.lab (an IIS-style host binding), 503 when the test makes it fail;
// - 127.0.0.1:9002, www's DR (tcp check): a TCP server that accepts;
// - 127.0.0.1:9090, ntrip's us site (fulcrum check): a second Fulcrum whose admin API is there,
//   with a virtual service `ntrip` whose one real server the test starts and stops.
// dig (and kdig) then see www fail over and back, and ntrip follow the other node's health for a
// client in 10.2.0.0/16 (ECS, dig +subnet).
//
// The ports are fixed on purpose, as in sample-config.test.ts: a port that is taken on this
// machine fails the run with its name, never moves.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startFulcrum, type Fulcrum } from '../test/helpers/fulcrum.ts';
import { teardown } from '../test/helpers/processes.ts';
import { dig, type DigAnswer } from './dig.ts';
import { kdig } from './kdig.ts';
import { requirePeers } from './peers.ts';

const SAMPLE = path.resolve(import.meta.dirname, '..', 'examples', 'gslb.yaml');

/** Every address the sample names, and what listens there during the test. */
const FIXED: Array<{ proto: 'tcp' | 'udp'; port: number; what: string }> = [
  { proto: 'udp', port: 5353, what: 'gslb.listen (UDP)' },
  { proto: 'tcp', port: 5353, what: 'gslb.listen (TCP)' },
  { proto: 'tcp', port: 9001, what: "www's primary check target (HTTP)" },
  { proto: 'tcp', port: 9002, what: "www's drc check target (TCP)" },
  { proto: 'tcp', port: 9090, what: "ntrip's us check target (the other Fulcrum's admin API)" },
];

/** From the sample: www's primary check, and ntrip's us check (the defaults: interval 5s, fall 3, rise 2). */
const PRIMARY_CHECK = { intervalMs: 1000, fall: 2, rise: 3, delayMs: 0 };
const US_CHECK = { intervalMs: 5000, fall: 3, rise: 2 };

function canBind(proto: 'tcp' | 'udp', port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (proto === 'udp') {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind({ address: '127.0.0.1', port, exclusive: true }, () => socket.close(() => resolve(true)));
      return;
    }
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

async function listenOn(server: net.Server, port: number): Promise<void> {
  server.listen({ host: '127.0.0.1', port, exclusive: true });
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([err]) => Promise.reject(new Error(`cannot listen on 127.0.0.1:${port}: ${(err as Error).message}`))),
  ]);
}

function closeServer(server: net.Server | http.Server | undefined): Promise<void> {
  if (server === undefined || !server.listening) return Promise.resolve();
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A TCP server that accepts and closes; connections counted. */
async function startTcpTarget(port: number): Promise<net.Server & { accepted: number }> {
  const server = Object.assign(
    net.createServer((socket) => {
      server.accepted++;
      socket.on('error', () => socket.destroy());
      socket.end();
    }),
    { accepted: 0 },
  );
  await listenOn(server, port);
  return server;
}

interface SeenRequest {
  method: string;
  url: string;
  httpVersion: string;
  host: string | undefined;
}

/** Polls `probe` every 200 ms until `done` accepts its value; fails with the last value after `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await sleep(200);
  }
}

type Row = [string, number, string, string];
const rows = (records: readonly DigAnswer[]): Row[] => records.map((r) => [r.name, r.ttl, r.type, r.data]);
const AT = ['@127.0.0.1', '-p', '5353'];

describe('examples/gslb.yaml as written, with real servers on every check target', () => {
  let fulcrum: Fulcrum | undefined;
  let remote: Fulcrum | undefined;
  let serial = 0;
  let healthy = true;
  const seen: SeenRequest[] = [];
  let www: http.Server | undefined;
  let drc: (net.Server & { accepted: number }) | undefined;
  let ntripServer: net.Server | undefined;
  let ntripServerPort = 0;

  before(async () => {
    requirePeers('dig', 'kdig');
    for (const { proto, port, what } of FIXED) {
      if (!(await canBind(proto, port))) {
        throw new Error(`examples/gslb.yaml needs ${proto} 127.0.0.1:${port} (${what}) but it is in use on this machine; free it (ss -ltnup | grep ${port}) and run again`);
      }
    }
    // www's primary: an IIS-style host binding, as issue 3's story
    www = http.createServer((req, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', httpVersion: req.httpVersion, host: req.headers.host });
      const status = req.headers.host !== 'www.surveyor.lab' ? 400 : req.url !== '/health' ? 404 : healthy ? 200 : 503;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`${status}\n`);
    });
    await listenOn(www, 9001);
    drc = await startTcpTarget(9002);
    // the other node: its admin API on 9090, ntrip's real server started by the tests
    ntripServerPort = await freePort();
    remote = await startFulcrum({
      config: [
        'accessLog: off',
        'admin: { listen: 127.0.0.1:9090 }',
        'virtualServices:',
        '  - name: ntrip',
        `    listen: 127.0.0.1:${await freePort()}`,
        '    protocol: tcp',
        '    healthCheck: { type: tcp, interval: 300ms, fall: 1, rise: 1, startAs: down }',
        `    realServers: [ { address: 127.0.0.1:${ntripServerPort} } ]`,
      ].join('\n'),
    });
    fulcrum = await startFulcrum({ config: await readFile(SAMPLE, 'utf8') });
    serial = Number(fulcrum.logs.find((l) => l.msg === 'ready')?.['dnsSerial']);
  });
  after(() => teardown(() => fulcrum?.stop(), () => remote?.stop(), () => closeServer(www), () => closeServer(drc), () => closeServer(ntripServer)));

  /** The A records of `name` as dig sees them over UDP from a client in `subnet` (ECS) or from 127.0.0.1. */
  const addressesOf = async (name: string, subnet?: string): Promise<string[]> => {
    const result = await dig([...AT, name, 'A', ...(subnet === undefined ? [] : [`+subnet=${subnet}`])]);
    assert.equal(result.status, 'NOERROR', result.stdout);
    return result.answers.filter((a) => a.type === 'A').map((a) => a.data);
  };

  it('serves the zone of the sample on 127.0.0.1:5353 over UDP and TCP: SOA, NS, MX, TXT, A and the ftp CNAME as configured', async () => {
    assert.equal(await readFile(fulcrum!.configPath, 'utf8'), await readFile(SAMPLE, 'utf8'));
    assert.ok(Number.isInteger(serial) && serial > 0, `the ready line names the SOA serial: ${serial}`);
    // the zone's ttl (default 300) and SOA timers (defaults 1h, 15m, 14d, 1m)
    const expected: Array<[string, string, Row[], Row[]]> = [
      ['surveyor.lab', 'SOA', [['surveyor.lab.', 300, 'SOA', `ns1.surveyor.lab. hostmaster.surveyor.lab. ${serial} 3600 900 1209600 60`]], []],
      ['surveyor.lab', 'NS', [['surveyor.lab.', 300, 'NS', 'ns1.surveyor.lab.']], [['ns1.surveyor.lab.', 300, 'A', '192.0.2.53']]],
      ['surveyor.lab', 'MX', [['surveyor.lab.', 300, 'MX', '10 mail.surveyor.lab.']], []],
      ['surveyor.lab', 'TXT', [['surveyor.lab.', 300, 'TXT', '"v=spf1 mx -all"']], []],
      ['mail.surveyor.lab', 'A', [['mail.surveyor.lab.', 300, 'A', '192.0.2.25']], []],
      ['ns1.surveyor.lab', 'A', [['ns1.surveyor.lab.', 300, 'A', '192.0.2.53']], []],
      [
        'ftp.surveyor.lab',
        'A',
        [
          ['ftp.surveyor.lab.', 300, 'CNAME', 'www.surveyor.lab.'],
          ['www.surveyor.lab.', 20, 'A', '192.0.2.10'],
        ],
        [],
      ],
    ];
    for (const [name, type, answers, additional] of expected) {
      for (const result of [await dig([...AT, name, type]), await dig([...AT, name, type, '+tcp']), await kdig([...AT, name, type])]) {
        assert.equal(result.status, 'NOERROR', result.stdout);
        assert.ok(result.flags.includes('aa'), result.stdout);
        assert.deepEqual(rows(result.answers), answers, result.stdout);
        assert.deepEqual(rows(result.additional), additional, result.stdout);
      }
    }
    assert.equal((await dig([...AT, 'surveyor.lab', 'SOA', '+tcp'])).transport, 'TCP');
    assert.equal((await dig([...AT, 'example.com', 'A'])).status, 'REFUSED');
  });

  it('www: 192.0.2.10 while the primary passes its check (GET /health HTTP/1.1, Host: www.surveyor.lab, on 127.0.0.1:9001)', async () => {
    await until('a check on 127.0.0.1:9001', async () => seen.length, (n) => n >= 1, 5000);
    assert.deepEqual(seen[0], { method: 'GET', url: '/health', httpVersion: '1.1', host: 'www.surveyor.lab' });
    const result = await dig([...AT, 'www.surveyor.lab', 'A']);
    assert.deepEqual(rows(result.answers), [['www.surveyor.lab.', 20, 'A', '192.0.2.10']], result.stdout);
    assert.deepEqual(rows((await kdig([...AT, 'www.surveyor.lab', 'A'])).answers), [['www.surveyor.lab.', 20, 'A', '192.0.2.10']]);
    await until("drc's tcp check on 127.0.0.1:9002", async () => drc!.accepted, (n) => n >= 1, 5000);
  });

  it('www: 198.51.100.20 when 9001 fails (within fall x interval + delay + one interval), 192.0.2.10 again after rise passes', async () => {
    const from = fulcrum!.logs.length;
    healthy = false;
    let started = performance.now();
    await until('www -> 198.51.100.20', () => addressesOf('www.surveyor.lab'), (a) => a[0] === '198.51.100.20', 10_000);
    let elapsed = performance.now() - started;
    let bound = PRIMARY_CHECK.fall * PRIMARY_CHECK.intervalMs + PRIMARY_CHECK.delayMs + PRIMARY_CHECK.intervalMs;
    // + 300 ms: polling every 200 ms with a dig process each time
    assert.ok(elapsed <= bound + 300, `DR after ${Math.round(elapsed)} ms; bound ${bound} ms`);
    assert.deepEqual(await addressesOf('ftp.surveyor.lab'), ['198.51.100.20'], 'ftp, a CNAME to www, follows');
    const down = await fulcrum!.waitForLog((l) => l['fqdn'] === 'www.surveyor.lab' && l['site'] === 'primary' && l['event'] === 'down', { from });
    assert.match(String(down.msg), /is DOWN after 2 failed checks and a 0s delay: .*503/, String(down.msg));

    healthy = true;
    started = performance.now();
    await until('www -> 192.0.2.10', () => addressesOf('www.surveyor.lab'), (a) => a[0] === '192.0.2.10', 10_000);
    elapsed = performance.now() - started;
    bound = PRIMARY_CHECK.rise * PRIMARY_CHECK.intervalMs + PRIMARY_CHECK.intervalMs;
    assert.ok(elapsed <= bound + 300, `primary again after ${Math.round(elapsed)} ms; bound ${bound} ms`);
  });

  it('ntrip: a client in 10.2.0.0/16 (dig +subnet) gets 192.0.2.11 while the remote node\'s ntrip has no healthy real server', async () => {
    // us starts up (startAs: up); its first check fails at once: 0 of 1 real servers up on the other node
    await until('ntrip for 10.2.0.0/24 -> 192.0.2.11', () => addressesOf('ntrip.surveyor.lab', '10.2.0.0/24'), (a) => a[0] === '192.0.2.11', US_CHECK.intervalMs + 2000);
    const result = await dig([...AT, 'ntrip.surveyor.lab', 'A', '+subnet=10.2.0.0/24']);
    assert.deepEqual(rows(result.answers), [['ntrip.surveyor.lab.', 10, 'A', '192.0.2.11']], result.stdout);
    assert.deepEqual(result.clientSubnet, { address: '10.2.0.0', source: 24, scope: 16 }, result.stdout);
    const down = fulcrum!.logs.find((l) => l['fqdn'] === 'ntrip.surveyor.lab' && l['site'] === 'us' && l['event'] === 'down');
    assert.match(String(down?.msg), /virtual service ntrip has 0 of 1 real servers up/, JSON.stringify(down));
    // a client in Belgium gets be either way
    assert.deepEqual(await addressesOf('ntrip.surveyor.lab', '10.1.0.0/24'), ['192.0.2.11']);
  });

  it('ntrip: 203.0.113.11 for 10.2.0.0/16 once the remote node\'s ntrip real server is healthy (rise 2 x 5 s)', async () => {
    ntripServer = await startTcpTarget(ntripServerPort);
    const started = performance.now();
    await until('ntrip for 10.2.0.0/24 -> 203.0.113.11', () => addressesOf('ntrip.surveyor.lab', '10.2.0.0/24'), (a) => a[0] === '203.0.113.11', 20_000);
    const elapsed = performance.now() - started;
    // the other node's check (300 ms) then rise passed checks, the first up to one interval away
    const bound = US_CHECK.rise * US_CHECK.intervalMs + US_CHECK.intervalMs;
    assert.ok(elapsed <= bound + 1000, `us after ${Math.round(elapsed)} ms; bound ${bound} ms`);
    for (const result of [await dig([...AT, 'ntrip.surveyor.lab', 'A', '+subnet=10.2.0.0/16']), await kdig([...AT, 'ntrip.surveyor.lab', 'A', '+subnet=10.2.0.0/16'])]) {
      assert.deepEqual(rows(result.answers), [['ntrip.surveyor.lab.', 10, 'A', '203.0.113.11']], result.stdout);
      assert.deepEqual(result.clientSubnet, { address: '10.2.0.0', source: 16, scope: 16 }, result.stdout);
    }
    assert.deepEqual(await addressesOf('ntrip.surveyor.lab', '10.1.0.0/24'), ['192.0.2.11']);
  });

  it('ntrip: 192.0.2.11 again when that real server fails (fall 3 x 5 s)', async () => {
    const from = fulcrum!.logs.length;
    await closeServer(ntripServer);
    const started = performance.now();
    await until('ntrip for 10.2.0.0/24 -> 192.0.2.11', () => addressesOf('ntrip.surveyor.lab', '10.2.0.0/24'), (a) => a[0] === '192.0.2.11', 25_000);
    const elapsed = performance.now() - started;
    const bound = US_CHECK.fall * US_CHECK.intervalMs + US_CHECK.intervalMs;
    assert.ok(elapsed <= bound + 1000, `be after ${Math.round(elapsed)} ms; bound ${bound} ms`);
    const down = await fulcrum!.waitForLog((l) => l['fqdn'] === 'ntrip.surveyor.lab' && l['site'] === 'us' && l['event'] === 'down', { from });
    assert.match(String(down.msg), /is DOWN after 3 failed checks and a 0s delay: .*0 of 1 real servers up/, String(down.msg));
  });
});
