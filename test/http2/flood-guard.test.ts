// The flood guard alone, on hand-built frame headers with an injected clock: each limit trips
// on what an attack sends, and none trips on what a browser sends over minutes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Http2Schema } from '../../src/config/http2.ts';
import { FloodGuard, FrameType, PREFACE_LENGTH } from '../../src/http2/flood-guard.ts';

const DEFAULTS = Http2Schema.parse({});

function frame(type: number, flags: number, stream: number, length = 0): Buffer {
  const b = Buffer.alloc(9 + length);
  b.writeUIntBE(length, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(stream, 5);
  return b;
}

const END_STREAM = 1;
const END_HEADERS = 4;

function guard(http2 = DEFAULTS, now = 0): FloodGuard {
  const g = new FloodGuard({ http2, maxHeaderListSize: 16_384, headerBlockMs: 10_000 }, now);
  assert.equal(g.scan(Buffer.alloc(PREFACE_LENGTH), now), true);
  return g;
}

describe('flood guard', () => {
  it('rapid reset: 200 streams opened and reset at once pass, the 201st trips', () => {
    const g = guard();
    for (let id = 1; id <= 401; id += 2) {
      const ok = g.scan(Buffer.concat([frame(FrameType.HEADERS, END_HEADERS | END_STREAM, id, 3), frame(FrameType.RST_STREAM, 0, id, 4)]), 0);
      if (id < 401) assert.equal(ok, true, `stream ${id}`);
      else assert.equal(ok, false);
    }
    assert.equal(g.violation, 'resets');
    assert.equal(g.scan(frame(FrameType.PING, 0, 0, 8), 0), false, 'a verdict is final');
  });

  it('a browser that cancels 30 streams a second for ten minutes (18,000) is never cut', () => {
    const g = guard();
    let id = 1;
    for (let second = 0; second < 600; second++) {
      for (let i = 0; i < 30; i++, id += 2) {
        const now = second * 1000 + i * 33;
        assert.equal(g.scan(Buffer.concat([frame(FrameType.HEADERS, END_HEADERS, id, 10), frame(FrameType.RST_STREAM, 0, id, 4)]), now), true, `second ${second}`);
      }
    }
  });

  it('a navigation away cancels 100 streams at once, twice a minute: never cut', () => {
    const g = guard();
    let id = 1;
    for (let round = 0; round < 10; round++) {
      const now = round * 30_000;
      const frames: Buffer[] = [];
      for (let i = 0; i < 100; i++, id += 2) frames.push(frame(FrameType.HEADERS, END_HEADERS, id, 10));
      for (let i = id - 200; i < id; i += 2) frames.push(frame(FrameType.RST_STREAM, 0, i, 4));
      assert.equal(g.scan(Buffer.concat(frames), now), true, `round ${round}`);
    }
  });

  for (const [name, type, flags, limit] of [
    ['settings', FrameType.SETTINGS, 0, 20],
    ['pings', FrameType.PING, 0, 50],
    ['priority', FrameType.PRIORITY, 0, 500],
    ['windowUpdates', FrameType.WINDOW_UPDATE, 0, 1000],
    ['emptyFrames', FrameType.DATA, 0, 100],
  ] as const) {
    it(`${name}: ${limit} at once pass, one more trips; the bucket refills over time`, () => {
      const g = guard();
      const one = frame(type, flags, type === FrameType.DATA ? 1 : 0, type === FrameType.PING ? 8 : 0);
      for (let i = 0; i < limit; i++) assert.equal(g.scan(one, 0), true, `${name} ${i}`);
      const later = guard();
      for (let i = 0; i < limit; i++) later.scan(one, 0);
      assert.equal(later.scan(one, 1000), true, 'a second later there is room again');
      assert.equal(g.scan(one, 0), false);
      assert.equal(g.violation, name);
    });
  }

  it('WINDOW_UPDATEs earned by the response body sent are not a flood', () => {
    const g = guard();
    for (let i = 0; i < 5000; i++) {
      g.sent(16_384); // one DATA frame of ours
      assert.equal(g.scan(Buffer.concat([frame(FrameType.WINDOW_UPDATE, 0, 0, 4), frame(FrameType.WINDOW_UPDATE, 0, 1, 4)]), 0), true, `update ${i}`);
    }
  });

  it('SETTINGS ACKs are not counted; zero-length DATA that ends a stream is not empty', () => {
    const g = guard();
    for (let i = 0; i < 1000; i++) assert.equal(g.scan(frame(FrameType.SETTINGS, 1, 0), 0), true);
    for (let i = 0; i < 1000; i++) assert.equal(g.scan(frame(FrameType.DATA, END_STREAM, 2 * i + 1), 0), true);
  });

  it('CONTINUATION: 16 frames in a block pass, the 17th trips, zero-length ones included', () => {
    const ok = guard();
    const frames = [frame(FrameType.HEADERS, 0, 1, 10)];
    for (let i = 0; i < 15; i++) frames.push(frame(FrameType.CONTINUATION, 0, 1, 0));
    frames.push(frame(FrameType.CONTINUATION, END_HEADERS, 1, 0));
    assert.equal(ok.scan(Buffer.concat(frames), 0), true);
    const flood = guard();
    const many = [frame(FrameType.HEADERS, 0, 1, 10)];
    for (let i = 0; i < 17; i++) many.push(frame(FrameType.CONTINUATION, 0, 1, 0));
    assert.equal(flood.scan(Buffer.concat(many), 0), false);
    assert.equal(flood.violation, 'continuationFrames');
  });

  it('a header block over the header list size trips, counted across CONTINUATIONs', () => {
    const g = guard();
    assert.equal(g.scan(frame(FrameType.HEADERS, 0, 1, 10_000), 0), true);
    assert.equal(g.scan(frame(FrameType.CONTINUATION, 0, 1, 10_000), 0), false);
    assert.equal(g.violation, 'headerList');
  });

  it('a header block that takes longer than its time trips (a slow CONTINUATION holds every stream)', () => {
    const g = new FloodGuard({ http2: DEFAULTS, maxHeaderListSize: 16_384, headerBlockMs: 1000 }, 0);
    g.scan(Buffer.alloc(PREFACE_LENGTH), 0);
    assert.equal(g.scan(frame(FrameType.HEADERS, 0, 1, 10), 0), true);
    assert.equal(g.scan(Buffer.alloc(0), 900), true);
    assert.equal(g.scan(Buffer.alloc(0), 1001), false);
    assert.equal(g.violation, 'headerBlockTime');
  });

  it('streams over maxConcurrentStreams after the SETTINGS ACK trip; before it, nghttp2 refuses them one by one', () => {
    const http2 = Http2Schema.parse({ maxConcurrentStreams: 2 });
    const g = guard(http2);
    for (const id of [1, 3, 5]) assert.equal(g.scan(frame(FrameType.HEADERS, END_HEADERS, id, 3), 0), true, 'before the ACK');
    g.closed(1);
    g.closed(3);
    g.closed(5);
    g.scan(frame(FrameType.SETTINGS, 1, 0), 0);
    assert.equal(g.scan(frame(FrameType.HEADERS, END_HEADERS, 7, 3), 0), true);
    assert.equal(g.scan(frame(FrameType.HEADERS, END_HEADERS, 9, 3), 0), true);
    assert.equal(g.scan(frame(FrameType.HEADERS, END_HEADERS, 11, 3), 0), false);
    assert.equal(g.violation, 'streams');
  });

  it('reads frame headers cut anywhere between reads', () => {
    const whole = Buffer.concat([frame(FrameType.HEADERS, END_HEADERS, 1, 5), frame(FrameType.PING, 0, 0, 8), frame(FrameType.DATA, END_STREAM, 1, 3)]);
    for (let cut = 1; cut < whole.length; cut++) {
      const g = guard();
      assert.equal(g.scan(whole.subarray(0, cut), 0), true);
      assert.equal(g.scan(whole.subarray(cut), 0), true);
      assert.equal(g.frames, 3, `cut at ${cut}`);
    }
  });
});
