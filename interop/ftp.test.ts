// Issue 4's FTP story through Fulcrum with real peers: two vsftpd real servers on 127.0.0.2 and
// 127.0.0.3 (one port number, two loopback addresses) behind an ftp virtual service, curl and
// lftp as clients. alg mode: listing over EPSV and PASV (the client sees Fulcrum's address and
// passive ports, never vsftpd's), 100 MiB each way with equal SHA-256, resume both ways, active
// mode proxied, source-ip persistence spreading client addresses over both servers and keeping
// each on its own; with activeMode: refuse, the 502 and passive still working. port-following
// mode with explicit FTPS (TLS required): the same transfers over TLS, the data connections of
// each client address carried to its own server.
import assert from 'node:assert/strict';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdtemp, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFulcrum, type Fulcrum } from '../test/helpers/fulcrum.ts';
import { freePort, teardown } from '../test/helpers/processes.ts';
import { curlFtpDownload, curlFtpList, curlFtpSha256, curlFtpTrace, curlFtpUpload, type CurlFtpOptions } from './curl-ftp.ts';
import { lftp, type LftpOptions } from './lftp.ts';
import { requirePeers } from './peers.ts';
import { freePortRange, makeCertificate, startVsftpd, type Vsftpd, type VsftpdTls } from './vsftpd.ts';

type PortRange = { first: number; last: number };

const MiB = 1024 * 1024;
const BIG = 100 * MiB;
const SERVER_ADDRESSES = ['127.0.0.2', '127.0.0.3'] as const;
/** Client addresses tried until both real servers have been chosen (all of 127.0.0.0/8 is on lo). */
const CLIENT_ADDRESSES = ['127.0.0.1', ...Array.from({ length: 20 }, (_, i) => `127.0.0.${i + 5}`)];

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const inRange = (port: number, range: PortRange): boolean => port >= range.first && port <= range.last;
const rangeText = (range: PortRange): string => `${range.first}-${range.last}`;

/** The address and port of every 227 reply in curl's -v trace. */
function pasvReplies(trace: string): Array<{ host: string; port: number }> {
  return [...trace.matchAll(/^< 227 [^\n]*?(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/gm)].map((m) => ({
    host: m.slice(1, 5).join('.'),
    port: Number(m[5]) * 256 + Number(m[6]),
  }));
}

/** The port of every 229 reply in curl's -v trace. */
function epsvPorts(trace: string): number[] {
  return [...trace.matchAll(/^< 229 [^\n]*\(\|\|\|(\d+)\|\)/gm)].map((m) => Number(m[1]));
}

/** What `server` logs while `action` runs (vsftpd logs every command and reply of every session). */
async function logDuring<T>(server: Vsftpd, action: () => Promise<T>): Promise<{ log: string; result: T }> {
  const mark = (await server.log()).length;
  const result = await action();
  return { log: (await server.log()).slice(mark), result };
}

/** A passive range free on `hosts` that shares no port with `other`. */
async function rangeApartFrom(other: PortRange, count: number, hosts: readonly string[]): Promise<PortRange> {
  for (;;) {
    const range = await freePortRange(count, hosts);
    if (range.last < other.first || range.first > other.last) return range;
  }
}

/** A vsftpd root (under the work dir, removed with it) with a file naming its instance, so a listing tells which real server answered. */
async function makeRoot(name: string): Promise<string> {
  const root = await mkdtemp(path.join(workDir, `root-${name}-`));
  await writeFile(path.join(root, `instance-${name}.txt`), `${name}\n`);
  return root;
}

function ftpServiceYaml(port: number, servers: readonly Vsftpd[], ftp: string): string {
  return [
    // Two workers: SO_REUSEPORT spreads control and data connections over both, as in production.
    'workers: 2',
    'accessLog: off',
    'virtualServices:',
    '  - name: ftp',
    `    listen: 127.0.0.1:${port}`,
    '    protocol: ftp',
    `    ftp: ${ftp}`,
    '    persistence: { type: source-ip }',
    '    healthCheck: { type: ftp, interval: 1s }',
    `    realServers: [ ${servers.map((s) => `{ address: ${s.address}:${s.port} }`).join(', ')} ]`,
  ].join('\n');
}

let workDir = '';
let bigFile = '';
let bigSha = '';
let smallFile = '';
let smallSha = '';

it('finds the FTP peers (run bash scripts/install-peers.sh if this fails)', () => {
  requirePeers('vsftpd', 'lftp', 'curl', 'openssl');
});

before(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'interop-ftp-fulcrum-'));
  bigFile = path.join(workDir, 'big.bin');
  const big = randomFillSync(Buffer.allocUnsafe(BIG));
  bigSha = sha256(big);
  await writeFile(bigFile, big);
  smallFile = path.join(workDir, 'small.bin');
  const small = big.subarray(0, 4 * MiB);
  smallSha = sha256(small);
  await writeFile(smallFile, small);
});

after(() => teardown(() => workDir !== '' && rm(workDir, { recursive: true, force: true })));

describe('ftp alg mode: two vsftpd behind Fulcrum, curl and lftp', () => {
  const servers: Vsftpd[] = [];
  let fulcrum: Fulcrum | undefined;
  let vs = '';
  /** vsftpd's own passive range and Fulcrum's: apart, so a port tells who announced it. */
  let serverRange: PortRange = { first: 0, last: 0 };
  let fulcrumRange: PortRange = { first: 0, last: 0 };

  /** The real server whose root a listing shows. */
  const serverOfListing = (listing: string): Vsftpd => {
    const names = servers.filter((_, i) => listing.includes(`instance-${i === 0 ? 'a' : 'b'}.txt`));
    assert.equal(names.length, 1, `a listing of exactly one server's root:\n${listing}`);
    return names[0]!;
  };

  before(async () => {
    serverRange = await freePortRange(20, SERVER_ADDRESSES);
    fulcrumRange = await rangeApartFrom(serverRange, 20, ['127.0.0.1']);
    const port = await freePort();
    for (const [i, address] of SERVER_ADDRESSES.entries()) {
      const root = await makeRoot(i === 0 ? 'a' : 'b');
      servers.push(await startVsftpd({ address, port, root, passivePorts: serverRange, writable: true }));
    }
    const listen = await freePort();
    fulcrum = await startFulcrum({ config: ftpServiceYaml(listen, servers, `{ mode: alg, passivePorts: ${rangeText(fulcrumRange)} }`) });
    vs = `ftp://127.0.0.1:${listen}`;
  });

  after(() => teardown(() => fulcrum?.stop(), ...servers.map((s) => () => s.stop())));

  it("lists over EPSV and over PASV: the client is told Fulcrum's address and a port of passivePorts, vsftpd told Fulcrum its own", async () => {
    for (const extended of [true, false]) {
      const label = extended ? 'EPSV' : 'PASV';
      const before = await Promise.all(servers.map((s) => s.log()));
      const trace = await curlFtpTrace([`${vs}/`], { extended });
      assert.equal(trace.code, 0, trace.stderr);
      const server = serverOfListing(trace.stdout);
      const serverLog = (await server.log()).slice(before[servers.indexOf(server)]!.length);
      if (extended) {
        assert.match(trace.stderr, /^> EPSV/m);
        const [port] = epsvPorts(trace.stderr);
        assert.ok(port !== undefined && inRange(port, fulcrumRange), `${label}: the client's 229 names a port of ${rangeText(fulcrumRange)}\n${trace.stderr}`);
        const [own] = [...serverLog.matchAll(/"229 [^"]*\(\|\|\|(\d+)\|\)/g)].map((m) => Number(m[1]));
        assert.ok(own !== undefined && inRange(own, serverRange), `vsftpd announced a port of its own range ${rangeText(serverRange)}\n${serverLog}`);
      } else {
        assert.doesNotMatch(trace.stderr, /^> EPSV/m);
        const [reply] = pasvReplies(trace.stderr);
        assert.equal(reply?.host, '127.0.0.1', `${label}: the client's 227 names the virtual service's address\n${trace.stderr}`);
        assert.ok(inRange(reply.port, fulcrumRange), `${label}: port ${reply.port} is in ${rangeText(fulcrumRange)}`);
        const own = [...serverLog.matchAll(/"227 [^"]*\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/g)].map((m) => ({ host: m.slice(1, 5).join('.'), port: Number(m[5]) * 256 + Number(m[6]) }));
        assert.equal(own[0]?.host, server.address, `vsftpd's own 227 names its own address\n${serverLog}`);
        assert.ok(inRange(own[0].port, serverRange));
      }
    }
  });

  it('uploads 100 MiB and downloads it back with equal SHA-256 (EPSV); the file on the real server matches', async () => {
    const server = serverOfListing(await curlFtpList(`${vs}/`));
    await curlFtpUpload(`${vs}/upload/big-alg.bin`, bigFile);
    assert.equal(await sha256File(path.join(server.uploadDir, 'big-alg.bin')), bigSha);
    assert.deepEqual(await curlFtpSha256(`${vs}/upload/big-alg.bin`), { sha256: bigSha, bytes: BIG });
  });

  it('resumes a partial upload (SIZE, APPE) and a partial download (REST) with -C -', async () => {
    const server = serverOfListing(await curlFtpList(`${vs}/`));
    const partial = path.join(workDir, 'partial-alg.bin');
    await copyFile(bigFile, partial);
    await truncate(partial, 40 * MiB);
    await curlFtpUpload(`${vs}/upload/resumed-alg.bin`, partial, { extended: false });
    const { log: uploadLog } = await logDuring(server, () => curlFtpUpload(`${vs}/upload/resumed-alg.bin`, bigFile, { extended: false, resume: true }));
    assert.match(uploadLog, /"APPE [^"]*resumed-alg\.bin"/);
    assert.equal(await sha256File(path.join(server.uploadDir, 'resumed-alg.bin')), bigSha);

    await truncate(partial, 30 * MiB);
    const { log: downloadLog } = await logDuring(server, () => curlFtpDownload(`${vs}/upload/resumed-alg.bin`, partial, { extended: false, resume: true }));
    assert.match(downloadLog, new RegExp(`"REST ${30 * MiB}"`));
    assert.equal((await stat(partial)).size, BIG);
    assert.equal(await sha256File(partial), bigSha);
  });

  // Fulcrum listens on its side of the real server for the data connection and sends PORT with its own address there.
  const activeModes: Array<{ label: string; options: CurlFtpOptions; clientCommand: RegExp }> = [
    { label: 'EPRT', options: { mode: 'active' }, clientCommand: /^> EPRT \|1\|127\.0\.0\.1\|(\d+)\|/m },
    { label: 'PORT', options: { mode: 'active', extended: false }, clientCommand: /^> PORT 127,0,0,1,(\d+),(\d+)/m },
  ];
  for (const { label, options, clientCommand } of activeModes) {
    it(`proxies active mode (${label}): list, upload and download back, vsftpd connecting to Fulcrum`, async () => {
      const server = serverOfListing(await curlFtpList(`${vs}/`, options));
      const name = `active-${label}.bin`;
      const { log, result: trace } = await logDuring(server, async () => {
        const upload = await curlFtpTrace(['-T', smallFile, `${vs}/upload/${name}`], options);
        assert.equal(upload.code, 0, upload.stderr);
        return upload;
      });
      assert.match(trace.stderr, clientCommand);
      assert.match(trace.stderr, /^< 200 (EPRT|PORT) command successful/m);
      // vsftpd got PORT (IPv4) for Fulcrum's own listener, whatever the client sent
      const sent = /"PORT (\d+),(\d+),(\d+),(\d+),(\d+),(\d+)"/.exec(log);
      assert.ok(sent !== null, log);
      const clientPort = clientCommand.exec(trace.stderr)!;
      const announced = label === 'EPRT' ? Number(clientPort[1]) : Number(clientPort[1]) * 256 + Number(clientPort[2]);
      assert.notEqual(Number(sent[5]) * 256 + Number(sent[6]), announced, "vsftpd was given Fulcrum's port, not the client's");
      assert.equal(await sha256File(path.join(server.uploadDir, name)), smallSha);
      assert.deepEqual(await curlFtpSha256(`${vs}/upload/${name}`, options), { sha256: smallSha, bytes: 4 * MiB });
    });
  }

  for (const passive of [true, false]) {
    it(`lftp lists, puts and gets back (${passive ? 'passive' : 'active'} mode)`, async () => {
      const name = `lftp-${passive ? 'passive' : 'active'}.bin`;
      const options: LftpOptions = { passive, cwd: workDir };
      const logs = await Promise.all(servers.map((s) => s.log()));
      const result = await lftp(`open ${vs}; ls; put small.bin -o upload/${name}; ls upload; get upload/${name} -o back-${name}`, options);
      assert.equal(result.code, 0, result.stderr);
      const server = serverOfListing(result.stdout);
      assert.match(result.stdout, new RegExp(name.replace('.', '\\.')));
      assert.equal(await sha256File(path.join(server.uploadDir, name)), smallSha);
      // ls, put, ls, get: four data connections, each opened the way asked (lftp sends PASV, never EPSV, here)
      const log = (await server.log()).slice(logs[servers.indexOf(server)]!.length);
      assert.equal(log.match(passive ? /"PASV"/g : /"PORT 127,0,0,1,\d+,\d+"/g)?.length, 4, log);
      assert.equal(await sha256File(path.join(workDir, `back-${name}`)), smallSha);
    });
  }

  it('spreads client addresses over both real servers (source-ip) and keeps each client on its own', async () => {
    const chosen = new Map<string, Vsftpd>();
    for (const address of CLIENT_ADDRESSES) {
      chosen.set(address, serverOfListing(await curlFtpList(`${vs}/`, { interface: address })));
      if (new Set(chosen.values()).size === servers.length) break;
    }
    assert.equal(new Set(chosen.values()).size, servers.length, `both servers chosen for some of ${[...chosen.keys()].join(', ')}`);
    // one client of each server: its upload is on its server, and every later connection sees it
    for (const server of servers) {
      const address = [...chosen].find(([, s]) => s === server)![0];
      const name = `from-${address}.bin`;
      await curlFtpUpload(`${vs}/upload/${name}`, smallFile, { interface: address });
      assert.equal(await sha256File(path.join(server.uploadDir, name)), smallSha);
      for (let i = 0; i < 3; i++) {
        assert.match(await curlFtpList(`${vs}/upload/`, { interface: address, extended: i % 2 === 0 }), new RegExp(name.replaceAll('.', '\\.')));
      }
      assert.deepEqual(await curlFtpSha256(`${vs}/upload/${name}`, { interface: address }), { sha256: smallSha, bytes: 4 * MiB });
    }
  });

  describe('with activeMode: refuse', () => {
    let refusing: Fulcrum | undefined;
    let refusingVs = '';
    before(async () => {
      const listen = await freePort();
      const range = await rangeApartFrom(fulcrumRange, 20, ['127.0.0.1']);
      refusing = await startFulcrum({ config: ftpServiceYaml(listen, servers, `{ mode: alg, passivePorts: ${rangeText(range)}, activeMode: refuse }`) });
      refusingVs = `ftp://127.0.0.1:${listen}`;
    });
    after(() => teardown(() => refusing?.stop()));

    it('answers EPRT and PORT with the 502 that says to use passive mode; passive mode still works', async () => {
      const message = '502 Active mode (PORT/EPRT) is not supported through this load balancer; use passive mode (PASV/EPSV)';
      for (const extended of [true, false]) {
        const trace = await curlFtpTrace([`${refusingVs}/`], { mode: 'active', extended });
        assert.notEqual(trace.code, 0, 'curl fails in active mode');
        assert.ok(trace.stderr.includes(`< ${message}`), trace.stderr);
        assert.match(trace.stderr, extended ? /^> EPRT /m : /^> PORT /m);
      }
      const passive = await curlFtpTrace(['-T', smallFile, `${refusingVs}/upload/refuse-passive.bin`], { extended: false });
      assert.equal(passive.code, 0, passive.stderr);
      assert.equal((await curlFtpSha256(`${refusingVs}/upload/refuse-passive.bin`)).sha256, smallSha);
    });
  });
});

describe('ftp port-following mode: explicit FTPS (TLS required) to two vsftpd', () => {
  const servers: Vsftpd[] = [];
  let fulcrum: Fulcrum | undefined;
  let vs = '';
  let range: PortRange = { first: 0, last: 0 };
  const tls: CurlFtpOptions = { tls: true, extended: false };

  const serverOfListing = (listing: string): Vsftpd => {
    const names = servers.filter((_, i) => listing.includes(`instance-${i === 0 ? 'c' : 'd'}.txt`));
    assert.equal(names.length, 1, `a listing of exactly one server's root:\n${listing}`);
    return names[0]!;
  };

  before(async () => {
    const cert = await makeCertificate(workDir);
    const vsftpdTls: VsftpdTls = { ...cert, force: true };
    // One range for Fulcrum (on 127.0.0.1) and both servers (each on its own address): no clash.
    range = await freePortRange(20, ['127.0.0.1', ...SERVER_ADDRESSES]);
    const port = await freePort();
    for (const [i, address] of SERVER_ADDRESSES.entries()) {
      const root = await makeRoot(i === 0 ? 'c' : 'd');
      servers.push(await startVsftpd({ address, port, root, passivePorts: range, pasvAddress: '127.0.0.1', tls: vsftpdTls, writable: true }));
    }
    const listen = await freePort();
    fulcrum = await startFulcrum({ config: ftpServiceYaml(listen, servers, `{ mode: port-following, passivePorts: ${rangeText(range)} }`) });
    vs = `ftp://127.0.0.1:${listen}`;
  });

  after(() => teardown(() => fulcrum?.stop(), ...servers.map((s) => () => s.stop())));

  it('lists over TLS with PASV and with EPSV on a port of the shared range; plain FTP is refused by the servers', async () => {
    for (const extended of [false, true]) {
      const trace = await curlFtpTrace([`${vs}/`], { tls: true, extended });
      assert.equal(trace.code, 0, trace.stderr);
      serverOfListing(trace.stdout);
      assert.match(trace.stderr, /SSL connection using TLSv1\.2/);
      assert.match(trace.stderr, /^> PROT P/m);
      if (extended) {
        const [port] = epsvPorts(trace.stderr);
        assert.ok(port !== undefined && inRange(port, range), `229 names a port of ${rangeText(range)}\n${trace.stderr}`);
      } else {
        const [reply] = pasvReplies(trace.stderr);
        assert.equal(reply?.host, '127.0.0.1', `vsftpd announces the virtual service's address (pasv_address)\n${trace.stderr}`);
        assert.ok(inRange(reply.port, range), `227 names a port of ${rangeText(range)}`);
      }
    }
    await assert.rejects(curlFtpList(`${vs}/`), /530/);
  });

  it('uploads 100 MiB and downloads it back over TLS with equal SHA-256 (PASV); the file on the real server matches', async () => {
    const server = serverOfListing(await curlFtpList(`${vs}/`, tls));
    await curlFtpUpload(`${vs}/upload/big-ftps.bin`, bigFile, tls);
    assert.equal(await sha256File(path.join(server.uploadDir, 'big-ftps.bin')), bigSha);
    assert.deepEqual(await curlFtpSha256(`${vs}/upload/big-ftps.bin`, tls), { sha256: bigSha, bytes: BIG });
  });

  it('resumes a partial upload and a partial download over TLS', async () => {
    const server = serverOfListing(await curlFtpList(`${vs}/`, tls));
    const partial = path.join(workDir, 'partial-ftps.bin');
    await copyFile(bigFile, partial);
    await truncate(partial, 40 * MiB);
    await curlFtpUpload(`${vs}/upload/resumed-ftps.bin`, partial, tls);
    const { log: uploadLog } = await logDuring(server, () => curlFtpUpload(`${vs}/upload/resumed-ftps.bin`, bigFile, { ...tls, resume: true }));
    assert.match(uploadLog, /"APPE [^"]*resumed-ftps\.bin"/);
    assert.equal(await sha256File(path.join(server.uploadDir, 'resumed-ftps.bin')), bigSha);

    await truncate(partial, 30 * MiB);
    const { log: downloadLog } = await logDuring(server, () => curlFtpDownload(`${vs}/upload/resumed-ftps.bin`, partial, { ...tls, resume: true }));
    assert.match(downloadLog, new RegExp(`"REST ${30 * MiB}"`));
    assert.equal(await sha256File(partial), bigSha);
  });

  it("carries each client address's data connections to its own server: both servers serve over TLS", async () => {
    const chosen = new Map<string, Vsftpd>();
    for (const address of CLIENT_ADDRESSES) {
      chosen.set(address, serverOfListing(await curlFtpList(`${vs}/`, { ...tls, interface: address })));
      if (new Set(chosen.values()).size === servers.length) break;
    }
    assert.equal(new Set(chosen.values()).size, servers.length, `both servers chosen for some of ${[...chosen.keys()].join(', ')}`);
    for (const server of servers) {
      const address = [...chosen].find(([, s]) => s === server)![0];
      const name = `ftps-from-${address}.bin`;
      await curlFtpUpload(`${vs}/upload/${name}`, smallFile, { ...tls, interface: address });
      assert.equal(await sha256File(path.join(server.uploadDir, name)), smallSha);
      assert.deepEqual(await curlFtpSha256(`${vs}/upload/${name}`, { ...tls, interface: address }), { sha256: smallSha, bytes: 4 * MiB });
    }
  });

  it('lftp with tls force lists, puts and gets back', async () => {
    const result = await lftp(`open ${vs}; ls; put small.bin -o upload/lftp-ftps.bin; get upload/lftp-ftps.bin -o back-lftp-ftps.bin`, { tls: 'force', cwd: workDir });
    assert.equal(result.code, 0, result.stderr);
    const server = serverOfListing(result.stdout);
    assert.equal(await sha256File(path.join(server.uploadDir, 'lftp-ftps.bin')), smallSha);
    assert.equal(await sha256File(path.join(workDir, 'back-lftp-ftps.bin')), smallSha);
    assert.match(await server.log(), /"AUTH TLS"[\s\S]*"PROT P"[\s\S]*"STOR [^"]*lftp-ftps\.bin"/);
  });
});
