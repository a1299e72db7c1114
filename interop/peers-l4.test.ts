// The Layer 4 suite's peers, used directly (no Fulcrum): each harness starts its real program,
// the real clients reach it, and everything stops. The through-Fulcrum tests build on these.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, teardown } from '../test/helpers/processes.ts';
import { curl } from './curl.ts';
import { curlFtpDownload, curlFtpList, curlFtpSha256, curlFtpUpload, type CurlFtpOptions } from './curl-ftp.ts';
import { dig } from './dig.ts';
import { startDnsServer, type DnsServer } from './dns-server.ts';
import { runIperf3Client, startIperf3Server, type Iperf3Server } from './iperf3.ts';
import { lftp } from './lftp.ts';
import { crc24q, rtcm3Frames, startNtripClient, startNtripServer, type NtripClient, type NtripServer } from './ntrip.ts';
import { startNtripCaster, type NtripCaster } from './ntrip-caster.ts';
import { requirePeers } from './peers.ts';
import { freePortRange, makeCertificate, startVsftpd, type Vsftpd } from './vsftpd.ts';

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** What `server` logs while `action` runs. */
async function logDuring(server: Vsftpd, action: () => Promise<void>): Promise<string> {
  const mark = (await server.log()).length;
  await action();
  return (await server.log()).slice(mark);
}

it('finds every Layer 4 peer (run bash scripts/install-peers.sh if this fails)', () => {
  requirePeers('vsftpd', 'lftp', 'iperf3', 'unbound', 'dig', 'str2str', 'openssl', 'curl');
});

describe('vsftpd: two instances on one port, 127.0.0.2 and 127.0.0.3', () => {
  const servers: Vsftpd[] = [];
  let workDir = '';
  let bigFile = '';
  let bigSha = '';

  before(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'interop-ftp-'));
    bigFile = path.join(workDir, 'big.bin');
    const big = randomBytes(1024 * 1024);
    bigSha = sha256(big);
    await writeFile(bigFile, big);
    const port = await freePort();
    const passivePorts = await freePortRange(10, ['127.0.0.2', '127.0.0.3']);
    for (const [name, address] of [
      ['a', '127.0.0.2'],
      ['b', '127.0.0.3'],
    ] as const) {
      const root = await mkdtemp(path.join(tmpdir(), `interop-ftp-root-${name}-`));
      await writeFile(path.join(root, `instance-${name}.txt`), `${name}\n`);
      servers.push(await startVsftpd({ address, port, root, passivePorts, writable: true }));
    }
  });

  after(async () => {
    await teardown(
      ...servers.map((s) => () => s.stop()),
      ...servers.map((s) => () => rm(s.root, { recursive: true, force: true })),
      () => workDir !== '' && rm(workDir, { recursive: true, force: true }),
    );
  });

  for (const passive of [true, false]) {
    it(`lftp lists, uploads 1 MiB to each and downloads it back (${passive ? 'PASV' : 'PORT'})`, async () => {
      for (const [i, server] of servers.entries()) {
        const name = `lftp-${passive ? 'pasv' : 'port'}-${i}.bin`;
        const back = path.join(workDir, `back-${name}`);
        let stdout = '';
        const log = await logDuring(server, async () => {
          const result = await lftp(`open ${server.url}; ls; put ${bigFile} -o upload/${name}; get upload/${name} -o ${back}`, { passive });
          assert.equal(result.code, 0, result.stderr);
          stdout = result.stdout;
        });
        // each instance serves its own root: the two share a port, not a directory
        assert.match(stdout, new RegExp(`instance-${i === 0 ? 'a' : 'b'}\\.txt`));
        assert.doesNotMatch(stdout, new RegExp(`instance-${i === 0 ? 'b' : 'a'}\\.txt`));
        assert.equal(sha256(await readFile(path.join(server.uploadDir, name))), bigSha);
        assert.equal(sha256(await readFile(back)), bigSha);
        // ls, put and get: three data connections, each opened the way asked
        assert.equal(log.match(passive ? /"PASV"/g : /"PORT 127,0,0,1,\d+,\d+"/g)?.length, 3, log);
      }
    });
  }

  // Each mode and the one data-connection command vsftpd must log for it.
  const curlModes: Array<{ label: string; options: CurlFtpOptions; command: RegExp }> = [
    { label: 'passive, EPSV', options: { mode: 'passive' }, command: /^"EPSV"$/ },
    { label: 'passive, PASV only', options: { mode: 'passive', extended: false }, command: /^"PASV"$/ },
    { label: 'active, EPRT', options: { mode: 'active' }, command: /^"EPRT \|1\|127\.0\.0\.1\|\d+\|"$/ },
    { label: 'active, PORT only', options: { mode: 'active', extended: false }, command: /^"PORT 127,0,0,1,\d+,\d+"$/ },
  ];
  for (const { label, options, command } of curlModes) {
    it(`curl lists, uploads and downloads back (${label})`, async () => {
      for (const server of servers) {
        const name = `curl-${label.replace(/\W+/g, '-')}.bin`;
        const log = await logDuring(server, async () => {
          assert.match(await curlFtpList(`${server.url}/`, options), /upload/);
          await curlFtpUpload(`${server.url}/upload/${name}`, bigFile, options);
          assert.deepEqual(await curlFtpSha256(`${server.url}/upload/${name}`, options), { sha256: bigSha, bytes: 1024 * 1024 });
        });
        // list, upload, download: three data connections, each opened the way asked and no other
        const commands = log.match(/"(EPSV|PASV|EPRT|PORT)[^"]*"/g) ?? [];
        assert.equal(commands.length, 3, log);
        for (const c of commands) assert.match(c, command);
      }
    });
  }

  it('curl resumes an upload and a download (-C -)', async () => {
    const server = servers[0]!;
    const half = path.join(workDir, 'half.bin');
    await writeFile(half, (await readFile(bigFile)).subarray(0, 512 * 1024));
    await curlFtpUpload(`${server.url}/upload/resumed.bin`, half, { extended: false });
    await curlFtpUpload(`${server.url}/upload/resumed.bin`, bigFile, { extended: false, resume: true });
    assert.equal(sha256(await readFile(path.join(server.uploadDir, 'resumed.bin'))), bigSha);
    const local = path.join(workDir, 'resumed-download.bin');
    await writeFile(local, await readFile(bigFile));
    await truncate(local, 300 * 1024);
    await curlFtpDownload(`${server.url}/upload/resumed.bin`, local, { extended: false, resume: true });
    assert.equal(sha256(await readFile(local)), bigSha);
    assert.match(await server.log(), /"REST 307200"/);
  });
});

describe('vsftpd: pasv_address and explicit FTPS', () => {
  let workDir = '';
  let plainRoot = '';
  let tlsRoot = '';
  let announcing: Vsftpd | undefined;
  let tls: Vsftpd | undefined;

  before(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'interop-ftps-'));
    plainRoot = await mkdtemp(path.join(tmpdir(), 'interop-ftps-root-'));
    tlsRoot = await mkdtemp(path.join(tmpdir(), 'interop-ftps-root-'));
    await writeFile(path.join(workDir, 'small.txt'), 'over tls\n');
    const cert = await makeCertificate(workDir);
    const passivePorts = await freePortRange(10, ['127.0.0.4']);
    announcing = await startVsftpd({ address: '127.0.0.4', port: await freePort(), root: plainRoot, passivePorts, pasvAddress: '127.0.0.9', writable: true });
    tls = await startVsftpd({ address: '127.0.0.4', port: await freePort(), root: tlsRoot, passivePorts, tls: { ...cert, force: true }, writable: true });
  });

  after(async () => {
    await teardown(
      () => announcing?.stop(),
      () => tls?.stop(),
      ...[workDir, plainRoot, tlsRoot].map((d) => () => d !== '' && rm(d, { recursive: true, force: true })),
    );
  });

  it('announces pasv_address in 227 (curl told to ignore it still lists)', async () => {
    const { stdout, stderr } = await curl(['-v', '--ftp-pasv', '--disable-epsv', '--ftp-skip-pasv-ip', `${announcing!.url}/`]);
    assert.match(stderr, /227 Entering Passive Mode \(127,0,0,9,\d+,\d+\)/);
    assert.match(stdout, /upload/);
  });

  it('curl with --ssl-reqd -k uploads and downloads over TLS; plain FTP is refused', async () => {
    const url = `${tls!.url}/upload/tls.txt`;
    await curlFtpUpload(url, path.join(workDir, 'small.txt'), { tls: true });
    const { sha256: got } = await curlFtpSha256(url, { tls: true });
    assert.equal(got, sha256(Buffer.from('over tls\n')));
    await assert.rejects(curlFtpList(`${tls!.url}/`), /530/);
    assert.match(await tls!.log(), /"AUTH (TLS|SSL)"[\s\S]*"PROT P"/);
  });

  it('lftp with tls force uploads 1 MiB and downloads it back', async () => {
    const big = randomBytes(1024 * 1024);
    await writeFile(path.join(workDir, 'big.bin'), big);
    const result = await lftp(`open ${tls!.url}; put big.bin -o upload/lftp-tls.bin; get upload/lftp-tls.bin -o back.bin`, { tls: 'force', cwd: workDir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(sha256(await readFile(path.join(workDir, 'back.bin'))), sha256(big));
  });
});

describe('iperf3', () => {
  let server: Iperf3Server | undefined;
  before(async () => {
    server = await startIperf3Server(await freePort());
  });
  after(() => teardown(() => server?.stop()));

  it('client to server for 2 s reports a rate', async () => {
    const result = await runIperf3Client({ host: server!.host, port: server!.port, seconds: 2 });
    assert.ok(result.bitsPerSecond > 0, `bitsPerSecond ${result.bitsPerSecond}`);
    assert.ok(result.bytes > 0);
  });

  it('the same server takes the next test: 2 parallel streams, reverse, 1 s', async () => {
    const result = await runIperf3Client({ host: server!.host, port: server!.port, seconds: 1, parallel: 2, reverse: true });
    assert.ok(result.bitsPerSecond > 0);
    assert.equal((result.json['start'] as { connected: unknown[] }).connected.length, 2);
  });
});

describe('NTRIP: str2str server → caster → str2str client', () => {
  let caster: NtripCaster | undefined;
  let client: NtripClient | undefined;
  let ntripServer: NtripServer | undefined;
  let workDir = '';

  before(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'interop-ntrip-'));
    caster = await startNtripCaster(0, 'FULCRUM1', { sourcePassword: 'letmein' });
  });
  after(() =>
    teardown(
      () => ntripServer?.stop(),
      () => client?.stop(),
      () => caster?.close(),
      () => workDir !== '' && rm(workDir, { recursive: true, force: true }),
    ),
  );

  it('frames RTCM 3 with the CRC-24Q of a real 1005 message', () => {
    const real = Buffer.from('d300133ed7d30202980edeef34b4bd62ac0941986f33360b98', 'hex');
    assert.equal(crc24q(real.subarray(0, -3)), real.readUIntBE(real.length - 3, 3));
    assert.deepEqual(rtcm3Frames(40, 3), rtcm3Frames(40, 3));
    assert.equal(rtcm3Frames(1)[0], 0xd3);
  });

  it('delivers the bytes the server pushed, unchanged and in order', async () => {
    const data = rtcm3Frames(400, 11);
    const inputFile = path.join(workDir, 'stream.rtcm3');
    await writeFile(inputFile, data);
    client = await startNtripClient({ caster: caster!.address, mount: 'FULCRUM1' });
    await caster!.waitForClients(1);
    ntripServer = await startNtripServer({ caster: caster!.address, mount: 'FULCRUM1', password: 'letmein', inputFile });
    const received = await client.waitForBytes(data.length);
    assert.equal(received.length, data.length);
    assert.ok(received.equals(data), 'the client received what the server sent');
    assert.ok(caster!.sourceData().equals(data));
    // and more of the stream later on the same connections
    const more = rtcm3Frames(10, 12);
    await ntripServer.send(more);
    assert.ok((await client.waitForBytes(data.length + more.length)).equals(Buffer.concat([data, more])));
  });

  it('serves an NTRIP 2.0 client chunked, and the source table on GET /', async () => {
    const chunks: Buffer[] = [];
    const request = http.get({ host: caster!.host, port: caster!.port, path: '/FULCRUM1', headers: { 'Ntrip-Version': 'Ntrip/2.0', 'User-Agent': 'NTRIP interop' } });
    const [response] = (await once(request, 'response')) as [http.IncomingMessage];
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['transfer-encoding'], 'chunked');
    assert.equal(response.headers['ntrip-version'], 'Ntrip/2.0');
    await caster!.waitForClients(2);
    const more = rtcm3Frames(5, 13);
    const got = new Promise<Buffer>((resolve) => {
      response.on('data', (c: Buffer) => {
        chunks.push(c);
        if (Buffer.concat(chunks).length >= more.length) resolve(Buffer.concat(chunks));
      });
    });
    await ntripServer!.send(more);
    assert.ok((await got).equals(more));
    request.destroy();
    const { stdout } = await curl(['--http0.9', `http://${caster!.address}/`]);
    assert.match(stdout, /^SOURCETABLE 200 OK\r\n[\s\S]*STR;FULCRUM1;[\s\S]*ENDSOURCETABLE\r\n$/);
  });
});

describe('DNS: unbound answers dig over UDP and TCP', () => {
  let dns: DnsServer | undefined;
  before(async () => {
    dns = await startDnsServer({
      zone: {
        name: 'example.test',
        records: [
          { name: 'www', type: 'A', data: '192.0.2.10' },
          { name: 'www', type: 'A', data: '192.0.2.11' },
          { name: 'txt', type: 'TXT', data: '"hello world"', ttl: 30 },
        ],
      },
    });
  });
  after(() => teardown(() => dns?.stop()));

  const at = (): string[] => [`@${dns!.host}`, '-p', String(dns!.port)];

  it('answers the A records over UDP, authoritatively', async () => {
    const result = await dig([...at(), 'www.example.test', 'A']);
    assert.equal(result.status, 'NOERROR');
    assert.equal(result.transport, 'UDP');
    assert.ok(result.flags.includes('aa'), result.flags.join(' '));
    assert.deepEqual(
      result.answers.map((a) => a.data).sort(),
      ['192.0.2.10', '192.0.2.11'],
    );
    assert.deepEqual(result.answers[0], { name: 'www.example.test.', type: 'A', ttl: 60, data: result.answers[0]!.data });
  });

  it('answers over TCP (+tcp), TXT included', async () => {
    const a = await dig([...at(), '+tcp', 'www.example.test', 'A']);
    assert.equal(a.transport, 'TCP');
    assert.equal(a.answers.length, 2);
    const txt = await dig([...at(), '+tcp', 'txt.example.test', 'TXT']);
    assert.deepEqual(txt.answers, [{ name: 'txt.example.test.', type: 'TXT', ttl: 30, data: '"hello world"' }]);
  });

  it('says NXDOMAIN inside the zone, REFUSED outside it, and logs each query', async () => {
    const before = dns!.queryCount('nope.example.test.');
    assert.equal((await dig([...at(), 'nope.example.test', 'A'])).status, 'NXDOMAIN');
    // not "*.invalid" or "*.test": unbound answers those RFC 6761 names itself, NXDOMAIN
    assert.equal((await dig([...at(), 'fulcrum.example.com', 'A'])).status, 'REFUSED');
    await dns!.waitForQueries(before + 1, 'nope.example.test.');
  });
});
