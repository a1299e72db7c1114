// Issue 4 through Fulcrum with real peers: iperf3 through a tcp service, dig through a udp
// service to two unbound servers, and RTKLIB's str2str pushing and pulling an NTRIP stream through
// a tcp service (NTRIP 1.0 SOURCE / ICY 200 OK) plus an NTRIP 2.0 client, hours-long in spirit:
// the stream keeps flowing on the same connections.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFulcrum, type Fulcrum } from '../test/helpers/fulcrum.ts';
import { freePort, teardown } from '../test/helpers/processes.ts';
import { dig } from './dig.ts';
import { startDnsServer, type DnsServer } from './dns-server.ts';
import { runIperf3Client, startIperf3Server, type Iperf3Server } from './iperf3.ts';
import { rtcm3Frames, startNtripClient, startNtripServer, type NtripClient, type NtripServer } from './ntrip.ts';
import { startNtripCaster, type NtripCaster } from './ntrip-caster.ts';
import { requirePeers } from './peers.ts';

it('finds the Layer 4 peers (run bash scripts/install-peers.sh if this fails)', () => {
  requirePeers('iperf3', 'unbound', 'dig', 'str2str');
});

describe('iperf3 through a tcp virtual service', () => {
  let iperf: Iperf3Server | undefined;
  let fulcrum: Fulcrum | undefined;
  let port = 0;
  before(async () => {
    iperf = await startIperf3Server(await freePort());
    port = await freePort();
    fulcrum = await startFulcrum({
      config: [
        'accessLog: off',
        'virtualServices:',
        '  - name: iperf',
        `    listen: 127.0.0.1:${port}`,
        '    protocol: tcp',
        '    persistence: { type: source-ip }',
        `    realServers: [ { address: ${iperf.address} } ]`,
      ].join('\n'),
    });
  });
  after(() => teardown(() => fulcrum?.stop(), () => iperf?.stop()));

  it('carries a 2 s upload and a reverse test with 2 streams (control and data connections on one server)', async () => {
    const up = await runIperf3Client({ host: '127.0.0.1', port, seconds: 2 });
    assert.ok(up.bitsPerSecond > 100e6, `upload ${up.bitsPerSecond} bit/s`);
    const down = await runIperf3Client({ host: '127.0.0.1', port, seconds: 1, parallel: 2, reverse: true });
    assert.ok(down.bitsPerSecond > 100e6, `download ${down.bitsPerSecond} bit/s`);
  });
});

describe('dig through a udp virtual service to two unbound servers', () => {
  const servers: DnsServer[] = [];
  let fulcrum: Fulcrum | undefined;
  let port = 0;
  before(async () => {
    for (const address of ['192.0.2.10', '192.0.2.20']) {
      servers.push(await startDnsServer({ zone: { name: 'example.test', records: [{ name: 'www', type: 'A', data: address }] } }));
    }
    port = await freePort();
    fulcrum = await startFulcrum({
      config: [
        'accessLog: off',
        'virtualServices:',
        '  - name: dns',
        `    listen: 127.0.0.1:${port}`,
        '    protocol: udp',
        '    udp: { sessionTimeout: 5s }',
        '    healthCheck: { type: dns, query: www.example.test, interval: 1s }',
        `    realServers: [ ${servers.map((s) => `{ address: ${s.address} }`).join(', ')} ]`,
      ].join('\n'),
    });
  });
  after(() => teardown(() => fulcrum?.stop(), ...servers.map((s) => () => s.stop())));

  it('answers from the virtual service address, each client port a session on one server, spread over both', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      // Each dig is a new client port: a new session, round robin over the two servers.
      const result = await dig(['@127.0.0.1', '-p', String(port), 'www.example.test', 'A']);
      assert.equal(result.status, 'NOERROR');
      assert.equal(result.answers.length, 1);
      seen.add(result.answers[0]!.data);
    }
    assert.deepEqual([...seen].sort(), ['192.0.2.10', '192.0.2.20']);
  });

  it('takes a server that stops answering out of rotation (dns health check)', async () => {
    await servers[1]!.stop();
    await fulcrum!.waitForLog((l) => /DOWN/.test(String(l.msg)), { timeoutMs: 10_000 });
    for (let i = 0; i < 4; i++) {
      const result = await dig(['@127.0.0.1', '-p', String(port), 'www.example.test', 'A']);
      assert.equal(result.answers[0]?.data, '192.0.2.10');
    }
  });
});

describe('NTRIP through a tcp virtual service: str2str server and client, and an NTRIP 2.0 client', () => {
  let caster: NtripCaster | undefined;
  let fulcrum: Fulcrum | undefined;
  let client: NtripClient | undefined;
  let source: NtripServer | undefined;
  let workDir = '';
  let port = 0;
  before(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'interop-ntrip-fulcrum-'));
    caster = await startNtripCaster(0, 'FULCRUM1', { sourcePassword: 'letmein' });
    port = await freePort();
    fulcrum = await startFulcrum({
      config: [
        'accessLog: off',
        'virtualServices:',
        '  - name: ntrip',
        `    listen: 127.0.0.1:${port}`,
        '    protocol: tcp',
        '    scheduler: least-connections',
        '    timeouts: { connect: 3s, idle: 1h }',
        '    persistence: { type: source-ip, timeout: 30m }',
        '    healthCheck: { type: tcp, interval: 2s }',
        `    realServers: [ { address: ${caster.address} } ]`,
      ].join('\n'),
    });
  });
  after(() =>
    teardown(
      () => source?.stop(),
      () => client?.stop(),
      () => fulcrum?.stop(),
      () => caster?.close(),
      () => workDir !== '' && rm(workDir, { recursive: true, force: true }),
    ),
  );

  it('str2str pushes (SOURCE) and pulls (GET, ICY 200 OK) the stream through Fulcrum, byte for byte, and it keeps flowing', async () => {
    const data = rtcm3Frames(400, 21);
    const inputFile = path.join(workDir, 'stream.rtcm3');
    await writeFile(inputFile, data);
    const vs = `127.0.0.1:${port}`;
    client = await startNtripClient({ caster: vs, mount: 'FULCRUM1' });
    await caster!.waitForClients(1);
    source = await startNtripServer({ caster: vs, mount: 'FULCRUM1', password: 'letmein', inputFile });
    const received = await client.waitForBytes(data.length);
    assert.ok(received.subarray(0, data.length).equals(data), 'the client got the stream the source pushed');
    for (let round = 0; round < 3; round++) {
      const more = rtcm3Frames(20, 30 + round);
      const before = client.bytes;
      await source.send(more);
      const now = await client.waitForBytes(before + more.length);
      assert.ok(now.subarray(before, before + more.length).equals(more), `round ${round} arrives on the same connections`);
    }
  });

  it('serves an NTRIP 2.0 client (HTTP/1.1, chunked) through the same service', async () => {
    const request = http.get({ host: '127.0.0.1', port, path: '/FULCRUM1', headers: { 'Ntrip-Version': 'Ntrip/2.0', 'User-Agent': 'NTRIP fulcrum-interop' } });
    const [response] = (await once(request, 'response')) as [http.IncomingMessage];
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['ntrip-version'], 'Ntrip/2.0');
    await caster!.waitForClients(2);
    const more = rtcm3Frames(5, 40);
    const chunks: Buffer[] = [];
    const got = new Promise<Buffer>((resolve) => {
      response.on('data', (c: Buffer) => {
        chunks.push(c);
        if (Buffer.concat(chunks).length >= more.length) resolve(Buffer.concat(chunks));
      });
    });
    await source!.send(more);
    assert.ok((await got).equals(more));
    request.destroy();
  });
});
