// RFC 9113 conformance of the h2c front end: the protocol errors h2spec checks, each expected
// with the code RFC 9113 names (nghttp2's answer where the two differ, said at the case), the
// request mapping errors of §8.2 and §8.3, and the happy paths a browser relies on. The server is
// Fulcrum in this process (an http service with http2.cleartext and every other HTTP/2 setting
// at its default, as h2spec would meet it) in front of a real server from backends.ts; the
// client is test/helpers/h2-wire.ts, which writes any bytes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChecksumReply, EchoReply } from '../helpers/backends.ts';
import {
  DEFAULT_MAX_FRAME_SIZE,
  ErrorCode,
  Flag,
  FrameType,
  H2Wire,
  MAX_WINDOW,
  PREFACE,
  Setting,
  continuationFrame,
  dataFrame,
  encodeHeaders,
  errorName,
  goawayFrame,
  headerValue,
  headersFrame,
  hpackInteger,
  indexedField,
  literalField,
  pingFrame,
  priorityFrame,
  pushPromiseFrame,
  requestHeaders,
  rstStreamFrame,
  settingsAckFrame,
  settingsFrame,
  startH2cService,
  tableSizeUpdate,
  unknownFrame,
  windowUpdateFrame,
  type ConnectOptions,
  type H2cService,
  type HeaderList,
} from '../helpers/h2-wire.ts';

const GET = requestHeaders();
const POST = requestHeaders({ method: 'POST', path: '/echo' });

interface ConnectionErrorCase {
  /** RFC 9113 section (RFC 7541 for HPACK). */
  rfc: string;
  what: string;
  send(wire: H2Wire): void;
  code: number;
}

interface StreamErrorCase {
  rfc: string;
  what: string;
  /** Sends what makes stream 1 (or `stream`) fail. */
  send(wire: H2Wire): void;
  code: number;
  stream?: number;
  /** The request head went on to the real server before the error (a POST whose body was to come). */
  forwarded?: true;
}

/** A request with its header list changed by `edit` (a malformed one), as one HEADERS frame with END_STREAM. */
const malformed = (edit: (list: HeaderList) => HeaderList) => (wire: H2Wire) => wire.send(headersFrame(1, edit(requestHeaders({ path: '/echo' })), { endStream: true }));
const without = (name: string) => malformed((list) => list.filter(([n]) => n !== name));
const withField = (name: string, value: string) => malformed((list) => [...list, [name, value]]);

const CONNECTION_ERRORS: ConnectionErrorCase[] = [
  // §4.2 frame size. RFC: FRAME_SIZE_ERROR; a frame that can change the connection's state
  // (HEADERS) makes it a connection error. nghttp2 treats an oversized DATA frame the same way.
  { rfc: '4.2', what: 'DATA larger than SETTINGS_MAX_FRAME_SIZE', code: ErrorCode.FRAME_SIZE_ERROR, send: (w) => w.send(headersFrame(1, POST), dataFrame(1, Buffer.alloc(DEFAULT_MAX_FRAME_SIZE + 1))) },
  { rfc: '4.2', what: 'HEADERS larger than SETTINGS_MAX_FRAME_SIZE', code: ErrorCode.FRAME_SIZE_ERROR, send: (w) => w.send(headersFrame(1, requestHeaders({ extra: [['x-pad', 'p'.repeat(DEFAULT_MAX_FRAME_SIZE)]] }), { endStream: true })) },
  // §5.1 stream states.
  { rfc: '5.1', what: 'DATA on an idle stream', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(dataFrame(1, 'x', { endStream: true })) },
  { rfc: '5.1', what: 'RST_STREAM on an idle stream', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(rstStreamFrame(1, ErrorCode.CANCEL)) },
  { rfc: '5.1', what: 'WINDOW_UPDATE on an idle stream', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(windowUpdateFrame(1, 100)) },
  // RFC: a stream error STREAM_CLOSED; nghttp2 ends the whole connection with that code (§5.4.1
  // lets an endpoint treat a stream error as a connection error). Both frames in one write: the
  // stream is still half-closed (remote), not closed, when the DATA is read.
  { rfc: '5.1', what: 'DATA on a half-closed (remote) stream', code: ErrorCode.STREAM_CLOSED, send: (w) => w.send(headersFrame(1, GET, { endStream: true }), dataFrame(1, 'late')) },
  { rfc: '5.1.1', what: 'HEADERS on an even (server-initiated) stream id', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(headersFrame(2, GET, { endStream: true })) },
  // RFC: stream errors. nghttp2 ends the connection for each (§5.4.1 lets an endpoint treat a
  // stream error as a connection error; h2spec accepts either).
  { rfc: '6.9', what: 'WINDOW_UPDATE of 0 on an open stream', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(headersFrame(1, POST), windowUpdateFrame(1, 0)) },
  { rfc: '6.9.1', what: 'a stream window over 2^31-1', code: ErrorCode.FLOW_CONTROL_ERROR, send: (w) => w.send(headersFrame(1, POST), windowUpdateFrame(1, MAX_WINDOW)) },
  { rfc: '5.3.1', what: 'HEADERS that depend on their own stream', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(headersFrame(1, GET, { endStream: true, priority: { dependency: 1 } })) },
  // RFC §8.1.1: a malformed request, a stream error PROTOCOL_ERROR. nghttp2 reports DATA beyond
  // content-length to node:http2 as a session error (-505), and node:http2 (Node 24.21, nghttp2
  // 1.70) then destroys the session with GOAWAY INTERNAL_ERROR: not the client's code, but
  // nothing above node:http2 can change it (the frame guard sees frame headers, not HPACK).
  {
    rfc: '8.1.1',
    what: 'content-length 2 and 5 bytes of DATA',
    code: ErrorCode.INTERNAL_ERROR,
    send: (w) => w.send(headersFrame(1, [...POST, ['content-length', '2']]), dataFrame(1, 'hello', { endStream: true })),
  },
  // §6.1-§6.4
  { rfc: '6.1', what: 'DATA on stream 0', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(dataFrame(0, 'x')) },
  { rfc: '6.2', what: 'HEADERS on stream 0', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(headersFrame(0, GET, { endStream: true })) },
  // RFC: a stream error FRAME_SIZE_ERROR; nghttp2 makes every frame of a bad length a connection error.
  { rfc: '6.3', what: 'PRIORITY of 4 bytes', code: ErrorCode.FRAME_SIZE_ERROR, send: (w) => w.send(priorityFrame(1, { dependency: 0 }, { length: 4 }).subarray(0, 13)) },
  { rfc: '6.4', what: 'RST_STREAM on stream 0', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(rstStreamFrame(0, ErrorCode.CANCEL)) },
  { rfc: '6.4', what: 'RST_STREAM of 3 bytes', code: ErrorCode.FRAME_SIZE_ERROR, send: (w) => w.send(headersFrame(1, POST), rstStreamFrame(1, 0, { length: 3 }).subarray(0, 12)) },
  // §6.5 SETTINGS
  { rfc: '6.5', what: 'SETTINGS of 7 bytes (not a multiple of 6)', code: ErrorCode.FRAME_SIZE_ERROR, send: (w) => w.send(settingsFrame([[Setting.MAX_CONCURRENT_STREAMS, 10]], { length: 7 }), Buffer.from([0])) },
  { rfc: '6.5', what: 'a SETTINGS ACK with a payload', code: ErrorCode.FRAME_SIZE_ERROR, send: (w) => w.send(settingsAckFrame(Buffer.alloc(6))) },
  { rfc: '6.5', what: 'SETTINGS on stream 1', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(settingsFrame([], { streamId: 1 })) },
  { rfc: '6.5.2', what: 'SETTINGS_ENABLE_PUSH 2', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(settingsFrame([[Setting.ENABLE_PUSH, 2]])) },
  { rfc: '6.5.2', what: 'SETTINGS_INITIAL_WINDOW_SIZE 2^31', code: ErrorCode.FLOW_CONTROL_ERROR, send: (w) => w.send(settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 2 ** 31]])) },
  { rfc: '6.5.2', what: 'SETTINGS_MAX_FRAME_SIZE 16383 (below the minimum)', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(settingsFrame([[Setting.MAX_FRAME_SIZE, 16_383]])) },
  { rfc: '6.5.2', what: 'SETTINGS_MAX_FRAME_SIZE 2^24 (above the maximum)', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(settingsFrame([[Setting.MAX_FRAME_SIZE, 2 ** 24]])) },
  // §6.6, §6.7, §6.8
  { rfc: '6.6 / 8.4', what: 'PUSH_PROMISE from a client', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(headersFrame(1, POST), pushPromiseFrame(1, 2, GET)) },
  { rfc: '6.7', what: 'PING of 7 bytes', code: ErrorCode.FRAME_SIZE_ERROR, send: (w) => w.send(pingFrame(Buffer.alloc(7))) },
  { rfc: '6.7', what: 'PING of 9 bytes', code: ErrorCode.FRAME_SIZE_ERROR, send: (w) => w.send(pingFrame(Buffer.alloc(9))) },
  { rfc: '6.7', what: 'PING on stream 1', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(pingFrame(Buffer.alloc(8), { streamId: 1 })) },
  { rfc: '6.8', what: 'GOAWAY on stream 1', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(goawayFrame(0, ErrorCode.NO_ERROR, '', { streamId: 1 })) },
  // §6.9 WINDOW_UPDATE
  { rfc: '6.9', what: 'WINDOW_UPDATE of 0 on the connection', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(windowUpdateFrame(0, 0)) },
  { rfc: '6.9', what: 'WINDOW_UPDATE of 3 bytes', code: ErrorCode.FRAME_SIZE_ERROR, send: (w) => w.send(windowUpdateFrame(0, 1, { length: 3 }).subarray(0, 12)) },
  { rfc: '6.9.1', what: 'a connection window over 2^31-1', code: ErrorCode.FLOW_CONTROL_ERROR, send: (w) => w.send(windowUpdateFrame(0, MAX_WINDOW)) },
  // §6.10 CONTINUATION
  { rfc: '6.10', what: 'CONTINUATION without HEADERS', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(continuationFrame(1, GET)) },
  { rfc: '6.10', what: 'CONTINUATION after a HEADERS that ended its block', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(headersFrame(1, POST), continuationFrame(1, encodeHeaders([['x-more', '1']]))) },
  { rfc: '6.10', what: 'DATA inside a header block', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(headersFrame(1, POST, { endHeaders: false }), dataFrame(1, 'x')) },
  { rfc: '6.10', what: 'PING inside a header block', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(headersFrame(1, POST, { endHeaders: false }), pingFrame()) },
  { rfc: '6.10', what: 'CONTINUATION of another stream inside a header block', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(headersFrame(1, POST, { endHeaders: false }), continuationFrame(3, encodeHeaders([['x-more', '1']]))) },
  { rfc: '5.5', what: 'a frame of an unknown type inside a header block', code: ErrorCode.PROTOCOL_ERROR, send: (w) => w.send(headersFrame(1, POST, { endHeaders: false }), unknownFrame(0xee, 0, 1, Buffer.from('x'))) },
  // RFC 7541 through RFC 9113 §4.3: any decoding error is a connection error COMPRESSION_ERROR.
  { rfc: 'HPACK 6.1', what: 'an indexed field with index 0', code: ErrorCode.COMPRESSION_ERROR, send: (w) => w.send(headersFrame(1, Buffer.concat([encodeHeaders(GET), indexedField(0)]), { endStream: true })) },
  { rfc: 'HPACK 2.3.3', what: 'an indexed field beyond the static and dynamic tables', code: ErrorCode.COMPRESSION_ERROR, send: (w) => w.send(headersFrame(1, Buffer.concat([encodeHeaders(GET), indexedField(70)]), { endStream: true })) },
  { rfc: 'HPACK 6.3', what: 'a table size update over SETTINGS_HEADER_TABLE_SIZE', code: ErrorCode.COMPRESSION_ERROR, send: (w) => w.send(headersFrame(1, Buffer.concat([tableSizeUpdate(4097), encodeHeaders(GET)]), { endStream: true })) },
  { rfc: 'HPACK 4.2', what: 'a table size update after a header field', code: ErrorCode.COMPRESSION_ERROR, send: (w) => w.send(headersFrame(1, Buffer.concat([encodeHeaders(GET), tableSizeUpdate(100)]), { endStream: true })) },
  {
    rfc: 'HPACK 5.2',
    what: 'a Huffman string with the EOS symbol in it',
    code: ErrorCode.COMPRESSION_ERROR,
    // Name "x-h", value Huffman-coded as four bytes of ones: EOS (30 ones) and then some.
    send: (w) => w.send(headersFrame(1, Buffer.concat([encodeHeaders(GET), Buffer.from([0x00]), hpackInteger(3, 7), Buffer.from('x-h'), hpackInteger(4, 7, 0x80), Buffer.alloc(4, 0xff)]), { endStream: true })),
  },
  { rfc: 'HPACK 5.2', what: 'a literal whose length runs past the block', code: ErrorCode.COMPRESSION_ERROR, send: (w) => w.send(headersFrame(1, Buffer.concat([encodeHeaders(GET), literalField('x-cut', 'abcdef').subarray(0, 9)]), { endStream: true })) },
];

const STREAM_ERRORS: StreamErrorCase[] = [
  // §8.3.1 pseudo-header fields: missing, empty, unknown, repeated, a response's, or after a regular field.
  { rfc: '8.3.1', what: 'a request without :method', code: ErrorCode.PROTOCOL_ERROR, send: without(':method') },
  { rfc: '8.3.1', what: 'a request without :scheme', code: ErrorCode.PROTOCOL_ERROR, send: without(':scheme') },
  { rfc: '8.3.1', what: 'a request without :path', code: ErrorCode.PROTOCOL_ERROR, send: without(':path') },
  { rfc: '8.3.1', what: 'an empty :path', code: ErrorCode.PROTOCOL_ERROR, send: malformed((list) => list.map(([n, v]) => [n, n === ':path' ? '' : v])) },
  { rfc: '8.3', what: 'an unknown pseudo-header field', code: ErrorCode.PROTOCOL_ERROR, send: malformed((list) => [[':color', 'blue'], ...list]) },
  { rfc: '8.3.1', what: ':method twice', code: ErrorCode.PROTOCOL_ERROR, send: malformed((list) => [[':method', 'GET'], ...list]) },
  { rfc: '8.3.2', what: 'the response pseudo-header :status in a request', code: ErrorCode.PROTOCOL_ERROR, send: malformed((list) => [[':status', '200'], ...list]) },
  { rfc: '8.3', what: 'a pseudo-header field after a regular one', code: ErrorCode.PROTOCOL_ERROR, send: malformed((list) => [...list.filter(([n]) => n !== ':path'), ['x-a', '1'], [':path', '/echo']]) },
  // §8.2 fields
  { rfc: '8.2', what: 'an uppercase field name', code: ErrorCode.PROTOCOL_ERROR, send: withField('X-Upper', '1') },
  { rfc: '8.2.2', what: 'connection', code: ErrorCode.PROTOCOL_ERROR, send: withField('connection', 'keep-alive') },
  { rfc: '8.2.2', what: 'keep-alive', code: ErrorCode.PROTOCOL_ERROR, send: withField('keep-alive', 'timeout=5') },
  { rfc: '8.2.2', what: 'proxy-connection', code: ErrorCode.PROTOCOL_ERROR, send: withField('proxy-connection', 'keep-alive') },
  { rfc: '8.2.2', what: 'transfer-encoding', code: ErrorCode.PROTOCOL_ERROR, send: withField('transfer-encoding', 'chunked') },
  { rfc: '8.2.2', what: 'upgrade', code: ErrorCode.PROTOCOL_ERROR, send: withField('upgrade', 'websocket') },
  { rfc: '8.2.2', what: 'te other than trailers', code: ErrorCode.PROTOCOL_ERROR, send: withField('te', 'gzip') },
  // §8.1.1: content-length that disagrees with the DATA frames makes the request malformed.
  {
    rfc: '8.1.1',
    what: 'content-length 10 and 5 bytes of DATA',
    code: ErrorCode.PROTOCOL_ERROR,
    forwarded: true,
    send: (w) => w.send(headersFrame(1, [...POST, ['content-length', '10']]), dataFrame(1, 'hello', { endStream: true })),
  },
];

describe('h2c conformance (RFC 9113)', () => {
  let svc: H2cService;
  const open: H2Wire[] = [];

  before(async () => {
    svc = await startH2cService();
  });
  after(async () => {
    for (const wire of open) wire.close();
    await svc.close();
  });

  /** A connection past its handshake: the server's SETTINGS read, ours ACKed. */
  async function connect(opts: Partial<ConnectOptions> = {}): Promise<H2Wire> {
    const wire = await H2Wire.connect({ port: svc.port, ...opts });
    open.push(wire);
    if (opts.preface !== false) await wire.handshake();
    return wire;
  }

  /** The GOAWAY code the connection ends with, once the server has closed it. */
  async function connectionError(wire: H2Wire): Promise<number | 'closed'> {
    const code = await wire.goaway();
    await wire.closedByServer();
    return code;
  }

  describe('connection errors: GOAWAY with the code, the connection closed, the error logged', () => {
    for (const c of CONNECTION_ERRORS) {
      it(`§${c.rfc} ${c.what} → ${errorName(c.code)}`, async () => {
        const mark = svc.accessLog.records.length;
        const wire = await connect();
        c.send(wire);
        assert.equal(errorName(await connectionError(wire)), errorName(c.code), wire.describe());
        const logged = await svc.accessLog.waitFor((r) => r.termination === 'client-protocol-error', mark);
        assert.notEqual(logged.error, '', 'the log line says what the client did');
      });
    }
  });

  describe('what nghttp2 ignores where RFC 9113 asks for an error: the connection serves on', () => {
    it('§5.1.1 HEADERS on a stream id lower than one already used', async () => {
      // RFC: a connection error PROTOCOL_ERROR. nghttp2 cannot remember every stream id it has
      // seen, so a HEADERS on a lower id it never saw is ignored (its comment in
      // session_on_request_headers_received says so); nothing is answered on that stream.
      const wire = await connect();
      wire.send(headersFrame(5, POST), headersFrame(3, GET, { endStream: true }));
      await wire.pingRoundTrip();
      await wire.sendData(5, 'five', { endStream: true });
      assert.equal(JSON.parse((await wire.responseBody(5)).toString()).body, 'five');
      assert.equal(wire.headerBlocks.has(3), false, wire.describe());
      assert.equal(wire.goaways.length, 0, wire.describe());
    });

    it('§6.3 PRIORITY on stream 0', async () => {
      // RFC 9113 deprecates PRIORITY (§5.3.2: endpoints MAY ignore it); nghttp2 1.70 no longer
      // keeps RFC 7540 priorities and checks only the frame's length.
      const wire = await connect();
      wire.send(priorityFrame(0, { dependency: 1 }));
      await wire.request(1, GET);
      assert.equal(await wire.responseStatus(1), 200);
      assert.equal(wire.goaways.length, 0, wire.describe());
    });
  });

  describe('the connection preface (§3.4)', () => {
    it('an invalid preface gets no HTTP/2 service: the connection is closed', async () => {
      const wire = await connect({ preface: false });
      const broken = Buffer.from(PREFACE);
      broken.write('XX', 18, 'latin1'); // "...\r\n\r\nXX\r\n\r\n" for "SM"
      wire.send(broken, settingsFrame(), headersFrame(1, GET, { endStream: true }));
      // Fulcrum serves HTTP/1.1 on the same port and sniffs the preface: a near miss may get an
      // HTTP/1.1 error before the close, or a GOAWAY PROTOCOL_ERROR. Never a response on stream 1.
      const code = await connectionError(wire);
      assert.ok(code === 'closed' || code === ErrorCode.PROTOCOL_ERROR, errorName(code));
      assert.ok(wire.frames.every((f) => f.type !== FrameType.HEADERS), wire.describe());
    });

    it('a PING instead of SETTINGS after the preface → PROTOCOL_ERROR', async () => {
      const wire = await connect({ preface: false });
      wire.send(PREFACE, pingFrame());
      assert.equal(errorName(await connectionError(wire)), errorName(ErrorCode.PROTOCOL_ERROR), wire.describe());
    });

    it('HEADERS instead of SETTINGS after the preface → PROTOCOL_ERROR, and no real server sees it', async () => {
      const requests = svc.backends.servers[0]!.requests;
      const wire = await connect({ preface: false });
      wire.send(PREFACE, headersFrame(1, GET, { endStream: true }));
      assert.equal(errorName(await connectionError(wire)), errorName(ErrorCode.PROTOCOL_ERROR), wire.describe());
      assert.equal(svc.backends.servers[0]!.requests, requests);
    });
  });

  describe('stream errors: RST_STREAM with the code, the connection serves on', () => {
    for (const c of STREAM_ERRORS) {
      it(`§${c.rfc} ${c.what} → RST_STREAM ${errorName(c.code)}`, async () => {
        const requests = svc.backends.servers[0]!.requests;
        const wire = await connect();
        c.send(wire);
        assert.equal(errorName(await wire.rstStream(c.stream ?? 1)), errorName(c.code), wire.describe());
        assert.equal(wire.headerBlocks.has(c.stream ?? 1), false, 'no response on the stream');
        await wire.request(3, requestHeaders());
        assert.equal(await wire.responseStatus(3), 200, 'the next stream is served');
        assert.equal(wire.goaways.length, 0, wire.describe());
        if (c.forwarded !== true) assert.equal(svc.backends.servers[0]!.requests, requests + 1, 'only the good request reached the real server');
      });
    }
  });

  describe('requests that work', () => {
    it('GET: 200 with the real server body', async () => {
      const wire = await connect();
      await wire.request(1, GET);
      const head = await wire.responseHeaders(1);
      assert.equal(headerValue(head, ':status'), '200');
      assert.equal(headerValue(head, 'x-backend'), 'backend-1');
      assert.equal((await wire.responseBody(1)).toString(), 'backend-1\n');
      for (const name of ['connection', 'keep-alive', 'transfer-encoding']) assert.equal(headerValue(head, name), undefined, `no ${name} in an HTTP/2 response`);
    });

    it('POST with a body in several DATA frames (one padded) arrives whole', async () => {
      const parts = [Buffer.alloc(10_000, 'a'), Buffer.alloc(3, 'b'), Buffer.alloc(20_000, 'c')];
      const wire = await connect();
      wire.send(
        headersFrame(1, requestHeaders({ method: 'POST', path: '/sha256', extra: [['content-length', '30003']] })),
        dataFrame(1, parts[0]!),
        dataFrame(1, parts[1]!, { padLength: 200 }),
      );
      await wire.sendData(1, parts[2]!, { endStream: true });
      assert.equal(await wire.responseStatus(1), 200);
      const reply = JSON.parse((await wire.responseBody(1)).toString()) as ChecksumReply;
      assert.equal(reply.bytes, 30_003);
      assert.equal(reply.sha256, createHash('sha256').update(Buffer.concat(parts)).digest('hex'));
    });

    it('a body without content-length reaches the real server chunked, whole', async () => {
      const body = Buffer.alloc(100_000, 'z');
      const wire = await connect();
      await wire.request(1, requestHeaders({ method: 'POST', path: '/sha256' }), body, { frameSize: 7000 });
      const reply = JSON.parse((await wire.responseBody(1)).toString()) as ChecksumReply;
      assert.deepEqual([reply.bytes, reply.chunked], [100_000, true]);
    });

    it('cookies in several fields arrive joined with "; " (§8.2.3); :authority becomes Host (§8.3.1)', async () => {
      const wire = await connect();
      await wire.request(1, requestHeaders({ path: '/echo?q=1', authority: 'shop.example.test:8443', extra: [['cookie', 'a=1'], ['x-tag', 'between'], ['cookie', 'b=2'], ['cookie', 'c=3']] }));
      const echo = JSON.parse((await wire.responseBody(1)).toString()) as EchoReply;
      assert.equal(echo.headers.cookie, 'a=1; b=2; c=3');
      assert.equal(echo.headers.host, 'shop.example.test:8443');
      assert.equal(echo.url, '/echo?q=1');
      assert.equal(echo.httpVersion, '1.1');
    });

    it('a large response respects a small client window: it all arrives, never beyond what was granted', async () => {
      const body = Buffer.alloc(200_000, 'w');
      const wire = await connect({ settings: [[Setting.INITIAL_WINDOW_SIZE, 4096]] });
      await wire.request(1, POST, body);
      let granted = 4096;
      let stalls = 0;
      // Grant 4 KiB more each time the server has filled the window (and so had to stop).
      await wire.until(() => {
        if (wire.frames.some((f) => f.streamId === 1 && f.type === FrameType.DATA && (f.flags & Flag.END_STREAM) !== 0)) return true;
        if (wire.receivedBytes(1) === granted) {
          stalls++;
          granted += 4096;
          wire.grant(1, 4096);
        }
        return undefined;
      }, 10_000);
      const echo = JSON.parse((await wire.responseBody(1)).toString()) as EchoReply;
      assert.equal(echo.body.length, body.length);
      assert.deepEqual(wire.flowViolations, []);
      assert.ok(stalls > 40, `the window held the server back (${stalls} grants)`);
      assert.equal(wire.goaways.length, 0, wire.describe());
    });

    it('trailers from the client end the request; the body arrives', async () => {
      const wire = await connect();
      wire.send(headersFrame(1, requestHeaders({ method: 'POST', path: '/sha256', extra: [['te', 'trailers']] })), dataFrame(1, 'abc'), headersFrame(1, [['x-checksum', '900150983cd24fb0']], { endStream: true }));
      assert.equal(await wire.responseStatus(1), 200);
      const reply = JSON.parse((await wire.responseBody(1)).toString()) as ChecksumReply;
      assert.equal(reply.sha256, createHash('sha256').update('abc').digest('hex'));
    });

    it('a header block in HEADERS and CONTINUATION frames, with padding and priority, is one request', async () => {
      const block = encodeHeaders(requestHeaders({ path: '/echo', extra: [['x-split', 'yes']] }));
      const wire = await connect();
      wire.send(
        headersFrame(1, block.subarray(0, 10), { endHeaders: false, padLength: 7, priority: { dependency: 0, weight: 200 } }),
        continuationFrame(1, block.subarray(10, 30), { endHeaders: false }),
        continuationFrame(1, block.subarray(30)),
        dataFrame(1, '', { endStream: true }),
      );
      const echo = JSON.parse((await wire.responseBody(1)).toString()) as EchoReply;
      assert.equal(echo.headers['x-split'], 'yes');
    });

    it('ignores what it must ignore: unknown frame types and settings, PRIORITY on idle streams, and a higher stream id after a gap', async () => {
      const wire = await connect({ settings: [[0x99, 7]] });
      wire.send(unknownFrame(0xee, 0xff, 0, Buffer.from('ignore me')), priorityFrame(9, { dependency: 0 }), unknownFrame(0xee, 0, 1, Buffer.alloc(3)));
      await wire.request(11, GET);
      assert.equal(await wire.responseStatus(11), 200);
      await wire.request(13, GET);
      assert.equal(await wire.responseStatus(13), 200);
      assert.equal(wire.goaways.length, 0, wire.describe());
    });

    it('several streams at once each get their own response', async () => {
      const wire = await connect();
      for (const id of [1, 3, 5, 7]) wire.send(headersFrame(id, requestHeaders({ path: `/echo?stream=${id}` }), { endStream: true }));
      for (const id of [1, 3, 5, 7]) {
        const echo = JSON.parse((await wire.responseBody(id)).toString()) as EchoReply;
        assert.equal(echo.url, `/echo?stream=${id}`);
      }
    });

    it('te: trailers is allowed (§8.2.2), and a client GOAWAY closes the connection once its streams are done', async () => {
      const wire = await connect();
      await wire.request(1, requestHeaders({ extra: [['te', 'trailers']] }));
      assert.equal(await wire.responseStatus(1), 200);
      await wire.responseBody(1);
      wire.send(goawayFrame(0, ErrorCode.NO_ERROR)); // 0: we accept no server-initiated stream
      await wire.closedByServer();
      assert.deepEqual(wire.goaways.map((g) => g.errorCode).filter((c) => c !== ErrorCode.NO_ERROR), []);
    });
  });
});

describe('h2 over TLS (ALPN h2): the same front end', () => {
  const fixture = (name: string): string => path.join(import.meta.dirname, '..', 'fixtures', 'tls', name);
  let svc: H2cService;
  before(async () => {
    svc = await startH2cService({}, { protocol: 'https', tls: { certificates: [{ cert: fixture('www.surveyor.lab.rsa.pem'), key: fixture('www.surveyor.lab.rsa.key') }], alpn: ['h2', 'http/1.1'] } });
  });
  after(() => svc.close());

  it('serves a GET and answers a protocol error with GOAWAY', async () => {
    const tls = { ca: readFileSync(fixture('root-ca.pem')), servername: 'www.surveyor.lab' };
    const wire = await H2Wire.connect({ port: svc.port, tls });
    try {
      await wire.request(1, requestHeaders({ scheme: 'https', authority: 'www.surveyor.lab', path: '/echo' }));
      const echo = JSON.parse((await wire.responseBody(1)).toString()) as EchoReply;
      assert.equal(echo.headers['x-forwarded-proto'], 'https');
      wire.send(pingFrame(Buffer.alloc(7)));
      assert.equal(errorName(await wire.goaway()), errorName(ErrorCode.FRAME_SIZE_ERROR), wire.describe());
      await wire.closedByServer();
    } finally {
      wire.close();
    }
  });
});

describe('a drain (SIGTERM, reload) just after a protocol error', () => {
  it('finishes: the connection nghttp2 is closing is not drained again', async () => {
    const svc = await startH2cService();
    const wire = await H2Wire.connect({ port: svc.port });
    try {
      await wire.request(1, GET);
      await wire.responseBody(1);
      wire.send(pingFrame(Buffer.alloc(7)));
      assert.equal(errorName(await wire.goaway()), errorName(ErrorCode.FRAME_SIZE_ERROR));
      // At once: the session is gone, the socket's close not yet seen by the connection.
      await svc.runtime.drain(0);
    } finally {
      wire.close();
      await svc.backends.close();
    }
  });
});
