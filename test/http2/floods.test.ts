// The HTTP/2 abuse limits of src/config/http2.ts, counted by src/http2/flood-guard.ts: past each
// one the connection gets GOAWAY ENHANCE_YOUR_CALM and is closed, one access-log line says
// client-flood and which limit, and the worker counts it. Small bursts with no refill
// (perSecond 0) make every boundary exact and the tests fast: `burst` frames pass, one more is
// cut. And the other side: a browser's cancels, and WINDOW_UPDATEs that follow the body we send,
// are never cut at the defaults.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ErrorCode,
  Flag,
  FrameType,
  H2Wire,
  Setting,
  continuationFrame,
  dataFrame,
  encodeHeaders,
  errorName,
  headersFrame,
  indexedField,
  indexedLiteralField,
  pingFrame,
  priorityFrame,
  requestHeaders,
  rstStreamFrame,
  settingsFrame,
  startH2cService,
  unknownFrame,
  windowUpdateFrame,
  type ConnectOptions,
  type H2cService,
} from '../helpers/h2-wire.ts';

const GET = requestHeaders();
const POST = requestHeaders({ method: 'POST', path: '/echo' });
const bucket = (burst: number) => ({ burst, perSecond: 0 });

/** Every limit small; concurrency high enough that it never decides a test it is not the subject of. */
const SMALL = {
  maxConcurrentStreams: 50,
  maxHeaderListSize: 1000,
  floods: {
    resets: bucket(5),
    settings: bucket(3),
    pings: bucket(3),
    priority: bucket(3),
    windowUpdates: bucket(3),
    emptyFrames: bucket(3),
    continuationFrames: 3,
  },
};

const wires: H2Wire[] = [];

async function connect(svc: H2cService, opts: Partial<ConnectOptions> = {}): Promise<H2Wire> {
  const wire = await H2Wire.connect({ port: svc.port, ...opts });
  wires.push(wire);
  await wire.until(() => wire.frames.some((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0) || undefined);
  return wire;
}

/** The connection still serves: a GET on `streamId` gets 200, and no GOAWAY came. */
async function serves(wire: H2Wire, streamId: number): Promise<void> {
  await wire.request(streamId, GET);
  assert.equal(await wire.responseStatus(streamId), 200);
  await wire.responseBody(streamId);
  assert.equal(wire.goaways.length, 0, wire.describe());
}

/**
 * `act` passes the `limit`: GOAWAY ENHANCE_YOUR_CALM, the connection closed, one client-flood
 * line naming the limit, and the worker's count of that limit one higher.
 */
async function cutBy(svc: H2cService, limit: string, wire: H2Wire, act: () => void | Promise<void>): Promise<void> {
  const mark = svc.accessLog.records.length;
  const counted = svc.events()?.floods[limit] ?? 0;
  await act();
  assert.equal(errorName(await wire.goaway()), errorName(ErrorCode.ENHANCE_YOUR_CALM), wire.describe());
  await wire.closedByServer();
  const logged = await svc.accessLog.waitFor((r) => r.termination === 'client-flood', mark);
  assert.ok(logged.error.startsWith(limit), `the log line names ${limit}: "${logged.error}"`);
  assert.equal(svc.events()?.floods[limit], counted + 1);
}

after(() => {
  for (const wire of wires) wire.close();
});

describe('HTTP/2 flood limits (burst N, no refill): N pass, one more closes the connection', () => {
  let svc: H2cService;
  before(async () => {
    svc = await startH2cService(SMALL);
  });
  after(() => svc.close());

  it('resets: streams opened and reset by the client (rapid reset, CVE-2023-44487)', async () => {
    const wire = await connect(svc);
    for (let id = 1; id <= 9; id += 2) wire.send(headersFrame(id, GET, { endStream: true }), rstStreamFrame(id, ErrorCode.CANCEL));
    await serves(wire, 11);
    await cutBy(svc, 'resets', wire, () => wire.send(headersFrame(13, GET, { endStream: true }), rstStreamFrame(13, ErrorCode.CANCEL)));
  });

  it('resets: a rapid-reset burst in one write is cut before its streams reach the real server', async () => {
    const requests = svc.backends.servers[0]!.requests;
    const wire = await connect(svc);
    const pairs: Buffer[] = [];
    for (let id = 1; id < 2000; id += 2) pairs.push(headersFrame(id, GET, { endStream: true }), rstStreamFrame(id, ErrorCode.CANCEL));
    await cutBy(svc, 'resets', wire, () => wire.send(...pairs));
    // The chunk with the sixth reset never reaches nghttp2; earlier chunks hold at most five pairs.
    assert.ok(svc.backends.servers[0]!.requests - requests <= 6, `${svc.backends.servers[0]!.requests - requests} requests reached the real server`);
  });

  // MadeYouReset (CVE-2025-8671): stream errors the client provokes are resets by proxy.
  const provoked: Array<{ what: string; send: (wire: H2Wire, id: number) => void }> = [
    { what: 'content-length that its DATA breaks (reset after Fulcrum took the stream)', send: (w, id) => w.send(headersFrame(id, [...POST, ['content-length', '10']]), dataFrame(id, 'short', { endStream: true })) },
    { what: 'a connection-specific field (reset by nghttp2 before Fulcrum sees the stream)', send: (w, id) => w.send(headersFrame(id, [...GET, ['connection', 'close']], { endStream: true })) },
  ];
  for (const { what, send } of provoked) {
    it(`resets: streams the client makes us reset count too: ${what}`, async () => {
      const wire = await connect(svc);
      for (let id = 1; id <= 9; id += 2) {
        send(wire, id);
        assert.equal(errorName(await wire.rstStream(id)), errorName(ErrorCode.PROTOCOL_ERROR));
      }
      await serves(wire, 11);
      await cutBy(svc, 'resets', wire, () => send(wire, 13));
    });
  }

  it('settings: SETTINGS frames (CVE-2019-9515), the first one included; ACKs are free', async () => {
    const wire = await connect(svc);
    wire.send(settingsFrame([[Setting.HEADER_TABLE_SIZE, 4096]]), settingsFrame());
    await wire.until(() => wire.frames.filter((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) !== 0).length === 3 || undefined);
    await serves(wire, 1);
    await cutBy(svc, 'settings', wire, () => wire.send(settingsFrame()));
  });

  it('pings: PING frames (CVE-2019-9512)', async () => {
    const wire = await connect(svc);
    for (let i = 0; i < 3; i++) await wire.pingRoundTrip();
    await serves(wire, 1);
    await cutBy(svc, 'pings', wire, () => wire.send(pingFrame()));
  });

  it('priority: PRIORITY frames (CVE-2019-9513)', async () => {
    const wire = await connect(svc);
    wire.send(priorityFrame(101, { dependency: 0 }), priorityFrame(103, { dependency: 101 }), priorityFrame(105, { dependency: 0, exclusive: true }));
    await serves(wire, 1);
    await cutBy(svc, 'priority', wire, () => wire.send(priorityFrame(107, { dependency: 0 })));
  });

  it('windowUpdates: WINDOW_UPDATE frames that no response body earned', async () => {
    const wire = await connect(svc);
    wire.send(windowUpdateFrame(0, 1), windowUpdateFrame(0, 1), windowUpdateFrame(0, 1));
    await serves(wire, 1);
    await cutBy(svc, 'windowUpdates', wire, () => wire.send(windowUpdateFrame(0, 1)));
  });

  it('windowUpdates: one per 4 KiB of response body is earned, so a client granting 4 KiB at a time is never cut', async () => {
    // A stream window larger than the body: only the connection window (65,535) holds the
    // server back, and each 4 KiB read is granted back with one WINDOW_UPDATE.
    const body = Buffer.alloc(200_000, 'e');
    const wire = await connect(svc, { settings: [[Setting.INITIAL_WINDOW_SIZE, 1_000_000]] });
    await wire.request(1, POST, body);
    let granted = 65_535;
    let grants = 0;
    await wire.until(() => {
      if (wire.frames.some((f) => f.streamId === 1 && (f.flags & Flag.END_STREAM) !== 0 && f.type === FrameType.DATA)) return true;
      if (wire.receivedBytes(1) >= granted) {
        granted += 4096;
        grants++;
        wire.grant(0, 4096);
      }
      return undefined;
    }, 10_000);
    assert.equal(JSON.parse((await wire.responseBody(1)).toString()).body.length, body.length);
    assert.ok(grants > 3, `${grants} WINDOW_UPDATEs, more than the burst of 3`);
    assert.deepEqual(wire.flowViolations, []);
    await serves(wire, 3);
  });

  it('emptyFrames: DATA frames with no payload that do not end their stream (CVE-2019-9518)', async () => {
    const wire = await connect(svc);
    wire.send(headersFrame(1, POST), dataFrame(1, ''), dataFrame(1, ''), dataFrame(1, ''));
    await serves(wire, 3);
    await cutBy(svc, 'emptyFrames', wire, () => wire.send(dataFrame(1, '')));
  });

  it('emptyFrames: frames of unknown types count as empty frames (ignored, but read)', async () => {
    const wire = await connect(svc);
    wire.send(unknownFrame(0xf0, 0, 0), unknownFrame(0xf1, 0, 0), unknownFrame(0xf2, 0, 1, Buffer.from('x')));
    await serves(wire, 1);
    await cutBy(svc, 'emptyFrames', wire, () => wire.send(unknownFrame(0xf3, 0, 0)));
  });

  it('an empty DATA frame that ends its stream is a request body, not a flood', async () => {
    const wire = await connect(svc);
    for (let id = 1; id <= 9; id += 2) {
      wire.send(headersFrame(id, POST), dataFrame(id, '', { endStream: true }));
      assert.equal(await wire.responseStatus(id), 200);
    }
    assert.equal(wire.goaways.length, 0, wire.describe());
  });

  it('continuationFrames: a header block in 3 CONTINUATIONs passes; 4 zero-length ones are cut (CVE-2024-27316)', async () => {
    const wire = await connect(svc);
    const block = encodeHeaders(requestHeaders({ extra: [['x-a', 'aaaaaaaaaa'], ['x-b', 'bbbbbbbbbb']] }));
    wire.send(
      headersFrame(1, block.subarray(0, 20), { endStream: true, endHeaders: false }),
      continuationFrame(1, block.subarray(20, 40), { endHeaders: false }),
      continuationFrame(1, block.subarray(40, 60), { endHeaders: false }),
      continuationFrame(1, block.subarray(60)),
    );
    assert.equal(await wire.responseStatus(1), 200);
    await cutBy(svc, 'continuationFrames', wire, () => {
      wire.send(headersFrame(3, encodeHeaders(GET), { endStream: true, endHeaders: false }));
      for (let i = 0; i < 4; i++) wire.send(continuationFrame(3, Buffer.alloc(0), { endHeaders: false }));
    });
  });

  it('headerList: a header block over maxHeaderListSize in one HEADERS frame', async () => {
    const wire = await connect(svc);
    await serves(wire, 1);
    await cutBy(svc, 'headerList', wire, () => wire.send(headersFrame(3, requestHeaders({ extra: [['x-big', 'b'.repeat(1500)]] }), { endStream: true })));
  });

  it('headerList: a header block over maxHeaderListSize across CONTINUATION frames', async () => {
    const wire = await connect(svc);
    const block = encodeHeaders(requestHeaders({ extra: [['x-big', 'b'.repeat(1500)]] }));
    await cutBy(svc, 'headerList', wire, () =>
      wire.send(headersFrame(1, block.subarray(0, 600), { endStream: true, endHeaders: false }), continuationFrame(1, block.subarray(600, 1200), { endHeaders: false }), continuationFrame(1, block.subarray(1200))),
    );
  });

  it('headerList: a small block that decodes over maxHeaderListSize (fields from the dynamic table) resets its stream, and counts as a reset', async () => {
    // 700 bytes of value into the server's dynamic table (one request of ~900 bytes, under the
    // limit), then a block of a few bytes that names it three times: ~2,300 bytes decoded.
    // node:http2 refuses that stream (RST_STREAM ENHANCE_YOUR_CALM); the connection serves on,
    // and each such stream spends a reset (burst 5 here): the sixth closes the connection.
    const wire = await connect(svc);
    wire.send(headersFrame(1, Buffer.concat([encodeHeaders(GET), indexedLiteralField('x-big', 'b'.repeat(700))]), { endStream: true }));
    assert.equal(await wire.responseStatus(1), 200);
    const bomb = (id: number): Buffer => headersFrame(id, Buffer.concat([encodeHeaders(GET), indexedField(62), indexedField(62), indexedField(62)]), { endStream: true });
    wire.send(bomb(3));
    assert.equal(errorName(await wire.rstStream(3)), errorName(ErrorCode.ENHANCE_YOUR_CALM));
    for (let id = 5; id <= 11; id += 2) {
      wire.send(bomb(id));
      await wire.rstStream(id);
    }
    assert.equal(wire.goaways.length, 0, wire.describe());
    await cutBy(svc, 'resets', wire, () => wire.send(bomb(13)));
  });
});

describe('HTTP/2 concurrent streams (maxConcurrentStreams 2)', () => {
  let svc: H2cService;
  before(async () => {
    svc = await startH2cService({ maxConcurrentStreams: 2 });
  });
  after(() => svc.close());

  it('a third open stream after the client ACKed our SETTINGS closes the connection', async () => {
    const wire = await connect(svc);
    await wire.pingRoundTrip(); // our SETTINGS ACK went before it: the server has read it
    wire.send(headersFrame(1, POST), headersFrame(3, POST));
    await wire.pingRoundTrip();
    await cutBy(svc, 'streams', wire, () => wire.send(headersFrame(5, POST)));
  });

  it('before the ACK a client may not know the limit: the extra stream is refused, the connection serves on', async () => {
    const wire = await connect(svc, { ackSettings: false });
    wire.send(headersFrame(1, POST), headersFrame(3, POST), headersFrame(5, POST));
    assert.equal(errorName(await wire.rstStream(5)), errorName(ErrorCode.REFUSED_STREAM));
    await wire.sendData(1, 'one', { endStream: true });
    assert.equal(await wire.responseStatus(1), 200);
    assert.equal(wire.goaways.length, 0, wire.describe());
  });

  it('streams that ended free their slots: answered, reset by the client, or refused for malformed fields', async () => {
    const wire = await connect(svc);
    await wire.pingRoundTrip();
    let id = 1;
    for (let i = 0; i < 3; i++, id += 2) await serves(wire, id);
    for (let i = 0; i < 3; i++, id += 2) wire.send(headersFrame(id, POST), rstStreamFrame(id, ErrorCode.CANCEL));
    // Settled: node:http2 frees a reset stream's place in its own table a moment after the
    // RST_STREAM (a new stream at once at the limit gets RST_STREAM ENHANCE_YOUR_CALM from it).
    await wire.pingRoundTrip();
    for (let i = 0; i < 3; i++, id += 2) {
      wire.send(headersFrame(id, [...GET, ['X-Upper', '1']], { endStream: true }));
      assert.equal(errorName(await wire.rstStream(id)), errorName(ErrorCode.PROTOCOL_ERROR), wire.describe());
    }
    wire.send(headersFrame(id, POST), headersFrame(id + 2, POST));
    await wire.sendData(id, 'a', { endStream: true });
    await wire.sendData(id + 2, 'b', { endStream: true });
    assert.equal(await wire.responseStatus(id), 200);
    assert.equal(await wire.responseStatus(id + 2), 200);
    assert.equal(wire.goaways.length, 0, wire.describe());
  });
});

describe('HTTP/2 header block time (timeouts.clientHeader 300ms)', () => {
  let svc: H2cService;
  before(async () => {
    svc = await startH2cService({}, { timeouts: { clientHeader: '300ms' } });
  });
  after(() => svc.close());

  it('a header block left unfinished holds every stream: it is cut once it takes longer than clientHeader', async () => {
    const wire = await connect(svc);
    await serves(wire, 1); // past the first-request deadline: only the header block's clock runs
    const started = performance.now();
    await cutBy(svc, 'headerBlockTime', wire, () => wire.send(headersFrame(3, encodeHeaders(GET), { endStream: true, endHeaders: false })));
    assert.ok(performance.now() - started >= 250, `cut after ${(performance.now() - started).toFixed(0)} ms`);
  });
});

describe('HTTP/2 at the default limits', () => {
  let svc: H2cService;
  before(async () => {
    svc = await startH2cService();
  });
  after(() => svc.close());

  it('a browser that cancels 100 streams at a time (twice) and loads 300 more is never cut', async () => {
    const wire = await connect(svc);
    let next = 1;
    const round = (): number[] => Array.from({ length: 100 }, () => ((next += 2), next - 2));
    // A navigation away: every stream in flight cancelled, then a moment for them to settle
    // (the PING's ACK: the server has read every cancel).
    for (let r = 0; r < 2; r++) {
      const ids = round();
      wire.send(...ids.map((id) => headersFrame(id, requestHeaders({ path: `/asset/${id}` }), { endStream: true })));
      wire.send(...ids.map((id) => rstStreamFrame(id, ErrorCode.CANCEL)));
      await wire.pingRoundTrip();
    }
    // Page loads that finish: 100 streams at once, each answered before the next round opens.
    for (let r = 0; r < 3; r++) {
      const ids = round();
      wire.send(...ids.map((id) => headersFrame(id, requestHeaders({ path: `/asset/${id}` }), { endStream: true })));
      for (const id of ids) assert.equal((await wire.responseBody(id)).toString(), 'backend-1\n');
    }
    assert.equal(wire.goaways.length, 0, wire.describe());
    assert.deepEqual(svc.events()?.floods ?? {}, {});
  });

  it('rapid reset at full speed is cut at the defaults', async () => {
    const wire = await connect(svc);
    const pairs: Buffer[] = [];
    for (let id = 1; id < 2 * 5000; id += 2) pairs.push(headersFrame(id, GET, { endStream: true }), rstStreamFrame(id, ErrorCode.CANCEL));
    await cutBy(svc, 'resets', wire, () => wire.send(...pairs));
  });
});
