/**
 * What a TCP service knows about its client and passes on: PROXY protocol towards real servers
 * and from a balancer in front, source-ip persistence, and rdp-cookie persistence read from the
 * client's real X.224 Connection Request.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { parseProxyHeader } from '../../src/proxy-protocol/parse.ts';
import { encodeProxyV1, encodeProxyV2 } from '../../src/proxy-protocol/encode.ts';
import { encodeRoutingToken } from '../../src/l4/rdp-cookie.ts';
import { closed, connectTo, readBytes, startRawBackend, startTcpService, tcpYaml, waitFor, type RawBackend } from './tcp-harness.ts';

/** A real server that expects a PROXY header, answers with the client address it carried, then echoes. */
function proxyAwareBackend(name: string): Promise<RawBackend> {
  return startRawBackend(name, (socket) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const parsed = parseProxyHeader(buf);
      if (parsed.kind === 'need-more') return;
      socket.off('data', onData);
      if (parsed.kind === 'error') {
        socket.end(`error ${parsed.reason}\n`);
        return;
      }
      const { source, destination } = parsed.header;
      socket.write(`v${parsed.header.version} ${source?.address}:${source?.port} -> ${destination?.address}:${destination?.port}\n`);
      const rest = buf.subarray(parsed.length);
      if (rest.length > 0) socket.write(rest);
      socket.pipe(socket);
    };
    socket.on('data', onData);
  });
}

/** An X.224 Connection Request as mstsc / FreeRDP send it (see test/l4/rdp-cookie.test.ts for the byte layout). */
function connectionRequest(variable: string): Buffer {
  const body = Buffer.concat([Buffer.from(variable, 'latin1'), Buffer.from([0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00])]);
  const length = 11 + body.length;
  return Buffer.concat([Buffer.from([0x03, 0x00, length >> 8, length & 0xff, length - 5, 0xe0, 0, 0, 0, 0, 0]), body]);
}

describe('tcp virtual service: the client address', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  for (const version of ['v1', 'v2'] as const) {
    it(`sends a PROXY ${version} header with the client's address and the virtual service's`, async () => {
      const backend = await proxyAwareBackend('pp');
      const svc = await startTcpService(tcpYaml([`sendProxyProtocol: ${version}`], [backend.address]));
      cleanup.push(backend.close, svc.stop);
      const socket = await connectTo(svc.port, '127.0.0.2');
      socket.write('payload\n');
      const line = (await readBytes(socket, 'line')).toString();
      assert.match(line, new RegExp(`^${version} 127\\.0\\.0\\.2:${socket.localPort} -> 127\\.0\\.0\\.1:${svc.port}\\n$`));
      assert.equal((await readBytes(socket, 'line')).toString(), 'payload\n', 'the stream follows the header untouched');
      socket.destroy();
    });
  }

  it('accepts PROXY v1 and v2 from a balancer in front and passes the original client on', async () => {
    const backend = await proxyAwareBackend('chain');
    const svc = await startTcpService(tcpYaml(['acceptProxyProtocol: true', 'sendProxyProtocol: v1'], [backend.address]));
    cleanup.push(backend.close, svc.stop);
    const headers = [encodeProxyV1({ address: '203.0.113.7', port: 40000 }, { address: '192.0.2.1', port: 2101 }), encodeProxyV2({ address: '2001:db8::7', port: 40001 }, { address: '2001:db8::1', port: 2101 })];
    const expected = ['v1 203.0.113.7:40000 -> ', 'v1 2001:db8::7:40001 -> '];
    for (const [i, header] of headers.entries()) {
      const socket = await connectTo(svc.port);
      // The header and the first data in one segment, as a balancer sends them.
      socket.write(Buffer.concat([header, Buffer.from('after the header\n')]));
      assert.ok((await readBytes(socket, 'line')).toString().startsWith(expected[i]!));
      assert.equal((await readBytes(socket, 'line')).toString(), 'after the header\n');
      socket.destroy();
    }
    await waitFor(() => svc.access.length === 2, 'two access records');
    assert.deepEqual(svc.access.map((r) => r.client).sort(), ['2001:db8::7', '203.0.113.7']);
  });

  it('closes a connection that sends garbage instead of the PROXY header, with a log line and nothing else', async () => {
    const backend = await proxyAwareBackend('never');
    const svc = await startTcpService(tcpYaml(['acceptProxyProtocol: true'], [backend.address]));
    cleanup.push(backend.close, svc.stop);
    const socket = await connectTo(svc.port);
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed(socket);
    assert.equal(Buffer.concat(received).length, 0, 'nothing is sent back');
    assert.equal(backend.accepted, 0, 'no real server is bothered');
    const event = svc.events.find((e) => e.fields['event'] === 'proxy-protocol-error');
    assert.ok(event !== undefined);
    assert.match(event.message, /not a PROXY protocol header/);
  });

  it('source-ip persistence keeps one client address on one server, and spreads addresses', async () => {
    const backends = await Promise.all(['a', 'b', 'c'].map((n) => startRawBackend(n)));
    const svc = await startTcpService(tcpYaml(['persistence: { type: source-ip, timeout: 30m }'], backends.map((b) => b.address)));
    cleanup.push(...backends.map((b) => b.close), svc.stop);
    const byClient = new Map<string, Set<string>>();
    for (const client of ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7']) {
      const names = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const socket = await connectTo(svc.port, client);
        names.add((await readBytes(socket, 'line')).toString().trim());
        socket.destroy();
      }
      byClient.set(client, names);
    }
    for (const [client, names] of byClient) assert.equal(names.size, 1, `${client} stayed on one server: ${[...names]}`);
    const used = new Set([...byClient.values()].map((s) => [...s][0]));
    assert.ok(used.size >= 2, `six addresses use more than one server: ${[...used]}`);
  });

  it('rdp-cookie persistence sends a user to the same server from any address; the request reaches it intact', async () => {
    const seen: Buffer[] = [];
    const backends = await Promise.all(
      ['a', 'b', 'c'].map((n) =>
        startRawBackend(n, (socket) => {
          socket.once('data', (first: Buffer) => {
            seen.push(first);
            socket.write(`${n}\n`);
          });
        }),
      ),
    );
    const svc = await startTcpService(tcpYaml(['persistence: { type: rdp-cookie, timeout: 8h, fallback: source-ip }'], backends.map((b) => b.address)));
    cleanup.push(...backends.map((b) => b.close), svc.stop);
    const serverOf = async (user: string | null, from: string, request?: Buffer): Promise<string> => {
      const socket = await connectTo(svc.port, from);
      const cr = request ?? connectionRequest(user === null ? '' : `Cookie: mstshash=${user}\r\n`);
      // Split in two segments: the listener must wait for the whole request.
      socket.write(cr.subarray(0, 7));
      await new Promise((r) => setImmediate(r));
      socket.write(cr.subarray(7));
      const name = (await readBytes(socket, 'line')).toString().trim();
      socket.destroy();
      return name;
    };
    const alice = new Set<string>();
    for (const from of ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']) alice.add(await serverOf('alice', from));
    alice.add(await serverOf('ALICE', '127.0.0.9'));
    assert.equal(alice.size, 1, `alice always lands on one server: ${[...alice]}`);
    assert.deepEqual(seen.at(-1), connectionRequest('Cookie: mstshash=ALICE\r\n'), 'the Connection Request is forwarded byte for byte');
    const users = new Set<string>();
    for (let i = 0; i < 30; i++) users.add(await serverOf(`user${i}`, '127.0.0.2'));
    assert.ok(users.size >= 2, 'thirty users spread');
    // No cookie: the source-ip fallback keeps one address together.
    const anonymous = new Set<string>();
    for (let i = 0; i < 3; i++) anonymous.add(await serverOf(null, '127.0.0.8'));
    assert.equal(anonymous.size, 1);
    // A session broker's routing token names the server holding the session: it wins.
    const target = backends.find((b) => b.name !== [...alice][0])!;
    const token = `Cookie: msts=${encodeRoutingToken('127.0.0.1', target.port)}\r\n`;
    assert.equal(await serverOf(null, '127.0.0.2', connectionRequest(token)), target.name);
  });

  it('rdp-cookie: a client that closes before its first packet is complete (a port probe) is closed, not forwarded', async () => {
    const backend = await startRawBackend('probe');
    const svc = await startTcpService(tcpYaml(['persistence: { type: rdp-cookie, timeout: 8h, fallback: source-ip }'], [backend.address]));
    cleanup.push(backend.close, svc.stop);
    const socket = await connectTo(svc.port);
    socket.end(Buffer.from([0x03, 0x00]));
    await closed(socket);
    await waitFor(() => svc.access.length === 1, 'the access record');
    assert.match(svc.access[0]!.error, /closed before its first packet/);
    assert.equal(backend.accepted, 0);
  });
});

