// The raw HTTP/2 client of test/helpers/h2-wire.ts, checked against RFC 7541's examples and
// against node:http2's own server (nghttp2): if these fail, every HTTP/2 test built on it lies.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ErrorCode,
  FrameType,
  H2Wire,
  type ConnectOptions,
  HpackDecoder,
  HpackError,
  Setting,
  continuationFrame,
  encodeHeaders,
  headerValue,
  headersFrame,
  huffmanDecode,
  huffmanEncode,
  indexedField,
  pingFrame,
  requestHeaders,
} from '../helpers/h2-wire.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('HPACK decoder (RFC 7541 Appendix C)', () => {
  it('decodes the C.4 requests with Huffman, sharing the dynamic table across blocks', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decoder.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')), [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    assert.deepEqual(decoder.decode(hex('8286 84be 5886 a8eb 1064 9cbf')).slice(3), [
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
    assert.deepEqual(decoder.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')).slice(1), [
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ]);
  });

  it('decodes the C.6 responses in a 256-byte table, evicting the oldest entries', () => {
    const decoder = new HpackDecoder(256);
    decoder.decode(hex('4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3'));
    assert.deepEqual(decoder.decode(hex('4883 640e ffc1 c0bf')), [
      [':status', '307'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['location', 'https://www.example.com'],
    ]);
    const third = decoder.decode(
      hex('88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07'),
    );
    assert.deepEqual(third, [
      [':status', '200'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
      ['location', 'https://www.example.com'],
      ['content-encoding', 'gzip'],
      ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
    ]);
  });

  it('Huffman codes match Appendix B (short, long and 30-bit ones)', () => {
    // symbol: its code of the RFC's table, MSB first, padded with ones to the octet
    const appendixB: Array<[number, string]> = [
      [0, 'ffc7'], // 0x1ff8, 13 bits
      [9, 'ffffea'], // 0xffffea, 24 bits
      [10, 'fffffff3'], // 0x3ffffffc, 30 bits
      [48, '07'], // '0': 0x0, 5 bits
      [97, '1f'], // 'a': 0x3, 5 bits
      [126, 'ffef'], // '~': 0x1ffd, 13 bits
      [200, 'fffff8bf'], // 0x3ffffe2, 26 bits
      [255, 'fffffbbf'], // 0x3ffffee, 26 bits
    ];
    for (const [symbol, bytes] of appendixB) {
      assert.equal(huffmanEncode(Buffer.from([symbol])).toString('hex'), bytes, `symbol ${symbol}`);
      assert.deepEqual([...huffmanDecode(hex(bytes))], [symbol]);
    }
  });

  it('Huffman: every octet round-trips; EOS and bad padding are errors', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    assert.deepEqual(huffmanDecode(huffmanEncode(all)), all);
    assert.deepEqual(huffmanEncode('www.example.com'), hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff'));
    assert.throws(() => huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff])), HpackError, 'EOS (30 ones) inside the string');
    assert.throws(() => huffmanDecode(Buffer.from([0x00])), HpackError, "'0' (00000) padded with zeros");
  });

  it('index 0 and an index beyond the tables are errors; our literals decode as sent', () => {
    assert.throws(() => new HpackDecoder().decode(indexedField(0)), HpackError);
    assert.throws(() => new HpackDecoder().decode(indexedField(62)), HpackError);
    const list: Array<[string, string]> = [['x-long', 'v'.repeat(300)], ['cookie', 'a=1']];
    assert.deepEqual(new HpackDecoder().decode(encodeHeaders(list)), list);
  });
});

describe('H2Wire against node:http2', () => {
  let server: http2.Http2Server;
  let port: number;
  const received: Array<{ path: string; bytes: number }> = [];
  const wires: H2Wire[] = [];
  const connect = async (opts: Omit<ConnectOptions, 'port'> = {}): Promise<H2Wire> => {
    const wire = await H2Wire.connect({ port, ...opts });
    wires.push(wire);
    return wire;
  };

  before(async () => {
    server = http2.createServer();
    server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const pathName = String(headers[':path']);
        received.push({ path: pathName, bytes: Buffer.concat(chunks).length });
        const big = /^\/bytes\/(\d+)$/.exec(pathName);
        const body = big ? Buffer.alloc(Number(big[1]), 'x') : Buffer.from(`hello ${pathName}`);
        // A long, varied header: Huffman-coded and, the second time, from the dynamic table.
        stream.respond({ ':status': pathName === '/missing' ? 404 : 200, 'x-words': 'the quick brown fox jumps over the lazy dog', 'x-huge': pathName === '/huge-head' ? 'h'.repeat(40_000) : '1' });
        stream.end(body);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => {
    for (const wire of wires) wire.close();
    server.close();
  });

  it('a GET gets 200 with its body, twice on one connection (the second head from the dynamic table)', async () => {
    const wire = await connect();
    await wire.request(1, requestHeaders({ path: '/a' }));
    assert.equal(await wire.responseStatus(1), 200);
    assert.equal((await wire.responseBody(1)).toString(), 'hello /a');
    await wire.request(3, requestHeaders({ path: '/missing' }));
    assert.equal(await wire.responseStatus(3), 404);
    assert.equal(headerValue(await wire.responseHeaders(3), 'x-words'), 'the quick brown fox jumps over the lazy dog');
    assert.equal(await wire.streamEnd(3).then((end) => 'ended' in end), true);
    const headLength = (id: number): number => wire.frames.find((f) => f.type === FrameType.HEADERS && f.streamId === id)!.payload.length;
    assert.ok(headLength(3) < headLength(1) - 20, `x-words indexed the second time: ${headLength(1)} then ${headLength(3)} bytes`);
  });

  it('reads a response head split into HEADERS and CONTINUATION frames', async () => {
    const wire = await connect({ settings: [[Setting.MAX_HEADER_LIST_SIZE, 100_000]] });
    await wire.request(1, requestHeaders({ path: '/huge-head' }));
    assert.equal(headerValue(await wire.responseHeaders(1), 'x-huge')?.length, 40_000);
    assert.ok(wire.frames.some((f) => f.type === FrameType.CONTINUATION), `a CONTINUATION frame arrived: ${wire.describe()}`);
  });

  it('a PING is acked with its opaque data', async () => {
    const wire = await connect();
    await wire.pingRoundTrip();
    assert.equal(wire.goaways.length, 0);
  });

  it('sends a body larger than the server windows, waiting for its WINDOW_UPDATEs', async () => {
    const wire = await connect();
    await wire.request(1, requestHeaders({ method: 'POST', path: '/upload' }), Buffer.alloc(200_000, 'u'));
    assert.equal(await wire.responseStatus(1), 200);
    assert.deepEqual(received.at(-1), { path: '/upload', bytes: 200_000 });
  });

  it('receives a body through a 4 KiB stream window, granting as it reads, and sees no overrun', async () => {
    const wire = await connect({ settings: [[Setting.INITIAL_WINDOW_SIZE, 4096]] });
    await wire.request(1, requestHeaders({ path: '/bytes/100000' }));
    let granted = 4096;
    const body = await wire.until(() => {
      if (wire.receivedBytes(1) === 100_000) return true;
      if (wire.receivedBytes(1) === granted) {
        wire.grant(1, 4096);
        granted += 4096;
      }
      return undefined;
    });
    assert.equal(body, true);
    assert.deepEqual(wire.flowViolations, []);
  });

  it('a bad frame gets the GOAWAY nghttp2 sends: a 7-byte PING is FRAME_SIZE_ERROR', async () => {
    const wire = await connect();
    wire.send(pingFrame(Buffer.alloc(7)));
    assert.equal(await wire.goaway(), ErrorCode.FRAME_SIZE_ERROR);
    await wire.closedByServer();
  });

  it('a CONTINUATION without HEADERS is PROTOCOL_ERROR; an uppercase name resets only its stream', async () => {
    const wire = await connect();
    wire.send(headersFrame(1, requestHeaders({ extra: [['X-Upper', '1']] }), { endStream: true }));
    assert.equal(await wire.rstStream(1), ErrorCode.PROTOCOL_ERROR);
    wire.send(continuationFrame(3, requestHeaders()));
    assert.equal(await wire.goaway(), ErrorCode.PROTOCOL_ERROR);
  });

  it("goaway() is 'closed' when the server closes without a GOAWAY", async () => {
    const rude = net.createServer((socket) => socket.destroy());
    rude.listen(0, '127.0.0.1');
    await once(rude, 'listening');
    const wire = await H2Wire.connect({ port: (rude.address() as net.AddressInfo).port });
    try {
      assert.equal(await wire.goaway(), 'closed');
    } finally {
      wire.close();
      rude.close();
    }
  });
});

describe('H2Wire over TLS', () => {
  it('negotiates h2 by ALPN and verifies the certificate against a given CA', async () => {
    const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'tls');
    const server = http2.createSecureServer({
      cert: readFileSync(path.join(fixtures, 'www.surveyor.lab.rsa.pem')),
      key: readFileSync(path.join(fixtures, 'www.surveyor.lab.rsa.key')),
    });
    server.on('stream', (stream) => stream.respond({ ':status': 204 }, { endStream: true }));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const wire = await H2Wire.connect({
      port: (server.address() as net.AddressInfo).port,
      tls: { ca: readFileSync(path.join(fixtures, 'root-ca.pem')), servername: 'www.surveyor.lab' },
    });
    try {
      await wire.request(1, requestHeaders({ scheme: 'https', authority: 'www.surveyor.lab' }));
      assert.equal(await wire.responseStatus(1), 204);
    } finally {
      wire.close();
      server.close();
    }
  });
});
