// Fulcrum's PROXY protocol encoder against the reference: HAProxy's send-proxy and send-proxy-v2
// write headers in front of a client's byte; ours must be the same bytes for the same endpoints.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeProxyV1, encodeProxyV2 } from '../src/proxy-protocol/encode.ts';
import { parseProxyHeader, type ProxyEndpoint } from '../src/proxy-protocol/parse.ts';
import { freePort, startProcess, waitForPort, type ManagedProcess } from '../test/helpers/processes.ts';
import { peer, requirePeers } from './peers.ts';

const e = (address: string, port: number): ProxyEndpoint => ({ address, port });

it('finds haproxy (run bash scripts/install-peers.sh if this fails)', () => {
  requirePeers('haproxy');
});

describe('PROXY headers byte for byte as HAProxy sends them (send-proxy, send-proxy-v2)', () => {
  let dir: string;
  let haproxy: ManagedProcess;
  let capture: net.Server;
  const received: Buffer[] = [];
  const waiters: Array<() => void> = [];
  const fronts: Record<string, number> = {};

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-pp-'));
    // The real server: keeps the header and the client's "x" after it (framed by our parser; the
    // bytes are then compared whole, so a framing mistake fails the comparison).
    capture = net.createServer((s) => {
      let got = Buffer.alloc(0);
      s.on('data', (c: Buffer) => {
        got = Buffer.concat([got, c]);
        const r = parseProxyHeader(got);
        if (r.kind === 'need-more' || (r.kind === 'ok' && got.length === r.length)) return;
        received.push(got);
        waiters.shift()?.();
        s.destroy();
      });
      s.on('error', () => {});
    });
    capture.listen(0, '127.0.0.1');
    await once(capture, 'listening');
    const real = `127.0.0.1:${(capture.address() as net.AddressInfo).port}`;
    // Six distinct ports: HAProxy binds with SO_REUSEPORT, so two frontends given the same free
    // port would both listen and share its connections (seen once: v2 and v2mixed swapped headers).
    const taken = new Set<number>();
    for (const name of ['v1', 'v2', 'v1mixed', 'v2mixed', 'v1six', 'v2six']) {
      let port = await freePort();
      while (taken.has(port)) port = await freePort();
      taken.add(port);
      fronts[name] = port;
    }
    // Mixed families: HAProxy's set-src makes the client IPv6 while the VIP stays 127.0.0.1.
    const mixed = ['  tcp-request connection set-src ipv6(2001:db8::7)', '  tcp-request connection set-src-port int(5555)'];
    const front = (name: string, bind: string, send: string, extra: string[] = []): string[] => [
      `frontend f_${name}`,
      `  bind ${bind}:${fronts[name]}`,
      ...extra,
      `  default_backend b_${send}`,
    ];
    const config = [
      'global',
      '  maxconn 100',
      'defaults',
      '  mode tcp',
      '  timeout connect 2s',
      '  timeout client 5s',
      '  timeout server 5s',
      ...front('v1', '127.0.0.1', 'v1'),
      ...front('v2', '127.0.0.1', 'v2'),
      ...front('v1mixed', '127.0.0.1', 'v1', mixed),
      ...front('v2mixed', '127.0.0.1', 'v2', mixed),
      ...front('v1six', '[::1]', 'v1'),
      ...front('v2six', '[::1]', 'v2'),
      'backend b_v1',
      `  server s ${real} send-proxy`,
      'backend b_v2',
      `  server s ${real} send-proxy-v2`,
      '',
    ].join('\n');
    const file = path.join(dir, 'haproxy.cfg');
    await writeFile(file, config);
    haproxy = startProcess('haproxy', peer('haproxy'), ['-db', '-f', file]);
    for (const name of ['v1', 'v2', 'v1mixed', 'v2mixed']) await waitForPort(fronts[name]!, { proc: haproxy });
    await waitForPort(fronts['v2six']!, { host: '::1', proc: haproxy });
  });

  after(async () => {
    await haproxy?.stop();
    capture?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Connect to a frontend, send "x"; the header HAProxy put before it, and our client socket's endpoints. */
  async function through(name: string, host = '127.0.0.1'): Promise<{ header: Buffer; client: ProxyEndpoint; vip: ProxyEndpoint }> {
    const got = new Promise<void>((resolve) => waiters.push(resolve));
    const socket = net.connect(fronts[name]!, host);
    await once(socket, 'connect');
    const client = { address: socket.localAddress!, port: socket.localPort! };
    socket.write('x');
    await got;
    socket.destroy();
    const bytes = received.shift()!;
    assert.equal(bytes.at(-1), 0x78, 'the client\'s byte comes last');
    return { header: bytes.subarray(0, bytes.length - 1), client, vip: { address: host, port: fronts[name]! } };
  }

  it('v1 over IPv4', async () => {
    const { header, client, vip } = await through('v1');
    assert.equal(header.toString('latin1'), encodeProxyV1(client, vip).toString('latin1'));
  });

  it('v2 over IPv4', async () => {
    const { header, client, vip } = await through('v2');
    assert.equal(header.toString('hex'), encodeProxyV2(client, vip).toString('hex'));
  });

  it('v1 and v2 over IPv6', async () => {
    for (const name of ['v1six', 'v2six']) {
      const { header, client, vip } = await through(name, '::1');
      const ours = name === 'v1six' ? encodeProxyV1(client, vip) : encodeProxyV2(client, vip);
      assert.equal(header.toString('hex'), ours.toString('hex'), name);
    }
  });

  it('mixed families (an IPv6 client, an IPv4 VIP): IPv4-mapped in both versions', async () => {
    for (const name of ['v1mixed', 'v2mixed']) {
      const { header, vip } = await through(name);
      const client = e('2001:db8::7', 5555);
      const ours = name === 'v1mixed' ? encodeProxyV1(client, vip) : encodeProxyV2(client, vip);
      assert.equal(header.toString('hex'), ours.toString('hex'), `${name}: ${JSON.stringify(header.toString('latin1'))}`);
    }
  });
});
