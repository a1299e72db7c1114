// The headers we send: exact bytes, family choice (mixed families as IPv4-mapped IPv6), encode ->
// parse round trips. Byte-for-byte equality with HAProxy's send-proxy(-v2) is in the interop
// suite (interop/proxy-protocol.test.ts).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeProxyHeader, encodeProxyV1, encodeProxyV2 } from '../../src/proxy-protocol/encode.ts';
import { formatIPv6 } from '../../src/proxy-protocol/ip.ts';
import { parseProxyHeader, type ProxyEndpoint, type ProxyHeader } from '../../src/proxy-protocol/parse.ts';
import { ipv4Block, ipv6Block, v2 } from './helpers.ts';

const e = (address: string, port: number): ProxyEndpoint => ({ address, port });
const ip6 = (hex: string): Buffer => Buffer.from(hex.replace(/:/g, ''), 'hex');

function parsed(buf: Buffer): ProxyHeader {
  const r = parseProxyHeader(buf);
  assert.equal(r.kind, 'ok', JSON.stringify(r));
  assert.equal((r as { length: number }).length, buf.length);
  return (r as { header: ProxyHeader }).header;
}

describe('encodeProxyV1', () => {
  it('writes TCP4 for two IPv4 ends', () => {
    assert.equal(encodeProxyV1(e('192.168.0.1', 56324), e('192.168.0.11', 443)).toString(), 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n');
  });

  it('writes TCP4 for Node\'s IPv4-mapped addresses (a dual-stack listener), when both ends are IPv4', () => {
    assert.equal(encodeProxyV1(e('::ffff:10.0.0.1', 1), e('::FFFF:10.0.0.2', 2)).toString(), 'PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n');
  });

  it('writes TCP6, compressed, with an IPv4 end IPv4-mapped', () => {
    assert.equal(encodeProxyV1(e('2001:DB8:0:0::1', 5555), e('::1', 80)).toString(), 'PROXY TCP6 2001:db8::1 ::1 5555 80\r\n');
    assert.equal(encodeProxyV1(e('10.0.0.1', 5555), e('2001:db8::7', 443)).toString(), 'PROXY TCP6 ::ffff:10.0.0.1 2001:db8::7 5555 443\r\n');
    assert.equal(encodeProxyV1(e('2001:db8::7', 5555), e('::ffff:10.0.0.1', 443)).toString(), 'PROXY TCP6 2001:db8::7 ::ffff:10.0.0.1 5555 443\r\n');
  });

  it('writes UNKNOWN when an end is missing or not an IP address and port', () => {
    for (const [s, d] of [
      [null, e('1.2.3.4', 1)],
      [e('1.2.3.4', 1), null],
      [e('example.com', 1), e('1.2.3.4', 1)],
      [e('1.2.3.4', 70000), e('1.2.3.4', 1)],
      [e('1.2.3.4', 1.5), e('1.2.3.4', 1)],
      [e('1.2.3.4', -1), e('1.2.3.4', 1)],
    ] as Array<[ProxyEndpoint | null, ProxyEndpoint | null]>) {
      assert.equal(encodeProxyV1(s, d).toString(), 'PROXY UNKNOWN\r\n');
    }
  });

  it('drops a zone from a link-local address (it means nothing to the peer)', () => {
    assert.equal(encodeProxyV1(e('fe80::1%eth0', 1), e('fe80::2', 2)).toString(), 'PROXY TCP6 fe80::1 fe80::2 1 2\r\n');
  });
});

describe('encodeProxyV2', () => {
  it('writes TCP over IPv4 byte for byte', () => {
    assert.deepEqual(encodeProxyV2(e('10.0.0.1', 5555), e('192.168.1.2', 443)), v2(0x21, 0x11, ipv4Block([10, 0, 0, 1], [192, 168, 1, 2], 5555, 443)));
  });

  it('writes UDP as dgram', () => {
    assert.deepEqual(encodeProxyV2(e('10.0.0.1', 53), e('10.0.0.2', 5353), 'dgram'), v2(0x21, 0x12, ipv4Block([10, 0, 0, 1], [10, 0, 0, 2], 53, 5353)));
  });

  it('writes IPv6, and an IPv4 end among IPv6 IPv4-mapped', () => {
    const mapped = ip6('0000:0000:0000:0000:0000:ffff:0a00:0001');
    const vip = ip6('2001:0db8:0000:0000:0000:0000:0000:0007');
    assert.deepEqual(encodeProxyV2(e('10.0.0.1', 5555), e('2001:db8::7', 443)), v2(0x21, 0x21, ipv6Block(mapped, vip, 5555, 443)));
    assert.deepEqual(encodeProxyV2(e('2001:db8::7', 1), e('2001:db8::7', 2), 'dgram'), v2(0x21, 0x22, ipv6Block(vip, vip, 1, 2)));
  });

  it('writes IPv4 for two IPv4-mapped ends', () => {
    assert.deepEqual(encodeProxyV2(e('::ffff:10.0.0.1', 1), e('::ffff:10.0.0.2', 2)), v2(0x21, 0x11, ipv4Block([10, 0, 0, 1], [10, 0, 0, 2], 1, 2)));
  });

  it('writes PROXY with AF_UNSPEC and no block when an end is unknown', () => {
    assert.deepEqual(encodeProxyV2(null, e('1.2.3.4', 1)), v2(0x21, 0x00, Buffer.alloc(0)));
    assert.deepEqual(encodeProxyV2(e('nope', 1), e('1.2.3.4', 1), 'dgram'), v2(0x21, 0x00, Buffer.alloc(0)));
  });
});

describe('encodeProxyHeader', () => {
  const socket = { remoteAddress: '::ffff:203.0.113.9', remotePort: 40000, localAddress: '::ffff:198.51.100.1', localPort: 80 };

  it('takes the client from the socket\'s peer and the destination from its local end', () => {
    assert.equal(encodeProxyHeader('v1', socket).toString(), 'PROXY TCP4 203.0.113.9 198.51.100.1 40000 80\r\n');
    assert.deepEqual(parsed(encodeProxyHeader('v2', socket)).source, { address: '203.0.113.9', port: 40000 });
  });

  it('takes the client from an accepted PROXY header when given', () => {
    assert.equal(encodeProxyHeader('v1', socket, e('2001:db8::42', 1234)).toString(), 'PROXY TCP6 2001:db8::42 ::ffff:198.51.100.1 1234 80\r\n');
    assert.deepEqual(parsed(encodeProxyHeader('v2', socket, e('10.1.1.1', 9))).source, { address: '10.1.1.1', port: 9 });
  });

  it('writes UNKNOWN / AF_UNSPEC for a socket that lost its addresses (closed)', () => {
    assert.equal(encodeProxyHeader('v1', {}).toString(), 'PROXY UNKNOWN\r\n');
    assert.deepEqual(parsed(encodeProxyHeader('v2', {})), { version: 2, command: 'proxy', transport: 'unspec', source: null, destination: null });
  });

  it('reads a real net.Socket', async () => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const [accepted] = (await once(server, 'connection')) as [net.Socket];
    await once(client, 'connect').catch(() => {});
    const header = parsed(encodeProxyHeader('v2', accepted));
    assert.deepEqual(header.source, { address: '127.0.0.1', port: client.localPort });
    assert.deepEqual(header.destination, { address: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
    client.destroy();
    accepted.destroy();
    server.close();
  });
});

describe('encode -> parse round trip', () => {
  const port = fc.integer({ min: 0, max: 65535 });
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
  const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIPv6(b, 0));
  const address = fc.oneof(v4, v6, v4.map((a) => `::ffff:${a}`));
  const endpoint = fc.record({ address, port });
  const isV4 = (a: string): boolean => net.isIPv4(a) || /^::ffff:[0-9.]+$/.test(a);

  it('gives back both endpoints (v4 ends as IPv4 when both are, IPv4-mapped otherwise)', () => {
    fc.assert(
      fc.property(endpoint, endpoint, fc.constantFrom<'stream' | 'dgram'>('stream', 'dgram'), (source, destination, transport) => {
        const bothV4 = isV4(source.address) && isV4(destination.address);
        const expect = (x: ProxyEndpoint): ProxyEndpoint => {
          const plain = x.address.replace(/^::ffff:/, '');
          return { address: bothV4 ? plain : net.isIPv4(x.address) ? `::ffff:${x.address}` : x.address, port: x.port };
        };
        for (const header of [parsed(encodeProxyV1(source, destination)), parsed(encodeProxyV2(source, destination, transport))]) {
          assert.deepEqual(header.source, expect(source));
          assert.deepEqual(header.destination, expect(destination));
          assert.equal(header.command, 'proxy');
          assert.equal(header.transport, header.version === 1 ? 'stream' : transport);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
