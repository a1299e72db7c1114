// "The sample config works as written": Fulcrum runs examples/layer4.yaml byte for byte, and real
// servers sit on exactly the addresses it names. Every service is used once: NTRIP over tcp with
// a PROXY v2 header towards the casters, syslog over udp (util-linux logger and a datagram round
// trip), FTP through the ALG to two vsftpd on port 21, RDP sticking to a user's server by its
// mstshash cookie, and an HTTP service behind another balancer that sends it PROXY headers.
//
// The ports are fixed on purpose: a sample that only works once its ports are edited does not work
// as written. A port that is taken on this machine fails the run with its name, never moves.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseProxyHeader } from '../src/proxy-protocol/parse.ts';
import type { ProxyHeader } from '../src/proxy-protocol/types.ts';
import { startFulcrum, type Fulcrum } from '../test/helpers/fulcrum.ts';
import { run, teardown } from '../test/helpers/processes.ts';
import { curl } from './curl.ts';
import { curlFtpList, curlFtpSha256, curlFtpTrace, curlFtpUpload } from './curl-ftp.ts';
import { peer, requirePeers } from './peers.ts';
import { freePortRange, startVsftpd, type Vsftpd } from './vsftpd.ts';

const SAMPLE = path.resolve(import.meta.dirname, '..', 'examples', 'layer4.yaml');

/** Every address the sample names, and what listens there during the test. */
const FIXED: Array<{ proto: 'tcp' | 'udp'; host: string; port: number; what: string }> = [
  { proto: 'tcp', host: '127.0.0.1', port: 2101, what: 'virtual service ntrip' },
  { proto: 'tcp', host: '127.0.0.1', port: 12101, what: 'ntrip real server' },
  { proto: 'tcp', host: '127.0.0.1', port: 12102, what: 'ntrip real server' },
  { proto: 'udp', host: '127.0.0.1', port: 5514, what: 'virtual service syslog' },
  { proto: 'udp', host: '127.0.0.1', port: 15514, what: 'syslog real server' },
  { proto: 'udp', host: '127.0.0.1', port: 15515, what: 'syslog real server' },
  { proto: 'tcp', host: '127.0.0.1', port: 2121, what: 'virtual service ftp' },
  { proto: 'tcp', host: '127.0.0.2', port: 21, what: 'ftp real server (vsftpd)' },
  { proto: 'tcp', host: '127.0.0.3', port: 21, what: 'ftp real server (vsftpd)' },
  ...Array.from({ length: 200 }, (_, i) => ({ proto: 'tcp' as const, host: '127.0.0.1', port: 30000 + i, what: 'ftp.passivePorts of virtual service ftp' })),
  { proto: 'tcp', host: '127.0.0.1', port: 3389, what: 'virtual service rdp' },
  { proto: 'tcp', host: '127.0.0.1', port: 13389, what: 'rdp real server' },
  { proto: 'tcp', host: '127.0.0.1', port: 13390, what: 'rdp real server' },
  { proto: 'tcp', host: '127.0.0.1', port: 8088, what: 'virtual service behind-another-lb' },
  { proto: 'tcp', host: '127.0.0.1', port: 9001, what: 'behind-another-lb real server' },
];

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

function canBind(proto: 'tcp' | 'udp', host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (proto === 'udp') {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => resolve(true)));
      return;
    }
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Fails naming the first address of the sample that something on this machine already holds. */
async function requireSamplePortsFree(): Promise<void> {
  for (const { proto, host, port, what } of FIXED) {
    if (!(await canBind(proto, host, port))) {
      throw new Error(`examples/layer4.yaml needs ${proto} ${host}:${port} (${what}) but it is in use on this machine; free it (ss -ltnup | grep ${port}) and run again`);
    }
  }
}

/** Resolves when `server` listens on host:port; rejects (naming the address) when it cannot. */
async function listenOn(server: net.Server, host: string, port: number): Promise<void> {
  server.listen({ host, port, exclusive: true });
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([err]) => Promise.reject(new Error(`cannot listen on ${host}:${port}: ${(err as Error).message}`))),
  ]);
}

function closeServer(server: net.Server | http.Server): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

// ---- ntrip: casters that read the PROXY header Fulcrum sends ----------------------------------

interface SeenHeader {
  server: string;
  header: ProxyHeader;
}

/**
 * An NTRIP caster stand-in behind sendProxyProtocol: v2: reads the PROXY header with Fulcrum's own
 * parser, answers with one JSON line naming itself and the header, then echoes the stream.
 * Connections without a header (or with a broken one) are closed.
 */
function startProxyAwareServer(name: string, port: number): Promise<net.Server> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const parsed = parseProxyHeader(received);
      if (parsed.kind === 'need-more') return;
      socket.off('data', onData);
      if (parsed.kind === 'error') {
        socket.destroy();
        return;
      }
      const seen: SeenHeader = { server: name, header: parsed.header };
      socket.write(`${JSON.stringify(seen)}\n`);
      const rest = received.subarray(parsed.length);
      if (rest.length > 0) socket.write(rest);
      socket.pipe(socket);
    };
    socket.on('data', onData);
  });
  server.on('close', () => {
    for (const s of sockets) s.destroy();
  });
  return listenOn(server, '127.0.0.1', port).then(() => server);
}

/** A client connection: its first line parsed as JSON, and a way to read what follows. */
async function connectAndReadLine(port: number, send: string): Promise<{ socket: net.Socket; line: SeenHeader; rest: () => Promise<string> }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  socket.setEncoding('utf8');
  let text = '';
  const waiters: Array<() => void> = [];
  socket.on('data', (chunk: string) => {
    text += chunk;
    for (const w of waiters.splice(0)) w();
  });
  const until = (done: () => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (done()) resolve();
        else if (socket.readableEnded || socket.destroyed) reject(new Error(`connection closed; got ${JSON.stringify(text)}`));
        else waiters.push(check);
      };
      socket.once('close', check);
      check();
    });
  socket.write(send);
  await until(() => text.includes('\n'));
  const newline = text.indexOf('\n');
  const line = JSON.parse(text.slice(0, newline)) as SeenHeader;
  const restStart = newline + 1;
  return {
    socket,
    line,
    rest: async () => {
      await until(() => text.length - restStart >= send.length);
      return text.slice(restStart);
    },
  };
}

// ---- syslog: datagram echo servers ------------------------------------------------------------

interface UdpEcho {
  name: string;
  socket: dgram.Socket;
  received: string[];
  waitFor(match: (message: string) => boolean): Promise<string>;
}

/** Answers each datagram with "NAME: MESSAGE" and remembers every message it got. */
async function startUdpEcho(name: string, port: number): Promise<UdpEcho> {
  const socket = dgram.createSocket('udp4');
  const received: string[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (msg, rinfo) => {
    received.push(msg.toString('utf8'));
    socket.send(`${name}: ${msg.toString('utf8')}`, rinfo.port, rinfo.address);
    for (const w of waiters) w();
  });
  socket.bind({ address: '127.0.0.1', port, exclusive: true });
  await Promise.race([
    once(socket, 'listening'),
    once(socket, 'error').then(([err]) => Promise.reject(new Error(`cannot bind udp 127.0.0.1:${port}: ${(err as Error).message}`))),
  ]);
  return {
    name,
    socket,
    received,
    waitFor: (match) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${name} got no matching datagram in 5 s; got ${JSON.stringify(received)}`));
        }, 5000);
        const check = (): void => {
          const found = received.find(match);
          if (found === undefined) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        waiters.add(check);
        check();
      }),
  };
}

// ---- rdp: servers that read the X.224 Connection Request --------------------------------------

/** A client's first packet (MS-RDPBCGR 2.2.1.1): TPKT, X.224 Connection Request, cookie, RDP Negotiation Request. */
function rdpConnectionRequest(user: string): Buffer {
  const cookie = Buffer.from(`Cookie: mstshash=${user}\r\n`, 'latin1');
  const negotiation = Buffer.from([0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00]);
  const x224 = Buffer.concat([Buffer.from([0, 0xe0, 0, 0, 0, 0, 0]), cookie, negotiation]);
  x224[0] = x224.length - 1; // length indicator: the X.224 header after this byte, cookie included
  const tpkt = Buffer.from([0x03, 0x00, 0, 0]);
  tpkt.writeUInt16BE(4 + x224.length, 2);
  return Buffer.concat([tpkt, x224]);
}

/** Reads one whole TPKT and answers "NAME USER\n", USER being the mstshash it found, or closes when it is not a Connection Request. */
function startRdpServer(name: string, port: number): Promise<net.Server> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      if (received[0] !== 0x03) return void socket.destroy();
      const length = received.readUInt16BE(2);
      if (received.length < length) return;
      const cookie = /Cookie: mstshash=([^\r]*)\r\n/.exec(received.subarray(0, length).toString('latin1'));
      if (received[5] !== 0xe0 || cookie === null) return void socket.destroy();
      socket.end(`${name} ${cookie[1]}\n`);
    });
  });
  server.on('close', () => {
    for (const s of sockets) s.destroy();
  });
  return listenOn(server, '127.0.0.1', port).then(() => server);
}

/** Sends user's Connection Request to the rdp virtual service from `localAddress`; resolves with the answering server's line. */
async function rdpConnect(user: string, localAddress: string): Promise<string> {
  const socket = net.connect({ host: '127.0.0.1', port: 3389, localAddress });
  socket.setEncoding('utf8');
  let text = '';
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  await once(socket, 'connect');
  socket.write(rdpConnectionRequest(user));
  await once(socket, 'close');
  return text.trim();
}

// ---- behind-another-lb: an HTTP server that echoes what it was told -----------------------------

async function startHeaderEcho(port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ xForwardedFor: req.headers['x-forwarded-for'] ?? null, peer: req.socket.remoteAddress }));
  });
  await listenOn(server, '127.0.0.1', port);
  return server;
}

/** Raw bytes to 127.0.0.1:8088 (a PROXY header, then a request); resolves with everything the connection carried back. */
async function rawExchange(bytes: string): Promise<string> {
  const socket = net.connect({ host: '127.0.0.1', port: 8088 });
  socket.setEncoding('latin1');
  let text = '';
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(bytes);
  await once(socket, 'close');
  return text;
}

// ---- the run ------------------------------------------------------------------------------------

describe('examples/layer4.yaml, as written, with real servers on its addresses', () => {
  let fulcrum: Fulcrum | undefined;
  const tcpServers: net.Server[] = [];
  const udpServers: UdpEcho[] = [];
  const vsftpds: Vsftpd[] = [];
  let workDir = '';

  before(async () => {
    requirePeers('vsftpd', 'curl');
    peer('logger'); // util-linux (bsdutils): the syslog client
    await requireSamplePortsFree();
    workDir = await mkdtemp(path.join(tmpdir(), 'interop-sample-'));
    // One push per server: one that fails to start must not leave the one before it out of teardown.
    tcpServers.push(await startProxyAwareServer('ntrip-a', 12101));
    tcpServers.push(await startProxyAwareServer('ntrip-b', 12102));
    udpServers.push(await startUdpEcho('syslog-a', 15514));
    udpServers.push(await startUdpEcho('syslog-b', 15515));
    // vsftpd's own passive ports, apart from the sample's 30000-30199, so the ALG's rewrite shows.
    let serverRange = await freePortRange(100, ['127.0.0.2', '127.0.0.3']);
    while (serverRange.first <= 30199 && serverRange.last >= 30000) serverRange = await freePortRange(100, ['127.0.0.2', '127.0.0.3']);
    for (const [name, address] of [['a', '127.0.0.2'], ['b', '127.0.0.3']] as const) {
      const root = await mkdtemp(path.join(workDir, `ftp-${name}-`));
      await writeFile(path.join(root, `instance-${name}.txt`), `${name}\n`);
      vsftpds.push(await startVsftpd({ address, port: 21, root, passivePorts: serverRange, writable: true }));
    }
    tcpServers.push(await startRdpServer('rdp-a', 13389));
    tcpServers.push(await startRdpServer('rdp-b', 13390));
    tcpServers.push(await startHeaderEcho(9001));
    fulcrum = await startFulcrum({ config: await readFile(SAMPLE, 'utf8') });
  });

  after(() =>
    teardown(
      // A draining UDP listener ends its sessions after a second (src/l4/udp-listener.ts drain()),
      // so the syslog sessions do not hold the shutdown for their 30 s sessionTimeout.
      () => fulcrum?.stop('SIGTERM', { graceMs: 5_000 }),
      ...vsftpds.map((s) => () => s.stop()),
      ...tcpServers.map((s) => () => closeServer(s)),
      ...udpServers.map((s) => () => new Promise<void>((resolve) => s.socket.close(() => resolve()))),
      () => workDir !== '' && rm(workDir, { recursive: true, force: true }),
    ),
  );

  it('ran the file unchanged', async () => {
    assert.equal(await readFile(fulcrum!.configPath, 'utf8'), await readFile(SAMPLE, 'utf8'));
  });

  it('ntrip: the caster gets a PROXY v2 header with the client address and port, then the stream both ways', async () => {
    const request = 'GET /FULCRUM1 HTTP/1.0\r\nUser-Agent: NTRIP interop\r\n\r\n';
    const { socket, line, rest } = await connectAndReadLine(2101, request);
    try {
      assert.match(line.server, /^ntrip-[ab]$/);
      assert.equal(line.header.version, 2);
      assert.equal(line.header.command, 'proxy');
      assert.equal(line.header.transport, 'stream');
      assert.deepEqual(line.header.source, { address: '127.0.0.1', port: socket.localPort });
      assert.deepEqual(line.header.destination, { address: '127.0.0.1', port: 2101 });
      assert.equal(await rest(), request, 'what follows the header is the client stream, unchanged');
    } finally {
      socket.destroy();
    }
  });

  it('syslog: logger --udp reaches a real server; a datagram round trip is answered from 127.0.0.1:5514', async () => {
    const tag = `fulcrum-${randomBytes(4).toString('hex')}`;
    await run(peer('logger'), ['--udp', '--server', '127.0.0.1', '--port', '5514', '--tag', tag, 'hello through the sample'], { timeoutMs: 5000 });
    const got = await Promise.any(udpServers.map((s) => s.waitFor((m) => m.includes(tag))));
    assert.match(got, /hello through the sample/);

    const servers = new Set<string>();
    for (let i = 0; i < 4; i++) {
      // each socket is a new client port: a new session, round robin over the two servers
      const client = dgram.createSocket('udp4');
      try {
        client.bind(0, '127.0.0.1');
        await once(client, 'listening');
        client.send(`ping ${i}`, 5514, '127.0.0.1');
        const [msg, rinfo] = (await Promise.race([
          once(client, 'message'),
          new Promise((_, reject) => setTimeout(() => reject(new Error('no reply from 127.0.0.1:5514 in 5 s')), 5000)),
        ])) as [Buffer, dgram.RemoteInfo];
        assert.deepEqual({ address: rinfo.address, port: rinfo.port }, { address: '127.0.0.1', port: 5514 });
        const [, server, echoed] = /^(syslog-[ab]): (.*)$/.exec(msg.toString('utf8')) ?? [];
        assert.equal(echoed, `ping ${i}`);
        servers.add(server!);
      } finally {
        client.close();
      }
    }
    assert.deepEqual([...servers].sort(), ['syslog-a', 'syslog-b']);
  });

  it('ftp: curl lists through the ALG on a port of 30000-30199 and puts and gets 1 MiB with equal SHA-256', async () => {
    for (const extended of [true, false]) {
      const trace = await curlFtpTrace(['ftp://127.0.0.1:2121/'], { extended });
      assert.equal(trace.code, 0, trace.stderr);
      assert.match(trace.stdout, /instance-[ab]\.txt/);
      const m = extended ? /^< 229 [^\n]*\(\|\|\|(\d+)\|\)/m.exec(trace.stderr) : /^< 227 [^\n]*\(127,0,0,1,(\d+),(\d+)\)/m.exec(trace.stderr);
      assert.ok(m !== null, trace.stderr);
      const port = extended ? Number(m[1]) : Number(m[1]) * 256 + Number(m[2]);
      assert.ok(port >= 30000 && port <= 30199, `passive port ${port} is in the sample's 30000-30199`);
    }
    const data = randomBytes(1024 * 1024);
    const file = path.join(workDir, 'one-mib.bin');
    await writeFile(file, data);
    const listing = await curlFtpList('ftp://127.0.0.1:2121/');
    const server = vsftpds[listing.includes('instance-a.txt') ? 0 : 1]!;
    await curlFtpUpload('ftp://127.0.0.1:2121/upload/sample.bin', file);
    assert.equal(sha256(await readFile(path.join(server.uploadDir, 'sample.bin'))), sha256(data));
    assert.deepEqual(await curlFtpSha256('ftp://127.0.0.1:2121/upload/sample.bin'), { sha256: sha256(data), bytes: data.length });
  });

  it("rdp: a user's connections reach one server from any client address (mstshash), and users spread over both", async () => {
    const serverOf = new Map<string, string>();
    for (const user of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) {
      const answers = [await rdpConnect(user, '127.0.0.1'), await rdpConnect(user, '127.0.0.5'), await rdpConnect(user.toUpperCase(), '127.0.0.6')];
      const [name, cookie] = answers[0]!.split(' ');
      assert.match(name!, /^rdp-[ab]$/);
      assert.equal(cookie, user, 'the Connection Request reached the server unchanged');
      assert.deepEqual(answers.map((a) => a.split(' ')[0]), [name, name, name], `${user} from three addresses (and in capitals) stays on ${name}: ${answers.join(', ')}`);
      serverOf.set(user, name!);
    }
    assert.deepEqual([...new Set(serverOf.values())].sort(), ['rdp-a', 'rdp-b'], JSON.stringify([...serverOf]));
  });

  it('behind-another-lb: the client address comes from the PROXY header; a connection without one is closed', async () => {
    const response = await rawExchange('PROXY TCP4 203.0.113.9 127.0.0.1 5555 8088\r\nGET / HTTP/1.1\r\nHost: sample.test\r\nConnection: close\r\n\r\n');
    assert.match(response, /^HTTP\/1\.1 200 /);
    const body = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as { xForwardedFor: string | null };
    assert.equal(body.xForwardedFor, '203.0.113.9');

    // curl's own PROXY v1 header carries its real address
    const { stdout } = await curl(['--haproxy-protocol', 'http://127.0.0.1:8088/']);
    assert.equal((JSON.parse(stdout) as { xForwardedFor: string }).xForwardedFor, '127.0.0.1');

    const bare = await run(peer('curl'), ['-sS', 'http://127.0.0.1:8088/'], { allowFailure: true, timeoutMs: 10_000 });
    assert.equal(bare.code, 52, `curl without a PROXY header: ${bare.stderr}`);
    assert.match(bare.stderr, /Empty reply from server/);
  });
});
