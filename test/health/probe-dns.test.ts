import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { decode, encode, type Answer, type DecodedPacket } from 'dns-packet';
import type { HealthCheckConfig } from '../../src/config/health-check.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { probeDns } from '../../src/health/probe-dns.ts';
import { probe } from '../../src/health/probe.ts';
import { describeCheck } from '../../src/health/target.ts';

/** How the scripted server answers one query: an RCODE and records, an ID change, or silence (null). */
type Script = (query: DecodedPacket, count: number) => { rcode: number; answers?: Answer[]; idDelta?: number } | null;

interface DnsServer {
  port: number;
  queries: DecodedPacket[];
  close(): Promise<void>;
}

const NOERROR = 0;
const SERVFAIL = 2;
const NXDOMAIN = 3;

async function dnsServer(script: Script): Promise<DnsServer> {
  const socket: Socket = createSocket('udp4');
  const queries: DecodedPacket[] = [];
  socket.on('message', (message: Buffer, from: RemoteInfo) => {
    const query = decode(message);
    queries.push(query);
    const answer = script(query, queries.length);
    if (answer === null) return;
    const reply = encode({
      type: 'response',
      id: ((query.id ?? 0) + (answer.idDelta ?? 0)) & 0xffff,
      flags: answer.rcode,
      questions: query.questions ?? [],
      answers: answer.answers ?? [],
    });
    socket.send(reply, from.port, from.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return {
    port: socket.address().port,
    queries,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** A port where nothing listens on UDP: bind one, note it, close it. */
async function closedUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** A dns check through the real config schema, on a udp virtual service (whose default type is dns). */
function dnsCheck(spec: Record<string, unknown> = {}): HealthCheckConfig {
  const result = validateConfig({
    virtualServices: [{ name: 'dns', listen: '127.0.0.1:1', protocol: 'udp', healthCheck: { interval: '2s', timeout: '400ms', ...spec }, realServers: [{ address: '127.0.0.1:1' }] }],
  });
  if (!result.ok) throw new Error(`bad test spec: ${JSON.stringify(result.issues)}`);
  const check = result.config.pools[0]?.realServers[0]?.healthCheck;
  assert.ok(check !== undefined && check.type === 'dns');
  return check;
}

const at = (port: number) => ({ host: '127.0.0.1', port });
const WWW = { query: 'www.example.com' };

describe('dns check', () => {
  it('passes on NOERROR with the same ID and question, and asks with recursion desired', async () => {
    const server = await dnsServer(() => ({ rcode: NOERROR, answers: [{ type: 'A', name: 'www.example.com', ttl: 60, data: '192.0.2.7' }] }));
    try {
      const result = await probeDns(at(server.port), dnsCheck(WWW));
      assert.equal(result.ok, true, result.reason);
      assert.match(result.reason, /^NOERROR for www\.example\.com A in (<1|[0-9]+) ms \(1 answer\)$/);
      assert.deepEqual(
        [result.detail?.target, result.detail?.request, result.detail?.rcode, result.detail?.answers],
        [`127.0.0.1:${server.port}/udp`, 'www.example.com A', 'NOERROR', 1],
      );
      const query = server.queries[0];
      assert.deepEqual(query?.questions, [{ name: 'www.example.com', type: 'A', class: 'IN' }]);
      assert.equal(query?.flag_rd, true);
      assert.equal(server.queries.length, 1, 'no retransmission once answered');
    } finally {
      await server.close();
    }
  });

  it('passes on NOERROR without records, and asks ". NS" when no query is set', async () => {
    const server = await dnsServer(() => ({ rcode: NOERROR }));
    try {
      const root = await probeDns(at(server.port), dnsCheck());
      assert.equal(root.ok, true, root.reason);
      assert.match(root.reason, /^NOERROR for \. NS in .* \(no NS records\)$/);
      assert.deepEqual(server.queries[0]?.questions, [{ name: '.', type: 'NS', class: 'IN' }]);
      const mx = await probeDns(at(server.port), dnsCheck({ query: 'Example.COM.', queryType: 'MX' }));
      assert.equal(mx.ok, true, mx.reason);
      assert.deepEqual(server.queries[1]?.questions, [{ name: 'Example.COM', type: 'MX', class: 'IN' }]);
    } finally {
      await server.close();
    }
  });

  it('fails on SERVFAIL and NXDOMAIN, saying what came back for which question', async () => {
    const server = await dnsServer((query) => ({ rcode: query.questions?.[0]?.name === 'gone.example.com' ? NXDOMAIN : SERVFAIL }));
    try {
      const servfail = await probeDns(at(server.port), dnsCheck(WWW));
      assert.equal(servfail.ok, false);
      assert.match(servfail.reason, new RegExp(`^SERVFAIL for www\\.example\\.com A from 127\\.0\\.0\\.1:${server.port}/udp: the server could not answer`));
      assert.equal(servfail.detail?.rcode, 'SERVFAIL');
      const nxdomain = await probeDns(at(server.port), dnsCheck({ query: 'gone.example.com', queryType: 'AAAA' }));
      assert.equal(nxdomain.ok, false);
      assert.match(nxdomain.reason, /^NXDOMAIN for gone\.example\.com AAAA from .*: the name does not exist there; set query to a name this server answers$/);
    } finally {
      await server.close();
    }
  });

  it('ignores a reply with another ID, asks again at half the timeout, then times out saying so', async () => {
    const server = await dnsServer(() => ({ rcode: NOERROR, idDelta: 1 }));
    try {
      const started = performance.now();
      const result = await probeDns(at(server.port), dnsCheck(WWW));
      assert.equal(result.ok, false);
      assert.equal(
        result.reason,
        `no answer within 400ms to "www.example.com A" on 127.0.0.1:${server.port}/udp; asked twice; ignored 2 replies with another ID or question`,
      );
      assert.ok(performance.now() - started >= 390);
      assert.equal(server.queries.length, 2);
      assert.equal(server.queries[0]?.id, server.queries[1]?.id, 'the retransmission is the same query');
    } finally {
      await server.close();
    }
  });

  it('a lost first query is recovered by the retransmission', async () => {
    const server = await dnsServer((_query, count) => (count === 1 ? null : { rcode: NOERROR }));
    try {
      const result = await probeDns(at(server.port), dnsCheck(WWW));
      assert.equal(result.ok, true, result.reason);
      assert.equal(server.queries.length, 2);
      assert.ok(result.latencyMs >= 190, String(result.latencyMs));
    } finally {
      await server.close();
    }
  });

  it('times out on a server that never answers', async () => {
    const server = await dnsServer(() => null);
    try {
      const result = await probeDns(at(server.port), dnsCheck(WWW));
      assert.equal(result.ok, false);
      assert.equal(result.reason, `no answer within 400ms to "www.example.com A" on 127.0.0.1:${server.port}/udp; asked twice`);
    } finally {
      await server.close();
    }
  });

  it('fails at once on ICMP port unreachable: nothing listens there', async () => {
    const port = await closedUdpPort();
    const started = performance.now();
    const result = await probeDns(at(port), dnsCheck({ ...WWW, interval: '20s', timeout: '10s' }));
    assert.equal(result.ok, false);
    assert.equal(result.reason, `ICMP port unreachable: nothing listens on 127.0.0.1:${port}/udp`);
    assert.ok(performance.now() - started < 1000);
  });

  it('checks the check port; the dispatcher runs it for type dns; the status names it; an abort stops it', async () => {
    const server = await dnsServer(() => ({ rcode: NOERROR }));
    const silent = await dnsServer(() => null);
    try {
      const result = await probe(at(await closedUdpPort()), dnsCheck({ ...WWW, port: server.port }));
      assert.equal(result.ok, true, result.reason);
      assert.equal(describeCheck({ host: '127.0.0.1', port: 53 }, dnsCheck(WWW)), 'dns www.example.com A to 127.0.0.1:53/udp');
      const abort = new AbortController();
      const pending = probeDns(at(silent.port), dnsCheck(WWW), abort.signal);
      abort.abort();
      assert.deepEqual([(await pending).ok, (await pending).reason], [false, 'check stopped']);
    } finally {
      await server.close();
      await silent.close();
    }
  });
});
